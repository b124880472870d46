"""Score keeping in the loop: the incremental feature state takes today's observed events; scores,
tiers, lists and entitlements are recomputed by the one scoring core on the scheme's cadence."""

from __future__ import annotations

import numpy as np

from ..sim.model import Sim
from ..sim.module import Module


class ScoreKeeping(Module):
    name = "scoring"

    def step(self, sim: Sim, day: int) -> None:
        events = sim.observed_events
        # The reported tallies count records of acts done from day 0, as the true counts do: a record of
        # a burn-in act that arrives after day 0 (a reporting delay) is in the scores, not the tallies.
        counted = events if not sim.burn_in or day < 0 else events.take(np.flatnonzero(events.time >= sim.start_time))
        if len(counted):
            sim.count_records(counted)
        false = ~counted.genuine
        if false.any():
            np.add.at(sim.false_record_counts, counted.subject[false], np.int32(1))  # see Sim.count_events
        for state, chosen in ((sim.features, None), (sim.truth, events.genuine)):
            if state is None:
                continue
            state.advance(sim.time(day))
            records = events if chosen is None else events.take(np.flatnonzero(chosen))
            for time in np.unique(records.time):  # late records carry their own, earlier date
                at = np.flatnonzero(records.time == time)
                state.add(float(time), records.subject[at], records.kind[at], records.value[at], ids=records.id[at])
        if sim.is_update_day(day):
            sim.rescore()
            sim.scored_day = day
            if sim.initial_tier is None:
                sim.initial_tier = sim.scores.tier.copy()
