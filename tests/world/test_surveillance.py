"""Which source records an act: the first whose draw falls below its coverage."""

from __future__ import annotations

import numpy as np

from socialcredit.world.surveillance import first_recorder


def test_the_first_recorder_is_what_comparing_every_draw_gives():
    rng = np.random.default_rng(5)
    sources, districts, kinds, acts = 4, 6, 5, 20_000
    coverage = rng.choice([0.0, 0.3, 0.8, 1.0], size=(sources, districts, kinds))
    district = rng.integers(0, districts, acts).astype(np.int16)
    kind = rng.integers(0, kinds, acts).astype(np.int16)
    uniforms = rng.random((sources, acts))
    recorded = uniforms < coverage[:, district, kind]
    first = first_recorder(uniforms, coverage, district, kind)
    np.testing.assert_array_equal(first >= 0, recorded.any(axis=0))
    np.testing.assert_array_equal(first[first >= 0], np.argmax(recorded, axis=0)[first >= 0])
    assert first.dtype == np.int16 and (first == -1).any() and (first == 3).any()
