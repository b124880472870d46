"""Mechanism checks: each mechanism's direction, measured by a paired counterfactual (the same
scenario and seeds with the mechanism switched off; see sim/counterfactual.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..runner.counterfactual import Effects, paired_effects
from .checks import Outcome, Size


def _lowers(scenario: str, settings: dict[str, Any], mechanism: str, figure: str, size: Size,
            expected: Callable[[Effects], float] | None = None, tolerance: float = 0.5) -> Outcome:
    """Passed when the paired difference in `figure` (with the mechanism minus without) has an
    interval wholly below 0 and, where `expected` gives the size the mechanism should have, the
    difference is within `tolerance` of it (a share of the expected size)."""
    base = {"population.size": size.population, "run.days": size.days, **settings}
    effects = paired_effects(scenario, base, mechanism, list(range(1, size.seeds + 1)))
    row = next((r for r in effects.table() if r["figure"] == figure), None)
    note = (f"paired counterfactual, {size.seeds} seeds of {size.population:,} people x {size.days} days; switched "
            f"off: {effects.switched_off}")
    if row is None or row["difference"] is None:
        return Outcome(measured=f"{figure} undefined", expected="a difference below 0", passed=False, note=note)
    low, high, difference = row["low"], row["high"], row["difference"]
    passed = high is not None and high < 0
    wanted = "difference below 0, the whole 95% interval"
    if expected is not None:
        size_expected = expected(effects)
        near = abs(difference - size_expected) <= tolerance * abs(size_expected)
        passed = passed and near
        wanted += f", and within {tolerance:.0%} of {size_expected:+.4g} (the size the mechanism implies)"
    interval = f" [{low:+.4g}, {high:+.4g}]" if low is not None else ""
    return Outcome(measured=f"{difference:+.4g}{interval} ({row['with']:.4g} with, {row['without']:.4g} without)",
                   expected=wanted, passed=passed, value=difference, low=low, high=high, note=note)


def _chilled(kind: str) -> Callable[[Effects], float]:
    """Deterrence's size: the share of acts the run with it reports suppressed (expected acts with
    the scheme's weight against without it, same people and days), as a change in acts a person-year."""
    def expected(effects: Effects) -> float:
        shares = [s["harms"]["chilling"].get(kind, {}).get("suppressed_share", 0.0) for s in effects.factual]
        without = float(np.mean(effects.without[f"acts_per_person_year.{kind}"]))
        return -float(np.mean(shares)) * without
    return expected


def _denied_income(scenario_ref: str) -> Callable[[Effects], float]:
    """Sanctions' first-order size: each person-day a sanction is in force shifts that day's log income
    growth by the consequence's yearly income_growth / 365; over everyone, in the runs with it."""
    from ..scenario.load import load_scenario

    scenario, _ = load_scenario(scenario_ref)

    def expected(effects: Effects) -> float:
        per_run = []
        for summary in effects.factual:
            shift = sum(denied["person_days"] * scenario.consequences[name].denied.income_growth / 365
                        for name, denied in summary["entitlements_denied"].items() if name in scenario.consequences)
            per_run.append(shift / summary["people"])
        return float(np.mean(per_run))
    return expected


def deterrence_daily(size: Size) -> Outcome:
    return _lowers("zhima", {"scheme_overrides.update_every_days": 1}, "deterrence",
                   "acts_per_person_year.overdue", size, _chilled("overdue"), tolerance=0.15)


def deterrence_monthly(size: Size) -> Outcome:
    return _lowers("zhima", {}, "deterrence", "acts_per_person_year.overdue", size, _chilled("overdue"),
                   tolerance=0.15)


def shunning_isolates(size: Size) -> Outcome:
    return _lowers("default", {}, "shunning", "mean_degree_listed", size)


def sanctions_lower_income(size: Size) -> Outcome:
    return _lowers("default", {}, "sanctions", "income_mean_log_growth", size, _denied_income("default"))


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

    from ..scenario.identification import load_profile

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
