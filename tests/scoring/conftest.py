"""The scoring tests compare compiled passes with NumPy's calls from `core.COMPILED_FROM` values
(or a threshold a test sets): a process takes the compiled passes below `core.LOAD_COMPILER_FROM`
only once numba is loaded (`core.compiled_pays`), so it is loaded here, before any test runs."""

import numba  # noqa: F401
