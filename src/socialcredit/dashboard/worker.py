"""A run started from the dashboard, in its own process: `python -m socialcredit.dashboard.worker
JOB_FOLDER`. It writes its progress and how it ended into the job folder (jobs.py reads them)."""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from .jobs import read_json, write_json


def main(folder: Path) -> int:
    from ..runner.run import run_scenario
    from ..scenario.load import load_scenario
    from ..scheme import SchemeError
    from ..sim.resources import gib, plan

    job = read_json(folder / "job.json")
    runs = Path(job["runs"])

    def finish(state: str, error: str = "") -> None:
        write_json(folder / "job.json", {**read_json(folder / "job.json"), "state": state, "error": error})

    try:
        scenario, schemes = load_scenario(job["scenario"], job["overrides"])
    except SchemeError as error:
        finish("failed", str(error))
        return 1
    memory = plan(scenario, sum(len(entry.scheme.events) for entry in schemes))
    if not memory.fits:
        finish("failed", f"{scenario.population.size:,} people need about {gib(memory.needed)} and this machine "
                         f"has {gib(memory.available or 0)} available: choose fewer people")
        return 1
    total = scenario.run.burn_in_days + scenario.run.days
    last = [0.0]

    def on_day(day: int) -> None:
        now = time.monotonic()
        if now - last[0] > 0.3 or day + 1 == scenario.run.days:  # a few writes a second at most
            write_json(folder / "progress.json", {"day": scenario.run.burn_in_days + day + 1, "total": total})
            last[0] = now

    write_json(folder / "progress.json", {"day": 0, "total": total})
    try:
        run = run_scenario(scenario, schemes, on_day, job.get("save_events", False))
        run.save(runs / job["out"])
    except Exception as error:  # any failure is the job's outcome, shown on its page
        with (folder / "log.txt").open("a") as log:  # the details, for whoever reads the job's folder
            log.write(traceback.format_exc())
        finish("failed", f"{type(error).__name__}: {error}")
        return 1
    finish("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
