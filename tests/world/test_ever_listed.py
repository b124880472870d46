"""`ever_listed.<list>`: the share of people placed on a list at least once since day 0, each day (the
cumulative count a list's keeper publishes), beside `listed.<list>`, the share on it that day."""

from __future__ import annotations

import numpy as np
import pytest

import socialcredit

LIST = "dishonest_debtor"


# Many small blocks of (district, group), counted at once; and one district's two large groups,
# counted block by block (Metrics.block_ranges).
@pytest.fixture(scope="module", params=[(3000, 20), (9000, 1)], ids=["small-blocks", "large-blocks"])
def run(request):
    # Defaults ten times the preset's and payment as often: people come onto the list and leave it
    # within the 120 days, so the cumulative count and the stock part.
    population, districts = request.param
    return socialcredit.simulate("shixin", population=population, days=120, **{
        "run.burn_in_days": 0, "population.districts": districts,
        "behaviours.judgment_default.rate": 0.0003, "behaviours.judgment_paid.rate": 0.01})


def test_ever_listed_counts_everyone_who_was_on_the_list_and_never_falls(run):
    ever = run.metrics[f"ever_listed.{LIST}"].to_numpy()
    listed = run.metrics[f"listed.{LIST}"].to_numpy()
    assert np.all(np.diff(ever) >= 0)
    assert np.all(ever >= listed)
    assert ever[-1] > 1.5 * listed[-1]  # people paid and left the list, and still count as ever listed


def test_the_last_day_is_the_summarys_ever_listed_and_the_people_tables_days_listed(run):
    last = run.metrics[f"ever_listed.{LIST}"].iloc[-1]
    assert last == pytest.approx(run.summary["ever_listed"][LIST])
    assert last == pytest.approx((run.people[f"days_listed.{LIST}"] > 0).mean())


def test_ever_listed_is_given_by_group_as_listed_is(run):
    people = run.people
    for group in ("urban", "rural"):
        members = people["group"] == group
        assert run.metrics[f"ever_listed.{LIST}.{group}"].iloc[-1] == pytest.approx(
            (people.loc[members, f"days_listed.{LIST}"] > 0).mean())
