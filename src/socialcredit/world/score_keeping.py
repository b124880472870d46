"""Score keeping in the loop: each scheme's incremental feature state takes today's records that
reach it; its scores, tiers, lists and entitlements are recomputed by the one scoring core on its
own cadence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..sim.events import DayEvents
from ..sim.model import Sim
from ..sim.module import Module, ReportRow
from ..sim.schemes import SchemeState


def by_time(events: DayEvents) -> Iterator[tuple[float, DayEvents]]:
    """The records of each time among `events` (in increasing time, each in their order): `events`
    itself where all are of one time, as on a day without late records (no copies then)."""
    times = events.time
    if not len(events):
        return
    if times[0] == times[-1] and (times == times[0]).all():
        yield float(times[0]), events
        return
    for time in np.unique(times):
        yield float(time), events.take(np.flatnonzero(times == time))


class ScoreKeeping(Module):
    name = "scoring"
    state_fields = ("flows", "false_flows")

    def __init__(self, sim: Sim):
        # With several schemes: per scheme and source, the records that reached the scheme from day 0
        # on (of the kinds it declares), and how many of them were false: the flow of records.
        sources = max(len(sim.scenario.surveillance), 1)
        self.flows = np.zeros((len(sim.schemes) if sim.several else 0, sources), dtype=np.int64)
        self.false_flows = np.zeros_like(self.flows)

    def start_reporting(self, sim: Sim) -> None:
        self.flows[...] = 0
        self.false_flows[...] = 0

    def step(self, sim: Sim, day: int) -> None:
        events = sim.observed_events
        if sim.spared is not None:  # a twin of amplification: what the spared people's false records did
            spared = sim.spare(events)
            if len(spared) < len(events):
                sim.spared_records += len(events) - len(spared)
                sim.spared_touched[events.subject[~events.genuine & sim.spared[events.subject]]] = True
            # taken out after the schemes' draws of what reaches them, so those draws stay the run's
            events_counted = spared
        else:
            events_counted = events
        # The reported tallies count records of acts done from day 0, as the true counts do: a record of
        # a burn-in act that arrives after day 0 (a reporting delay) is in the scores, not the tallies.
        counted = events_counted if not sim.burn_in or day < 0 else \
            events_counted.take(np.flatnonzero(events_counted.time >= sim.start_time))
        if len(counted):
            sim.count_records(counted)
        false = ~counted.genuine
        if false.any():
            np.add.at(sim.false_record_counts, counted.subject[false], np.int32(1))  # see Sim.count_events
        # Each scheme takes the records that reach it, in its own kind codes; a scheme scores after
        # those whose lists it imports (`sim.scoring_order`), so it reads today's lists of theirs.
        for scheme in sim.scoring_order:
            scheme.today = scheme.arrivals(events, day, sim.seed)
            if sim.spared is not None:
                scheme.today = sim.spare(scheme.today)
            if scheme.arrived is not None and len(scheme.today):
                scheme.arrived.append(scheme.today)
            if sim.several and len(scheme.today) and not scheme.today.genuine.all():  # where false records go
                # only those of a source it receives and a kind it declares reached it (world kind codes)
                false = ~scheme.today.genuine & scheme.reaches(scheme.today)
                if false.any():
                    scheme.false_arrivals.append((day, scheme.today.take(np.flatnonzero(false))))
            received = scheme.received(scheme.today)
            if sim.several and day >= 0 and len(received):
                sources = self.flows.shape[1]
                self.flows[scheme.index] += np.bincount(received.source, minlength=sources)
                self.false_flows[scheme.index] += np.bincount(received.source[~received.genuine], minlength=sources)
            if scheme.scored_as is None:  # (a shared state has taken these records)
                self.take(scheme, received, sim.time(day))
            if scheme.is_update_day(day, sim.days):  # on each scheme's own cadence
                scheme.rescore(sim.graph)
                scheme.scored_day = day
                if scheme.initial_tier is None:
                    assert scheme.scores is not None
                    scheme.initial_tier = scheme.scores.tier.copy()

    @staticmethod
    def take(scheme: SchemeState, received: DayEvents, now: float) -> None:
        """Today's records into the scheme's feature state, and the genuine ones into its truth, whose
        rows begin (as the records stand before today's) for the people a false record reaches today."""
        truth = scheme.truth
        if truth is None:
            scheme.features.advance(now)
        else:
            truth.advance(now)  # the recorded state too
            if len(received) and not received.genuine.all():
                truth.track(received.subject[~received.genuine])
        for time, part in by_time(received):  # late records carry their own, earlier date
            scheme.features.add(time, part.subject, part.kind, part.value, ids=part.id)
        if truth is not None and truth.size:  # the genuine records of those it holds rows for
            genuine = received.take(np.flatnonzero(received.genuine & (truth.row_of[received.subject] >= 0)))
            for time, part in by_time(genuine):
                truth.add(time, part.subject, part.kind, part.value)

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        """With several schemes, `combined.record_flows`: per source, the schemes its records reached
        (of the kinds each declares, from day 0 on), how many, how many false, and on what terms."""
        if not sim.several:
            return
        flows: dict[str, Any] = {}
        for code, source in enumerate(sim.scenario.surveillance):
            reached = {}
            for state in sim.schemes:
                if state.share is not None and state.share[code] == 0:
                    continue  # a source the scheme does not receive
                delay, coverage = next(((d, c) for s, d, c in state.terms if s == code), (0, 1.0))
                reached[state.name] = {"records": int(self.flows[state.index, code]),
                                       "false_records": int(self.false_flows[state.index, code]),
                                       "delay_days": delay, "coverage": coverage}
            flows[source] = reached
        summary["combined"]["record_flows"] = flows

    def report_rows(self, summary: dict[str, Any], groups: list[str]) -> list[ReportRow]:
        """A row per source whose records reach more than one scheme: where they went, on what terms."""
        rows: list[ReportRow] = []
        for source, reached in summary.get("combined", {}).get("record_flows", {}).items():
            if len(reached) < 2:
                continue
            def terms(flow: dict[str, Any]) -> str:
                late = f", {flow['delay_days']} days late" if flow["delay_days"] else ""
                part = f", {flow['coverage']:.0%} of them" if flow["coverage"] < 1 else ""
                return f"{flow['records']:,} ({flow['false_records']:,} false{late}{part})"
            rows.append((f"records of '{source}' shared between schemes", f"{len(reached)} schemes",
                         "; ".join(f"{name} {terms(flow)}" for name, flow in reached.items())))
        return rows
