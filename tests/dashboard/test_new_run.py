"""Starting a run from the form: checked fields, a background process with its state on disk,
progress, and the run in the list when done."""

from __future__ import annotations

import json
import time

from socialcredit.dashboard.jobs import jobs_folder, parameters, read_job


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
    answer = client.post("/new", data={"preset": "default", "population.size": "400", "run.days": "8",
                                       "save_events": "on", "out": "from-form"}, follow_redirects=False)
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
                       ({"scenario_file": "/no/such.yaml"}, "such.yaml"),
                       ({"preset": "default", "out": "../x"}, "folder name &#39;../x&#39;"),
                       ({"preset": "default", "out": "errors"}, "errors already exists")):
        page = client.post("/new", data=data)
        assert page.status_code == 422, data
        assert said in page.text, (data, page.text[-800:])


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
