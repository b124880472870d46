"""The HTTP API (FastAPI; OpenAPI at /openapi.json), under /v1. Roles by bearer API key.

`create_app` puts together the routers (`routes/`), the key ring and the error answers; start-up
work (loading the scoring core's kernels, then freezing what start-up made out of the garbage
collector's reach) runs in the lifespan handler, before the first request.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .auth import KeyRing
from .core import Service
from .errors import ServiceError
from .gate import Gate
from .routes import appeals, audit, events, subjects
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


def create_app(service: Service) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(warm_and_freeze, service)  # seconds of compiled loading: not on the event loop
        yield

    app = FastAPI(title="socialcredit", version="1", lifespan=lifespan,
                  description=f"Scheme '{service.scheme.id}' ({service.scheme.title}), served live: every point "
                              "has a reason, every sanction an explanation and an appeal.")
    app.state.service = service
    app.state.keys = KeyRing(service.store)
    app.add_middleware(Gate, keys=app.state.keys)  # the key, then the body's size, before any of the body is read

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, error: ServiceError) -> JSONResponse:
        return JSONResponse(status_code=error.status, content={"detail": error.message})

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]}
                    for e in error.errors()]
        return JSONResponse(status_code=422, content={"detail": problems})

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "scheme": service.scheme.id}

    for area in (events, subjects, appeals, audit):
        app.include_router(area.router)
    app.router.routes[0:0] = subjects.fast_lanes()
    return app
