"""Oversight over HTTP: the audit log, its signed checkpoints and consistency proofs (admin and
auditor keys), and the statistics over everyone (any reader key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from ..auth import role
from ..keys import READERS, Actor
from ..schemas import LARGEST_ID, AuditEntryOut, Checkpoint, Consistency, Stats, refusals
from . import TheService

router = APIRouter(prefix="/v1", tags=["oversight"], responses=refusals(401, 403, 422))
# Who may read the audit log and its checkpoints: the API's routes and the portal's pages ask this.
may_audit = role("admin", "auditor")


@router.get("/audit", response_model=list[AuditEntryOut])
def get_audit(_who: Annotated[Actor, Depends(may_audit)], service: TheService,
              after: Annotated[int, Query(ge=0, le=LARGEST_ID)] = 0,
              limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    return service.audit_log(after, limit)


@router.get("/audit/checkpoint", response_model=Checkpoint, response_model_exclude_none=True,
            responses=refusals(409))
def get_checkpoint(_who: Annotated[Actor, Depends(may_audit)], service: TheService) -> dict[str, Any]:
    """The log's checkpoint now, signed by the server's audit key (and kept in its checkpoint file):
    keep it, and later ask for the proof that the log only grew from it."""
    return service.checkpoint().as_json()


@router.post("/audit/consistency", response_model=Consistency, response_model_exclude_none=True,
             responses=refusals(400, 409))
def post_consistency(kept: Checkpoint, _who: Annotated[Actor, Depends(may_audit)],
                     service: TheService) -> dict[str, Any]:
    """Send a checkpoint you kept: a checkpoint of now, and the RFC 6962 proof that the log it signs
    extends the one yours signed (`socialcredit audit check` verifies both, without the database)."""
    return service.checkpoints.consistency(kept.size)


@router.get("/stats", response_model=Stats, response_model_exclude_unset=True)
def get_stats(_who: Annotated[Actor, Depends(role(*READERS))], service: TheService) -> dict[str, Any]:
    return service.stats.summary()
