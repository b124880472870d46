"""Appeals over HTTP: filed by a subject for themselves (or by an operator), listed, decided by a
reviewer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from ..auth import Who, check_reader_of, refuse_role, role
from ..keys import READERS, Actor
from ..schemas import LARGEST_ID, AppealIn, AppealOut, DecisionIn, refusals
from . import TheService

router = APIRouter(prefix="/v1/appeals", tags=["appeals"], responses=refusals(401, 403, 422))
FILERS = ("admin", "operator")  # who may file for any subject; a subject key files for itself
# Who may list appeals (a subject key sees only its own) and who may decide them: the API's routes
# and the portal's pages (`service.portal`) both ask these.
may_list_appeals = role(*READERS, "subject")
may_decide = role("admin", "reviewer")


@dataclass
class Filing:
    appeal: AppealIn
    by: Actor


async def filing(body: AppealIn, who: Who) -> Filing:
    """An appeal with who files it, if they may: the subject's own key, or an admin or operator.
    (The body is read here, not again by the route: FastAPI would check it, and name its problems,
    twice.)"""
    return Filing(body, check_filer(who, body.subject))


def check_filer(who: Actor, subject: str) -> Actor:
    """The actor if they may file an appeal for `subject`: that subject's own key, or an admin or operator."""
    if who.role == "subject":
        check_reader_of(who, subject)
    elif who.role not in FILERS:
        raise refuse_role(who, FILERS)
    return who


@router.post("", status_code=201, response_model=AppealOut, responses=refusals(400, 404))
def post_appeal(filed: Annotated[Filing, Depends(filing)], service: TheService) -> dict[str, Any]:
    return service.appeals.file(filed.appeal.subject, filed.appeal.event_ids, filed.appeal.statement, filed.by)


@router.get("", response_model=list[AppealOut])
def get_appeals(who: Annotated[Actor, Depends(may_list_appeals)], service: TheService,
                status: Annotated[str | None, Query(pattern="^(pending|granted|rejected)$")] = None
                ) -> list[dict[str, Any]]:
    return service.appeals.find(status, who)


@router.post("/{appeal_id}/decision", response_model=AppealOut, responses=refusals(400, 404, 409))
def post_decision(appeal_id: Annotated[int, Path(ge=1, le=LARGEST_ID)], body: DecisionIn,
                  who: Annotated[Actor, Depends(may_decide)], service: TheService) -> dict[str, Any]:
    return service.appeals.decide(appeal_id, body.decision, body.note, who)
