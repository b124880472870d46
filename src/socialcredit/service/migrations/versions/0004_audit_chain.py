"""an audit log that holds no personal data, seals its entries and covers every stored row

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-09 12:00:00

New columns and tables: the coverage of each personal row by the audit entry that wrote it (entry,
place, salt, digest: `coverage.py`), the appeal's two coverages (filing, decision), when a tie was
added (for retention), each entry's seal, the subjects' pseudonyms, the tombstones of erased rows.

An existing log is brought in line, and sealed:
- its chain is checked as it stands (the old rules) and the verdict kept;
- each entry is rewritten without personal data (a subject by pseudonym; ids, pairs and notes
  dropped from the detail: counts stay), rechained and sealed with the server's audit key: its old
  hashes cannot stand, since they were computed over the personal data;
- one more entry, `sealed`, records the old log (its number of entries, its last hash, the
  verdict) and covers every row already stored (events, scores, ties, appeals), which get their
  salts and digests here.
Whoever kept the old log's last hash can compare it with the `sealed` entry's. A database with no
entries and no rows gets no `sealed` entry.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COVER = (("entry", sa.Integer()), ("pos", sa.Integer()), ("salt", sa.LargeBinary(16)), ("digest", sa.LargeBinary(32)))


def upgrade() -> None:
    for table in ("events", "score_history", "relations"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "relations":
                batch_op.add_column(sa.Column("added_at", sa.DateTime(timezone=True), nullable=True))
            for name, kind in COVER:
                batch_op.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salt", sa.LargeBinary(16), nullable=True))
        batch_op.add_column(sa.Column("filed_entry", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("filed_digest", sa.LargeBinary(32), nullable=True))
        batch_op.add_column(sa.Column("decided_entry", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_digest", sa.LargeBinary(32), nullable=True))
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seal", sa.String(length=64), nullable=True))
    op.create_table(
        "subjects",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pseudonym"),
    )
    op.create_table(
        "erased",
        sa.Column("entry", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=20), nullable=False),
        sa.Column("pos", sa.Integer(), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("erased_by", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entry", "part", "pos"),
    )
    with op.batch_alter_table("erased", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erased_erased_by"), ["erased_by"], unique=False)
    seal_existing(op.get_bind())


# What each action's old detail kept that is personal (ids of events and subjects, pairs, notes):
# dropped, with a count in its place where the count says something.
PERSONAL: dict[str, str | None] = {"subjects": None, "event_ids": "events", "note": None, "added": "added"}


def without_personal_data(detail: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, value in (detail or {}).items():
        counted = PERSONAL.get(name, name)
        if counted is not None:
            kept[counted] = len(value) if name in PERSONAL and isinstance(value, list) else value
    return kept


def seal_existing(bind: sa.engine.Connection) -> None:
    import os

    from socialcredit.service import audit
    from socialcredit.service.coverage import PARTS, SALT_BYTES, Cover
    from socialcredit.service.db import utcnow

    key = context.config.attributes.get("audit_key") or audit.key_of(bind)
    meta = sa.MetaData()
    tables = {name: sa.Table(name, meta, autoload_with=bind)
              for name in ("audit", "events", "score_history", "relations", "appeals")}
    log = tables["audit"]
    old = bind.execute(sa.select(log).order_by(log.c.seq)).mappings().all()
    stored = sum(bind.execute(sa.select(sa.func.count()).select_from(tables[name])).scalar_one()
                 for name in ("events", "score_history", "relations", "appeals"))
    if not old and not stored:
        return

    # the old log, checked by the old rules
    broken = []
    prev = audit.GENESIS
    for number, entry in enumerate(old, 1):
        if entry["seq"] != number or entry["prev_hash"] != prev or entry["hash"] != audit.entry_hash(
                entry["prev_hash"], entry["seq"], entry["at"], entry["actor"], entry["action"], entry["subject"],
                entry["detail"]):
            broken.append(entry["seq"])
        prev = entry["hash"]
    previous = {"entries": len(old), "head": old[-1]["hash"] if old else audit.GENESIS,
                "chain": "intact" if not broken else f"broken at entries {', '.join(map(str, broken[:20]))}"}

    # each entry again, numbered from 1, without personal data, rechained and sealed
    names = audit.pseudonyms(bind, [e["subject"] for e in old])
    rewritten = []
    prev = audit.GENESIS
    for seq, entry in enumerate(old, 1):
        subject = names[entry["subject"]] if entry["subject"] is not None else None
        detail = without_personal_data(entry["detail"])
        digest = audit.entry_hash(prev, seq, entry["at"], entry["actor"], entry["action"], subject, detail)
        rewritten.append({"seq": seq, "at": entry["at"], "actor": entry["actor"], "action": entry["action"],
                          "subject": subject, "detail": detail, "prev_hash": prev, "hash": digest,
                          "seal": key.seal(digest)})
        prev = digest
    if rewritten:
        bind.execute(log.delete())
        bind.execute(log.insert(), rewritten)

    # every stored row covered by the `sealed` entry: salted and digested here
    cover = Cover(len(rewritten) + 1)
    relations = tables["relations"]
    bind.execute(relations.update().where(relations.c.added_at.is_(None)).values(added_at=utcnow()))
    salts: dict[Any, bytes] = {}  # an appeal's one salt, for its filing and its decision
    for part_name, table_name in (("events", "events"), ("scores", "score_history"), ("ties", "relations"),
                                  ("appeal", "appeals"), ("decision", "appeals")):
        part, table = PARTS[part_name], tables[table_name]
        keys = [c.name for c in table.primary_key.columns]
        rows = bind.execute(sa.select(table).order_by(*[table.c[k] for k in keys])).mappings().all()
        if part_name == "decision":
            rows = [row for row in rows if row["status"] != "pending"]
        digests = cover.digests.setdefault(part_name, [])
        updates = []
        for row in rows:
            salt = salts[row["id"]] if part_name == "decision" else os.urandom(SALT_BYTES)
            if part_name == "appeal":
                salts[row["id"]] = salt
            row_digest = part.digest_of(salt, dict(row))
            values: dict[str, Any] = {**{f"k_{k}": row[k] for k in keys}, part.entry: cover.seq, "salt": salt,
                                      part.digest: row_digest}
            if part.pos is not None:
                values[part.pos] = len(digests)
            digests.append(row_digest)
            updates.append(values)
        if updates:
            columns = [name for name in updates[0] if not name.startswith("k_")]
            bind.execute(table.update().where(*[table.c[k] == sa.bindparam(f"k_{k}") for k in keys])
                         .values({name: sa.bindparam(name) for name in columns}), updates)
    sealed = {"previous": previous, "rows": cover.rows()}
    bind.execute(log.insert(), audit.chain([("migration 0004", "sealed", None, sealed)], len(rewritten), prev, {}, key))


def downgrade() -> None:
    with op.batch_alter_table("erased", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erased_erased_by"))
    op.drop_table("erased")
    op.drop_table("subjects")
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_column("seal")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        for name in ("decided_digest", "decided_entry", "filed_digest", "filed_entry", "salt"):
            batch_op.drop_column(name)
    for table in ("relations", "score_history", "events"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _ in reversed(COVER):
                batch_op.drop_column(name)
            if table == "relations":
                batch_op.drop_column("added_at")
