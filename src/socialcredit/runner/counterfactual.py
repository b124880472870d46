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
from .run import run_scenario

Figures = Callable[[dict[str, Any]], dict[str, float]]


@dataclass(frozen=True)
class Mechanism:
    name: str
    claim: str                                              # what it is said to cause
    switch_off: Callable[[Scenario, Schemes], dict[str, Any]]  # scenario overrides that turn it off
    figures: Figures                                        # the figures it is said to move, from a summary


def _deterrence_off(scenario: Scenario, schemes: Schemes) -> dict[str, Any]:
    return {f"behaviours.{kind}.deterrence": 0.0 for kind, spec in scenario.behaviours.items() if spec.deterrence}


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


def _network_term_figures(summary: dict[str, Any]) -> dict[str, float]:
    figures: dict[str, float] = {}
    for scheme_name, section in scheme_sections(summary):
        prefix = f"{scheme_name}." if scheme_name else ""
        network = section["network"]
        figures.update({f"{prefix}assortativity_pre": network["assortativity_pre_final"],
                        f"{prefix}assortativity_score": network["assortativity_score_final"],
                        f"{prefix}score_mean": section["score"]["mean"]})
    return figures


MECHANISMS: dict[str, Mechanism] = {m.name: m for m in (
    Mechanism("deterrence", "deterrence lowers the acts the scheme penalises (and raises those it rewards)",
              _deterrence_off, _acts),
    Mechanism("sanctions", "sanctions lower income, and through strain raise late payments and listings",
              _sanctions_off, _sanction_figures),
    Mechanism("perks", "what granted entitlements bring raises the income of those who get them",
              _perks_off, _sanction_figures),
    Mechanism("shunning", "shunning the publicly listed isolates them", _shunning_off, _shunning_figures),
    Mechanism("network_term", "scoring people by their ties' scores sorts ties by people's own records",
              _network_term_off, _network_term_figures),
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
