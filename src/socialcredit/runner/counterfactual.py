"""Paired counterfactuals: what a mechanism causes, measured as the difference between a run and its
twin, the same scenario and seed with that mechanism switched off.

Comparing groups inside one run (people ever sanctioned against the rest, ties of the listed
against others) mixes what the mechanism does with who it selects: those sanctioned had lower
incomes to begin with. The twin shares everything else: the people, their graph, their propensities
and the random streams, keyed by (seed, stream, day, chunk), so the difference is what the mechanism
causes in that world. Over several seeds the differences give an interval (a paired t interval:
a difference has no bounded range to leave).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ..scenario import Scenario, Schemes, load_scenario
from ..sim.schemes import scheme_sections
from .enrolment_report import enrolment_effect_figures
from .run import run_scenario

Figures = Callable[[dict[str, Any]], dict[str, float]]


@dataclass(frozen=True)
class Mechanism:
    name: str
    claim: str                                              # what it is said to cause
    switch_off: Callable[[Scenario, Schemes], dict[str, Any]]  # scenario overrides that turn it off
    figures: Figures                                        # the figures it is said to move, from a summary


def _deterrence_off(scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    """Every act's response to the points at stake set to 0; farming, acts done for the points they earn, goes
    with it (its propensity 0: nothing is left to farm, and the farming phase still runs, as in `_farming_off`)."""
    off: dict[str, Any] = {f"behaviours.{kind}.deterrence": 0.0
                           for kind, spec in scenario.behaviours.items() if spec.deterrence}
    off.update({f"gaming.farming.{kind}.propensity": 0.0 for kind, spec in scenario.gaming.farming.items()
                if spec.propensity})
    return off


def _effects_off(scenario: Scenario, names: set[str], side: str) -> dict[str, Any]:
    """What the consequences of entitlements `names` do to income and behaviour on `side` (denied
    or granted), set to nothing. An entitlement an act `requires` still gates it: that is counted
    apart, as acts blocked."""
    off: dict[str, Any] = {}
    for name, consequence in scenario.consequences.items():
        effect = getattr(consequence, side)
        if name not in names:
            continue
        if effect.income_growth:
            off[f"consequences.{name}.{side}.income_growth"] = 0.0
        if effect.behaviours:
            off[f"consequences.{name}.{side}.behaviours"] = {}
    return off


def _sanctions_off(scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    """Denials' effects (a perk withheld is no sanction: its effects stay), of every scheme."""
    return _effects_off(scenario, {entry.qualify(name) for entry in schemes for name in entry.scheme.sanctions},
                        "denied")


def _perks_off(scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    """What granted entitlements bring (perks and the ordinary allowed state alike), of every scheme."""
    return _effects_off(scenario, set(schemes.qualified_names("entitlements")), "granted")


def _shunning_off(scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    return {"social.shun_listed": 0.0} if scenario.social.shun_listed else {}


def _removal_off(scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    """Nobody pays to be taken off a display: each removal's rate set to 0 (the displays and their
    tallies stay, so the twin reports the same figures)."""
    return {f"consequences.{name}.removal.rate": 0.0 for name, consequence in scenario.consequences.items()
            if consequence.removal is not None and consequence.removal.rate > 0}


def _network_term_off(scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    """Every scheme's network term removed."""
    if not schemes.qualified:
        return {"scheme_overrides.network": None} if schemes[0].scheme.network is not None else {}
    return {f"schemes.{entry.name}.overrides.network": None for entry in schemes if entry.scheme.network is not None}


def _acts(summary: dict[str, Any]) -> dict[str, float]:
    return {f"acts_per_person_year.{kind}": value for kind, value in summary["acts_per_person_year"].items()}


def _sanction_figures(summary: dict[str, Any]) -> dict[str, float]:
    figures = {"income_mean_log_growth": summary["income"]["mean_log_growth"]}
    figures.update({f"income_mean_log_growth.{g}": v for g, v in summary["income"]["log_growth"]["by_group"].items()})
    figures.update(_acts(summary))
    for scheme_name, section in scheme_sections(summary):
        prefix = f"{scheme_name}." if scheme_name else ""
        figures.update({f"listed.{prefix}{name}": listed["share"] for name, listed in section["lists"].items()})
        figures.update({f"ever_listed.{prefix}{name}": share for name, share in section["ever_listed"].items()})
    return figures


def _shunning_figures(summary: dict[str, Any]) -> dict[str, float]:
    network = summary["network"]
    return {"isolated_listed_share": network["isolated_listed_share_final"],
            "mean_degree_listed": network["mean_degree_listed_final"],
            "mean_degree": network["mean_degree_final"]}


def _removal_figures(summary: dict[str, Any]) -> dict[str, float]:
    figures: dict[str, float] = {}
    for name, display in summary.get("display", {}).items():
        figures[f"person_days_shown.{name}"] = display["person_days_shown"]
        figures.update({f"person_days_shown.{name}.{q}": days
                        for q, days in display["person_days_shown_by_income_quintile"].items()})
        figures[f"removals_paid.{name}"] = display["removals_paid"]
        figures[f"fees_collected.{name}"] = display["fees_collected"]
        figures[f"still_shown_at_end.{name}"] = display["still_shown_at_end"]["share"]
    return figures


def _network_term_figures(summary: dict[str, Any]) -> dict[str, float]:
    figures: dict[str, float] = {}
    for scheme_name, section in scheme_sections(summary):
        prefix = f"{scheme_name}." if scheme_name else ""
        network = section["network"]
        figures.update({f"{prefix}assortativity_pre": network["assortativity_pre_final"],
                        f"{prefix}assortativity_score": network["assortativity_score_final"],
                        f"{prefix}score_mean": section["score"]["mean"]})
    return figures


def _farming_off(scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    """Every farmed kind's propensity set to 0: the farming phase still runs (nothing farmed), so
    the twin reports the same figures, and every other draw is the run's (farming has its streams)."""
    return {f"gaming.farming.{kind}.propensity": 0.0 for kind, spec in scenario.gaming.farming.items()
            if spec.propensity}


def _farming_figures(summary: dict[str, Any]) -> dict[str, float]:
    farming = summary.get("gaming", {}).get("farming", {})
    figures: dict[str, float] = {}
    for kind, figure in farming.get("kinds", {}).items():
        figures[f"recorded_per_person_year.{kind}"] = figure["recorded_per_person_year"]
        figures[f"farmed_per_person_year.{kind}"] = figure["farmed_per_person_year"]
    for scheme_name, section in scheme_sections(summary):
        figures[".".join(p for p in ("score_mean", scheme_name) if p)] = section["score"]["mean"]
    return figures


def _pruning_off(scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    """Every group's pruning factor set to 0: the phase still runs and reports (nothing pruned), and
    every other draw is the run's (pruning has its stream)."""
    if not scenario.gaming.pruning.rate:
        return {}
    return {"gaming.pruning.group_factor": {group: 0.0 for group in scenario.population.groups}}


def _pruning_figures(summary: dict[str, Any]) -> dict[str, float]:
    pruning = summary.get("gaming", {}).get("pruning", {})
    figures: dict[str, float] = {}
    if pruning:
        low = pruning["low_unlisted"]
        figures.update({"mean_degree_low_unlisted": low["mean_degree_final"],
                        "isolated_low_unlisted_share": low["isolated_share"],
                        "ties_lost_to_pruning_low_unlisted": low["ties_lost_to_pruning_mean"],
                        "mean_degree_others": pruning["others"]["mean_degree_final"]})
    figures["mean_degree"] = summary["network"]["mean_degree_final"]
    return figures


def _inflation_off(scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    """Every inflated kind's ratings made private: given honestly (the phase still draws the same
    numbers, so nothing else moves)."""
    return {f"gaming.inflation.{kind}.private": True for kind, spec in scenario.gaming.inflation.items()
            if not spec.private and (spec.reciprocity or spec.retaliation)}


def _inflation_figures(summary: dict[str, Any]) -> dict[str, float]:
    figures: dict[str, float] = {}
    for kind, figure in summary.get("gaming", {}).get("inflation", {}).items():
        figures[f"rating_spread.{kind}"] = figure["spread"]["published"]
        figures[f"rating_tracks_quality.{kind}"] = figure["tracks_quality"]["published"]
        figures[f"ratings_inflated_share.{kind}"] = figure["inflated_share"]
    for scheme_name, section in scheme_sections(summary):
        figures[".".join(p for p in ("score_mean", scheme_name) if p)] = section["score"]["mean"]
    return figures


def _enrolment_off(scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    """Every scheme with an enrolment rule enrols everyone from day 0, as a scheme without one does:
    the phase still runs and reports (everyone enrolled), and every other draw is the run's
    (enrolment has its streams)."""
    off: dict[str, Any] = {}
    for name, spec in scenario.enrolment.items():
        if spec.rule != "mandatory" or spec.mandatory_from_day:
            off[f"enrolment.{name}.rule"] = "mandatory"
            off[f"enrolment.{name}.mandatory_from_day"] = 0
    return off


MECHANISMS: dict[str, Mechanism] = {m.name: m for m in (
    Mechanism("deterrence", "deterrence lowers the acts the scheme penalises (and raises those it rewards)",
              _deterrence_off, _acts),
    Mechanism("sanctions", "sanctions lower income, and through strain raise late payments and listings",
              _sanctions_off, _sanction_figures),
    Mechanism("perks", "what granted entitlements bring raises the income of those who get them",
              _perks_off, _sanction_figures),
    Mechanism("shunning", "shunning the publicly listed isolates them", _shunning_off, _shunning_figures),
    Mechanism("removal", "paying to be taken off a public display shortens the days shown, more for the rich",
              _removal_off, _removal_figures),
    Mechanism("network_term", "scoring people by their ties' scores sorts ties by people's own records",
              _network_term_off, _network_term_figures),
    Mechanism("farming", "points farming adds recorded acts of the rewarded kinds, and points to those who farm",
              _farming_off, _farming_figures),
    Mechanism("pruning", "pruning friends whose scores cost points isolates low scorers who are on no list",
              _pruning_off, _pruning_figures),
    Mechanism("enrolment", "a scheme that scores only those who enrol, and denies the rest, denies more people "
              "its entitlements than one that scores everyone", _enrolment_off, enrolment_effect_figures),
    Mechanism("inflation", "strategic ratings (public and reciprocal) narrow the published ratings' spread and "
              "weaken how well they track true quality", _inflation_off, _inflation_figures),
)}


def twin_overrides(mechanism: str, scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    """The scenario overrides that switch `mechanism` off (a ValueError naming the choices if
    unknown, or if the scenario has no such mechanism to switch off)."""
    if mechanism not in MECHANISMS:
        raise ValueError(f"unknown mechanism '{mechanism}'; choose one of: {', '.join(MECHANISMS)}")
    off = MECHANISMS[mechanism].switch_off(scenario, schemes)
    if not off:
        raise ValueError(f"scenario '{scenario.id}' has no {mechanism.replace('_', ' ')} to switch off")
    return off


@dataclass
class Effects:
    """The figures a mechanism is said to move, with it and without it, seed by seed."""

    mechanism: str
    switched_off: dict[str, Any]
    seeds: list[int]
    with_: dict[str, list[float]]
    without: dict[str, list[float]]
    factual: list[dict[str, Any]] = field(default_factory=list)  # the summaries of the runs with it

    def table(self, confidence: float = 0.95) -> list[dict[str, Any]]:
        """One row per figure: mean with, mean without, mean difference and its paired t interval
        over seeds (None with one seed: one pair gives no spread)."""
        rows = []
        for name in self.with_:
            with_, without = np.array(self.with_[name]), np.array(self.without.get(name, [np.nan] * len(self.seeds)))
            difference = with_ - without
            if not np.isfinite(difference).all():
                rows.append({"figure": name, "with": None, "without": None, "difference": None, "low": None,
                             "high": None, "seeds": len(self.seeds), "why_null": {
                                 key: "undefined in a run with or without the mechanism (no one listed, say)"
                                 for key in ("with", "without", "difference", "low", "high")}})
                continue
            row: dict[str, Any] = {"figure": name, "with": float(with_.mean()), "without": float(without.mean()),
                                   "difference": float(difference.mean()), "low": None, "high": None,
                                   "seeds": len(self.seeds)}
            if len(self.seeds) == 1:
                row["why_null"] = {"low": "one pair of runs: no spread to measure", "high": "one pair of runs: "
                                   "no spread to measure"}
            else:
                spread = float(difference.std(ddof=1)) / math.sqrt(len(self.seeds))
                half = float(stats.t.ppf(0.5 + confidence / 2, len(self.seeds) - 1)) * spread if spread else 0.0
                row["low"], row["high"] = row["difference"] - half, row["difference"] + half
            rows.append(row)
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {"mechanism": self.mechanism, "claim": MECHANISMS[self.mechanism].claim,
                "switched_off": self.switched_off, "seeds": self.seeds, "method": "paired t interval over seeds"
                if len(self.seeds) > 1 else "one pair: no interval", "figures": self.table()}


def paired_effects(scenario_ref: Any, overrides: dict[str, Any], mechanism: str, seeds: list[int],
                   first: dict[str, Any] | None = None) -> Effects:
    """Run the scenario with `overrides` and its twin without `mechanism`, at each seed; `first` is
    the summary of the factual run at seeds[0] when it has already been run."""
    scenario, schemes = load_scenario(scenario_ref, overrides)
    off = twin_overrides(mechanism, scenario, schemes)
    figures = MECHANISMS[mechanism].figures
    with_: dict[str, list[float]] = {}
    without: dict[str, list[float]] = {}
    factuals: list[dict[str, Any]] = []
    for index, seed in enumerate(seeds):
        seeded = {**overrides, "run.seed": seed}
        if index == 0 and first is not None:
            factual = first
        else:
            factual = run_scenario(*load_scenario(scenario_ref, seeded)).summary
        factuals.append(factual)
        twin = run_scenario(*load_scenario(scenario_ref, {**seeded, **off})).summary
        for name, value in figures(factual).items():
            with_.setdefault(name, []).append(_number(value))
        for name, value in figures(twin).items():
            without.setdefault(name, []).append(_number(value))
    return Effects(mechanism, off, list(seeds), with_, without, factuals)


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)
