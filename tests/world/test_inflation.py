"""Rating inflation (issue 20): public, reciprocal ratings are strategic. Its direction by paired
counterfactual (the same seed with the ratings private), its figures, and its refusals."""

from __future__ import annotations

import numpy as np
import pytest

import socialcredit
from socialcredit.runner.counterfactual import paired_effects
from socialcredit.scheme.errors import SchemeError

SMALL = {"population": 5000, "days": 120, "seed": 6}
STARS = {"reciprocity": 0.3, "retaliation": 0.5, "quality_spread": 0.75}


def stars(private: bool):
    return socialcredit.simulate("nosedive", **SMALL, **{"gaming.inflation": {"rating": {**STARS, "private": private}}})


@pytest.fixture(scope="module")
def pair():
    return stars(False), stars(True)


def test_inflation_narrows_the_spread_and_loosens_the_tie_to_quality(pair):
    on, off = pair
    with_, without = (run.summary["gaming"]["inflation"]["rating"] for run in (on, off))
    assert with_["inflated_share"] > 0.2 and without["inflated_share"] == 0
    assert with_["spread"]["published"] < without["spread"]["published"] - 0.1
    assert with_["tracks_quality"]["published"] < without["tracks_quality"]["published"] - 0.2
    # honest ratings track quality as well in both worlds: what is lost is lost in publishing
    assert with_["tracks_quality"]["honest"] == pytest.approx(without["tracks_quality"]["honest"], abs=0.05)
    assert with_["mean_published"] > with_["mean_honest"] + 0.5
    assert with_["top_share"]["published"] > without["top_share"]["published"]


def test_the_published_ratings_are_the_ones_scored(pair):
    on, _ = pair
    # nosedive's score is the mean of the recent stars: with inflation it tracks true quality less well
    people = on.people
    quality, score = people["quality.rating"].to_numpy(), people["score"].to_numpy()
    rated = people["observed.rating"].to_numpy() > 5
    assert 0 < np.corrcoef(quality[rated], score[rated])[0, 1] < 0.8
    assert people["ratings_inflated.rating"].sum() == round(
        on.summary["gaming"]["inflation"]["rating"]["inflated_share"]
        * on.summary["gaming"]["inflation"]["rating"]["ratings_honest"])


def test_withheld_bad_ratings_are_honest_acts_never_recorded():
    run = socialcredit.simulate("marketplace", **SMALL, **{"gaming.inflation": {"negative_feedback": {
        "retaliation": 0.5}}})
    figure = run.summary["gaming"]["inflation"]["negative_feedback"]
    true, observed = (run.people[f"{c}.negative_feedback"].sum() for c in ("true", "observed"))
    assert figure["ratings_honest"] == true and figure["ratings_published"] == observed
    assert 0.4 < 1 - observed / true < 0.6
    assert figure["spread"]["published"] < figure["spread"]["honest"]
    assert figure["tracks_quality"]["published"] < figure["tracks_quality"]["honest"]


def test_the_counterfactual_twin_makes_the_ratings_private():
    effects = paired_effects("marketplace", {"population.size": 4000, "run.days": 120}, "inflation", [1])
    rows = {row["figure"]: row for row in effects.table()}
    assert effects.switched_off == {"gaming.inflation.negative_feedback.private": True}
    assert rows["ratings_inflated_share.negative_feedback"]["without"] == 0
    assert rows["rating_spread.negative_feedback"]["difference"] < 0


def test_a_kind_without_behaviour_is_refused():
    with pytest.raises(SchemeError, match="has no behaviour") as caught:
        socialcredit.simulate("nosedive", population=500, days=5, **{"gaming.inflation": {"review": {}}})
    assert "gaming.inflation" in str(caught.value) and "behaviours.review" in str(caught.value)


def test_without_inflation_the_stars_are_drawn_as_before():
    run = socialcredit.simulate("nosedive", population=2000, days=30, seed=1, **{"gaming.inflation": {}})
    assert "gaming" not in run.summary and "quality.rating" not in run.people.columns
