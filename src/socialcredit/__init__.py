"""socialcredit: social credit and reputation scoring systems, implemented transparently.

Three jobs share one scoring core: simulate a scheme over a synthetic population, score a real
event log, and serve a scheme live. See docs/design.md for the architecture.

    >>> import socialcredit
    >>> run = socialcredit.simulate(population=5000, days=30)   # the default scenario, smaller
    >>> run.summary["lists"]["blacklist"]["share"]               # doctest: +SKIP
    >>> run.report("report.html")                               # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# The compiled kernels' OpenMP threads sleep when a parallel loop ends instead of spinning for
# more work: spinning, they take the cores the slice threads (`parallel.parallel_map`), the metrics
# and a live server's requests need (a rescoring is measurably slower beside spinning threads:
# benchmarks/RESULTS.md, `socialcredit simulate`). Set before the OpenMP runtime starts; a value
# the user set stands.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .version import __version__

if TYPE_CHECKING:
    from .runner.run import Run


def simulate(scenario: Any = None, **overrides: Any) -> Run:
    """Run a scenario (preset id, YAML path, or None for the default); see `sim.run.simulate`."""
    from .runner.run import simulate as run_simulation

    return run_simulation(scenario, **overrides)


__all__ = ["simulate", "__version__"]
