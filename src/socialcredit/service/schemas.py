"""The HTTP API's contract: what each route takes and what it answers, as pydantic models (and so
in the OpenAPI document at /openapi.json).

Answers are strict (`extra="forbid"`): a field a room adds without adding it here fails the tests'
check of every answer against its model (tests/service/test_contract.py), not silently.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    WithJsonSchema,
)

from ..eventlog import TEXT_LIMIT, text_problem
from .appeals import MAX_EVENT_IDS
from .ingest import MAX_BATCH
from .inputlists import MAX_CHANGES

# The largest appeal number or audit entry a request may name: what the tables' integer columns hold on
# PostgreSQL (32 bits; a larger number made the query fail with a 500 there).
LARGEST_ID = 2 ** 31 - 1
STATEMENT_LIMIT = 10_000  # characters of an appeal's statement or a decision's note


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- text the service stores: one rule (`eventlog.text_problem`), described in the OpenAPI document --
NO_NUL = r"^[^\x00]*$"
# no '/' (a URL path names a subject), no control character, no white space at either end; what a
# pattern cannot say (invisible format characters, an NFKC form that differs) `look_alike_problem` does
SUBJECT_PATTERN = r"^([^/\s\x00-\x1f\x7f-\x9f]([^/\x00-\x1f\x7f-\x9f]*[^/\s\x00-\x1f\x7f-\x9f])?)?$"


def text_schema(limit: int, pattern: str, min_length: int = 1) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": limit, "pattern": pattern}


def _stored(limit: int = TEXT_LIMIT, in_a_path: bool = False, min_length: int = 1) -> AfterValidator:
    def check(text: str, info: ValidationInfo) -> str:
        name = info.field_name or "text"
        problem = (f"missing {name}; fix: give one" if len(text) < min_length
                   else text_problem(name, text, in_a_path=in_a_path, limit=limit))
        if problem is not None:
            raise ValueError(problem)
        return text

    return AfterValidator(check)


SUBJECT_SCHEMA = text_schema(TEXT_LIMIT, SUBJECT_PATTERN)
# A subject named in a URL path: described here, checked by the room (`subjects.named`), so that the
# fast lanes, which FastAPI does not validate, refuse it alike.
SubjectInPath = Annotated[str, Path(json_schema_extra=SUBJECT_SCHEMA)]
SubjectId = Annotated[str, _stored(in_a_path=True), WithJsonSchema(SUBJECT_SCHEMA)]
EventId = Annotated[str, _stored(), WithJsonSchema(text_schema(TEXT_LIMIT, NO_NUL))]
Statement = Annotated[str, _stored(STATEMENT_LIMIT), WithJsonSchema(text_schema(STATEMENT_LIMIT, NO_NUL))]
Note = Annotated[str, _stored(STATEMENT_LIMIT, min_length=0), WithJsonSchema(text_schema(STATEMENT_LIMIT, NO_NUL, 0))]


# --- what the routes take ------------------------------------------------------------------------
class EventsIn(Strict):
    events: list[dict[str, Any]] = Field(
        max_length=MAX_BATCH,
        description=f"At most {MAX_BATCH:,} events, each {{id, subject, kind, time, value?, weight?, source?, "
                    f"actor?}}: an id (stored once: a batch sent again is not stored twice), subject, source, actor "
                    f"of at most {TEXT_LIMIT} characters without NUL (a subject without '/', white space at either "
                    "end, control or invisible format characters, and in its NFKC form: no look-alikes); time an ISO "
                    "date or datetime, or days since 1970-01-01, from 1900 to a day past now; value within the kind's "
                    "range (the scheme's, else -1e15 to 1e15); weight from 0 to 1e15. An event that breaks a rule "
                    "is answered in `rejected`, by index and field; the others are stored.")
    atomic: StrictBool = Field(False, description="All or nothing: one invalid event stores none (422).")


class RelationIn(Strict):
    subject: SubjectId
    other: SubjectId


class RelationsIn(Strict):
    relations: list[RelationIn] = Field(max_length=MAX_BATCH, description=f"At most {MAX_BATCH:,} ties.")


class AppealIn(Strict):
    subject: SubjectId
    event_ids: list[EventId] = Field(min_length=1, max_length=MAX_EVENT_IDS,
                                     description=f"The subject's events contested, at most {MAX_EVENT_IDS}.")
    statement: Statement


class DecisionIn(Strict):
    decision: Literal["grant", "reject"] = Field(description="'grant' (the appeal succeeds: its events are voided "
                                                             "and the subject rescored) or 'reject' (the appeal "
                                                             "fails: its events stand).")
    note: Note = ""


class ListChangeIn(Strict):
    subject: SubjectId
    on: Annotated[str, _stored(40), WithJsonSchema(text_schema(40, NO_NUL))] | StrictFloat | StrictInt = Field(
        description="The day the listing or delisting took effect: an ISO date or datetime, or days since "
                    "1970-01-01, from 1900 to a day past now.")
    source: EventId = Field(description="The supplier's reference for it: a case number, a decision.")


class ListChangesIn(Strict):
    listed: list[ListChangeIn] = Field([], max_length=MAX_CHANGES, description="Subjects put on the list.")
    delisted: list[ListChangeIn] = Field([], max_length=MAX_CHANGES, description="Subjects taken off it.")


# --- what a refusal answers ----------------------------------------------------------------------
class FieldProblem(Strict):
    field: str = Field(description="Where: a body field (`relations.0.subject`; `events.3.kind` for an event of an "
                                   "atomic batch), or `path.`/`query.` and a parameter's name.")
    problem: str = Field(description="What is wrong and how to fix it.")


class Invalid(Strict):
    detail: list[FieldProblem]


class Refused(Strict):
    detail: str = Field(description="What was refused, and why.")


WHY = {400: "The body cannot be read as JSON (not UTF-8, or a number past what JSON parsers take).",
       401: "No API key, or one that is unknown or revoked.",
       403: "The key's role may not do this, or a subject key asks about someone else.",
       404: "No such subject, entitlement, event, appeal or input list.",
       409: "In conflict with what is stored: an appeal already decided; an audit log with an entry the "
            "server did not write, or shorter than the checkpoint sent.",
       422: "The request is invalid: each field's problem (for an atomic batch, each invalid event's).",
       503: "The read could not be written to the audit log, so it is not answered; try again."}


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The refusals a route documents (FastAPI `responses`), each with its body's model."""
    return {status: {"model": Invalid if status == 422 else Refused, "description": WHY[status]}
            for status in statuses}


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


class ListChanged(Strict):
    list: str
    listed: int = Field(description="Listings stored.")
    delisted: int = Field(description="Delistings stored.")
    unchanged: int = Field(description="Listings and delistings stored already (a request sent again): "
                                       "the first given stands.")
    rescored: int = Field(description="Subjects rescored: their entitlements follow the list at once.")
    unknown: list[str] = Field(description="The subjects listed that no stored event names (listed all the same): "
                                           "check them for a mistyped id.")


class InputListPlace(Strict):
    member: bool = Field(description="On the list now.")
    since: str | None = Field(description="The day they were listed, while they are on it.")
    source: str | None = Field(description="The supplier's reference for the listing.")
    kept_by: str | None = Field(description="What the list is and who keeps it (the scheme's description).")


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
    input_lists: dict[str, InputListPlace] = Field(description="Each of another body's lists the scheme reads: "
                                                               "whether the subject is on it, since when, on "
                                                               "whose reference.")
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
    input_lists: list[dict[str, Any]] | None = Field(None, description="Given where the rule reads another body's "
                                                                      "list the subject is on: the list, since "
                                                                      "when, the supplier's reference, who keeps it.")


class HowToAppeal(Strict):
    how: str
    events_you_can_contest: list[str]
    not_decided_here: list[str] | None = Field(None, description="Where the denial rests on another body's "
                                                                 "list: that this scheme cannot decide an appeal "
                                                                 "against it, and who can.")


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
    status: str = Field(description="'pending', 'granted' (its events were voided) or 'rejected' (they stand).")
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


# --- the audit log's checkpoints, erasure and export (issue 18: audit.py, checkpoints.py, erasure.py) ----
def whole_number(value: Any) -> Any:
    """A count as JSON gives it: a number (2.0 is 2, as JSON Schema's integer allows), never text
    ("2") or a boolean, which pydantic's lax mode would read as one."""
    if isinstance(value, str | bool):
        raise ValueError("a whole number, not text or true/false")
    return value


class StagedHead(Strict):
    size: Annotated[int, BeforeValidator(whole_number)] = Field(ge=1, description="The number of the read log's "
                                                                              "last staged read.")
    head: str = Field(description="Its hash in the read log's own chain.")


class Checkpoint(Strict):
    log: str = Field(description="What is checkpointed: 'socialcredit audit log v1'.")
    size: Annotated[int, BeforeValidator(whole_number)] = Field(ge=0, description="Entries in the log when it was "
                                                                              "signed.")
    head: str = Field(description="The hash of its last entry (64 zeros for an empty log).")
    root: str = Field(description="The Merkle tree head of its entries (RFC 6962; leaf i is entry i's hash).")
    at: str = Field(description="When it was signed (UTC).")
    key: str = Field(description="The public Ed25519 key that signed it, hex.")
    reads: StagedHead | None = Field(None, description="The read log as it was (reads are staged there, then moved "
                                                       "into the log): its last read, which `audit verify` then "
                                                       "finds, moved or staged. Signed too; absent when no read was "
                                                       "ever staged.")
    signature: str = Field(description="Ed25519 over the other fields as canonical JSON (sorted keys, no spaces).")


class Consistency(Strict):
    first: int = Field(description="The size of the checkpoint sent (the log it signed).")
    checkpoint: Checkpoint = Field(description="A checkpoint of the log now.")
    proof: list[str] = Field(description="The RFC 6962 consistency proof from `first` entries to the checkpoint's.")


class ErasedCounts(Strict):
    events: int
    scores: int
    ties: int
    appeals: int
    keys: int
    input_lists: int = Field(description="Places on input lists (listed and delisted).")


class Erased(Strict):
    subject: str
    erased: ErasedCounts = Field(description="Rows deleted, by kind.")
    entry: int = Field(description="The audit entry that records the erasure.")


class ExportedEvent(StoredEvent):
    time_days: float
    actor: str | None
    ingested_at: str | None
    ingested_by: str


class ExportedScore(HistoryEntry):
    recorded_at: str | None


class ExportedAppeal(AppealOut):
    filed_by: str
    decided_by: str | None


class ExportedListing(Strict):
    list: str
    listed_on: str
    listed_source: str
    listed_at: str | None
    listed_by: str
    delisted_on: str | None
    delisted_source: str | None
    delisted_at: str | None
    delisted_by: str | None


class ExportedKey(Strict):
    id: str
    role: str
    created_at: str | None


class ExportedRead(Strict):
    at: str
    by: str = Field(description="The key that read: its role and id.")
    read: str = Field(description="What was read: read_record, entitlement_check, read_events, read_history, export.")


class ExportedEntry(Strict):
    seq: int
    at: str
    actor: str
    action: str
    detail: dict[str, Any]


class Export(Strict):
    subject: str
    scheme: str
    exported_at: str
    pseudonym: str | None = Field(description="How the audit log names the subject.")
    record: Record | None = Field(description="The record now; none when no event or tie names the subject.")
    events: list[ExportedEvent] = Field(description="Every event held, voided ones too.")
    history: list[ExportedScore]
    appeals: list[ExportedAppeal]
    input_lists: list[ExportedListing] = Field(description="Every place on an input list held, past ones too.")
    ties: list[str] = Field(description="The subjects a tie joins them to.")
    keys: list[ExportedKey] = Field(description="Their API keys (never the secret).")
    reads: list[ExportedRead] = Field(description="Who read their file, and when.")
    audit: list[ExportedEntry] = Field(description="The audit log's other entries that name them.")
