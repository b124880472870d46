"""Score keeping in the loop: each scheme's incremental feature state takes today's records that
reach it; its scores, tiers, lists and entitlements are recomputed by the one scoring core on its
own cadence."""

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
        for scheme in sim.schemes:  # each scheme takes the records that reach it, in its own kind codes
            received = scheme.received(events)
            for state, chosen in ((scheme.features, None), (scheme.truth, received.genuine)):
                if state is None:
                    continue
                state.advance(sim.time(day))
                records = received if chosen is None else received.take(np.flatnonzero(chosen))
                for time in np.unique(records.time):  # late records carry their own, earlier date
                    at = np.flatnonzero(records.time == time)
                    state.add(float(time), records.subject[at], records.kind[at], records.value[at],
                              ids=records.id[at])
            if scheme.is_update_day(day, sim.days):  # on each scheme's own cadence
                scheme.rescore(sim.graph)
                scheme.scored_day = day
                if scheme.initial_tier is None:
                    assert scheme.scores is not None
                    scheme.initial_tier = scheme.scores.tier.copy()
