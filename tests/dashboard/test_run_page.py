"""A run's page: the figures a reader explores, holding the run's own numbers."""

from __future__ import annotations

import json
import re

import pandas as pd


def figures_of(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="figures">(.*?)</script>', html, re.S)
    assert found, "the page carries its figures"
    return json.loads(found[1])


def titled(figures: dict, start: str) -> dict:
    matches = [f for f in figures.values() if f["layout"]["title"]["text"].startswith(start)]
    assert matches, f"no figure titled {start!r}: {[f['layout']['title']['text'] for f in figures.values()]}"
    return matches[0]


def test_the_run_page_plots_the_runs_daily_figures(client, runs_folder):
    page = client.get("/run/errors")
    assert page.status_code == 200
    assert '<script src="/plotly.min.js"></script>' in page.text and "cdn" not in page.text.lower()
    figures = figures_of(page.text)
    metrics = pd.read_parquet(runs_folder / "errors" / "metrics.parquet")
    scores = titled(figures, "Scores over time")
    mean = next(t for t in scores["data"] if t["name"] == "mean: all")
    assert mean["y"] == [float(v) for v in metrics["score_mean"]]
    assert {t["name"] for t in scores["data"]} >= {"mean: majority", "mean: minority"}  # groups toggle
    for title in ("Tier shares over time", "Lists and denials by group", "Wrongful harms by group", "Appeals",
                  "Final scores by district", "Listed and denied by district", "Network: isolation",
                  "Income over time", "Income change over the run", "Chilling"):
        assert titled(figures, title)["data"], title
    wrongly = titled(figures, "Wrongful harms by group")
    listed = next(t for t in wrongly["data"] if t["name"] == "wrongly listed blacklist: all")
    assert max(v for v in listed["y"] if v is not None) > 0  # this run lists people on false records
    districts = titled(figures, "Final scores by district")["data"]
    assert len(districts) == 20 and all(t["type"] == "box" for t in districts)


def test_a_several_scheme_run_shows_each_scheme(client):
    page = client.get("/run/three")
    assert page.status_code == 200
    for name, scheme in (("court", "shixin"), ("city", "rongcheng"), ("zhima", "zhima")):
        assert f"Scheme {name} ({scheme})" in page.text
        assert titled(figures_of(page.text), f"Scores over time ({name})")["data"][0]["y"]


def test_a_run_with_a_counterfactual_plots_its_differences(client, runs_folder, tmp_path):
    import shutil

    from socialcredit.dashboard.runview import run_view

    copy = tmp_path / "cf"
    shutil.copytree(runs_folder / "errors", copy)
    summary = json.loads((copy / "summary.json").read_text())
    summary["counterfactual"] = {"mechanism": "shunning", "seeds": [1, 2], "figures": [
        {"figure": "isolated_listed_share", "with": 0.2, "without": 0.0, "difference": 0.2, "low": 0.1, "high": 0.3}]}
    (copy / "summary.json").write_text(json.dumps(summary))
    view = run_view(copy)
    (effect,) = [f for s in view.sections for f in s.figures if "causes" in f["layout"]["title"]["text"]]
    assert effect["data"][0]["y"] == [0.2]
    assert effect["data"][0]["error_y"]["array"] == [0.09999999999999998]


def test_broken_run_folders_say_what_is_wrong(client):
    for path, said in (("/run/half", "missing metrics.parquet"), ("/run/garbled", "summary.json cannot be read"),
                       ("/run/nothing-here", "no folder &#39;nothing-here&#39;"),
                       ("/run/.hidden", "not a folder name")):
        page = client.get(path)
        assert page.status_code == 404, path
        assert said in page.text, path
