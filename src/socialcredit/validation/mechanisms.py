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
