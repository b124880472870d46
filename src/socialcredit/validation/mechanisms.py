"""Mechanism checks: each mechanism's direction, measured by a paired counterfactual (the same
scenario and seeds with the mechanism switched off; see sim/counterfactual.py)."""

from __future__ import annotations

from typing import Any

from ..sim.counterfactual import paired_effects
from .checks import Outcome, Size


def _lowers(scenario: str, settings: dict[str, Any], mechanism: str, figure: str, size: Size,
            raises: bool = False) -> Outcome:
    """Passed when the paired difference in `figure` (with the mechanism minus without) has an
    interval wholly below 0 (above 0 with `raises`)."""
    base = {"population.size": size.population, "run.days": size.days, **settings}
    effects = paired_effects(scenario, base, mechanism, list(range(1, size.seeds + 1)))
    row = next(r for r in effects.table() if r["figure"] == figure)
    low, high = row["low"], row["high"]
    passed = (low is not None and low > 0) if raises else (high is not None and high < 0)
    interval = f" [{low:+.4g}, {high:+.4g}]" if low is not None else ""
    return Outcome(measured=f"{row['difference']:+.4g}{interval} ({row['with']:.4g} with, {row['without']:.4g} "
                            "without)",
                   expected=f"difference {'above' if raises else 'below'} 0, the whole 95% interval",
                   passed=passed, value=row["difference"], low=low, high=high,
                   note=f"paired counterfactual, {size.seeds} seeds of {size.population:,} people x {size.days} "
                        f"days; switched off: {effects.switched_off}")


def deterrence_daily(size: Size) -> Outcome:
    return _lowers("zhima", {"scheme_overrides.update_every_days": 1}, "deterrence",
                   "acts_per_person_year.overdue", size)


def deterrence_monthly(size: Size) -> Outcome:
    return _lowers("zhima", {}, "deterrence", "acts_per_person_year.overdue", size)


def shunning_isolates(size: Size) -> Outcome:
    return _lowers("default", {}, "shunning", "mean_degree_listed", size)


def sanctions_lower_income(size: Size) -> Outcome:
    return _lowers("default", {}, "sanctions", "income_mean_log_growth", size)


# Enough crossings under cameras everywhere for hundreds of false matches in a few simulated weeks.
MISIDENTIFICATION_SETTINGS = {"behaviours.jaywalking.rate": 0.3, "behaviours.jaywalking.deterrence": 0.0,
                              "surveillance.cameras.coverage": 1.0, "surveillance.cameras.district_coverage": {}}


def misidentification_by_group(size: Size) -> Outcome:
    """Whom false matches fall on, by group, against what the identification profile says: the
    affected group's share of the probes falsely matched and of the people blamed, pooled over
    seeds, each within its 95% Clopper-Pearson interval of the share the model expects from the
    profile's factors (and no more)."""
    from scipy.stats import binomtest

    import socialcredit

    counted = {"probes": [0, 0.0, 0], "blamed": [0, 0.0, 0]}  # affected group's count, expected count, all
    days = min(size.days, 60)
    people = max(size.population, 20_000)
    for seed in range(1, size.seeds + 1):
        summary = socialcredit.simulate("shenzhen-cameras", population=people, days=days, seed=seed,
                                        **MISIDENTIFICATION_SETTINGS).summary
        groups = summary["harms"]["sources"]["cameras"]["groups"]
        for kind, count_key, expected_key in (("probes", "false_match_probes", "expected_probe_share"),
                                              ("blamed", "blamed", "expected_blamed_share")):
            total = sum(groups[g][count_key] for g in groups)
            counted[kind][0] += groups["minority"][count_key]
            counted[kind][1] += (groups["minority"][expected_key] or 0.0) * total
            counted[kind][2] += total
    parts, passed = [], True
    for kind, (affected, expected, total) in counted.items():
        if not total:
            return Outcome(measured="no false matches", expected="hundreds", passed=False,
                           note="too few false matches to measure")
        interval = binomtest(affected, total).proportion_ci(0.95, method="exact")
        share = expected / total
        passed &= interval.low <= share <= interval.high
        parts.append(f"{kind}: {affected / total:.1%} [{interval.low:.1%}, {interval.high:.1%}] of {total:,} "
                     f"(expected {share:.1%})")
    return Outcome(measured="; ".join(parts), expected="each expected share within its measured 95% interval",
                   passed=passed, note=f"shenzhen-cameras with cameras everywhere, {size.seeds} seeds of "
                                       f"{people:,} people x {days} days; minority 5% of people")
