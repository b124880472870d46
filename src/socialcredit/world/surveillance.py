"""Surveillance: which acts are recorded, by which source, attributed to whom, and when.

Each source records each act of the kinds it observes with chance `coverage` (by district where
`district_coverage` says so), independently of the others; an act recorded by several sources is
kept once, credited to the first of them in the scenario's order. Then, for that source:

- an identification profile (cameras) loses the act with its miss rate, or attributes it to
  another person of the same district with its false-match rate, raised for an actor of the
  affected groups and for women; the wrongly matched person shares the actor's sex and group (see
  identification.py: each demographic effect applied once, where one-to-many search puts it);
- a record error rate (banks, courts) attaches the record to another person of the district;
- a reporting delay holds the record back; it reaches the scheme `delay_days` later, dated when
  the act happened.

Truth is kept beside observation: every record knows who really acted and whether it is genuine.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..population.people import People
from ..scenario.identification import load_profile
from ..scenario.streams import KeyedDraws, keyed_uniform
from ..sim.events import DayEvents
from ..sim.model import Sim
from ..sim.module import Module, ReportRow
from ..undefined import put

# The purposes of the draws about one act (with the source, each a stream of its own).
RECORDED, IDENTIFIED, LOOKALIKE, SAME_DEMOGRAPHICS, ANYONE, MIXED_UP, MIXED_WITH = range(7)


class ActDraws:
    """The draws about today's acts (`actor`, `kind`), each keyed by who acted, the kind and the
    day (at most one act of a kind a day), the purpose and the source. A person's draws do not
    depend on anyone else's acts, so in a paired twin where some people act otherwise (spared a
    false record, say) everyone else's acts are recorded, missed and misattributed alike."""

    def __init__(self, seed: int, day: int, actor: np.ndarray, kind: np.ndarray):
        self.seed, self.day, self.actor, self.kind = seed, day, actor, kind

    def stream(self, purpose: int, source: int) -> KeyedDraws:
        return KeyedDraws(self.seed, "surveillance", self.day, purpose, source)

    def __call__(self, purpose: int, source: int, acts: np.ndarray | None = None) -> np.ndarray:
        """A uniform per act (of those `acts` indexes, else all) for `purpose` at `source`."""
        stream = self.stream(purpose, source)
        if acts is None:
            return stream.uniforms(self.actor, self.kind)
        return stream.uniforms(self.actor[acts], self.kind[acts])


@numba.njit(cache=True, nogil=True)
def first_recorder(bases: np.ndarray, actor: np.ndarray, kind: np.ndarray, coverage: np.ndarray,
                   district: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Per act, the first source s whose draw (keyed_uniform(bases[s], actor, kind): `ActDraws`'
    RECORDED draw) falls below its coverage of the act's district and kind (-1: none records it):
    what comparing all the draws, then `any` and `argmax` over the sources give, in one pass. A
    draw is made only where it can decide (a coverage strictly between 0 and 1)."""
    acts = actor.shape[0]
    first = np.full(acts, -1, dtype=np.int16)
    for act in range(acts):
        for source in range(bases.shape[0]):
            chance = coverage[source, district[act], kind[act]]
            if chance <= 0.0:
                continue
            if chance >= 1.0 or keyed_uniform(bases[source], actor[act], np.int64(kind[act])) < chance:
                first[act] = source
                break
    return first


class Lookalikes:
    """The people of each (district, group, sex), for drawing the false candidate of a probe: ids
    ordered by that stratum, and each stratum's range in that order."""

    def __init__(self, district: np.ndarray, group: np.ndarray, female: np.ndarray, districts: int, groups: int):
        self.groups = groups
        stratum = self.stratum(district, group, female)
        self.order = np.argsort(stratum, kind="stable").astype(np.int32 if stratum.size < 2**31 else np.int64)
        counts = np.bincount(stratum, minlength=districts * groups * 2)
        self.end = np.cumsum(counts)
        self.start = self.end - counts

    def stratum(self, district: np.ndarray, group: np.ndarray, female: np.ndarray) -> np.ndarray:
        return (district.astype(np.int64) * self.groups + group) * 2 + female

    def size(self, stratum: np.ndarray) -> np.ndarray:
        return self.end[stratum] - self.start[stratum]

    def other(self, actor: np.ndarray, stratum: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        """For each actor, another person of their stratum, each equally likely (-1 where the actor is
        alone in it): a slot among the first size - 1 of the stratum, the actor's own slot standing
        for the last one."""
        start, size = self.start[stratum], self.size(stratum)
        others = size - 1
        slot = start + np.minimum(np.floor(uniforms * others).astype(np.int64), np.maximum(others - 1, 0))
        chosen = self.order[slot].astype(np.int64)
        chosen = np.where(chosen == actor, self.order[start + size - 1], chosen)
        return np.where(others > 0, chosen, -1)


class Surveillance(Module):
    name = "surveillance"
    params = ("surveillance", "population")
    state_fields = ("tally", "by_group")

    def __init__(self, sim: Sim):
        people = sim.people
        self.specs = list(sim.scenario.surveillance.values())
        kinds, districts = len(sim.kinds), sim.scenario.population.districts
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
        groups = len(people.group_names)
        # probe_factor[s][group, female]: the factor on the FPIR of source s for a probe of that actor
        self.probe_factor: list[np.ndarray | None] = []
        for spec, profile in zip(self.specs, self.profiles, strict=True):
            affected = np.isin(np.arange(groups), [people.group_names.index(g) for g in spec.affected_groups])
            self.probe_factor.append(None if profile is None else profile.false_match_multiplier(
                affected[:, None], np.array([[False, True]])))
        self.lookalikes = None if all(p is None for p in self.profiles) else Lookalikes(
            people.district, people.group, people.female, districts, groups)
        # people[district, group]: for the false matches expected to blame anyone of the district
        self.people_by_district = np.bincount(people.district.astype(np.int64) * groups + people.group,
                                              minlength=districts * groups).reshape(districts, groups)
        self.group_share = np.bincount(people.group, minlength=groups) / max(len(people), 1)
        self.delays = np.array([spec.delay_days for spec in self.specs], dtype=np.int64)
        # Per source: acts recorded, lost to a miss, blamed on someone else (and the expected number).
        names = list(sim.scenario.surveillance)
        self.tally = {name: {"recorded": 0, "missed": 0, "false_matches": 0, "expected_false_matches": 0.0,
                             "record_errors": 0} for name in names}
        self.names = names
        # Per source and actor's group: acts recorded, false matches of their probes (measured, expected);
        # per blamed person's group: false matches (measured, expected).
        self.by_group = {name: {key: np.zeros(groups) for key in ("recorded", "probes", "expected_probes", "blamed",
                                                                  "expected_blamed")} for name in names}
        self.group_names = people.group_names

    def start_reporting(self, sim: Sim) -> None:
        self.tally = {name: {key: type(value)(0) for key, value in tally.items()} for name, tally in self.tally.items()}
        for counts in self.by_group.values():
            for values in counts.values():
                values[:] = 0.0

    def _someone_else(self, actor: np.ndarray, uniforms: np.ndarray, district: np.ndarray) -> np.ndarray:
        """A person of the actor's district other than the actor, everyone equally likely (one
        uniform per actor)."""
        start, end = self.district_start[district], self.district_end[district]
        low, high = start.astype(np.float64), end.astype(np.float64)
        chosen = np.floor(low + uniforms * (high - low)).astype(np.int64)
        chosen = np.minimum(chosen, end - 1)
        same = chosen == actor  # never the actor: the next person of the district instead
        chosen[same] = np.where(chosen[same] + 1 < end[same], chosen[same] + 1, start[same])
        return chosen.astype(np.int64)

    def _false_candidates(self, people: People, same_share: float, draws: ActDraws, source: int,
                          acts: np.ndarray) -> np.ndarray:
        """Whom each falsely matched probe (today's `acts` recorded by `source`) blames: with chance
        `same_share` a person of the actor's district, sex and group, else (or where the actor is
        alone in that stratum) anyone of the district."""
        assert self.lookalikes is not None
        actor = draws.actor[acts]
        stratum = self.lookalikes.stratum(people.district[actor], people.group[actor], people.female[actor])
        chosen = self.lookalikes.other(actor, stratum, draws(LOOKALIKE, source, acts))
        if same_share < 1:
            chosen[draws(SAME_DEMOGRAPHICS, source, acts) >= same_share] = -1
        anyone = chosen < 0
        if anyone.any():
            chosen[anyone] = self._someone_else(actor[anyone], draws(ANYONE, source, acts[anyone]),
                                                people.district[actor[anyone]])
        return chosen

    def _expect(self, tally: dict[str, np.ndarray], people: People, actors: np.ndarray, chance: np.ndarray,
                same_share: float) -> None:
        """Add to the expected false matches by the actor's group and by the blamed person's group."""
        assert self.lookalikes is not None
        groups = len(self.group_names)
        group, district = people.group[actors], people.district[actors]
        tally["expected_probes"] += np.bincount(group, weights=chance, minlength=groups)
        alone = self.lookalikes.size(self.lookalikes.stratum(district, group, people.female[actors])) < 2
        same = np.where(alone, 0.0, same_share) * chance
        tally["expected_blamed"] += np.bincount(group, weights=same, minlength=groups)
        # the rest: anyone of the district but the actor
        others = self.district_end[district] - self.district_start[district] - 1
        rest = np.where(others > 0, (chance - same) / np.maximum(others, 1), 0.0)
        districts = self.people_by_district.shape[0]
        tally["expected_blamed"] += np.bincount(district, weights=rest, minlength=districts) @ self.people_by_district
        tally["expected_blamed"] -= np.bincount(group, weights=rest, minlength=groups)

    def source_figures(self) -> dict[str, dict[str, Any]]:
        """Per source, its counts and, per group, the group's share of the people and of the acts the
        source recorded; for an identification source also its share of the false matches, as the
        actor whose probe went wrong and as the person blamed, measured and as the model expects
        (None where there were none)."""
        def shares(counts: np.ndarray) -> list[float | None]:
            total = counts.sum()
            return [float(c / total) if total > 0 else None for c in counts]

        figures: dict[str, dict[str, Any]] = {}
        for index, name in enumerate(self.names):
            by_group = self.by_group[name]
            columns: dict[str, list[Any]] = {
                "people_share": [float(x) for x in self.group_share],
                "recorded": [int(x) for x in by_group["recorded"]], "recorded_share": shares(by_group["recorded"])}
            if self.profiles[index] is not None:
                columns |= {
                    "false_match_probes": [int(x) for x in by_group["probes"]],
                    "probe_share": shares(by_group["probes"]),
                    "expected_probe_share": shares(by_group["expected_probes"]),
                    "blamed": [int(x) for x in by_group["blamed"]], "blamed_share": shares(by_group["blamed"]),
                    "expected_blamed_share": shares(by_group["expected_blamed"])}
            groups: dict[str, Any] = {}
            for g, group in enumerate(self.group_names):
                record: dict[str, Any] = {}
                for key, values in columns.items():
                    put(record, key, values[g], "no false matches" if "probe" in key or "blamed" in key
                        else "nothing recorded")
                groups[group] = record
            figures[name] = {**self.tally[name], "groups": groups}
        return figures

    def step(self, sim: Sim, day: int) -> None:
        events = sim.true_events
        due = sim.pending.pop(day, [])
        if not len(events) or not self.specs:
            sim.observed_events = DayEvents.concat(due)
            return
        # Every draw is keyed by the act (who, which kind, today: at most one act of a kind a day) and
        # its purpose, never by its place among the day's acts: see `act_draws`.
        draws = ActDraws(sim.seed, day, events.actor, events.kind)
        district = sim.people.district[events.actor]
        bases = np.array([draws.stream(RECORDED, index).base for index in range(len(self.specs))], dtype=np.uint64)
        first = first_recorder(bases, events.actor, events.kind, self.coverage, district)
        seen = np.flatnonzero(first >= 0)
        records = events.take(seen)
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
            by_group = self.by_group[self.names[index]]
            by_group["recorded"] += np.bincount(sim.people.group[actors], minlength=len(self.group_names))
            profile = self.profiles[index]
            act = seen[mine]  # the acts recorded by this source, as indices into today's acts
            if profile is not None:
                draw = draws(IDENTIFIED, index, act)
                factor = self.probe_factor[index]
                assert factor is not None
                fpir = profile.fpir * factor[sim.people.group[actors], sim.people.female[actors].astype(np.int64)]
                missed = draw < profile.miss_rate
                wrong = ~missed & (draw < profile.miss_rate + fpir)
                keep[mine[missed]] = False
                tally["missed"] += int(missed.sum())
                tally["false_matches"] += int(wrong.sum())
                chance = np.minimum(fpir, 1 - profile.miss_rate)
                tally["expected_false_matches"] += float(chance.sum())
                self._expect(by_group, sim.people, actors, chance, profile.same_demographics_candidate)
                if wrong.any():
                    wrong_ids = mine[wrong]
                    blamed = self._false_candidates(sim.people, profile.same_demographics_candidate, draws, index,
                                                    act[wrong])
                    records.subject[wrong_ids] = blamed
                    records.genuine[wrong_ids] = False
                    groups = len(self.group_names)
                    by_group["probes"] += np.bincount(sim.people.group[actors[wrong]], minlength=groups)
                    by_group["blamed"] += np.bincount(sim.people.group[blamed], minlength=groups)
            if spec.error_rate:
                erred = draws(MIXED_UP, index, act) < spec.error_rate
                mixed = mine[erred]
                kept = keep[mixed] & records.genuine[mixed]
                mixed = mixed[kept]
                if mixed.size:
                    someone = draws(MIXED_WITH, index, act[erred][kept])
                    records.subject[mixed] = self._someone_else(records.actor[mixed], someone,
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

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        summary["harms"]["sources"] = self.source_figures()

    def report_rows(self, summary: dict[str, Any], groups: list[str]) -> list[ReportRow]:
        rows: list[ReportRow] = []
        for source, tally in summary["harms"]["sources"].items():
            if tally["false_matches"]:  # an identification source: who its false matches came from and fell on
                shares = "; ".join(f"{g} {f['people_share']:.1%} of people, {f['recorded_share']:.1%} of acts "
                                   f"recorded, {f['probe_share']:.1%} of false matches as actor, "
                                   f"{f['blamed_share']:.1%} as blamed (model: {f['expected_blamed_share']:.1%})"
                                   for g, f in tally["groups"].items())
                rows.append((f"false matches of '{source}' by group", f"{tally['false_matches']:,}", shares))
        return rows
