"""`socialcredit score` from the command line: results, and every bad input named precisely."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from socialcredit.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def invoke(*args: str):
    return runner.invoke(app, list(args))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def events(tmp_path) -> Path:
    return write_csv(tmp_path / "events.csv", [
        ["subject", "kind", "time", "value"],
        ["alice", "payment", "2024-01-05", "1"],
        ["alice", "payment", "2024-02-05T10:30:00", ""],
        ["bob", "payment", "19730", "1"],           # days since 1970-01-01 (2024-01-06)
        ["bob", "late_payment", "2024-02-20", "30"],
        ["carol", "default", "2024-02-01", "1"],
    ])


def test_scores_every_subject_with_string_ids(events, tmp_path):
    out = tmp_path / "scores.csv"
    result = invoke("score", str(events), "--scheme", "lending", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = {row["subject"]: row for row in read_csv(out)}
    assert list(rows) == ["alice", "bob", "carol"]
    assert {"subject", "score", "pre", "tier", "high_risk", "loan", "rent_without_deposit", "reasons"} <= set(
        rows["alice"])
    # alice: 2 payments, no lates, no defaults: 700 + 60 (history) + 20 (no late in 2 years) = 780
    assert float(rows["alice"]["score"]) == 780 and rows["alice"]["tier"] == "prime"
    # bob: 1 of 1 late (ratio 1 -> -150), 30 days late (-30), late 0 days ago (-30): 490
    assert float(rows["bob"]["score"]) == 490
    # points lost: payment_history 210 (of best 60), recency 50 (of best 20), lateness 30
    assert rows["bob"]["reasons"] == "payment_history;recency;lateness"
    assert rows["carol"]["high_risk"] == "true" and rows["carol"]["loan"] == "false"


def test_as_of_moves_the_scoring_time(events, tmp_path):
    out = tmp_path / "scores.csv"
    assert invoke("score", str(events), "-s", "lending", "--as-of", "2024-01-31", "-o", str(out)).exit_code == 0
    rows = {row["subject"]: row for row in read_csv(out)}
    assert float(rows["alice"]["paid_24m"]) == 1  # the February payment is after as-of
    assert float(rows["bob"]["late_24m"]) == 0


def test_parquet_in_and_out_agree_with_csv(events, tmp_path):
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(events, convert_options=pacsv.ConvertOptions(column_types={"time": pa.string()}))
    pq.write_table(table, tmp_path / "events.parquet")
    assert invoke("score", str(tmp_path / "events.parquet"), "-s", "lending", "-o", str(tmp_path / "a.parquet")
                  ).exit_code == 0
    assert invoke("score", str(events), "-s", "lending", "-o", str(tmp_path / "b.csv")).exit_code == 0
    from_parquet = pq.read_table(tmp_path / "a.parquet").to_pylist()
    from_csv = read_csv(tmp_path / "b.csv")
    assert [r["subject"] for r in from_parquet] == [r["subject"] for r in from_csv]
    assert [r["score"] for r in from_parquet] == [float(r["score"]) for r in from_csv]


def test_relations_add_subjects_and_network_term(tmp_path, events):
    scheme = tmp_path / "net.yaml"
    scheme.write_text((EXAMPLES.parent / "src/socialcredit/presets/lending.yaml").read_text()
                      .replace("id: lending", "id: net") + "network: {weight: 0.5}\n")
    scheme.write_text(scheme.read_text().replace("context: financial", "context: financial, uses: [social]"))
    relations = write_csv(tmp_path / "ties.csv", [["subject", "other"], ["alice", "bob"], ["bob", "alice"],
                                                  ["dave", "alice"], ["dave", "dave"]])
    out = tmp_path / "scores.csv"
    result = invoke("score", str(events), "-s", str(scheme), "--relations", str(relations), "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = {row["subject"]: row for row in read_csv(out)}
    assert list(rows) == ["alice", "bob", "carol", "dave"]
    # bob's neighbour alice has pre 780: 490 + 0.5 * (780 - 700) = 530
    assert float(rows["bob"]["score"]) == 530
    # dave has no events (pre 700 + 60 for a zero late share + 20 recency = 780); neighbour alice: +40
    assert float(rows["dave"]["pre"]) == 780 and float(rows["dave"]["score"]) == 820


def test_a_tier_cap_that_holds_the_tier_down_is_a_reason_and_is_named_in_capped_by(tmp_path, events):
    scheme = tmp_path / "capped.yaml"
    scheme.write_text((EXAMPLES.parent / "src/socialcredit/presets/lending.yaml").read_text()
                      .replace("id: lending", "id: capped")
                      + "tier_caps:\n  - {name: rate_shopping, when: 'inquiries_1y >= 3', at_most: subprime}\n")
    events = write_csv(tmp_path / "capped.csv", [
        ["subject", "kind", "time"], ["alice", "payment", "2024-01-05"], ["alice", "payment", "2024-02-05"],
        *[["alice", "inquiry", f"2024-0{month}-01"] for month in (3, 5, 7)],
        ["bob", "payment", "2024-01-05"], ["bob", "inquiry", "2024-07-01"]])
    out = tmp_path / "scores.csv"
    result = invoke("score", str(events), "-s", str(scheme), "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = {row["subject"]: row for row in read_csv(out)}
    # alice: 780 less 15 for three inquiries: 765, prime by score, held at subprime
    assert float(rows["alice"]["score"]) == 765 and rows["alice"]["tier"] == "subprime"
    assert rows["alice"]["capped_by"] == "rate_shopping" and rows["alice"]["rent_without_deposit"] == "false"
    assert rows["alice"]["reasons"] == "rate_shopping;new_credit"
    assert rows["bob"]["tier"] == "prime" and rows["bob"]["capped_by"] == "" and rows["bob"]["reasons"] == ""
    shown = invoke("score", str(events), "-s", str(scheme))
    assert "capped_by" in shown.output and "rate_shopping;new_credit" in shown.output


def test_stdout_table_without_out(events):
    result = invoke("score", str(events), "--scheme", "lending")
    assert result.exit_code == 0
    assert "alice" in result.output and "prime" in result.output and "3 subjects" in result.output


def test_example_log_in_the_readme_scores():
    result = invoke("score", str(EXAMPLES / "events.csv"), "--scheme", "lending")
    assert result.exit_code == 0 and "40 subjects" in result.output


# --- bad input: exit code 2, file, line, column and problem; never a traceback ---

BAD_ROWS = [
    ("kind", ["alice", "bribe", "2024-01-05", "1"], "unknown event kind 'bribe'"),
    ("time", ["alice", "payment", "2024-13-45", "1"], "cannot read '2024-13-45' as a time"),
    ("time", ["alice", "payment", "", "1"], "missing time"),
    ("value", ["alice", "payment", "2024-01-05", "lots"], "value 'lots' is not a number"),
    ("subject", ["", "payment", "2024-01-05", "1"], "missing subject"),
]


@pytest.mark.parametrize("column, row, words", BAD_ROWS, ids=[r[2] for r in BAD_ROWS])
def test_bad_row_stops_with_file_line_column_and_problem(tmp_path, events, column, row, words):
    lines = events.read_text().splitlines()
    lines.insert(3, ",".join(row))  # becomes line 4 of the file
    events.write_text("\n".join(lines) + "\n")
    result = invoke("score", str(events), "-s", "lending", "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 2
    assert f"{events}:4: column '{column}': {words}" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()


def test_row_with_wrong_number_of_fields_is_named_by_line(tmp_path, events):
    events.write_text(events.read_text() + "dave,payment\n")
    result = invoke("score", str(events), "-s", "lending")
    assert result.exit_code == 2
    assert f"{events}:7: column '*': expected 4 fields, found 2" in result.output


def test_missing_column_is_named(tmp_path):
    path = write_csv(tmp_path / "e.csv", [["subject", "when"], ["a", "2024-01-01"]])
    result = invoke("score", str(path), "-s", "lending")
    assert result.exit_code == 2
    assert "missing columns 'kind', 'time' (found: subject, when)" in result.output


def test_missing_file_is_named(tmp_path):
    result = invoke("score", str(tmp_path / "nope.csv"), "-s", "lending")
    assert result.exit_code == 2 and "nope.csv: no such file" in result.output


def test_unparsable_as_of_is_named(events):
    result = invoke("score", str(events), "-s", "lending", "--as-of", "yesterday")
    assert result.exit_code == 2 and "cannot read 'yesterday' as a time" in result.output


def test_skip_bad_rows_scores_the_rest_and_writes_rejects(tmp_path, events):
    events.write_text(events.read_text() + "dave,bribe,2024-01-01,1\nerin,payment,never,1\nfrank,payment\n")
    out = tmp_path / "scores.csv"
    result = invoke("score", str(events), "-s", "lending", "-o", str(out), "--skip-bad-rows")
    assert result.exit_code == 0, result.output
    assert "skipped 3 bad rows" in result.output
    assert [row["subject"] for row in read_csv(out)] == ["alice", "bob", "carol"]
    rejects = read_csv(Path(str(out) + ".rejects.csv"))
    assert [(r["line"], r["column"]) for r in rejects] == [("7", "kind"), ("8", "time"), ("9", "*")]
    assert "unknown event kind 'bribe'" in rejects[0]["problem"]


def test_refuses_a_scheme_that_crosses_contexts(events):
    result = invoke("score", str(events), "--scheme", "example")
    assert result.exit_code == 3
    assert "refuses scheme 'example'" in result.output and "'board_flight'" in result.output


def test_invalid_scheme_file_is_reported_with_its_line(tmp_path, events):
    scheme = tmp_path / "s.yaml"
    scheme.write_text("id: s\ntitle: t\nscale: {min: 0, max: 10, base: 5}\nevents: {pay: {category: financial}}\n"
                      "features:\n  n: {count: pai}\n")
    result = invoke("score", str(events), "--scheme", str(scheme))
    assert result.exit_code == 2
    assert f"{scheme}:6:" in result.output and "did you mean 'pay'?" in result.output


def test_scheme_check_and_schemes_list():
    result = invoke("scheme", "check", "lending")
    assert result.exit_code == 0 and "real-person use: allowed" in result.output
    result = invoke("scheme", "check", "example")
    assert result.exit_code == 0 and "real-person use: refused" in result.output
    result = invoke("schemes")
    assert result.exit_code == 0 and "lending" in result.output and "example" in result.output


def test_scheme_schema_is_json():
    import json

    result = invoke("scheme", "schema")
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "Scheme"


def test_relations_missing_column_names_the_right_columns(events, tmp_path):
    relations = write_csv(tmp_path / "ties.csv", [["subject"], ["alice"]])
    result = invoke("score", str(events), "-s", "lending", "--relations", str(relations))
    assert result.exit_code == 2
    assert "missing column 'other' (found: subject)" in result.output and "subject,other" in result.output


def test_parquet_is_recognised_whatever_its_name(events, tmp_path):
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(events, convert_options=pacsv.ConvertOptions(column_types={"time": pa.string()}))
    pq.write_table(table, tmp_path / "events.dat")
    result = invoke("score", str(tmp_path / "events.dat"), "-s", "lending")
    assert result.exit_code == 0, result.output
    assert "3 subjects" in result.output


def test_empty_file_is_named(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    result = invoke("score", str(path), "-s", "lending")
    assert result.exit_code == 2 and "empty.csv: cannot read it as CSV" in result.output


def test_header_only_file_needs_an_as_of(tmp_path):
    path = write_csv(tmp_path / "e.csv", [["subject", "kind", "time"]])
    result = invoke("score", str(path), "-s", "lending")
    assert result.exit_code == 2 and "no events to score" in result.output


def test_a_subject_with_more_ties_than_the_sums_hold_is_refused_by_name(events, tmp_path, monkeypatch):
    from socialcredit.scoring import graph

    monkeypatch.setattr(graph, "MAX_TIES", 2)  # the real bound, 4,194,304 ties, takes a file too big for a test
    scheme = tmp_path / "net.yaml"
    lending = (EXAMPLES.parent / "src/socialcredit/presets/lending.yaml").read_text()
    scheme.write_text(lending.replace("id: lending", "id: net").replace("context: financial",
                                                                        "context: financial, uses: [social]")
                      + "network: {weight: 0.5}\n")
    relations = write_csv(tmp_path / "ties.csv", [["subject", "other"], ["hub", "alice"], ["hub", "bob"],
                                                  ["hub", "carol"], ["alice", "bob"]])
    result = invoke("score", str(events), "-s", str(scheme), "--relations", str(relations))
    assert result.exit_code == 2
    assert "ties.csv: subject 'hub' has 3 ties" in result.output and "at most 2 ties" in result.output
    assert "Traceback" not in result.output
    assert invoke("score", str(events), "-s", "lending", "--relations", str(relations)).exit_code == 0  # no network


def test_an_unscored_subject_has_an_empty_score_and_says_why(tmp_path):
    events = write_csv(tmp_path / "fico.csv", [
        ["subject", "kind", "time", "value"],
        ["ann", "account_opened", "2023-01-10", "2"], ["ann", "payment", "2024-06-01", "1"],
        ["ben", "inquiry", "2024-05-01", "1"]])   # an application, no account: a file too thin to score
    out = tmp_path / "scores.csv"
    result = invoke("score", str(events), "-s", "fico", "--as-of", "2024-06-30", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = {row["subject"]: row for row in read_csv(out)}
    assert rows["ben"]["score"] == "" and rows["ben"]["pre"] == "" and rows["ben"]["tier"] == ""
    assert rows["ben"]["scored"] == "false" and rows["ben"]["fha_mortgage"] == "false"
    why = "no_account_six_months_old;no_account_reported_6_months"
    assert rows["ben"]["unscored_by"] == rows["ben"]["reasons"] == why
    assert rows["ann"]["scored"] == "true" and rows["ann"]["unscored_by"] == "" and float(rows["ann"]["score"]) > 300
    parquet = tmp_path / "scores.parquet"
    assert invoke("score", str(events), "-s", "fico", "--as-of", "2024-06-30", "-o", str(parquet)).exit_code == 0
    table = pq.read_table(parquet)
    assert table.column("score").null_count == 1 and table.column("scored").to_pylist() == [True, False]
    shown = invoke("score", str(events), "-s", "fico", "--as-of", "2024-06-30")
    assert "unscored_by" in shown.output and "None" not in shown.output


def test_a_parquet_log_in_many_row_groups_scores_as_in_one_and_names_its_bad_rows(tmp_path):
    """The log is read a column at a time, its row groups two at a time: the scores are those of the
    same log in one row group, and a bad row in a later row group is named by its row in the file."""
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(EXAMPLES / "events.csv", convert_options=pacsv.ConvertOptions(
        column_types={"time": pa.string()}))
    whole, split = tmp_path / "whole.parquet", tmp_path / "split.parquet"
    pq.write_table(table, whole)
    pq.write_table(table, split, row_group_size=64)
    assert pq.ParquetFile(split).num_row_groups > 10
    outputs = []
    for log in (whole, split):
        out = tmp_path / f"{log.stem}-scores.parquet"
        assert invoke("score", str(log), "-s", "lending", "-o", str(out), "--allow-future").exit_code == 0
        outputs.append(pq.read_table(out))
    assert outputs[0].equals(outputs[1])
    kinds = table.column("kind").to_pylist()
    kinds[700] = "paymnet"
    pq.write_table(table.set_column(table.column_names.index("kind"), "kind", pa.array(kinds)), split,
                   row_group_size=64)
    result = invoke("score", str(split), "-s", "lending", "-o", str(tmp_path / "bad.parquet"), "--allow-future")
    assert result.exit_code == 2
    assert "row 701 (counting from 1): column 'kind': unknown event kind 'paymnet'" in result.output
