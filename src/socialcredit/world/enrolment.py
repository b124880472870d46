"""Enrolment (issue 20): who a scheme scores. "Participation in this program is for the moment
voluntary. However, it is proposed that starting in 2020 it would be mandatory."

A scheme with an enrolment rule (`enrolment.<scheme>`, `scenario/enrolment.py`) receives the records
of the people it has enrolled only (`SchemeState.enrolled`, read by `SchemeState.received`); to those
it has not, its entitlements and lists do what its rule says (`unenrolled`): its own rules read them
as unscored (`scored` false; score, pre and tier NaN, as for the validity work's unscored subjects,
so that `score >= 600` denies and `not scored or ...` allows), every entitlement denied (bad
risks), or every one allowed (left alone); neither of the last two lists anyone. That is applied to
each of its scorings (`SchemeState.unenrolled`), and none of its stakes deters the unenrolled, whose
acts it never learns of (`behaviour.SchemeStake.recorded_chance`).

Voluntary: on each of the scheme's update days, after it scores, each person weighs what enrolling
changes for them, in the behaviour model's units (`behaviour.SANCTION_WEIGHT` a sanction, that
times the share of ties who see it for a disclosed list):

    gain = W x (entitlements allowed if enrolled - allowed if not)
           - W x share x (disclosed lists one is on if enrolled - if not) - reluctance

"if enrolled" is what the scheme would give them from all their records (the would-be scores: a
shadow feature state fed every record that reaches the scheme, whoever it is of, scored on the
scheme's cadence); "if not" is what its rule for the unenrolled gives them. An unenrolled person
joins with chance min(1, join_rate x phi x group_factor x gain / W) where gain > 0, an enrolled one
leaves with chance min(1, leave_rate x phi x group_factor x -gain / W) where gain < 0 (`phi`: a
personal propensity, gamma, mean 1, drawn once). A change takes effect from the next day's records;
a leaver's records are kept until they age out, or dropped at once (`retention`). From
`mandatory_from_day` everyone is enrolled and no one leaves.

Unravelling: where the unenrolled are denied, those whose records would earn the perks gain by
joining and join first; those who would not gain nothing and stay out, so that the unenrolled are
ever more those with poor records, and a lender reading "not enrolled" as a bad risk is ever more
right: the figures follow enrolment by what each person would score (quintiles of the would-be
score) and the would-be score of those who stay out, at each update day."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.who import QUINTILES, quintile_of
from ..scenario.enrolment import EnrolmentSpec
from ..scenario.streams import PersonStreams
from ..scheme import Scheme
from ..scoring import Scores
from ..scoring.core import outcome_inputs, points_and_pre, score_slices
from ..scoring.incremental import IncrementalFeatures
from ..scoring.sparse import SparseFeatures
from ..sim.model import Sim
from ..sim.module import Module
from ..sim.schemes import SchemeState
from ..undefined import mean_where, put, put_by_group, put_each
from .behaviour import SANCTION_WEIGHT
from .consequences import disclosed_lists


def unscored_outcomes(scheme: Scheme, features: dict[str, np.ndarray], rows: np.ndarray,
                      inputs: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The lists and entitlements the scheme's rules give the subjects `rows` read as unscored:
    `scored` false, and `pre`, `score` and `tier` NaN (README, "Unscored"), their features and
    components as they are; `features` holds at least those the outcomes read, for every subject."""
    needed = outcome_inputs(scheme)
    chosen = {name: np.asarray(values)[rows] for name, values in features.items()}
    components, _ = points_and_pre(scheme, chosen, rows.size)
    env: dict[str, Any] = {name: value for name, value in {**chosen, **components}.items() if name in needed}
    nan = np.full(rows.size, np.nan)
    env.update({"pre": nan, "score": nan, "scored": np.zeros(rows.size, dtype=bool)})
    if scheme.tiers:
        env["tier"] = nan
    env.update({name: members[rows] for name, members in inputs.items()})
    lists: dict[str, np.ndarray] = {}
    for name in scheme.rules.list_order:
        lists[name] = env[name] = np.broadcast_to(scheme.rules.lists[name](env), (rows.size,)).astype(bool)
    entitlements = {name: np.broadcast_to(expression(env), (rows.size,)).astype(bool)
                    for name, expression in scheme.rules.entitlements.items()}
    return {name: lists[name] for name in scheme.lists}, entitlements


def without_score(scores: Scores, unenrolled: np.ndarray) -> None:
    """Mark the subjects `unenrolled` as a scheme's unscored: `Scores.scored` false, tier (and tier
    cap) -1, so that no output gives their score, pre or tier and the figures of scores and tiers
    are of the scored. The scheme has none of their records: the points their `score` and `pre`
    hold are what no records (or a leaver's kept ones) come to, never reported."""
    scores.unenrolled = unenrolled
    scores.tier = np.where(unenrolled, np.int16(-1), scores.tier).astype(np.int16)
    scores.tier_cap = np.where(unenrolled, np.int16(-1), scores.tier_cap).astype(np.int16)


class SchemeEnrolment:
    """One scheme's enrolment: who is enrolled, each person's propensity, the would-be scores, and
    a snapshot of enrolment at each of the scheme's update days from day 0."""

    def __init__(self, sim: Sim, state: SchemeState, spec: EnrolmentSpec, number: int):
        self.state, self.spec, self.number = state, spec, number
        n = sim.n
        h = spec.heterogeneity
        phi = (np.ones(n) if h == 0 else PersonStreams(sim.seed, "enrolment_setup", -1, n, sim.chunk,
                                                       part=2 * number).draw(lambda g, size: g.gamma(1 / h, h, size)))
        factors = np.array([spec.group_factor.get(g, 1.0) for g in sim.people.group_names])
        self.propensity = phi * factors[sim.people.group]
        self.mandatory = spec.rule == "mandatory" and spec.mandatory_from_day == 0
        if spec.rule == "voluntary":
            draws = PersonStreams(sim.seed, "enrolment_setup", -1, n, sim.chunk, part=2 * number + 1) \
                .draw(lambda g, size: g.random(size))
            self.enrolled = draws < spec.enrolled_at_start
        else:
            self.enrolled = np.full(n, self.mandatory)
        if spec.mandatory_from_day == 0:
            self.enrolled[:] = self.mandatory = True
        state.enrolled = self.enrolled  # the scheme's own array: changed in place
        state.unenrolled = self.apply
        self.would_be = IncrementalFeatures(state.scheme, n, start=sim.start_time - sim.burn_in)
        self.would_be_scores: Scores | None = None
        disclosed = disclosed_lists(sim)
        self.disclosed = {name: SANCTION_WEIGHT * share for owner, name, share in disclosed.values() if owner is state}
        self.ever_enrolled = self.enrolled.copy()
        self.joined = np.zeros(n, dtype=np.uint16)  # joins and leaves per person, from day 0
        self.left = np.zeros(n, dtype=np.uint16)
        self.snapshots: list[dict[str, Any]] = []

    # --- the scheme's rule for the unenrolled ----------------------------------------------
    def apply(self, state: SchemeState, scores: Scores, features: IncrementalFeatures | SparseFeatures) -> None:
        """What the scheme's rule gives the unenrolled, written into a scoring's lists and
        entitlements (`features`: the feature state it scored); and, whatever the rule, no score,
        pre or tier for them (`without_score`)."""
        without_score(scores, ~self.enrolled)
        rows = np.flatnonzero(~self.enrolled)
        if not rows.size:
            return
        lists, entitlements = self.outcomes_if_unenrolled(scores, features, rows)
        for name, values in lists.items():
            scores.lists[name] = _put(scores.lists[name], rows, values)
        for name, values in entitlements.items():
            scores.entitlements[name] = _put(scores.entitlements[name], rows, values)

    def outcomes_if_unenrolled(self, scores: Scores, features: IncrementalFeatures | SparseFeatures,
                               rows: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The lists and entitlements of the people `rows` were they not enrolled, by the rule."""
        scheme = self.state.scheme
        rule = self.spec.unenrolled
        if rule == "as_unscored":
            return unscored_outcomes(scheme, features.features(only=self.state.scoring_features, views=True), rows,
                                     {name: np.asarray(members) for name, members in scores.inputs.items()})
        return ({name: np.zeros(rows.size, dtype=bool) for name in scheme.lists},
                {name: np.full(rows.size, rule == "allowed") for name in scheme.entitlements})

    # --- a day -------------------------------------------------------------------------------
    def step(self, sim: Sim, day: int) -> None:
        state = self.state
        self.would_be.advance(sim.time(day))
        records = state.received(state.today, everyone=True)
        for time in np.unique(records.time):  # as ScoreKeeping adds them: late records at their own date
            at = np.flatnonzero(records.time == time)
            self.would_be.add(float(time), records.subject[at], records.kind[at], records.value[at])
        if state.scored_day == day:
            relations = sim.graph if state.scheme.network is not None else None
            self.would_be_scores = None
            self.would_be_scores = score_slices(state.scheme, state.features_of(self.would_be), sim.n, relations,
                                                compiled_rules=state.compiled_rules, inputs=state.inputs())
            if self.spec.rule == "voluntary" and not self.mandatory and day < sim.days - 1:  # (the last: no tomorrow)
                self._decide(sim, day)
            if day >= 0:
                self.snapshots.append(self._snapshot(sim, day))
        switch = self.spec.mandatory_from_day
        if switch is not None and day + 1 == switch:  # everyone, from the switch day's records on
            if day >= 0:
                self.joined += ~self.enrolled
            self.enrolled[:] = self.mandatory = True
            self.ever_enrolled[:] = True
            state.enrolled_version += 1

    def gain(self, sim: Sim) -> np.ndarray:
        """What enrolling changes for each person, in percentage points of the scale (see the module)."""
        state, would = self.state, self.would_be_scores
        assert would is not None and state.scores is not None
        everyone = np.arange(sim.n)
        lists, entitlements = self.outcomes_if_unenrolled(state.scores, state.features, everyone)
        gain = np.full(sim.n, -float(self.spec.reluctance))
        for name, allowed in entitlements.items():
            gain += SANCTION_WEIGHT * (would.entitlements[name].astype(np.float64) - allowed)
        for name, weight in self.disclosed.items():
            gain -= weight * (would.lists[name].astype(np.float64) - lists[name])
        return gain

    def _decide(self, sim: Sim, day: int) -> None:
        """Who joins and who leaves, on an update day (from tomorrow's records on)."""
        spec = self.spec
        gain = self.gain(sim)
        weight = self.propensity * np.abs(gain) / SANCTION_WEIGHT
        chance = np.where(self.enrolled, np.where(gain < 0, spec.leave_rate * weight, 0.0),
                          np.where(gain > 0, spec.join_rate * weight, 0.0))
        draws = PersonStreams(sim.seed, "enrolment", day, sim.n, sim.chunk, part=self.number) \
            .draw(lambda g, size: g.random(size))
        changing = draws < np.minimum(chance, 1.0)
        if not changing.any():
            return
        joining, leaving = changing & ~self.enrolled, changing & self.enrolled
        if day >= 0:
            self.joined += joining
            self.left += leaving
        self.enrolled ^= changing
        self.ever_enrolled |= joining
        self.state.enrolled_version += 1
        if spec.retention == "dropped":
            gone = np.flatnonzero(leaving)
            for features in (self.state.features, self.state.truth):
                if features is not None:
                    features.forget(gone)

    def start_reporting(self) -> None:
        self.joined[...] = 0
        self.left[...] = 0
        self.ever_enrolled[...] = self.enrolled
        self.snapshots.clear()

    # --- figures -----------------------------------------------------------------------------
    def _snapshot(self, sim: Sim, day: int) -> dict[str, Any]:
        """Enrolment on an update day: overall, by group and by quintile of the would-be score; the
        would-be score of the enrolled and the unenrolled; who is denied and listed."""
        state, would = self.state, self.would_be_scores
        assert would is not None and state.scores is not None
        people = sim.people
        enrolled = self.enrolled
        quintile = quintile_of(would.score)
        denied_any = np.zeros(sim.n, dtype=bool)
        for allowed in state.scores.entitlements.values():
            denied_any |= ~allowed
        listed_any = np.zeros(sim.n, dtype=bool)
        for members in state.scores.lists.values():
            listed_any |= members
        out = ~enrolled
        return {"day": day, "enrolled_share": float(enrolled.mean()) if sim.n else 0.0,
                "by_group": {g: mean_where(enrolled, people.group == i) for i, g in enumerate(people.group_names)},
                "by_would_be_quintile": {q: mean_where(enrolled, quintile == i) for i, q in enumerate(QUINTILES)},
                "would_be_score_enrolled": mean_where(would.score, enrolled),
                "would_be_score_unenrolled": mean_where(would.score, out),
                "unenrolled_denied_share": mean_where(denied_any, out),
                "denied_share": mean_where(denied_any, np.ones(sim.n, dtype=bool)),
                "listed_share": mean_where(listed_any, np.ones(sim.n, dtype=bool)),
                "entitlements_denied_per_person": float(sum((~a).sum(dtype=np.int64)
                                                            for a in state.scores.entitlements.values()) / sim.n)
                if sim.n else 0.0}

    def figures(self, sim: Sim) -> dict[str, Any]:
        spec = self.spec
        people = sim.people
        groups = people.group_names
        sizes = {g: int((people.group == i).sum()) for i, g in enumerate(groups)}
        enrolled = self.enrolled
        figure: dict[str, Any] = {"rule": spec.rule, "unenrolled": spec.unenrolled, "retention": spec.retention,
                                  "enrolled_share": float(enrolled.mean()) if sim.n else 0.0,
                                  "ever_enrolled_share": float(self.ever_enrolled.mean()) if sim.n else 0.0,
                                  "joins": int(self.joined.sum(dtype=np.int64)),
                                  "leaves": int(self.left.sum(dtype=np.int64))}
        put(figure, "mandatory_from_day", spec.mandatory_from_day, "voluntary throughout")
        put_by_group(figure, {g: mean_where(enrolled, people.group == i) for i, g in enumerate(groups)}, sizes)
        if self.would_be_scores is not None:
            quintile = quintile_of(self.would_be_scores.score)
            figure["by_would_be_quintile"] = put_each({q: mean_where(enrolled, quintile == i) for i, q in
                                                     enumerate(QUINTILES)}, "no one is in this quintile")
        snapshots = self.snapshots
        figure["over_time"] = [_finite(s) for s in snapshots]
        switch = spec.mandatory_from_day if spec.rule == "voluntary" else None
        # Unravelling is a matter of the voluntary days: those before any switch to mandatory.
        figure["unravelling"] = self._unravelling([s for s in snapshots if switch is None or s["day"] < switch])
        if spec.rule == "voluntary" and spec.mandatory_from_day is not None:
            figure["switch"] = self._switch(snapshots, spec.mandatory_from_day)
        return figure

    @staticmethod
    def _unravelling(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
        """Who joined first, and what was left: the enrolled share of the top and the bottom would-be
        quintile, and the would-be score of the unenrolled, at the first and the last update day."""
        out: dict[str, Any] = {"of": "at the first and the last voluntary update day from day 0: enrolment of the "
                                     "lowest and highest fifth by would-be score, the mean would-be score of the "
                                     "unenrolled and its gap to the enrolled's (enrolled - unenrolled)"}
        why = "no voluntary update day from day 0"
        first, last = (snapshots[0], snapshots[-1]) if snapshots else (None, None)
        for key, snap in (("first", first), ("last", last)):
            record: dict[str, Any] = {}
            put(record, "day", None if snap is None else snap["day"], why)
            put(record, "lowest_quintile_enrolled", None if snap is None else snap["by_would_be_quintile"]["1"], why)
            put(record, "highest_quintile_enrolled", None if snap is None else snap["by_would_be_quintile"]["5"], why)
            put(record, "would_be_score_unenrolled", None if snap is None else snap["would_be_score_unenrolled"],
                "no voluntary update day from day 0, or everyone was enrolled")
            put(record, "unenrolled_denied_share", None if snap is None else snap["unenrolled_denied_share"],
                "no voluntary update day from day 0, or everyone was enrolled")
            enrolled, out_ = (None, None) if snap is None else (snap["would_be_score_enrolled"],
                                                                snap["would_be_score_unenrolled"])
            put(record, "would_be_score_gap", enrolled - out_ if enrolled is not None and out_ is not None else None,
                "no voluntary update day from day 0, or everyone or no one was enrolled")
            out[key] = record
        return out

    @staticmethod
    def _switch(snapshots: list[dict[str, Any]], day: int) -> dict[str, Any]:
        """The harms at the last update day before the switch to mandatory and the first from it."""
        before = [s for s in snapshots if s["day"] < day]
        after = [s for s in snapshots if s["day"] >= day]
        out: dict[str, Any] = {"day": day}
        for key, snap in (("before", before[-1] if before else None), ("after", after[0] if after else None)):
            record: dict[str, Any] = {}
            why = f"no update day {'before' if key == 'before' else 'from'} day {day}"
            put(record, "day", None if snap is None else snap["day"], why)
            for name in ("enrolled_share", "denied_share", "listed_share", "entitlements_denied_per_person"):
                put(record, name, None if snap is None else snap[name], why)
            out[key] = record
        for name in ("denied_share", "listed_share", "entitlements_denied_per_person"):
            b, a = out["before"][name], out["after"][name]
            put(out, f"{name}_change", a - b if a is not None and b is not None else None,
                "no update day on one side of the switch")
        return out


def _put(old: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    new = np.array(old, dtype=bool, copy=True)
    new[rows] = values
    return new




def _finite(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A snapshot as strict JSON: each missing figure null, with why."""
    out: dict[str, Any] = {}
    for key, value in snapshot.items():
        if isinstance(value, dict):
            out[key] = put_each(value, "no one of it")
        else:
            put(out, key, value, "no one of it (everyone or no one enrolled)")
    return out


class Enrolment(Module):
    """Every scheme's enrolment rule (`SchemeEnrolment`), stepped after the scoring phase: records
    reach a scheme by today's membership, and tonight's decisions hold from tomorrow. A scenario
    without `enrolment` has none and costs nothing."""

    name = "enrolment"
    params = ("enrolment",)
    state_fields = ("schemes",)

    def __init__(self, sim: Sim):
        rules = sim.scenario.enrolment
        self.schemes = [SchemeEnrolment(sim, state, rules[state.name], number)
                        for number, state in enumerate(s for s in sim.schemes if s.name in rules)]

    def start_reporting(self, sim: Sim) -> None:
        for enrolment in self.schemes:
            enrolment.start_reporting()

    def step(self, sim: Sim, day: int) -> None:
        for enrolment in self.schemes:
            enrolment.step(sim, day)

    def people_columns(self, sim: Sim, part: slice) -> dict[str, np.ndarray]:
        columns: dict[str, np.ndarray] = {}
        for enrolment in self.schemes:
            columns[f"{enrolment.state.prefix}enrolled"] = enrolment.enrolled[part]
            if enrolment.would_be_scores is not None:
                columns[f"{enrolment.state.prefix}would_be_score"] = enrolment.would_be_scores.score[part]
        return columns

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        if self.schemes:
            summary["enrolment"] = {e.state.name: e.figures(sim) for e in self.schemes}
