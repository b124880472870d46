"""The API's contract: every route says what it answers (a response model) and who may call it (a
role dependency on the key); no route is shadowed by another but the two fast lanes, which answer
as the routes they shadow; the hot reads' answers, which skip FastAPI's validation, are what their
models say; reads never hold up the event loop; start-up work runs in the lifespan."""

from __future__ import annotations

import gc
import re
import threading
import time

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from socialcredit.service import auth
from socialcredit.service.api import create_app
from socialcredit.service.schemas import Entitlement, Record

from .conftest import BOB, Keys

H = Keys.header


def routes_in_order(routes: list) -> list:
    """The routes as requests try them, included routers' routes in their place (FastAPI keeps an
    included router whole in the app's routes, as `original_router`)."""
    found = []
    for route in routes:
        included = getattr(route, "original_router", None)
        found += routes_in_order(included.routes) if included is not None else [route]
    return found


def dependencies_of(dependant) -> set:
    """Every function a route depends on, however deep."""
    return {d.call for d in dependant.dependencies} | {c for d in dependant.dependencies for c in dependencies_of(d)}


def test_every_route_has_a_response_model_and_every_v1_route_a_key_check(lending):
    service, _, _ = lending
    routes = [r for r in routes_in_order(create_app(service).routes) if isinstance(r, APIRoute)]
    assert len(routes) == 17  # POST /v1/input-lists/{name} the last added
    for route in routes:
        assert route.response_model is not None, route.path
        calls = dependencies_of(route.dependant)
        assert (auth.actor in calls) == route.path.startswith("/v1"), route.path


def concrete(path: str) -> str:
    """A path of the route template, each parameter filled in."""
    return re.sub(r"{[^}]+}", "p", path)


def test_no_route_is_shadowed_but_by_its_fast_lane(lending):
    service, _, _ = lending
    routes = [r for r in routes_in_order(create_app(service).routes) if isinstance(r, Route)]
    shadowed = []
    for later, route in enumerate(routes):
        for earlier in routes[:later]:
            if (earlier.methods or set()) & (route.methods or set()) and earlier.path_regex.match(concrete(route.path)):
                shadowed.append((type(earlier).__name__, earlier.path, type(route).__name__, route.path))
    assert shadowed == [("Route", "/v1/subjects/{subject}", "APIRoute", "/v1/subjects/{subject}"),
                        ("Route", "/v1/subjects/{subject}/entitlements/{action}", "APIRoute",
                         "/v1/subjects/{subject}/entitlements/{action}")]


def test_the_hot_reads_answer_what_their_models_say(lending):
    service, keys, _ = lending
    client = TestClient(create_app(service))
    client.post("/v1/events", json={"events": BOB}, headers=H(keys.operator))
    for subject in ("bob", "alice"):
        record = client.get(f"/v1/subjects/{subject}", headers=H(keys.admin)).json()
        assert Record.model_validate(record).model_dump(mode="json") == record
        check = client.get(f"/v1/subjects/{subject}/entitlements/loan", headers=H(keys.admin)).json()
        assert Entitlement.model_validate(check).model_dump(mode="json", exclude_unset=True) == check
    assert "because" in client.get("/v1/subjects/bob/entitlements/loan", headers=H(keys.admin)).json()


def test_a_slow_read_does_not_hold_up_other_requests(lending, monkeypatch):
    service, keys, _ = lending
    scoring = service.scorer.score

    def slow(*args, **kwargs):
        time.sleep(1.5)
        return scoring(*args, **kwargs)

    monkeypatch.setattr(service, "warm", lambda: None)
    try:
        with TestClient(create_app(service)) as client:  # one event loop for every request, as a server has
            client.post("/v1/events", json={"events": BOB}, headers=H(keys.operator))
            monkeypatch.setattr(service.scorer, "score", slow)
            reader = threading.Thread(target=client.get, args=("/v1/subjects/bob",), kwargs={"headers": H(keys.bob)})
            reader.start()
            time.sleep(0.3)  # the read is scoring now
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            waited = time.perf_counter() - started
            reader.join()
    finally:
        gc.unfreeze()  # the lifespan froze this test process's objects
    assert waited < 0.75  # answered while the read scores, not after it


def test_start_up_work_runs_in_the_lifespan_before_the_first_request(lending, monkeypatch):
    service, keys, _ = lending
    warmed: list[float] = []
    monkeypatch.setattr(service, "warm", lambda: warmed.append(time.perf_counter()))
    app = create_app(service)
    assert not warmed  # building the app does no start-up work
    try:
        with TestClient(app) as client:
            assert len(warmed) == 1
            assert client.get("/v1/subjects/nobody", headers=H(keys.admin)).status_code == 404
    finally:
        gc.unfreeze()  # settling froze this test process's objects
    assert len(warmed) == 1
