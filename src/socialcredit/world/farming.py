"""Points farming (issue 20, "Gaming and approval seeking"): acts a scheme rewards done for the
points. A reward already raises the rate of an act (`world/behaviour.py`: up to tenfold); farming
adds acts that are recorded but not genuine: done for the record, not for their own sake.

Per farmed kind, a person's farmed acts a day come at

    gaming.farming.<kind>.propensity x phi x group_factor x (rate under the scheme - rate without its weight)

`phi` is their personal farming propensity (gamma, mean 1, variance `heterogeneity`, drawn once);
the last factor is the extra acts the scheme's reward causes them (`Behaviour.reward_gain`), 0 where
the scheme does not reward the act, so farming rises with the reward and stops with it. A farmed
act is done to be recorded: it is recorded, the day it is done, by the first source (in the
scenario's order) that observes the kind, attributed to the one who did it, and it reaches the
schemes that receive that source. It is a true record of an act done (not a false record), so it
is not among `true.<kind>` (what people do of their own accord) but is among `observed.<kind>`.

What farming gains people is measured against the same scheme scoring every record but the farmed
ones (a shadow feature state per scheme, fed each day), at the end: the points farmed records give
each person, and their share of the points of the components that read a farmed kind.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.who import by_quintile_and_group, quintile_of
from ..parallel import parallel_map
from ..scenario.streams import KeyedDraws, PersonStreams
from ..scheme import Scheme
from ..scoring.core import score_slices, slices
from ..scoring.incremental import IncrementalFeatures
from ..sim.events import DayEvents
from ..sim.model import Sim
from ..sim.module import Module
from ..undefined import put
from .behaviour import BLOCK, MAX_RATE, Behaviour, act_values, block_bounds


def kinds_read(scheme: Scheme, feature: str) -> set[str]:
    """The event kinds a feature reads, through ratios."""
    spec = scheme.features[feature]
    if spec.ratio is not None:
        return set().union(*(kinds_read(scheme, name) for name in spec.ratio))
    return {spec.event} if spec.event is not None else set()


class Farmed:
    """One farmed kind: its behaviour's index, who farms how much, the source that records it, and
    today's farmed rates (float32, made again when the behaviour's rate of the kind is)."""

    def __init__(self, sim: Sim, kind: str, index: int, number: int):
        spec = sim.scenario.gaming.farming[kind]
        self.kind, self.index, self.number = kind, index, number
        h = spec.heterogeneity
        phi = (np.ones(sim.n) if h == 0 else PersonStreams(sim.seed, "farming", -1, sim.n, sim.chunk, part=number)
               .draw(lambda g, size: g.gamma(1 / h, h, size)))
        factors = np.array([spec.group_factor.get(g, 1.0) for g in sim.people.group_names])
        self.weight = (spec.propensity * phi * factors[sim.people.group]).astype(np.float64)
        self.source = next(i for i, s in enumerate(sim.scenario.surveillance.values()) if kind in s.observes)
        self.rate = np.zeros(sim.n, dtype=np.float32)
        self.bound: np.ndarray | None = None
        self.inputs: tuple | None = None
        self.records = np.zeros(sim.n, dtype=np.int32)  # farmed records per person (reported days)


class Farming(Module):
    name = "farming"
    params = ("gaming",)
    state_fields = ("farmed", "shadows", "gained", "shares")

    def __init__(self, sim: Sim):
        farming = sim.scenario.gaming.farming
        behaviour = sim.module(Behaviour)
        self.farmed: list[Farmed] = []
        self.shadows: dict[int, IncrementalFeatures] = {}
        self.gained: dict[int, np.ndarray] = {}
        self.shares: dict[int, float | None] = {}
        if not farming or behaviour is None:
            return
        self.behaviour = behaviour
        self.farmed = [Farmed(sim, kind, behaviour.kinds.index(kind), number)
                       for number, kind in enumerate(sorted(farming))]
        first_time = sim.start_time - sim.burn_in
        for state in sim.schemes:  # a scheme that declares a farmed kind: its scores without the farmed records
            if any(f.kind in state.scheme.events for f in self.farmed):
                self.shadows[state.index] = IncrementalFeatures(state.scheme, sim.n, start=first_time)

    def start_reporting(self, sim: Sim) -> None:
        for farmed in self.farmed:
            farmed.records[:] = 0

    def step(self, sim: Sim, day: int) -> None:
        if not self.farmed:
            return
        others = sim.observed_events  # every record of the day but the farmed ones
        parts = [self._farm(sim, farmed, day) for farmed in self.farmed]
        for farmed, part in zip(self.farmed, parts, strict=True):
            if day >= 0:
                np.add.at(farmed.records, part.subject, np.int32(1))
        sim.observed_events = DayEvents.concat([others, *parts])
        for state in sim.schemes:
            shadow = self.shadows.get(state.index)
            if shadow is None:
                continue
            shadow.advance(sim.time(day))
            records = state.received(others)
            for time in np.unique(records.time):  # as ScoreKeeping adds them: late records at their own date
                at = np.flatnonzero(records.time == time)
                shadow.add(float(time), records.subject[at], records.kind[at], records.value[at], ids=records.id[at])

    def _farm(self, sim: Sim, farmed: Farmed, day: int) -> DayEvents:
        """Today's farmed records of one kind: who farms (a Poisson process of their farmed rate, at
        most one a day, drawn as behaviour draws acts), with values drawn as the act's are."""
        behaviour, index = self.behaviour, farmed.index
        inputs = behaviour.chance_inputs[index]
        if farmed.bound is None or inputs != farmed.inputs:
            denied = sim.denied if behaviour.gated[index] else None

            def remake(part: slice) -> None:
                gain = behaviour.reward_gain(sim, index, part, denied)
                farmed.rate[part] = np.minimum(farmed.weight[part] * gain, MAX_RATE)

            parallel_map(remake, slices(sim.n))
            farmed.bound = block_bounds(farmed.rate, BLOCK)
            farmed.inputs = inputs
        who = Behaviour.acts(KeyedDraws(sim.seed, "farming", day, farmed.number), farmed.rate, farmed.bound)
        value = act_values(KeyedDraws(sim.seed, "farming_values", day, farmed.number), who,
                           behaviour.specs[index].value)
        events = DayEvents.acts(who, int(behaviour.codes[index]), sim.time(day), value)
        events.source[:] = farmed.source
        events.id = sim.new_event_ids(who.size)
        return events

    def finish(self, sim: Sim) -> None:
        """Each scheme's final scores without the farmed records: the points farming gained each
        person, and the farmed records' share of the points of the components reading a farmed kind."""
        kinds = {f.kind for f in self.farmed}
        for state in sim.schemes:
            shadow = self.shadows.get(state.index)
            if shadow is None or state.scores is None:
                continue
            relations = sim.graph if state.scheme.network is not None else None
            # (scored at once, so each loop's own state: the bound methods read a slice's features)
            # The input lists (other bodies' lists) as the final scoring read them: farming is measured
            # on this scheme's own records, the lists it imports held as they were.
            inputs = state.scores.inputs
            honest = score_slices(state.scheme, shadow.features, sim.n, relations, detail=True, inputs=inputs)
            full = score_slices(state.scheme, state.features.features, sim.n, network_term=state.scores.network_term,
                                detail=True, inputs=inputs)
            self.gained[state.index] = np.nan_to_num(state.scores.score - honest.score)
            rewarding = [name for name, c in state.scheme.components.items()
                         if kinds_read(state.scheme, c.feature) & kinds]
            total = sum(float(full.components[name].sum()) for name in rewarding)
            farmed = total - sum(float(honest.components[name].sum()) for name in rewarding)
            self.shares[state.index] = farmed / total if total else None

    def _farmed_records(self) -> np.ndarray:
        return np.sum([f.records for f in self.farmed], axis=0)

    def people_columns(self, sim: Sim, part: slice) -> dict[str, np.ndarray]:
        columns = {f"farmed.{f.kind}": f.records[part] for f in self.farmed}
        for state in sim.schemes:
            if state.index in self.gained:
                columns[f"{state.prefix}points_from_farming"] = self.gained[state.index][part]
        return columns

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        """summary.json's `gaming.farming`: farmed records by kind, who farms, and the points farming
        gained (per scheme with several), overall, by income quintile (at the start) and by group."""
        if not self.farmed:
            return
        people = sim.people
        groups = people.group_names
        sizes = dict(zip(groups, np.bincount(people.group, minlength=len(groups)).tolist(), strict=True))
        quintile = quintile_of(people.income_initial)
        records = self._farmed_records()
        farms = records > 0
        years = sim.n * sim.days / 365
        kinds: dict[str, Any] = {}
        for f in self.farmed:
            recorded = float(sim.observed_counts[sim.codes[f.kind]].sum(dtype=np.int64))
            figure = kinds[f.kind] = {"farmed_per_person_year": float(f.records.sum() / years),
                                      "recorded_per_person_year": recorded / years}
            put(figure, "farmed_share_of_records", float(f.records.sum()) / recorded if recorded else None,
                f"no '{f.kind}' was recorded")
        farmers: dict[str, Any] = {"share": float(farms.mean())}
        by_quintile_and_group(farmers, farms.astype(np.float64), quintile, people.group, groups, sizes)
        section: dict[str, Any] = {"kinds": kinds, "farmers": farmers}
        gains: dict[str, Any] = {}
        for state in sim.schemes:
            if state.index not in self.gained:
                continue
            gained = self.gained[state.index]
            figure = gains[state.name] = {"mean": float(gained.mean())}
            put(figure, "farmers_mean", float(gained[farms].mean()) if farms.any() else None, "no one farmed")
            put(figure, "share_of_points", self.shares[state.index],
                "the components that read a farmed kind gave no points")
            by_quintile_and_group(figure, gained, quintile, people.group, groups, sizes)
        if sim.several:
            section["points_gained"] = gains
        elif gains:
            section["points_gained"] = next(iter(gains.values()))
        summary.setdefault("gaming", {})["farming"] = section  # its report section: runner/gaming_report.py
