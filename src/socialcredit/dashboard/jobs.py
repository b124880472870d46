"""Runs started from the dashboard: each a background process whose state is on disk, in
`<runs>/.dashboard/jobs/<id>/` (job.json: what was asked and how it ended; progress.json: the day
reached), so that a page reload, or a new dashboard over the same folder, finds it again."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotated_types import Ge, Le

from ..scenario.models import AppealsSpec, EconomySpec, NetworkSpec, PopulationSpec, RunSpec, SocialSpec
from ..scheme import preset_names

# Runs started from the form at once, at most (each runs in a process of its own).
MAX_RUNNING = 2

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")

# The parameters the form offers: (scenario key, the model that documents it, its field there).
PARAMETERS = [("population.size", PopulationSpec, "size"), ("run.days", RunSpec, "days"),
              ("run.seed", RunSpec, "seed"), ("network.mean_degree", NetworkSpec, "mean_degree"),
              ("network.homophily", NetworkSpec, "homophily"), ("social.shun_listed", SocialSpec, "shun_listed"),
              ("appeals.propensity", AppealsSpec, "propensity"),
              ("appeals.reviewer_capacity_per_day", AppealsSpec, "reviewer_capacity_per_day"),
              ("economy.income_growth", EconomySpec, "income_growth")]


UNDESCRIBED = {"run.days": "Days to simulate.", "run.seed": "Random seed: the same seed gives the same run."}


@dataclass
class Parameter:
    key: str
    kind: type
    low: float | None
    high: float | None
    help: str

    @property
    def range_text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"at least {self.low:g}"
        return "any number"


def parameters() -> list[Parameter]:
    """Each offered parameter with its range and description, read from the scenario's models (the
    one place they are documented and enforced)."""
    found = []
    for key, model, name in PARAMETERS:
        field = model.model_fields[name]
        low = next((m.ge for m in field.metadata if isinstance(m, Ge)), None)
        high = next((m.le for m in field.metadata if isinstance(m, Le)), None)
        kind = int if field.annotation is int else float
        found.append(Parameter(key, kind, low, high, field.description or UNDESCRIBED.get(key, "")))
    return found


def scenario_choices() -> list[str]:
    return preset_names("scenario")


class JobProblem(Exception):
    """A form that cannot start a run; the message says which field and why."""


def jobs_folder(runs: Path) -> Path:
    return runs / ".dashboard" / "jobs"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Written beside and renamed: a reader never sees half a file."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data), encoding="utf-8")
    partial.replace(path)


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def parse_form(form: dict[str, str], runs: Path) -> dict[str, Any]:
    """The job a form asks for (scenario, overrides, output name), checked field by field."""
    scenario_file = (form.get("scenario_file") or "").strip()
    scenario = scenario_file or (form.get("preset") or "").strip()
    if not scenario:
        raise JobProblem("choose a preset or give a scenario file")
    if scenario_file:
        scenario = str(scenario_in(runs, scenario_file))
    elif scenario not in scenario_choices():
        raise JobProblem(f"no scenario preset named '{scenario}'")
    overrides: dict[str, Any] = {}
    for parameter in parameters():
        text = (form.get(parameter.key) or "").strip()
        if not text:
            continue  # the scenario's own value
        try:
            value = parameter.kind(text)
        except ValueError:
            raise JobProblem(f"{parameter.key}: '{text}' is not a{'' if parameter.kind is float else ' whole'} number"
                             ) from None
        if (parameter.low is not None and value < parameter.low) or (parameter.high is not None and
                                                                     value > parameter.high):
            raise JobProblem(f"{parameter.key}: {text} is outside its range, {parameter.range_text}")
        overrides[parameter.key] = value
    from ..scenario.load import load_scenario
    from ..scheme import SchemeError

    try:  # checked here, so that a bad file or value is said on the form, not in a failed job
        load_scenario(scenario, overrides)
    except SchemeError as error:
        raise JobProblem(str(error)) from None
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = (form.get("out") or "").strip() or f"{Path(scenario).stem.removesuffix('.scenario')}-{stamp}"
    if not NAME.fullmatch(out) or out.startswith("."):
        raise JobProblem(f"folder name '{out}': use letters, digits, '-', '_' and '.', not starting with '.'")
    if (runs / out).exists() or (jobs_folder(runs) / out).exists():
        raise JobProblem(f"{out} already exists in the runs folder: choose another name")
    return {"scenario": scenario, "overrides": overrides, "out": out,
            "save_events": form.get("save_events") in ("on", "true", "1")}


def scenario_in(runs: Path, given: str) -> Path:
    """A scenario file the form names: one inside the runs folder (a path there, or an absolute path
    that leads there), so that the form reads no other file of this machine and says nothing of one."""
    inside = runs.resolve()
    path = (runs / given).resolve()
    if not path.is_relative_to(inside):
        raise JobProblem(f"scenario file '{given}': give a file inside the runs folder {runs} (copy it there), "
                         "or choose a preset")
    if not path.is_file():
        raise JobProblem(f"scenario file '{given}': there is no such file in the runs folder {runs}")
    return path


def start(runs: Path, job: dict[str, Any]) -> str:
    """Start the job in its own process (it outlives the request and the page), return its id. At most
    MAX_RUNNING at once: each run takes a core and memory of its own."""
    running = [j for j in list_jobs(runs) if j.state == "running"]
    if len(running) >= MAX_RUNNING:
        raise JobProblem(f"{len(running)} runs started here are still running ({', '.join(j.id for j in running)}): "
                         f"at most {MAX_RUNNING} at once; start this one when one of them has finished")
    job_id = job["out"]
    folder = jobs_folder(runs) / job_id
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir()  # one job per name: a second form with the same name, even at the same moment, is refused
    except FileExistsError:
        raise JobProblem(f"{job_id} already exists in the runs folder: choose another name") from None
    state = {**job, "id": job_id, "state": "starting", "started": dt.datetime.now(dt.UTC).isoformat(),
             "runs": str(runs.resolve())}
    write_json(folder / "job.json", state)
    with (folder / "log.txt").open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "socialcredit.dashboard.worker", str(folder)],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)  # not stopped with the dashboard's own Ctrl-C
    write_json(folder / "job.json", {**state, "pid": process.pid, "state": "running"})
    return job_id


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a finished child not yet reaped is a zombie: it has ended
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


@dataclass
class Job:
    id: str
    out: str
    scenario: str
    state: str            # running, done or failed
    day: int
    total: int
    error: str

    @property
    def progress_text(self) -> str:
        if self.state == "done":
            return "done"
        if self.state == "failed":
            return f"failed: {self.error}"
        return f"day {self.day:,} of {self.total:,}" if self.total else "setting up"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "out": self.out, "state": self.state, "day": self.day, "total": self.total,
                "error": self.error, "progress": self.progress_text}


def read_job(runs: Path, job_id: str) -> Job | None:
    if not NAME.fullmatch(job_id):
        return None
    folder = jobs_folder(runs) / job_id
    state = read_json(folder / "job.json")
    if not state:
        return None
    progress = read_json(folder / "progress.json")
    status, error = state.get("state", "running"), state.get("error", "")
    if status in ("running", "starting") and not alive(state.get("pid")):
        # the process is gone without saying it finished: killed, or the machine restarted
        status = "done" if (runs / state["out"] / "summary.json").exists() else "failed"
        error = error or "the run's process ended without finishing (stopped or killed); nothing was written"
    return Job(job_id, state["out"], state["scenario"], status, int(progress.get("day", 0)),
               int(progress.get("total", 0)), error)


def list_jobs(runs: Path) -> list[Job]:
    """The jobs still running or that failed (a finished one is in the list of runs)."""
    folder = jobs_folder(runs)
    if not folder.is_dir():
        return []
    jobs = [read_job(runs, path.name) for path in sorted(folder.iterdir())]
    return [job for job in jobs if job is not None and job.state != "done"]
