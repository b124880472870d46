"""Incidents: a source goes wrong for a while for a share of people, as in the TSB IT failure of
April 2018 (payments recorded late, duplicated, or not at all). Corrupted, duplicated and dropped
records are marked, so the harm they do can be counted and traced to the incident."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..scenario.streams import KeyedDraws, generator
from ..sim.events import DayEvents
from ..sim.model import Sim
from ..sim.module import Module

DROPPED_OR_CORRUPTED, DUPLICATED = range(2)  # the purposes of an incident's draws about a record
COPIES = 64  # room in a record's key for the incident that copied it


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
        # Each record's draws are keyed by the record as it arrived today (`DayEvents.draw_keys`; a
        # copy made by an incident by its original's key and the incident), never by its place among
        # the day's records, so a twin where some people act otherwise draws alike for everyone else.
        actor, key = events.draw_keys()
        key = key * COPIES
        for index, spec in enumerate(self.specs):
            if not spec.day <= day < spec.day + spec.days or not len(events):
                continue
            hit = (events.source == self.source_codes[index]) & self.affected[index][events.subject]
            draw = KeyedDraws(sim.seed, "incidents", day, index, DROPPED_OR_CORRUPTED).uniforms(actor, key)
            dropped = hit & (draw < spec.drop)
            threshold = spec.drop
            for kind, chance in spec.corrupt.items():
                turned = hit & (draw >= threshold) & (draw < threshold + chance) & (events.kind != sim.codes[kind])
                threshold += chance
                events.kind[turned] = sim.codes[kind]
                events.genuine[turned] = False
                self.corrupted += int(turned.sum())
                self.false_made[index] += int(turned.sum())
            twice = hit & ~dropped & (KeyedDraws(sim.seed, "incidents", day, index, DUPLICATED).uniforms(actor, key)
                                      < spec.duplicate)
            copied = np.flatnonzero(twice)
            copies = events.take(copied)
            copies.id = sim.new_event_ids(len(copies))
            copies.genuine[:] = False
            self.duplicated += len(copies)
            self.false_made[index] += len(copies)
            self.dropped += int(dropped.sum())
            kept = np.flatnonzero(~dropped)
            events = DayEvents.concat([events.take(kept), copies])
            actor = np.concatenate([actor[kept], actor[copied]])
            key = np.concatenate([key[kept], key[copied] + 1 + index % (COPIES - 1)])
        sim.observed_events = events

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        if self.specs:
            summary["harms"]["incidents"] = {"corrupted": self.corrupted, "duplicated": self.duplicated,
                                             "dropped": self.dropped}
