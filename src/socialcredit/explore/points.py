"""Running points of a parameter space: each point is a variant of one scenario (its parameters set
as `--set` would set them), run at the same seeds as every other point, as the Dask tasks of
runner/compare.py. A run gives back only the figures asked for, so that thousands of runs move
numbers, not tables."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..runner.compare import Variant, headline_figures, rebuild, resolve
from ..runner.run import run_scenario
from .params import ExploreError


@dataclass(frozen=True)
class Figure:
    """A figure of a run: a metrics column (on a reported day, the last by default), a key of
    summary.json (dotted), or a headline figure of `compare`."""

    key: str
    day: int | None = None

    @property
    def label(self) -> str:
        return self.key if self.day is None else f"{self.key}@{self.day}"


def parse_figure(text: str) -> Figure:
    """`KEY` or `KEY@DAY` (a metric on a reported day, counted from 0)."""
    key, at, day = text.partition("@")
    if not key.strip() or (at and not day.strip().isdigit()):
        raise ExploreError(f"--output {text!r}: expected KEY or KEY@DAY, e.g. --output listed.dishonest_debtor "
                           "(a metrics column or a key of summary.json) or listed.dishonest_debtor@30")
    return Figure(key.strip(), int(day) if at else None)


_MISSING = object()  # a key summary.json does not have (a null figure is there, undefined in that run)


def _summary_value(summary: dict[str, Any], key: str) -> Any:
    node: Any = summary
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def figures_of(run: Any, figures: Sequence[Figure]) -> tuple[dict[str, float], list[str]]:
    """The figures' values (NaN where undefined in this run), and the keys that name nothing."""
    metrics: pd.DataFrame = run.metrics
    values: dict[str, float] = {}
    unknown: list[str] = []
    headline: dict[str, float] | None = None
    for figure in figures:
        if figure.key in metrics.columns:
            column = metrics[figure.key]
            if figure.day is None:
                defined = column.dropna()
                values[figure.label] = float(defined.iloc[-1]) if len(defined) else math.nan
            else:
                at = column[metrics["day"] == figure.day]
                values[figure.label] = float(at.iloc[0]) if len(at) else math.nan
            continue
        value = _summary_value(run.summary, figure.key)
        if value is _MISSING:
            headline = headline if headline is not None else headline_figures(run.summary)
            value = headline.get(figure.key, _MISSING)
        if isinstance(value, dict) and isinstance(value.get("share"), int | float):
            value = value["share"]  # `lists.dishonest_debtor` means its share
        if value is None:  # a figure this run cannot give (null in summary.json, with why)
            values[figure.label] = math.nan
        elif isinstance(value, bool) or not isinstance(value, int | float):
            unknown.append(figure.key)
            values[figure.label] = math.nan
        else:
            values[figure.label] = float(value)
    return values, unknown


def known_keys(run: Any) -> list[str]:
    """Every key a figure can name in this run (for suggestions)."""
    keys = list(run.metrics.columns)

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                walk(value, f"{prefix}{name}.")
        elif isinstance(node, int | float) and not isinstance(node, bool):
            keys.append(prefix[:-1])

    walk(run.summary, "")
    return keys + list(headline_figures(run.summary))


def run_point(scenario_data: dict[str, Any], schemes_data: list[dict[str, Any]], seed: int,
              figures: Sequence[Figure]) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """One run (a Dask task): its figures, and the keys that name nothing, each with those that do."""
    run = run_scenario(*rebuild(scenario_data, schemes_data, seed))
    values, unknown = figures_of(run, figures)
    if unknown:
        keys = known_keys(run)
        return values, [(key, _suggestion(key, keys)) for key in unknown]
    return values, []


def _suggestion(key: str, keys: list[str]) -> str:
    """Close keys of this run, else some that begin as `key` does, else where to find them."""
    close = difflib.get_close_matches(key, keys, 3, 0.5)
    if not close:
        head = key.split(".")[0]
        close = [k for k in dict.fromkeys(keys) if k.split(".")[0] == head][:3]
    if close:
        return "did you mean " + ", ".join(close) + "?"
    return "no figure of this run is close: a run's metrics.parquet columns and summary.json keys say what there is"


def run_points(scenario: str, fixed: dict[str, Any], points: Sequence[dict[str, float]], seeds: Sequence[int],
               figures: Sequence[Figure], client: Any = None,
               on_done: Callable[[int, int], None] | None = None,
               named_by: dict[str, str] | None = None) -> list[list[dict[str, float]]]:
    """Each point's figures at each seed ([point][seed] -> {label: value}). With a Dask client the
    runs are its tasks, else they run here, one after another (the results are identical). The
    first run goes alone: a figure it does not have is refused before any other starts, named as the
    user named it (`named_by`: figure key -> how it was named, `--output KEY` by default)."""
    resolved = [resolve(Variant(scenario, tuple({**fixed, **point}.items()), "")) for point in points]
    jobs = [(index, s) for index in range(len(points)) for s in range(len(seeds))]
    results: dict[tuple[int, int], dict[str, float]] = {}
    named = named_by or {}

    def take(job: tuple[int, int], answer: tuple[dict[str, float], list[tuple[str, str]]], done: int) -> None:
        values, unknown = answer
        if unknown:
            said = [f"{named.get(key, '--output ' + key)} ({hint})" for key, hint in unknown]
            raise ExploreError(f"no such figure in this run: {'; '.join(said)}; fix: name a metrics column "
                               "(metrics.parquet) or a key of summary.json, dotted")
        results[job] = values
        if on_done:
            on_done(done, len(jobs))

    if not jobs:
        return [[] for _ in points]
    first, rest = jobs[0], jobs[1:]
    if client is None:
        for done, (index, s) in enumerate(jobs, 1):
            take((index, s), run_point(*resolved[index], seeds[s], figures), done)
    else:
        from dask.distributed import as_completed

        take(first, client.submit(run_point, *resolved[first[0]], seeds[first[1]], list(figures),
                                  pure=False).result(), 1)
        futures = {client.submit(run_point, *resolved[index], seeds[s], list(figures), pure=False): (index, s)
                   for index, s in rest}
        try:
            for done, future in enumerate(as_completed(futures), 2):
                take(futures[future], future.result(), done)
        except ExploreError:
            client.cancel(list(futures))
            raise
    return [[results[(index, s)] for s in range(len(seeds))] for index in range(len(points))]
