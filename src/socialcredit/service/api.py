"""The HTTP API (FastAPI; OpenAPI at /openapi.json), under /v1. Roles by bearer API key.

`create_app` puts together the routers (`routes/`), the key ring and the error answers; start-up
work (loading the scoring core's kernels, then freezing what start-up made out of the garbage
collector's reach) runs in the lifespan handler, before the first request. While it serves, the app
signs a checkpoint of the audit log every `checkpoint_every` seconds the log has grown, and one
more as it stops (`checkpoints.py`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from .auth import KeyRing
from .core import Service
from .errors import ServiceError
from .gate import Gate
from .routes import appeals, audit, events, inputlists, subjects
from .schemas import Health


def warm_and_freeze(service: Service) -> None:
    """Before serving: load the scoring core's compiled kernels (see Scorer.warm), then move
    everything made so far (the libraries, the scheme, the app) out of the garbage collector's
    reach. A full collection otherwise walks every object of SQLAlchemy, pandas, NumPy and
    FastAPI each time it comes (a stall for every request behind it: benchmarks/RESULTS.md,
    `socialcredit serve`); after this, only what serving made since."""
    service.warm()
    gc.collect()
    gc.freeze()


def field_problem(error: Any) -> dict[str, str]:
    """One of FastAPI's validation errors as {field, problem}: our own rules' words as they are
    (without pydantic's "Value error, "), and where a body is not JSON, at which character."""
    place = [str(p) for p in error["loc"] if p != "body"]
    if error["type"] == "json_invalid":
        return {"field": "body", "problem": f"not JSON ({error['ctx']['error']}) at character {place[0]}"}
    if error["type"] == "value_error":
        return {"field": ".".join(place), "problem": str(error["ctx"]["error"])}
    return {"field": ".".join(place), "problem": error["msg"]}


def methods_at(routes: list[BaseRoute], scope: Scope) -> set[str]:
    """The methods every route whose path matches the request's takes (an included router's routes
    too: FastAPI keeps one whole, as `original_router`)."""
    found: set[str] = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found |= methods_at(included.routes, scope)
        elif route.matches(scope)[0] is not Match.NONE:
            found |= getattr(route, "methods", None) or set()
    return found


CHECKPOINT_EVERY = 60.0  # seconds between checkpoints while the log grows
# How long a thread running Python keeps the GIL while another waits for it (Python's default: 5 ms).
# An ingest's checks, digests and scoring run Python for tens of milliseconds at a time, and a read
# waits for the GIL at each step it takes between its database calls, its scoring and its audit
# commit: up to the interval at each. A shorter one bounds those waits (benchmarks/RESULTS.md,
# 2026-12-06, "ingest at 20k events/s").
GIL_SWITCH_SECONDS = 0.001
log = logging.getLogger("socialcredit.audit")


async def checkpoint(service: Service) -> None:
    """Sign a checkpoint of the audit log (in the thread pool: it reads the entries since the last);
    a refusal (an entry the server did not write), or a database that does not answer, is logged,
    and serving goes on: the next one is tried a minute later."""
    try:
        await run_in_threadpool(service.checkpoint)
    except ServiceError as error:
        log.error("%s", error.message)
    except Exception as error:  # the task that signs them every minute must outlive a database's outage
        log.error("audit: no checkpoint signed now (%s); the next is tried in a minute", error)


async def keep_checkpoints(service: Service, every: float) -> None:
    while True:
        await checkpoint(service)
        await asyncio.sleep(every)


def create_app(service: Service, checkpoint_every: float = CHECKPOINT_EVERY) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(warm_and_freeze, service)  # seconds of compiled loading: not on the event loop
        switch = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)  # for the whole process while it serves (restored after)
        checkpoints = asyncio.create_task(keep_checkpoints(service, checkpoint_every))
        yield
        checkpoints.cancel()
        with suppress(asyncio.CancelledError):
            await checkpoints
        await checkpoint(service)  # the log as the server leaves it
        sys.setswitchinterval(switch)

    app = FastAPI(title="socialcredit", version="1", lifespan=lifespan,
                  description=f"Scheme '{service.scheme.id}' ({service.scheme.title}), served live: every point "
                              "has a reason, every sanction an explanation and an appeal.")
    app.state.service = service
    app.state.keys = KeyRing(service.store)
    app.add_middleware(Gate, keys=app.state.keys)  # the key, then the body's size, before any of the body is read

    # Every refusal answers {"detail": ...}: a sentence (`schemas.Refused`), or for a 422 each field's
    # problem (`schemas.Invalid`), whether FastAPI or a room found it.
    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, error: ServiceError) -> JSONResponse:
        return JSONResponse(status_code=error.status, content={"detail": error.detail()})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if error.status_code == 405:  # Starlette's Allow names the first route of the path's methods: name all
            error.headers = {**(error.headers or {}), "Allow": ", ".join(sorted(methods_at(app.routes, request.scope)))}
        return await http_exception_handler(request, error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": [field_problem(e) for e in error.errors()]})

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "scheme": service.scheme.id}

    for area in (events, subjects, appeals, inputlists, audit):
        app.include_router(area.router)
    app.router.routes[0:0] = subjects.fast_lanes()
    from .portal import portal  # it uses this module's field_problem: imported once this module is whole

    app.router.routes.extend(portal())  # the same rooms and checks in the browser, at /portal
    return app
