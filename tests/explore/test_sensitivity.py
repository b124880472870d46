"""`socialcredit sensitivity`: the parameter a figure reads drives it, one it never reads gets an index
near 0, and what a user can mistype gets a clear error, not a traceback."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from socialcredit.cli import app

runner = CliRunner()
# The court list over two months of 600 people, from an empty list (no burn-in): the default rate
# drives the listed share; flights (blocked for the listed) never list anyone.
SMALL = ["shixin", "--population", "600", "--days", "40", "--set", "run.burn_in_days=0", "--sequential"]
DRIVER = "behaviours.judgment_default.rate"
IDLE = "behaviours.flight.rate"
RANGES = ["--param", f"{DRIVER}=0.00002:0.0003", "--param", f"{IDLE}=0.0005:0.003"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_the_parameter_an_output_does_not_read_gets_an_index_near_zero(tmp_path, method):
    result = runner.invoke(app, ["sensitivity", *SMALL, *RANGES, "--output", "listed.dishonest_debtor",
                                 "--method", method, "--samples", "8", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    indices = pd.read_csv(tmp_path / "out" / "indices.csv").set_index("parameter")
    key = "total" if method == "sobol" else "mu_star"
    assert indices.loc[DRIVER, key] > 0.5 * (1 if method == "sobol" else indices[key].max())
    assert indices.loc[IDLE, key] < 0.05 * indices.loc[DRIVER, key]
    assert indices[key].idxmax() == DRIVER
    assert (tmp_path / "out" / "sensitivity.png").stat().st_size > 1000
    text = (tmp_path / "out" / "sensitivity.txt").read_text()
    assert f"driven by {DRIVER}" in text and f"little or nothing from {IDLE}" in text
    assert "cost: 32 runs" in text if method == "sobol" else "cost: 24 runs" in text


@pytest.mark.parametrize(("args", "said"), [
    (["--param", "behaviours.judgment_default.rate"], "expected --param NAME=LOW:HIGH"),
    (["--param", "behaviours.judgment_default.rate=a:b"], "must be numbers"),
    (["--param", "behaviours.judgment_default.rate=0.3:0.1"], "LOW < HIGH"),
    (["--param", "behaviours.judgment_defualt.rate=0.1:0.2"], "did you mean 'judgment_default'"),
    (["--param", "behaviours.judgment_default.rate=0.1:0.2", "--method", "fast"], "expected one of sobol, morris"),
    (["--param", "behaviours.judgment_default.rate=0.1:0.2", "--samples", "6"], "power of 2"),
    ([], "no parameters to vary"),
])
def test_bad_input_is_named_with_its_fix(args, said, tmp_path):
    result = runner.invoke(app, ["sensitivity", *SMALL, "--output", "listed.dishonest_debtor", *args,
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert "Traceback" not in result.output


def test_a_figure_no_run_has_is_named_with_close_ones(tmp_path):
    result = runner.invoke(app, ["sensitivity", "shixin", "--population", "300", "--days", "5", "--set",
                                 "run.burn_in_days=0", "--sequential", "--param", f"{DRIVER}=0.00002:0.0003",
                                 "--output", "listed.dishonest_debtr", "--samples", "2",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "no such figure in this run: --output listed.dishonest_debtr (did you mean listed.dishonest_debtor" in said
    assert not (tmp_path / "out").exists()
    far = runner.invoke(app, ["sensitivity", "shixin", "--population", "300", "--days", "5", "--set",
                              "run.burn_in_days=0", "--sequential", "--param", f"{DRIVER}=0.00002:0.0003",
                              "--output", "zzqq", "--samples", "2", "--out", str(tmp_path / "out")])
    said = " ".join(far.output.split())
    assert far.exit_code == 2 and "did you mean ?" not in said
    assert "--output zzqq (no figure of this run is close: a run's metrics.parquet columns and summary.json" in said


def test_a_day_past_the_runs_end_is_refused_naming_the_days_before_any_run(tmp_path):
    result = runner.invoke(app, ["sensitivity", "shixin", "--population", "300", "--days", "5", "--set",
                                 "run.burn_in_days=0", "--sequential", "--param", f"{DRIVER}=0.00002:0.0003",
                                 "--output", "listed.dishonest_debtor@999", "--samples", "2",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "--output listed.dishonest_debtor@999: day 999 is after the run's last reported day; the days are 0 to 4" \
        in said
    assert "runs here" not in said and not (tmp_path / "out").exists()


def test_a_whole_number_parameter_is_varied_over_whole_numbers(tmp_path):
    result = runner.invoke(app, ["sensitivity", "shixin", "--days", "5", "--set", "run.burn_in_days=0",
                                 "--sequential", "--param", "population.size=100:200",
                                 "--output", "listed.dishonest_debtor", "--samples", "2",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    sizes = pd.read_csv(tmp_path / "out" / "points.csv")["population.size"]
    assert len(sizes) == 6 and (sizes == sizes.round()).all() and sizes.between(100, 200).all()
    assert sizes.nunique() > 1
    fractional = runner.invoke(app, ["sensitivity", *SMALL, "--param", "population.size=100.5:200",
                                     "--output", "listed.dishonest_debtor", "--out", str(tmp_path / "out2")])
    assert fractional.exit_code == 2
    assert "population.size is a whole number; fix: give whole-number bounds" in " ".join(fractional.output.split())


def test_sobol_indices_from_too_few_samples_are_flagged_unreliable():
    import numpy as np

    from socialcredit.explore.params import Param
    from socialcredit.explore.sensitivity import analyse, sample, sentence

    params = [Param("a", 0.0, 1.0), Param("b", 0.0, 1.0)]
    few = sample("sobol", params, 4)
    noisy = pd.DataFrame({"y": few[:, 0] + np.random.default_rng(3).normal(0, 1, len(few))})
    text = sentence("sobol", "y", analyse("sobol", params, few, noisy))
    assert text.startswith("y: UNRELIABLE, unreliable with --samples 4 (") and "fix: more --samples" in text
    many = sample("sobol", params, 512)
    clean = analyse("sobol", params, many, pd.DataFrame({"y": many[:, 0] + 0.1 * many[:, 1]}))
    assert (clean["warning"] == "").all()
    assert sentence("sobol", "y", clean).startswith("y: driven by a (total")


def test_a_params_file_with_a_bad_entry_names_it(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text(f"{DRIVER}: [0.00002]\n")
    result = runner.invoke(app, ["sensitivity", *SMALL, "--params", str(bad), "--output", "listed.dishonest_debtor"])
    assert result.exit_code == 2, result.output
    assert f"{bad}: {DRIVER}: expected [low, high]" in result.output.replace("\n", "")


def test_a_figure_the_same_at_every_point_is_said_to_be_so_not_given_indices_of_zero():
    import numpy as np

    from socialcredit.explore.params import Param
    from socialcredit.explore.sensitivity import analyse, sample, sentence

    params = [Param("a", 0.0, 1.0), Param("b", 0.0, 1.0)]
    inputs = sample("sobol", params, 8)
    outputs = pd.DataFrame({"flat": np.zeros(len(inputs)), "a_only": inputs[:, 0]})
    indices = analyse("sobol", params, inputs, outputs)
    flat = indices[indices["figure"] == "flat"]
    assert sentence("sobol", "flat", flat) == "flat: the same (0) at every point (no indices)."
    driven = indices[indices["figure"] == "a_only"].set_index("parameter")
    assert driven.loc["a", "total"] > 0.9 and abs(driven.loc["b", "total"]) < 0.01


def test_a_scheduler_that_does_not_answer_is_named_with_the_fix(tmp_path):
    result = runner.invoke(app, ["sensitivity", "shixin", "--population", "300", "--days", "5", "--param",
                                 f"{DRIVER}=0.00002:0.0003", "--output", "listed.dishonest_debtor", "--samples", "2",
                                 "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "--scheduler tcp://127.0.0.1:9: could not connect" in result.output.replace("\n", "")
