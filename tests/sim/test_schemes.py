"""Several schemes scoring one population (README, "Several schemes"): the format, the frame's
state per scheme, and the invariants a run of one scheme holds, held per scheme."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from socialcredit import simulate
from socialcredit.runner.loop import Loop
from socialcredit.scenario.load import apply_overrides, load_scenario, scenario_from_data
from socialcredit.scheme import SchemeError
from socialcredit.scorejob import run_score
from socialcredit.sim.model import Sim
from socialcredit.world.behaviour import Behaviour

EXAMPLE = Path(__file__).parents[2] / "examples" / "three-schemes.scenario.yaml"
SMALL = {"population": 3000, "days": 60, "seed": 5}


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    run = simulate(EXAMPLE, save_events=True, **SMALL)
    folder = tmp_path_factory.mktemp("three") / "run"
    run.save(folder)
    return run, folder


def test_a_scenario_names_several_schemes_with_operators_and_sources():
    scenario, schemes = load_scenario(EXAMPLE)
    assert [entry.name for entry in schemes] == ["court", "city", "zhima"]
    assert [entry.operator for entry in schemes] == ["court", "city", "private"]
    assert schemes.qualified and schemes[2].receives == ("alipay", "courts", "police")
    assert schemes[2].terms == (("police", 30, 0.5),)  # half the police's records, a month late
    assert schemes[1].lists_from == schemes[2].lists_from == (("court_blacklist", "court", "dishonest_debtor"),)
    # the world's kinds: every scheme's, each once, in the schemes' order
    assert schemes.kinds[:3] == list(schemes[0].scheme.events)[:3] and len(schemes.kinds) == len(set(schemes.kinds))
    assert "judgment_default" in schemes[2].scheme.events  # zhima's own overrides


def test_with_several_schemes_a_bare_list_name_is_refused_with_the_qualified_one_as_fix():
    data = {"schemes": {"court": {"scheme": "shixin", "operator": "court"},
                        "city": {"scheme": "rongcheng", "operator": "city"}},
            "consequences": {"dishonest_debtor": {"disclose": 0.2}}}
    with pytest.raises(SchemeError, match=r"(?s)unknown entitlement or list 'dishonest_debtor'.*fix: .*"
                                          r"'court.dishonest_debtor'"):
        scenario_from_data(data)
    data["consequences"] = {"court.dishonest_debtor": {"disclose": 0.2}}
    scenario_from_data(data)


@pytest.mark.parametrize("data, message", [
    ({"scheme": "shixin", "schemes": {"court": {"scheme": "shixin", "operator": "court"}}}, "one of the two"),
    ({}, "one scheme or several"),
    ({"schemes": {"Court": {"scheme": "shixin", "operator": "court"}}}, "must match"),
    ({"schemes": {"court": {"scheme": "shixin", "operator": "court"}}, "scheme_overrides": {"reasons": 1}},
     "as its `overrides`"),
    ({"schemes": {"court": {"scheme": "shixin", "operator": "bank"}}}, "'bank' is not allowed here"),
    ({"schemes": {"court": {"scheme": "shixin", "operator": "court", "receives": ["cort"]}},
      "surveillance": {"courts": {"observes": ["judgment_default"]}}}, "unknown source 'cort'"),
])
def test_the_schemes_form_is_checked_with_located_errors(data, message):
    with pytest.raises(SchemeError, match=message):
        scenario_from_data(data)


def test_the_scenario_schema_gives_the_schemes_form():
    from socialcredit.scenario.models import Scenario

    schema = Scenario.model_json_schema()
    assert "schemes" in schema["properties"] and "scheme" in schema["properties"]
    assert schema["properties"]["schemes"]["propertyNames"] == {"pattern": "^[a-z_][a-z0-9_]*$"}
    entry = schema["$defs"]["SchemeEntry"]
    assert entry["properties"]["operator"]["enum"] == ["state", "court", "city", "private"]
    assert {"scheme", "operator", "receives", "overrides"} <= set(entry["properties"])


def test_set_reaches_a_qualified_name_that_holds_a_dot():
    data = {"consequences": {"court.loan": {"denied": {"income_growth": -0.03}}}}
    apply_overrides(data, {"consequences.court.loan.denied.income_growth": 0.0})
    assert data == {"consequences": {"court.loan": {"denied": {"income_growth": 0.0}}}}
    apply_overrides(data, {"consequences.court.loan": {"disclose": 0}})
    assert data == {"consequences": {"court.loan": {"disclose": 0}}}


def test_set_adds_a_consequence_under_a_qualified_name_the_scenario_does_not_have_yet():
    data = {"schemes": {"court": {}, "city": {}}, "consequences": {"court.loan": {"disclose": 0.1}}}
    apply_overrides(data, {"consequences.city.key_supervision.disclose": 0.5})
    assert data["consequences"] == {"court.loan": {"disclose": 0.1}, "city.key_supervision": {"disclose": 0.5}}
    # with one scheme a consequence's name has no dot: the path splits at each
    single = {"consequences": {}}
    apply_overrides(single, {"consequences.blacklist.disclose": 0.5})
    assert single["consequences"] == {"blacklist": {"disclose": 0.5}}


def test_each_scheme_keeps_its_own_state_and_cadence(three):
    run, _ = three
    court, city, zhima = run.sim.schemes
    assert (court.name, city.name, zhima.name) == ("court", "city", "zhima")
    assert zhima.scheme.update_every_days == 30 and court.scheme.update_every_days == 1
    # all scored on the last day; in between, each on its own cadence
    assert court.scored_day == city.scored_day == zhima.scored_day == run.sim.days - 1
    assert court.features is not zhima.features and court.scores is not zhima.scores
    # only Alipay's records can be false (record errors): only Zhima keeps a state of the genuine ones
    assert run.sim.has_truth and [state.truth is not None for state in run.sim.schemes] == [False, False, True]
    figures = run.summary["schemes"]
    assert [figures[name]["records_can_be_false"] for name in ("court", "city", "zhima")] == [False, False, True]
    assert (run.people["court.days_wrongly_listed.dishonest_debtor"] == 0).all()
    assert (run.metrics["city.wrongly_denied.public_sector_post"] == 0).all()


def test_a_scheme_scores_only_the_records_of_the_sources_it_receives(three):
    run, _ = three
    people = run.people
    # zhima buys the courts' records: its court feature counts the same defaults the court sees
    # (less any a granted appeal to Zhima voided in its file)
    bought, recorded = people["zhima.feature.court_defaults_24m"], people["observed.judgment_default"]
    assert recorded.sum() > 0 and bought.sum() > 0.9 * recorded.sum()
    assert (bought <= recorded).all()
    # the city receives neither Alipay's nor the courts' records, and scores none of their kinds
    assert not any(column.startswith("city.feature.") and "repay" in column for column in people.columns)
    # a scheme that does not receive a source gets none of its records, though it declares the kind
    alone = simulate(EXAMPLE, **{**SMALL, "schemes.zhima.receives": ["alipay"]})
    assert (alone.people["zhima.feature.court_defaults_24m"] == 0).all()


def test_outputs_are_prefixed_by_scheme_with_combined_figures(three):
    run, folder = three
    columns = set(run.people.columns)
    for name in ("court", "city", "zhima"):
        assert {f"{name}.score", f"{name}.tier", f"{name}.reasons"} <= columns
    assert {"court.listed.dishonest_debtor", "court.days_denied.board_flight", "zhima.allowed.hotel_no_deposit",
            "days_listed_any", "days_sanctioned_any", "most_schemes_listing", "true.flight"} <= columns
    assert "score" not in columns and "listed.dishonest_debtor" not in columns
    metrics = run.metrics
    assert {"court.score_mean", "zhima.score_p50", "city.tier_share.A", "listed_any", "sanctioned_any.urban",
            "income_mean"} <= set(metrics.columns)
    summary = json.loads((folder / "summary.json").read_text())
    assert set(summary["schemes"]) == {"court", "city", "zhima"} and "score" not in summary
    court = summary["schemes"]["court"]
    assert court["operator"] == "court" and court["receives"] == ["courts", "ticketing"]
    assert "dishonest_debtor" in court["lists"] and "board_flight" in court["entitlements_denied"]
    assert "disparities" in court["harms"] and "appeals" in court["harms"]
    combined = summary["combined"]
    listed = combined["listed_by_any"]
    assert listed["share"] == pytest.approx((run.people["court.listed.dishonest_debtor"]).mean())
    assert sum(listed["by_how_many_at_end"].values()) == pytest.approx(1.0)
    sanctioned = combined["sanctioned_by_any"]
    assert sanctioned["person_days"] == int(run.people["days_sanctioned_any"].sum())
    assert "wrongly_sanctioned_any" in summary["harms"]
    for name in ("court", "city", "zhima"):
        assert (folder / f"mobility.{name}.csv").exists() and (folder / f"events.{name}.parquet").exists()
    assert "court (court): scheme <b>shixin</b>" in (folder / "report.html").read_text()


@pytest.mark.parametrize("name", ["court", "city", "zhima"])
def test_each_schemes_saved_events_scored_give_its_final_scores(three, name):
    """The three jobs agree per scheme: the records that reached a scheme, scored by `score` at the
    last day with that scheme, give its final scores, tiers, lists and entitlements."""
    run, folder = three
    state = next(state for state in run.sim.schemes if state.name == name)
    relations = folder / "relations.parquet" if state.scheme.network is not None else None
    lists = {}
    for own, source, list_name in state.entry.lists_from:  # an imported list, as a membership file
        people = run.people
        lists[own] = folder.parent / f"{own}.{name}.csv"
        pd.DataFrame({"subject": people.loc[people[f"{source}.listed.{list_name}"], "person"]}).to_csv(lists[own])
    scored = run_score(folder / f"events.{name}.parquet", state.scheme, as_of=run.sim.time(run.sim.days - 1),
                       relations=relations, input_lists=lists).table.to_pandas()
    scored.index = scored["subject"].astype(np.int64)
    people = run.people.set_index("person").loc[scored.index]
    for feature in state.scheme.features:
        np.testing.assert_allclose(scored[feature], people[f"{name}.feature.{feature}"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(scored["score"].astype(float), people[f"{name}.score"].astype(float), rtol=1e-9)
    assert (scored["tier"].astype(str) == people[f"{name}.tier"].astype(str)).all()
    for list_name in state.scheme.lists:
        assert (scored[list_name] == people[f"{name}.listed.{list_name}"]).all()
    for entitlement in state.scheme.entitlements:
        assert (scored[entitlement] == people[f"{name}.allowed.{entitlement}"]).all()


def test_a_lawful_schemes_events_are_scored_by_the_command(tmp_path):
    """`socialcredit score` (which refuses the court's, the city's and Zhima's schemes for real
    people) scores a lawful scheme's saved events, beside another scheme, to its final scores."""
    from typer.testing import CliRunner

    from socialcredit.cli import app

    run = simulate("fico", population=2000, days=40, seed=2, save_events=True,
                   **as_schemes("fico", "bureau", court={"scheme": "shixin", "operator": "court"}))
    run.save(tmp_path / "run")
    result = CliRunner().invoke(app, ["score", str(tmp_path / "run/events.bureau.parquet"), "--scheme", "fico",
                                      "--as-of", str(run.sim.time(run.sim.days - 1)),
                                      "--out", str(tmp_path / "bureau.parquet")])
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(tmp_path / "bureau.parquet")
    scored.index = scored["subject"].astype(np.int64)
    people = run.people.set_index("person").loc[scored.index]
    np.testing.assert_allclose(scored["score"].astype(float), people["bureau.score"].astype(float), rtol=1e-9)
    assert (scored["tier"].astype(str) == people["bureau.tier"].astype(str)).all()
    assert "court.listed.dishonest_debtor" in run.people  # the court's list, beside it


def test_several_schemes_are_deterministic(three):
    run, _ = three
    again = simulate(EXAMPLE, **SMALL)
    pd.testing.assert_frame_equal(run.people, again.people)
    pd.testing.assert_frame_equal(run.metrics, again.metrics)


def test_one_scheme_named_under_schemes_runs_as_the_scheme_alone():
    """`schemes: {x: ...}` with one entry is the `scheme:` run with its names qualified and its
    outputs prefixed: the same draws, the same numbers."""
    plain = simulate("fico", population=2000, days=40, seed=2)
    named = simulate("fico", population=2000, days=40, seed=2, **as_schemes("fico", "bureau"))
    renamed = named.people.rename(columns=lambda c: c.removeprefix("bureau."))
    pd.testing.assert_frame_equal(plain.people, renamed[plain.people.columns])
    assert named.summary["schemes"]["bureau"]["score"] == plain.summary["score"]
    assert named.summary["schemes"]["bureau"]["lists"] == plain.summary["lists"]


def as_schemes(preset: str, name: str, **others: dict) -> dict:
    """Overrides that turn a preset of one scheme into the `schemes:` form, its scheme named
    `name` (with `others` beside it): its consequences and `requires` renamed."""
    scenario, _ = load_scenario(preset)
    settings: dict = {"scheme": None, f"schemes.{name}": {"scheme": preset, "operator": "private"},
                      **{f"schemes.{other}": entry for other, entry in others.items()},
                      "consequences": {f"{name}.{key}": value.model_dump() for key, value in
                                       scenario.consequences.items()}}
    for kind, behaviour in scenario.behaviours.items():
        if behaviour.requires:
            settings[f"behaviours.{kind}.requires"] = [f"{name}.{e}" for e in behaviour.requires]
    return settings


def test_the_stake_of_an_act_is_summed_over_the_schemes_that_would_learn_of_it():
    scenario, schemes = load_scenario(EXAMPLE, {"population.size": 2000})
    sim = Sim(scenario, schemes)
    behaviour = Behaviour(sim)
    index = behaviour.kinds.index("judgment_default")
    weighing = behaviour.weighed_by[index]
    assert [w.state.name for w in weighing] == ["court", "zhima"]  # the city does not declare the kind
    weighing[0].stakes[:] = 4.0
    weighing[1].stakes[:] = 3.0
    everyone = slice(0, sim.n)
    deterred = behaviour._rate(sim, index, everyone, None)
    undeterred = behaviour._rate(sim, index, everyone, None, deterred=False)
    exponent = -np.log(deterred / undeterred) / behaviour.specs[index].deterrence
    # both receive the courts' records, which record every default: 4 + 3 points at stake
    np.testing.assert_allclose(exponent, 7.0, rtol=1e-9)


def test_a_scheme_that_would_not_learn_of_an_act_adds_nothing_to_its_stake():
    scenario, schemes = load_scenario(EXAMPLE, {"population.size": 2000, "schemes.zhima.receives": ["alipay"]})
    behaviour = Behaviour(Sim(scenario, schemes))
    assert [w.state.name for w in behaviour.weighed_by[behaviour.kinds.index("judgment_default")]] == ["court"]


def test_the_loop_steps_every_scheme_each_day():
    scenario, schemes = load_scenario(EXAMPLE, {"population.size": 1500, "run.days": 35})
    sim = Sim(scenario, schemes)
    Loop(sim).run()
    assert all(state.scores is not None for state in sim.schemes)
    assert sim.schemes[2].scored_day == 34 and sim.schemes[0].scored_day == 34


def test_counterfactual_mechanisms_switch_off_every_schemes_part():
    from socialcredit.runner.counterfactual import twin_overrides

    scenario, schemes = load_scenario(EXAMPLE)
    sanctions = twin_overrides("sanctions", scenario, schemes)
    assert sanctions["consequences.court.loan.denied.income_growth"] == 0.0
    assert sanctions["consequences.city.public_sector_post.denied.income_growth"] == 0.0
    assert "consequences.zhima.hotel_no_deposit.granted.income_growth" not in sanctions  # a perk is no sanction
    assert twin_overrides("network_term", scenario, schemes) == {"schemes.zhima.overrides.network": None}
    twin, twin_schemes = load_scenario(EXAMPLE, {**sanctions, **twin_overrides("network_term", scenario, schemes)})
    assert twin.consequences["court.loan"].denied.income_growth == 0.0
    assert twin_schemes[2].scheme.network is None and schemes[2].scheme.network is not None


def test_compare_flattens_each_schemes_figures_with_known_kinds():
    from socialcredit.analysis.intervals import figure_kind
    from socialcredit.runner.compare import headline_figures

    run = simulate(EXAMPLE, population=1500, days=30, seed=2)
    figures = headline_figures(run.summary)
    assert {"score_mean.court", "score_mean.zhima.urban", "listed.court.dishonest_debtor",
            "denied.city.public_sector_post", "listed_by_any", "sanctioned_by_any.rural",
            "wrongly_listed.zhima.count", "denied_through_imports.city",
            "denied_through_imports.zhima.rural", "records.courts.zhima", "false_records.alipay.zhima"} <= set(figures)
    for name in figures:
        figure_kind(name)  # every figure has a kind (and so a range for its interval)


def test_the_command_simulates_several_schemes_and_says_which(tmp_path):
    from typer.testing import CliRunner

    from socialcredit.cli import app

    result = CliRunner().invoke(app, ["simulate", str(EXAMPLE), "--population", "1500", "--days", "20",
                                      "--save-events", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # as one line, however the console wrapped it
    assert "schemes court ('shixin', court), city ('rongcheng', city), zhima ('zhima', private)" in said
    assert "events.court.parquet, events.city.parquet, events.zhima.parquet" in said
    assert "on a list of any scheme" in said and "mean score (zhima)" in said
    for name in ("summary.json", "people.parquet", "metrics.parquet", "report.html", "events.zhima.parquet",
                 "mobility.city.csv", "relations.parquet"):
        assert (tmp_path / "out" / name).exists(), name


@pytest.mark.parametrize("data, path, message", [
    ({"id": "x"}, ("scheme",), "no scheme named"),
    ({"scheme": "shixin", "schemes": {"court": {"scheme": "shixin", "operator": "court"}}}, ("schemes",),
     "both `scheme` and `schemes`"),
    ({"schemes": {}}, ("schemes",), "names no scheme"),
    ({"schemes": {"Court": {"scheme": "shixin", "operator": "court"}}}, ("schemes", "Court"), "must match"),
    ({"schemes": {"court": {"scheme": "shixin", "operator": "court"}}, "scheme_overrides": {"reasons": 2}},
     ("scheme_overrides",), "several"),
    ({"schemes": {"court": {"scheme": "shixin", "operator": "court", "receives": "courts"}}},
     ("schemes", "court", "receives"), "expected a list"),
])
def test_the_form_of_a_scenario_is_refused_at_the_field_at_fault_with_a_fix(data, path, message):
    with pytest.raises(SchemeError, match=message) as caught:
        scenario_from_data(data)
    problem = caught.value.problems[0]
    assert problem.path == path and problem.fix


def test_a_problem_in_a_schemes_overrides_is_reported_where_the_scenario_wrote_it():
    data = {"schemes": {"court": {"scheme": "shixin", "operator": "court"},
                        "court2": {"scheme": "shixin", "operator": "court", "overrides": {"update_evry_days": 7}}}}
    with pytest.raises(SchemeError) as caught:
        scenario_from_data(data, "s.yaml")
    problem = caught.value.problems[0]
    assert problem.path == ("schemes", "court2", "overrides", "update_evry_days")
    assert "did you mean 'update_every_days'" in problem.fix and "s.yaml" in str(caught.value)


def test_the_scenario_schema_says_one_scheme_or_several_never_both_or_neither():
    import jsonschema_rs  # schemathesis's validator, in the test extra

    from socialcredit.scenario.models import Scenario

    validator = jsonschema_rs.validator_for(Scenario.model_json_schema())
    one = {"scheme": "shixin"}
    several = {"schemes": {"court": {"scheme": "shixin", "operator": "court"}}}
    assert validator.is_valid(one) and validator.is_valid(several)
    for bad in ({}, {**one, **several}, {"schemes": {}}, {**several, "scheme_overrides": {"reasons": 2}}):
        assert not validator.is_valid(bad), bad


def test_every_metric_of_a_scheme_is_named_after_it(three):
    run, _ = three
    columns = list(run.metrics.columns)
    assert "court.disparate_impact.listed.dishonest_debtor" in columns
    assert "zhima.parity_difference.denied.hotel_no_deposit" in columns
    fairness = [c for c in columns if c.startswith(("disparate_impact.", "parity_difference."))]
    # unprefixed, only the combined figures
    assert fairness and all(c.split(".")[1] in ("listed_any", "sanctioned_any") for c in fairness), fairness


ONE_SCHEME_THRICE = Path(__file__).parents[2] / "benchmarks" / "default-three-schemes.scenario.yaml"


def test_schemes_that_score_the_same_records_by_the_same_rules_share_one_state():
    """Three operators running one scheme on every record keep one feature state and make one set
    of scores a day; a scheme that receives other records, on terms, whose records appeals can
    take back, or that enrols its own people keeps its own."""
    sim = Sim(*load_scenario(ONE_SCHEME_THRICE, {"population.size": 1000}))
    state, city, bank = sim.schemes
    assert state.scored_as is None and city.scored_as is state and bank.scored_as is state
    assert city.features is state.features and bank.features is state.features
    apart = [{"schemes.bank.receives": ["banks", "cameras"]},
             {"schemes.bank.receives": ["banks", "cameras", {"source": "registry", "delay_days": 3}]},
             {"appeals": {"propensity": 0.3}},
             {"enrolment": {"bank": {"rule": "voluntary", "enrolled_at_start": 0.5}}}]
    for changes in apart:
        sim = Sim(*load_scenario(ONE_SCHEME_THRICE, {"population.size": 1000, **changes}))
        assert sim.schemes[2].scored_as is None and sim.schemes[2].features is not sim.schemes[0].features


def test_sharing_a_twin_schemes_state_changes_no_output(monkeypatch):
    """A paired run with the sharing switched off: the same people.parquet, metrics and summary,
    to the bit, whatever the cadence (weekly scoring: the stakes of a scheme that has not scored
    today) and whatever the consequences."""
    from socialcredit.sim.schemes import SchemeState

    for changes in ({}, {"schemes.city.overrides": {"update_every_days": 7}},
                    {"schemes.state.overrides": {"update_every_days": 3},
                     "schemes.city.overrides": {"update_every_days": 3}}):
        settings = {"population": 2500, "days": 45, "seed": 6, **changes}
        shared = simulate(ONE_SCHEME_THRICE, **settings)
        with monkeypatch.context() as patch:
            patch.setattr(SchemeState, "scores_as", lambda self, other: False)
            alone = simulate(ONE_SCHEME_THRICE, **settings)
        pd.testing.assert_frame_equal(shared.people, alone.people)
        pd.testing.assert_frame_equal(shared.metrics, alone.metrics)
        assert shared.summary["schemes"] == alone.summary["schemes"]
