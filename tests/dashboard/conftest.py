"""A runs folder as a user would have it: a run with saved events and false records, two runs of three
schemes (one with its records saved), a comparison, and folders that are broken in the ways a real folder can be."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from socialcredit.dashboard.app import create_app
from socialcredit.runner.compare import run_experiment, summarise, variants
from socialcredit.runner.run import simulate

# Record errors at 10%, a blacklist for one late payment, eager appellants and quick shunning: in 30
# days of 1,500 people some are wrongly listed, shunned and appeal.
ERRORS = {"surveillance.banks.error_rate": 0.1, "appeals.propensity": 0.8, "social.shun_listed": 0.2,
          "scheme_overrides.lists.blacklist": "tier <= 'D' or late_24m >= 1"}


@pytest.fixture(scope="session")
def runs_folder(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    simulate("default", population=1500, days=30, seed=3, save_events=True, **ERRORS).save(runs / "errors")
    simulate(str(Path(__file__).parents[2] / "examples" / "three-schemes.scenario.yaml"), population=1000,
             days=20, seed=1).save(runs / "three")
    # the same with its records saved: the city and Zhima read the court's list (input lists)
    simulate(str(Path(__file__).parents[2] / "examples" / "three-schemes.scenario.yaml"), population=600,
             days=12, seed=2, save_events=True).save(runs / "joint")
    chosen = variants(["default"], {"surveillance.banks.error_rate": [0.0, 0.05], "population.size": [500],
                                    "run.days": [15]})
    results = run_experiment(chosen, [1, 2])
    (runs / "cmp").mkdir()
    results.to_csv(runs / "cmp" / "results.csv", index=False)
    summarise(results).to_csv(runs / "cmp" / "table.csv", index=False)
    # broken as a killed copy or a hand edit leaves them
    (runs / "half").mkdir()
    (runs / "half" / "summary.json").write_text(json.dumps({"people": 10, "days": 2}))
    (runs / "garbled").mkdir()
    for name in ("summary.json", "metrics.parquet", "people.parquet"):
        (runs / "garbled" / name).write_text("{not json")
    (runs / "stray").mkdir()
    (runs / "stray" / "notes.txt").write_text("hello")
    (runs / ".errors.partial-123").mkdir()  # a run being written: hidden
    return runs


@pytest.fixture(scope="session")
def client(runs_folder) -> TestClient:
    return TestClient(create_app(runs_folder), base_url="http://127.0.0.1")  # as the browser asks it
