"""Scheme files: every structural and semantic mistake is an error that names the path and a fix."""

from __future__ import annotations

import json

import pytest

from socialcredit.scheme import SchemeError, load_scheme, load_scheme_text, preset_names, scheme_from_data


def problems_of(data) -> list[str]:
    with pytest.raises(SchemeError) as caught:
        scheme_from_data(data, "s.yaml")
    return [p.render("s.yaml") for p in caught.value.problems]


def only_problem(data) -> str:
    problems = problems_of(data)
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_scheme_loads_and_compiles_rules(scheme_data):
    scheme = scheme_from_data(scheme_data)
    assert scheme.rules.list_order == ("blacklist",)
    assert scheme.rules.feature_order.index("late_ratio") > scheme.rules.feature_order.index("late_24m")
    assert set(scheme.rules.entitlements) == {"loan"}


def test_every_shipped_preset_is_valid():
    assert "example" in preset_names() and "lending" in preset_names()
    for name in preset_names():
        assert load_scheme(name).id == name


def test_unknown_key_names_the_key_and_its_line():
    text = "id: t\ntitle: x\nscale: {min: 0, max: 10, base: 5}\nevents:\n  pay: {category: financial, colour: red}\n"
    with pytest.raises(SchemeError) as caught:
        load_scheme_text(text, "s.yaml")
    (problem,) = caught.value.problems
    assert problem.path == ("events", "pay", "colour")
    assert (problem.line, problem.column) == (5, 30)
    assert "unknown key 'colour'" in problem.message


def test_misspelt_category_suggests_the_right_one(scheme_data):
    scheme_data["events"]["payment"]["category"] = "financal"
    message = only_problem(scheme_data)
    assert "events.payment.category" in message and "did you mean 'financial'?" in message


def test_ratio_to_unknown_feature_names_the_index(scheme_data):
    scheme_data["features"]["late_ratio"]["ratio"] = ["late_24m", "paid_25m"]
    message = only_problem(scheme_data)
    assert "features.late_ratio.ratio[1]" in message
    assert "unknown feature 'paid_25m'" in message and "did you mean 'paid_24m'?" in message


def test_feature_on_unknown_event(scheme_data):
    scheme_data["features"]["late_24m"]["count"] = "late_paymnt"
    assert "features.late_24m.count: unknown event kind 'late_paymnt'" in only_problem(scheme_data)


def test_window_and_half_life_on_one_feature_is_an_error(scheme_data):
    scheme_data["features"]["late_24m"]["half_life_days"] = 90
    assert "window_days or half_life_days, not both" in only_problem(scheme_data)


def test_feature_needs_exactly_one_type(scheme_data):
    scheme_data["features"]["late_24m"] = {"count": "late_payment", "sum": "payment"}
    assert "exactly one of count, sum, mean, days_since, ratio (it has count, sum)" in only_problem(scheme_data)


def test_days_since_needs_a_default(scheme_data):
    scheme_data["features"]["clean"] = {"days_since": "late_payment"}
    assert "needs a default" in only_problem(scheme_data)


def test_ratio_cycle_is_an_error(scheme_data):
    scheme_data["features"]["a"] = {"ratio": ["b", "late_24m"]}
    scheme_data["features"]["b"] = {"ratio": ["a", "late_24m"]}
    assert "cycle" in only_problem(scheme_data)


def test_unknown_component_feature(scheme_data):
    scheme_data["components"]["payment_history"]["feature"] = "late_rate"
    assert "components.payment_history.feature: unknown feature 'late_rate'" in only_problem(scheme_data)


def test_component_needs_bins_or_per_unit_not_both(scheme_data):
    scheme_data["components"]["payment_history"]["per_unit"] = -5
    assert "exactly one of bins or per_unit" in only_problem(scheme_data)


def test_bins_must_increase_and_end_with_catch_all(scheme_data):
    scheme_data["components"]["payment_history"]["bins"] = [
        {"upto": 0.5, "points": 0}, {"upto": 0.1, "points": -40}, {"upto": 1, "points": -120}]
    messages = problems_of(scheme_data)
    assert any("bins[1].upto: upto values must increase" in m for m in messages)
    assert any("bins[2].upto: the last bin is the catch-all" in m for m in messages)


def test_tiers_must_descend(scheme_data):
    scheme_data["tiers"] = [{"name": "A", "min": 850}, {"name": "B", "min": 960}, {"name": "C", "min": 0}]
    assert "tiers[1].min: tiers must run highest first" in only_problem(scheme_data)


def test_lowest_tier_must_cover_the_scale(scheme_data):
    scheme_data["tiers"][-1]["min"] = 100
    assert "set the last tier's min to 0" in only_problem(scheme_data)


def test_list_cycle_is_an_error(scheme_data):
    scheme_data["lists"] = {"a": "b or score < 10", "b": "a and score > 5"}
    scheme_data["entitlements"]["loan"]["allow"] = "not a"
    message = only_problem(scheme_data)
    assert "lists depend on each other in a cycle" in message


def test_lists_may_read_later_lists(scheme_data):
    scheme_data["lists"] = {"watch": "blacklist or score < 900", "blacklist": "late_24m >= 3"}  # watch comes first
    scheme = scheme_from_data(scheme_data)
    assert scheme.rules.list_order == ("blacklist", "watch")


def test_unknown_name_in_expression_points_at_the_column(scheme_data):
    scheme_data["lists"]["blacklist"] = "late_24m >= 3 or lates > 2"
    message = only_problem(scheme_data)
    assert "lists.blacklist: unknown name 'lates' at column 18" in message


def test_names_are_one_namespace(scheme_data):
    scheme_data["lists"]["late_24m"] = "score < 10"
    assert "already used in features" in only_problem(scheme_data)


def test_reserved_names_are_refused(scheme_data):
    scheme_data["features"]["score"] = {"count": "payment"}
    assert "reserved word" in " ".join(problems_of(scheme_data))


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(SchemeError) as caught:
        load_scheme_text("id: t\ntitle: [unclosed\nscale: {}\n", "s.yaml")
    assert caught.value.problems[0].line is not None
    assert "YAML syntax error" in str(caught.value)


def test_yaml_python_tags_are_not_executed():
    with pytest.raises(SchemeError):
        load_scheme_text("id: !!python/object/apply:os.system ['true']\n", "s.yaml")


def test_error_message_names_file_line_path_and_fix(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: t\ntitle: x\nscale: {min: 0, max: 10, base: 5}\nevents:\n  pay: {category: financial}\n"
                    "features:\n  n: {count: payy}\n")
    with pytest.raises(SchemeError) as caught:
        load_scheme(path)
    text = str(caught.value)
    assert f"{path}:7:" in text and "features.n.count: unknown event kind 'payy'" in text
    assert "fix: did you mean 'pay'?" in text


def test_unknown_preset_suggests_a_close_one():
    with pytest.raises(SchemeError) as caught:
        load_scheme("lendin")
    assert "did you mean 'lending'?" in str(caught.value)


def test_json_schema_describes_the_format():
    from socialcredit.scheme import Scheme

    schema = json.loads(json.dumps(Scheme.model_json_schema()))
    assert {"id", "scale", "events"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    assert "half_life_days" in schema["$defs"]["Feature"]["properties"]
    assert "reason code" in schema["$defs"]["TierCap"]["properties"]["name"]["description"]


def test_tier_cap_must_name_a_tier_and_read_only_what_comes_before_it(scheme_data):
    scheme_data["tier_caps"] = [{"when": "late_24m > 0", "at_most": "Z"}]
    assert "tier_caps[0].at_most: unknown tier 'Z'" in only_problem(scheme_data)
    scheme_data["tier_caps"] = [{"when": "blacklist", "at_most": "B"}]
    assert "cannot read tier or lists" in only_problem(scheme_data)
    scheme_data["tier_caps"] = [{"when": "late_24m > 0", "at_most": "B"}]
    assert scheme_from_data(scheme_data).rules.tier_caps[0][1] == 1


def test_a_tier_caps_name_is_its_reason_code_and_an_unnamed_one_is_named_after_what_it_reads(scheme_data):
    scheme_data["tier_caps"] = [
        {"name": "serial_late_payer", "when": "late_24m >= 6", "at_most": "C"},
        {"when": "late_ratio > 0.5 and paid_24m < 3 or late_ratio > 0.9", "at_most": "B"},
        {"when": "late_ratio > 0.2 and paid_24m < 5", "at_most": "B"},   # the same names: numbered
        {"when": "score < 0", "at_most": "C"},
    ]
    assert scheme_from_data(scheme_data).tier_cap_names == (
        "serial_late_payer", "cap_late_ratio_paid_24m", "cap_late_ratio_paid_24m_2", "cap_score")


def test_a_default_cap_name_steps_around_the_schemes_names(scheme_data):
    scheme_data["features"]["cap_late_24m"] = {"count": "late_payment"}
    scheme_data["tier_caps"] = [{"when": "late_24m >= 6", "at_most": "C"},
                                {"name": "cap_late_24m_2", "when": "late_24m >= 9", "at_most": "C"}]
    assert scheme_from_data(scheme_data).tier_cap_names == ("cap_late_24m_3", "cap_late_24m_2")


def test_a_tier_caps_name_shares_the_namespace_and_follows_the_name_rules(scheme_data):
    scheme_data["tier_caps"] = [{"name": "payment_history", "when": "late_24m >= 6", "at_most": "C"}]
    problem = only_problem(scheme_data)
    assert "tier_caps[0].name: the name 'payment_history' is already used in components" in problem
    assert "share one namespace" in problem
    scheme_data["tier_caps"] = [{"name": "late", "when": "late_24m >= 6", "at_most": "C"},
                                {"name": "late", "when": "late_24m >= 9", "at_most": "C"}]
    assert "tier_caps[1].name: the name 'late' is already used in tier_caps" in only_problem(scheme_data)
    scheme_data["tier_caps"] = [{"name": "Drunk driving", "when": "late_24m >= 6", "at_most": "C"}]
    assert "tier_caps[0].name: 'Drunk driving' is not a valid tier cap name" in only_problem(scheme_data)
    scheme_data["tier_caps"] = [{"name": "score", "when": "late_24m >= 6", "at_most": "C"}]
    assert "tier_caps[0].name: 'score' is a reserved word" in only_problem(scheme_data)


def test_a_tier_cap_name_is_located_in_the_yaml():
    text = SCHEME_WITH_CAP.replace("name: drunk", "name: late_24m")
    with pytest.raises(SchemeError) as caught:
        load_scheme_text(text, "s.yaml")
    (problem,) = caught.value.problems
    assert problem.render("s.yaml").startswith("s.yaml:11:")


SCHEME_WITH_CAP = """\
id: t
title: t
scale: {min: 0, max: 100, base: 50}
events: {late_payment: {category: financial}}
features:
  late_24m: {count: late_payment, window_days: 730}
tiers:
  - {name: A, min: 50}
  - {name: B, min: 0}
tier_caps:
  - {name: drunk, when: "late_24m >= 1", at_most: B}
"""


def test_reasons_also_must_name_components(scheme_data):
    scheme_data["reasons"] = {"count": 2, "also": ["payment_histry"]}
    assert "reasons.also[0]: unknown component 'payment_histry'" in only_problem(scheme_data)


def test_an_unscored_condition_or_a_list_of_them_gives_each_its_reason_code(scheme_data):
    scheme_data["unscored"] = {"when": "paid_24m < 1", "reason": "no_payments"}
    scheme = scheme_from_data(scheme_data)
    assert scheme.unscored_names == ("no_payments",)
    assert [e.source for e in scheme.rules.unscored] == ["paid_24m < 1"]
    scheme_data["unscored"] = [{"when": "paid_24m < 1", "reason": "no_payments"},
                               {"when": "late_24m + paid_24m < 3", "reason": "thin_file"}]
    assert scheme_from_data(scheme_data).unscored_names == ("no_payments", "thin_file")
    assert scheme_from_data(scheme_data).rules.tier_caps == ()


def test_an_unscored_condition_reads_features_only(scheme_data):
    for when, read in (("score < 300", "'score'"), ("tier <= 'C'", "'tier'"), ("blacklist", "'blacklist'"),
                       ("payment_history < 0", "'payment_history'"), ("not scored", "'scored'")):
        scheme_data["unscored"] = {"when": when, "reason": "thin"}
        problem = only_problem(scheme_data)
        assert f"unscored.when: an unscored condition reads features only, not {read}" in problem, problem
        assert "fix: write it over features" in problem
    scheme_data["unscored"] = [{"when": "paid_24m < 1", "reason": "thin"}, {"when": "paid_42m < 1", "reason": "old"}]
    problem = only_problem(scheme_data)
    assert "unscored[1].when: unknown name 'paid_42m'" in problem and "did you mean 'paid_24m'?" in problem


def test_an_unscored_reason_shares_the_namespace_and_follows_the_name_rules(scheme_data):
    scheme_data["unscored"] = [{"when": "paid_24m < 1", "reason": "late_24m"}]
    problem = only_problem(scheme_data)
    assert "unscored[0].reason: the name 'late_24m' is already used in features" in problem
    assert "share one namespace" in problem
    scheme_data["unscored"] = [{"when": "paid_24m < 1", "reason": "thin"}, {"when": "late_24m < 1", "reason": "thin"}]
    assert "unscored[1].reason: the name 'thin' is already used in unscored" in only_problem(scheme_data)
    scheme_data["unscored"] = {"when": "paid_24m < 1", "reason": "Thin file"}
    assert "unscored.reason: 'Thin file' is not a valid unscored reason name" in only_problem(scheme_data)
    for reserved in ("scored", "unscored_by"):
        scheme_data["unscored"] = {"when": "paid_24m < 1", "reason": reserved}
        assert f"unscored.reason: '{reserved}' is a reserved word" in only_problem(scheme_data)
    scheme_data["unscored"] = []
    assert "unscored: unscored is an empty list" in only_problem(scheme_data)
    scheme_data["unscored"] = [{"when": f"paid_24m < {k}", "reason": f"r{k}"} for k in range(17)]
    assert "unscored: at most 16 unscored conditions (got 17)" in only_problem(scheme_data)


def test_a_default_cap_name_steps_around_the_unscored_reasons(scheme_data):
    scheme_data["unscored"] = {"when": "paid_24m < 1", "reason": "cap_late_24m"}
    scheme_data["tier_caps"] = [{"when": "late_24m >= 6", "at_most": "C"}]
    assert scheme_from_data(scheme_data).tier_cap_names == ("cap_late_24m_2",)


def test_scored_is_a_condition_any_expression_may_read(scheme_data):
    scheme_data["entitlements"]["loan"]["allow"] = "scored and score >= 600"
    assert scheme_from_data(scheme_data).rules.entitlements["loan"].names == {"scored", "score"}
    scheme_data["features"]["scored"] = {"count": "payment"}
    assert "features.scored: 'scored' is a reserved word" in problems_of(scheme_data)[0]


def test_an_unscored_condition_is_located_in_the_yaml():
    text = SCHEME_WITH_CAP + "unscored:\n  - {when: \"late_24m >= 1\", reason: drunk}\n"
    with pytest.raises(SchemeError) as caught:
        load_scheme_text(text, "s.yaml")
    (problem,) = caught.value.problems
    assert problem.render("s.yaml").startswith("s.yaml:13:") and "unscored[0].reason" in problem.render("s.yaml")
    text = SCHEME_WITH_CAP + "unscored: {when: \"score < 1\", reason: thin}\n"
    with pytest.raises(SchemeError) as caught:
        load_scheme_text(text, "s.yaml")
    assert caught.value.problems[0].render("s.yaml").startswith("s.yaml:12:")


def test_the_json_schema_describes_unscored():
    from socialcredit.scheme import Scheme

    schema = json.loads(json.dumps(Scheme.model_json_schema()))
    assert set(schema["$defs"]["Unscored"]["required"]) == {"when", "reason"}
    assert "reason code" in schema["$defs"]["Unscored"]["properties"]["reason"]["description"]
    assert "unscored" in schema["properties"]
