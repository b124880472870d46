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
    """Whom false matches fall on, by group, against what the identification profile says, worked
    out here from the profile's published factor and the acts each group had recorded (not from the
    simulation's own bookkeeping): with a probe of the affected group falsely matched f times as
    often, and the false candidate sharing the probe's group, the affected group's share of false
    matches is a f / (a f + 1 - a), a its share of the acts recorded. Checked for the probes falsely
    matched and for the people blamed, pooled over seeds: the expected share inside the measured
    95% Clopper-Pearson interval (so a factor applied twice, or not at all, fails)."""
    from scipy.stats import binomtest

    import socialcredit

    from ..world.identification import load_profile

    profile = load_profile("frvt_2019")
    factor = profile.false_match_factor.affected_groups
    same = profile.same_demographics_candidate
    counted = {"probes": [0, 0], "blamed": [0, 0]}  # the affected group's false matches, all false matches
    recorded = [0, 0]                                # the affected group's recorded acts, all recorded acts
    days = min(size.days, 60)
    people = max(size.population, 20_000)
    people_share = 0.0
    for seed in range(1, size.seeds + 1):
        summary = socialcredit.simulate("shenzhen-cameras", population=people, days=days, seed=seed,
                                        **MISIDENTIFICATION_SETTINGS).summary
        groups = summary["harms"]["sources"]["cameras"]["groups"]
        people_share = groups["minority"]["people_share"]
        recorded[0] += groups["minority"]["recorded"]
        recorded[1] += sum(groups[g]["recorded"] for g in groups)
        for kind, key in (("probes", "false_match_probes"), ("blamed", "blamed")):
            counted[kind][0] += groups["minority"][key]
            counted[kind][1] += sum(groups[g][key] for g in groups)
    acts = recorded[0] / recorded[1]
    probe_share = acts * factor / (acts * factor + 1 - acts)
    # a false candidate shares the probe's group with chance `same`, else is anyone of the district
    expected = {"probes": probe_share, "blamed": same * probe_share + (1 - same) * people_share}
    parts, passed = [], True
    for kind, (affected, total) in counted.items():
        if not total:
            return Outcome(measured="no false matches", expected="hundreds", passed=False,
                           note="too few false matches to measure")
        interval = binomtest(affected, total).proportion_ci(0.95, method="exact")
        passed &= interval.low <= expected[kind] <= interval.high
        parts.append(f"{kind}: {affected / total:.1%} [{interval.low:.1%}, {interval.high:.1%}] of {total:,} "
                     f"(profile: {expected[kind]:.1%})")
    return Outcome(measured="; ".join(parts), expected="each share the profile implies within its measured 95% "
                   "interval", passed=passed,
                   note=f"profile factor {factor:g} for the affected group, acts recorded {acts:.1%} minority; "
                        f"shenzhen-cameras with cameras everywhere, {size.seeds} seeds of {people:,} people x {days} "
                        "days")
