"""Where SQLite keeps each subject's score history: by bucket of arrival, then by subject.

An ingest of 1,000 events records the scores of about as many subjects. In an index ordered by
subject each of their entries falls on a different page of the whole index, and SQLite's
write-ahead log holds whole pages: every batch rewrote some 800 pages of the score history's index
at 1M events stored, and the checkpoint wrote them again at random places in the file (issue 18
point 10, benchmarks/RESULTS.md). Score records are now numbered into buckets of
`ROWS_PER_BUCKET` in the order they are appended, and SQLite's index of a subject's records leads
with the bucket (migration 0010): a batch's entries fall within the last bucket's pages.

The price is at read: a read of one subject's history seeks once in each bucket (`seekable`),
which only the subject's own requests do (history, export, erasure); nothing an ingest or a
record reads goes by it. The events' index is not bucketed so: scoring reads many subjects'
events at once, and would seek (buckets x subjects) times, more as the store grows; it is kept in
a few runs merged into a base instead (`runs.py`).

PostgreSQL logs only the changed tuples and keeps pages in its buffers until its own checkpoint, so
there the index leads with the subject and every record's bucket is 0.
"""

from __future__ import annotations

from sqlalchemy import TextClause, text

ROWS_PER_BUCKET = 16_384

# the number that counts a table's rows as they are appended, for each table kept by bucket
COUNTER = {"score_history": "seq"}


def walk(table: str) -> str:
    """SQL that holds for a row of `table` whose bucket is any of the table's: the distinct buckets
    found by one seek each (a loose scan of the index that leads with the bucket), whatever values
    they hold. With it, SQLite seeks each bucket's range of a subject's rows; without it, a read of
    one subject scans the whole index."""
    return (f"{table}.bucket IN (WITH RECURSIVE walk(n) AS (SELECT min(bucket) FROM {table} UNION ALL "
            f"SELECT (SELECT min(bucket) FROM {table} WHERE bucket > walk.n) FROM walk WHERE walk.n IS NOT NULL) "
            "SELECT n FROM walk)")


def seekable(dialect: str, table: str) -> tuple[TextClause, ...]:
    """The clauses to add to a read of some subjects' rows of `table` (none on PostgreSQL)."""
    return (text(walk(table)),) if dialect == "sqlite" else ()


def appending(connection: object, table: str) -> int:
    """The bucket of the rows appended to `table` now, in a write transaction (SQLite)."""
    last = connection.exec_driver_sql(f"SELECT max({COUNTER[table]}) FROM {table}").scalar()  # type: ignore[attr-defined]
    return int(last or 0) // ROWS_PER_BUCKET
