"""YAML as people write it: a key given twice, or a file that is not UTF-8, is an error that names
the lines, never a silent choice."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.scenario.load import load_scenario
from socialcredit.scheme import SchemeError, load_scheme

SCHEME = """id: twice
title: A feature defined twice
scale: {min: 0, max: 100, base: 50}
events:
  late: {category: financial}
features:
  late_count: {count: late}
  late_count: {count: late, window_days: 30}
components:
  history: {feature: late_count, per_unit: -5}
"""


def test_a_key_given_twice_in_a_scheme_is_refused_with_both_lines(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(SCHEME)
    with pytest.raises(SchemeError) as caught:
        load_scheme(str(path))
    message = str(caught.value)
    assert "twice.yaml:8:3: features.late_count: 'late_count' is given twice, at line 7 and at line 8" in message
    result = CliRunner().invoke(app, ["scheme", "check", str(path)])
    assert result.exit_code == 2 and "given twice" in result.output and "valid" not in result.output.split("\n")[0][:5]


def test_a_key_given_twice_in_a_scenario_is_refused(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text("scheme: example\npopulation: {size: 100}\nrun: {days: 5}\nrun: {days: 50}\n")
    with pytest.raises(SchemeError, match=r"scenario.yaml:4:1: run: 'run' is given twice, at line 3 and at line 4"):
        load_scenario(str(path))


def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"id: latin\ntitle: Caf\xe9 credit\n")
    result = CliRunner().invoke(app, ["scheme", "check", str(path)])
    assert result.exit_code == 2
    assert "latin1.yaml:2: (top level): not UTF-8 text: byte 0xe9 cannot be read" in result.output
    assert "Traceback" not in result.output
