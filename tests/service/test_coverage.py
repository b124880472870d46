"""A batch's row digests, made a column at a time (`coverage.row_digests`), are the bytes `audit
verify` recomputes from each stored row (`Part.digest_of`, one row at a time), for every kind of
value a row may hold."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from socialcredit.service import coverage
from socialcredit.service.columns import Columns

AT = datetime(2026, 12, 6, 13, 20, 5, 123456, tzinfo=UTC)


def salts(n: int) -> list[bytes]:
    return [os.urandom(coverage.SALT_BYTES) for _ in range(n)]


def columns(part: str, rows: list[dict]) -> Columns:
    return Columns.of_dicts(rows, coverage.PARTS[part].fields)


def by_row(part: str, rows: list[dict], given: list[bytes]) -> list[bytes]:
    return [coverage.PARTS[part].digest_of(salt, row) for salt, row in zip(given, rows, strict=True)]


def test_event_digests_made_by_column_are_those_verify_recomputes():
    rows = [{"id": "e1", "subject": "alice", "kind": "payment", "time": 20000.25, "value": -0.0, "weight": 1.0,
             "source": None, "actor": None, "ingested_at": AT, "ingested_by": "op"},
            {"id": "é\"],[\"x", "subject": "bob\\n", "kind": "default", "time": 19000.0, "value": 1e300,
             "weight": 0.0, "source": "court ✓", "actor": "clerk", "ingested_at": AT, "ingested_by": "op"},
            {"id": "e3", "subject": "carol", "kind": "payment", "time": 18000.5, "value": 2.5, "weight": 3.0,
             "source": "bank", "actor": None, "ingested_at": AT + timedelta(seconds=1), "ingested_by": "admin"}]
    given = salts(len(rows))
    assert coverage.row_digests("events", columns("events", rows), given) == by_row("events", rows, given)


def test_a_column_of_mixed_types_takes_the_encoder_value_by_value():
    rows = [{"id": "e1", "subject": "alice", "kind": "payment", "time": 20000, "value": float("nan"), "weight": 1,
             "source": None, "actor": None, "ingested_at": AT.isoformat(), "ingested_by": "op"},
            {"id": "e2", "subject": "alice", "kind": "payment", "time": 20001.0, "value": float("inf"),
             "weight": -0.0, "source": None, "actor": None, "ingested_at": AT.replace(tzinfo=None),
             "ingested_by": "op"}]
    given = salts(len(rows))
    assert coverage.row_digests("events", columns("events", rows), given) == by_row("events", rows, given)


def test_score_digests_with_shared_lists_and_unscored_rows_are_those_verify_recomputes():
    shared = {"blacklist": False, "watch": True}
    rows = [{"subject": f"s{i}", "as_of": 20000.5, "score": None if i == 2 else 600.0 + i / 3, "tier": "good",
             "lists": shared if i % 2 else {"blacklist": i == 0, "watch": False}, "scheme_version": "lending@1",
             "recorded_at": AT} for i in range(5)]
    given = salts(len(rows))
    assert coverage.row_digests("scores", columns("scores", rows), given) == by_row("scores", rows, given)


def test_covering_columns_gives_each_row_its_salt_digest_and_place():
    given = [{"id": f"e{i}", "subject": "alice", "kind": "payment", "time": 20000.0 + i, "value": 1.0,
              "weight": 1.0, "source": None, "actor": None, "ingested_at": AT, "ingested_by": "op"}
             for i in range(3)]
    cover = coverage.Cover()
    cover.add("events", columns("events", given[:1]))
    more = columns("events", given[1:])
    cover.add("events", more)  # the second call's rows take the places after the first's
    cover.number(7)
    rows = more.dicts()
    assert [row["pos"] for row in rows] == [1, 2] and {row["entry"] for row in rows} == {7}
    assert [row["digest"] for row in rows] == by_row("events", rows, [row["salt"] for row in rows])
    assert len({row["salt"] for row in rows}) == 2 and len(cover.digests["events"]) == 3
