"""Identification profiles: shipped as data with sources, calibrated to reported deployments."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit.scenario.identification import load_profile, profile_names


def test_the_three_profiles_ship_with_their_sources():
    assert {"frvt_2019", "uk_trials_2018", "met_2025"} <= set(profile_names())
    for name in profile_names():
        profile = load_profile(name)
        assert profile.sources and all("http" in source for source in profile.sources)


@pytest.mark.parametrize("name, reported", [("uk_trials_2018", (0.81, 0.93)), ("met_2025", (0.003, 0.007))])
def test_a_fitted_rate_is_the_false_alerts_per_face_off_the_watchlist(name, reported):
    # the fit only: whether the rate predicts other deployments is validate's watchlist_deployments
    profile = load_profile(name)
    deployment = profile.calibration
    assert deployment is not None
    assert reported[0] <= deployment.false_alert_share <= reported[1]
    watchlisted = deployment.true_alert_count / (1 - profile.miss_rate)
    assert profile.fpir == pytest.approx(deployment.false_alerts / (deployment.faces_scanned - watchlisted))
    assert [fitted for _, fitted in profile.deployments()][0] is True


def test_the_false_match_rate_grows_with_the_watchlist_searched():
    profile = load_profile("uk_trials_2018")
    assert profile.reference_watchlist == 2000
    assert profile.fpir_for_watchlist(2000) == pytest.approx(profile.fpir)
    # about proportional while small, and never above 1
    assert profile.fpir_for_watchlist(4000) == pytest.approx(1 - (1 - profile.fpir) ** 2)
    assert profile.fpir_for_watchlist(20) == pytest.approx(profile.fpir / 100, rel=0.01)
    assert profile.fpir_for_watchlist(10**9) <= 1.0
    assert profile.fpir_for_watchlist(0) == 0.0
    assert load_profile("frvt_2019").fpir_for_watchlist(2000) == pytest.approx(0.001)


def test_south_wales_2017_implies_about_one_false_alert_per_75_faces():
    # 2,297 false alerts among ~170,000 faces: the calibrated per-face rate must say the same.
    profile = load_profile("uk_trials_2018")
    assert profile.fpir == pytest.approx(2297 / (170000 - 228), rel=0.05)


def test_frvt_raises_the_false_match_rate_of_a_probe_of_the_affected_groups_and_women():
    # one-to-many factors, on the probe only (the blamed person is drawn without them)
    profile = load_profile("frvt_2019")
    multiplier = profile.false_match_multiplier(np.array([False, True, False, True]),
                                                np.array([False, False, True, True]))
    assert multiplier.tolist() == [1.0, 3.0, 2.0, 6.0]
    for name, factor in profile.false_match_factor:
        low, high = profile.false_match_factor_range[name]
        assert 1 <= low <= factor <= high
    # not the one-to-one verification range (10-100x) that was applied to both the probe and the blamed
    assert profile.false_match_factor_range["affected_groups"][0] < 10
    assert profile.same_demographics_candidate == 1.0
