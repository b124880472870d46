"""Each validation check passes on the model as it is and fails when what it checks is broken."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.scheme.loader import scheme_from_data
from socialcredit.validation import CHECKS, Size, agreement, facts, mechanisms

TINY = Size(population=3000, days=120, seeds=3)


def preset_scheme(name: str, edit) -> object:
    """A shipped scheme with one of its documented numbers changed."""
    data = yaml.safe_load((resources.files("socialcredit.presets") / f"{name}.yaml").read_text(encoding="utf-8"))
    edit(data)
    return scheme_from_data(data)


def test_every_check_states_its_claim_source_and_measure():
    assert len({check.id for check in CHECKS}) == len(CHECKS)
    for check in CHECKS:
        assert check.claim and check.source and check.measures, check.id


@pytest.mark.parametrize(("check", "scheme", "edit", "failing"), [
    (facts.rongcheng_rules, "rongcheng", lambda d: d["components"]["traffic"].update(per_unit=-10),
     "a traffic ticket: 995"),
    (facts.fico_rules, "fico", lambda d: d.update(reasons=6), "four key factors"),
    (facts.zhima_rules, "zhima", lambda d: d["scale"].update(max=1000), "scale 350-950"),
])
def test_a_documented_rule_check_passes_and_fails_when_the_rule_is_changed(check, scheme, edit, failing):
    assert check(TINY).passed
    outcome = check(TINY, scheme=preset_scheme(scheme, edit))
    assert not outcome.passed
    assert failing in outcome.note


def test_the_court_list_check_fails_when_the_model_lists_nobody():
    outcome = facts.shixin_share(TINY, {"behaviours.judgment_default.rate": 0.0, "behaviours.aggravated_default.rate":
                                        0.0}, people=2000)
    assert not outcome.passed
    assert outcome.value == 0.0
    assert "on the list 0.00%" in outcome.measured and "not met: on the list, placed on it" in outcome.note


@pytest.mark.slow
def test_the_court_list_check_fails_when_the_stock_is_tuned_to_the_cumulative_count():
    # The preset's former rates put 1.26% ON the list in July 2019: the published count of those
    # ever PLACED on it. The check reads the stock as a stock, and fails them.
    outcome = facts.shixin_share(TINY, {"behaviours.judgment_default.rate": 0.0000285,
                                        "behaviours.aggravated_default.rate": 0.0000019,
                                        "behaviours.judgment_paid.rate": 0.0001}, people=20_000)
    assert not outcome.passed
    assert outcome.value is not None and outcome.value > facts.SHIXIN_STOCK_SHARE + 2 * facts.SHIXIN_STOCK_SD
    assert "on the list" in outcome.note


@pytest.mark.slow
@pytest.mark.parametrize("check", [mechanisms.deterrence_daily, mechanisms.deterrence_monthly])
def test_deterrence_checks_pass_and_fail_when_people_no_longer_weigh_the_stakes(check, monkeypatch):
    from socialcredit.world.behaviour import Behaviour

    assert check(TINY).passed
    monkeypatch.setattr(Behaviour, "assess_stakes", lambda self, sim: None)
    assert not check(TINY).passed


@pytest.mark.slow
def test_the_shunning_check_passes_and_fails_when_nobody_cuts_a_tie(monkeypatch):
    from socialcredit.world.social import SocialResponse

    assert mechanisms.shunning_isolates(TINY).passed
    monkeypatch.setattr(SocialResponse, "step", lambda self, sim, day: None)
    assert not mechanisms.shunning_isolates(TINY).passed


@pytest.mark.slow
def test_the_sanctions_check_passes_and_fails_when_a_denial_no_longer_touches_income(monkeypatch):
    from socialcredit.world.income import Income

    assert mechanisms.sanctions_lower_income(TINY).passed
    original = Income.__init__

    def harmless(self, sim):
        original(self, sim)
        self.if_denied = np.zeros_like(self.if_denied)

    monkeypatch.setattr(Income, "__init__", harmless)
    assert not mechanisms.sanctions_lower_income(TINY).passed


@pytest.mark.slow
def test_the_agreement_check_passes_and_fails_when_score_reads_another_day(monkeypatch):
    import socialcredit.scorejob as scorejob

    assert agreement.simulate_and_score_agree(TINY).passed
    original = scorejob.run_score
    monkeypatch.setattr(scorejob, "run_score", lambda events, scheme, as_of=None, **kw:
                        original(events, scheme, as_of=as_of - 30, **kw))
    outcome = agreement.simulate_and_score_agree(TINY)
    assert not outcome.passed
    assert "score" in outcome.note


@pytest.mark.slow
def test_the_determinism_check_fails_when_the_two_runs_differ():
    assert not agreement.same_results_whatever_the_threads(TINY, seeds=(1, 2)).passed


def test_validate_writes_its_table_and_exits_1_when_a_check_fails(tmp_path, monkeypatch):
    result = CliRunner().invoke(app, ["validate", "--quick", "--only", "rongcheng_rules", "--only", "fico_rules",
                                      "--out", str(tmp_path / "v")])
    assert result.exit_code == 0, result.output
    csv_text = (tmp_path / "v" / "validation.csv").read_text()
    assert csv_text.splitlines()[0].startswith("check,claim,source,measures,measured,expected,passed")
    assert csv_text.count(",pass,") == 2
    assert "2 of 2 checks pass" in (tmp_path / "v" / "validation.html").read_text()

    monkeypatch.setattr(facts, "load_scheme", lambda name: preset_scheme(name, lambda d: d.update(reasons=6)))
    result = CliRunner().invoke(app, ["validate", "--quick", "--only", "fico_rules", "--out", str(tmp_path / "w")])
    assert result.exit_code == 1
    assert "failing: fico_rules" in result.output
    assert ",fail," in (tmp_path / "w" / "validation.csv").read_text()


def test_an_unknown_check_is_refused_with_the_list():
    result = CliRunner().invoke(app, ["validate", "--only", "gravity"])
    assert result.exit_code == 2
    assert "unknown check gravity" in result.output and "rongcheng_rules" in result.output


@pytest.mark.slow
def test_the_misidentification_check_passes_and_fails_when_blame_ignores_who_was_searched(monkeypatch):
    from socialcredit.world.surveillance import ANYONE, Surveillance

    assert mechanisms.misidentification_by_group(TINY).passed
    # blame anyone of the district, whatever the searched face's group: the model no longer does what it says
    monkeypatch.setattr(Surveillance, "_false_candidates", lambda self, people, same_share, draws, source, acts:
                        self._someone_else(draws.actor[acts], draws(ANYONE, source, acts),
                                           people.district[draws.actor[acts]]))
    outcome = mechanisms.misidentification_by_group(TINY)
    assert not outcome.passed
    assert "blamed" in outcome.measured


def test_the_misidentification_check_fails_when_the_profiles_factor_is_applied_twice(monkeypatch):
    from socialcredit.world.surveillance import Surveillance

    original = Surveillance.__init__

    def squared(self, sim):
        original(self, sim)
        self.probe_factor = [None if f is None else f * f for f in self.probe_factor]  # 3x becomes 9x

    monkeypatch.setattr(Surveillance, "__init__", squared)
    assert not mechanisms.misidentification_by_group(TINY).passed


@pytest.mark.slow
def test_the_serve_agreement_check_passes_and_fails_when_a_record_is_off_by_a_hair(monkeypatch):
    from socialcredit.service.core import Service

    assert agreement.simulate_and_serve_agree(TINY, sample=50).passed
    original = Service.record_unlogged

    def nudged(self, subject):
        record = original(self, subject)
        return {**record, "score": record["score"] + 1e-9 if record["score"] is not None else 0.0}

    monkeypatch.setattr(Service, "record_unlogged", nudged)
    outcome = agreement.simulate_and_serve_agree(TINY, sample=50)
    assert not outcome.passed
    assert "score (50)" in outcome.note


ONE_SEED = Size(population=3000, days=120, seeds=1)


def _held_out(profile, false_match_rate: float):
    """The profile with its rate given rather than fitted, so that its deployment is held out and
    predicted."""
    assert profile.calibration is not None
    return profile.model_copy(update={"false_match_rate": false_match_rate, "false_match_rate_watchlist":
                                      profile.calibration.watchlist, "calibration": None,
                                      "additional_deployments": [profile.calibration]})


def test_the_watchlist_check_predicts_a_held_out_deployment_and_fails_with_a_wrong_rate(monkeypatch):
    from socialcredit.scenario import identification

    original = identification.load_profile
    for rate, passes in ((3.2e-6, True), (3.2e-5, False), (3.2e-7, False)):  # the Met's own rate; x10; /10
        profile = _held_out(original("met_2025"), rate)
        monkeypatch.setattr(identification, "load_profile", lambda name, p=profile: p if name == "met_2025"
                            else original(name))
        outcome = facts.watchlist_deployments(ONE_SEED, profiles=("met_2025",))
        assert outcome.passed is passes, outcome.note
        assert outcome.measured == f"{int(passes)} of 1 held-out deployments predicted"


def test_a_deployment_the_rate_was_fitted_on_counts_for_nothing():
    outcome = facts.watchlist_deployments(ONE_SEED, profiles=("met_2025",))
    assert not outcome.passed
    assert outcome.measured == "0 of 0 held-out deployments predicted"
    assert "fitted on it: not counted" in outcome.note and "nothing predicted" in outcome.note


def test_the_shipped_profiles_predict_the_met_2022_deployment_held_out():
    # what the README says: the rate fitted on the Met's 16 Jul 2022 deployment (1 false alert in
    # 36,420 faces) predicts 28 Jan 2022's share (1 of 11 false); nothing else shares a calibration's
    # setting with all its inputs published, so South Wales 2017 and the Met 2024-25 predict nothing
    outcome = facts.watchlist_deployments(ONE_SEED)
    assert outcome.passed, outcome.note
    assert outcome.measured == "1 of 1 held-out deployments predicted"
    assert "met_2022 / Metropolitan Police LFR, Oxford Circus, 28 Jan 2022: simulated" in outcome.note
    assert "(held out: predicted)" in outcome.note
    assert "uk_trials_2018: no deployment held out" in outcome.note
    assert "met_2025: no deployment held out" in outcome.note
    assert "Metropolitan Police LFR trials" not in outcome.note  # faces derived from the Met's own rate


@pytest.mark.parametrize(("rate", "watchlist", "passes"), [
    (1 / 36420, 6747, True),         # met_2022's own fit (16 Jul 2022)
    (10 / 36420, 6747, False),       # ten times it: about 44% false, above the interval's 37.7%
    (0.1 / 36420, 6747, False),      # a tenth of it: under 1%, below the interval's 1.6%
    (3.18e-6, 16000, False),         # met_2025's rate (threshold 0.64): 20x lower at these watchlists
])
def test_the_met_2022_held_out_deployment_is_not_predicted_with_a_wrong_rate(monkeypatch, rate, watchlist, passes):
    from socialcredit.scenario import identification

    original = identification.load_profile
    profile = original("met_2022").model_copy(update={"false_match_rate": rate, "calibration": None,
                                                      "false_match_rate_watchlist": watchlist})
    held_out = [deployment.deployment for deployment, _ in profile.deployments()]
    assert held_out == ["Metropolitan Police LFR, Oxford Circus, 28 Jan 2022"]
    monkeypatch.setattr(identification, "load_profile", lambda name: profile if name == "met_2022" else original(name))
    outcome = facts.watchlist_deployments(ONE_SEED, profiles=("met_2022",))
    assert outcome.passed is passes, outcome.note
    assert outcome.measured == f"{int(passes)} of 1 held-out deployments predicted"
    if not passes:
        assert "NOT predicted" in outcome.note


@pytest.mark.parametrize(("edit", "failing"), [
    (lambda d: d.update(reasons={"count": 1, "also": ["inquiries"]}), "four key factors"),
    (lambda d: d["features"]["late_7y"].update(window_days=30), "still costs points"),  # the limit cut to a month
])
def test_the_fico_check_fails_when_reasons_are_too_few_or_late_payments_cost_nothing(edit, failing):
    outcome = facts.fico_rules(TINY, scheme=preset_scheme("fico", edit))
    assert not outcome.passed
    assert failing in outcome.note


def test_the_zhima_check_fails_when_the_deposit_waiver_opens_elsewhere():
    def at_650(data):
        data["entitlements"]["hotel_no_deposit"]["allow"] = data["entitlements"]["hotel_no_deposit"]["allow"].replace(
            "600", "650")

    outcome = facts.zhima_rules(TINY, scheme=preset_scheme("zhima", at_650))
    assert not outcome.passed and "hotel deposit" in outcome.note


def test_the_sanctions_check_fails_when_a_denial_costs_twice_what_the_scenario_says(monkeypatch):
    from socialcredit.world.income import Income

    original = Income.__init__

    def doubled(self, sim):
        original(self, sim)
        self.if_denied = 2 * self.if_denied

    monkeypatch.setattr(Income, "__init__", doubled)
    outcome = mechanisms.sanctions_lower_income(TINY)
    assert not outcome.passed
    assert outcome.value is not None and outcome.value < 0, "the direction holds: the size gives it away"


def test_a_check_that_cannot_run_is_a_failed_row_and_the_others_still_run(tmp_path, monkeypatch):
    from socialcredit.validation import registry

    def broken(size):
        raise RuntimeError("no data")

    checks = tuple(c if c.id != "fico_rules" else registry.Check(c.id, c.claim, c.source, c.measures, broken)
                   for c in registry.CHECKS)
    monkeypatch.setattr(registry, "CHECKS", checks)
    result = CliRunner().invoke(app, ["validate", "--quick", "--only", "fico_rules", "--only", "rongcheng_rules",
                                      "--out", str(tmp_path / "v")])
    assert result.exit_code == 1
    text = (tmp_path / "v" / "validation.csv").read_text()
    assert "RuntimeError: no data" in text and text.count(",pass,") == 1
    again = CliRunner().invoke(app, ["validate", "--quick", "--only", "rongcheng_rules", "--out", str(tmp_path / "v")])
    assert again.exit_code == 2 and "already holds files" in again.output
