"""Who a figure falls on: means over income quintiles and over groups, for the gaming figures
(points farmed, ties pruned), as plain arrays in and plain dicts out."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..undefined import put, put_by_group

QUINTILES = ("1", "2", "3", "4", "5")  # 1: the lowest fifth (of income: the poorest)


def quintile_of(values: np.ndarray) -> np.ndarray:
    """Each person's quintile of `values` (income, a score), 0 (the lowest fifth) to 4, by rank (ties
    in id order), so that every quintile holds a fifth of the people however values bunch."""
    n = values.shape[0]
    order = np.argsort(values, kind="stable")
    quintile = np.empty(n, dtype=np.int8)
    quintile[order] = (np.arange(n) * 5 // max(n, 1)).astype(np.int8)
    return quintile


def means_by(values: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """The mean of `values` over the people of each label (NaN where a label has no one)."""
    counts = np.bincount(labels, minlength=len(names))
    sums = np.bincount(labels, weights=values.astype(np.float64), minlength=len(names))
    return {name: float(sums[i] / counts[i]) if counts[i] else math.nan for i, name in enumerate(names)}


def by_quintile_and_group(record: dict[str, Any], values: np.ndarray, quintile: np.ndarray, group: np.ndarray,
        groups: tuple[str, ...], sizes: dict[str, int]) -> None:
    """record's `by_income_quintile` (1 the poorest fifth at the start) and `by_group`: means of `values`."""
    record["by_income_quintile"] = {}
    for name, value in means_by(values, quintile, QUINTILES).items():
        put(record["by_income_quintile"], name, value, "no one is in this quintile (fewer than 5 people)")
    put_by_group(record, means_by(values, group, groups), sizes)
