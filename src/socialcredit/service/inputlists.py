"""Input lists supplied to the service: the members of another body's list (a court's defaulters)
that the scheme reads and does not compute, added and taken off by whoever supplies the list
(`POST /v1/input-lists/{name}`, a `supplier` or `admin` key).

A change names the subjects listed and delisted, each with the day it took effect (`on`) and the
supplier's reference for it (`source`: a case number, a decision). It is checked whole, and stored
whole or not at all (a 422 names each problem as `listed.3.on`); sent again, it changes nothing
(`unchanged`): a listing is known by its list, subject and day, a delisting by its day. The answer
names the listed subjects no stored event names (`unknown`), so a supplier sees a mistyped id;
subject ids are checked as ingest checks them (`eventlog.look_alike_problem`: no white space at
either end, no control or invisible format character, no look-alike of another id's NFKC form). It is
recorded by an audit entry that covers the rows it wrote (`coverage.py`: the `listing` and
`delisting` parts of a membership row), and the subjects it moves are rescored in the same
transaction, so their entitlements follow the list at once. What the scores read of the lists is
`listings.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import select

from ..eventlog import EARLIEST_TIME, TIME_FIX, days_to_text, parse_times, text_problem
from ..scheme import Scheme
from . import audit, runs
from .coverage import Cover
from .db import InputListMember, on_day
from .errors import ServiceError
from .keys import Actor
from .scorer import Scorer
from .store import CHUNK, Store, dialect_of

# listings and delistings one request holds at most: ~0.5 MB at the longest, within the 1 MiB a body
# may hold on this route (`gate.BODY_LIMIT`)
MAX_CHANGES = 1_000
GRACE_DAYS = 1.0  # as ingest: a day's grace for time zones; later is in the future


@dataclass
class Change:
    """One subject listed or delisted, as a request gives it."""

    subject: str
    on: str | float
    source: str


def unknown_list(scheme: Scheme, name: str) -> ServiceError:
    declared = ", ".join(scheme.input_lists) or "none"
    return ServiceError(404, f"list: scheme '{scheme.id}' reads no input list '{name}' (it reads: {declared})")


class InputLists:
    def __init__(self, scheme: Scheme, store: Store, scorer: Scorer, now: Callable[[], float]):
        self.scheme = scheme
        self.store = store
        self.scorer = scorer
        self.now = now

    def change(self, name: str, listed: Sequence[Change], delisted: Sequence[Change], actor: Actor) -> dict[str, Any]:
        """List and delist subjects on input list `name`; what was stored, what had been already,
        and how many subjects were rescored."""
        if name not in self.scheme.input_lists:
            raise unknown_list(self.scheme, name)
        if len(listed) + len(delisted) > MAX_CHANGES:
            raise ServiceError(422, f"listed: a request holds at most {MAX_CHANGES:,} listings and delistings, got "
                                    f"{len(listed) + len(delisted):,}; send the others in another request")
        problems: list[dict[str, str]] = []
        days = {part: self._days(part, changes, problems) for part, changes in (("listed", listed),
                                                                                ("delisted", delisted))}
        named: dict[str, str] = {}
        for part, changes in (("listed", listed), ("delisted", delisted)):
            for i, change in enumerate(changes):
                for field in ("subject", "source"):
                    problem = text_problem(field, getattr(change, field), in_a_path=field == "subject")
                    if problem is not None:
                        problems.append({"field": f"{part}.{i}.{field}", "problem": problem})
                if change.subject in named:
                    problems.append({"field": f"{part}.{i}.subject", "problem": (
                        f"'{change.subject}' is named twice ({named[change.subject]} too); fix: name each subject "
                        "once a request, and send a listing and a delisting in two, in the order they happened")})
                named.setdefault(change.subject, f"{part}.{i}")
        if problems:
            raise self._refused(problems)
        with self.store.writing() as session:
            held: dict[str, list[InputListMember]] = {}
            subjects = sorted(named)
            for start in range(0, len(subjects), CHUNK):
                for row in session.execute(select(InputListMember).where(
                        InputListMember.list == name,
                        InputListMember.subject.in_(subjects[start:start + CHUNK]))).scalars():
                    held.setdefault(row.subject, []).append(row)
            at, by = on_day(self.now()), actor.name
            added: list[InputListMember] = []
            closed: list[InputListMember] = []
            unchanged = 0
            for i, (change, on) in enumerate(zip(listed, days["listed"], strict=True)):
                places = held.get(change.subject, [])
                if any(p.listed_on == on for p in places):
                    unchanged += 1  # given before: the first listing stands
                    continue
                clash = next((p for p in places if p.delisted_on is None or p.delisted_on > on), None)
                if clash is not None:
                    problems.append({"field": f"listed.{i}.on", "problem": self._clash(name, change.subject, clash)})
                    continue
                added.append(InputListMember(list=name, subject=change.subject, listed_on=on,
                                             listed_source=change.source, listed_at=at, listed_by=by))
            for i, (change, on) in enumerate(zip(delisted, days["delisted"], strict=True)):
                places = held.get(change.subject, [])
                if any(p.delisted_on == on for p in places):
                    unchanged += 1  # given before: the first delisting stands
                    continue
                current = next((p for p in places if p.delisted_on is None), None)
                if current is None:
                    problems.append({"field": f"delisted.{i}.subject", "problem": (
                        f"'{change.subject}' is not on '{name}'; fix: delist only a subject listed on it")})
                elif on < current.listed_on:
                    problems.append({"field": f"delisted.{i}.on", "problem": (
                        f"{days_to_text(on)} is before '{change.subject}' was listed on '{name}' "
                        f"({days_to_text(current.listed_on)}); fix: correct the date")})
                else:
                    current.delisted_on, current.delisted_source = on, change.source
                    current.delisted_at, current.delisted_by = at, by
                    closed.append(current)
            if problems:
                raise self._refused(problems)  # the transaction is rolled back: nothing is stored
            session.add_all(added)
            session.flush()  # the new rows' ids, which their digests cover
            cover = Cover(audit.next_seq(session))
            cover.add("listing", added)
            cover.add("delisting", closed)
            moved = sorted({row.subject for row in added + closed})
            rescored = self.scorer.affected(session, moved) if moved else []
            if rescored:  # their entitlements follow the list at once
                self.scorer.record_scores(session, rescored, cover)
            audit.append(session, by, "input_list", None, {"list": name, "listed": len(added),
                                                           "delisted": len(closed), "unchanged": unchanged},
                         cover=cover)
            unknown = self._without_events(session, [change.subject for change in listed])
        return {"list": name, "listed": len(added), "delisted": len(closed), "unchanged": unchanged,
                "rescored": len(rescored), "unknown": unknown}

    @staticmethod
    def _without_events(session: Any, subjects: Sequence[str]) -> list[str]:
        """The subjects no stored event names: listed all the same (a list may name someone before
        their first event), and answered, so that a supplier sees a mistyped id."""
        wanted = sorted(set(subjects))
        known: set[str] = set()
        dialect = dialect_of(session)
        subject = runs.events_subject(dialect)  # on SQLite the runs of the events' index (`runs.py`)
        for start in range(0, len(wanted), CHUNK):
            known.update(session.execute(select(subject).where(*runs.within_runs(dialect),
                                                               subject.in_(wanted[start:start + CHUNK]))
                                         .distinct()).scalars())
        return [s for s in wanted if s not in known]

    def _days(self, part: str, changes: Sequence[Change], problems: list[dict[str, str]]) -> list[float]:
        """Each change's day (`on`) in days since 1970-01-01, as an event's time is read; a problem
        for each that is not a time, or is before 1900 or in the future."""
        given = [str(c.on) if isinstance(c.on, str) else float(c.on) for c in changes]
        texts = [g for g in given if isinstance(g, str)]
        parsed = iter(parse_times(pa.array(texts, type=pa.string())).tolist() if texts else [])
        days = [next(parsed) if isinstance(g, str) else g for g in given]
        latest = self.now() + GRACE_DAYS
        for i, (g, day) in enumerate(zip(given, days, strict=True)):
            if not np.isfinite(day):
                problems.append({"field": f"{part}.{i}.on", "problem": f"cannot read {g!r} as a time; fix: {TIME_FIX}"})
            elif day < EARLIEST_TIME or day > latest:
                problems.append({"field": f"{part}.{i}.on", "problem": (
                    f"{g!r} is {'before 1900' if day < EARLIEST_TIME else 'in the future'}; fix: give the day the "
                    f"{'listing' if part == 'listed' else 'delisting'} took effect")})
        return days

    @staticmethod
    def _clash(name: str, subject: str, place: InputListMember) -> str:
        until = "" if place.delisted_on is None else f" to {days_to_text(place.delisted_on)}"
        return (f"'{subject}' is on '{name}' from {days_to_text(place.listed_on)}{until} ({place.listed_source}), "
                "which this listing overlaps; fix: delist them first, or send the listing as it was given")

    @staticmethod
    def _refused(problems: list[dict[str, str]]) -> ServiceError:
        said = f"nothing was stored: {len(problems)} problem{'s' * (len(problems) != 1)}"
        return ServiceError(422, f"{problems[0]['field']}: {said}", problems)
