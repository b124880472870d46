"""Input lists over HTTP: whoever supplies another body's list the scheme reads (a `supplier` key,
or an admin) lists and delists its members (`service.inputlists`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from ..auth import role
from ..inputlists import Change
from ..keys import Actor
from ..schemas import ListChanged, ListChangesIn, refusals
from . import TheService

router = APIRouter(prefix="/v1/input-lists", tags=["input lists"], responses=refusals(400, 401, 403, 404, 422))
may_supply = role("admin", "supplier")


@router.post("/{name}", response_model=ListChanged)
def post_list_changes(name: str, body: ListChangesIn, who: Annotated[Actor, Depends(may_supply)],
                      service: TheService) -> dict[str, Any]:
    """List and delist subjects on one of the scheme's input lists, each with the day it took effect
    and the supplier's reference; stored whole or not at all, audited, and the subjects it moves
    rescored at once. Sent again, it changes nothing."""
    listed, delisted = ([Change(c.subject, c.on, c.source) for c in given] for given in (body.listed, body.delisted))
    return service.input_lists.change(name, listed, delisted, who)
