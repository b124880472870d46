"""The simulation's shared state: the population, its graph, the scheme's feature state and scores,
the day's events, the tallies every output reads, and the registered phases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from ..parallel import one_malloc_arena
from ..population import People, homophilous_small_world, make_people
from ..scenario.models import Scenario
from ..scheme import Scheme
from ..scoring import Relations, Scores
from ..scoring.compiled import CompiledRules, compile_rules
from ..scoring.core import score_slices, scoring_features
from ..scoring.graph import NeighbourSums
from ..scoring.incremental import IncrementalFeatures
from .events import DayEvents
from .module import Module

PhaseModule = TypeVar("PhaseModule", bound=Module)
# The scenario's keys the frame itself reads (the phases declare theirs: `Module.params`).
FRAME_PARAMS = ("id", "title", "description", "sources", "scheme", "scheme_overrides", "population", "network",
                "run")

EPOCH = dt.date(1970, 1, 1)
# People from whom the day's scoring runs on the scheme's rules compiled: compiling a scheme's
# rules for the first time on a machine takes a second or two, which a year at a quarter of a
# million people repays (and the compiled rules give the same outcomes as NumPy's, so the choice
# changes nothing but speed).
COMPILED_RULES_FROM = 1 << 18


class Sim:
    """What every module can read and write during a step.

    People are arrays indexed by person id; the graph is CSR; events of the day are arrays.
    """

    def __init__(self, scenario: Scenario, scheme: Scheme):
        one_malloc_arena()  # before any worker thread allocates (see parallel.one_malloc_arena)
        self.scenario = scenario
        self.scheme = scheme
        run = scenario.run
        self.seed, self.chunk, self.days = run.seed, run.chunk, run.days
        self.burn_in = run.burn_in_days  # days -burn_in..-1 are simulated and not reported
        self.start_time = float((run.start - EPOCH).days)  # event time of day 0
        self.people: People = make_people(scenario.population, scenario.behaviours, self.seed, self.chunk)
        self.n = len(self.people)
        self.graph: Relations = homophilous_small_world(self.people, scenario.network, self.seed, self.chunk)
        self.initial_degree = self.graph.degree.copy()
        self.codes = {name: code for code, name in enumerate(scheme.events)}
        appeals = scenario.appeals
        self.contestable = tuple(appeals.kinds or scheme.events) if appeals is not None else ()
        first_time = self.start_time - self.burn_in  # event time of the first day simulated
        self.features = IncrementalFeatures(scheme, self.n, start=first_time, voidable=self.contestable)
        # The rules compiled, for populations where a day's scoring repays compiling them once
        # (see scoring.compiled; the same outcomes to the bit), and what a day's scoring reads.
        self.compiled_rules: CompiledRules | None = compile_rules(scheme) if self.n >= COMPILED_RULES_FROM else None
        compiled = self.compiled_rules
        self.scoring_features = frozenset(compiled.inputs) if compiled is not None else scoring_features(scheme)
        self.scores: Scores | None = None       # latest scoring (on the scheme's cadence)
        # The same scheme on genuine records only: what the scores would be if every record were
        # true. Kept only where records can be false; the difference is the harm of false records.
        self.truth = IncrementalFeatures(scheme, self.n, start=first_time) if self.records_can_be_false() else None
        self.true_scores: Scores | None = None
        self.pending: dict[int, list[DayEvents]] = {}  # late records by the day they arrive
        self.next_event_id = 0
        self.scored_day: int | None = None  # the day of the latest scoring (negative in a burn-in)
        # Neighbour sums of `pre`, kept from one scoring to the next (few people's `pre` change a day).
        self.neighbour_sums = NeighbourSums()
        self.true_neighbour_sums = NeighbourSums()
        self.scored_time = float("nan")  # the feature state's time at the last scoring
        self.true_events = DayEvents.empty()      # today's, from behaviour
        self.observed_events = DayEvents.empty()  # today's, from surveillance
        # Running totals per person and kind, for people.parquet and harm metrics.
        kinds = len(scheme.events)
        # Counts bounded by the days of the run (one true act per kind a day; days listed) fit 16 bits
        # in any run shorter than 179 years: 2 bytes a person rather than 4, for each of them.
        self.days_type = days_type = np.uint16 if self.days < 2**16 else np.int32
        self.true_counts = np.zeros((kinds, self.n), dtype=days_type)
        # Records have no such bound (false and duplicated records add to them), but a person's
        # count of one kind rarely nears 65,535: 16 bits, widened to 32 the day one might overflow.
        self.observed_counts = np.zeros((kinds, self.n), dtype=np.uint16)
        self.false_record_counts = np.zeros(self.n, dtype=np.int32)  # records of acts one did not do
        self.listed_days = {name: np.zeros(self.n, dtype=days_type) for name in scheme.lists}
        self.denied_days = {name: np.zeros(self.n, dtype=days_type) for name in scheme.entitlements}
        self.initial_tier: np.ndarray | None = None
        # The day's phases, in the loop's order (the loop builds and registers them): a phase that
        # reads another's state asks for it by its class (`module`).
        self.modules: list[Module] = []
        self.saved_events: list[tuple[int, DayEvents]] | None = None

    def module(self, kind: type[PhaseModule]) -> PhaseModule | None:
        """The registered phase of class `kind`, or None where the loop runs without it."""
        return next((module for module in self.modules if isinstance(module, kind)), None)

    def start_reporting(self) -> None:
        """Day 0 after a burn-in: what is reported counts from now. The world stays as the burn-in
        left it (records, scores, lists, incomes, ties); the tallies of what happened start afresh,
        and the starting tier, ties and income are today's."""
        for counts in (self.true_counts, self.observed_counts, self.false_record_counts,
                       *self.listed_days.values(), *self.denied_days.values()):
            counts[...] = 0
        if self.scores is not None:
            self.initial_tier = self.scores.tier.copy()
        self.initial_degree = self.graph.degree.copy()
        self.people.income_initial[:] = self.people.income

    def records_can_be_false(self) -> bool:
        surveillance = self.scenario.surveillance.values()
        return any(s.identification is not None or s.error_rate > 0 for s in surveillance) or any(
            i.corrupt or i.duplicate for i in self.scenario.incidents)

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

    def is_update_day(self, day: int) -> bool:
        return day % self.scheme.update_every_days == 0 or day == self.days - 1

    def rescore(self, truth: bool = True) -> None:
        """Score everyone from the current feature state (and, where records can be false, from the
        genuine records only), slice by slice, keeping outcomes only (people.parquet makes the
        features and components behind them again, slice by slice). The old scores go first, so
        that two sets never share memory. `truth=False` when only the records changed (a voided
        record leaves the genuine ones as they were)."""
        relations = self.graph if self.scheme.network is not None else None
        self.scores = None
        self.scores = score_slices(self.scheme, self.features_of(self.features), self.n, relations,
                                   kept=self.neighbour_sums, compiled_rules=self.compiled_rules)
        self.scored_time = self.features.as_of
        if truth and self.truth is not None:
            self.true_scores = None
            self.true_scores = score_slices(self.scheme, self.features_of(self.truth), self.n, relations,
                                            kept=self.true_neighbour_sums, compiled_rules=self.compiled_rules)

    def features_of(self, state: IncrementalFeatures) -> Callable[[slice], dict[str, np.ndarray]]:
        """A slice's features for a scoring of outcomes only: just those it reads, as views (the
        state does not change while it scores)."""
        return lambda part: state.features(part, only=self.scoring_features, views=True)

    @property
    def denied(self) -> dict[str, np.ndarray]:
        """Per entitlement, who is denied it now (nobody before the first scoring)."""
        if self.scores is None:
            return {name: np.zeros(self.n, dtype=bool) for name in self.scheme.entitlements}
        return {name: ~allowed for name, allowed in self.scores.entitlements.items()}

    @property
    def listed(self) -> dict[str, np.ndarray]:
        if self.scores is None:
            return {name: np.zeros(self.n, dtype=bool) for name in self.scheme.lists}
        return self.scores.lists
