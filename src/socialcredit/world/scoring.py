"""Scoring in the loop: the incremental feature state takes today's observed events; scores,
tiers, lists and entitlements are recomputed by the one scoring core on the scheme's cadence."""

from __future__ import annotations

from ..scoring import score_features
from ..sim.model import Sim


class Scoring:
    name = "scoring"

    def __init__(self, sim: Sim):
        self.network = sim.scheme.network is not None

    def step(self, sim: Sim, day: int) -> None:
        state = sim.features
        state.advance(sim.time(day))
        events = sim.observed_events
        if len(events):
            state.add(sim.time(day), events.subject, events.kind, events.value)
        if sim.is_update_day(day):
            sim.scores = score_features(sim.scheme, state.features(), sim.graph if self.network else None)
            sim.scored_day = day
            if sim.initial_tier is None:
                sim.initial_tier = sim.scores.tier.copy()
