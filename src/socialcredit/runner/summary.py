"""summary.json: the headline figures of a run, strict JSON (a figure the run cannot give is null
with the reason beside it: undefined.py). The frame's figures are made here; each phase writes its
own (`Module.figures`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..analysis.fairness import fairness_summary
from ..analysis.measures import assortativity
from ..scoring import Scores
from ..sim.model import Sim
from ..sim.schemes import SchemeState
from ..undefined import BY_GROUP, WHY_NULL, empty_group, put, put_by_group, strict
from ..version import __version__
from ..world.tallies import Tallies, denied_a_sanction, on_a_list


def mobility(sim: Sim, state: SchemeState) -> pd.DataFrame:
    """A scheme's tier transition matrix: share of each starting tier (rows) ending in each tier
    (columns); where the scheme has unscored conditions or an enrolment rule, being unscored (or
    not enrolled) is a row and a column of its own, last."""
    names = state.scheme.tier_names
    scores = state.scores
    if not names or scores is None or state.initial_tier is None:
        return pd.DataFrame()
    if state.scheme.unscored_rules or state.enrolled is not None:
        names = [*names, UNSCORED_ROW]
    k = len(names)
    start, end = (np.where(tier < 0, k - 1, tier).astype(np.int64) for tier in (state.initial_tier, scores.tier))
    counts = np.bincount(start * k + end, minlength=k * k).reshape(k, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / counts.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(shares, index=pd.Index(names, name="from"), columns=pd.Index(names, name="to"))
    return frame.fillna(0.0)


UNSCORED_ROW = "(unscored)"  # mobility's row and column of those without a tier


def summary_of(sim: Sim, metrics: pd.DataFrame, seconds: float, phase_seconds: dict[str, float],
               compile_seconds: float = 0.0, days_simulated: int | None = None) -> dict[str, Any]:
    """The headline figures (summary.json): strict JSON, a figure the run cannot give being null with
    the reason beside it (undefined.py). With one scheme, its figures are at the top level; with
    several, each scheme's are in its entry of `schemes`, and `combined` has those of all of them.
    `days_simulated`: the days this process stepped (a run continued from a saved state steps only those
    after the saved day; by default, the burn-in and every day)."""
    people = sim.people
    last = metrics.iloc[-1]
    groups = people.group_names
    sizes = dict(zip(groups, np.bincount(people.group, minlength=len(groups)).tolist(), strict=True))
    members = [people.group == i for i in range(len(groups))]

    def by_group(values: np.ndarray) -> dict[str, float]:
        """The mean of `values` in each group (NaN for a group with no members, made null later)."""
        return {g: float(values[mine].mean()) if sizes[g] else math.nan
                for g, mine in zip(groups, members, strict=True)}

    summary: dict[str, Any] = {
        "socialcredit_version": __version__,  # the version whose model and formats produced these figures
        "scenario": sim.scenario.id,
    }
    if not sim.several:
        summary["scheme"] = sim.schemes[0].scheme.id
    summary.update({"people": sim.n, "days": sim.days, "burn_in_days": sim.burn_in, "seed": sim.seed})
    own = {state.name: _scheme_figures(sim, state, by_group, sizes, members) for state in sim.schemes}
    if sim.several:
        summary["schemes"] = {}
        for state in sim.schemes:
            section = summary["schemes"][state.name] = {
                "scheme": state.scheme.id, "operator": state.entry.operator,
                "receives": list(state.entry.receives) if state.entry.receives is not None else
                list(sim.scenario.surveillance), "update_every_days": state.scheme.update_every_days,
                "records_can_be_false": state.truth is not None, **own[state.name]}
            if state.entry.terms:  # sources received on terms of their own: shared or sold late, or in part
                section["receipts"] = {source: {"delay_days": delay, "coverage": coverage}
                                       for source, delay, coverage in state.entry.terms}
            if state.entry.lists_from:  # its input lists, each wired to another scheme's list
                section["lists_from"] = {own: f"{source}.{name}" for own, source, name in state.entry.lists_from}
            section["network"] = {}
            _score_assortativity(sim, state, last, section["network"])
            _pre_assortativity(state, sim, section["network"])
        summary["combined"] = _combined_figures(sim, by_group, sizes)
        disparities = None
    else:
        figures = own[sim.schemes[0].name]
        disparities = figures.pop("harms")["disparities"]
        summary.update({key: figures.pop(key) for key in ("score", "tiers", "lists", "entitlements_denied",
                                                          "ever_listed")})
    summary["income"] = {
        "mean_initial": float(people.income_initial.mean()), "mean_final": float(people.income.mean()),
        "gini_initial": float(metrics["gini_income"].dropna().iloc[0]),
        "gini_final": float(last["gini_income"]),
    }
    network: dict[str, Any] = {
        "mean_degree_initial": float(sim.initial_degree.mean()),
        "mean_degree_final": float(sim.graph.degree.mean()),
    }
    if not sim.several:
        _score_assortativity(sim, sim.schemes[0], last, network)
    put(network, "isolated_listed_share_final", float(last["isolated_listed_share"]),
        "no one was on a disclosed list at the end")
    summary["network"] = network
    if not sim.several:  # who is unscored, and how tiers moved (a null with its reason)
        for key, value in figures.items():
            if key == WHY_NULL:
                summary.setdefault(WHY_NULL, {}).update(value)
            else:
                summary[key] = value
    summary["seconds"] = round(seconds, 3)
    summary["compile_seconds"] = round(compile_seconds, 3)  # kernels compiled for this machine (once)
    running = seconds - compile_seconds  # the throughput of the model, not of the compiler
    stepped = sim.burn_in + sim.days if days_simulated is None else days_simulated
    put(summary, "person_days_per_second", float(sim.n * stepped / running) if running > 0 else None,
        "the run took no measurable time")
    summary["phase_seconds"] = {k: round(v, 3) for k, v in phase_seconds.items()}
    summary["harms"] = frame_harms(sim, disparities)
    # What people really did, a person-year (the figures a counterfactual twin of deterrence or
    # sanctions moves), and everyone's income growth (what a twin without sanctions moves).
    years = sim.n * sim.days / 365
    summary["acts_per_person_year"] = {kind: float(sim.true_counts[code].sum(dtype=np.int64) / years)
                                       for code, kind in enumerate(sim.kinds) if kind in sim.scenario.behaviours}
    log_growth = np.log(people.income / people.income_initial)
    summary["income"]["mean_log_growth"] = float(log_growth.mean())
    growth: dict[str, Any] = {"mean": float(log_growth.mean())}
    put_by_group(growth, by_group(log_growth), sizes)
    summary["income"]["log_growth"] = growth
    if not sim.several:  # sorting of ties by people's own records (pre, before any network term) as against by score
        _pre_assortativity(sim.schemes[0], sim, summary["network"])
    put(summary["network"], "mean_degree_listed_final", _finite(last.get("mean_degree_listed", np.nan)),
        "no one is on a disclosed list at the end")
    # A comparison of groups, not an effect: those ever sanctioned had other incomes to begin with.
    # What sanctions cause is measured by a twin without them (`simulate --counterfactual sanctions`).
    sanctioned = ever_sanctioned(sim)
    growth = log_growth
    feedback: dict[str, Any] = {"ever_sanctioned_share": float(sanctioned.mean())}
    put(feedback, "income_log_growth_sanctioned", float(growth[sanctioned].mean()) if sanctioned.any() else None,
        "no one was ever sanctioned")
    put(feedback, "income_log_growth_others", float(growth[~sanctioned].mean()) if (~sanctioned).any() else None,
        "everyone was sanctioned at some time")
    summary["feedback"] = feedback
    for module in sim.modules:  # each phase's own figures (sim/module.py), in the loop's order
        module.figures(sim, summary)
    return strict(summary)


def _score_assortativity(sim: Sim, state: SchemeState, last: pd.Series, network: dict[str, Any]) -> None:
    """How much ties sort by the scheme's final score (the last day's metrics)."""
    column = f"{state.prefix}assortativity_score"
    put(network, "assortativity_score_final", float(last.get(column, np.nan)),
        "no ties at the end" if not sim.graph.indices.size else "tied people all have one score: nothing to "
        "correlate" if column in last else "not measured: the scheme gives no scores")


def _pre_assortativity(state: SchemeState, sim: Sim, network: dict[str, Any]) -> None:
    """How much ties sort by people's own records (`pre`, before any network term) in the scheme."""
    assert state.scores is not None
    put(network, "assortativity_pre_final", _finite(assortativity(sim.graph, state.scores.pre)),
        "no ties at the end, or tied people all have one pre")


def ever_sanctioned(sim: Sim) -> np.ndarray:
    """Who was ever denied a sanction (an entitlement other than a perk) by any scheme."""
    sanctioned = np.zeros(sim.n, dtype=bool)
    for state in sim.schemes:
        for name in state.scheme.sanctions:  # going without a perk is not a sanction
            sanctioned |= state.denied_days[name] > 0
    return sanctioned


def _scheme_figures(sim: Sim, state: SchemeState, by_group: Callable[[np.ndarray], dict[str, float]],
                    sizes: dict[str, int], members: list[np.ndarray]) -> dict[str, Any]:
    """A scheme's figures: its final scores, tiers, lists and denials, who is unscored, how tiers
    moved, and the disparities of its lists and denials."""
    scores = state.scores
    assert scores is not None
    groups = sim.people.group_names
    figures: dict[str, Any] = {
        "score": _score_figures(scores, groups, members, sizes),
        "tiers": {name: float((scores.tier == i).mean()) for i, name in enumerate(state.scheme.tier_names)},
        "lists": {}, "entitlements_denied": {}, "ever_listed": {},
    }
    for name, member in scores.lists.items():
        figures["lists"][name] = {"share": float(member.mean())}
        put_by_group(figures["lists"][name], by_group(member), sizes)
        figures["ever_listed"][name] = float((state.listed_days[name] > 0).mean())
    for name, allowed in scores.entitlements.items():
        denied: dict[str, Any] = {"share": float((~allowed).mean())}
        put_by_group(denied, by_group(~allowed), sizes)
        denied["person_days"] = int(state.denied_days[name].sum())
        figures["entitlements_denied"][name] = denied
    if scores.withholds:
        figures["unscored"] = _unscored_figures(scores, by_group, sizes)
    put(figures, "mobility_stay_share",
        float((state.initial_tier == scores.tier).mean()) if state.initial_tier is not None else None,
        "no tiers were given at the start")
    honour = state.scheme.honour_lists
    names = sim.people.group_names
    figures["harms"] = {"disparities": {  # the adverse outcome: on a list, left off an honour list, denied
        **{(f"left_off.{name}" if name in honour else f"listed.{name}"):
           fairness_summary(~member if name in honour else member, sim.people.group, names)
           for name, member in scores.lists.items()},
        **{f"denied.{name}": fairness_summary(~allowed, sim.people.group, names)
           for name, allowed in scores.entitlements.items()},
    }}
    return figures


def _combined_figures(sim: Sim, by_group: Callable[[np.ndarray], dict[str, float]],
                      sizes: dict[str, int]) -> dict[str, Any]:
    """With several schemes: who is on a list (honour lists aside) or denied a sanction by any of
    them at the end and ever, by group; by how many at once (at the end, and the most on one day);
    and the person-days so."""
    tallies = next(module for module in sim.modules if isinstance(module, Tallies))
    listing = np.zeros(sim.n, dtype=np.int64)
    sanctioning = np.zeros(sim.n, dtype=np.int64)
    for state in sim.schemes:
        listing += on_a_list(state)
        sanctioning += denied_a_sanction(state)
    figures: dict[str, Any] = {}
    for key, now, days, most in (("listed", listing, tallies.days_listed_any, tallies.most_listing),
                                 ("sanctioned", sanctioning, tallies.days_sanctioned_any, tallies.most_sanctioning)):
        figure: dict[str, Any] = {"share": float((now > 0).mean())}
        put_by_group(figure, by_group(now > 0), sizes)
        ever = days > 0
        figure["ever"] = {"share": float(ever.mean())}
        put_by_group(figure["ever"], by_group(ever), sizes)
        figure["person_days"] = int(days.sum(dtype=np.int64))
        # by how many schemes at once: the share of people at each count (0 .. the number of schemes)
        figure["by_how_many_at_end"] = {str(k): float((now == k).mean()) for k in range(len(sim.schemes) + 1)}
        figure["most_at_once_ever"] = {str(k): float((most == k).mean()) for k in range(len(sim.schemes) + 1)}
        several = now > 1
        figure["several_at_end"] = {"share": float(several.mean())}
        put_by_group(figure["several_at_end"], by_group(several), sizes)
        figures[f"{key}_by_any"] = figure
    return figures


def _score_figures(scores: Scores, groups: list[str], members: list[np.ndarray],
                   sizes: dict[str, int]) -> dict[str, Any]:
    """Mean, p10, p50 and p90 of the final scores, and the mean by group: over the scored (an
    unscored subject has no score), null where no one is."""
    scored = scores.scored
    values = scores.score[scored] if scores.withholds else scores.score
    figures: dict[str, Any] = {}
    why = "no one is scored at the end" if sizes and sum(sizes.values()) else "no one is in this population"
    put(figures, "mean", float(values.mean()) if values.size else None, why)
    for key, percent in (("p10", 10), ("p50", 50), ("p90", 90)):
        put(figures, key, float(np.percentile(values, percent)) if values.size else None, why)
    figures["by_group"] = {}
    for group, mine in zip(groups, members, strict=True):
        among = mine & scored
        if among.any():
            figures["by_group"][group] = float(scores.score[among].mean())
            continue
        figures["by_group"][group] = None
        figures.setdefault(WHY_NULL, {}).setdefault(BY_GROUP, {})[group] = (
            empty_group(group) if not sizes[group] else f"no one in group '{group}' is scored at the end")
    return figures


def _unscored_figures(scores: Scores, by_group: Callable[[np.ndarray], dict[str, float]],
                      sizes: dict[str, int]) -> dict[str, Any]:
    """Who is unscored at the end (no score: a condition holds or, where the scheme enrols, not
    enrolled): the share, by group, the share for whom each condition holds and the share not
    enrolled."""
    unscored = ~scores.scored
    figures: dict[str, Any] = {"share": float(unscored.mean()) if unscored.size else 0.0}
    put_by_group(figures, by_group(unscored), sizes)
    conditions = scores.unscored if scores.unscored is not None else np.zeros(unscored.size, dtype=np.uint16)
    figures["reasons"] = {code: float(((conditions >> np.uint16(bit)) & np.uint16(1)).mean())
                          if unscored.size else 0.0 for bit, code in enumerate(scores.scheme.unscored_names)}
    if scores.unenrolled is not None:
        figures["not_enrolled"] = float(scores.unenrolled.mean()) if unscored.size else 0.0
    return figures


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def frame_harms(sim: Sim, disparities: dict[str, Any] | None = None) -> dict[str, Any]:
    """The harms every run has: whether records can be false, the disparities of every list and
    entitlement (with one scheme; with several, each scheme's are in its section), and the false
    records; each phase adds its own (`Module.figures`)."""
    harms: dict[str, Any] = {"records_can_be_false": sim.has_truth}
    if disparities is not None:
        harms["disparities"] = disparities
    harms["false_records"] = {"count": int(sim.false_record_counts.sum()),
                              "people_blamed": int((sim.false_record_counts > 0).sum())}
    return harms
