"""Measures of a distribution and of a graph: the Gini coefficient, percentiles of sorted values,
and assortativity over ties (with how many ties join two people of one label)."""

from __future__ import annotations

import numpy as np

from ..scoring import Relations
from ..scoring.kernels import ranked_sums, tie_moments


def gini(values: np.ndarray, ordered: bool = False, shift: float = 0.0) -> float:
    """Gini coefficient of non-negative values (less `shift`; 0 = equal, 1 = one holds everything);
    `ordered` when the values are already in increasing order."""
    values = np.asarray(values, dtype=np.float64)
    if not ordered:
        values = np.sort(values)
    n = values.size
    if n == 0:
        return 0.0
    weighted, total = ranked_sums(values, float(shift))
    if total == 0:
        return 0.0
    return float(2 * weighted / (n * total) - (n + 1) / n)


def percentiles_of_sorted(ordered: np.ndarray, percents: list[float]) -> list[float]:
    """np.percentile's default (linear) percentiles of values already in increasing order, read off
    the order rather than partitioning a copy."""
    if ordered.size == 0:
        return [float("nan")] * len(percents)
    out = []
    for percent in percents:
        position = percent / 100 * (ordered.size - 1)
        low = int(np.floor(position))
        high = min(low + 1, ordered.size - 1)
        below, above, t = float(ordered[low]), float(ordered[high]), position - low
        # NumPy's lerp: from the nearer end, for accuracy
        out.append(below + (above - below) * t if t < 0.5 else above - (above - below) * (1 - t))
    return out


def assortativity(graph: Relations, values: np.ndarray) -> float:
    """Pearson correlation of a value across the two ends of every tie (Newman's r for scalars)."""
    return tie_figures(graph, values, np.zeros(graph.n_subjects, dtype=np.int8))[0]


def tie_figures(graph: Relations, values: np.ndarray, label: np.ndarray) -> tuple[float, int]:
    """The assortativity of `values` and how many stored entries join two subjects of one
    `label`, in one pass over the ties.

    Every tie is stored in both directions, so both ends share one distribution: with degree d and
    adjacency A, the moments over ties are d.x, d.x^2 and x.Ax."""
    ends = graph.indices.size
    if ends == 0:
        return float("nan"), 0
    x = np.ascontiguousarray(values, dtype=np.float64)
    # centred first, for accuracy
    first, second, cross, largest, same = tie_moments(graph.indptr, graph.indices, x, float(x.mean()), label)
    mean = first / ends
    variance = second / ends - mean**2
    if variance <= 1e-12 * max(1.0, largest) ** 2:
        return float("nan"), int(same)
    return float((cross / ends - mean**2) / variance), int(same)
