"""The server's audit key: kept in a file beside the database (or where `--checkpoint-key` says),
never in it, so that someone who can write to the database cannot sign or seal for the server.

One Ed25519 key does two jobs:
- it signs checkpoints (`checkpoints.py`), which anyone with the public key can check;
- an HMAC key derived from it seals each audit entry as it is written (`seal`): whoever holds the
  key file (the server, the operator's `audit verify`) can tell an entry the server wrote from one
  written into the database by other hands. An HMAC, not a signature, because every read writes an
  entry: sealing costs a microsecond, where an Ed25519 signature costs ~50 and its check ~100.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SEAL_CONTEXT = b"socialcredit audit seal v1\n"
NO_FILE = "socialcredit-audit"  # the files' stem beside the current folder, for a database that is not a file


def in_memory(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///:memory:")


def default_paths(url: str) -> tuple[Path, Path] | None:
    """The key file and the checkpoint file for a database: beside a SQLite file
    (`socialcredit.db.audit-key`, `socialcredit.db.checkpoints`), else in the current folder; none
    for a database in memory (its key and checkpoints live as long as the process)."""
    if in_memory(url):
        return None
    stem = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else NO_FILE
    return Path(f"{stem}.audit-key"), Path(f"{stem}.checkpoints")


class AuditKey:
    """A public key, and the private key when this process holds it."""

    def __init__(self, public: Ed25519PublicKey, private: Ed25519PrivateKey | None = None, path: Path | None = None):
        self.public = public
        self.private = private
        self.path = path  # the file it was read from, if any
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_hex = raw.hex()
        self.fingerprint = hashlib.sha256(raw).hexdigest()[:16]
        self._seal_key: bytes | None = None
        if private is not None:
            secret = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                           serialization.NoEncryption())
            self._seal_key = hashlib.sha256(SEAL_CONTEXT + secret).digest()

    # --- making and finding keys ---------------------------------------------------------------
    @classmethod
    def generate(cls) -> AuditKey:
        private = Ed25519PrivateKey.generate()
        return cls(private.public_key(), private)

    @classmethod
    def load(cls, path: Path) -> AuditKey:
        """The key in `path` (PEM): a private key, or only a public one (an auditor's copy)."""
        data = path.read_bytes()
        if b"PRIVATE KEY" in data:
            private = serialization.load_pem_private_key(data, password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise ValueError(f"{path}: not an Ed25519 key")
            return cls(private.public_key(), private, path)
        public = cls.from_public(data.decode().strip())
        public.path = path
        return public

    @classmethod
    def from_public(cls, text: str) -> AuditKey:
        """A public key as PEM or as the 64 hex digits checkpoints carry."""
        if "BEGIN PUBLIC KEY" in text:
            public = serialization.load_pem_public_key(text.encode())
            if not isinstance(public, Ed25519PublicKey):
                raise ValueError("not an Ed25519 public key")
            return cls(public)
        return cls(Ed25519PublicKey.from_public_bytes(bytes.fromhex(text)))

    @classmethod
    def load_or_create(cls, path: Path) -> tuple[AuditKey, bool]:
        """The private key in `path`, made there (readable by its owner only) if there is none yet;
        and whether it was made. Its public key is written beside it (`path`.pub) for auditors."""
        if path.exists():
            return cls.load(path), False
        key = cls.generate()
        assert key.private is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile: theirs stands
            return cls.load(path), False
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        Path(f"{path}.pub").write_text(key.public_pem())
        key.path = path
        return key, True

    def public_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    # --- using them ------------------------------------------------------------------------------
    @property
    def can_sign(self) -> bool:
        return self.private is not None

    def sign(self, message: bytes) -> str:
        if self.private is None:
            raise PermissionError("this audit key is public only: it cannot sign")
        return self.private.sign(message).hex()

    def verifies(self, message: bytes, signature: str) -> bool:
        try:
            self.public.verify(bytes.fromhex(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def seal(self, entry_hash: str) -> str:
        """The seal of an audit entry with this hash (HMAC-SHA256 under the key derived from the
        private key)."""
        if self._seal_key is None:
            raise PermissionError("this audit key is public only: it cannot seal entries")
        return hmac.new(self._seal_key, entry_hash.encode(), hashlib.sha256).hexdigest()

    def seal_holds(self, entry_hash: str, seal: str | None) -> bool:
        return seal is not None and hmac.compare_digest(self.seal(entry_hash), seal)


_LOADED: dict[str, AuditKey] = {}


def key_for(url: str, path: Path | None = None) -> AuditKey:
    """The audit key of the database at `url`: the file `path`, else the file SOCIALCREDIT_AUDIT_KEY
    names, else the one beside the database (`default_paths`), made on first use; an in-memory
    database gets a key that lives as long as this process (as the database does). Loaded once
    per process."""
    if path is None and os.environ.get("SOCIALCREDIT_AUDIT_KEY"):
        path = Path(os.environ["SOCIALCREDIT_AUDIT_KEY"])
    paths = default_paths(url)
    if path is None and paths is None:
        if url not in _LOADED:
            _LOADED[url] = AuditKey.generate()
        return _LOADED[url]
    file = (path or paths[0]).resolve()  # type: ignore[index]
    if str(file) not in _LOADED:
        _LOADED[str(file)] = AuditKey.load_or_create(file)[0]
    return _LOADED[str(file)]
