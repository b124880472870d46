"""A batch's rows held as columns (`service/columns.py`): picking rows keeps their order and every
column, and a column of the wrong length is refused rather than misaligning the rows."""

from __future__ import annotations

import pytest

from socialcredit.service.columns import Columns


def test_where_keeps_the_picked_rows_in_order_with_every_column():
    rows = Columns({"id": ["a", "b", "c"], "time": [1.0, 2.0, 3.0]})
    rows.constant("status", "active")
    picked = rows.where([True, False, True])
    assert picked.dicts() == [{"id": "a", "time": 1.0, "status": "active"},
                              {"id": "c", "time": 3.0, "status": "active"}]
    assert len(picked) == 2 and len(rows) == 3


def test_setting_a_column_on_picked_rows_leaves_the_rows_picked_from_as_they_were():
    rows = Columns({"id": ["a", "b"]})
    every = rows.where([True, True])
    every["entry"] = [7, 7]
    assert "entry" not in rows and every["entry"] == [7, 7]


def test_a_column_of_another_length_is_refused():
    rows = Columns({"id": ["a", "b"]})
    with pytest.raises(ValueError, match="'pos' has 3 values for 2 rows"):
        rows["pos"] = [0, 1, 2]
    with pytest.raises(ValueError, match="different lengths"):
        Columns({"id": ["a"], "time": [1.0, 2.0]})
    for flags in ([True], [True, True, True], [True, False, True]):  # too few or too many: no row dropped or made
        with pytest.raises(ValueError, match=f"{len(flags)} flags for 2 rows"):
            rows.where(flags)


def test_no_rows_is_false_and_has_no_dicts():
    rows = Columns({"id": []})
    assert not rows and rows.dicts() == [] and list(rows.tuples(["id"])) == []
