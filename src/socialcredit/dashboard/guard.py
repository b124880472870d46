"""What keeps other web pages out of the dashboard. It listens on the loopback address only, but a
page open in the same browser can still send it requests: a cross-site form (answered by the CSRF
token every form carries, and the Origin check), or a name of the page's own that its DNS points at
127.0.0.1 (DNS rebinding: answered by the Host check)."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def loopback_hosts(port: int | None) -> frozenset[str]:
    """The Host headers the dashboard answers: its loopback address and port (any port's when `port`
    is None, as in tests that never listen)."""
    if port is None:
        return frozenset(LOOPBACK_NAMES)
    return frozenset(f"{name}:{port}" for name in LOOPBACK_NAMES)


class LoopbackOnly:
    """Refuses (403) a request whose Host is not the dashboard's loopback address and port, or whose
    Origin, when the browser sends one, is another site than the dashboard itself."""

    def __init__(self, app: ASGIApp, port: int | None) -> None:
        self.app = app
        self.hosts = loopback_hosts(port)
        self.any_port = port is None

    def allowed(self, host: str) -> bool:
        return (host.rsplit(":", 1)[0] if self.any_port else host) in self.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        host, origin = headers.get("host", ""), headers.get("origin")
        problem = ""
        if not self.allowed(host):
            problem = (f"The dashboard answers only at its own loopback address, not at Host '{host}': "
                       "open it at the address it printed when it started.")
        elif origin is not None and origin != f"http://{host}":
            problem = (f"A request from another site ({origin}) is refused: the dashboard takes requests "
                       "only from its own pages.")
        if problem:
            await PlainTextResponse(problem, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def token_matches(form: dict[str, Any], token: str) -> bool:
    """Whether a posted form carries the dashboard's CSRF token (compared in constant time)."""
    given = form.get("csrf_token")
    return isinstance(given, str) and hmac.compare_digest(given.encode(), token.encode())
