"""Numbers a user types into a scenario: `.nan` and `.inf` are refused as not numbers (not as out of
a bound they cannot be compared with, nor with a traceback), and multipliers may not be negative; a
malformed entry of a list of names or mappings (`receives`) is said once, with its fix."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from socialcredit.cli import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "three-schemes.scenario.yaml"


def simulate(tmp_path: Path, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["simulate", *arguments, "--population", "300", "--days", "3",
                                      "--out", str(tmp_path / "out"), "--overwrite"])
    return result.exit_code, result.output


@pytest.mark.parametrize(("preset", "setting"), [
    ("national", "gaming.pruning.group_factor.urban=.nan"),
    ("national", "gaming.pruning.rate=.inf"),
    ("nosedive", "gaming.inflation.rating.honest_mean=.nan"),
    ("nosedive", "gaming.inflation.rating.reciprocity=.nan"),
    ("national", "appeals.propensity=.nan"),
    ("national", "surveillance.banks.coverage=.nan"),
])
def test_a_number_that_is_not_one_is_refused_by_name(tmp_path, preset, setting):
    code, output = simulate(tmp_path, "--preset", preset, "--set", setting)
    assert code != 0 and "Traceback" not in output
    key, value = setting.split("=")
    assert f"{key}={value}: {value.lstrip('.')} is not a number; write a plain finite number" in output
    assert "less than" not in output and "greater than" not in output


def test_a_negative_group_factor_is_refused(tmp_path):
    code, output = simulate(tmp_path, "--preset", "national", "--set", "gaming.pruning.group_factor.urban=-3")
    assert code != 0 and "gaming.pruning.group_factor.urban=-3" in output and "greater than or equal to 0" in output
    assert not (tmp_path / "out").exists()


def test_a_shared_sources_coverage_that_is_not_a_number_is_refused(tmp_path):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["schemes"]["zhima"]["receives"][2]["coverage"] = math.nan
    path = tmp_path / "nan.scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, output = simulate(tmp_path, str(path))
    assert code != 0 and "Traceback" not in output
    assert "schemes.zhima.receives[2].coverage" in output and "nan is not a number" in output


@pytest.mark.parametrize(("entry", "said"), [
    ({"source": "police", "delay": 3}, "schemes.zhima.receives[2].delay: unknown key 'delay'\n    fix: did you mean "
                                       "'delay_days'?"),
    (5, "schemes.zhima.receives[2]: expected a name or a mapping, got int 5"),
])
def test_a_malformed_receives_entry_is_one_problem(tmp_path, entry, said):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["schemes"]["zhima"]["receives"][2] = entry
    path = tmp_path / "bad.scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, output = simulate(tmp_path, str(path))
    assert code != 0 and "(1 problem)" in output and said in output
    assert ".str" not in output and "Receipt" not in output  # pydantic's names of the union's branches
