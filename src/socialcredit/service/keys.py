"""API keys: a role, and for a subject key the one subject it may see. Shown once, stored hashed.
An `Actor` is who a request comes from: the key's id and role."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import ApiKey

ROLES = ("admin", "operator", "reviewer", "auditor", "subject")
READERS = ("admin", "operator", "reviewer", "auditor")  # the roles that read any subject's record
PREFIX = "sck"


@dataclass
class Actor:
    key_id: str
    role: str
    subject: str | None = None  # for a subject key, the one subject it may see

    @property
    def name(self) -> str:
        """As the audit log names who acted."""
        return f"{self.role}:{self.key_id}"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, role: str, subject: str | None = None) -> str:
    """Create a key and return it: the only time its secret is seen."""
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}'; use one of: {', '.join(ROLES)}")
    if (role == "subject") != (subject is not None):
        raise ValueError("a subject key needs --subject ID, and only a subject key takes one")
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(24)}"
    session.add(ApiKey(id=key_id, secret_hash=_hash(key), role=role, subject=subject))
    return key


def lookup(session: Session, key: str) -> ApiKey | None:
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != PREFIX:
        return None
    found = session.execute(select(ApiKey).where(ApiKey.id == parts[1])).scalar_one_or_none()
    if found is None or not secrets.compare_digest(found.secret_hash, _hash(key)):
        return None
    return found
