"""A kind's values: a scheme may say what an event of a kind can carry (days late, stars); a value
outside is refused wherever events come in, never scored (days late of -1e308 gave the top score)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.scenario.load import load_scenario
from socialcredit.scheme import SchemeError, load_scheme, preset_names

runner = CliRunner()


@pytest.mark.parametrize("value", ["-1e308", "-1", "1e9"])
def test_score_refuses_a_value_outside_the_kinds_range(tmp_path, value):
    path = tmp_path / "events.csv"
    path.write_text(f"subject,kind,time,value\nbob,late_payment,2024-01-06,{value}\nann,late_payment,2024-01-06,30\n")
    result = runner.invoke(app, ["score", str(path), "--scheme", "lending"])
    assert result.exit_code == 2
    assert "events.csv:2: column 'value'" in result.output
    assert "outside what a 'late_payment' may carry (from 0 to 3650)" in result.output


def test_serve_rejects_a_value_outside_the_kinds_range(tmp_path, closed_after):
    from socialcredit.service.core import Actor, Service
    from socialcredit.service.db import make_engine
    from socialcredit.service.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    upgrade(engine)
    service = closed_after(Service(engine, load_scheme("lending"), now=lambda: 20_000.0))
    answer = service.ingest([{"id": "a", "subject": "bob", "kind": "late_payment", "time": 19_990, "value": -1e308},
                             {"id": "b", "subject": "bob", "kind": "late_payment", "time": 19_990, "value": 30}],
                            Actor("test", "operator"))
    assert answer["stored"] == 1
    assert answer["rejected"] == [{"index": 0, "field": "value",
                                   "problem": "-1e+308 is outside what a 'late_payment' may carry (from 0 to 3650)"}]


def test_a_range_that_is_not_one_is_refused_with_its_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("id: s\ntitle: t\nscale: {min: 0, max: 10, base: 5}\nevents:\n"
                    "  rating: {category: peer, value: [5, 1]}\nfeatures: {}\ncomponents: {}\n")
    with pytest.raises(SchemeError, match=r"s.yaml:5:\d+: events.rating.*not a range"):
        load_scheme(str(path))


def test_a_scenario_cannot_draw_values_the_scheme_refuses():
    with pytest.raises(SchemeError, match=r"--set behaviours.rating.value=\[0, 9\]: \[0, 9\] reaches outside what "
                                          r"the scheme lets a 'rating' carry \(from 1 to 5\)"):
        load_scenario("default", {"behaviours.rating.value": [0, 9]})


def test_the_shipped_example_log_is_within_every_range():
    examples = Path(__file__).parents[2] / "examples" / "events.csv"
    assert runner.invoke(app, ["score", str(examples), "--scheme", "lending"]).exit_code == 0


@pytest.mark.parametrize(("time", "said"), [("9999-12-31", "in the future"), ("1850-01-01", "before 1900"),
                                             (1e300, "in the future")])
def test_serve_rejects_a_time_no_record_can_have(tmp_path, time, said, closed_after):
    from socialcredit.service.core import Actor, Service
    from socialcredit.service.db import make_engine
    from socialcredit.service.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    upgrade(engine)
    service = closed_after(Service(engine, load_scheme("lending"), now=lambda: 20_000.0))
    answer = service.ingest([{"id": "a", "subject": "bob", "kind": "payment", "time": time}], Actor("t", "operator"))
    assert answer["stored"] == 0
    assert answer["rejected"][0]["field"] == "time" and said in answer["rejected"][0]["problem"]


def test_a_range_past_what_any_value_may_be_is_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("id: s\ntitle: t\nscale: {min: 0, max: 10, base: 5}\nevents:\n"
                    "  donation: {category: civic, value: [0, 1e300]}\nfeatures: {}\ncomponents: {}\n")
    with pytest.raises(SchemeError, match=r"events.donation.*from -1e\+15 to 1e\+15"):
        load_scheme(str(path))


def test_a_kind_without_a_range_carries_at_most_1e15_either_way(tmp_path):
    # 1e300 twice summed to infinity: a feature, points and score that no JSON answer can hold
    path = tmp_path / "events.csv"
    path.write_text("subject,kind,time,value\nbob,payment,2024-01-06,1e300\nann,payment,2024-01-06,1e15\n")
    result = runner.invoke(app, ["score", str(path), "--scheme", "lending"])
    assert result.exit_code == 2
    assert "events.csv:2: column 'value': 1e+300 is outside what a 'payment' may carry (from -1e+15 to 1e+15)" in (
        result.output)
    assert "events.csv:3" not in result.output


@pytest.mark.parametrize("name", preset_names())
def test_every_shipped_kind_whose_value_is_scored_says_what_values_it_carries(name):
    # a late_payment of -100000 days lifted a defaulter to the top score; hours, gifts and balances
    # (Rongcheng, the national scheme, Zhima) still took any value
    scheme = load_scheme(name)
    valued = {getattr(feature, kind) for feature in scheme.features.values() for kind in ("sum", "mean")
              if getattr(feature, kind) is not None}
    assert [kind for kind in sorted(valued) if scheme.events[kind].value is None] == []
