"""Who a gaming figure falls on: quintiles by rank, and means over labels."""

from __future__ import annotations

import math

import numpy as np

from socialcredit.analysis.who import means_by, quintile_of


def test_quintiles_hold_a_fifth_each_even_when_values_bunch():
    values = np.array([5.0] * 6 + [1.0] * 4)  # ties broken by id, so every quintile holds two people
    quintile = quintile_of(values)
    assert np.bincount(quintile).tolist() == [2, 2, 2, 2, 2]
    assert quintile[6:].tolist() == [0, 0, 1, 1] and quintile[:2].tolist() == [2, 2]


def test_means_by_label_leave_an_empty_label_undefined():
    means = means_by(np.array([1.0, 3.0, 10.0]), np.array([0, 0, 2]), ("a", "b", "c"))
    assert means["a"] == 2.0 and means["c"] == 10.0 and math.isnan(means["b"])
