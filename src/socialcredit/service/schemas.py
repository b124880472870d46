"""The HTTP API's contract: what each route takes and what it answers, as pydantic models (and so
in the OpenAPI document at /openapi.json).

Answers are strict (`extra="forbid"`): a field a room adds without adding it here fails the tests'
check of every answer against its model (tests/service/test_contract.py), not silently.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .appeals import MAX_EVENT_IDS
from .ingest import MAX_BATCH


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- what the routes take ------------------------------------------------------------------------
class EventsIn(Strict):
    events: list[dict[str, Any]] = Field(description=f"At most {MAX_BATCH:,} events, each {{subject, kind, time, "
                                                     "value?, weight?, source?, actor?, id?}; time is an ISO date "
                                                     "or datetime, or days since 1970-01-01; an id is stored once.")
    atomic: bool = Field(False, description="All or nothing: one invalid event stores none.")


class RelationIn(Strict):
    subject: str = Field(min_length=1)
    other: str = Field(min_length=1)


class RelationsIn(Strict):
    relations: list[RelationIn]


class AppealIn(Strict):
    subject: str = Field(min_length=1)
    event_ids: list[str] = Field(min_length=1, max_length=MAX_EVENT_IDS,
                                 description=f"The subject's events contested, at most {MAX_EVENT_IDS}.")
    statement: str = Field(min_length=1, max_length=10_000)


class DecisionIn(Strict):
    decision: str = Field(description="'void' (the events drop out) or 'uphold' (they stand).")
    note: str = Field("", max_length=10_000)


# --- what they answer (fields in the order the answer gives them) ---------------------------------
class Health(Strict):
    status: str
    scheme: str


class Rejected(Strict):
    index: int = Field(description="The event's place in the batch, from 0.")
    field: str
    problem: str = Field(description="What is wrong and how to fix it, as `socialcredit score` says it of a row.")


class Ingested(Strict):
    stored: int
    duplicates: list[str] = Field(description="Ids stored already, or given twice in the batch: not stored again.")
    rejected: list[Rejected] = Field(description="The first problem of each invalid event.")


class RelationsAdded(Strict):
    added: int
    existing: int


class Record(Strict):
    subject: str
    scheme: str
    scheme_version: str
    as_of: str
    as_of_days: float
    score: float | None = Field(description="None while the subject is unscored.")
    pre: float | None
    tier: str | None
    capped_by: str | None = Field(description="The tier cap that held the tier down, if one did.")
    scored: bool
    unscored_by: list[str]
    lists: dict[str, bool]
    entitlements: dict[str, bool]
    components: dict[str, float]
    features: dict[str, float]
    reasons: list[dict[str, Any]] = Field(description="Every reason code that applies, the one that decides first.")


class StoredEvent(Strict):
    # a number may have been stored as one by an earlier version: it is answered as text
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
    id: str
    kind: str
    time: str
    value: float
    weight: float
    source: str | None
    status: str = Field(description="'active', or 'voided' by an appeal.")


class Because(Strict):
    rule: str
    lists: list[str]
    tier: str | None
    score: float | None
    components: list[dict[str, Any]]
    events: list[StoredEvent] = Field(description="The subject's events the rule rests on, oldest first.")
    unscored: list[dict[str, Any]] | None = Field(None, description="Given where the rule reads what the unscored "
                                                                    "lack, and the subject is unscored.")
    tier_cap: dict[str, Any] | None = Field(None, description="Given where the rule reads the tier and a cap held "
                                                              "it down.")


class HowToAppeal(Strict):
    how: str
    events_you_can_contest: list[str]


class Entitlement(Strict):
    subject: str
    action: str
    allowed: bool
    as_of: str
    scheme: str
    scheme_version: str
    because: Because | None = Field(None, description="Given only when denied.")
    appeal: HowToAppeal | None = Field(None, description="Given only when denied.")


class HistoryEntry(Strict):
    as_of: str
    score: float | None
    tier: str
    lists: dict[str, bool]
    scheme_version: str


class AppealOut(Strict):
    id: int
    subject: str
    event_ids: list[str]
    statement: str
    status: str = Field(description="'pending', 'voided' or 'upheld'.")
    filed_at: str | None
    decided_at: str | None
    note: str | None


class AuditEntryOut(Strict):
    seq: int
    at: str
    actor: str
    action: str
    subject: str | None
    detail: dict[str, Any]
    hash: str


class ScoreSummary(Strict):
    mean: float | None
    p10: float | None
    p50: float | None
    p90: float | None
    histogram: list[int] = Field(description="Ten equal bins over the scheme's scale.")


class Stats(Strict):
    subjects: int
    as_of: str | None = Field(None, description="Absent, as what follows, when no subject is stored.")
    unscored: int | None = None
    score: ScoreSummary | None = None
    tiers: dict[str, int] | None = None
    lists: dict[str, int] | None = None
    entitlements_denied: dict[str, int] | None = None
