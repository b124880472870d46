"""Event logs as they come: every odd time, type, value, encoding or line is named, never scored
silently wrong and never a traceback."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from socialcredit.cli import app

runner = CliRunner()
HEADER = "subject,kind,time,value\n"
GOOD = "alice,payment,2024-01-05,1\nbob,late_payment,2024-01-06,30\n"


def score(path: Path, *more: str):
    result = runner.invoke(app, ["score", str(path), "--scheme", "lending", *more])
    assert "Traceback" not in result.output
    return result


def write(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + text)
    return path


def test_an_event_dated_in_the_future_is_a_bad_row_not_the_as_of(tmp_path):
    path = write(tmp_path, GOOD + "carol,payment,9999-12-31,1\n")
    result = score(path)
    assert result.exit_code == 2
    assert "events.csv:4: column 'time': '9999-12-31' is in the future" in result.output
    assert "--allow-future" in result.output
    skipped = score(path, "--skip-bad-rows", "--out", str(tmp_path / "scores.csv"))
    assert skipped.exit_code == 0
    assert "as of 2024-01-06" in skipped.output
    allowed = score(path, "--allow-future")
    assert allowed.exit_code == 0 and "as of 9999-12-31" in allowed.output


def test_the_table_says_the_time_it_scored_at(tmp_path):
    result = score(write(tmp_path, GOOD))
    assert result.exit_code == 0
    assert "as of 2024-01-06 (the latest event" in result.output


@pytest.mark.parametrize("time", ["1e300", "-1e300", "1850-01-01"])
def test_a_time_far_outside_any_record_is_a_bad_row(tmp_path, time):
    result = score(write(tmp_path, GOOD + f"carol,payment,{time},1\n"))
    assert result.exit_code == 2
    assert "events.csv:4: column 'time'" in result.output


def test_a_nan_value_is_refused_not_read_as_1(tmp_path):
    result = score(write(tmp_path, GOOD + "carol,late_payment,2024-01-06,NaN\n"))
    assert result.exit_code == 2
    assert "events.csv:4: column 'value': value nan is not a number" in result.output


def test_a_subject_called_na_is_a_subject(tmp_path):
    result = score(write(tmp_path, GOOD + "NA,payment,2024-01-06,1\n"), "--out", str(tmp_path / "s.csv"))
    assert result.exit_code == 0, result.output
    assert "\nNA," in (tmp_path / "s.csv").read_text() or (tmp_path / "s.csv").read_text().count('"NA"') == 1


def test_a_repeated_event_id_counts_once_as_in_serve(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("subject,kind,time,id\nbob,late_payment,2024-01-06,e1\nbob,late_payment,2024-01-06,e1\n"
                    "bob,late_payment,2024-01-07,e2\n")
    result = score(path, "--out", str(tmp_path / "s.csv"))
    assert result.exit_code == 0
    assert "dropped 1 event whose id repeats an earlier event's" in result.output
    once = tmp_path / "once.csv"
    once.write_text("subject,kind,time,id\nbob,late_payment,2024-01-06,e1\nbob,late_payment,2024-01-07,e2\n")
    assert score(once, "--out", str(tmp_path / "o.csv")).exit_code == 0
    assert (tmp_path / "s.csv").read_text() == (tmp_path / "o.csv").read_text()


@pytest.mark.parametrize(("column", "values", "holds"), [
    ("time", pa.array([True, False]), "holds bool"),
    ("subject", pa.array([["a"], ["b"]]), "holds list<"),
    ("value", pa.array([True, True]), "holds bool"),
])
def test_a_parquet_column_of_the_wrong_type_is_refused_by_name(tmp_path, column, values, holds):
    data = {"subject": pa.array(["a", "b"]), "kind": pa.array(["payment", "payment"]),
            "time": pa.array(["2024-01-01", "2024-01-02"]), "value": pa.array([1.0, 1.0])}
    data[column] = values
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table(data), path)
    result = score(path)
    assert result.exit_code == 2
    assert f"column '{column}' {holds}" in result.output


def test_parquet_rows_are_counted_from_1_and_values_shown_plainly(tmp_path):
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table({"subject": ["a", "b"], "kind": ["payment", "late_payment"],
                             "time": ["2024-01-01", "2024-01-02"], "value": [float("inf"), 1.0]}), path)
    result = score(path)
    assert result.exit_code == 2
    assert "events.parquet: row 1 (counting from 1): column 'value': value inf is not a number" in result.output
    assert "np.float64" not in result.output


def test_a_latin1_log_names_the_line_that_is_not_utf8(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes((HEADER + GOOD).encode() + "jos\xe9,payment,2024-01-06,1\n".encode("latin-1"))
    result = score(path)
    assert result.exit_code == 2
    assert "events.csv:4: not UTF-8 text (byte 0xe9 cannot be read)" in result.output


def test_a_line_of_megabytes_is_named_not_a_block_boundary(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD + "carol,payment,2024-01-06," + "9" * 3_000_000 + "\n")
    result = score(path)
    assert result.exit_code == 2
    assert "events.csv:4: a line of 3,000,025 bytes" in result.output


def test_a_parquet_log_of_many_row_groups_reads_as_one_of_one_row_group(tmp_path):
    """Row group by row group (numbers copied into place, subject codes from the pages) or whole:
    the same scores; a null weight in a later row group is the default 1 both ways, and whole-number
    times are days, as in one row group."""
    rows = 3000
    table = pa.table({
        "subject": pa.DictionaryArray.from_arrays(pa.array([i % 97 for i in range(rows)], type=pa.int32()),
                                                  pa.array([f"p{i:03d}" for i in range(97)])),
        "kind": ["payment", "late_payment", "payment"] * (rows // 3),
        "time": pa.array([19_700 + i % 300 for i in range(rows)], type=pa.int64()),
        "value": [float(i % 40 + 1) for i in range(rows)],
        "weight": [None if i == 2500 else 1.0 for i in range(rows)],
    })
    many, one = tmp_path / "many.parquet", tmp_path / "one.parquet"
    pq.write_table(table, many, row_group_size=400)
    pq.write_table(table, one)
    outputs = []
    for path in (many, one):
        out = tmp_path / f"{path.stem}-scores.csv"
        result = score(path, "--as-of", "2025-01-01", "--out", str(out))
        assert result.exit_code == 0, result.output
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") == 98  # a header and the 97 subjects
