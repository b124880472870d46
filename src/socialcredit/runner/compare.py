"""Experiments: run variants of scenarios over several seeds, as Dask tasks, and compare them.

Every variant runs with the same seeds, so that differences between variants are caused by what
was varied, not by luck (counterfactual pairs share their random streams). Runs are Dask tasks:
a local cluster on this machine's cores by default, or an existing cluster given by address, so a
study outgrows one machine without a code change. The results are the same either way.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..analysis.intervals import figure_kind, interval
from ..scenario.load import ScenarioScheme, Schemes, apply_overrides, load_scenario, scenario_from_data
from ..scenario.models import Scenario
from ..scheme.loader import scheme_from_data
from ..sim.state import check_continuation, saved_scenario
from ..undefined import WHY_NULL
from .enrolment_report import enrolment_figures
from .gaming_report import gaming_figures
from .run import run_scenario


@dataclass(frozen=True)
class Variant:
    """One scenario with one combination of the settings given."""

    scenario: str                 # as given on the command line
    settings: tuple[tuple[str, Any], ...]
    label: str                    # the scenario (if several) and the settings that vary
    from_state: str | None = None  # a state file (simulate --save-state-at): the run continues from it


def variants(scenarios: Sequence[str], sets: dict[str, list[Any]], from_state: str | None = None) -> list[Variant]:
    """Every scenario with every combination of the values given to --set; with `from_state`, the
    state file's scenario (`scenarios` then names it), each variant forked from the saved day."""
    keys = list(sets)
    combinations = list(itertools.product(*(sets[k] for k in keys))) if keys else [()]
    varying = [k for k in keys if len(sets[k]) > 1]
    chosen = []
    for scenario in scenarios:
        for combo in combinations:
            settings = tuple(zip(keys, combo, strict=True))
            parts = [scenario] if len(scenarios) > 1 or not varying else []
            parts += [f"{key.rsplit('.', 1)[-1]}={value}" for key, value in settings if key in varying]
            chosen.append(Variant(scenario, settings, " ".join(parts), from_state))
    return chosen


def headline_figures(summary: dict[str, Any]) -> dict[str, float]:
    """The figures an experiment compares, flattened to `section.name[.group]` -> number. With
    several schemes, a scheme's figures carry its name after their section's
    (`score_mean.court`, `listed.court.blacklist`, `wrongly_listed.court.count`), and the combined
    ones are `listed_by_any[.group]` and `sanctioned_by_any[.group]`, with the share a scheme denied
    because of another's list, `denied_through_imports.<scheme>[.group]`, and the records (and false
    ones) each source sent each scheme, `records.<source>.<scheme>`, `false_records.<source>.<scheme>`."""
    figures: dict[str, float] = {}
    several = "schemes" in summary
    sections = list(summary["schemes"].items()) if several else [("", summary)]

    def naming(name: str) -> Callable[..., str]:
        def named(first: str, rest: str = "") -> str:
            return ".".join(part for part in (first, name, rest) if part)
        return named

    for name, section in sections:
        named = naming(name)
        figures[named("score_mean")] = section["score"]["mean"]
        for group, value in section["score"]["by_group"].items():
            figures[named("score_mean", group)] = value
        for list_name, listed in section["lists"].items():
            figures[named("listed", list_name)] = listed["share"]
            figures.update({named("listed", f"{list_name}.{g}"): v for g, v in listed["by_group"].items()})
        for entitlement, denied in section["entitlements_denied"].items():
            figures[named("denied", entitlement)] = denied["share"]
            figures.update({named("denied", f"{entitlement}.{g}"): v for g, v in denied["by_group"].items()})
        harms = section["harms"]  # (with one scheme, the run's harms: falsely stopped too)
        for key in ("wrongly_listed", "wrongly_sanctioned", "wrongly_left_off_honours", "falsely_stopped"):
            if key in harms:
                figures[named(key)] = harms[key]["rate"]
                figures.update({named(key, g): v for g, v in harms[key]["by_group"].items()})
                figures[named(key, "count")] = harms[key]["count"]
        if "false_sanction_person_days" in harms:
            figures[named("false_sanction_person_days")] = float(sum(harms["false_sanction_person_days"].values()))
        for disparity, figure in harms["disparities"].items():
            figures[named("disparate_impact", disparity)] = figure["disparate_impact"]
    for key, figure in summary.get("combined", {}).items():
        if key == "joint_punishment":  # per importing scheme: the share denied because of another's list
            for name, reach in figure.items():
                figures[f"denied_through_imports.{name}"] = reach["share"]
                figures.update({f"denied_through_imports.{name}.{g}": v["share"] for g, v in reach["by_group"].items()})
            continue
        if key == "record_flows":  # what sharing moves: records, and false ones, by source and scheme
            for source, reached in figure.items():
                for name in summary["schemes"]:  # 0 where none reach it: a variant that shares less says so
                    flow = reached.get(name, {"records": 0, "false_records": 0})
                    figures[f"records.{source}.{name}"] = float(flow["records"])
                    figures[f"false_records.{source}.{name}"] = float(flow["false_records"])
            continue
        figures[key] = figure["share"]
        figures.update({f"{key}.{g}": v for g, v in figure["by_group"].items()})
    if several:  # a scheme that imports no list denies no one because of another's: 0, to compare with one that does
        groups = list(summary["combined"]["listed_by_any"]["by_group"])
        for name in summary["schemes"]:
            if f"denied_through_imports.{name}" not in figures:
                figures[f"denied_through_imports.{name}"] = 0.0
                figures.update({f"denied_through_imports.{name}.{g}": 0.0 for g in groups})
    harms = summary["harms"]
    for key in ("wrongly_listed_any", "wrongly_sanctioned_any", "falsely_stopped") if several else ():
        if key in harms:
            figures[key] = harms[key]["rate"]
            figures.update({f"{key}.{g}": v for g, v in harms[key]["by_group"].items()})
            figures[f"{key}.count"] = harms[key]["count"]
    for kind, figure in harms.get("chilling", {}).items():
        figures[f"chilling.{kind}"] = figure["suppressed_share"]
    for kind, figure in harms.get("encouraged", {}).items():
        figures[f"encouraged.{kind}"] = figure["increase_share"]
    for name, section in sections:
        if "appeals" in section["harms"]:
            figures[naming(name)("appeal_backlog")] = float(section["harms"]["appeals"]["backlog_end"])
    figures["false_records"] = float(harms["false_records"]["count"])
    for source, watch in harms.get("watchlist", {}).items():
        figures[f"false_alerts.{source}"] = float(watch["false_alerts"])
        figures[f"false_alert_share.{source}"] = watch["false_alert_share"]
    feedback = summary["feedback"]
    if feedback["income_log_growth_sanctioned"] is not None and feedback["income_log_growth_others"] is not None:
        figures["income_gap_sanctioned"] = feedback["income_log_growth_others"] - feedback[
            "income_log_growth_sanctioned"]
    figures["isolated_listed_share"] = summary["network"]["isolated_listed_share_final"]
    figures.update(gaming_figures(summary))
    figures.update(enrolment_figures(summary))
    for name, display in summary.get("display", {}).items():  # lists with a removal fee (world/display.py)
        figures.update(display_figures(name, display))
    return {k: float(v) for k, v in figures.items() if v is not None and math.isfinite(float(v))}


def display_figures(name: str, display: dict[str, Any]) -> dict[str, Any]:
    """A display's headline figures (`days_shown.<list>[.q1..q5]`, `paid_share.<list>[.q1..q5]`,
    `fees_collected.<list>`, `still_shown.<list>[.q1..q5]`, `still_shown_poorest_to_richest.<list>`,
    `days_shown_per_person.<list>[.<group>]`); nulls are left for the caller to drop."""
    figures: dict[str, Any] = {f"days_shown.{name}": display["person_days_shown"],
                               f"paid_share.{name}": display["paid_share"],
                               f"fees_collected.{name}": display["fees_collected"]}
    quintiles = (("days_shown", display["person_days_shown_by_income_quintile"]),
                 ("paid_share", display["paid_share_by_income_quintile"]),
                 ("still_shown", display["still_shown_at_end"]["by_income_quintile"]))
    for key, values in quintiles:
        figures.update({f"{key}.{name}.{q}": v for q, v in values.items() if q != WHY_NULL})
    end = display["still_shown_at_end"]
    figures[f"still_shown.{name}"] = end["share"]
    figures[f"still_shown_poorest_to_richest.{name}"] = end["poorest_to_richest"]
    per_person = display["days_shown_per_person_shown"]
    figures[f"days_shown_per_person.{name}"] = per_person["mean"]
    figures.update({f"days_shown_per_person.{name}.{g}": v for g, v in per_person["by_group"].items()})
    return figures


def resolve(variant: Variant) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The variant's scenario and schemes as plain data, so a worker anywhere can rebuild them."""
    if variant.from_state is not None:  # the saved run's scenario with the variant's settings
        path = Path(variant.from_state)
        saved, day = saved_scenario(path)
        settings = dict(variant.settings)
        scenario, schemes = scenario_from_data(apply_overrides(saved, settings) if settings else saved,
                                               f"state:{path}")
        check_continuation({"day": day, "scenario": saved}, scenario, path)
    else:
        scenario, schemes = load_scenario(variant.scenario, dict(variant.settings))
    schemes_data = [{"name": entry.name, "operator": entry.operator, "receives": entry.receives,
                     "prefix": entry.prefix, "terms": entry.terms, "lists_from": entry.lists_from,
                     "scheme": entry.scheme.model_dump(mode="json", exclude_none=True)}
                    for entry in schemes]
    scenario_data = scenario.model_dump(mode="json")
    return scenario_data, schemes_data


def run_one(scenario_data: dict[str, Any], schemes_data: list[dict[str, Any]], seed: int,
            from_state: str | None = None) -> dict[str, float]:
    """One run (a Dask task): rebuild the models, simulate with this seed (continuing the run saved in
    `from_state`, where given), return headline figures."""
    state = Path(from_state) if from_state is not None else None
    return headline_figures(run_scenario(*rebuild(scenario_data, schemes_data, seed), from_state=state).summary)


def rebuild(scenario_data: dict[str, Any], schemes_data: list[dict[str, Any]], seed: int) -> tuple[Scenario, Schemes]:
    """The models again from `resolve`'s plain data, on whichever worker runs them, with this seed."""
    schemes = Schemes(ScenarioScheme(**{**data, "scheme": scheme_from_data(data["scheme"], "experiment"),
                                        # tuples again, should the data have travelled as lists
                                        "terms": tuple(tuple(t) for t in data.get("terms", ())),
                                        "lists_from": tuple(tuple(w) for w in data.get("lists_from", ()))})
                      for data in schemes_data)
    return Scenario.model_validate({**scenario_data, "run": {**scenario_data["run"], "seed": seed}}), schemes


def run_experiment(chosen: Sequence[Variant], seeds: Sequence[int], client: Any = None,
                   on_done: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per (variant, seed) with every headline figure. With a Dask client the runs are its
    tasks; without one they run here, one after another (the results are identical)."""
    resolved = [resolve(v) for v in chosen]
    jobs = [(index, seed) for index in range(len(chosen)) for seed in seeds]
    results: dict[tuple[int, int], dict[str, float]] = {}
    if client is None:
        for done, (index, seed) in enumerate(jobs, 1):
            results[(index, seed)] = run_one(*resolved[index], seed, chosen[index].from_state)
            if on_done:
                on_done(done, len(jobs))
    else:
        from dask.distributed import as_completed

        futures = {client.submit(run_one, *resolved[index], seed, chosen[index].from_state, pure=False): (index, seed)
                   for index, seed in jobs}
        for done, future in enumerate(as_completed(futures), 1):
            results[futures[future]] = future.result()
            if on_done:
                on_done(done, len(jobs))
    rows = [{"variant": chosen[index].label, "scenario": chosen[index].scenario,
             **{key: value for key, value in chosen[index].settings}, "seed": seed, **results[(index, seed)]}
            for index, seed in jobs]
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Per variant and figure: the figure's kind, the mean over seeds and a 95% interval that stays in
    the kind's range (see intervals.py), the number of seeds it is over (those for which the figure
    is defined), how the interval was made, and a note where a reader should take care."""
    columns = list(results.columns)
    # run_experiment's columns: the variant, its scenario and settings, the seed, then the figures
    figures = [c for c in columns[columns.index("seed") + 1:] if pd.api.types.is_float_dtype(results[c])]
    kinds = {figure: figure_kind(figure) for figure in figures}
    rows = []
    for variant, group in results.groupby("variant", sort=False):
        for figure in figures:
            values = group[figure].dropna().to_numpy()
            if not values.size:
                continue
            found = interval(values, kinds[figure])
            undefined = f"undefined for {len(group) - values.size} of {len(group)} seeds" \
                if values.size < len(group) else ""
            rows.append({"variant": variant, "figure": figure, "kind": kinds[figure].name, "mean": found.mean,
                         "low": found.low, "high": found.high, "seeds": int(values.size),
                         "interval_method": found.method, "note": "; ".join(filter(None, (undefined, found.note)))})
    return pd.DataFrame(rows, columns=["variant", "figure", "kind", "mean", "low", "high", "seeds",
                                       "interval_method", "note"])
