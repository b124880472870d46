"""The shipped example `examples/shixin-published.yaml`: the shixin preset fitted to the Supreme
People's Court's published counts of the court list over the years (README, "The court list over the
years"). The fitted parameters give the published figures at their dates, within the stated
tolerance, and a target the model does not reach is reported as not met."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.explore.calibrate import MET_WITHIN
from socialcredit.explore.points import run_points
from socialcredit.explore.targets import read_targets

ROOT = Path(__file__).parents[2]
TARGETS = ROOT / "examples" / "shixin-published.yaml"
START = dt.date(2013, 10, 1)   # the list's first day: the run reports from it, with no burn-in
DAYS = 2284                    # to 2020-01-01, the last target's date
# Set in every run, as in the README's command: aggravated defaults about 4% of listings at the
# fitted rate (the preset's value since it took the fitted rates).
AGGRAVATED = {"behaviours.aggravated_default.rate": 0.00000025}
# What the README's full calibration found (20,000 people, seeds 1-2), as its text states.
FITTED = {"behaviours.judgment_default.rate": 5.587e-06, "behaviours.judgment_paid.rate": 1.196e-05}
RUN = {"run.start": START, "run.burn_in_days": 0, "run.days": DAYS, **AGGRAVATED}


def test_the_readme_states_the_fitted_values_the_test_checks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, value in FITTED.items():
        assert f"`{name} = {value:.4g}`" in " ".join(readme.split()), name


@pytest.mark.slow
def test_the_fitted_parameters_give_the_published_counts_at_their_dates():
    targets = read_targets(TARGETS, START)
    seeds = [1, 2]
    [by_seed] = run_points("shixin", {**RUN, "population.size": 20_000}, [FITTED], seeds,
                           [t.figure for t in targets])
    for target in targets:
        simulated = float(np.mean([values[target.figure.label] for values in by_seed]))
        z = (simulated - target.observed) / target.uncertainty
        assert abs(z) <= MET_WITHIN, (target.date, target.figure.key, simulated, target.observed)


@pytest.mark.slow
def test_a_target_the_model_does_not_reach_is_reported_as_not_met(tmp_path):
    # Two runs of 2,000 people over six years, about 20 s on a quiet core.
    data = yaml.safe_load(TARGETS.read_text(encoding="utf-8"))
    wrong = {"figure": "ever_listed.dishonest_debtor", "date": dt.date(2019, 7, 9), "observed": 0.05,
             "uncertainty": 0.004, "source": "deliberately wrong: four times the published 14.5 million"}
    (tmp_path / "targets.yaml").write_text(yaml.safe_dump({"targets": [*data["targets"], wrong]}))
    rate = FITTED["behaviours.judgment_default.rate"]
    args = ["calibrate", "shixin", "--targets", str(tmp_path / "targets.yaml"), "--population", "2000",
            "--days", str(DAYS), "--sequential", "--trials", "1", "--out", str(tmp_path / "out"),
            "--param", f"behaviours.judgment_default.rate={rate * 0.99}:{rate * 1.01}",
            "--set", f"run.start={START}", "--set", "run.burn_in_days=0",
            "--set", f"behaviours.judgment_paid.rate={FITTED['behaviours.judgment_paid.rate']}",
            *[part for key, value in AGGRAVATED.items() for part in ("--set", f"{key}={value}")]]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "targets.csv")
    assert len(table) == len(data["targets"]) + 1
    last = table.iloc[-1]
    assert last["when"] == "2019-07-09" and last["observed"] == 0.05
    assert not last["met"] and last["z"] < -MET_WITHIN
    assert "NO" in result.output and f"of {len(table)} targets met" in result.output
