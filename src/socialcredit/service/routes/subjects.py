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

from ..auth import Who, actor, check_reader_of, reader_of, refuse_role, role
from ..errors import ServiceError
from ..keys import Actor
from ..schemas import Entitlement, Erased, Export, HistoryEntry, Record, StoredEvent, refusals
from ..schemas import SubjectInPath as Subject
from . import TheService

router = APIRouter(prefix="/v1/subjects", tags=["subjects"], responses=refusals(401, 403, 404, 422, 503))
Reader = Annotated[Actor, Depends(reader_of)]


@router.get("/{subject}", response_model=Record)
async def get_subject(subject: Subject, who: Reader, service: TheService) -> JSONResponse:
    return JSONResponse(await service.subjects.record_async(subject, who))


@router.get("/{subject}/events", response_model=list[StoredEvent])
def get_events(subject: Subject, who: Reader, service: TheService) -> list[dict[str, Any]]:
    return service.subjects.events(subject, who)


@router.get("/{subject}/history", response_model=list[HistoryEntry])
def get_history(subject: Subject, who: Reader, service: TheService) -> list[dict[str, Any]]:
    return service.subjects.history(subject, who)


@router.get("/{subject}/entitlements/{action}", response_model=Entitlement)
async def get_entitlement(subject: Subject, action: str, who: Reader, service: TheService) -> JSONResponse:
    return JSONResponse(await service.subjects.entitlement_async(subject, action, who))


@router.delete("/{subject}", response_model=Erased)
def delete_subject(subject: str, who: Annotated[Actor, Depends(role("admin"))], service: TheService
                   ) -> dict[str, Any]:
    """Erase everything held about the subject (GDPR Art. 17); the erasure is in the audit log."""
    return service.erase(subject, who)


async def owner_or_admin(subject: str, who: Who) -> Actor:
    """The subject's own key, or an admin's: who may take the subject's data out."""
    if who.role == "subject":
        if who.subject != subject:
            raise ServiceError(403, "subject: a subject key exports only its own data")
    elif who.role != "admin":
        raise refuse_role(who, ("admin", "the subject's own key"))
    return who


@router.get("/{subject}/export", response_model=Export)
def get_export(subject: str, who: Annotated[Actor, Depends(owner_or_admin)], service: TheService) -> dict[str, Any]:
    """Everything held about the subject, as JSON (GDPR Art. 15 and 20), who read it and when included."""
    return service.export(subject, who)


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
