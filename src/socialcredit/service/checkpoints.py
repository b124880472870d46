"""Signed checkpoints: the audit log's size, the hash of its last entry and its Merkle tree head
(`merkle.py`), signed with the server's audit key (`auditkey.py`), kept in a file outside the
database and given out by `GET /v1/audit/checkpoint`.

A checkpoint is what a copy of the log kept elsewhere would show, in one line: whoever holds one
can later ask for a consistency proof (`POST /v1/audit/consistency`, RFC 6962) that the log of
now extends the log it signed, or, with the database, check the log against it (`audit verify`):
a log cut back, emptied or rewritten with its hashes recomputed no longer holds it.

Each checkpoint also anchors the read log (`readlog.py`): the number and hash of the last read
staged when it was made. Reads wait there, staged, until they are moved into the log; a read
deleted from the read log before it was moved is then named by `verify` when a checkpoint anchored
it. Reads staged after the latest checkpoint are not anchored until the next one (`serve` signs
one every minute while the log grows): that tail is the limit of what the checkpoints show.

The server signs a checkpoint only over entries it has checked: each new entry must follow the
last one and carry the server's seal, so an entry written into the database by other hands is
never signed over (the checkpoint is refused, and says which entry).

The file has one checkpoint a line (JSON), each with the Merkle frontier it was made from (the
heads of the perfect subtrees of the log so far; not signed, checked against the signed head when
read), so that a server starting again extends the last checkpoint from the entries since, rather
than from every entry of the log.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select

from . import merkle
from .audit import GENESIS
from .auditkey import AuditKey
from .db import AuditEntry, utcnow
from .errors import ServiceError
from .store import Store

LOG = "socialcredit audit log v1"
FIELDS = ("log", "size", "head", "root", "at", "key", "signature")
READ_AT_ONCE = 10_000
NEW_ENTRIES = (select(AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.hash, AuditEntry.seal)
               .where(AuditEntry.seq > bindparam("after")).order_by(AuditEntry.seq).limit(READ_AT_ONCE))


@dataclass(frozen=True)
class Checkpoint:
    size: int
    head: str  # the hash of entry `size` (the genesis hash for an empty log)
    root: str  # the Merkle tree head of the first `size` entries (RFC 6962)
    at: str
    key: str  # the public key that signs, hex
    signature: str
    # the read log's staged chain as it was: its last read's number and hash (None: no read staged
    # yet, or a checkpoint made before checkpoints anchored it)
    reads: tuple[int, str] | None = None
    origin: str = field(default="a checkpoint", compare=False)  # where it was read from, for messages

    def signed_fields(self) -> dict[str, Any]:
        signed: dict[str, Any] = {"log": LOG, "size": self.size, "head": self.head, "root": self.root, "at": self.at,
                                  "key": self.key}
        if self.reads is not None:
            signed["reads"] = {"size": self.reads[0], "head": self.reads[1]}
        return signed

    def message(self) -> bytes:
        return json.dumps(self.signed_fields(), sort_keys=True, separators=(",", ":")).encode()

    def as_json(self) -> dict[str, Any]:
        return {**self.signed_fields(), "signature": self.signature}

    def signed_by(self, key: AuditKey) -> bool:
        return self.key == key.public_hex and key.verifies(self.message(), self.signature)

    @classmethod
    def from_json(cls, data: Any, origin: str) -> Checkpoint:
        """A checkpoint from its JSON; ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"{origin}: not a checkpoint (a JSON object with {', '.join(FIELDS)})")
        missing = [name for name in FIELDS if name not in data]
        if missing:
            raise ValueError(f"{origin}: not a checkpoint: no {', '.join(missing)}")
        if data["log"] != LOG:
            raise ValueError(f"{origin}: a checkpoint of '{data['log']}', not of '{LOG}'")
        if not isinstance(data["size"], int) or data["size"] < 0:
            raise ValueError(f"{origin}: size must be a whole number >= 0, got {data['size']!r}")
        reads = data.get("reads")
        if reads is not None:
            if not (isinstance(reads, dict) and isinstance(reads.get("size"), int) and reads["size"] > 0
                    and isinstance(reads.get("head"), str)):
                raise ValueError(f"{origin}: reads must be {{\"size\": a whole number > 0, \"head\": a hash}}, "
                                 f"got {reads!r}")
            reads = (reads["size"], reads["head"])
        return cls(data["size"], str(data["head"]), str(data["root"]), str(data["at"]), str(data["key"]),
                   str(data["signature"]), reads, origin)


def sign(key: AuditKey, size: int, head: str, root: bytes, reads: tuple[int, str] | None = None) -> Checkpoint:
    unsigned = Checkpoint(size, head, root.hex(), utcnow().isoformat(timespec="seconds"), key.public_hex, "", reads)
    return Checkpoint(size, head, unsigned.root, unsigned.at, unsigned.key, key.sign(unsigned.message()), reads)


def read_file(path: Path) -> tuple[list[tuple[Checkpoint, merkle.Frontier | None]], list[str]]:
    """The checkpoints of a checkpoint file (with their frontiers), and what is wrong with lines
    that are not checkpoints."""
    found: list[tuple[Checkpoint, merkle.Frontier | None]] = []
    problems: list[str] = []
    if not path.exists():
        return found, problems
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        origin = f"{path}:{number}"
        try:
            data = json.loads(line)
            checkpoint = Checkpoint.from_json(data, f"the checkpoint of {path.name} line {number}")
            nodes = data.get("frontier")
            frontier = None if nodes is None else merkle.Frontier(checkpoint.size, [bytes.fromhex(n) for n in nodes])
        except (ValueError, TypeError) as error:
            problems.append(f"{origin}: {error}")
            continue
        found.append((checkpoint, frontier))
    return found, problems


def read_kept(path: Path) -> list[Checkpoint]:
    """The checkpoints an auditor kept in `path`: one checkpoint (as `GET /v1/audit/checkpoint`
    answers it), a consistency answer (its checkpoint), or a checkpoint file (one a line)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        checkpoints, problems = read_file(path)
        if problems:
            raise ValueError("; ".join(problems[:3])) from None
        return [c for c, _ in checkpoints]
    if isinstance(data, dict) and "checkpoint" in data:
        data = data["checkpoint"]
    return [Checkpoint.from_json(data, f"the checkpoint in {path.name}")]


def check_growth(kept: Checkpoint, answer: dict[str, Any], key: AuditKey) -> list[str]:
    """What is wrong with a consistency answer (`POST /v1/audit/consistency`) to a kept checkpoint:
    nothing when both checkpoints are signed by `key` and the proof shows the later log extends
    the kept one."""
    problems = []
    if not kept.signed_by(key):
        problems.append(f"{kept.origin}: not signed by the audit key {key.fingerprint}")
    try:
        later = Checkpoint.from_json(answer.get("checkpoint"), "the later checkpoint")
        proof = [bytes.fromhex(node) for node in answer.get("proof", [])]
    except (ValueError, TypeError, AttributeError) as error:
        return [*problems, f"the answer: {error}"]
    if not later.signed_by(key):
        problems.append(f"{later.origin}: not signed by the audit key {key.fingerprint}")
    if answer.get("first") != kept.size:
        problems.append(f"the proof is from {answer.get('first')} entries, the kept checkpoint has {kept.size}")
    elif not merkle.verify_consistency(kept.size, later.size, bytes.fromhex(kept.root), bytes.fromhex(later.root),
                                       proof):
        problems.append(f"the log of {later.size} entries does not extend the kept log of {kept.size} "
                        "(the proof fails: entries the kept checkpoint signed were changed or deleted)")
    return problems


class CheckpointLog:
    """The server's checkpoints: made from the log in the database, appended to the file, given out
    with consistency proofs."""

    def __init__(self, store: Store, key: AuditKey, path: Path | None,
                 staged_head: Callable[[], tuple[int, str] | None] = lambda: None):
        """`path`: the checkpoint file (None: checkpoints kept in memory only, for a database in memory).
        `staged_head`: the read log's last staged read (number, hash), which each checkpoint anchors
        (`readlog.staged_head`)."""
        self.store = store
        self.staged_head = staged_head
        self.key = key
        self.path = path
        self.tree = merkle.Tree(self._leaves)
        self.lock = threading.Lock()
        self.latest: Checkpoint | None = None
        self.frontier: merkle.Frontier | None = None  # of `latest`, extended by `make`

    def _leaves(self, start: int, stop: int) -> list[bytes]:
        with self.store.reader() as session:
            hashes = session.execute(select(AuditEntry.hash).where(AuditEntry.seq > start, AuditEntry.seq <= stop)
                                     .order_by(AuditEntry.seq)).scalars().all()
        return [bytes.fromhex(h) for h in hashes]

    def _load(self) -> None:
        """The latest of the file's checkpoints that this key signed and whose frontier gives its
        head; none: the log is read from its first entry."""
        self.frontier = merkle.Frontier()
        if self.path is None:
            return
        checkpoints, _ = read_file(self.path)
        for checkpoint, frontier in sorted(checkpoints, key=lambda c: c[0].size, reverse=True):
            if frontier is not None and checkpoint.signed_by(self.key) and frontier.root().hex() == checkpoint.root:
                self.latest, self.frontier = checkpoint, frontier
                return

    def make(self) -> Checkpoint:
        """A checkpoint of the log as it is now (the latest one again if the log has not grown),
        appended to the file. Refused (409) when an entry since the last one does not follow it or
        is not sealed by this server."""
        with self.lock:
            if self.frontier is None:
                self._load()
            assert self.frontier is not None
            frontier = merkle.Frontier(self.frontier.size, self.frontier.nodes)
            head = self.latest.head if self.latest is not None else GENESIS
            reads = self.staged_head()
            while True:
                with self.store.reader() as session:
                    rows = session.execute(NEW_ENTRIES, {"after": frontier.size}).all()
                for seq, prev_hash, digest, seal in rows:
                    self._check(seq, prev_hash, digest, seal, frontier.size, head)
                    frontier.add(bytes.fromhex(digest))
                    head = digest
                if len(rows) < READ_AT_ONCE:
                    break
            if self.latest is not None and frontier.size == self.latest.size and reads == self.latest.reads:
                return self.latest
            checkpoint = sign(self.key, frontier.size, head, frontier.root(), reads)
            self._append(checkpoint, frontier)
            self.latest, self.frontier = checkpoint, frontier
            return checkpoint

    def _check(self, seq: int, prev_hash: str, digest: str, seal: str | None, size: int, head: str) -> None:
        refuse = "audit: no checkpoint signed: entry {} {}; `socialcredit audit verify` says more"
        if seq != size + 1:
            raise ServiceError(409, refuse.format(size + 1, "is missing (the log has a gap)"))
        if prev_hash != head:
            raise ServiceError(409, refuse.format(seq, f"does not follow entry {size}, which the last checkpoint "
                                                       "signed (the log was rewritten)"))
        if not self.key.seal_holds(digest, seal):
            raise ServiceError(409, refuse.format(seq, "is not sealed by this server's audit key (written into the "
                                                       "database by other hands)"))

    def _append(self, checkpoint: Checkpoint, frontier: merkle.Frontier) -> None:
        if self.path is None:
            return
        line = json.dumps({**checkpoint.as_json(), "frontier": [node.hex() for node in frontier.nodes]})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # one write of one line: whole, even with several server processes appending
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def consistency(self, first: int) -> dict[str, Any]:
        """A checkpoint of now, and the proof that its log extends the log's first `first` entries."""
        checkpoint = self.make()
        if first > checkpoint.size:
            raise ServiceError(409, f"size: your checkpoint signed {first} entries, the log has {checkpoint.size} "
                                    "(entries deleted)")
        try:
            proof = self.tree.consistency(first, checkpoint.size)
        except LookupError as error:
            raise ServiceError(409, f"audit: no proof: {error} (the log has gaps; `socialcredit audit verify` says "
                                    "more)") from None
        return {"first": first, "checkpoint": checkpoint.as_json(), "proof": [node.hex() for node in proof]}

    def drift(self) -> str | None:
        """What is wrong, if anything, with the log against the file's latest checkpoint (a quick
        look at start-up: the entry it signed last is still there with the hash it signed)."""
        if self.path is None:
            return None
        checkpoints, _ = read_file(self.path)
        signed = [c for c, _ in checkpoints if c.signed_by(self.key)]
        if not signed:
            return None
        latest = max(signed, key=lambda c: c.size)
        if latest.size == 0:
            return None
        with self.store.reader() as session:
            found = session.execute(select(AuditEntry.hash).where(AuditEntry.seq == latest.size)).scalar()
        if found is None:
            return f"the audit log no longer has entry {latest.size}, which the checkpoint of {latest.at} signed"
        if found != latest.head:
            return f"entry {latest.size} of the audit log is not the one the checkpoint of {latest.at} signed"
        return None
