"""Fairness figures of an outcome across groups, as used in the harms report.

- selection rate: the share of a group with the outcome (listed, denied);
- demographic parity difference: highest selection rate minus lowest (fairlearn's definition);
- disparate impact: the lowest group's rate of the favourable outcome (not listed, allowed) over the
  highest's; below 0.8 fails the four-fifths rule (US EEOC Uniform Guidelines, 29 CFR 1607.4(D));
- adverse ratio: the highest group's rate of the adverse outcome over the lowest's (how many times
  more likely the most affected group is to suffer it).

A ratio below four-fifths fails the rule only where the gap is statistically significant (Fisher's
exact test between the two groups, p < 0.05): the Guidelines themselves say that greater differences
"may not constitute adverse impact where the differences are based on small numbers and are not
statistically significant" (29 CFR 1607.4(D)). A perk that nine people get is not evidence either way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .undefined import put, put_by_group

FOUR_FIFTHS = 0.8
SIGNIFICANCE = 0.05


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


def gap_p_value(outcome: np.ndarray, group: np.ndarray, rates: np.ndarray) -> float:
    """Fisher's exact test of the gap between the groups with the lowest and the highest adverse
    rate (two-sided): the chance of a gap at least as large if both groups shared one rate."""
    from scipy.stats import fisher_exact

    known = np.flatnonzero(np.isfinite(rates))
    if known.size < 2:
        return 1.0
    low, high = known[np.argmin(rates[known])], known[np.argmax(rates[known])]
    table = []
    for g in (low, high):
        mine = group == g
        hit = int(np.count_nonzero(np.asarray(outcome, dtype=bool) & mine))
        table.append([hit, int(np.count_nonzero(mine)) - hit])
    return float(fisher_exact(table).pvalue)


def fairness_summary(outcome: np.ndarray, group: np.ndarray, names: tuple[str, ...]) -> dict[str, Any]:
    """Rates by group and the disparity figures of one adverse outcome; a figure the run cannot give
    (the rate of a group with no members, a ratio over a rate of 0) is null with the reason beside it
    (see undefined.py)."""
    rates = selection_rates(outcome, group, len(names))
    sizes = np.bincount(group, minlength=len(names))
    impact, adverse = disparity(rates)
    p_value = gap_p_value(outcome, group, rates)
    figure: dict[str, Any] = {"rate": float(np.mean(outcome)) if np.size(outcome) else 0.0}
    put_by_group(figure, dict(zip(names, rates.tolist(), strict=True)), dict(zip(names, sizes.tolist(), strict=True)))
    figure.update({
        "disparate_impact": impact,
        "p_value": p_value,
        "fails_four_fifths": bool(impact < FOUR_FIFTHS and p_value < SIGNIFICANCE),
    })
    if math.isinf(adverse):
        spared = " or ".join(f"'{name}' ({size:,} people)" for name, rate, size in zip(names, rates, sizes, strict=True)
                             if size and rate == 0)
        worst = int(np.nanargmax(rates))
        put(figure, "adverse_ratio", None, f"no one in group {spared} has this outcome, while {rates[worst]:.2%} "
                                           f"of '{names[worst]}' do: the ratio of rates has no bound")
    else:
        figure["adverse_ratio"] = adverse
    figure["demographic_parity_difference"] = demographic_parity_difference(outcome, group, len(names))
    return figure
