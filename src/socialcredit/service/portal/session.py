"""Who is signed in to the portal, and the checks every form post passes.

The key a person signs in with is kept in a cookie the page's scripts cannot read (HttpOnly), that
the browser sends only to this site's own pages (SameSite=Strict, path /portal) and only over TLS
where the portal is served over TLS (Secure); it never appears in a URL. Every request has it
checked as the API checks a bearer key (`auth.KeyRing`: known, not revoked, not expired), so a
revoked key is signed out on its next page. A form post must also carry the form's token (an HMAC
of the key, so it is the same in every server process and another site cannot know it) and, when
the browser says where it comes from (Origin), come from this site.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

from ..auth import KeyRing
from ..errors import ServiceError
from ..keys import Actor

COOKIE = "socialcredit_portal"
PATH = "/portal"


class NotSignedIn(Exception):
    """A portal page asked for without a key that stands; the message says why, if there was a key."""

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


def form_token(key: str) -> str:
    """The token every form of a signed-in page carries."""
    return hmac.new(key.encode(), b"socialcredit portal form", hashlib.sha256).hexdigest()


async def check_key(request: Request, key: str) -> Actor:
    """The actor a key names, checked as the API checks it; ServiceError (401) if it does not stand."""
    keys: KeyRing = request.app.state.keys
    return await keys.actor(f"Bearer {key.strip()}")


async def signed_in(request: Request) -> tuple[Actor, str]:
    """The signed-in actor and their key; NotSignedIn without a key that stands."""
    key = request.cookies.get(COOKIE)
    if not key:
        raise NotSignedIn()
    try:
        who = await check_key(request, key)
    except ServiceError as error:
        if error.status == 401:
            raise NotSignedIn(error.message.removeprefix("authorization: ")) from None
        raise
    request.state.portal_session = (who, key)  # for the page that says a refusal (`routes.page`)
    return who, key


def same_origin(request: Request) -> bool:
    """Whether a post comes from this site, where the browser says (a browser sends Origin with
    every cross-site post)."""
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def check_post(request: Request, key: str, token: object) -> None:
    """Refuse (403) a form post from another site or without the signed-in page's token."""
    if not same_origin(request):
        raise ServiceError(403, "form: this form was sent from another site; open the portal and send it from there")
    if not isinstance(token, str) or not hmac.compare_digest(token, form_token(key)):
        raise ServiceError(403, "form: this form is from another session (or expired); reload the page and send it "
                                "again")


def keep_key(response: Response, request: Request, key: str) -> None:
    response.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", path=PATH,
                        secure=request.url.scheme == "https")


def forget_key(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
