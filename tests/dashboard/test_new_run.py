"""Starting a run from the form: checked fields, a background process with its state on disk,
progress, and the run in the list when done."""

from __future__ import annotations

import json
import os
import re
import time

from socialcredit.dashboard.jobs import jobs_folder, parameters, read_job


def form_token(client) -> str:
    """The CSRF token the form at /new carries (what a browser posts back with it)."""
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/new").text)[1]


def wait_for(client, job: str, seconds: float = 180) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = client.get(f"/jobs/{job}/status").json()
        if state["state"] in ("done", "failed"):
            return state
        time.sleep(0.5)
    raise AssertionError(f"{job} still running after {seconds} s")


def test_the_form_offers_the_main_parameters_with_their_documented_ranges(client):
    page = client.get("/new")
    assert page.status_code == 200
    assert 'name="network.homophily"' in page.text and "Range: 0 to 1." in page.text
    assert '<option value="shenzhen-cameras"' in page.text
    homophily = next(p for p in parameters() if p.key == "network.homophily")
    assert (homophily.low, homophily.high) == (0, 1)  # read from the scenario's model


def test_a_run_started_from_the_form_runs_in_the_background_and_appears(client, runs_folder):
    answer = client.post("/new", data={"csrf_token": form_token(client), "preset": "default", "population.size": "400",
                                       "run.days": "8", "save_events": "on", "out": "from-form"},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/jobs/from-form"
    page = client.get("/jobs/from-form")
    assert page.status_code == 200 and "from-form" in page.text
    state = wait_for(client, "from-form")
    assert state == {"id": "from-form", "out": "from-form", "state": "done", "day": 8, "total": 8, "error": "",
                     "progress": "done"}
    summary = json.loads((runs_folder / "from-form" / "summary.json").read_text())
    assert summary["people"] == 400 and summary["days"] == 8
    assert (runs_folder / "from-form" / "events.parquet").exists()
    assert 'href="/run/from-form"' in client.get("/").text
    assert client.get("/run/from-form").status_code == 200


def test_bad_fields_are_said_on_the_form(client, runs_folder):
    for data, said in (({"preset": "default", "population.size": "-5"}, "population.size: -5 is outside its range"),
                       ({"preset": "default", "network.homophily": "2"}, "outside its range, 0 to 1"),
                       ({"preset": "default", "run.days": "ten"}, "&#39;ten&#39; is not a whole number"),
                       ({"preset": "nope"}, "no scenario preset named &#39;nope&#39;"),
                       ({"scenario_file": "no/such.yaml"}, "there is no such file in the runs folder"),
                       ({"preset": "default", "out": "../x"}, "folder name &#39;../x&#39;"),
                       ({"preset": "default", "out": "errors"}, "errors already exists")):
        page = client.post("/new", data={"csrf_token": form_token(client), **data})
        assert page.status_code == 422, data
        assert said in page.text, (data, page.text[-800:])


def test_a_form_without_the_dashboards_token_starts_nothing(client, runs_folder):
    data = {"preset": "default", "population.size": "300", "run.days": "3", "out": "planted"}
    for token in ({}, {"csrf_token": "guessed"}):
        page = client.post("/new", data={**token, **data})
        assert page.status_code == 403 and "did not come from this dashboard" in page.text
    assert not (runs_folder / "planted").exists() and read_job(runs_folder, "planted") is None


def test_another_site_or_host_is_refused_on_every_route(client):
    for path in ("/", "/new", "/run/errors"):
        assert client.get(path, headers={"Host": "evil.example:8000"}).status_code == 403, path  # DNS rebinding
        assert client.get(path, headers={"Origin": "http://evil.example"}).status_code == 403, path
    answer = client.post("/new", data={"csrf_token": form_token(client), "preset": "default"},
                         headers={"Origin": "http://evil.example", "Referer": "http://evil.example/"})
    assert answer.status_code == 403 and "another site" in answer.text
    assert client.get("/", headers={"Origin": "http://127.0.0.1"}).status_code == 200  # its own pages


def test_a_scenario_file_outside_the_runs_folder_is_refused_unread(client, tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("db_password: hunter2\n")
    for given in (str(secret), "../" * 12 + str(secret).lstrip("/")):
        page = client.post("/new", data={"csrf_token": form_token(client), "scenario_file": given})
        assert page.status_code == 422 and "give a file inside the runs folder" in page.text
        assert "db_password" not in page.text.replace(given, "")


def test_a_name_in_use_and_too_many_runs_at_once_are_refused(client, runs_folder):
    folder = jobs_folder(runs_folder)
    for name in ("busy-1", "busy-2"):  # two runs still going (this test's own process stands for them)
        (folder / name).mkdir(parents=True)
        (folder / name / "job.json").write_text(json.dumps({"id": name, "out": name, "scenario": "default",
                                                            "state": "running", "pid": os.getpid()}))
    try:
        page = client.post("/new", data={"csrf_token": form_token(client), "preset": "default", "out": "busy-1"})
        assert page.status_code == 422 and "busy-1 already exists" in page.text
        page = client.post("/new", data={"csrf_token": form_token(client), "preset": "default", "out": "third"})
        assert page.status_code == 422 and "at most 2 at once" in page.text
        assert not (folder / "third").exists()
    finally:
        for name in ("busy-1", "busy-2"):
            (folder / name / "job.json").unlink()
            (folder / name).rmdir()


def test_a_job_whose_process_died_is_shown_as_failed(runs_folder):
    folder = jobs_folder(runs_folder) / "killed"
    folder.mkdir(parents=True)
    # a pid far above any this machine hands out: no such process
    (folder / "job.json").write_text(json.dumps({"id": "killed", "out": "killed", "scenario": "default",
                                                 "state": "running", "pid": 2 ** 22 + 12345}))
    job = read_job(runs_folder, "killed")
    assert job is not None and job.state == "failed" and "ended without finishing" in job.error


def test_unknown_jobs_are_404(client):
    assert client.get("/jobs/none-such").status_code == 404
    assert client.get("/jobs/none-such/status").status_code == 404
