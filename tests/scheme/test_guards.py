"""Real-person checks: what `score` and `serve` refuse (docs/design.md, "Three jobs, one scoring core")."""

from __future__ import annotations

from socialcredit.scheme import load_scheme, scheme_from_data
from socialcredit.scheme.guards import classify


def test_financial_scheme_deciding_financial_matters_is_allowed(scheme_data):
    verdict = classify(scheme_from_data(scheme_data))
    assert verdict.allowed, verdict.refusals
    assert verdict.summary() == "real-person use: allowed"


def test_lending_preset_is_allowed_and_example_is_refused():
    assert classify(load_scheme("lending")).allowed
    verdict = classify(load_scheme("example"))
    assert not verdict.allowed
    assert any("'board_flight'" in reason for reason in verdict.refusals)


def test_traffic_fine_blocking_a_loan_crosses_contexts(scheme_data):
    scheme_data["features"]["violations"] = {"count": "traffic_violation"}
    scheme_data["components"]["conduct"] = {"feature": "violations", "per_unit": -5}
    (reason,) = classify(scheme_from_data(scheme_data)).refusals
    # loan -> blacklist -> tier -> score -> conduct -> violations -> traffic_violation (conduct)
    assert reason == ("entitlement 'loan' (context financial) depends on events of another context: "
                      "traffic_violation (conduct)")


def test_uses_makes_a_named_category_lawful(scheme_data):
    scheme_data["features"]["violations"] = {"count": "traffic_violation"}
    scheme_data["components"]["conduct"] = {"feature": "violations", "per_unit": -5}
    scheme_data["entitlements"]["loan"]["uses"] = ["conduct"]
    assert classify(scheme_from_data(scheme_data)).allowed


def test_entitlement_reading_only_its_own_context_is_allowed_beside_others(scheme_data):
    scheme_data["features"]["violations"] = {"count": "traffic_violation"}
    scheme_data["lists"]["reckless"] = "violations >= 3"
    scheme_data["entitlements"]["drive"] = {"allow": "not reckless", "context": "conduct"}
    assert classify(scheme_from_data(scheme_data)).allowed


def test_special_category_read_by_a_component_is_refused(scheme_data):
    scheme_data["events"]["post"] = {"category": "expression"}
    scheme_data["features"]["posts"] = {"count": "post"}
    scheme_data["components"]["speech"] = {"feature": "posts", "per_unit": -1}
    reasons = classify(scheme_from_data(scheme_data)).refusals
    assert "component 'speech' reads special-category events: post (expression)" in reasons


def test_special_category_feature_that_nothing_reads_is_allowed(scheme_data):
    scheme_data["events"]["prayer"] = {"category": "religion"}
    scheme_data["features"]["prayers"] = {"count": "prayer"}
    assert classify(scheme_from_data(scheme_data)).allowed


def test_special_category_in_a_list_is_refused(scheme_data):
    scheme_data["events"]["protest"] = {"category": "political"}
    scheme_data["features"]["protests"] = {"count": "protest"}
    scheme_data["lists"]["watch"] = "protests > 0"
    reasons = classify(scheme_from_data(scheme_data)).refusals
    assert "list 'watch' reads special-category events: protest (political)" in reasons


def test_network_term_reads_relations_as_social_data(scheme_data):
    scheme_data["network"] = {"weight": 0.2}
    (reason,) = classify(scheme_from_data(scheme_data)).refusals
    assert "relations (social)" in reason
    scheme_data["entitlements"]["loan"]["uses"] = ["social"]
    assert classify(scheme_from_data(scheme_data)).allowed


def test_tier_cap_on_another_context_crosses_into_what_reads_the_tier(scheme_data):
    scheme_data["events"]["drunk_driving"] = {"category": "conduct"}
    scheme_data["features"]["drunk"] = {"count": "drunk_driving"}
    scheme_data["tier_caps"] = [{"when": "drunk > 0", "at_most": "C"}]
    (reason,) = classify(scheme_from_data(scheme_data)).refusals
    assert "entitlement 'loan'" in reason and "drunk_driving (conduct)" in reason


def test_tier_cap_reading_a_special_category_is_refused(scheme_data):
    scheme_data["events"]["protest"] = {"category": "political"}
    scheme_data["features"]["protests"] = {"count": "protest"}
    scheme_data["tier_caps"] = [{"when": "protests > 0", "at_most": "C"}]
    reasons = classify(scheme_from_data(scheme_data)).refusals
    assert any(r.startswith("tier cap 'cap_protests' ('protests > 0') reads special-category events") for r in reasons)


def test_an_unscored_condition_on_another_context_crosses_into_what_reads_scored_or_the_score(scheme_data):
    scheme_data["features"]["violations"] = {"count": "traffic_violation"}
    scheme_data["unscored"] = {"when": "violations >= 1", "reason": "driver"}
    scheme_data["entitlements"]["loan"]["allow"] = "scored"
    (reason,) = classify(scheme_from_data(scheme_data)).refusals
    assert reason == ("entitlement 'loan' (context financial) depends on events of another context: "
                      "traffic_violation (conduct)")
    # the score too: an unscored subject has none, so whoever reads it reads the condition
    scheme_data["entitlements"]["loan"]["allow"] = "score >= 900"
    assert len(classify(scheme_from_data(scheme_data)).refusals) == 1
    scheme_data["entitlements"]["loan"]["uses"] = ["conduct"]
    assert classify(scheme_from_data(scheme_data)).allowed


def test_an_unscored_condition_reading_a_special_category_is_refused(scheme_data):
    scheme_data["events"]["protest"] = {"category": "political"}
    scheme_data["features"]["protests"] = {"count": "protest"}
    scheme_data["unscored"] = {"when": "protests >= 1", "reason": "dissident"}
    scheme_data["entitlements"]["loan"]["uses"] = ["political"]
    refusals = classify(scheme_from_data(scheme_data)).refusals
    assert "unscored condition 'dissident' ('protests >= 1') reads special-category events: protest (political)" \
        in refusals
