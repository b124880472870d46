"""What a newcomer meets: outputs written whole or not at all, clear errors for what cannot be done,
titles that say what was run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialcredit.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).parents[2] / "examples"
SMALL = ["--population", "1500", "--days", "10"]


def simulate(*arguments: str):
    return runner.invoke(app, ["simulate", *SMALL, *arguments])


@pytest.mark.slow
def test_reusing_an_out_folder_is_refused_and_overwrite_leaves_only_the_new_runs_files(tmp_path):
    out = tmp_path / "run"
    assert simulate("--out", str(out), "--save-events").exit_code == 0
    assert (out / "events.parquet").exists()
    refused = simulate("--out", str(out))
    assert refused.exit_code == 2
    assert "already holds files" in refused.output and "--overwrite" in refused.output
    assert (out / "events.parquet").exists(), "nothing touched"
    replaced = simulate("--out", str(out), "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert not (out / "events.parquet").exists(), "no file of the last run beside the new run's"
    assert (out / "report.html").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"], "no partial folder left behind"


def test_an_interrupted_run_says_so_and_writes_nothing(tmp_path, monkeypatch):
    import socialcredit.runner.run as run_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "run_scenario", interrupted)
    result = simulate("--out", str(tmp_path / "run"))
    assert result.exit_code == 130
    assert "interrupted while setting up: nothing was written" in result.output
    assert not (tmp_path / "run").exists()


def test_an_interruption_while_saving_leaves_no_half_written_folder(tmp_path, monkeypatch):
    from socialcredit.runner.run import Run

    original = Run.report

    def interrupted_report(self, path):
        original(self, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(Run, "report", interrupted_report)
    result = simulate("--out", str(tmp_path / "run"))
    assert result.exit_code == 130
    assert "interrupted while saving: nothing was written" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_titles_state_the_runs_actual_size_and_length(tmp_path):
    result = runner.invoke(app, ["simulate", "--preset", "shenzhen-cameras", "--population", "2000", "--days", "20",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "Shenzhen jaywalking cameras: scheme 'shenzhen-cameras', 2,000 people, 20 days" in result.output
    assert "100,000" not in result.output and "for a year" not in result.output
    html = (tmp_path / "run" / "report.html").read_text()
    assert "<h1>Shenzhen jaywalking cameras: 2,000 people, 20 days</h1>" in html
    assert "100,000" not in html


@pytest.mark.parametrize("name", ["scores.xlsx", "scores", "scores.json"])
def test_score_refuses_an_output_format_it_cannot_write(tmp_path, name):
    result = runner.invoke(app, ["score", str(EXAMPLES / "events.csv"), "--scheme", "lending", "--out",
                                 str(tmp_path / name)])
    assert result.exit_code == 2
    assert "name a file ending in .csv or .parquet" in result.output
    assert list(tmp_path.iterdir()) == []


def test_score_says_why_an_output_cannot_be_written(tmp_path):
    result = runner.invoke(app, ["score", str(EXAMPLES / "events.csv"), "--scheme", "lending", "--out",
                                 "/proc/scores.csv"])
    assert result.exit_code == 2
    assert "--out /proc/scores.csv: cannot write it: No such file or directory" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["purge"], ["audit", "verify"]])
def test_service_commands_refuse_a_database_that_does_not_exist(tmp_path, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    assert "no database at socialcredit.db" in result.output
    assert list(tmp_path.iterdir()) == [], "no empty database created"
    result = runner.invoke(app, [*command, "--db", f"sqlite:///{tmp_path / 'elsewhere.db'}"])
    assert result.exit_code == 2 and "no database at" in result.output


def test_serve_on_a_taken_port_says_so_first_with_its_own_exit_code(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "socialcredit.cli", "serve", "--port", str(port), "--db",
                                 f"sqlite:///{tmp_path / 'service.db'}"], capture_output=True, text=True,
                                timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 4
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "serving" not in result.stderr + result.stdout
    assert not (tmp_path / "service.db").exists()


@pytest.mark.parametrize(("setting", "said"), [
    ("network.mean_degre=6", "--set network.mean_degre=6: unknown key 'mean_degre'; did you mean 'mean_degree'? "
                             "(the scenario format: socialcredit scenario schema)"),
    ("population.size=1.5", "--set population.size=1.5: expected a whole number, got 1.5"),
    ("behaviours.late_paymnt.rate=3", "--set behaviours.late_paymnt.rate=3: unknown event kind 'late_paymnt'"),
])
def test_a_bad_set_is_reported_against_the_command_line(tmp_path, setting, said):
    result = runner.invoke(app, ["simulate", "--days", "5", "--set", setting, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert said in result.output
    assert "preset:default:" not in result.output, "not a line of a file the user never wrote"


def test_the_scenario_format_has_a_schema_and_a_check():
    import json

    schema = json.loads(runner.invoke(app, ["scenario", "schema"]).output)
    assert "mean_degree" in json.dumps(schema) and "burn_in_days" in json.dumps(schema)
    result = runner.invoke(app, ["scenario", "check", "shixin"])
    assert result.exit_code == 0 and "valid scenario 'shixin'" in result.output


def test_compare_takes_population_and_days_like_simulate(tmp_path):
    import pandas as pd

    result = runner.invoke(app, ["compare", "--population", "800", "--days", "7", "--set", "social.shun_listed=0,0.01",
                                 "--seeds", "1", "--sequential", "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    runs = pd.read_csv(tmp_path / "cmp" / "results.csv")
    assert len(runs) == 2 and (runs["population.size"] == 800).all() and (runs["run.days"] == 7).all()


@pytest.mark.slow
def test_compare_says_when_no_scheduler_answers(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # a port that was free a moment ago: nobody answers there
    result = runner.invoke(app, ["compare", "--population", "500", "--days", "5", "--seeds", "1", "--scheduler",
                                 f"tcp://127.0.0.1:{port}", "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 2
    assert f"--scheduler tcp://127.0.0.1:{port}: could not connect within 5 s" in result.output
    assert not (tmp_path / "cmp").exists()


def test_a_population_too_large_for_the_machine_is_refused_with_the_estimate(tmp_path):
    from socialcredit.sim.resources import available_bytes

    available = available_bytes()
    assert available is not None
    too_many = int(available / 200)  # at well over 200 bytes a person, twice what fits or more
    result = runner.invoke(app, ["simulate", "--population", str(too_many), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert f"{too_many:,} people need about" in result.output and "available" in result.output
    assert "the largest population that fits is about" in result.output and "--force" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_the_first_run_says_it_compiles_and_reports_speed_without_the_compiling(tmp_path):
    import json

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "socialcredit.cli", "simulate", *SMALL, "--out",
                             str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "compiling the simulation's kernels for this machine, once" in result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["compile_seconds"] > 1
    running = summary["seconds"] - summary["compile_seconds"]
    assert summary["person_days_per_second"] == pytest.approx(1500 * 10 / running, rel=0.01)  # seconds rounded to ms
    again = subprocess.run([sys.executable, "-m", "socialcredit.cli", "simulate", *SMALL, "--out",
                            str(tmp_path / "again")], capture_output=True, text=True, env=env, timeout=600)
    assert "compiling" not in again.stderr, "the compiled kernels are kept between runs"
    assert json.loads((tmp_path / "again" / "summary.json").read_text())["compile_seconds"] < 1


def test_compare_refuses_an_out_folder_holding_files(tmp_path):
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "results.csv").write_text("an old study\n")
    result = runner.invoke(app, ["compare", "--population", "500", "--days", "5", "--seeds", "1", "--sequential",
                                 "--out", str(out)])
    assert result.exit_code == 2 and "already holds files" in result.output
    assert (out / "results.csv").read_text() == "an old study\n"
    replaced = runner.invoke(app, ["compare", "--population", "500", "--days", "5", "--seeds", "1", "--sequential",
                                   "--out", str(out), "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.csv", "table.csv"]
