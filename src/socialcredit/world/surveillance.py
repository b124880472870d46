"""Surveillance: which acts are recorded, by which source, attributed to whom, and when.

Each source records each act of the kinds it observes with chance `coverage` (by district where
`district_coverage` says so), independently of the others; an act recorded by several sources is
kept once, credited to the first of them in the scenario's order. Then, for that source:

- an identification profile (cameras) loses the act with its miss rate, or attributes it to
  another person of the same district with its false-match rate, raised for the affected groups
  and for women, the wrongly matched person drawn with the same weights (see identification.py);
- a record error rate (banks, courts) attaches the record to another person of the district;
- a reporting delay holds the record back; it reaches the scheme `delay_days` later, dated when
  the act happened.

Truth is kept beside observation: every record knows who really acted and whether it is genuine.
"""

from __future__ import annotations

import numba
import numpy as np

from ..sim.events import DayEvents
from ..sim.model import Sim
from ..sim.rng import generator
from .identification import load_profile


@numba.njit(cache=True, nogil=True)
def first_recorder(uniforms: np.ndarray, coverage: np.ndarray, district: np.ndarray,
                   kind: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Per act, the first source s whose draw uniforms[s, act] falls below its coverage of the
    act's district and kind (-1: none records it): what comparing all the draws, then `any` and
    `argmax` over the sources give, in one pass without a sources x acts array of chances."""
    acts = uniforms.shape[1]
    first = np.full(acts, -1, dtype=np.int16)
    for act in range(acts):
        for source in range(uniforms.shape[0]):
            if uniforms[source, act] < coverage[source, district[act], kind[act]]:
                first[act] = source
                break
    return first


class Surveillance:
    name = "surveillance"

    def __init__(self, sim: Sim):
        people = sim.people
        self.specs = list(sim.scenario.surveillance.values())
        kinds, districts = len(sim.scheme.events), sim.scenario.population.districts
        # coverage[s, district, kind]: chance that source s records an act of that kind in that district
        self.coverage = np.zeros((len(self.specs), districts, kinds))
        for index, spec in enumerate(self.specs):
            for kind in spec.observes:
                self.coverage[index, :, sim.codes[kind]] = spec.coverage
                for district, coverage in spec.district_coverage.items():
                    self.coverage[index, district, sim.codes[kind]] = coverage
        # People are sorted by district: each district is one contiguous run of ids.
        self.district_start = np.searchsorted(people.district, np.arange(districts), side="left")
        self.district_end = np.searchsorted(people.district, np.arange(districts), side="right")
        self.profiles = [load_profile(spec.identification) if spec.identification else None for spec in self.specs]
        self.false_match_weight: list[np.ndarray | None] = []
        for spec, profile in zip(self.specs, self.profiles, strict=True):
            if profile is None:
                self.false_match_weight.append(None)
                continue
            affected = np.isin(people.group, [people.group_names.index(g) for g in spec.affected_groups])
            self.false_match_weight.append(profile.false_match_multiplier(affected, people.female))
        # Cumulative weights, for drawing a wrongly matched person within a district in one search.
        self.cumulative = [None if w is None else np.cumsum(w) for w in self.false_match_weight]
        self.delays = np.array([spec.delay_days for spec in self.specs], dtype=np.int64)
        # Per source: acts recorded, lost to a miss, blamed on someone else (and the expected number).
        names = list(sim.scenario.surveillance)
        self.tally = {name: {"recorded": 0, "missed": 0, "false_matches": 0, "expected_false_matches": 0.0,
                             "record_errors": 0} for name in names}
        self.names = names
        sim.surveillance = self

    def start_reporting(self, sim: Sim) -> None:
        self.tally = {name: {key: type(value)(0) for key, value in tally.items()} for name, tally in self.tally.items()}

    def _someone_else(self, actor: np.ndarray, cumulative: np.ndarray | None, rng: np.random.Generator,
                      district: np.ndarray) -> np.ndarray:
        """A person of the actor's district other than the actor, drawn in proportion to weight
        (`cumulative`: the running sum of weights over ids; None: everyone weighs 1)."""
        start, end = self.district_start[district], self.district_end[district]
        if cumulative is None:  # the running sum of ones is id + 1: the search is a floor
            low, high = start.astype(np.float64), end.astype(np.float64)
            chosen = np.floor(low + rng.random(actor.size) * (high - low)).astype(np.int64)
        else:
            low = np.where(start > 0, cumulative[np.maximum(start - 1, 0)], 0.0)
            high = cumulative[end - 1]
            chosen = np.searchsorted(cumulative, low + rng.random(actor.size) * (high - low), side="right")
        chosen = np.minimum(chosen, end - 1)
        same = chosen == actor  # never the actor: the next person of the district instead
        chosen[same] = np.where(chosen[same] + 1 < end[same], chosen[same] + 1, start[same])
        return chosen.astype(np.int64)

    def step(self, sim: Sim, day: int) -> None:
        events = sim.true_events
        due = sim.pending.pop(day, [])
        if not len(events) or not self.specs:
            sim.observed_events = DayEvents.concat(due)
            return
        rng = generator(sim.seed, "surveillance", day)
        district = sim.people.district[events.actor]
        first = first_recorder(rng.random((len(self.specs), len(events))), self.coverage, district, events.kind)
        seen = first >= 0
        records = events.take(np.flatnonzero(seen))
        records.source = first[seen]
        records.id = sim.new_event_ids(len(records))
        keep = np.ones(len(records), dtype=bool)
        for index, spec in enumerate(self.specs):
            mine = np.flatnonzero(records.source == index)
            if not mine.size:
                continue
            actors = records.actor[mine]
            tally = self.tally[self.names[index]]
            tally["recorded"] += int(mine.size)
            profile = self.profiles[index]
            if profile is not None:
                draw = rng.random(mine.size)
                weight = self.false_match_weight[index]
                assert weight is not None and self.cumulative[index] is not None
                missed = draw < profile.miss_rate
                wrong = ~missed & (draw < profile.miss_rate + profile.fpir * weight[actors])
                keep[mine[missed]] = False
                tally["missed"] += int(missed.sum())
                tally["false_matches"] += int(wrong.sum())
                tally["expected_false_matches"] += float(np.minimum(profile.fpir * weight[actors],
                                                                    1 - profile.miss_rate).sum())
                if wrong.any():
                    wrong_ids = mine[wrong]
                    records.subject[wrong_ids] = self._someone_else(actors[wrong], self.cumulative[index], rng,
                                                                    sim.people.district[actors[wrong]])
                    records.genuine[wrong_ids] = False
            if spec.error_rate:
                mixed = mine[rng.random(mine.size) < spec.error_rate]
                mixed = mixed[keep[mixed] & records.genuine[mixed]]
                if mixed.size:
                    records.subject[mixed] = self._someone_else(records.actor[mixed], None, rng,
                                                                sim.people.district[records.actor[mixed]])
                    records.genuine[mixed] = False
                    tally["record_errors"] += int(mixed.size)
        if not keep.all():  # (a copy of the day's records only where some were missed)
            records = records.take(np.flatnonzero(keep))
        delay = self.delays[records.source]
        late = delay > 0
        for lag in np.unique(delay[late]):
            sim.pending.setdefault(day + int(lag), []).append(records.take(np.flatnonzero(delay == lag)))
        on_time = records.take(np.flatnonzero(~late)) if late.any() else records
        sim.observed_events = DayEvents.concat([*due, on_time]) if due else on_time
