"""NumPy arrays and Python text as Arrow arrays and scalars, made from their buffers.

pyarrow's own conversions (`pa.array`, and a Python value given to a compute function, such as
`pc.equal(ids, "")` or `fill_null(True)`) import pandas at their first call: 0.2 s of CPU (more on
a busy host) that `socialcredit score` of a Parquet log needs nowhere else (benchmarks/RESULTS.md,
"Side by side with DuckDB and Polars"). These give the same arrays without it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def _bits(flags: np.ndarray) -> pa.Buffer:
    """Arrow's bitmap of bools: one bit a value, least significant first."""
    return pa.py_buffer(np.packbits(flags, bitorder="little"))


def from_numpy(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """A 1-D NumPy array of bools or numbers as an Arrow array (numbers sharing its memory where it
    is contiguous); with `mask`, null where `mask` is True, as `pa.array(values, mask=mask)`."""
    values = np.ascontiguousarray(values)
    if values.ndim != 1:
        raise ValueError(f"a 1-D array is needed, not {values.ndim}-D")
    validity, nulls = None, 0
    if mask is not None:
        nulls = int(np.count_nonzero(mask))
        if nulls:
            validity = _bits(~np.asarray(mask, dtype=bool))
    if values.dtype == np.bool_:
        return pa.Array.from_buffers(pa.bool_(), values.size, [validity, _bits(values)], null_count=nulls)
    kind = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(kind, values.size, [validity, pa.py_buffer(values)], null_count=nulls)


def texts(values: Sequence[str]) -> pa.Array:
    """Python strings as an Arrow string array."""
    encoded = [value.encode("utf-8") for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(value) for value in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets),
                                                             pa.py_buffer(b"".join(encoded))])


def scalar(value: np.generic) -> pa.Scalar:
    """A NumPy scalar (np.int32(200), np.float64(0.5)) as an Arrow scalar of its type."""
    return from_numpy(np.array([value]))[0]


EMPTY_TEXT = texts([""])[0]
TRUE = from_numpy(np.array([True]))[0]
FALSE = from_numpy(np.array([False]))[0]
