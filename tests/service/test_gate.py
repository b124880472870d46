"""Before any of a request's body is read, its key is checked (a client without one cannot make the
server read what it sends), then its size: 413 past the route's limit, whether the Content-Length
says so, is absent (a streamed body, counted as it is read) or lies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi.testclient import TestClient

from socialcredit.service.api import create_app
from socialcredit.service.gate import BODY_LIMIT, INGEST_BODY_LIMIT, MIB

from .conftest import Keys
from .test_contract import concrete, routes_in_order

H = Keys.header
# every route that reads a body, and its limit
BODIES = {"/v1/events": INGEST_BODY_LIMIT, "/v1/relations": INGEST_BODY_LIMIT, "/v1/appeals": BODY_LIMIT,
          "/v1/appeals/p/decision": BODY_LIMIT, "/v1/input-lists/p": BODY_LIMIT}


def post_streamed(app, path: str, headers: dict[str, str], chunks: int) -> tuple[httpx.Response, int]:
    """POST `chunks` MiB of body, streamed as the client makes it (no Content-Length unless `headers`
    gives one), straight to the app: (the answer, the MiB the app read)."""
    read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(chunks):
            read += 1  # counted as the app asks for the next piece
            yield b" " * MIB

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.post(path, content=body(), headers={"content-type": "application/json", **headers})

    return asyncio.run(send()), read


@pytest.mark.parametrize("path", BODIES)
@pytest.mark.parametrize("key", [None, "sck_0123456789ab_guessed"], ids=["no key", "unknown key"])
def test_a_body_sent_without_a_valid_key_is_not_read(lending, path, key):
    service, _, _ = lending
    answer, read = post_streamed(create_app(service), path, H(key) if key else {}, chunks=8)
    assert answer.status_code == 401 and answer.json()["detail"].startswith("authorization:")
    assert read == 0  # not a byte of it: the key is checked from the headers
    assert answer.headers["connection"] == "close"  # and the server reads no more of it
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", BODIES)
def test_a_streamed_body_is_refused_as_it_passes_the_limit(lending, path):
    service, keys, _ = lending
    limit = BODIES[path] // MIB
    answer, read = post_streamed(create_app(service), path, H(keys.admin), chunks=limit + 8)
    assert answer.status_code == 413, answer.text
    assert read == limit + 1  # read up to the piece that passed the limit, and no further
    detail = answer.json()["detail"]
    assert detail.startswith("body: more than this route takes") and f"({limit} MiB" in detail


@pytest.mark.parametrize("path", BODIES)
def test_a_content_length_past_the_limit_is_refused_before_the_body_is_read(lending, path):
    service, keys, _ = lending
    declared = {**H(keys.admin), "content-length": str(BODIES[path] + 1)}
    answer, read = post_streamed(create_app(service), path, declared, chunks=BODIES[path] // MIB + 1)
    assert answer.status_code == 413 and read == 0


def test_a_content_length_that_lies_does_not_lift_the_limit(lending):
    service, keys, _ = lending
    answer, read = post_streamed(create_app(service), "/v1/appeals", {**H(keys.bob), "content-length": "100"},
                                 chunks=4)
    assert answer.status_code == 413 and read == 2


def test_every_route_refuses_a_body_past_its_limit_and_takes_one_at_it(lending):
    service, keys, _ = lending
    app = create_app(service)
    client = TestClient(app)
    routes = {(method, concrete(route.path)) for route in routes_in_order(app.routes)
              for method in (getattr(route, "methods", None) or ()) if method != "HEAD"}
    # the 17 of the API (the fast lanes answer two of them), the 4 of its docs and the 10 of the portal
    assert len(routes) == 31
    for method, path in sorted(routes):
        limit = BODIES.get(path, BODY_LIMIT)
        over = client.request(method, path, content=b" " * (limit + 1), headers=H(keys.admin))
        assert over.status_code == 413, (method, path, over.text)
        at = client.request(method, path, content=b" " * limit, headers=H(keys.admin))
        assert at.status_code != 413, (method, path)
