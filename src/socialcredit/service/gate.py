"""What every request passes before any of its body is read: its key, then the size of its body.

`Gate` is ASGI middleware around the routes. A request under /v1 goes on only with a key that
stands (`auth.KeyRing`: known, not revoked, not expired), checked from its headers, so a client
without a key cannot make the server read, let alone parse, what it sends; the actor goes on in
the request's state. Then its body is capped: at once if its Content-Length says more than its
route takes, else while it is read (without a Content-Length, or with one that lies), 413 the
moment it passes the limit. A refused request is answered at once; a body still coming is not
read (the answer closes the connection rather than drain it).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import KeyRing
from .errors import ServiceError

MIB = 1024 * 1024
BODY_LIMIT = 1 * MIB  # bytes of a body on every route but ingest's (an appeal's statement: 10,000 characters)
# Ingest's: a full batch (`ingest.MAX_BATCH`, 10,000 events) with every text field 200 characters
# long is under 12 MB of JSON.
INGEST_BODY_LIMIT = 16 * MIB
LIMITS = {"/v1/events": INGEST_BODY_LIMIT, "/v1/relations": INGEST_BODY_LIMIT}


def body_limit(path: str) -> int:
    """The most bytes a request's body may hold on this path."""
    return LIMITS.get(path.rstrip("/"), BODY_LIMIT)


def too_large(limit: int) -> str:
    advice = "split the batch" if limit == INGEST_BODY_LIMIT else "send less"
    return (f"body: more than this route takes ({limit // MIB} MiB; POST /v1/events and /v1/relations take "
            f"{INGEST_BODY_LIMIT // MIB} MiB, every other route {BODY_LIMIT // MIB} MiB); {advice}")


class BodyTooLarge(Exception):
    """Raised to the app by a read that passes the body's limit."""


def content_length(headers: Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str, body_pending: bool) -> None:
    headers = {"www-authenticate": "Bearer"} if status == 401 else {}
    if body_pending:
        headers["connection"] = "close"  # the server reads no more of it: the connection cannot carry on
    await JSONResponse({"detail": message}, status, headers=headers)(scope, receive, send)


class Gate:
    def __init__(self, app: ASGIApp, keys: KeyRing):
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = content_length(headers)
        has_body = bool(length) or "transfer-encoding" in headers  # HTTP/1.1: no body without either
        if (scope["path"] + "/").startswith("/v1/"):
            try:
                who = await self.keys.actor(headers.get("authorization"))
            except ServiceError as error:
                await refuse(scope, receive, send, error.status, error.message, has_body)
                return
            scope.setdefault("state", {})["actor"] = who
        if not has_body:
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        if length is not None and length > limit:
            await refuse(scope, receive, send, 413, too_large(limit), True)
            return
        await self.capped(scope, receive, send, limit)

    async def capped(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """The app, its body counted as it reads it: past `limit`, the read raises, and whatever the
        app answers to that is replaced by the 413."""
        received = 0
        over = started = False

        async def read() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge(f"more than {limit} bytes")
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's answer to a body cut short (FastAPI's 400) gives way to the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, read, answer)
        except Exception:
            if not over:
                raise
        if over and not started:
            await refuse(scope, receive, send, 413, too_large(limit), True)
