"""Following one person: the story behind the aggregate, from the run's own files."""

from __future__ import annotations

import re

import pandas as pd

from socialcredit.dashboard.person import pick, story


def test_a_wrongly_listed_person_is_picked_and_their_false_records_marked(client, runs_folder):
    page = client.get("/run/errors/person?pick=wrongly_listed")
    assert page.status_code == 200
    person = int(re.search(r"Person (\d+) in errors", page.text)[1])
    people = pd.read_parquet(runs_folder / "errors" / "people.parquet").set_index("person")
    assert people.loc[person, "ever_wrongly_listed"] and people.loc[person, "false_records"] > 0
    events = pd.read_parquet(runs_folder / "errors" / "events.parquet")
    false = events[(events["subject"] == person) & ~events["genuine"]]
    # every false record still on file is in the timeline, marked with whose act it was
    for record in false.itertuples():
        assert f"false: person {record.true_subject}&#39;s act, recorded against them" in page.text
    assert "wrongly" in page.text and "Timeline of their records" in page.text


def test_a_person_shunned_after_a_false_record_lost_ties(runs_folder):
    people = pd.read_parquet(runs_folder / "errors" / "people.parquet")
    person = pick(people, "shunned")
    assert person is not None
    row = people.set_index("person").loc[person]
    assert row["false_records"] > 0 and row["degree"] < row["degree_initial"]


def test_the_day_by_day_score_is_recomputed_by_the_scoring_core_and_ends_at_the_runs(runs_folder):
    people = pd.read_parquet(runs_folder / "errors" / "people.parquet").set_index("person")
    person = pick(people.reset_index(), "wrongly_listed")
    told = story(runs_folder / "errors", person)
    (entry,) = told.schemes
    assert entry.rescored is not None and len(entry.rescored["dates"]) == 30
    # the default scheme has a network term: the curve is `pre`, which the run saved at the end
    assert entry.rescored["label"] == "score before the network term"
    assert entry.rescored["score"][-1] == people.loc[person, "pre"]
    assert "as the run's final one" in entry.rescore_note


def test_a_person_by_id_in_a_several_scheme_run_shows_each_scheme(client):
    page = client.get("/run/three/person?id=5")
    assert page.status_code == 200
    for name in ("court", "city", "zhima"):
        assert f"Scheme {name}" in page.text
    assert "without --save-events" in page.text  # this run did not save its records: said, not invented


def test_a_person_in_a_run_whose_schemes_import_lists_is_rescored_day_by_day(client, runs_folder):
    """The three-scheme example with --save-events: the city and Zhima read the court's list, which
    the day-by-day score recomputes from the person's court records."""
    people = pd.read_parquet(runs_folder / "joint" / "people.parquet").set_index("person")
    for person in (0, 1, 5):
        page = client.get(f"/run/joint/person?id={person}")
        assert page.status_code == 200, person
        told = story(runs_folder / "joint", person)
        for entry in told.schemes:
            assert entry.rescored is not None
            final = "pre" if entry.rescored["label"] == "score before the network term" else "score"
            assert entry.rescored["score"][-1] == people.loc[person, f"{entry.name}.{final}"], entry.name
        assert "the lists it imports from other schemes recomputed the same way" in page.text


def test_bad_person_requests_say_what_is_wrong(client):
    for query, said in (("id=abc", "&#39;abc&#39; is not a person id"), ("id=99999", "no person 99999 in this run"),
                        ("id=%C2%B2", "&#39;²&#39; is not a person id"),  # a Unicode digit, not an id
                        ("pick=zzz", "no such pick &#39;zzz&#39;")):
        page = client.get(f"/run/errors/person?{query}")
        assert page.status_code == 404, query
        assert said in page.text, query


def test_the_person_form_is_shown_without_a_choice(client):
    page = client.get("/run/errors/person")
    assert page.status_code == 200
    assert 'name="id"' in page.text and "a wrongly listed person" in page.text
