"""Ingest over HTTP: events and relations, by admin and operator keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from ..auth import role
from ..keys import Actor
from ..schemas import EventsIn, Ingested, RelationsAdded, RelationsIn, refusals
from . import TheService

router = APIRouter(prefix="/v1", tags=["ingest"], responses=refusals(400, 401, 403, 422))
Writer = Annotated[Actor, Depends(role("admin", "operator"))]


@router.post("/events", response_model=Ingested)
def post_events(body: EventsIn, who: Writer, service: TheService) -> dict[str, Any]:
    return service.intake.events(body.events, who, body.atomic)


@router.post("/relations", response_model=RelationsAdded)
def post_relations(body: RelationsIn, who: Writer, service: TheService) -> dict[str, Any]:
    return service.intake.relations(((r.subject, r.other) for r in body.relations), who)
