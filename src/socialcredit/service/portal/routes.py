"""The portal's pages and form posts, as plain Starlette routes under /portal (outside the API's
/v1, its key gate, its JSON refusals and its OpenAPI document).

Each handler asks who is signed in (`session.signed_in`), then the check the API's route for the
same data asks, by calling it, and reads through the same room. A refusal (`ServiceError`) is a page
saying it, with the API's status and words; a page asked for without signing in sends to the
sign-in form.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import ValidationError
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .. import audit
from ..api import field_problem
from ..auth import check_reader_of
from ..checkpoints import read_file
from ..core import Service
from ..db import AuditEntry
from ..errors import ServiceError
from ..keys import READERS, Actor
from ..readlog import moved_so_far, staged_rows, without_number
from ..routes.appeals import check_filer, may_decide, may_list_appeals
from ..routes.audit import may_audit
from ..routes.subjects import owner_or_admin
from ..schemas import LARGEST_ID, AppealIn, DecisionIn
from . import words
from .session import (
    NotSignedIn,
    check_post,
    end_session,
    forget_session,
    form_token,
    keep_session,
    same_origin,
    signed_in,
    start_session,
)

SHOWN_READS = 100  # the latest reads of a file the subject's page lists
SHOWN_APPEALS = 50  # appeals a queue page shows
SHOWN_ENTRIES = 100  # audit entries a page shows
STATUSES = ("pending", "granted", "rejected")

# Personal data: not cached, not framed, no script or style from anywhere but here, forms only to here.
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff",
           "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'"}

templates = Environment(loader=PackageLoader("socialcredit.service.portal", "templates"),
                        autoescape=select_autoescape(["html"]))
templates.globals["words"] = words
templates.filters["points"] = words.points
templates.filters["url"] = lambda text: quote(str(text), safe="")


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def render(request: Request, template: str, http_status: int = 200, who: Actor | None = None, key: str | None = None,
           **values: Any) -> HTMLResponse:
    html = templates.get_template(template).render(
        scheme=service_of(request).scheme, who=who, token=form_token(key) if key else None, **values)
    return HTMLResponse(html, status_code=http_status, headers=HEADERS)


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303, headers=HEADERS)


def sign_in_page(request: Request, message: str = "", status: int = 200) -> HTMLResponse:
    return render(request, "sign_in.html", status, message=message)


def page(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A handler whose refusals are pages: not signed in (or a key that no longer stands) -> the
    sign-in form; a ServiceError -> its status and message."""
    @functools.wraps(handler)
    async def answered(request: Request) -> Response:
        try:
            return await handler(request)
        except NotSignedIn as why:
            if request.method == "GET" and not why.message:
                return redirect("/portal")
            response = sign_in_page(request, why.message or "Sign in first.", 401)
            forget_session(response)
            return response
        except ServiceError as error:
            who, key = getattr(request.state, "portal_session", (None, None))
            return render(request, "problem.html", error.status, who, key, status=error.status,
                          message=error.message, problems=error.problems or [])

    return answered


async def permits(check: Awaitable[Actor] | Callable[[], Actor]) -> bool:
    """Whether one of the API's checks lets the actor through (it refuses with a 403)."""
    try:
        if callable(check):
            check()
        else:
            await check
    except ServiceError as error:
        if error.status != 403:
            raise
        return False
    return True


def invalid_form(error: ValidationError) -> ServiceError:
    problems = [field_problem(e) for e in error.errors()]
    return ServiceError(422, "; ".join(f"{p['field']}: {p['problem']}" for p in problems), problems)


# --- signing in and out -------------------------------------------------------------------------

@page
async def home(request: Request) -> Response:
    """The sign-in form; signed in, the role's own page (a subject's file), or what the role may open."""
    try:
        who, key = await signed_in(request)
    except NotSignedIn as why:
        if not why.message:
            return sign_in_page(request)
        response = sign_in_page(request, why.message, 401)
        forget_session(response)
        return response
    if who.role == "subject" and who.subject is not None:
        return redirect(f"/portal/subjects/{quote(who.subject, safe='')}")
    return render(request, "home.html", who=who, key=key, reads_files=who.role in READERS,
                  lists_appeals=await permits(may_list_appeals(who)), decides=await permits(may_decide(who)),
                  audits=await permits(may_audit(who)))


@page
async def sign_in(request: Request) -> Response:
    if not same_origin(request):
        raise ServiceError(403, "form: this form was sent from another site; open the portal and sign in there")
    form = await request.form()
    key = form.get("key")
    if not isinstance(key, str) or not key.strip():
        return sign_in_page(request, "Paste your key in the box.", 401)
    try:
        session_id = await start_session(request, key)
    except ServiceError as error:
        if error.status != 401:
            raise
        return sign_in_page(request, error.message.removeprefix("authorization: "), 401)
    response = redirect("/portal")
    keep_session(response, request, session_id)
    return response


@page
async def sign_out(request: Request) -> Response:
    response = redirect("/portal")
    try:
        _who, session_id = await signed_in(request)
    except NotSignedIn:
        forget_session(response)
        return response
    check_post(request, session_id, (await request.form()).get("csrf"))
    await end_session(request, session_id)
    forget_session(response)
    return response


@page
async def look_up(request: Request) -> Response:
    """The lookup form of a reader's home page: to the file it names."""
    await signed_in(request)
    subject = request.query_params.get("subject", "").strip()
    if not subject:
        raise ServiceError(422, "subject: give the id of the person to look up")
    return redirect(f"/portal/subjects/{quote(subject, safe='')}")


# --- one person's file ---------------------------------------------------------------------------

def reads_of(service: Service, subject: str) -> tuple[int, list[dict[str, Any]]]:
    """How many reads of the subject's file the audit log holds, and the latest `SHOWN_READS`,
    newest first (the export's `reads`, as a page shows them)."""
    with service.store.reader() as session:
        pseudonym = audit.pseudonym_of(session, subject)
    if pseudonym is None:
        return 0, []
    staged = service.reads.staged_of(pseudonym)  # before the log: a read moved meanwhile is then in the log
    with service.store.reader() as session:
        mine = (AuditEntry.subject == pseudonym, AuditEntry.action.in_(audit.READS))
        total = session.execute(select(func.count()).select_from(AuditEntry).where(*mine)).scalar() or 0
        rows = session.execute(select(AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.detail)
                               .where(*mine).order_by(AuditEntry.seq.desc()).limit(SHOWN_READS)).all()
        moved = moved_so_far(session)  # the staged reads the log holds, in this snapshot
        waiting = [row for row in staged if row[0] > moved]
    shown = [{"at": at, "by": actor, "action": action, "detail": detail}
             for _, at, actor, action, _, detail, *_ in reversed(waiting)]
    shown += [{"at": r.at, "by": r.actor, "action": r.action, "detail": without_number(r.detail)} for r in rows]
    return int(total) + len(waiting), shown[:SHOWN_READS]


@page
async def subject_page(request: Request) -> Response:
    who, key = await signed_in(request)
    subject = request.path_params["subject"]
    service = service_of(request)
    check_reader_of(who, subject)  # GET /v1/subjects/{subject}'s check
    record = await service.subjects.record_async(subject, who)
    denials = [await service.subjects.entitlement_async(subject, action, who)
               for action, allowed in record["entitlements"].items() if not allowed]
    events = await run_in_threadpool(service.subjects.events, subject, who)
    appeals = []
    if await permits(may_list_appeals(who)):
        appeals = [a for a in await run_in_threadpool(service.appeals.find, None, who) if a["subject"] == subject]
    contested = {e for a in appeals if a["status"] == "pending" for e in a["event_ids"]}
    reads: tuple[int, list[dict[str, Any]]] | None = None
    if await permits(owner_or_admin(subject, who)):  # who read a file is in its export: the export's check
        reads = await run_in_threadpool(reads_of, service, subject)
    return render(request, "subject.html", who=who, key=key, subject=subject, record=record, denials=denials,
                  events=events, appeals=appeals, contested=contested,
                  files=await permits(functools.partial(check_filer, who, subject)), reads=reads,
                  list_rules={name: rule.source for name, rule in service.scheme.rules.lists.items()})


@page
async def contest(request: Request) -> Response:
    """A subject (or an admin or operator for them) contests events: POST /v1/appeals."""
    who, key = await signed_in(request)
    subject = request.path_params["subject"]
    form = await request.form()
    check_post(request, key, form.get("csrf"))
    check_filer(who, subject)
    try:
        body = AppealIn.model_validate({"subject": subject, "event_ids": form.getlist("event_id"),
                                        "statement": form.get("statement") or ""})
    except ValidationError as error:
        raise invalid_form(error) from None
    appeal = await run_in_threadpool(service_of(request).appeals.file, body.subject, body.event_ids,
                                     body.statement, who)
    return redirect(f"/portal/subjects/{quote(subject, safe='')}#appeal-{appeal['id']}")


# --- appeals ------------------------------------------------------------------------------------

@page
async def appeals_page(request: Request) -> Response:
    """The appeals of one status (pending: the queue), each with its statement and the events it
    contests: GET /v1/appeals, and each person's events as GET /v1/subjects/{subject}/events."""
    who, key = await signed_in(request)
    await may_list_appeals(who)
    status = request.query_params.get("status", "pending")
    if status not in (*STATUSES, "all"):
        raise ServiceError(422, f"status: one of {', '.join(STATUSES)} or all, not '{status}'")
    service = service_of(request)
    found = await run_in_threadpool(service.appeals.find, None if status == "all" else status, who)
    shown = found[:SHOWN_APPEALS]
    events_of: dict[str, dict[str, dict[str, Any]]] = {}
    for subject in dict.fromkeys(a["subject"] for a in shown):
        if await permits(functools.partial(check_reader_of, who, subject)):
            try:
                events = await run_in_threadpool(service.subjects.events, subject, who)
            except ServiceError as error:  # none held any more (purged past retention): the page says so
                if error.status != 404:
                    raise
                events = []
            events_of[subject] = {e["id"]: e for e in events}
    return render(request, "appeals.html", who=who, key=key, status=status, statuses=STATUSES, appeals=shown,
                  total=len(found), events_of=events_of, decides=await permits(may_decide(who)))


@page
async def decide(request: Request) -> Response:
    """A reviewer (or an admin) decides an appeal: POST /v1/appeals/{id}/decision."""
    who, key = await signed_in(request)
    form = await request.form()
    check_post(request, key, form.get("csrf"))
    await may_decide(who)
    appeal_id = request.path_params["appeal_id"]
    if appeal_id > LARGEST_ID:  # as the API's path refuses it, before the database is asked
        raise ServiceError(404, f"appeal: no appeal {appeal_id}")
    try:
        body = DecisionIn.model_validate({"decision": form.get("decision"), "note": form.get("note") or ""})
    except ValidationError as error:
        raise invalid_form(error) from None
    await run_in_threadpool(service_of(request).appeals.decide, appeal_id, body.decision, body.note, who)
    return redirect(f"/portal/appeals?status=pending#decided-{appeal_id}")


# --- oversight -----------------------------------------------------------------------------------

def last_entry(service: Service) -> int:
    with service.store.reader() as session:
        return audit.last_seq(session)


@page
async def audit_page(request: Request) -> Response:
    """The audit log, a page of entries at a time, and a checkpoint of it now: GET /v1/audit and
    GET /v1/audit/checkpoint."""
    who, key = await signed_in(request)
    await may_audit(who)
    service = service_of(request)
    last = await run_in_threadpool(last_entry, service)
    given = request.query_params.get("after")
    if given is not None and not (given.isascii() and given.isdigit()):  # int() refuses other digits ('²')
        raise ServiceError(422, f"after: a whole number of entries, not '{given}'")
    after = min(int(given), last) if given is not None else max(0, last - SHOWN_ENTRIES)
    entries = await run_in_threadpool(service.audit_log, after, SHOWN_ENTRIES)
    checkpoint, refused = None, None
    try:
        checkpoint = (await run_in_threadpool(service.checkpoint)).as_json()
    except ServiceError as error:
        refused = error.message
    return render(request, "audit.html", who=who, key=key, entries=entries, after=after, last=last,
                  shown=SHOWN_ENTRIES, checkpoint=checkpoint, refused=refused)


def verification(service: Service) -> tuple[audit.Verdict, list[str], int]:
    """`socialcredit audit verify` on the server's own key and checkpoint file: the verdict, what is
    wrong with the file's lines, and how many checkpoints it holds."""
    path = service.checkpoints.path
    anchors, problems = read_file(path) if path is not None else ([], [])
    staged = staged_rows(service.store.write_engine)  # before the log: a read moved meanwhile is then in the log
    with service.store.reader() as session:
        verdict = audit.verify(session, service.store.audit_key, [c for c, _ in anchors], staged=staged)
    return verdict, problems, len(anchors)


@page
async def verify_page(request: Request) -> Response:
    who, key = await signed_in(request)
    await may_audit(who)
    verdict, problems, checkpoints = await run_in_threadpool(verification, service_of(request))
    return render(request, "verify.html", who=who, key=key, verdict=verdict, problems=problems + verdict.problems,
                  checkpoints=checkpoints)


def portal() -> list[BaseRoute]:
    """The portal's routes, to put in the service's app (`api.create_app`)."""
    static = StaticFiles(directory=str(resources.files("socialcredit.service.portal") / "static"))
    return [
        Route("/portal", home, methods=["GET"]),
        Route("/portal/sign-in", sign_in, methods=["POST"]),
        Route("/portal/sign-out", sign_out, methods=["POST"]),
        Route("/portal/look-up", look_up, methods=["GET"]),
        Route("/portal/subjects/{subject}", subject_page, methods=["GET"]),
        Route("/portal/subjects/{subject}/appeals", contest, methods=["POST"]),
        Route("/portal/appeals", appeals_page, methods=["GET"]),
        Route("/portal/appeals/{appeal_id:int}/decision", decide, methods=["POST"]),
        Route("/portal/audit", audit_page, methods=["GET"]),
        Route("/portal/audit/verify", verify_page, methods=["GET"]),
        Mount("/portal/static", static, name="portal-static"),
    ]
