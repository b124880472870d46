"""Who may do what over HTTP: the bearer key's `Actor` and the role dependencies routes declare.

A route says who may call it with one of these dependencies, never with a check in its handler:
`role(...)` for a set of roles, `reader_of` for a subject's file (any reader role, or that
subject's own key). They are async and do no I/O but a key's first look-up (in the thread pool):
a known key costs a dict look-up, on the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from .errors import ServiceError
from .keys import READERS, Actor, lookup
from .schemas import SubjectInPath
from .store import Store


class KeyRing:
    """The keys seen so far: keys are never changed once made, so each is looked up once."""

    def __init__(self, store: Store):
        self.store = store
        self.known: dict[str, Actor] = {}

    def _find(self, secret: str) -> Actor | None:
        with self.store.reader() as session:
            key = lookup(session, secret)
        return None if key is None else Actor(key.id, key.role, key.subject)

    async def actor(self, authorization: str | None) -> Actor:
        """The actor a request's Authorization header names; 401 for none or an unknown key."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ServiceError(401, "authorization: send 'Authorization: Bearer <api key>'")
        secret = authorization[7:].strip()
        if secret in self.known:
            return self.known[secret]
        found = await run_in_threadpool(self._find, secret)
        if found is None:
            raise ServiceError(401, "authorization: unknown or revoked API key")
        self.known[secret] = found
        return found


async def actor(request: Request, authorization: Annotated[str | None, Header()] = None) -> Actor:
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
