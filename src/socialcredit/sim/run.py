"""Running a scenario and what a run leaves behind: summary, metrics, people, report."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from .. import __version__
from ..scheme import Scheme
from ..scoring import Scores, score_features
from ..undefined import BY_GROUP, WHY_NULL, empty_group, put, put_by_group, strict
from .loop import Loop
from .model import Sim
from .scenario import Scenario, load_scenario


@dataclass
class Run:
    """The result of a simulation: `.summary` (dict), `.metrics` and `.people` (DataFrames)."""

    scenario: Scenario
    scheme: Scheme
    summary: dict[str, Any]
    metrics: pd.DataFrame
    mobility: pd.DataFrame
    phase_seconds: dict[str, float]
    sim: Sim = field(repr=False)

    @cached_property
    def people(self) -> pd.DataFrame:
        """One row per person (people.parquet's rows), made when first asked for: at tens of
        millions of people, `save` writes them slice by slice and never holds them all."""
        return _people_frame(self.sim)

    def report(self, path: str | Path) -> Path:
        from ..analysis.report import write_report

        return write_report(self, Path(path))

    def save(self, out: str | Path) -> Path:
        """Write summary.json, metrics.parquet, people.parquet, scenario.yaml and report.html (and
        events.parquet with relations.parquet when the run kept its observed events) into `out`,
        whole or not at all: into a fresh folder, renamed into place when complete (outputs.py)."""
        from ..outputs import write_whole

        return write_whole(Path(out), self._write)

    def _write(self, out: Path) -> None:
        # strict JSON: an undefined figure is null with the reason beside it (undefined.py)
        (out / "summary.json").write_text(json.dumps(self.summary, indent=2, default=_json_default, allow_nan=False))
        self.metrics.to_parquet(out / "metrics.parquet", index=False)
        write_people(self.sim, out / "people.parquet")
        self.mobility.to_csv(out / "mobility.csv")
        if "counterfactual" in self.summary:
            pd.DataFrame(self.summary["counterfactual"]["figures"]).to_csv(out / "counterfactual.csv", index=False)
        resolved = self.scenario.model_dump(mode="json")
        (out / "scenario.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
        if self.sim.saved_events is not None:
            self.write_events(out / "events.parquet")
            self.write_relations(out / "relations.parquet")
        self.report(out / "report.html")

    def write_events(self, path: Path) -> None:
        """The observed events, in the `socialcredit score` input format."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .events import DayEvents

        records = DayEvents.concat([events for _, events in self.sim.saved_events or []])
        if self.sim.appeals is not None:  # voided records are no longer part of anyone's file
            records = records.take(np.flatnonzero(~np.isin(records.id, self.sim.appeals.voided())))
        names = list(self.scheme.events)
        sources = list(self.scenario.surveillance) or [""]
        table = pa.table({
            "subject": pa.array(records.subject),
            "kind": pa.DictionaryArray.from_arrays(pa.array(records.kind.astype(np.int32)), pa.array(names)),
            "time": pa.array(records.time),
            "value": pa.array(records.value),
            "source": pa.DictionaryArray.from_arrays(pa.array(records.source.astype(np.int32)), pa.array(sources)),
            "id": pa.array(records.id),
            # truth beside observation (ignored by `socialcredit score`)
            "true_subject": pa.array(records.actor),
            "genuine": pa.array(records.genuine),
        })
        pq.write_table(table, path)

    def write_relations(self, path: Path) -> None:
        """The final social graph as `subject,other` ties (each once)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        graph = self.sim.graph
        rows = graph.rows
        once = rows < graph.indices
        pq.write_table(pa.table({"subject": rows[once], "other": graph.indices[once].astype(np.int64)}), path)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


PEOPLE_SLICE = 1 << 20  # people per row group of people.parquet, written one at a time


def _people_table(sim: Sim, part: slice) -> pa.Table:
    """people.parquet's rows for the people of `part`: who they are, their final state, what was done
    to them, and every feature and component's points behind their score. The features are made
    again from the feature state, slice by slice, with the final network term held, so that a
    population of tens of millions is written in little more memory than it took to simulate."""
    from ..scorejob import name_column, reason_column, unscored_by_column, withheld

    if sim.scores is None or sim.scored_time != sim.features.as_of:
        raise ValueError("the feature state has moved on since the last scoring; rescore first")
    people, scheme = sim.people, sim.scheme
    scores = score_features(scheme, sim.features.features(part), network_term=sim.scores.network_term[part])
    initial_tier = sim.initial_tier if sim.initial_tier is not None else sim.scores.tier
    columns: dict[str, Any] = {
        "person": np.arange(part.start, part.stop),
        "group": name_column(people.group[part], people.group_names),
        "district": people.district[part],
        "age": people.age[part],
        "income_initial": people.income_initial[part],
        "income": people.income[part],
        "degree_initial": sim.initial_degree[part],
        "degree": sim.graph.degree[part],
        "score": withheld(scores.score, scores),  # none for the unscored, as `score` writes it
        "pre": withheld(scores.pre, scores),
        "tier": name_column(scores.tier, scheme.tier_names),
        "tier_initial": name_column(initial_tier[part], scheme.tier_names),
    }
    if scheme.tier_caps:  # the cap that held the tier down, as `score` writes it
        columns["capped_by"] = name_column(scores.tier_cap, scheme.tier_cap_names)
    if scores.unscored is not None:  # who is unscored and why, as `score` writes it
        columns["scored"] = scores.scored
        columns["unscored_by"] = unscored_by_column(scores)
    for name, member in scores.lists.items():
        columns[f"listed.{name}"] = member
        columns[f"days_listed.{name}"] = sim.listed_days[name][part]
    for name, allowed in scores.entitlements.items():
        columns[f"allowed.{name}"] = allowed
        columns[f"days_denied.{name}"] = sim.denied_days[name][part]
    for code, kind in enumerate(scheme.events):
        columns[f"true.{kind}"] = sim.true_counts[code, part]
        columns[f"observed.{kind}"] = sim.observed_counts[code, part].astype(np.int32)  # one type, widened or not
    columns["false_records"] = sim.false_record_counts[part]
    if sim.appeals is not None and sim.appeals.spec is not None:
        columns["appeals_filed"] = sim.appeals.filed_by[part]
    if sim.harm is not None and sim.truth is not None:
        for name, days in sim.harm.wrong_listed_days.items():
            columns[f"days_wrongly_listed.{name}"] = days[part]
        for name, days in sim.harm.wrong_denied_days.items():
            columns[f"days_wrongly_denied.{name}"] = days[part]
        columns["ever_wrongly_listed"] = sim.harm.ever_wrongly_listed[part]
        columns["ever_wrongly_sanctioned"] = sim.harm.ever_wrongly_sanctioned[part]
    if sim.watchlist is not None and sim.watchlist.sources:
        columns["false_stops"] = sim.watchlist.false_stops[part]
    for name, values in scores.features.items():
        columns[f"feature.{name}"] = values
    for name, points in scores.components.items():
        columns[f"points.{name}"] = points
    columns["reasons"] = reason_column(scores)
    return pa.table({name: values if isinstance(values, pa.Array) else pa.array(values)
                     for name, values in columns.items()})


def _people_frame(sim: Sim) -> pd.DataFrame:
    return _people_table(sim, slice(0, sim.n)).to_pandas()


def write_people(sim: Sim, path: Path) -> None:
    """people.parquet, a row group of PEOPLE_SLICE people at a time (written beside the target and
    renamed, so a crash never leaves half a file)."""
    partial = path.with_name(path.name + ".partial")
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, max(sim.n, 1), PEOPLE_SLICE):
            table = _people_table(sim, slice(start, min(start + PEOPLE_SLICE, sim.n)))
            if writer is None:
                writer = pq.ParquetWriter(partial, table.schema)
            writer.write_table(table.cast(writer.schema))  # each slice's dictionaries as the first's type
    finally:
        if writer is not None:
            writer.close()
    partial.replace(path)


def _mobility(sim: Sim) -> pd.DataFrame:
    """Tier transition matrix: share of each starting tier (rows) ending in each tier (columns); where
    the scheme has unscored conditions, being unscored is a row and a column of its own, last."""
    names = sim.scheme.tier_names
    scores = sim.scores
    if not names or scores is None or sim.initial_tier is None:
        return pd.DataFrame()
    if sim.scheme.unscored_rules:
        names = [*names, UNSCORED_ROW]
    k = len(names)
    start, end = (np.where(tier < 0, k - 1, tier).astype(np.int64) for tier in (sim.initial_tier, scores.tier))
    counts = np.bincount(start * k + end, minlength=k * k).reshape(k, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / counts.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(shares, index=pd.Index(names, name="from"), columns=pd.Index(names, name="to"))
    return frame.fillna(0.0)


UNSCORED_ROW = "(unscored)"  # mobility's row and column of those without a tier


def _summary(sim: Sim, metrics: pd.DataFrame, mobility: pd.DataFrame, seconds: float,
             phase_seconds: dict[str, float], compile_seconds: float = 0.0) -> dict[str, Any]:
    """The headline figures (summary.json): strict JSON, a figure the run cannot give being null with
    the reason beside it (undefined.py)."""
    scores = sim.scores
    assert scores is not None
    people = sim.people
    last = metrics.iloc[-1]
    groups = people.group_names
    sizes = dict(zip(groups, np.bincount(people.group, minlength=len(groups)).tolist(), strict=True))
    members = [people.group == i for i in range(len(groups))]

    def by_group(values: np.ndarray) -> dict[str, float]:
        """The mean of `values` in each group (NaN for a group with no members, made null later)."""
        return {g: float(values[mine].mean()) if sizes[g] else math.nan
                for g, mine in zip(groups, members, strict=True)}

    score = _score_figures(scores, groups, members, sizes)
    network: dict[str, Any] = {
        "mean_degree_initial": float(sim.initial_degree.mean()),
        "mean_degree_final": float(sim.graph.degree.mean()),
    }
    put(network, "assortativity_score_final", float(last.get("assortativity_score", np.nan)),
        "no ties at the end" if not sim.graph.indices.size else "tied people all have one score: nothing to "
        "correlate" if "assortativity_score" in last else "not measured: the scheme gives no scores")
    put(network, "isolated_listed_share_final", float(last["isolated_listed_share"]),
        "no one was on a disclosed list at the end")
    summary: dict[str, Any] = {
        "socialcredit_version": __version__,  # the version whose model and formats produced these figures
        "scenario": sim.scenario.id,
        "scheme": sim.scheme.id,
        "people": sim.n,
        "days": sim.days,
        "burn_in_days": sim.burn_in,
        "seed": sim.seed,
        "score": score,
        "tiers": {name: float((scores.tier == i).mean()) for i, name in enumerate(sim.scheme.tier_names)},
        "lists": {}, "entitlements_denied": {},
        "ever_listed": {}, "income": {
            "mean_initial": float(people.income_initial.mean()), "mean_final": float(people.income.mean()),
            "gini_initial": float(metrics["gini_income"].dropna().iloc[0]),
            "gini_final": float(last["gini_income"]),
        },
        "network": network,
    }
    if scores.unscored is not None:
        summary["unscored"] = _unscored_figures(scores, by_group, sizes)
    put(summary, "mobility_stay_share",
        float((sim.initial_tier == scores.tier).mean()) if sim.initial_tier is not None else None,
        "no tiers were given at the start")
    summary["seconds"] = round(seconds, 3)
    summary["compile_seconds"] = round(compile_seconds, 3)  # kernels compiled for this machine (once)
    running = seconds - compile_seconds  # the throughput of the model, not of the compiler
    put(summary, "person_days_per_second", float(sim.n * (sim.burn_in + sim.days) / running) if running > 0 else None,
        "the run took no measurable time")
    summary["phase_seconds"] = {k: round(v, 3) for k, v in phase_seconds.items()}
    for name, member in scores.lists.items():
        summary["lists"][name] = {"share": float(member.mean())}
        put_by_group(summary["lists"][name], by_group(member), sizes)
        summary["ever_listed"][name] = float((sim.listed_days[name] > 0).mean())
    for name, allowed in scores.entitlements.items():
        denied: dict[str, Any] = {"share": float((~allowed).mean())}
        put_by_group(denied, by_group(~allowed), sizes)
        denied["person_days"] = int(sim.denied_days[name].sum())
        summary["entitlements_denied"][name] = denied
    summary["harms"] = _harms(sim)
    # What people really did, a person-year (the figures a counterfactual twin of deterrence or
    # sanctions moves), and everyone's income growth (what a twin without sanctions moves).
    years = sim.n * sim.days / 365
    summary["acts_per_person_year"] = {kind: float(sim.true_counts[code].sum(dtype=np.int64) / years)
                                       for code, kind in enumerate(sim.scheme.events)
                                       if kind in sim.scenario.behaviours}
    log_growth = np.log(people.income / people.income_initial)
    summary["income"]["mean_log_growth"] = float(log_growth.mean())
    growth: dict[str, Any] = {"mean": float(log_growth.mean())}
    put_by_group(growth, by_group(log_growth), sizes)
    summary["income"]["log_growth"] = growth
    # Sorting of ties by people's own records (pre, before any network term) as against by score.
    from ..analysis.metrics import assortativity

    put(summary["network"], "assortativity_pre_final", _finite(assortativity(sim.graph, scores.pre)),
        "no ties at the end, or tied people all have one pre")
    put(summary["network"], "mean_degree_listed_final", _finite(last.get("mean_degree_listed", np.nan)),
        "no one is on a disclosed list at the end")
    # A comparison of groups, not an effect: those ever sanctioned had other incomes to begin with.
    # What sanctions cause is measured by a twin without them (`simulate --counterfactual sanctions`).
    sanctioned = np.zeros(sim.n, dtype=bool)
    for name in sim.scheme.sanctions:  # going without a perk is not a sanction
        sanctioned |= sim.denied_days[name] > 0
    growth = log_growth
    feedback: dict[str, Any] = {"ever_sanctioned_share": float(sanctioned.mean())}
    put(feedback, "income_log_growth_sanctioned", float(growth[sanctioned].mean()) if sanctioned.any() else None,
        "no one was ever sanctioned")
    put(feedback, "income_log_growth_others", float(growth[~sanctioned].mean()) if (~sanctioned).any() else None,
        "everyone was sanctioned at some time")
    summary["feedback"] = feedback
    return strict(summary)


def _score_figures(scores: Scores, groups: list[str], members: list[np.ndarray],
                   sizes: dict[str, int]) -> dict[str, Any]:
    """Mean, p10, p50 and p90 of the final scores, and the mean by group: over the scored (an
    unscored subject has no score), null where no one is."""
    scored = scores.scored
    values = scores.score if scores.unscored is None else scores.score[scored]
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
    """Who is unscored at the end: the share, by group, and the share for whom each condition holds."""
    assert scores.unscored is not None
    unscored = scores.unscored != 0
    figures: dict[str, Any] = {"share": float(unscored.mean()) if unscored.size else 0.0}
    put_by_group(figures, by_group(unscored), sizes)
    figures["reasons"] = {code: float(((scores.unscored >> np.uint16(bit)) & np.uint16(1)).mean())
                          if unscored.size else 0.0 for bit, code in enumerate(scores.scheme.unscored_names)}
    return figures


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _harms(sim: Sim) -> dict[str, Any]:
    """Who the system harms: wrongful listings and sanctions, disparities, appeals, chilling."""
    from ..analysis.fairness import fairness_summary, relative_risks
    from ..scheme import SPECIAL_CATEGORIES

    scores, people = sim.scores, sim.people
    assert scores is not None
    names = people.group_names
    harms: dict[str, Any] = {"records_can_be_false": sim.truth is not None}
    honour = sim.scheme.honour_lists
    harms["disparities"] = {  # the adverse outcome: on a list, left off an honour list, denied
        **{(f"left_off.{name}" if name in honour else f"listed.{name}"):
           fairness_summary(~member if name in honour else member, people.group, names)
           for name, member in scores.lists.items()},
        **{f"denied.{name}": fairness_summary(~allowed, people.group, names)
           for name, allowed in scores.entitlements.items()},
    }
    if sim.harm is not None and sim.truth is not None:
        harm = sim.harm
        # Every wrongful harm, as whom it befell: each gets its rates, disparities and relative risks
        wrongful = {"wrongly_listed": harm.ever_wrongly_listed}
        if any(e.perk for e in sim.scheme.entitlements.values()):
            wrongful["wrongly_denied_perks"] = harm.ever_wrongly_denied_perk
        if honour:
            wrongful["wrongly_left_off_honours"] = harm.ever_wrongly_left_off
        wrongful["wrongly_sanctioned"] = harm.ever_wrongly_sanctioned
        if sim.watchlist is not None and sim.watchlist.sources:  # stopped on a false face-recognition alert
            wrongful["falsely_stopped"] = sim.watchlist.stopped_innocent
        harms["relative_risks"] = {}
        for key, harmed in wrongful.items():
            harms[key] = {**fairness_summary(harmed, people.group, names), "count": int(harmed.sum())}
            harms["relative_risks"][key] = relative_risks(harmed, people.group, names)
        harms["false_sanction_person_days"] = {name: int(days.sum()) for name, days in harm.wrong_denied_days.items()}
        harms["false_listing_person_days"] = {name: int(days.sum()) for name, days in harm.wrong_listed_days.items()}
        ended, running = harm.episodes(sim.days - 1)
        episodes: dict[str, Any] = {"ended": int(ended.size), "running_at_end": int(running.size)}
        put(episodes, "mean_days_ended", float(ended.mean()) if ended.size else None, "no wrongful sanction ended")
        put(episodes, "median_days_ended", float(np.median(ended)) if ended.size else None,
            "no wrongful sanction ended")
        put(episodes, "mean_days_running", float(running.mean()) if running.size else None,
            "no wrongful sanction was running at the end")
        harms["wrongful_sanction_episodes"] = episodes
    if sim.behaviour is not None:
        special = {kind for kind, event in sim.scheme.events.items() if event.category in SPECIAL_CATEGORIES}
        harms["chilling"] = {kind: {"suppressed_share": share, "special_category": kind in special}
                             for kind, share in sim.behaviour.chilling().items()}
        harms["encouraged"] = {kind: {**figure, "special_category": kind in special}
                               for kind, figure in sim.behaviour.encouraged(sim.days).items()}
        harms["blocked_per_year"] = sim.behaviour.blocked(sim.days)
    harms["false_records"] = {"count": int(sim.false_record_counts.sum()),
                              "people_blamed": int((sim.false_record_counts > 0).sum())}
    if sim.surveillance is not None:
        harms["sources"] = sim.surveillance.figures()
    if sim.watchlist is not None and sim.watchlist.sources:
        harms["watchlist"] = sim.watchlist.figures()
    if sim.incidents is not None and sim.incidents.specs:
        harms["incidents"] = {"corrupted": sim.incidents.corrupted, "duplicated": sim.incidents.duplicated,
                              "dropped": sim.incidents.dropped}
    appeals = sim.appeals
    if appeals is not None and appeals.spec is not None:
        waits = np.concatenate(appeals.waits) if appeals.waits else np.zeros(0)
        backlog = sim.metrics.columns.get("appeal_backlog") if sim.metrics is not None else None
        harms["appeals"] = {
            "filed": appeals.filed, "decided": appeals.decided, "upheld": appeals.upheld,
            "records_voided_false": appeals.voided_false, "records_voided_true": appeals.voided_true,
            "backlog_end": appeals.backlog,
            "backlog_max": int(np.nanmax(backlog)) if backlog is not None and np.isfinite(backlog).any() else 0,
        }
        put(harms["appeals"], "mean_wait_days", float(waits.mean()) if waits.size else None, "no appeal was decided")
        put(harms["appeals"], "max_wait_days", int(waits.max()) if waits.size else None, "no appeal was decided")
    return harms


def timed_loop(scenario: Scenario, scheme: Scheme) -> tuple[Sim, Loop, float, float]:
    """Build and run a simulation without outputs: (sim, loop, set-up seconds, loop seconds), for
    benchmarks that time the day loop alone."""
    started = time.perf_counter()
    sim = Sim(scenario, scheme)
    setup = time.perf_counter() - started
    loop = Loop(sim)
    started = time.perf_counter()
    loop.run()
    if sim.metrics is not None:  # the last weekly figures, still being worked out on their thread
        sim.metrics.close()
    return sim, loop, setup, time.perf_counter() - started


def run_scenario(scenario: Scenario, scheme: Scheme, on_day: Callable[[int], None] | None = None,
                 save_events: bool = False) -> Run:
    from numba.core import event

    compiling = [0.0]  # seconds spent compiling kernels (the first run on a machine): not the model's speed

    def compiled(seconds: float) -> None:
        compiling[0] += seconds

    started = time.perf_counter()
    with event.install_timer("numba:compile", compiled):
        sim = Sim(scenario, scheme)
        if save_events:
            sim.saved_events = []
        loop = Loop(sim)
        loop.run(on_day)
    seconds = time.perf_counter() - started
    assert sim.metrics is not None
    metrics = sim.metrics.frame(sim)
    mobility = _mobility(sim)
    summary = _summary(sim, metrics, mobility, seconds, loop.seconds, compiling[0])
    return Run(scenario, scheme, summary, metrics, mobility, dict(loop.seconds), sim)


def simulate(scenario: str | Path | None = None, on_day: Callable[[int], None] | None = None,
             save_events: bool = False, **overrides: Any) -> Run:
    """Run a scenario (a preset id, a YAML path, or None for the default) and return the Run.

    Overrides set scenario keys: `population=1000` (the size), `days=30`, `seed=2`, or any dotted
    path as `**{"network.mean_degree": 6}` (or with `__` for dots: `network__mean_degree=6`).
    """
    shortcuts = {"population": "population.size", "days": "run.days", "seed": "run.seed"}
    dotted = {shortcuts.get(key, key.replace("__", ".")): value for key, value in overrides.items()}
    chosen, scheme = load_scenario(scenario, dotted)
    return run_scenario(chosen, scheme, on_day, save_events)
