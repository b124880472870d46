"""Identification profiles: shipped as data with sources, calibrated to reported deployments."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from socialcredit.world.identification import load_profile, profile_names, simulate_deployment


def test_the_three_profiles_ship_with_their_sources():
    assert {"frvt_2019", "uk_trials_2018", "met_2025"} <= set(profile_names())
    for name in profile_names():
        profile = load_profile(name)
        assert profile.sources and all("http" in source for source in profile.sources)


@pytest.mark.parametrize("name, reported", [("uk_trials_2018", (0.81, 0.93)), ("met_2025", (0.003, 0.007))])
def test_deployment_run_through_the_model_reproduces_the_reported_false_alert_share(name, reported):
    profile = load_profile(name)
    deployment = profile.calibration
    assert deployment is not None
    assert reported[0] <= deployment.false_alert_share <= reported[1]
    rng = np.random.default_rng(0)
    alerts = false = 0
    for _ in range(20):  # twenty runs of the deployment
        a, f = simulate_deployment(profile, deployment, rng)
        alerts, false = alerts + a, false + f
    low, high = stats.binomtest(false, alerts).proportion_ci(confidence_level=0.999)
    assert low <= deployment.false_alert_share <= high
    for other in profile.additional_deployments:  # the Met trials: reproduced with their own rate
        a, f = simulate_deployment(profile, other, rng, fpir=profile.implied_fpir(other))
        assert a > 0


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
