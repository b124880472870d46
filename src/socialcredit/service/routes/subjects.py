"""One subject's file over HTTP: their record, an entitlement check, their events and history; for
any reader key, or the subject's own.

The record and the entitlement check are the hot reads: they answer a JSONResponse of the room's
plain data (no second pass of validation and encoding; tests/service/test_contract.py checks the
answers against `Record` and `Entitlement`), and they await the read's audit commit without
holding a thread (`Subjects.record_async`). They are also served by `fast_lanes`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.routing import Route

from ..auth import actor, check_reader_of, reader_of
from ..keys import Actor
from ..schemas import Entitlement, HistoryEntry, Record, StoredEvent
from . import TheService

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])
Reader = Annotated[Actor, Depends(reader_of)]


@router.get("/{subject}", response_model=Record)
async def get_subject(subject: str, who: Reader, service: TheService) -> JSONResponse:
    return JSONResponse(await service.subjects.record_async(subject, who))


@router.get("/{subject}/events", response_model=list[StoredEvent])
def get_events(subject: str, who: Reader, service: TheService) -> list[dict[str, Any]]:
    return service.subjects.events(subject, who)


@router.get("/{subject}/history", response_model=list[HistoryEntry])
def get_history(subject: str, who: Reader, service: TheService) -> list[dict[str, Any]]:
    return service.subjects.history(subject, who)


@router.get("/{subject}/entitlements/{action}", response_model=Entitlement)
async def get_entitlement(subject: str, action: str, who: Reader, service: TheService) -> JSONResponse:
    return JSONResponse(await service.subjects.entitlement_async(subject, action, who))


# The two hot reads again, as plain Starlette routes that `api.create_app` puts ahead of the
# routes above: they take those GETs, and skip FastAPI's per-request dependency solving and
# parameter validation (two path strings and one header: nothing to validate), half the
# framework's cost per request (benchmarks/RESULTS.md, `socialcredit serve`). The routes above stay
# for the OpenAPI description and would answer alike without these (tests/service/test_reads.py,
# `test_the_fast_routes_answer_as_the_fastapi_routes_do`): the same key check, role check, room
# and audit entry. They are the only routes that shadow others (tests/service/test_contract.py).
async def _subject_lane(request: Request) -> JSONResponse:
    subject = request.path_params["subject"]
    who = check_reader_of(await actor(request, request.headers.get("authorization")), subject)
    return JSONResponse(await request.app.state.service.subjects.record_async(subject, who))


async def _entitlement_lane(request: Request) -> JSONResponse:
    subject, action = request.path_params["subject"], request.path_params["action"]
    who = check_reader_of(await actor(request, request.headers.get("authorization")), subject)
    return JSONResponse(await request.app.state.service.subjects.entitlement_async(subject, action, who))


def fast_lanes() -> list[Route]:
    lanes = []
    for path, lane in ((f"{router.prefix}/{{subject}}", _subject_lane),
                       (f"{router.prefix}/{{subject}}/entitlements/{{action}}", _entitlement_lane)):
        route = Route(path, lane, methods=["GET"], include_in_schema=False)
        route.methods = {"GET"}  # Starlette adds HEAD to a GET route: a HEAD stays a 405, as on the routes above
        lanes.append(route)
    return lanes
