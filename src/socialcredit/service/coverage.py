"""What ties the rows that hold personal data to the audit log, without putting that data in the log.

Each change's audit entry covers the rows it wrote, by part: the events of an ingest, the scores it
recorded, the ties it added, an appeal's filing, a decision. A covered row keeps the entry's number,
its place in the part (`pos`), a random salt and its digest, SHA-256(salt || the row's content as
canonical JSON); the entry holds, for each part, the number of rows and SHA-256 over their digests
in order (`Cover`). So editing a row is found (its content no longer gives its digest, or, with the
digest recomputed, the part's rows no longer give the entry's), and so is deleting one (a place
empty) or adding one (a place the entry never had).

Retention and erasure delete rows: each covered row deleted leaves a tombstone (`Erased`: the
entry, part, place and digest it had), and the entry that deleted them covers its tombstones. The
salt goes with the row, so a tombstone's digest says nothing about what the row held, and the
entries it was part of still verify.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import DateTime, Float, delete, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from . import runs
from .columns import Columns
from .db import Appeal, Erased, Event, InputListMember, Relation, ScoreRecord

SALT_BYTES = 16
# canonical JSON (sorted keys, no spaces, ASCII), from the C encoder json.dumps uses, made once: a
# third of the cost of a row's digest otherwise goes to setting it up again for every row
_chunks = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, None, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True)


def _encode(values: list[Any]) -> str:
    return "".join(_chunks(values, 0))


def _float(value: Any) -> Any:
    # +0.0: SQLite may store -0.0 as the integer 0, and gives back 0.0
    return None if value is None else float(value) + 0.0


def instant(value: Any) -> Any:
    """A stored time as its digest reads it: UTC, to the microsecond, without the zone (SQLite
    gives back the naive time it was given; PostgreSQL an aware one)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return _instant(value)


@lru_cache(maxsize=1024)  # the rows of one change share their time: worked out once
def _instant(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Part:
    """A kind of covered row: the table, the columns its digest reads, and where the row keeps its
    entry, place and digest (an appeal's filing and its decision are two parts of one row)."""

    name: str
    model: Any
    fields: tuple[str, ...]
    entry: str = "entry"
    pos: str | None = "pos"  # None: one row per entry, at place 0
    digest: str = "digest"
    noun: str = "row"
    label: Callable[[Any], str] = field(default=lambda row: "")
    # a part written by a later change than the row (a decision, a delisting): a row may not have it
    # yet, and the row is deleted as its first part
    later: bool = False

    def normalised(self) -> list[tuple[int, Callable[[Any], Any]]]:
        """(place among the fields, how its value is read) of the fields stored in a form other
        than the one given: numbers, times."""
        table = self.model.__table__
        return [(i, _float if isinstance(table.c[name].type, Float) else instant)
                for i, name in enumerate(self.fields) if isinstance(table.c[name].type, Float | DateTime)]

    def values_of(self, row: Any) -> list[Any]:
        """The digested values of a row (a mapping, or an object with the part's fields), in order."""
        values = list(_GETTERS[self.name](row) if isinstance(row, dict) else
                      (getattr(row, name) for name in self.fields))
        for i, read in _NORMALISED[self.name]:
            values[i] = read(values[i])
        return values

    def digest_of(self, salt: bytes, row: Any) -> bytes:
        """The digest of a row: SHA-256 over its salt and its values as canonical JSON."""
        return hashlib.sha256(salt + _encode(self.values_of(row)).encode()).digest()


PARTS: dict[str, Part] = {part.name: part for part in (
    Part("events", Event, ("id", "subject", "kind", "time", "value", "weight", "source", "actor", "ingested_at",
                           "ingested_by"), noun="event", label=lambda row: f"event '{row.id}'"),
    Part("scores", ScoreRecord, ("subject", "as_of", "score", "tier", "lists", "scheme_version", "recorded_at"),
         noun="score", label=lambda row: f"score record {row.seq}"),
    Part("ties", Relation, ("a", "b", "added_at"), noun="tie", label=lambda row: f"tie '{row.a}'-'{row.b}'"),
    Part("appeal", Appeal, ("id", "subject", "event_ids", "statement", "filed_at", "filed_by"), entry="filed_entry",
         pos=None, digest="filed_digest", noun="appeal", label=lambda row: f"appeal {row.id}"),
    Part("decision", Appeal, ("id", "status", "decided_at", "decided_by", "note"), entry="decided_entry", pos=None,
         digest="decided_digest", noun="decision", label=lambda row: f"the decision of appeal {row.id}",
         later=True),
    Part("listing", InputListMember, ("id", "list", "subject", "listed_on", "listed_source", "listed_at", "listed_by"),
         entry="listed_entry", pos="listed_pos", digest="listed_digest", noun="listing",
         label=lambda row: f"input list membership {row.id}"),
    Part("delisting", InputListMember, ("id", "delisted_on", "delisted_source", "delisted_at", "delisted_by"),
         entry="delisted_entry", pos="delisted_pos", digest="delisted_digest", noun="delisting",
         label=lambda row: f"the delisting of input list membership {row.id}", later=True),
)}
_NORMALISED = {name: part.normalised() for name, part in PARTS.items()}
_GETTERS = {name: itemgetter(*part.fields) for name, part in PARTS.items()}


def _json_texts(values: Sequence[Any], read: Callable[[Any], Any] | None) -> list[str]:
    """Each value of a column as canonical JSON, after `read` (the part's normalisation, if any):
    what `_encode` writes of it inside a row. A column of one plain type at once (floats through
    NumPy's +0.0 and Python's repr, as the JSON encoder writes a finite float; text through the
    encoder's own C escaping); any other column value by value, through the encoder itself."""
    kinds = set(map(type, values))
    if read is instant and all(issubclass(kind, datetime) for kind in kinds):
        # the rows of a change share their time: each distinct one written once
        written = {value: _encode_one(instant(value)) for value in set(values)}
        return [written[value] for value in values]
    if read is _float and kinds == {float}:
        floats = np.array(values, dtype=np.float64)
        if np.isfinite(floats).all():  # the encoder writes NaN and Infinity its own way
            normal = (floats + 0.0).tolist()  # +0.0: -0.0 as _float gives it
            distinct = set(normal)
            if len(distinct) * 4 <= len(normal):  # a weight of 1, a time of scoring: each written once
                written = {value: float.__repr__(value) for value in distinct}
                return [written[value] for value in normal]
            return list(map(float.__repr__, normal))
    if kinds == {type(None)}:
        return ["null"] * len(values)
    if read is None and kinds == {str}:
        return list(map(_encode_text, values))
    if read is None and kinds <= {dict, type(None)}:  # the scores' `lists`: rows share a dict by pattern
        shared: dict[int, str] = {}
        return [shared[id(value)] if id(value) in shared else shared.setdefault(id(value), _encode_one(value))
                for value in values]
    if read is None:
        return [_encode_one(value) for value in values]
    return [_encode_one(read(value)) for value in values]


def _encode_one(value: Any) -> str:
    return "".join(_chunks(value, 0))


_encode_text = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def row_digests(part_name: str, rows: Columns, salts: Sequence[bytes]) -> list[bytes]:
    """The digests of rows to insert (columns with every field of the part), each under its salt:
    the bytes `Part.digest_of` gives each row, made a column at a time (a row's fields in Python,
    one by one, were most of an ingest's digest work)."""
    reads = dict(_NORMALISED[part_name])
    texts = [_json_texts(rows[name], reads.get(i)) for i, name in enumerate(PARTS[part_name].fields)]
    sha256 = hashlib.sha256
    return [sha256(salt + f"[{row}]".encode()).digest()
            for salt, row in zip(salts, map(",".join, zip(*texts, strict=True)), strict=True)]


def part_digest(digests: Sequence[bytes]) -> str:
    return hashlib.sha256(b"".join(digests)).hexdigest()


class Cover:
    """The rows one audit entry (number `seq`, the next to be appended) covers. `add` gives each
    row its entry, place, salt and digest, in place; `rows` is what the entry's detail holds.

    A change that covers its rows before it writes them (an ingest: the digests are made outside
    the write transaction) makes the cover without a number, and gives it with `number` once the
    entry's number is known, in the transaction that appends the entry."""

    def __init__(self, seq: int | None = None):
        self.seq = seq
        self.digests: dict[str, list[bytes]] = {}
        self.tombstones: list[tuple[int, str, int, bytes]] = []
        self.unnumbered: list[tuple[str, Columns | Sequence[Any]]] = []  # (entry column, rows) covered before `number`

    def number(self, seq: int) -> None:
        """The number of the entry that covers the rows: given to every row covered so far."""
        self.seq = seq
        for entry, rows in self.unnumbered:
            if isinstance(rows, Columns):
                rows.constant(entry, seq)
                continue
            for row in rows:
                setattr(row, entry, seq)
        self.unnumbered = []

    def add(self, part_name: str, rows: Columns | Sequence[Any]) -> None:
        """Cover these rows (columns to insert, or ORM objects) as the next ones of `part_name`."""
        part = PARTS[part_name]
        digests = self.digests.setdefault(part_name, [])
        salts = os.urandom(SALT_BYTES * len(rows))
        first = len(digests)
        if self.seq is None:
            self.unnumbered.append((part.entry, rows))
        if isinstance(rows, Columns):  # a batch to insert: digested a column at a time
            salt_of = [salts[at:at + SALT_BYTES] for at in range(0, len(salts), SALT_BYTES)]
            made = row_digests(part_name, rows, salt_of)
            rows.constant(part.entry, self.seq)
            rows["salt"], rows[part.digest] = salt_of, made
            if part.pos is not None:
                rows[part.pos] = range(first, first + len(rows))
            digests += made
            return
        for i, row in enumerate(rows):
            # a row covered in two parts (an appeal's filing, then its decision) keeps its one salt
            kept = getattr(row, "salt", None)
            salt = kept if kept is not None else salts[SALT_BYTES * i:SALT_BYTES * (i + 1)]
            digest = part.digest_of(salt, row)
            setattr(row, part.entry, self.seq)
            row.salt = salt
            setattr(row, part.digest, digest)
            if part.pos is not None:
                setattr(row, part.pos, first + i)
            digests.append(digest)

    def erase(self, session: Session, part_name: str, where: ColumnElement[bool]) -> int:
        """Delete the rows of `part_name` that `where` selects, leaving a tombstone for each covered
        one; how many were deleted."""
        part = PARTS[part_name]
        table = part.model.__table__
        entry, digest = table.c[part.entry], table.c[part.digest]
        pos = table.c[part.pos] if part.pos is not None else None
        found = session.execute(select(entry, pos if pos is not None else entry, digest)
                                .where(where, entry.is_not(None))).all()
        marks = [(int(e), part_name, int(p) if pos is not None else 0, bytes(d)) for e, p, d in found]
        if marks:
            session.execute(Erased.__table__.insert(), [{"entry": e, "part": n, "pos": p, "digest": d,
                                                         "erased_by": self.seq} for e, n, p, d in marks])
        self.tombstones += marks
        if part.later:  # a later part goes with its row, deleted as the row's first part
            return len(found)
        return int(session.execute(delete(part.model).where(where)).rowcount or 0)

    def rows(self) -> dict[str, list[Any]]:
        """For the entry's detail: each part's count and digest."""
        covered: dict[str, list[Any]] = {name: [len(d), part_digest(d)] for name, d in self.digests.items()}
        if self.tombstones:
            covered["erased"] = [len(self.tombstones), tombstones_digest(self.tombstones)]
        return covered


def tombstones_digest(marks: Sequence[tuple[int, str, int, bytes]]) -> str:
    """What the entry that erased rows holds of the tombstones it left: SHA-256 over each one's
    entry, part, place and digest, in that order."""
    return hashlib.sha256(b"".join(f"{e}:{n}:{p}:".encode() + d for e, n, p, d in sorted(marks))).hexdigest()


# --- verification ------------------------------------------------------------------------------

@dataclass
class Found:
    """What the rows that claim one entry's part give: how many places, their digest, the places
    missing from 0..count-1, and places held twice."""

    count: int
    digest: str
    missing: list[int]
    doubled: list[int]


@dataclass
class RowCheck:
    found: dict[tuple[int, str], Found] = field(default_factory=dict)   # (entry, part) -> what the rows give
    problems: list[str] = field(default_factory=list)


def _rows_of(session: Any, part: Part, check: RowCheck, voided: set[str] | None
             ) -> Iterator[tuple[int, int, bytes]]:
    """(entry, place, stored digest) of the part's covered rows in order; rows whose content does not
    give their digest, or that no entry covers, are reported as they pass."""
    table = part.model.__table__
    entry, digest = table.c[part.entry], table.c[part.digest]
    pos = table.c[part.pos] if part.pos is not None else None
    extra = [table.c.status] if part.name == "events" else []
    columns = [entry, pos if pos is not None else entry, digest, table.c.salt, *[table.c[n] for n in part.fields],
               *[c for c in table.primary_key.columns if c.name not in part.fields], *extra]
    names = [c.name for c in columns[4:]]
    uncovered = [] if part.later else session.execute(
        select(*columns[4:]).where(entry.is_(None))).all()
    for row in uncovered:
        check.problems.append(f"{part.label(_Row(names, row))}: no audit entry records it (written outside the "
                              "server)")
    ordered = select(*columns).where(entry.is_not(None)).order_by(entry, pos if pos is not None else entry)
    for row in session.execute(ordered.execution_options(yield_per=5000)):
        e, p, stored, salt, values = row[0], row[1], row[2], row[3], row[4:]
        record = _Row(names, values)
        if stored is None or salt is None or part.digest_of(bytes(salt), record) != bytes(stored):
            check.problems.append(f"{part.label(record)}: its content does not match the digest entry {e} "
                                  "recorded (edited)")
        if voided is not None and record.status == "voided":
            voided.add(record.id)
        yield int(e), int(p) if pos is not None else 0, bytes(stored or b"")


class _Row:
    """A selected row's values by column name (what `Part.digest_of` and the labels read)."""

    def __init__(self, names: list[str], values: Sequence[Any]):
        self.__dict__.update(zip(names, values, strict=True))


def _tombstones_of(session: Any, part_name: str) -> Iterator[tuple[int, int, bytes]]:
    query = (select(Erased.entry, Erased.pos, Erased.digest).where(Erased.part == part_name)
             .order_by(Erased.entry, Erased.pos))
    for e, p, d in session.execute(query.execution_options(yield_per=5000)):
        yield int(e), int(p), bytes(d)


def _merged(live: Iterator[tuple[int, int, bytes]], erased: Iterator[tuple[int, int, bytes]]
            ) -> Iterator[tuple[int, int, bytes, bool]]:
    return heapq.merge(((e, p, d, False) for e, p, d in live), ((e, p, d, True) for e, p, d in erased))


def check_rows(session: Any) -> RowCheck:
    """Every covered row checked against its digest, and each (entry, part) summed up for the
    walk of the log to compare with what the entry holds; an event is voided exactly when a voided
    appeal names it (a status is not covered by the event's digest: it is the appeal's)."""
    check = RowCheck()
    voided: set[str] = set()
    for name, part in PARTS.items():
        rows = _merged(_rows_of(session, part, check, voided if name == "events" else None),
                       _tombstones_of(session, name))
        for e, group in groupby(rows, key=lambda r: r[0]):
            digests: list[bytes] = []
            missing: list[int] = []
            doubled: list[int] = []
            expected = 0
            last = -1
            for _, p, d, _erased in group:
                if p == last:
                    doubled.append(p)
                    continue
                missing += range(expected, p)
                digests.append(d)
                expected, last = p + 1, p
            check.found[(e, name)] = Found(expected, part_digest(digests), missing, doubled)
    query = (select(Erased.erased_by, Erased.entry, Erased.part, Erased.pos, Erased.digest)
             .order_by(Erased.erased_by, Erased.entry, Erased.part, Erased.pos))
    for by, group in groupby(session.execute(query.execution_options(yield_per=5000)), key=lambda r: r[0]):
        marks = [(int(e), str(n), int(p), bytes(d)) for _, e, n, p, d in group]
        check.found[(int(by), "erased")] = Found(len(marks), tombstones_digest(marks), [], [])
    named = _voided_by_appeals(session)
    for event_id in sorted(voided - named):
        check.problems.append(f"event '{event_id}': voided, but no voided appeal names it (edited)")
    unvoided = sorted(named - voided)
    for start in range(0, len(unvoided), 500):
        for (event_id,) in session.execute(select(Event.id).where(Event.id.in_(unvoided[start:start + 500]))):
            check.problems.append(f"event '{event_id}': a voided appeal names it, yet it counts (edited)")
    check.problems += runs.mismatches(session.connection() if isinstance(session, Session) else session)
    return check


def describe(seq: int, action: str, part_name: str, recorded: Sequence[Any], found: Found | None) -> str | None:
    """What is wrong with an entry's part, if anything: `recorded` is [count, digest] from its detail."""
    count, digest = int(recorded[0]), str(recorded[1])
    noun = PARTS[part_name].noun if part_name in PARTS else "tombstone"
    where = f"entry {seq} ({action})"
    if found is None:
        return None if count == 0 else (f"{where}: the {count} {noun}(s) it recorded are gone, and no erasure or "
                                         "purge accounts for them (deleted)")
    if found.count == count and found.digest == digest and not found.missing and not found.doubled:
        return None
    if found.missing or found.count < count:
        gone = found.missing + list(range(found.count, count))
        return (f"{where}: {noun}(s) at place(s) {', '.join(map(str, gone[:20]))} of the {count} it recorded are "
                "gone, and no erasure or purge accounts for them (deleted)")
    if found.count > count or found.doubled:
        return f"{where}: {found.count} {noun}(s) claim it, it recorded {count} (inserted)"
    return (f"{where}: its {noun}s are not those it recorded (edited, with their digests recomputed)"
            if part_name != "erased" else
            f"{where}: the tombstones that claim it are not those it left (edited or inserted)")


def _voided_by_appeals(session: Any) -> set[str]:
    """The events that voided appeals name: exactly these are voided."""
    ids: set[str] = set()
    for (event_ids,) in session.execute(select(Appeal.event_ids).where(Appeal.status == "voided")):
        ids |= set(event_ids or [])
    return ids
