"""Running a scenario and what a run leaves behind: summary, metrics, people, report."""

from __future__ import annotations

import datetime as dt
import json
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
from numba.core import event

from ..outputs import write_whole
from ..population import People
from ..scenario import Scenario, Schemes, load_scenario
from ..scheme import Scheme
from ..sim.events import DayEvents
from ..sim.model import Sim
from ..sim.module import ReportRow
from ..sim.schemes import SchemeState
from ..sim.state import StateError, restore_state
from ..sim.state import save_state as save_state_file
from ..world.appeals import Appeals
from ..world.metrics import Metrics
from .loop import Loop
from .people_table import people_frame, write_people
from .report import write_report
from .summary import mobility, summary_of


@dataclass
class Run:
    """The result of a simulation: `.summary` (dict), `.metrics` and `.people` (DataFrames)."""

    scenario: Scenario
    schemes: Schemes
    summary: dict[str, Any]
    metrics: pd.DataFrame
    mobilities: dict[str, pd.DataFrame]  # each scheme's tier transitions, by its name
    phase_seconds: dict[str, float]
    sim: Sim = field(repr=False)

    @property
    def scheme(self) -> Scheme:
        """The scenario's first scheme (its only one, with one)."""
        return self.schemes[0].scheme

    @property
    def mobility(self) -> pd.DataFrame:
        """The first scheme's tier transitions (`mobilities` has each scheme's)."""
        return self.mobilities[self.schemes[0].name]

    @cached_property
    def people(self) -> pd.DataFrame:
        """One row per person (people.parquet's rows), made when first asked for: at tens of
        millions of people, `save` writes them slice by slice and never holds them all."""
        return people_frame(self.sim)

    @property
    def population(self) -> People:
        """The simulated people as arrays (group, income, ...), as they are at the end."""
        return self.sim.people

    def module_rows(self) -> list[ReportRow]:
        """Each phase's rows in the report's harms table (`Module.report_rows`), in the loop's order."""
        groups = list(self.sim.people.group_names)
        return [row for module in self.sim.modules for row in module.report_rows(self.summary, groups)]

    def report(self, path: str | Path) -> Path:
        return write_report(self, Path(path))

    def save(self, out: str | Path) -> Path:
        """Write summary.json, metrics.parquet, people.parquet, scenario.yaml and report.html (and
        events.parquet with relations.parquet when the run kept its observed events) into `out`,
        whole or not at all: into a fresh folder, renamed into place when complete (outputs.py)."""
        return write_whole(Path(out), self._write)

    def _write(self, out: Path) -> None:
        # strict JSON: an undefined figure is null with the reason beside it (undefined.py)
        (out / "summary.json").write_text(json.dumps(self.summary, indent=2, default=_json_default, allow_nan=False))
        self.metrics.to_parquet(out / "metrics.parquet", index=False)
        write_people(self.sim, out / "people.parquet")
        for state in self.sim.schemes:  # mobility.csv, or mobility.<scheme>.csv for each of several
            self.mobilities[state.name].to_csv(out / f"mobility.{state.prefix}csv")
        if "counterfactual" in self.summary:
            figures = pd.DataFrame(self.summary["counterfactual"]["figures"])
            if "why_null" in figures:  # the reasons a figure is null, as JSON (empty where none is)
                figures["why_null"] = [json.dumps(why) if isinstance(why, dict) else "" for why in figures["why_null"]]
            figures.to_csv(out / "counterfactual.csv", index=False)
        resolved = self.scenario.model_dump(mode="json")
        (out / "scenario.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
        if self.sim.several:
            pq.write_table(self.record_reach(), out / "record_reach.parquet")
        if self.sim.saved_events is not None:
            for state in self.sim.schemes:  # events.parquet, or events.<scheme>.parquet for each of several
                self.write_events(out / f"events.{state.prefix}parquet", state)
            self.write_relations(out / "relations.parquet")
        self.report(out / "report.html")

    def write_events(self, path: Path, state: SchemeState | None = None) -> None:
        """The records that reached a scheme (the first, by default), in the `socialcredit score`
        input format: scored at the run's last day with that scheme, they give its final scores."""
        sim = self.sim
        state = state or sim.schemes[0]
        kept = state.arrived if state.arrived is not None else [events for _, events in sim.saved_events or []]
        records = state.received(DayEvents.concat(kept))
        appeals = sim.module(Appeals)
        desk = appeals.desk(state) if appeals is not None else None
        if desk is not None:  # voided records are no longer part of anyone's file
            records = records.take(np.flatnonzero(~np.isin(records.id, desk.voided())))
        names = list(state.scheme.events)
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

    def record_reach(self) -> pa.Table:
        """Where each false record went (with several schemes): a row per false record and scheme it
        reached, with the day it arrived there (a record shared or sold late arrives later) and
        whether that scheme voided it on appeal; a record's `id` is the one the events files give."""
        sim = self.sim
        appeals = sim.module(Appeals)
        parts = []
        for state in sim.schemes:
            arrivals = state.false_arrivals
            if not arrivals:
                continue
            records = DayEvents.concat([events for _, events in arrivals])
            arrived = np.concatenate([np.full(len(events), day, dtype=np.int32) for day, events in arrivals])
            desk = appeals.desk(state) if appeals is not None else None
            voided = np.isin(records.id, desk.voided()) if desk is not None else np.zeros(len(records), dtype=bool)
            parts.append((state.index, records, arrived, voided))
        kinds, sources = list(sim.kinds), list(self.scenario.surveillance) or [""]
        names = [state.name for state in sim.schemes]

        def column(picked: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(picked) if picked else np.zeros(0, dtype=dtype)

        records = DayEvents.concat([records for _, records, _, _ in parts])
        scheme = column([np.full(len(r), index, dtype=np.int32) for index, r, _, _ in parts], np.int32)
        order = np.lexsort((scheme, records.id))  # by record, then scheme in the scenario's order
        return pa.table({
            "id": pa.array(records.id[order]),
            "subject": pa.array(records.subject[order]),
            "true_subject": pa.array(records.actor[order]),
            "kind": pa.DictionaryArray.from_arrays(pa.array(records.kind[order].astype(np.int32)), pa.array(kinds)),
            "time": pa.array(records.time[order]),
            "source": pa.DictionaryArray.from_arrays(pa.array(records.source[order].astype(np.int32)),
                                                     pa.array(sources)),
            "scheme": pa.DictionaryArray.from_arrays(pa.array(scheme[order]), pa.array(names)),
            "arrived_day": pa.array(column([a for _, _, a, _ in parts], np.int32)[order]),
            "voided": pa.array(column([v for _, _, _, v in parts], bool)[order]),
        })

    def write_relations(self, path: Path) -> None:
        """The final social graph as `subject,other` ties (each once)."""
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


def check_save_day(sim: Sim, day: int, after: int | None) -> None:
    """A day the run simulates, with a day left after it to continue with."""
    first = -sim.burn_in if after is None else after + 1
    if not first <= day < sim.days - 1:
        raise StateError(f"--save-state-at {day}: the run simulates days {first}..{sim.days - 1}; a state can be "
                         f"saved at the end of days {first}..{sim.days - 2} (a day must be left to continue with)")


def check_state_path(path: Path, day: int) -> None:
    """A file --save-state-at can write, found before the run rather than on the day it is written."""
    option = f"--save-state-at {day}: --state-file {path}"
    if path.is_dir():
        raise StateError(f"{option} is a folder: give a file name in it (such as {path / f'day{day}.state.npz'})")
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb"):
            pass
        partial.unlink()
    except OSError as error:
        reason = error.strerror or str(error)
        raise StateError(f"{option} cannot be written ({reason}): choose a folder you may write to") from None


def timed_loop(scenario: Scenario, schemes: Schemes) -> tuple[Sim, Loop, float, float]:
    """Build and run a simulation without outputs: (sim, loop, set-up seconds, loop seconds), for
    benchmarks that time the day loop alone."""
    started = time.perf_counter()
    sim = Sim(scenario, schemes)
    setup = time.perf_counter() - started
    loop = Loop(sim)
    started = time.perf_counter()
    loop.run()  # and each phase's `finish`: the metrics' last weekly figures are in
    return sim, loop, setup, time.perf_counter() - started


def run_scenario(scenario: Scenario, schemes: Schemes, on_day: Callable[[int], None] | None = None,
                 save_events: bool = False, prepare: Callable[[Sim], None] | None = None,
                 save_state: tuple[int, Path] | None = None, from_state: Path | None = None) -> Run:
    """Run `scenario`; `prepare` alters the world before its first day (a counterfactual twin); with
    `save_state` (day, path), write the whole state at the end of that day (sim/state.py); with
    `from_state`, continue the run saved there, with this scenario's parameters from the day after the
    saved one (those that cannot change mid-run refused: `StateError`)."""
    compiling = [0.0]  # seconds spent compiling kernels (the first run on a machine): not the model's speed

    def compiled(seconds: float) -> None:
        compiling[0] += seconds

    started = time.perf_counter()
    with event.install_timer("numba:compile", compiled):
        sim = Sim(scenario, schemes)
        if save_events:
            sim.keep_events()
        loop = Loop(sim)
        if prepare is not None:
            prepare(sim)
        after = restore_state(sim, from_state) if from_state is not None else None
        if save_events and sim.saved_events is None:
            raise StateError(f"--save-events: {from_state} was saved without --save-events, so the records of "
                             f"days up to {after} are not in it and events.parquet could not be whole; save the "
                             f"state again with --save-events, or leave --save-events out")
        saving = None
        if save_state is not None:
            day, path = save_state
            check_save_day(sim, day, after)
            check_state_path(Path(path), day)
            saving = (day, lambda today: save_state_file(sim, today, path))
        loop.run(on_day, after, saving)
    seconds = time.perf_counter() - started
    daily = sim.module(Metrics)
    assert daily is not None
    metrics = daily.frame(sim)
    stepped = sim.burn_in + sim.days if after is None else sim.days - after - 1
    summary = summary_of(sim, metrics, seconds, loop.seconds, compiling[0], days_simulated=stepped)
    tiers_moved = {state.name: mobility(sim, state) for state in sim.schemes}
    return Run(scenario, schemes, summary, metrics, tiers_moved, dict(loop.seconds), sim)


def simulate(scenario: str | Path | None = None, on_day: Callable[[int], None] | None = None,
             save_events: bool = False, save_state: tuple[int, Path] | None = None,
             from_state: Path | None = None, **overrides: Any) -> Run:
    """Run a scenario (a preset id, a YAML path, or None for the default) and return the Run.

    Overrides set scenario keys: `population=1000` (the size), `days=30`, `seed=2`, or any dotted
    path as `**{"network.mean_degree": 6}` (or with `__` for dots: `network__mean_degree=6`).
    """
    shortcuts = {"population": "population.size", "days": "run.days", "seed": "run.seed"}
    dotted = {shortcuts.get(key, key.replace("__", ".")): value for key, value in overrides.items()}
    chosen, schemes = load_scenario(scenario, dotted)
    return run_scenario(chosen, schemes, on_day, save_events, save_state=save_state, from_state=from_state)
