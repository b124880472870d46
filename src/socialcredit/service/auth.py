"""Who may do what over HTTP: the bearer key's `Actor` (`KeyRing`, which `gate.Gate` asks for every
request under /v1 before any of its body is read), and the role dependencies routes declare.

A route says who may call it with one of these dependencies, never with a check in its handler:
`role(...)` for a set of roles, `reader_of` for a subject's file (any reader role, or that
subject's own key). They are async and do no I/O: the gate has checked the key.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from .errors import ServiceError
from .keys import READERS, Actor, KeyCheck, KeyUses, as_utc, expired, looks_like_key, lookup, refusal, revoked
from .schemas import SubjectInPath
from .store import Store

UNKNOWN = "authorization: unknown API key"


@dataclass(frozen=True)
class Known:
    actor: Actor
    expires_s: float | None  # seconds since the epoch; None: never


class KeyRing:
    """The keys of one server process, and the check of every request's key.

    A key's secret is checked against its stored hash once, on its first request (in the thread
    pool); then every request asks the key's row whether it still stands (`KeyCheck`: not revoked,
    not deleted), so a revocation refuses the key from its next request on, in every process, with
    no restart; its expiry is compared with the clock."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock
        self.known: dict[str, Known] = {}
        self.check = KeyCheck(store.engine)
        self.uses = KeyUses(store)

    def _find(self, secret: str) -> Known:
        """The key's first check: its secret, then whether it was revoked or is past its expiry."""
        with self.store.reader() as session:
            key = lookup(session, secret)
            if key is None:
                raise ServiceError(401, UNKNOWN)
            refused = refusal(key, datetime.fromtimestamp(self.clock(), UTC))
            if refused is not None:
                raise ServiceError(401, refused)
            expires = None if key.expires_at is None else as_utc(key.expires_at).timestamp()
            return Known(Actor(key.id, key.role, key.subject), expires)

    async def actor(self, authorization: str | None) -> Actor:
        """The actor a request's Authorization header names; 401 for none, an unknown key, or a key
        revoked or past its expiry."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ServiceError(401, "authorization: send 'Authorization: Bearer <api key>'")
        secret = authorization[7:].strip()
        known = self.known.get(secret)
        if known is None:
            if not looks_like_key(secret):  # not worth a look-up
                raise ServiceError(401, UNKNOWN)
            known = await run_in_threadpool(self._find, secret)
            self.known[secret] = known
        else:
            if known.expires_s is not None and self.clock() >= known.expires_s:
                self.known.pop(secret, None)
                raise ServiceError(401, expired(datetime.fromtimestamp(known.expires_s, UTC)))
            stands = await self.check.stands(known.actor.key_id)
            if not stands:
                self.known.pop(secret, None)
                raise ServiceError(401, UNKNOWN if stands is None else revoked())
        self.uses.note(known.actor.key_id, self.clock())
        return known.actor


async def actor(request: Request, authorization: Annotated[str | None, Header()] = None) -> Actor:
    """The actor `gate.Gate` let in (a request that did not pass the gate has its key checked here)."""
    found: Actor | None = request.scope.get("state", {}).get("actor")
    if found is not None:
        return found
    keys: KeyRing = request.app.state.keys
    return await keys.actor(authorization)


Who = Annotated[Actor, Depends(actor)]


def refuse_role(who: Actor, roles: tuple[str, ...]) -> ServiceError:
    return ServiceError(403, f"role: a {who.role} key may not do this (needs {' or '.join(roles)})")


def role(*roles: str) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency giving the actor if their key has one of `roles`, else 403."""
    async def having_role(who: Who) -> Actor:
        if who.role not in roles:
            raise refuse_role(who, roles)
        return who

    return having_role


def check_reader_of(who: Actor, subject: str) -> Actor:
    """The actor if they may read `subject`'s file: a reader role, or that subject's own key."""
    if who.role == "subject":
        if who.subject != subject:  # nothing of one subject reaches another
            raise ServiceError(403, "subject: a subject key reads only its own record")
    elif who.role not in READERS:
        raise refuse_role(who, READERS)
    return who


async def reader_of(subject: SubjectInPath, who: Who) -> Actor:
    """A dependency for routes with a `{subject}` in their path: `check_reader_of`."""
    return check_reader_of(who, subject)
