"""Incidents: a source goes wrong for a while for a share of people, as in the TSB IT failure of
April 2018 (payments recorded late, duplicated, or not at all). Corrupted, duplicated and dropped
records are marked, so the harm they do can be counted and traced to the incident."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..scenario.streams import generator
from ..sim.events import DayEvents
from ..sim.model import Sim
from ..sim.module import Module


class Incidents(Module):
    name = "incidents"
    params = ("incidents",)
    state_fields = ("affected", "corrupted", "duplicated", "dropped")

    def __init__(self, sim: Sim):
        self.specs = sim.scenario.incidents
        sources = list(sim.scenario.surveillance)
        self.source_codes = [sources.index(spec.source) for spec in self.specs]
        # Who each incident touches is drawn once, from its own stream.
        self.affected = []
        for index, spec in enumerate(self.specs):
            rng = generator(sim.seed, "incidents", -1, index)
            self.affected.append(rng.random(sim.n) < spec.share)
        self.corrupted = self.duplicated = self.dropped = 0
        self.false_made = np.zeros(len(self.specs), dtype=np.int64)  # each incident's false records, burn-in too

    def start_reporting(self, sim: Sim) -> None:
        self.corrupted = self.duplicated = self.dropped = 0

    def switch_off(self, index: int) -> None:
        """Incident `index` touches nobody (a twin of amplification): its draws are still made, so
        every other draw stays the run's."""
        self.affected[index][:] = False

    def step(self, sim: Sim, day: int) -> None:
        if not self.specs:
            return
        events = sim.observed_events
        rng = generator(sim.seed, "incidents", day)
        for index, spec in enumerate(self.specs):
            if not spec.day <= day < spec.day + spec.days or not len(events):
                continue
            hit = (events.source == self.source_codes[index]) & self.affected[index][events.subject]
            draw = rng.random(len(events))
            dropped = hit & (draw < spec.drop)
            threshold = spec.drop
            for kind, chance in spec.corrupt.items():
                turned = hit & (draw >= threshold) & (draw < threshold + chance) & (events.kind != sim.codes[kind])
                threshold += chance
                events.kind[turned] = sim.codes[kind]
                events.genuine[turned] = False
                self.corrupted += int(turned.sum())
                self.false_made[index] += int(turned.sum())
            twice = hit & ~dropped & (rng.random(len(events)) < spec.duplicate)
            copies = events.take(np.flatnonzero(twice))
            copies.id = sim.new_event_ids(len(copies))
            copies.genuine[:] = False
            self.duplicated += len(copies)
            self.false_made[index] += len(copies)
            self.dropped += int(dropped.sum())
            events = DayEvents.concat([events.take(np.flatnonzero(~dropped)), copies])
        sim.observed_events = events

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        if self.specs:
            summary["harms"]["incidents"] = {"corrupted": self.corrupted, "duplicated": self.duplicated,
                                             "dropped": self.dropped}
