"""The HTTP API (FastAPI; OpenAPI at /openapi.json), under /v1. Roles by bearer API key.

(No `from __future__ import annotations` here: FastAPI reads the annotations of the route
functions, which name the local `Who` dependency, at definition time.)
"""


from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from .core import Service
from .errors import ServiceError
from .ingest import MAX_BATCH
from .keys import READERS, Actor, lookup


class EventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[dict[str, Any]] = Field(description=f"At most {MAX_BATCH:,} events, each {{subject, kind, time, "
                                                     "value?, weight?, source?, actor?, id?}; time is an ISO date "
                                                     "or datetime, or days since 1970-01-01; an id is stored once.")
    atomic: bool = Field(False, description="All or nothing: one invalid event stores none.")


class RelationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1)
    other: str = Field(min_length=1)


class RelationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    relations: list[RelationIn]


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1)
    event_ids: list[str] = Field(min_length=1, description="The events contested.")
    statement: str = Field(min_length=1, max_length=10_000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str = Field(description="'void' (the events drop out) or 'uphold' (they stand).")
    note: str = Field("", max_length=10_000)


def create_app(service: Service) -> FastAPI:
    app = FastAPI(title="socialcredit", version="1",
                  description=f"Scheme '{service.scheme.id}' ({service.scheme.title}), served live: every point "
                              "has a reason, every sanction an explanation and an appeal.")

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, error: ServiceError) -> JSONResponse:
        return JSONResponse(status_code=error.status, content={"detail": error.message})

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]}
                    for e in error.errors()]
        return JSONResponse(status_code=422, content={"detail": problems})

    known: dict[str, Actor] = {}  # keys are never changed once made: look each up once

    def find(secret: str) -> Actor | None:
        with service.store.reader() as session:
            key = lookup(session, secret)
        return None if key is None else Actor(key.id, key.role, key.subject)

    # async, so that a known key costs no trip to the thread pool; an unknown one is looked up there
    async def actor(authorization: Annotated[str | None, Header()] = None) -> Actor:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ServiceError(401, "authorization: send 'Authorization: Bearer <api key>'")
        secret = authorization[7:].strip()
        if secret in known:
            return known[secret]
        found = await run_in_threadpool(find, secret)
        if found is None:
            raise ServiceError(401, "authorization: unknown or revoked API key")
        known[secret] = found
        return found

    Who = Annotated[Actor, Depends(actor)]

    def need(who: Actor, *roles: str) -> None:
        if who.role not in roles:
            raise ServiceError(403, f"role: a {who.role} key may not do this (needs {' or '.join(roles)})")

    def may_read(who: Actor, subject: str) -> None:
        if who.role == "subject":
            if who.subject != subject:  # nothing of one subject reaches another
                raise ServiceError(403, "subject: a subject key reads only its own record")
        else:
            need(who, *READERS)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "scheme": service.scheme.id}

    @app.post("/v1/events")
    def post_events(body: EventsIn, who: Who) -> dict[str, Any]:
        need(who, "admin", "operator")
        return service.ingest(body.events, who, body.atomic)

    @app.post("/v1/relations")
    def post_relations(body: RelationsIn, who: Who) -> dict[str, Any]:
        need(who, "admin", "operator")
        return service.add_relations(((r.subject, r.other) for r in body.relations), who)

    # The two hot reads answer with a JSONResponse of plain data: no second pass of validation and
    # encoding over what the service built. The read (one short read on a kept connection, then
    # scoring one subject) runs in the thread pool, and the audit commit of the read is awaited
    # without holding a thread.
    async def read_record(subject: str, who: Actor) -> JSONResponse:
        may_read(who, subject)
        return JSONResponse(await service.subjects.record_async(subject, who))

    async def check_entitlement(subject: str, action: str, who: Actor) -> JSONResponse:
        may_read(who, subject)
        return JSONResponse(await service.subjects.entitlement_async(subject, action, who))

    @app.get("/v1/subjects/{subject}")
    async def get_subject(subject: str, who: Who) -> JSONResponse:
        return await read_record(subject, who)

    @app.get("/v1/subjects/{subject}/events")
    def get_events(subject: str, who: Who) -> list[dict[str, Any]]:
        may_read(who, subject)
        return service.subjects.events(subject, who)

    @app.get("/v1/subjects/{subject}/history")
    def get_history(subject: str, who: Who) -> list[dict[str, Any]]:
        may_read(who, subject)
        return service.subjects.history(subject, who)

    @app.get("/v1/subjects/{subject}/entitlements/{action}")
    async def get_entitlement(subject: str, action: str, who: Who) -> JSONResponse:
        return await check_entitlement(subject, action, who)

    # The same two reads again, as plain Starlette routes put first: they take the GETs, and skip
    # FastAPI's per-request dependency solving and parameter validation (two path strings and one
    # header: nothing to validate), half the framework's cost per request. The FastAPI routes above
    # stay for the OpenAPI description (and would answer if these were taken away); both call the
    # same functions, with the same key check, roles and audit entry. (`methods` is set after
    # construction, as Starlette adds HEAD to a GET route: a HEAD stays a 405, as before.)
    async def subject_lane(request: Request) -> JSONResponse:
        who = await actor(request.headers.get("authorization"))
        return await read_record(request.path_params["subject"], who)

    async def entitlement_lane(request: Request) -> JSONResponse:
        who = await actor(request.headers.get("authorization"))
        return await check_entitlement(request.path_params["subject"], request.path_params["action"], who)

    for path, lane in (("/v1/subjects/{subject}", subject_lane),
                       ("/v1/subjects/{subject}/entitlements/{action}", entitlement_lane)):
        route = Route(path, lane, methods=["GET"], include_in_schema=False)
        route.methods = {"GET"}
        app.router.routes.insert(0, route)

    @app.post("/v1/appeals", status_code=201)
    def post_appeal(body: AppealIn, who: Who) -> dict[str, Any]:
        if who.role == "subject":
            may_read(who, body.subject)
        else:
            need(who, "admin", "operator")
        return service.appeals.file(body.subject, body.event_ids, body.statement, who)

    @app.get("/v1/appeals")
    def get_appeals(who: Who, status: Annotated[str | None, Query(pattern="^(pending|voided|upheld)$")] = None
                    ) -> list[dict[str, Any]]:
        if who.role != "subject":
            need(who, *READERS)
        return service.appeals.find(status, who)

    @app.post("/v1/appeals/{appeal_id}/decision")
    def post_decision(appeal_id: int, body: DecisionIn, who: Who) -> dict[str, Any]:
        need(who, "admin", "reviewer")
        return service.appeals.decide(appeal_id, body.decision, body.note, who)

    @app.get("/v1/audit")
    def get_audit(who: Who, after: int = 0, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000
                  ) -> list[dict[str, Any]]:
        need(who, "admin", "auditor")
        return service.audit_log(after, limit)

    @app.get("/v1/stats")
    def get_stats(who: Who) -> dict[str, Any]:
        need(who, *READERS)
        return service.stats.summary()

    return app
