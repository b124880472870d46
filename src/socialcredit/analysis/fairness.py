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

The four-fifths rule reads the favourable rate, which for a rare harm is near 1 in every group: a
harm 25 times likelier in one group (0.05% against 1.3%) still leaves a disparate impact of 0.987.
Wrongful harms (wrongly listed, wrongly sanctioned, any harm of a false record) are therefore also
measured by their relative risk (`relative_risks`): each group's rate of the harm over the reference
group's, with a 95% interval and Fisher's exact p-value, flagged when the gap is both large and
significant.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..undefined import put, put_by_group

FOUR_FIFTHS = 0.8
SIGNIFICANCE = 0.05
# A relative risk is flagged as large when its 95% interval's lower bound exceeds 1.25: the
# four-fifths rule's ratio (29 CFR 1607.4(D)) inverted, read on the rate of the harm itself rather
# than on its complement; the lower bound rather than the estimate, so that the data show a gap at
# least that large with 95% confidence (confidence intervals for the adverse impact ratio: Morris &
# Lobsenz 2000, Personnel Psychology 53:89-111).
RELATIVE_RISK_FLAG = 1.25
Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile: two-sided 95% intervals


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
    """(disparate impact of the favourable outcome, adverse ratio) from per-group adverse rates.
    The impact is NaN where no group has the favourable outcome at all (an honour list nobody is
    on): a ratio of two zeros is undefined, not parity."""
    rates = adverse_rates[np.isfinite(adverse_rates)]
    if not rates.size:
        return 1.0, 1.0
    favourable = 1 - rates
    impact = float(favourable.min() / favourable.max()) if favourable.max() > 0 else float("nan")
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
    if math.isnan(impact):
        counts = ", ".join(f"0 of {size:,} in '{name}'" for name, size in zip(names, sizes.tolist(), strict=True)
                           if size)
        put(figure, "disparate_impact", None, f"undefined: no one in any group has the favourable outcome "
                                              f"({counts}), so there is no rate to set another against")
    else:
        figure["disparate_impact"] = impact
    figure.update({
        "p_value": p_value,
        "fails_four_fifths": bool(not math.isnan(impact) and impact < FOUR_FIFTHS and p_value < SIGNIFICANCE),
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


def _fisher_p_value(harmed: int, people: int, reference_harmed: int, reference_people: int) -> float:
    from scipy.stats import fisher_exact

    table = [[harmed, people - harmed], [reference_harmed, reference_people - reference_harmed]]
    return float(fisher_exact(table).pvalue)


def relative_risk(harmed: int, people: int, reference_harmed: int, reference_people: int) -> dict[str, Any]:
    """The relative risk of a harm in one group against a reference group, from their counts.

    - estimate: (harmed / people) / (reference_harmed / reference_people);
    - low, high: its 95% interval by Katz's log method (Katz, Baptista, Azen & Pike 1978, Biometrics
      34:469-474): log RR +- 1.96 sqrt(1/a - 1/n + 1/c - 1/m), exponentiated, so always positive;
    - corrected: when a cell of the 2x2 table is zero (no one harmed in one group, or everyone), 0.5 is
      added to each of the four cells before the estimate and the interval are made (the
      Haldane-Anscombe correction: Haldane 1956, Ann. Hum. Genet. 20:309-311; Anscombe 1956,
      Biometrika 43:461-464), which keeps both finite and positive;
    - p_value: Fisher's exact test on the uncorrected counts (two-sided);
    - flagged: the interval's lower bound above RELATIVE_RISK_FLAG and p < SIGNIFICANCE.

    Where the ratio has no meaning (a group with no members, or no one harmed in either group) the
    figures are null with the reason beside them (`why_null`, as everywhere in a summary).
    """
    figure: dict[str, Any] = {"estimate": None, "low": None, "high": None, "p_value": None,
                              "corrected": False, "flagged": False}

    def undefined(why: str, p_value: float | None = None) -> dict[str, Any]:
        figure["p_value"] = p_value
        figure["why_null"] = {key: why for key in ("estimate", "low", "high", "p_value") if figure[key] is None}
        return figure

    if people <= 0 or reference_people <= 0:
        return undefined("a group with no members")
    if harmed == 0 and reference_harmed == 0:
        return undefined("no one in either group was harmed", 1.0)
    a, n, c, m = float(harmed), float(people), float(reference_harmed), float(reference_people)
    corrected = min(a, n - a, c, m - c) == 0
    if corrected:  # 0.5 to each cell: the group sizes grow by one
        a, n, c, m = a + 0.5, n + 1.0, c + 0.5, m + 1.0
    log_estimate = np.log((a / n) / (c / m))
    spread = Z_95 * np.sqrt(max(1 / a - 1 / n + 1 / c - 1 / m, 0.0))
    p_value = _fisher_p_value(harmed, people, reference_harmed, reference_people)
    low = float(np.exp(log_estimate - spread))
    figure.update(estimate=float(np.exp(log_estimate)), low=low, high=float(np.exp(log_estimate + spread)),
                  p_value=p_value, corrected=corrected,
                  flagged=bool(low > RELATIVE_RISK_FLAG and p_value < SIGNIFICANCE))
    return figure


def relative_risks(harmed: np.ndarray, group: np.ndarray, names: tuple[str, ...]) -> dict[str, Any]:
    """Who a wrongful harm falls on: for one harm (True for each person it befell), each group's
    count and rate, and every other group's relative risk against the reference group (see
    `relative_risk`), with the groups flagged.

    The reference is the least-harmed group, the one with the lowest rate (of those with members;
    on a tie, the largest of them, whose rate is the most precise), so that a flag says "this
    group is harmed more than the least-harmed one" and every estimate is at least 1 (or, where a
    correction was made, about 1). Any boolean harm per person plugs in.
    """
    harmed = np.asarray(harmed, dtype=bool)
    people = np.bincount(group, minlength=len(names))
    hits = np.bincount(group[harmed], minlength=len(names))
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = hits / people
    groups: dict[str, Any] = {}
    for i, name in enumerate(names):
        groups[name] = {"people": int(people[i]), "harmed": int(hits[i])}
        put(groups[name], "rate", float(rates[i]) if people[i] else None, "a group with no members")
    summary: dict[str, Any] = {"reference": None, "groups": groups, "relative_risk": {}, "flagged": []}
    members = np.flatnonzero(people > 0)
    if not members.size:
        summary["why_null"] = {"reference": "no group has members"}
        return summary
    # lowest rate first, then the largest group; rates as the relative risk reads them (0.5 added to
    # every count where one is zero), so that no group is shown as less harmed than the reference:
    # none harmed of 1,575 is less evidence of safety than 2 of 28,425
    corrected = (hits + 0.5) / (people + 1.0)
    reference = int(members[np.lexsort((-people[members], corrected[members]))[0]])
    summary["reference"] = names[reference]
    for index, name in enumerate(names):
        if index == reference:
            continue
        figure = relative_risk(int(hits[index]), int(people[index]), int(hits[reference]), int(people[reference]))
        summary["relative_risk"][name] = figure
        if figure["flagged"]:
            summary["flagged"].append(name)
    return summary


def add_wrongful_harm(harms: dict[str, Any], key: str, harmed: np.ndarray, group: np.ndarray,
                      names: tuple[str, ...]) -> None:
    """A wrongful harm, as whom it befell, into a run's harms: its rates and disparities under `key`
    (with the count), and its relative risks under `relative_risks`."""
    harms[key] = {**fairness_summary(harmed, group, names), "count": int(harmed.sum())}
    harms.setdefault("relative_risks", {})[key] = relative_risks(harmed, group, names)
