"""Saving a run's state and continuing from it (issue 22, "Save and fork"): a continued run with nothing
changed is the run that never stopped, bit for bit; a change applies from the day after the saved one."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.runner.compare import headline_figures, run_experiment, variants
from socialcredit.runner.run import Run, simulate
from socialcredit.sim.state import StateError, content_hash
from socialcredit.world.behaviour import Behaviour
from socialcredit.world.metrics import Metrics

TIMING = {"seconds", "compile_seconds", "person_days_per_second", "phase_seconds"}


def without_timing(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in summary.items() if key not in TIMING}


def assert_same_run(whole: Run, continued: Run) -> None:
    pd.testing.assert_frame_equal(whole.metrics, continued.metrics, check_exact=True)
    pd.testing.assert_frame_equal(whole.people, continued.people, check_exact=True)
    # NaN figures compare equal through their JSON form
    assert repr(without_timing(whole.summary)) == repr(without_timing(continued.summary))
    for name, table in whole.mobilities.items():
        pd.testing.assert_frame_equal(table, continued.mobilities[name], check_exact=True)


def fork_and_compare(tmp_path: Path, preset: str | None, population: int, days: int, at: int) -> None:
    state = tmp_path / "state.npz"
    whole = simulate(preset, population=population, days=days, save_state=(at, state))
    continued = simulate(preset, population=population, days=days, from_state=state)
    assert_same_run(whole, continued)


def test_continuing_the_default_run_gives_the_run_that_never_stopped(tmp_path: Path) -> None:
    fork_and_compare(tmp_path, None, 1500, 45, 20)


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "population", "days", "at"), [
    ("rongcheng", 2000, 120, 50),          # points farming and pruning friends
    # several schemes, lists shared between them: the court list the others import has members at the
    # fork (its fitted default rate places about 0.2% of adults a year: 2 of 10,000 by day 40, 7 by 90)
    ("national", 10_000, 90, 40),
    ("shenzhen-cameras", 2000, 120, 60),   # public displays, pictures paid off
    ("zhima-2020", 2000, 200, 150),        # enrolment: voluntary, then mandatory from day 184
])
def test_continuing_each_mechanism_gives_the_run_that_never_stopped(tmp_path: Path, preset: str, population: int,
                                                                    days: int, at: int) -> None:
    fork_and_compare(tmp_path, preset, population, days, at)


@pytest.mark.parametrize("phase", [Behaviour, Metrics])
def test_a_phase_that_does_not_declare_its_state_breaks_the_continued_run(tmp_path: Path, phase: type,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """What makes the bit-for-bit test worth having: a phase that forgets its state is caught by it."""
    state = tmp_path / "state.npz"
    whole = simulate(None, population=1500, days=45)
    monkeypatch.setattr(phase, "state_fields", ())
    simulate(None, population=1500, days=45, save_state=(20, state))
    continued = simulate(None, population=1500, days=45, from_state=state)
    with pytest.raises(AssertionError):
        assert_same_run(whole, continued)


def test_a_change_after_the_fork_changes_the_run_from_the_next_day_only(tmp_path: Path) -> None:
    state = tmp_path / "state.npz"
    whole = simulate(None, population=1500, days=45, save_state=(20, state))
    changed = simulate(None, population=1500, days=45, from_state=state, **{"economy.income_growth": 0.5})
    before = whole.metrics["day"] <= 20
    pd.testing.assert_frame_equal(whole.metrics[before], changed.metrics[before], check_exact=True)
    assert changed.metrics.loc[21, "income_mean"] > whole.metrics.loc[21, "income_mean"]
    assert (changed.metrics.loc[~before, "income_mean"] > whole.metrics.loc[~before, "income_mean"]).all()
    assert not np.array_equal(whole.people["income"], changed.people["income"])


@pytest.mark.parametrize(("key", "value"), [("population.size", 1600), ("run.seed", 2),
                                            ("network.mean_degree", 4)])
def test_a_change_that_cannot_apply_mid_run_is_refused_by_name(tmp_path: Path, key: str, value: Any) -> None:
    state = tmp_path / "state.npz"
    simulate(None, days=30, **{"population.size": 1500}, save_state=(10, state))
    with pytest.raises(StateError, match=rf"{key} cannot change mid-run"):
        simulate(None, days=30, from_state=state, **{"population.size": 1500, key: value})


def test_a_state_file_is_read_without_pickle(tmp_path: Path) -> None:
    state = tmp_path / "state.npz"
    simulate(None, population=500, days=12, save_state=(5, state))
    with np.load(state, allow_pickle=False) as data:  # raises on any object array
        assert all(data[name].dtype != object for name in data.files)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a state")
    with pytest.raises(StateError, match="not a socialcredit state file"):
        simulate(None, population=500, days=12, from_state=bad)


def test_saving_needs_a_day_left_to_continue_with(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="--save-state-at 11"):
        simulate(None, population=300, days=12, save_state=(11, tmp_path / "state.npz"))


def test_compare_forks_every_variant_from_one_saved_state(tmp_path: Path) -> None:
    state = tmp_path / "state.npz"
    whole = simulate(None, population=1500, days=45, save_state=(20, state))
    rate = whole.scenario.behaviours["traffic_violation"].rate
    chosen = variants([state.stem], {"behaviours.traffic_violation.rate": [rate, rate * 20]}, str(state))
    results = run_experiment(chosen, [whole.scenario.run.seed]).set_index("variant")
    unchanged, changed = (results.loc[variant.label] for variant in chosen)
    expected = headline_figures(whole.summary)
    assert {key: unchanged[key] for key in expected} == pytest.approx(expected, rel=0, abs=0, nan_ok=True)
    assert changed["score_mean"] < unchanged["score_mean"]  # more violations recorded from day 21


def test_the_commands_save_continue_and_fork(tmp_path: Path) -> None:
    runner = CliRunner()
    state = tmp_path / "state.npz"
    first = runner.invoke(app, ["simulate", "--population", "800", "--days", "30", "--save-state-at", "12",
                                "--state-file", str(state), "-o", str(tmp_path / "whole")])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["simulate", "--from-state", str(state), "-o", str(tmp_path / "continued")])
    assert again.exit_code == 0, again.output
    for name in ("metrics.parquet", "people.parquet"):
        assert pd.read_parquet(tmp_path / "whole" / name).equals(pd.read_parquet(tmp_path / "continued" / name))
    refused = runner.invoke(app, ["simulate", "--from-state", str(state), "--population", "900",
                                  "-o", str(tmp_path / "refused")])
    assert refused.exit_code != 0 and "population.size cannot change mid-run" in refused.output
    assert "Traceback" not in refused.output
    forked = runner.invoke(app, ["compare", "--from-state", str(state), "--set", "economy.income_growth=0.02,0.5",
                                 "--sequential", "-o", str(tmp_path / "compare")])
    assert forked.exit_code == 0, forked.output
    results = pd.read_csv(tmp_path / "compare" / "results.csv")
    assert list(results["economy.income_growth"]) == [0.02, 0.5] and list(results["seed"]) == [1, 1]


def test_a_continued_run_may_be_longer_or_shorter_than_the_saved_one(tmp_path: Path) -> None:
    """README: `--from-state` applies a `--days` change; the days up to the saved one are the saved run's."""
    state = tmp_path / "state.npz"
    whole = simulate(None, population=1000, days=45, save_state=(20, state))
    for days in (60, 30):
        continued = simulate(None, population=1000, days=days, from_state=state)
        assert list(continued.metrics["day"]) == list(range(days))
        assert continued.summary["days"] == days
        assert continued.metrics["score_mean"].notna().all()  # every day simulated, none left empty
        shared = min(days, 45)
        assert np.array_equal(whole.metrics["score_mean"].to_numpy()[:shared],
                              continued.metrics["score_mean"].to_numpy()[:shared])
    with pytest.raises(StateError, match="state is of day 20 and run.days is 21: nothing is left"):
        simulate(None, population=1000, days=21, from_state=state)
    longer = variants([state.stem], {"run.days": [60]}, str(state))
    assert run_experiment(longer, [whole.scenario.run.seed])["score_mean"].notna().all()


def test_a_continued_run_counts_only_the_days_it_simulated_in_its_speed(tmp_path: Path) -> None:
    state = tmp_path / "state.npz"
    simulate(None, population=1000, days=40, save_state=(34, state))
    continued = simulate(None, population=1000, days=40, from_state=state)
    summary = continued.summary
    running = summary["seconds"] - summary["compile_seconds"]
    assert summary["person_days_per_second"] == pytest.approx(1000 * 5 / running, rel=0.01)


def _entries(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    return json.loads(arrays.pop("__state__").tobytes()), arrays


def _write(path: Path, skeleton: dict[str, Any], arrays: dict[str, np.ndarray], rehash: bool = True) -> Path:
    """The file as an editor who digests it again writes it (the structural checks are what stop it), or
    (`rehash=False`) as one who does not."""
    if rehash:
        skeleton = {**skeleton, "content_hash": content_hash(skeleton, arrays)}
    np.savez(path, __state__=np.frombuffer(json.dumps(skeleton).encode(), np.uint8), **arrays)
    return path


def _edited(arrays: dict[str, np.ndarray], name: str, value: int) -> dict[str, np.ndarray]:
    """`arrays` with the first value of array `name` set to `value`."""
    changed = arrays[name].copy()
    changed[0] = value
    return {**arrays, name: changed}


def _ties(skeleton: dict[str, Any]) -> str:
    """The name of the graph's CSR indices array: the one the compiled kernels read past the end of."""
    return str(skeleton["sim"]["graph"]["attrs"]["indices"]["array"])


def _tampered(state: Path, how: str) -> Path:
    raw = state.read_bytes()
    out = state.with_name(f"{how}.npz")
    skeleton, arrays = _entries(state)
    ties = _ties(skeleton)
    if how == "truncated":
        out.write_bytes(raw[: len(raw) // 2])
    elif how == "empty":
        out.write_bytes(b"")
    elif how == "shortened":
        _write(out, skeleton, {**arrays, ties: arrays[ties][:-7]})
    elif how == "dtype":
        _write(out, skeleton, {**arrays, ties: arrays[ties].astype(np.float32)})
    elif how == "missing":
        _write(out, skeleton, {name: array for name, array in arrays.items() if name != ties})
    elif how in ("population", "population_rehashed"):
        skeleton["scenario"]["population"]["size"] += 500
        if how == "population_rehashed":  # an edit that keeps the hash in step: the arrays still say 600 people
            skeleton["scenario_hash"] = hashlib.sha256(json.dumps(skeleton["scenario"], sort_keys=True).encode()
                                                       ).hexdigest()
        _write(out, skeleton, arrays)
    elif how == "value":  # one group code edited to another group's, the digest not: refused all the same
        group = skeleton["sim"]["people"]["attrs"]["group"]["array"]
        _write(out, skeleton, _edited(arrays, group, 1 - int(arrays[group][0] != 0)), rehash=False)
    elif how == "group_code":
        _write(out, skeleton, _edited(arrays, skeleton["sim"]["people"]["attrs"]["group"]["array"], 99))
    elif how == "tier_code":
        _write(out, skeleton, _edited(arrays, skeleton["schemes"][0]["scores"]["attrs"]["tier"]["array"], 7))
    elif how == "initial_tier_code":
        _write(out, skeleton, _edited(arrays, skeleton["schemes"][0]["initial_tier"]["array"], -3))
    elif how == "no_day":
        del skeleton["day"]
        _write(out, skeleton, arrays)
    elif how == "day_not_a_number":
        skeleton["day"] = "x"
        _write(out, skeleton, arrays)
    elif how == "method":
        skeleton["modules"]["behaviour"]["step"] = 1  # would replace a phase's method
        _write(out, skeleton, arrays)
    elif how == "not_a_field":
        skeleton["sim"]["scenario"] = {"list": []}
        _write(out, skeleton, arrays)
    return out


@pytest.fixture(scope="module")
def saved_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("saved") / "state.npz"
    simulate(None, population=600, days=20, save_state=(8, state))
    return state


@pytest.mark.parametrize(("how", "says"), [
    ("truncated", "cut short or damaged"),
    ("empty", "cut short or damaged"),
    ("shortened", r"sim\.graph\.Relations: its ties \(indptr, indices\) do not hold together"),
    ("dtype", r"sim\.graph\.Relations\.indices: an array of float32 .* where this scenario makes int32"),
    ("missing", r"sim\.graph\.Relations\.indices: its array 'a\d+' is missing"),
    ("population", "the saved scenario does not match its scenario_hash"),
    ("population_rehashed", r"an array of shape \(600,\) where this scenario makes \(1100,\)"),
    ("value", "its content does not match its content_hash: a value in the file was edited"),
    ("group_code", r"sim\.people\.People: its group codes run 0\.\.99, where this scenario has 0\.\.\d"),
    ("tier_code", r"Scores: its tier codes run -?\d\.\.7, where this scenario has -1\.\.\d"),
    ("initial_tier_code", r"scheme \w+: its initial_tier codes run -3\.\.\d, where this scenario has -1\.\.\d"),
    ("no_day", "the entry 'day' is missing"),
    ("day_not_a_number", "the entry 'day' is 'x', not a day number"),
    ("method", "phase behaviour: it sets 'step', which is not state"),
    ("not_a_field", "sim: it sets 'scenario', which is not state"),
])
def test_a_damaged_or_edited_state_file_is_refused_saying_what_is_wrong(saved_state: Path, how: str,
                                                                         says: str) -> None:
    bad = _tampered(saved_state, how)
    people = 1100 if how == "population_rehashed" else 600  # the scenario the edited file now says
    with pytest.raises(StateError, match=says) as raised:
        simulate(None, population=people, days=20, from_state=bad)
    assert str(raised.value).startswith(str(bad)) and "save the state again" in str(raised.value)


def test_the_command_refuses_a_shortened_array_rather_than_read_past_its_end(saved_state: Path) -> None:
    """A graph array cut short once crashed the process (the kernels trust its length): in a process of
    its own, so that a crash fails this test rather than the run of tests."""
    bad = _tampered(saved_state, "shortened")
    done = subprocess.run([sys.executable, "-c", "from socialcredit.cli import app; app()", "simulate",
                           "--from-state", str(bad), "-o", str(bad.parent / "out")],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "300"})
    assert done.returncode == 2, done.stderr
    assert f"{bad}: sim.graph.Relations: its ties" in done.stderr and "Traceback" not in done.stderr


def test_an_unwritable_state_file_is_refused_before_the_run(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"--state-file .* is a folder: give a file name in it"):
        simulate(None, population=300, days=12, save_state=(5, tmp_path))
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(StateError, match="cannot be written"):
        simulate(None, population=300, days=12, save_state=(5, blocked / "state.npz"))
    assert list(tmp_path.iterdir()) == [blocked]  # no stray .partial


def test_saving_events_from_a_state_saved_without_them_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.npz"
    simulate(None, population=300, days=12, save_state=(5, state))
    with pytest.raises(StateError, match="saved without --save-events"):
        simulate(None, population=300, days=12, from_state=state, save_events=True)
    with_events = tmp_path / "with-events.npz"
    whole = simulate(None, population=300, days=12, save_state=(5, with_events), save_events=True)
    continued = simulate(None, population=300, days=12, from_state=with_events, save_events=True)
    whole.save(tmp_path / "whole")
    continued.save(tmp_path / "continued")
    assert pd.read_parquet(tmp_path / "whole" / "events.parquet").equals(
        pd.read_parquet(tmp_path / "continued" / "events.parquet"))
