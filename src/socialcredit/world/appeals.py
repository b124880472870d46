"""Appeals: sanctioned people contest the records behind their sanction; reviewers decide a
limited number a day, first come first served; a granted appeal voids records and the scores are
recomputed from what remains, never edited (a rejected one leaves every record standing). The words
are the service's too: an appeal is granted (records voided) or rejected (records stand).

A newly sanctioned person (denied an entitlement they were allowed before, perks aside, or newly
shown on a disclosed list: public shaming is a sanction too) appeals with chance
`propensity` x group factor x (income / median income) ** income_elasticity. An appeal contests
every record of the contestable kinds attributed to the person; the reviewer voids a false record
with chance `success_if_wrong` and a true one with chance `success_if_right`. With several schemes,
each scheme hears the appeals against its own sanctions, with the scenario's `appeals` settings,
and voids records in its own file only."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..scenario.models import AppealsSpec
from ..scenario.streams import KeyedDraws
from ..sim.model import Sim
from ..sim.module import Module, ReportRow
from ..sim.schemes import SchemeState, scheme_section, scheme_sections
from ..undefined import put
from .social import shown

FILED, VOIDED = range(2)  # the purposes of an appeal's draws


class AppealDesk:
    """One scheme's appeals: its register of contestable records, its queue and its reviewers.
    With several schemes each has its own (the scenario's `appeals` for each): a person appeals to
    the scheme that sanctioned them, and a granted appeal voids the records in that scheme only."""

    def __init__(self, sim: Sim, state: SchemeState, spec: AppealsSpec):
        self.state = state
        self.spec = spec
        # The world's codes of the kinds contestable in this scheme (records carry the world's codes).
        self.codes = np.array([sim.codes[k] for k in state.contestable], dtype=np.int16)
        # Registry of contestable records: id, who it blames, whether it is true, whether voided.
        self.record_id: list[np.ndarray] = []
        self.record_subject: list[np.ndarray] = []
        self.record_genuine: list[np.ndarray] = []
        self.voided_ids: list[np.ndarray] = []
        self.queue_person = np.zeros(0, dtype=np.int64)
        self.queue_filed = np.zeros(0, dtype=np.int32)
        self.in_queue = np.zeros(sim.n, dtype=bool)
        self.filed_by = np.zeros(sim.n, dtype=np.int32)  # appeals filed, per person
        # Who was shown on a disclosed list, and denied each sanction, at the last scoring seen.
        self.was_denied: list[np.ndarray] = []
        self.median_income = np.median(sim.people.income_initial)
        self.seen_scoring: int | None = None  # the day of the last scoring seen (days are negative in a burn-in)
        self.filed = self.decided = self.granted = 0
        self.voided_false = self.voided_true = 0
        self.waits: list[np.ndarray] = []
        self.backlog_max = 0  # the longest queue at the end of a reported day
        groups = sim.people.group_names
        self.factor = np.array([spec.group_factor.get(g, 1.0) for g in groups])[sim.people.group]

    def start_reporting(self, sim: Sim) -> None:
        """Appeals filed and decided count from day 0; those still waiting stay in the queue."""
        self.median_income = np.median(sim.people.income_initial)  # incomes at day 0 are the starting ones
        self.filed = self.decided = self.granted = 0
        self.voided_false = self.voided_true = 0
        self.waits = []
        self.filed_by[:] = 0
        self.backlog_max = 0

    def decisions(self, seed: int, day: int, subject: np.ndarray) -> np.ndarray:
        """A uniform per contested record (`subject`: whom each blames, in the register's order),
        keyed by the person and the record's place among theirs decided today, so that one person's
        decisions do not move with anyone else's appeals."""
        order = np.argsort(subject, kind="stable")
        ordered = subject[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        place = np.arange(ordered.size) - np.repeat(starts, np.diff(np.r_[starts, ordered.size]))
        uniforms = np.empty(subject.size)
        uniforms[order] = KeyedDraws(seed, "appeals", day, self.state.index, VOIDED).uniforms(ordered, place)
        return uniforms

    def step(self, sim: Sim, day: int) -> None:
        self.file_and_decide(sim, day)
        if day >= 0:
            self.backlog_max = max(self.backlog_max, self.backlog)

    def file_and_decide(self, sim: Sim, day: int) -> None:
        """Today's records enter the register; the newly sanctioned appeal; reviewers decide."""
        spec, state = self.spec, self.state
        events = state.today  # what reached the scheme today (records shared or sold late come when they do)
        if len(events):  # the scheme's contestable kinds, from the sources that reach it
            mine = np.isin(events.kind, self.codes)
            if state.receives is not None:
                mine &= state.receives[events.source]
            self.record_id.append(events.id[mine])
            self.record_subject.append(events.subject[mine])
            self.record_genuine.append(events.genuine[mine])
        scores = state.scores
        if scores is not None and state.scored_day != self.seen_scoring:
            first = self.seen_scoring is None
            self.seen_scoring = state.scored_day
            # Newly sanctioned: denied an entitlement one had, or newly shown on a disclosed list. Each
            # entitlement on its own, so a new sanction counts even for someone already without a perk;
            # the state at the first scoring is the baseline, not a change.
            # (Sanction by sanction, a pass over the people each: faster than a row-wise `any`.)
            denied = [shown(sim, state), *(~scores.entitlements[name] for name in state.scheme.sanctions)]
            newly = np.zeros(0, dtype=np.int64)
            if not first:
                fresh = np.zeros(sim.n, dtype=bool)
                for now, before in zip(denied, self.was_denied, strict=True):
                    fresh |= now & ~before
                newly = np.flatnonzero(fresh & ~self.in_queue)
            self.was_denied = denied
            if newly.size:
                median = self.median_income
                chance = spec.propensity * self.factor[newly] * (sim.people.income[newly] / median) ** \
                    spec.income_elasticity
                # keyed by the person: whether one appeals does not move with who else was sanctioned
                draws = KeyedDraws(sim.seed, "appeals", day, state.index, FILED).uniforms(newly)
                filing = newly[draws < np.minimum(chance, 1.0)]
                self.queue_person = np.concatenate([self.queue_person, filing])
                self.queue_filed = np.concatenate([self.queue_filed, np.full(filing.size, day, dtype=np.int32)])
                self.in_queue[filing] = True
                self.filed_by[filing] += 1
                self.filed += int(filing.size)
        take = min(spec.reviewer_capacity_per_day, self.queue_person.size)
        if not take:
            return
        deciding, filed = self.queue_person[:take], self.queue_filed[:take]
        self.queue_person, self.queue_filed = self.queue_person[take:], self.queue_filed[take:]
        self.in_queue[deciding] = False
        self.decided += take
        self.waits.append(day - filed)
        if not self.record_id:
            return
        ids, subjects, genuine = (np.concatenate(parts) for parts in
                                  (self.record_id, self.record_subject, self.record_genuine))
        self.record_id, self.record_subject, self.record_genuine = [ids], [subjects], [genuine]
        contested = np.flatnonzero(np.isin(subjects, deciding))
        if self.voided_ids:
            contested = contested[~np.isin(ids[contested], np.concatenate(self.voided_ids))]
        chance = np.where(genuine[contested], spec.success_if_right, spec.success_if_wrong)
        voided = contested[self.decisions(sim.seed, day, subjects[contested]) < chance]
        if not voided.size:
            return
        self.voided_ids.append(ids[voided])
        self.voided_false += int((~genuine[voided]).sum())
        self.voided_true += int(genuine[voided].sum())
        self.granted += int(np.unique(subjects[voided]).size)  # an appeal granted: a record of it voided
        if state.truth is not None:  # a voided record is in the truth (true) or never was (false): theirs differ
            state.truth.track(subjects[voided])  # (before the void: their truth starts as their records are)
        state.features.void(ids[voided])
        # The scores follow from the remaining records at once: recomputed, never edited.
        state.rescore(sim.graph, truth=False)

    @property
    def backlog(self) -> int:
        return int(self.queue_person.size)

    def voided(self) -> np.ndarray:
        return np.concatenate(self.voided_ids) if self.voided_ids else np.zeros(0, dtype=np.int64)

    def figures(self) -> dict[str, Any]:
        waits = np.concatenate(self.waits) if self.waits else np.zeros(0)
        figure: dict[str, Any] = {
            "filed": self.filed, "decided": self.decided, "granted": self.granted,
            "rejected": self.decided - self.granted,
            "records_voided_false": self.voided_false, "records_voided_true": self.voided_true,
            "backlog_end": self.backlog, "backlog_max": self.backlog_max,
        }
        put(figure, "mean_wait_days", float(waits.mean()) if waits.size else None, "no appeal was decided")
        put(figure, "max_wait_days", int(waits.max()) if waits.size else None, "no appeal was decided")
        return figure


class Appeals(Module):
    """Each scheme's appeals (`AppealDesk`), stepped in the schemes' order."""

    name = "appeals"
    params = ("appeals",)
    state_fields = ("desks",)

    def __init__(self, sim: Sim):
        self.spec = sim.scenario.appeals
        spec = self.spec
        self.desks = [AppealDesk(sim, state, spec) for state in sim.schemes] if spec is not None else []

    def start_reporting(self, sim: Sim) -> None:
        for desk in self.desks:
            desk.start_reporting(sim)

    def step(self, sim: Sim, day: int) -> None:
        for desk in self.desks:
            desk.step(sim, day)

    @property
    def backlog(self) -> int:
        """Appeals waiting for a decision, at every scheme."""
        return sum(desk.backlog for desk in self.desks)

    @property
    def filed(self) -> int:
        return sum(desk.filed for desk in self.desks)

    @property
    def decided(self) -> int:
        return sum(desk.decided for desk in self.desks)

    @property
    def granted(self) -> int:
        return sum(desk.granted for desk in self.desks)

    def desk(self, state: SchemeState) -> AppealDesk | None:
        return next((desk for desk in self.desks if desk.state is state), None)

    def people_columns(self, sim: Sim, part: slice) -> dict[str, np.ndarray]:
        return {f"{desk.state.prefix}appeals_filed": desk.filed_by[part] for desk in self.desks}

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        for desk in self.desks:
            scheme_section(summary, desk.state)["harms"]["appeals"] = desk.figures()

    def report_rows(self, summary: dict[str, Any], groups: list[str]) -> list[ReportRow]:
        rows: list[ReportRow] = []
        for name, section in scheme_sections(summary):
            label = f"{name}: " if name else ""
            appeals = section["harms"].get("appeals")
            if appeals is None:
                continue
            wait = appeals["mean_wait_days"]
            rows.append((f"{label}appeals", f"{appeals['granted']:,} granted, {appeals['rejected']:,} rejected",
                         f"of {appeals['decided']:,} decided (granted: records voided; rejected: they stand); "
                         f"{appeals['filed']:,} filed; backlog {appeals['backlog_end']:,} at the end (max "
                         f"{appeals['backlog_max']:,}); mean wait {wait:.1f} days" if wait is not None else
                         f"{appeals['filed']:,} filed; none decided"))
        return rows
