"""Who is signed in to the portal, and the checks every form post passes.

Signing in with an API key starts a session: a random id in a cookie, kept on the server (the table
`portal_sessions`, its hash only, so every server process knows it) with the key it stands for and
when it ends (`SESSION_HOURS` after signing in). The cookie is never an API credential: the API key
is not in it, and the id opens portal pages alone. Every page checks the session's row and its key's
(not revoked, not expired, not deleted), so signing out, the key's revocation or the session's end
signs the browser out on its next page. The cookie is one the page's scripts cannot read (HttpOnly),
that the browser sends only to this site's own pages (SameSite=Strict, path /portal) and only over
TLS where the portal is served over TLS (Secure); it never appears in a URL. A form post must also
carry the form's token (an HMAC of the session id, so another site cannot know it) and, when the
browser says where it comes from (Origin), come from this site.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..auth import KeyRing
from ..db import ApiKey, PortalSession, utcnow
from ..errors import ServiceError
from ..keys import Actor, as_utc, refusal
from ..store import Store

COOKIE = "socialcredit_portal"
PATH = "/portal"
SESSION_HOURS = 8  # a working day: after it, sign in again
ENDED = "Your session ended (signed out, or past its {hours} hours): sign in again."


class NotSignedIn(Exception):
    """A portal page asked for without a session that stands; the message says why, if there was one."""

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


def form_token(session_id: str) -> str:
    """The token every form of a signed-in page carries."""
    return hmac.new(session_id.encode(), b"socialcredit portal form", hashlib.sha256).hexdigest()


def _hashed(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _store(request: Request) -> Store:
    keys: KeyRing = request.app.state.keys
    return keys.store


async def check_key(request: Request, key: str) -> Actor:
    """The actor a key names, checked as the API checks it; ServiceError (401) if it does not stand."""
    keys: KeyRing = request.app.state.keys
    return await keys.actor(f"Bearer {key.strip()}")


async def start_session(request: Request, key: str) -> str:
    """Sign in with `key` (ServiceError 401 if it does not stand): the new session's id, for the cookie."""
    who = await check_key(request, key)
    session_id = secrets.token_urlsafe(32)
    store = _store(request)

    def write() -> None:
        now = utcnow()
        with store.writing() as session:
            session.execute(delete(PortalSession).where(PortalSession.expires_at <= now))  # the ended, swept
            session.add(PortalSession(id_hash=_hashed(session_id), key_id=who.key_id,
                                      expires_at=now + timedelta(hours=SESSION_HOURS)))

    await run_in_threadpool(write)
    return session_id


def _session_actor(store: Store, session_id: str, now: datetime) -> Actor | str:
    """The session's actor, or why it no longer stands."""
    with store.reader() as session:
        row = session.execute(select(PortalSession, ApiKey)
                              .join(ApiKey, ApiKey.id == PortalSession.key_id, isouter=True)
                              .where(PortalSession.id_hash == _hashed(session_id))).first()
    if row is None or as_utc(row[0].expires_at) <= now:
        return ENDED.format(hours=SESSION_HOURS)
    key: ApiKey | None = row[1]
    if key is None:
        return "authorization: this API key no longer exists; ask an admin for a new one"
    refused = refusal(key, now)
    if refused is not None:
        return refused
    return Actor(key.id, key.role, key.subject)


async def signed_in(request: Request) -> tuple[Actor, str]:
    """The signed-in actor and their session id; NotSignedIn without a session that stands."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        raise NotSignedIn()
    found = await run_in_threadpool(_session_actor, _store(request), session_id, utcnow())
    if isinstance(found, str):
        raise NotSignedIn(found.removeprefix("authorization: "))
    request.state.portal_session = (found, session_id)  # for the page that says a refusal (`routes.page`)
    return found, session_id


async def end_session(request: Request, session_id: str) -> None:
    """Sign out: the session's row goes, so its cookie opens nothing from now on, wherever it was copied."""
    store = _store(request)

    def forget() -> None:
        with store.writing() as session:
            session.execute(delete(PortalSession).where(PortalSession.id_hash == _hashed(session_id)))

    await run_in_threadpool(forget)


def same_origin(request: Request) -> bool:
    """Whether a post comes from this site, where the browser says (a browser sends Origin with
    every cross-site post)."""
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def check_post(request: Request, session_id: str, token: object) -> None:
    """Refuse (403) a form post from another site or without the signed-in page's token."""
    if not same_origin(request):
        raise ServiceError(403, "form: this form was sent from another site; open the portal and send it from there")
    if not isinstance(token, str) or not hmac.compare_digest(token, form_token(session_id)):
        raise ServiceError(403, "form: this form is from another session (or expired); reload the page and send it "
                                "again")


def keep_session(response: Response, request: Request, session_id: str) -> None:
    response.set_cookie(COOKIE, session_id, max_age=SESSION_HOURS * 3600, httponly=True, samesite="strict",
                        path=PATH, secure=request.url.scheme == "https")


def forget_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
