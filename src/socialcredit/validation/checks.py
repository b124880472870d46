"""What a validation check is: a claim, its source, what is measured, and the verdict.

Every check runs the model (or the scoring core) afresh and compares what it measures with what a
source documents or what a mechanism is said to do. Each is shown able to fail by a test that
breaks what it checks (tests/validation)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Size:
    """How large the runs of the simulation checks are."""

    population: int
    days: int
    seeds: int


QUICK = Size(population=5000, days=180, seeds=3)
FULL = Size(population=50_000, days=365, seeds=10)


@dataclass(frozen=True)
class Outcome:
    measured: str          # what was measured, with its interval where there is one
    expected: str          # the expected value or range
    passed: bool
    value: float | None = None
    low: float | None = None
    high: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Check:
    id: str
    claim: str
    source: str
    measures: str
    run: Callable[[Size], Outcome]


def mean_interval(values: Sequence[float], low_bound: float = -math.inf, high_bound: float = math.inf,
                  confidence: float = 0.95) -> tuple[float, float | None, float | None]:
    """Mean over seeds and a t interval kept within [low_bound, high_bound] (None with one seed)."""
    array = np.asarray(values, dtype=np.float64)
    mean = float(array.mean())
    if array.size < 2:
        return mean, None, None
    half = float(stats.t.ppf(0.5 + confidence / 2, array.size - 1)) * float(array.std(ddof=1)) / math.sqrt(array.size)
    return mean, max(mean - half, low_bound), min(mean + half, high_bound)


def rules_outcome(results: list[tuple[str, bool]], source_rules: str) -> Outcome:
    """A check of several documented rules at once: passed when every one holds; the failing ones named."""
    failing = [name for name, held in results if not held]
    return Outcome(measured=f"{len(results) - len(failing)} of {len(results)} rules hold",
                   expected=f"all {len(results)}: {source_rules}", passed=not failing,
                   value=float(len(results) - len(failing)),
                   note="fails: " + "; ".join(failing) if failing else "")
