"""The OpenAPI document is the API's contract, checked by schemathesis against the app in-process,
on each database: every operation, with generated valid and invalid requests (a bounded number of
each), under every check schemathesis has (no 5xx, every status, body and header as documented,
invalid data refused, valid data accepted, Allow naming a path's methods). Its 19 failures were:
the 422 body, 404 and 400 undocumented, `decision` not an enum, OPTIONS naming one method of two."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from socialcredit.scheme import load_scheme
from socialcredit.service.api import create_app
from socialcredit.service.keys import Actor

from .conftest import BOB, Keys, open_service

H = Keys.header
EXAMPLES_DIR = Path(__file__).parents[2] / "examples"
EXAMPLES = 60  # generated requests per operation and phase: both databases checked in under a minute


@pytest.fixture
def served(lending):
    """The app over a store holding bob's and alice's events, and the keys."""
    service, keys, _ = lending
    service.ingest(BOB, Actor("test", "operator"))
    return create_app(service), keys


# The document, read once from an app of the same scheme (the app under test, one per database and
# test, answers each request: `case.call(app=...)`; schemathesis' fixture-made schemas do not run
# under pytest 9).
def document_of(scheme: str, name: str):
    """The OpenAPI document of an app serving `scheme`, its service closed once the document is read."""
    service = open_service(f"sqlite:///{tempfile.mkdtemp(prefix='socialcredit-openapi-')}/{name}.db",
                           load_scheme(scheme))[0]
    try:
        return schemathesis.openapi.from_asgi("/openapi.json", create_app(service))
    finally:
        service.close()


schema = document_of("lending", "document")


def refused_whole(case, response) -> bool:
    """An atomic batch refused because an event breaks a rule no JSON Schema can state (a time after
    now, a value outside its kind's range): a 422 by design for a request the schema calls valid."""
    body = case.body if isinstance(case.body, dict) else {}
    return (case.operation.path == "/v1/events" and body.get("atomic") is True and response.status_code == 422
            and response.json()["detail"][0]["field"] == "events")


def refused_as_a_look_alike(response) -> bool:
    """A subject id refused for what no JSON Schema pattern states: an invisible format character, or
    an NFKC form that differs (`eventlog.look_alike_problem`; the pattern states the rest)."""
    return response.status_code == 422 and all(
        "invisible format character" in p["problem"] or "NFKC form" in p["problem"] for p in response.json()["detail"])


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_api_is_what_its_openapi_document_says(case, served):
    app, keys = served
    response = case.call(app=app, headers=H(keys.admin))
    case.validate_response(response, headers=H(keys.admin),
                           excluded_checks=[positive_data_acceptance] if refused_whole(case, response)
                           or refused_as_a_look_alike(response) else [])


# The input lists' route, on a scheme that reads one (on `lending` every list name is a 404): the
# name set to the list it declares, so that generated changes reach the room.
court_schema = document_of(str(EXAMPLES_DIR / "lending-with-court-list.yaml"), "court")


@pytest.fixture
def court_served(backend, tmp_path):
    from .conftest import database_url

    service, keys = open_service(database_url(backend, tmp_path),
                                 load_scheme(str(EXAMPLES_DIR / "lending-with-court-list.yaml")))
    service.ingest(BOB, Actor("test", "operator"))
    yield create_app(service), keys
    service.close()


def refused_by_the_list(case, response) -> bool:
    """A change refused for what no JSON Schema can state: a day that is not a time or is in the
    future, a subject named twice, a delisting of someone not listed (a 422 by design)."""
    return case.operation.path == "/v1/input-lists/{name}" and response.status_code == 422 and all(
        p["field"].endswith((".on", ".subject")) for p in response.json()["detail"])


@court_schema.include(path_regex="^/v1/input-lists/").parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_input_list_route_is_what_its_openapi_document_says(case, court_served):
    app, keys = court_served
    case.path_parameters = {"name": "court_defaulters"}
    response = case.call(app=app, headers=H(keys.admin))
    case.validate_response(response, headers=H(keys.admin),
                           excluded_checks=[positive_data_acceptance] if refused_by_the_list(case, response) else [])
