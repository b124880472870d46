"""Lists from elsewhere (joint punishment) and records shared and sold (README, "Input lists" and
"Several schemes"): an input list wired from another scheme, supplied to `score` and `serve`, judged
by the real-person guard as data of its category; records reaching a scheme late or in part; where
each false record went."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from socialcredit import simulate
from socialcredit.cli import app
from socialcredit.scenario.load import scenario_from_data
from socialcredit.scheme import SchemeError, load_scheme
from socialcredit.scheme.guards import classify
from socialcredit.scorejob import run_score

BLACKLIST = {"court_blacklist": {"category": "judicial", "description": "the court's list of defaulters"}}
BLOCKED = {"hotel_no_deposit": {"allow": "score >= 600 and not court_blacklist", "context": "financial",
                                "perk": True}}


def world(zhima: dict | None = None, **more) -> dict:
    """A court list and Zhima on one population; Zhima's entitlements change nothing in the world
    (no consequences, no deterrence of its kinds, no appeals), so a run with and without a rule that
    reads the court's list differs only in that rule's outcomes."""
    entry = {"scheme": "zhima", "operator": "private", "receives": ["alipay"]}
    return copy.deepcopy({
        "schemes": {"court": {"scheme": "shixin", "operator": "court", "receives": ["courts"]},
                    "zhima": {**entry, **(zhima or {})}},
        "population": {"size": 3000, "groups": {"urban": 0.6, "rural": 0.4}},
        "behaviours": {"judgment_default": {"rate": 0.0008, "heterogeneity": 2.0},
                       "judgment_paid": {"rate": 0.002},
                       "repayment": {"rate": 0.04}, "overdue": {"rate": 0.004, "heterogeneity": 2.0},
                       "purchase": {"rate": 0.1}, "identity_verified": {"rate": 0.003}},
        "surveillance": {"courts": {"observes": ["judgment_default", "judgment_paid"]},
                         "alipay": {"observes": ["repayment", "overdue", "purchase", "identity_verified"]}},
        "run": {"days": 90, "seed": 4},
        **more,
    })


IMPORTING = {"lists_from": {"court_blacklist": "court.dishonest_debtor"},
             "overrides": {"input_lists": BLACKLIST, "entitlements": BLOCKED}}


@pytest.fixture(scope="module")
def joint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("joint")
    path = folder / "joint.scenario.yaml"
    import yaml

    path.write_text(yaml.safe_dump(world(IMPORTING)))
    run = simulate(path, save_events=True)
    run.save(folder / "run")
    plain = simulate(_file(folder / "plain.scenario.yaml", world()))
    return run, plain, folder / "run"


def _file(path: Path, data: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(data))
    return path


def test_an_input_list_from_the_court_changes_the_importers_entitlements_exactly_for_its_members(joint):
    run, plain, _ = joint
    people, alone = run.people, plain.people
    listed = people["court.listed.dishonest_debtor"].to_numpy()
    assert 20 < listed.sum() < len(people) / 2  # the court lists some, not most
    # the same world (the importer's entitlements act on nothing): the court's list is the same
    assert (listed == alone["court.listed.dishonest_debtor"].to_numpy()).all()
    allowed, before = people["zhima.allowed.hotel_no_deposit"].to_numpy(), \
        alone["zhima.allowed.hotel_no_deposit"].to_numpy()
    assert (allowed == (before & ~listed)).all()           # denied to the listed, whatever their score
    assert (allowed[~listed] == before[~listed]).all()      # and to nobody else
    assert (before & listed).sum() > 0                      # some would have had it: the list took it
    for column in ("zhima.score", "zhima.tier"):            # the list reads no score: scores unchanged
        assert (people[column].astype(str) == alone[column].astype(str)).all()


def test_the_reach_of_joint_punishment_is_in_the_summary_and_people(joint):
    run, _, folder = joint
    people = run.people
    days = people["zhima.days_denied_through_imports"].to_numpy()
    # only people on the court's list at some time can be denied because of it, and today's listed
    # who would have the perk are denied it today
    assert (days <= people["court.days_listed.dishonest_debtor"].to_numpy()).all()
    now = people["court.listed.dishonest_debtor"] & (people["zhima.score"] >= 600)
    assert (days[now.to_numpy()] > 0).all()
    figures = json.loads((folder / "summary.json").read_text())["combined"]["joint_punishment"]
    assert list(figures) == ["zhima"]
    zhima = figures["zhima"]
    assert zhima["imports"] == {"court_blacklist": "court.dishonest_debtor"}
    assert zhima["people"] == int((days > 0).sum()) > 0 and zhima["person_days"] == int(days.sum())
    by_group = zhima["by_group"]
    assert sum(g["people"] for g in by_group.values()) == zhima["people"]
    assert sum(g["person_days"] for g in by_group.values()) == zhima["person_days"]


def test_scoring_the_importers_saved_events_with_the_list_as_a_file_gives_its_final_entitlements(joint, tmp_path):
    run, _, folder = joint
    state = next(state for state in run.sim.schemes if state.name == "zhima")
    people = run.people.set_index("person")
    members = tmp_path / "members.csv"
    pd.DataFrame({"subject": people.index[people["court.listed.dishonest_debtor"]]}).to_csv(members, index=False)
    scored = run_score(folder / "events.zhima.parquet", state.scheme, as_of=run.sim.time(run.sim.days - 1),
                       relations=folder / "relations.parquet", input_lists={"court_blacklist": members}).table
    scored = scored.to_pandas().set_index("subject")
    scored.index = scored.index.astype(np.int64)
    listed_alone = set(people.index[people["court.listed.dishonest_debtor"]]) - set(scored.index)
    assert not listed_alone  # a member named in no record is scored all the same
    mine = people.loc[scored.index]
    for entitlement in state.scheme.entitlements:
        assert (scored[entitlement] == mine[f"zhima.allowed.{entitlement}"]).all(), entitlement
    np.testing.assert_allclose(scored["score"].astype(float), mine["zhima.score"].astype(float), rtol=1e-9)
    assert (~scored.loc[mine["court.listed.dishonest_debtor"].to_numpy(), "hotel_no_deposit"]).all()


def test_a_missing_or_unknown_list_file_is_an_error_never_an_empty_list(joint, tmp_path):
    run, _, folder = joint
    scheme = next(state for state in run.sim.schemes if state.name == "zhima").scheme
    from socialcredit.eventlog import InputError

    with pytest.raises(InputError, match=r"(?s)reads input list 'court_blacklist' \(judicial\).*--list court_bl"):
        run_score(folder / "events.zhima.parquet", scheme, allow_future=True)
    with pytest.raises(InputError, match="reads no input list 'blacklist'"):
        run_score(folder / "events.zhima.parquet", scheme, allow_future=True,
                  input_lists={"court_blacklist": tmp_path / "x.csv", "blacklist": tmp_path / "x.csv"})
    (tmp_path / "bad.csv").write_text("subject,note\n1,x\n,y\n")
    with pytest.raises(InputError, match="bad.csv: line 3: subject is missing"):
        run_score(folder / "events.zhima.parquet", scheme, allow_future=True,
                  input_lists={"court_blacklist": tmp_path / "bad.csv"})


# --- the format and its checks -----------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"court": {"lists_from": {"zhima_low": "zhima.nope"}}}, r"declares no input list 'zhima_low'"),
    ({"zhima": {"lists_from": {}}}, r"reads input list 'court_blacklist' \(judicial\), which is not wired.*"
                                    r"lists_from: \{court_blacklist: <scheme>.<list>\}"),
    ({"zhima": {"lists_from": {"court_blacklist": "court.dishonest_debter"}}},
     r"'court.dishonest_debter' is not a list of a scheme of this scenario.*did you mean 'court.dishonest_debtor'"),
    ({"zhima": {"lists_from": {"court_blacklist": "dishonest_debtor"}}}, r"is not a list of a scheme"),
])
def test_wiring_is_checked_with_errors_naming_the_field_and_the_fix(change, message):
    data = world(IMPORTING)
    for name, entry in change.items():
        data["schemes"][name].update(entry)
    with pytest.raises(SchemeError, match=f"(?s){message}") as raised:
        scenario_from_data(data)
    assert "schemes." in str(raised.value)  # located at the field


def test_a_cycle_of_imported_lists_is_refused_with_its_path():
    data = world(IMPORTING)
    # the court now reads Zhima's own list of its low scorers, which reads the court's list back
    data["schemes"]["zhima"]["overrides"]["lists"] = {"low_scorer": "score < 500 or court_blacklist"}
    data["schemes"]["court"].update({
        "lists_from": {"zhima_low": "zhima.low_scorer"},
        "overrides": {"input_lists": {"zhima_low": {"category": "financial"}}}})
    with pytest.raises(SchemeError, match=r"(?s)schemes\.\w+\.lists_from.*import each other's lists in a cycle: "
                                          r"(court -> zhima -> court|zhima -> court -> zhima).*remove one wiring"):
        scenario_from_data(data)
    del data["schemes"]["court"]["lists_from"]  # declared and unwired: an error too, never an empty list
    with pytest.raises(SchemeError, match="'zhima_low' .*not wired"):
        scenario_from_data(data)


def test_a_scheme_with_input_lists_cannot_run_alone():
    with pytest.raises(SchemeError, match=r"(?s)reads input list 'court_blacklist'.*only another scheme.*lists_from"):
        scenario_from_data({"scheme": "zhima", "scheme_overrides": {"input_lists": BLACKLIST,
                                                                    "entitlements": BLOCKED}})


def test_schemes_that_import_score_after_their_sources():
    data = world(IMPORTING)
    data["schemes"] = {"zhima": data["schemes"]["zhima"], "court": data["schemes"]["court"]}
    _, schemes = scenario_from_data(data)
    assert [entry.name for entry in schemes] == ["zhima", "court"]        # outputs in the scenario's order
    assert [entry.name for entry in schemes.order] == ["court", "zhima"]  # scoring: the source first


def test_an_input_list_is_read_by_lists_entitlements_and_tier_caps_and_named_in_the_schema(tmp_path):
    from socialcredit.scheme.models import Scheme

    schema = Scheme.model_json_schema()
    assert "input_lists" in schema["properties"]
    assert schema["$defs"]["InputList"]["properties"]["category"]
    scheme = _scheme(tmp_path, "loan: {allow: \"not on_court_list\", context: judicial}")
    assert classify(scheme).allowed
    with pytest.raises(SchemeError, match="unknown name 'on_cort_list'"):
        _scheme(tmp_path, "loan: {allow: \"not on_cort_list\", context: judicial}")


def _scheme(folder: Path, entitlement: str, category: str = "judicial"):
    path = folder / "s.yaml"
    path.write_text(f"""id: s
title: s
scale: {{min: 0, max: 100, base: 50}}
events: {{pay: {{category: financial}}}}
features: {{paid: {{count: pay}}}}
components: {{c: {{feature: paid, per_unit: 1}}}}
tiers: [{{name: A, min: 60}}, {{name: B, min: 0}}]
tier_caps: [{{when: on_court_list, at_most: B}}]
input_lists: {{on_court_list: {{category: {category}}}}}
lists: {{flagged: "on_court_list and paid < 3"}}
entitlements:
  {entitlement}
""")
    return load_scheme(str(path))


def test_a_cross_context_input_list_is_refused_by_score_and_serve_and_run_by_simulate(tmp_path, joint):
    """The court's list blocking a hotel deposit (financial) is cross-context: refused for real
    people by `score` and `serve`, as the guard refuses it within one scheme; `simulate` ran it."""
    scheme = _scheme(tmp_path, "hotel_no_deposit: {allow: \"not on_court_list\", context: financial}")
    refusal = classify(scheme).refusals
    assert refusal == ["entitlement 'hotel_no_deposit' (context financial) depends on events of another context: "
                       "input list on_court_list (judicial)"]
    (tmp_path / "events.csv").write_text("subject,kind,time\n" + "a,pay,2025-01-01\nb,pay,2025-01-01\n" * 12)
    (tmp_path / "members.csv").write_text("subject\na\n")
    runner = CliRunner()
    result = runner.invoke(app, ["score", str(tmp_path / "events.csv"), "--scheme", str(tmp_path / "s.yaml"),
                                 "--list", f"on_court_list={tmp_path / 'members.csv'}"])
    assert result.exit_code == 3 and "input list on_court_list (judicial)" in result.output
    result = runner.invoke(app, ["serve", "--scheme", str(tmp_path / "s.yaml"), "--port", "0", "--db",
                                 f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 3 and "input list on_court_list (judicial)" in result.output
    # the same list used in its own context (a judicial entitlement) is lawful, and scored with the file
    _scheme(tmp_path, "loan: {allow: \"not on_court_list\", context: financial, uses: [judicial]}")
    result = runner.invoke(app, ["score", str(tmp_path / "events.csv"), "--scheme", str(tmp_path / "s.yaml"),
                                 "--list", f"on_court_list={tmp_path / 'members.csv'}",
                                 "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    # a special category read through an input list is refused by both, by the same guard
    _scheme(tmp_path, "loan: {allow: \"not on_court_list\", context: financial, uses: [political]}", "political")
    for job in (["score", str(tmp_path / "events.csv"), "--list", f"on_court_list={tmp_path / 'members.csv'}"],
                ["serve", "--port", "0", "--db", f"sqlite:///{tmp_path / 'y.db'}"]):
        result = runner.invoke(app, [*job, "--scheme", str(tmp_path / "s.yaml")])
        assert result.exit_code == 3 and "special-category" in result.output and "on_court_list" in result.output, (
            result.output)
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "y.db").exists()
    # the README and the example scheme say serve takes the members from its supplier endpoint
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = (Path(__file__).parents[2] / "examples" / "lending-with-court-list.yaml").read_text()
    assert "`serve` cannot yet be given them" not in readme and "`serve` refuses a scheme with one" not in example
    assert "POST /v1/input-lists/{name}" in readme and "POST /v1/input-lists/court_defaulters" in example
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out["subject"]) == ["a", "b"] and list(out["loan"]) == [False, True]
    assert list(out["on_court_list"]) == [True, False]  # the list as given, beside the outcomes
    assert list(out["tier"]) == ["B", "A"] and list(out["capped_by"].fillna("")) == ["cap_on_court_list", ""]
    # and simulate ran the cross-context rule (the joint run's Zhima blocks the deposit of the listed)
    run, _, _ = joint
    assert not classify(next(s for s in run.sim.schemes if s.name == "zhima").scheme).allowed


def test_a_list_file_given_wrong_on_the_command_line_is_a_message_not_a_traceback(tmp_path):
    _scheme(tmp_path, "loan: {allow: \"not on_court_list\", context: financial, uses: [judicial]}")
    (tmp_path / "events.csv").write_text("subject,kind,time\na,pay,2025-01-01\n")
    runner = CliRunner()
    for given, message in (("on_court_list", "give NAME=FILE"),
                           (f"on_court_list={tmp_path / 'none.csv'}", "no such file"),
                           (f"other={tmp_path / 'none.csv'}", "reads no input list 'other'")):
        result = runner.invoke(app, ["score", str(tmp_path / "events.csv"), "--scheme", str(tmp_path / "s.yaml"),
                                     "--list", given])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output
    result = runner.invoke(app, ["score", str(tmp_path / "events.csv"), "--scheme", str(tmp_path / "s.yaml")])
    assert result.exit_code == 2 and "--list on_court_list=FILE" in result.output


# --- records shared and sold -------------------------------------------------------------------------------------

DELAY, COVERAGE = 10, 0.5
SOLD = {"receives": ["alipay", {"source": "courts", "delay_days": DELAY, "coverage": COVERAGE}],
        "overrides": {"events": {"judgment_default": {"category": "judicial"},
                                 "judgment_paid": {"category": "judicial"}},
                      "features": {"defaults": {"count": "judgment_default"}},
                      "components": {"court_record": {"feature": "defaults", "per_unit": -50}}}}


def sold_world() -> dict:
    """Zhima buys half the courts' records, ten days late; the courts mix up one record in twenty."""
    data = world(SOLD)
    data["surveillance"]["courts"]["error_rate"] = 0.05
    data["behaviours"]["judgment_default"]["rate"] = 0.003
    return data


@pytest.fixture(scope="module")
def sold(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sold")
    run = simulate(_file(folder / "sold.scenario.yaml", sold_world()), save_events=True)
    run.save(folder / "run")
    return run, folder / "run"


def test_a_sold_source_reaches_the_buyer_later_and_in_part(sold):
    run, folder = sold
    court = pd.read_parquet(folder / "events.court.parquet")
    zhima = pd.read_parquet(folder / "events.zhima.parquet")
    bought = zhima[zhima["source"] == "courts"]
    assert set(bought["id"]) <= set(court["id"])  # the same records, under their ids
    # (the courts have no delay of their own: a record reaches the court the day of the act)
    last = run.sim.time(run.sim.days - 1)
    assert bought["time"].max() <= last - DELAY           # what arrives after the last day is not there
    due = court[court["time"] <= last - DELAY]             # the records that had time to arrive
    n, k = len(due), int(due["id"].isin(bought["id"]).sum())
    assert n > 400 and k == len(bought)
    spread = np.sqrt(n * COVERAGE * (1 - COVERAGE))
    assert abs(k - n * COVERAGE) < 4.5 * spread           # binomial: about c of them, 4.5 sigma
    # the flow of records, source by scheme, in summary.json
    flows = json.loads((folder / "summary.json").read_text())["combined"]["record_flows"]
    assert flows["courts"]["court"] == {"records": len(court), "false_records": int((~court["genuine"]).sum()),
                                        "delay_days": 0, "coverage": 1.0}
    assert flows["courts"]["zhima"] == {"records": len(bought), "false_records": int((~bought["genuine"]).sum()),
                                        "delay_days": DELAY, "coverage": COVERAGE}
    assert set(flows["alipay"]) == {"zhima"}  # the court does not receive Alipay's records
    # the same seed draws the same records
    again = simulate(_file(folder.parent / "again.scenario.yaml", sold_world()))
    assert (again.people["zhima.feature.defaults"] == run.people["zhima.feature.defaults"]).all()


def test_a_false_records_reach_lists_every_scheme_it_reached_and_when(sold):
    run, folder = sold
    reach = pd.read_parquet(folder / "record_reach.parquet")
    assert {"id", "subject", "true_subject", "kind", "source", "scheme", "arrived_day", "voided"} <= set(reach)
    court_ids = set(pd.read_parquet(folder / "events.court.parquet").query("not genuine")["id"])
    zhima_ids = set(pd.read_parquet(folder / "events.zhima.parquet").query("not genuine")["id"])
    by_record = reach.groupby("id")["scheme"].apply(lambda s: sorted(map(str, s)))
    for record in court_ids:  # every false record the court received is followed to each scheme it reached
        expected = ["court", "zhima"] if record in zhima_ids else ["court"]
        assert by_record[record] == expected
    assert zhima_ids and zhima_ids <= court_ids | set(reach.loc[reach["source"] == "alipay", "id"])
    both = reach[reach["id"].isin(zhima_ids & court_ids)].pivot(index="id", columns="scheme", values="arrived_day")
    assert (both["zhima"] - both["court"] == DELAY).all()  # sold ten days late
    first = reach[reach["scheme"] == "court"]
    assert ((first["arrived_day"] - (first["time"] - run.sim.time(0))) == 0).all()
    assert (reach["subject"] != reach["true_subject"]).all()  # each blamed someone who did not do it


def test_deterrence_weighs_a_buyer_by_its_share_of_the_source(tmp_path):
    from socialcredit.scenario.load import scenario_from_data as load
    from socialcredit.sim.model import Sim
    from socialcredit.world.behaviour import Behaviour

    data = world(SOLD)
    data["behaviours"]["judgment_default"]["deterrence"] = 0.01
    scenario, schemes = load(data)
    behaviour = Behaviour(Sim(scenario, schemes))
    weighing = behaviour.weighed_by[behaviour.kinds.index("judgment_default")]
    assert [w.state.name for w in weighing] == ["court", "zhima"]
    assert weighing[0].chance == 1.0 and weighing[1].chance == COVERAGE  # p_s: its share of the courts' records


def test_a_scheme_importing_a_list_whose_records_can_be_false_keeps_its_genuine_state():
    """Zhima's own records are all true, but the court's list it reads can rest on false records: a
    denial through that list can be wrongful, so Zhima keeps a state of genuine records too, and
    its input list on genuine records is the court's list on genuine records."""
    from socialcredit.sim.model import Sim

    data = world(IMPORTING)
    scenario, schemes = scenario_from_data(data)
    assert [state.truth is None for state in Sim(scenario, schemes).schemes] == [True, True]
    data["surveillance"]["courts"]["error_rate"] = 0.05
    scenario, schemes = scenario_from_data(data)
    sim = Sim(scenario, schemes)
    court, zhima = sim.schemes
    assert court.truth is not None and zhima.truth is not None
    assert sim.scoring_order == [court, zhima]
    listed, truly = np.zeros(sim.n, dtype=bool), np.zeros(sim.n, dtype=bool)
    listed[:5], truly[:2] = True, True
    court.scores = type("Kept", (), {"lists": {"dishonest_debtor": listed}})()
    court.true_scores = type("Kept", (), {"lists": {"dishonest_debtor": truly}})()
    assert (zhima.inputs()["court_blacklist"] == listed).all()
    assert (zhima.inputs(truth=True)["court_blacklist"] == truly).all()


def test_compiled_rules_read_input_lists_as_numpy_rules_do(tmp_path):
    """From 262,144 people a simulation scores with the rules compiled: with input lists, the same
    outcomes to the bit as NumPy's (lists, tier caps, entitlements)."""
    from socialcredit.scoring.compiled import compile_rules
    from socialcredit.scoring.core import score_slices

    scheme = _scheme(tmp_path, "loan: {allow: \"not flagged and tier >= 'A'\", context: financial, uses: [judicial]}")
    rng = np.random.default_rng(1)
    n = 5000
    features = {"paid": rng.integers(0, 20, n).astype(float)}
    inputs = {"on_court_list": rng.random(n) < 0.3}
    numpy = score_slices(scheme, lambda part: {k: v[part] for k, v in features.items()}, n, inputs=inputs)
    compiled = score_slices(scheme, lambda part: {k: v[part] for k, v in features.items()}, n, inputs=inputs,
                            compiled_rules=compile_rules(scheme))
    for name in ("tier", "tier_cap"):
        assert (getattr(numpy, name) == getattr(compiled, name)).all()
    assert (numpy.lists["flagged"] == compiled.lists["flagged"]).all()
    assert (numpy.entitlements["loan"] == compiled.entitlements["loan"]).all()
    assert numpy.entitlements["loan"][inputs["on_court_list"]].sum() == 0 and numpy.entitlements["loan"].any()


def test_a_false_record_is_followed_only_to_the_schemes_it_reached(tmp_path):
    """Alipay's and the courts' false records: the court does not receive Alipay, so Alipay's false
    records reach Zhima alone; record_reach has a row per false record per scheme whose events file
    holds it, and no other."""
    data = world()
    data["population"]["size"], data["run"]["days"] = 1500, 40
    data["surveillance"]["alipay"]["error_rate"] = 0.02
    data["surveillance"]["courts"]["error_rate"] = 0.05
    data["behaviours"]["judgment_default"]["rate"] = 0.003
    simulate(_file(tmp_path / "both.scenario.yaml", data), save_events=True).save(tmp_path / "run")
    reach = pd.read_parquet(tmp_path / "run" / "record_reach.parquet")
    assert set(reach.loc[reach["source"] == "alipay", "scheme"].astype(str)) == {"zhima"}
    for scheme in ("court", "zhima"):
        events = pd.read_parquet(tmp_path / "run" / f"events.{scheme}.parquet")
        false_ids = set(events.loc[~events["genuine"], "id"])
        assert false_ids  # both schemes received false records
        assert set(reach.loc[reach["scheme"] == scheme, "id"]) == false_ids
