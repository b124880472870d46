"""Fairness figures of an outcome across groups, as used in the harms report.

- selection rate: the share of a group with the outcome (listed, denied);
- demographic parity difference: highest selection rate minus lowest (fairlearn's definition);
- disparate impact: the lowest group's rate of the favourable outcome (not listed, allowed) over the
  highest's; below 0.8 fails the four-fifths rule (US EEOC Uniform Guidelines, 29 CFR 1607.4(D));
- adverse ratio: the highest group's rate of the adverse outcome over the lowest's (how many times
  more likely the most affected group is to suffer it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

FOUR_FIFTHS = 0.8


def selection_rates(outcome: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    counts = np.bincount(group, minlength=n_groups).astype(np.float64)
    hits = np.bincount(group, weights=np.asarray(outcome, dtype=np.float64), minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / counts


def demographic_parity_difference(outcome: np.ndarray, group: np.ndarray, n_groups: int) -> float:
    rates = selection_rates(outcome, group, n_groups)
    rates = rates[np.isfinite(rates)]
    return float(rates.max() - rates.min()) if rates.size else 0.0


def disparity(adverse_rates: np.ndarray) -> tuple[float, float]:
    """(disparate impact of the favourable outcome, adverse ratio) from per-group adverse rates."""
    rates = adverse_rates[np.isfinite(adverse_rates)]
    if not rates.size:
        return 1.0, 1.0
    favourable = 1 - rates
    impact = float(favourable.min() / favourable.max()) if favourable.max() > 0 else 1.0
    adverse = float(rates.max() / rates.min()) if rates.min() > 0 else (float("inf") if rates.max() > 0 else 1.0)
    return impact, adverse


def fairness_summary(outcome: np.ndarray, group: np.ndarray, names: tuple[str, ...]) -> dict[str, Any]:
    """Rates by group and the disparity figures of one adverse outcome."""
    rates = selection_rates(outcome, group, len(names))
    impact, adverse = disparity(rates)
    return {
        "rate": float(np.mean(outcome)) if np.size(outcome) else 0.0,
        "by_group": {name: float(rate) for name, rate in zip(names, rates, strict=True)},
        "disparate_impact": impact,
        "fails_four_fifths": bool(impact < FOUR_FIFTHS),
        "adverse_ratio": adverse,
        "demographic_parity_difference": demographic_parity_difference(outcome, group, len(names)),
    }
