"""A corpus of bad inputs, one for each way a user can go wrong with each command: every one gets a
clear error with the documented exit code (2 for the input, 3 for a refused scheme), never a Python
traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialcredit.cli import app

runner = CliRunner()


def files(tmp: Path) -> dict[str, Path]:
    """Bad and odd input files, written fresh for each case."""
    made = {
        "empty.csv": "",
        "header_only.csv": "subject,kind,time\n",
        "no_kind.csv": "subject,time\nbob,2024-01-01\n",
        "bad_time.csv": "subject,kind,time\nbob,payment,yesterday\n",
        "few_fields.csv": "subject,kind,time\nbob,payment\n",
        "scheme_not_mapping.yaml": "- a\n- b\n",
        "scheme_syntax.yaml": "id: x\n  title: [\n",
        "scheme_empty.yaml": "",
        "scenario_bad_scheme.yaml": "scheme: no_such_scheme\n",
        "scenario_not_mapping.yaml": "42\n",
        "relations_bad.csv": "subject\nbob\n",
    }
    paths = {}
    for name, text in made.items():
        paths[name] = tmp / name
        paths[name].write_text(text)
    paths["binary.csv"] = tmp / "binary.csv"
    paths["binary.csv"].write_bytes(b"\x00\xff\xfe" * 100)
    paths["fake.parquet"] = tmp / "fake.parquet"
    paths["fake.parquet"].write_bytes(b"PAR1 this is not parquet")
    paths["folder"] = tmp / "folder"
    paths["folder"].mkdir()
    return paths


CASES = [
    # score
    (["score", "{missing.csv}", "--scheme", "lending"], 2),
    (["score", "{empty.csv}", "--scheme", "lending"], 2),
    (["score", "{header_only.csv}", "--scheme", "lending"], 2),
    (["score", "{no_kind.csv}", "--scheme", "lending"], 2),
    (["score", "{bad_time.csv}", "--scheme", "lending"], 2),
    (["score", "{few_fields.csv}", "--scheme", "lending"], 2),
    (["score", "{binary.csv}", "--scheme", "lending"], 2),
    (["score", "{fake.parquet}", "--scheme", "lending"], 2),
    (["score", "{folder}", "--scheme", "lending"], 2),
    (["score", "{header_only.csv}", "--scheme", "no_such_scheme"], 2),
    (["score", "{header_only.csv}", "--scheme", "{scheme_syntax.yaml}"], 2),
    (["score", "{header_only.csv}", "--scheme", "{scheme_not_mapping.yaml}"], 2),
    (["score", "{header_only.csv}", "--scheme", "{scheme_empty.yaml}"], 2),
    (["score", "{header_only.csv}", "--scheme", "example"], 3),
    (["score", "{bad_time.csv}", "--scheme", "lending", "--as-of", "not a date"], 2),
    (["score", "{bad_time.csv}", "--scheme", "lending", "--as-of", "1e300"], 2),
    (["score", "{bad_time.csv}", "--scheme", "lending", "--relations", "{relations_bad.csv}"], 2),
    (["score", "{bad_time.csv}", "--scheme", "lending", "--out", "{folder}/x.xlsx"], 2),
    # simulate
    (["simulate", "no_such_scenario"], 2),
    (["simulate", "{scenario_bad_scheme.yaml}"], 2),
    (["simulate", "{scenario_not_mapping.yaml}"], 2),
    (["simulate", "{scheme_syntax.yaml}"], 2),
    (["simulate", "--population", "0"], 2),
    (["simulate", "--population", "-5"], 2),
    (["simulate", "--days", "0"], 2),
    (["simulate", "--set", "nonsense"], 2),
    (["simulate", "--set", "population.size=abc"], 2),
    (["simulate", "--set", "population.groups={a: 2}"], 2),
    (["simulate", "--set", "run.seed=-1"], 2),
    (["simulate", "--set", "network=7"], 2),
    (["simulate", "--counterfactual", "nothing"], 2),
    (["simulate", "--out", "{empty.csv}"], 2),
    # compare
    (["compare", "no_such_scenario", "--sequential"], 2),
    (["compare", "--set", "population.size", "--sequential"], 2),
    (["compare", "--set", "population.size=abc", "--sequential"], 2),
    (["compare", "--seeds", "0", "--sequential"], 2),
    # schemes and scenarios
    (["scheme", "check", "{missing.yaml}"], 2),
    (["scheme", "check", "{scheme_syntax.yaml}"], 2),
    (["scheme", "check", "{scheme_empty.yaml}"], 2),
    (["scheme", "check", "{binary.csv}"], 2),
    (["scenario", "check", "{scenario_bad_scheme.yaml}"], 2),
    (["scenario", "check", "{scenario_not_mapping.yaml}"], 2),
    # service commands
    (["serve", "--scheme", "example"], 3),
    (["serve", "--scheme", "no_such_scheme"], 2),
    (["keys", "create", "--role", "emperor", "--db", "sqlite:///{folder}/k.db"], 2),
    (["keys", "create", "--role", "subject", "--db", "sqlite:///{folder}/k.db"], 2),
    (["keys", "create", "--role", "operator", "--db", "nonsense://x"], 2),
    (["audit", "verify", "--db", "sqlite:///{folder}/none.db"], 2),
    (["purge", "--db", "sqlite:///{folder}/none.db"], 2),
    # validate
    (["validate", "--only", "no_such_check"], 2),
]


@pytest.mark.parametrize(("arguments", "code"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_a_bad_input_gets_a_clear_error_and_its_exit_code(tmp_path, arguments, code):
    paths = {**files(tmp_path), "missing.csv": tmp_path / "missing.csv", "missing.yaml": tmp_path / "missing.yaml"}
    filled = []
    for argument in arguments:
        for name, path in paths.items():
            argument = argument.replace("{" + name + "}", str(path))
        filled.append(argument)
    result = runner.invoke(app, filled)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"a traceback: {result.exception!r}\n{result.output}"
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    assert result.output.strip(), "an error says something"
