"""The simulation: a thin container of the population, graph, scheme state and modules."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from ..population import People, homophilous_small_world, make_people
from ..scheme import Scheme
from ..scoring import Relations, Scores
from ..scoring.incremental import IncrementalFeatures
from .events import DayEvents
from .scenario import Scenario

if TYPE_CHECKING:
    from ..analysis.metrics import Metrics

EPOCH = dt.date(1970, 1, 1)


class Sim:
    """What every module can read and write during a step.

    People are arrays indexed by person id; the graph is CSR; events of the day are arrays.
    """

    def __init__(self, scenario: Scenario, scheme: Scheme):
        self.scenario = scenario
        self.scheme = scheme
        run = scenario.run
        self.seed, self.chunk, self.days = run.seed, run.chunk, run.days
        self.start_time = float((run.start - EPOCH).days)  # event time of day 0
        self.people: People = make_people(scenario.population, scenario.behaviours, self.seed, self.chunk)
        self.n = len(self.people)
        self.graph: Relations = homophilous_small_world(self.people, scenario.network, self.seed, self.chunk)
        self.initial_degree = self.graph.degree.copy()
        self.codes = {name: code for code, name in enumerate(scheme.events)}
        self.features = IncrementalFeatures(scheme, self.n, start=self.start_time)
        self.scores: Scores | None = None       # latest scoring (on the scheme's cadence)
        self.scored_day = -1
        self.true_events = DayEvents.empty()      # today's, from behaviour
        self.observed_events = DayEvents.empty()  # today's, from surveillance
        # Running totals per person and kind, for people.parquet and harm metrics.
        kinds = len(scheme.events)
        self.true_counts = np.zeros((kinds, self.n), dtype=np.int32)
        self.observed_counts = np.zeros((kinds, self.n), dtype=np.int32)
        self.listed_days = {name: np.zeros(self.n, dtype=np.int32) for name in scheme.lists}
        self.denied_days = {name: np.zeros(self.n, dtype=np.int32) for name in scheme.entitlements}
        self.initial_tier: np.ndarray | None = None
        self.metrics: Metrics | None = None
        self.saved_events: list[tuple[int, DayEvents]] | None = None

    def time(self, day: int) -> float:
        return self.start_time + day

    def is_update_day(self, day: int) -> bool:
        return day % self.scheme.update_every_days == 0 or day == self.days - 1

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
