"""The simulation's shared state: the population, its graph, each scheme's state (`schemes.py`),
the day's events, the tallies every output reads, and the registered phases."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, TypeVar

import numpy as np

from ..parallel import one_malloc_arena
from ..population import People, homophilous_small_world, make_people
from ..scenario.load import Schemes
from ..scenario.models import Scenario
from ..scoring import Relations
from .events import DayEvents
from .module import Module
from .schemes import SchemeState

PhaseModule = TypeVar("PhaseModule", bound=Module)
# The scenario's keys the frame itself reads (the phases declare theirs: `Module.params`).
FRAME_PARAMS = ("id", "title", "description", "sources", "scheme", "schemes", "scheme_overrides", "population",
                "network", "run")

EPOCH = dt.date(1970, 1, 1)
# The graph's room for ties beyond those it starts with (a share of them): a year of the default's
# cuts and new ties at a million people adds a few thousand entries to ten million.
GRAPH_ROOM = 0.01


class Sim:
    """What every module can read and write during a step.

    People are arrays indexed by person id; the graph is CSR; events of the day are arrays; each
    scheme's state is a `SchemeState` in `schemes`, in the scenario's order. Event kinds are the
    world's: every scheme's, each once (`Schemes.kinds`), coded by their place in `kinds`.
    """

    # What changes as the run goes on (a saved state keeps it: sim/state.py, Module.state_fields).
    state_fields: ClassVar[tuple[str, ...]] = (
        "people", "graph", "initial_degree", "pending", "next_event_id", "true_events", "observed_events",
        "true_counts", "observed_counts", "false_record_counts", "saved_events")

    def __init__(self, scenario: Scenario, schemes: Schemes):
        one_malloc_arena()  # before any worker thread allocates (see parallel.one_malloc_arena)
        self.scenario = scenario
        run = scenario.run
        self.seed, self.chunk, self.days = run.seed, run.chunk, run.days
        self.burn_in = run.burn_in_days  # days -burn_in..-1 are simulated and not reported
        self.start_time = float((run.start - EPOCH).days)  # event time of day 0
        self.people: People = make_people(scenario.population, scenario.behaviours, self.seed, self.chunk)
        self.n = len(self.people)
        # Stored with room for the ties the social response adds: its weekly edits move the ties
        # within one array (Relations.edited_in_place), never holding two copies.
        self.graph: Relations = homophilous_small_world(self.people, scenario.network, self.seed,
                                                        self.chunk).with_room(GRAPH_ROOM)
        self.initial_degree = self.graph.degree.copy()
        self.kinds = schemes.kinds
        self.codes = {name: code for code, name in enumerate(self.kinds)}
        # Counts bounded by the days of the run (one true act per kind a day; days listed) fit 16 bits
        # in any run shorter than 179 years: 2 bytes a person rather than 4, for each of them.
        self.days_type = days_type = np.uint16 if self.days < 2**16 else np.int32
        appeals = scenario.appeals
        first_time = self.start_time - self.burn_in  # event time of the first day simulated
        sources = list(scenario.surveillance)
        # Where the records that reach a scheme may be false, it also keeps a state of the genuine
        # ones only (with one scheme: wherever any record may be false).
        # A scheme that imports a list whose records can be false keeps that state too: its sanctions
        # can be wrongful through the list (schemes.order puts the sources first).
        falsifiable: dict[str, bool] = {}
        for entry in schemes.order:
            falsifiable[entry.name] = self.records_can_be_false(entry.receives) or any(
                falsifiable[source] for _, source, _ in entry.lists_from)
        self.schemes = [SchemeState(entry, index, self.n, self.kinds, sources, first_time,
                                    tuple(kind for kind in (appeals.kinds or entry.scheme.events)
                                          if kind in entry.scheme.events) if appeals is not None else (),
                                    falsifiable[entry.name], days_type)
                        for index, entry in enumerate(schemes)]
        by_name = {state.name: state for state in self.schemes}
        for state in self.schemes:  # joint punishment: each input list reads the list it is wired to
            state.imports = [(own, by_name[source], name) for own, source, name in state.entry.lists_from]
        # The order the schemes score in each day: each after the schemes whose lists it imports.
        self.scoring_order = [by_name[entry.name] for entry in schemes.order]
        # One scheme's scoring for those that would repeat it; not a scheme with an enrolment rule
        # (whom it enrols is its own: world/enrolment.py).
        enrolling = set(scenario.enrolment)
        for at, state in enumerate(self.scoring_order):
            same = next((other for other in self.scoring_order[:at] if other.scored_as is None
                         and {state.name, other.name}.isdisjoint(enrolling) and state.scores_as(other)), None)
            if same is not None:
                state.share_scoring_with(same)
        self.has_truth = self.records_can_be_false()
        self.pending: dict[int, list[DayEvents]] = {}  # late records by the day they arrive
        self.next_event_id = 0
        self.true_events = DayEvents.empty()      # today's, from behaviour
        self.observed_events = DayEvents.empty()  # today's, from surveillance
        # Running totals per person and kind, for people.parquet and harm metrics.
        kinds = len(self.kinds)
        self.true_counts = np.zeros((kinds, self.n), dtype=days_type)
        # Records have no such bound (false and duplicated records add to them), but a person's
        # count of one kind rarely nears 65,535: 16 bits, widened to 32 the day one might overflow.
        self.observed_counts = np.zeros((kinds, self.n), dtype=np.uint16)
        self.false_record_counts = np.zeros(self.n, dtype=np.int32)  # records of acts one did not do
        # The day's phases, in the loop's order (the loop builds and registers them): a phase that
        # reads another's state asks for it by its class (`module`).
        self.modules: list[Module] = []
        self.saved_events: list[tuple[int, DayEvents]] | None = None
        # A twin of amplification (runner/amplification.py): the people whose false records are taken
        # out of every scheme's file as they arrive, and how many were (None: an ordinary run).
        self.spared: np.ndarray | None = None
        self.spared_records = 0
        self.spared_touched = np.zeros(0, dtype=bool)  # (in a twin: who had a false record taken out)

    def spare(self, events: DayEvents) -> DayEvents:
        """`events` without the false records about the spared people (a twin of amplification)."""
        assert self.spared is not None
        dropped = ~events.genuine & self.spared[events.subject]
        return events.take(np.flatnonzero(~dropped)) if dropped.any() else events

    def keep_events(self) -> None:
        """Keep the day's records for the outputs (--save-events): the world's, and each arrival of a
        scheme that receives records on terms of its own (shared or sold late, or in part)."""
        self.saved_events = []
        for state in self.schemes:
            if state.terms:
                state.arrived = []

    @property
    def several(self) -> bool:
        """Whether the scenario names its schemes (`schemes:`): lists and entitlements are then
        qualified by the scheme's name and outputs prefixed by it, however many there are."""
        return bool(self.schemes[0].prefix)

    def module(self, kind: type[PhaseModule]) -> PhaseModule | None:
        """The registered phase of class `kind`, or None where the loop runs without it."""
        return next((module for module in self.modules if isinstance(module, kind)), None)

    def start_reporting(self) -> None:
        """Day 0 after a burn-in: what is reported counts from now. The world stays as the burn-in
        left it (records, scores, lists, incomes, ties); the tallies of what happened start afresh,
        and the starting tier, ties and income are today's."""
        for counts in (self.true_counts, self.observed_counts, self.false_record_counts):
            counts[...] = 0
        for state in self.schemes:
            state.start_reporting()
        self.initial_degree = self.graph.degree.copy()
        self.people.income_initial[:] = self.people.income

    def records_can_be_false(self, sources: tuple[str, ...] | None = None) -> bool:
        """Whether a record of one of `sources` (default: every source) can be false: a source that
        misidentifies or misattributes, or an incident that corrupts or duplicates its records."""
        def chosen(name: str) -> bool:
            return sources is None or name in sources

        surveillance = self.scenario.surveillance
        return any(chosen(name) and (s.identification is not None or s.error_rate > 0)
                   for name, s in surveillance.items()) or any(
            chosen(i.source) and (i.corrupt or i.duplicate) for i in self.scenario.incidents)

    def count_events(self, counts: np.ndarray, events: DayEvents) -> None:
        """Add one per event to `counts[kind, subject]`."""
        self._add_ones(counts, self._flat(events))

    def count_records(self, events: DayEvents) -> None:
        """Add today's observed records to `observed_counts`, first widening it to 32 bits if a count
        could pass 65,535 (a count touched today, plus every record today, is the most it can reach)."""
        counts, flat = self.observed_counts, self._flat(events)
        if counts.dtype == np.uint16 and flat.size and int(counts.reshape(-1)[flat].max()) + flat.size > 2**16 - 1:
            self.observed_counts = counts = counts.astype(np.int32)
        self._add_ones(counts, flat)

    def _flat(self, events: DayEvents) -> np.ndarray:
        """Each event's place in a (kind, person) array, flattened."""
        return events.kind.astype(np.int64) * self.n + events.subject

    @staticmethod
    def _add_ones(counts: np.ndarray, flat: np.ndarray) -> None:
        """Through the flat array and with a one of the counts' own type: np.add.at then takes its
        fast path (a Python 1 or a 2-D index makes it far slower)."""
        np.add.at(counts.reshape(-1), flat, counts.dtype.type(1))

    def new_event_ids(self, count: int) -> np.ndarray:
        ids = np.arange(self.next_event_id, self.next_event_id + count, dtype=np.int64)
        self.next_event_id += count
        return ids

    def time(self, day: int) -> float:
        return self.start_time + day

    @property
    def denied(self) -> dict[str, np.ndarray]:
        """Per entitlement of every scheme (by its qualified name), who is denied it now (nobody
        before the scheme's first scoring)."""
        return {state.qualify(name): denied for state in self.schemes for name, denied in state.denied.items()}

    @property
    def listed(self) -> dict[str, np.ndarray]:
        """Per list of every scheme (by its qualified name), who is on it now."""
        return {state.qualify(name): member for state in self.schemes for name, member in state.listed.items()}
