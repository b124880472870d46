"""Oversight over HTTP: the audit log (admin and auditor keys) and the statistics over everyone
(any reader key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from ..auth import role
from ..keys import READERS, Actor
from ..schemas import LARGEST_ID, AuditEntryOut, Stats, refusals
from . import TheService

router = APIRouter(prefix="/v1", tags=["oversight"], responses=refusals(401, 403, 422))


@router.get("/audit", response_model=list[AuditEntryOut])
def get_audit(_who: Annotated[Actor, Depends(role("admin", "auditor"))], service: TheService,
              after: Annotated[int, Query(ge=0, le=LARGEST_ID)] = 0,
              limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    return service.audit_log(after, limit)


@router.get("/stats", response_model=Stats, response_model_exclude_unset=True)
def get_stats(_who: Annotated[Actor, Depends(role(*READERS))], service: TheService) -> dict[str, Any]:
    return service.stats.summary()
