"""Surveillance: which true events are recorded, and by which source.

Each source records each event of the kinds it observes with chance `coverage`, independently of
the others; an event recorded by several sources is kept once, credited to the first of them in
the scenario's order. Identification errors (misattribution to another person) arrive with
issue 4; until then every recorded event is attributed to whoever really did it.
"""

from __future__ import annotations

import numpy as np

from ..sim.events import DayEvents
from ..sim.model import Sim
from ..sim.rng import generator


class Surveillance:
    name = "surveillance"

    def __init__(self, sim: Sim):
        self.sources = list(sim.scenario.surveillance)
        kinds = len(sim.scheme.events)
        # coverage[s, k]: chance that source s records an event of kind k
        self.coverage = np.zeros((len(self.sources), kinds))
        for index, spec in enumerate(sim.scenario.surveillance.values()):
            for kind in spec.observes:
                self.coverage[index, sim.codes[kind]] = spec.coverage

    def step(self, sim: Sim, day: int) -> None:
        events = sim.true_events
        if not len(events) or not self.sources:
            sim.observed_events = DayEvents.empty()
            return
        # One draw per (source, event): events are few, and their order is fixed by person id and kind.
        draws = generator(sim.seed, "surveillance", day).random((len(self.sources), len(events)))
        recorded = draws < self.coverage[:, events.kind]
        seen = recorded.any(axis=0)
        first = np.argmax(recorded, axis=0).astype(np.int16)
        observed = events.take(np.flatnonzero(seen))
        observed.source = first[seen]
        sim.observed_events = observed
        np.add.at(sim.observed_counts, (observed.kind, observed.subject), 1)
