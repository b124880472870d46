"""people.parquet: one row per person, made slice by slice from the final state (who they are, what
was done to them, what each phase keeps of them, and every feature and component's points behind
their score)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..scorejob import name_column, reason_column, unscored_by_column, withheld
from ..scoring import Scores, score_features
from ..sim.model import Sim
from ..sim.schemes import SchemeState
from ..world.enrolment import without_score

PEOPLE_SLICE = 1 << 20  # people per row group of people.parquet, written one at a time


def people_table(sim: Sim, part: slice) -> pa.Table:
    """people.parquet's rows for the people of `part`: who they are, their final state, what was done
    to them, and every feature and component's points behind their score. The features are made
    again from the feature state, slice by slice, with the final network term held, so that a
    population of tens of millions is written in little more memory than it took to simulate. With
    several schemes, each scheme's columns are prefixed by its name (`court.score`)."""
    people = sim.people
    columns: dict[str, Any] = {
        "person": np.arange(part.start, part.stop),
        "group": name_column(people.group[part], people.group_names),
        "district": people.district[part],
        "age": people.age[part],
        "income_initial": people.income_initial[part],
        "income": people.income[part],
        "degree_initial": sim.initial_degree[part],
        "degree": sim.graph.degree[part],
    }
    scored = [(state, _scores_behind(state, part)) for state in sim.schemes]
    for state, scores in scored:
        columns.update(_outcome_columns(state, scores, part))
    for code, kind in enumerate(sim.kinds):
        columns[f"true.{kind}"] = sim.true_counts[code, part]
        columns[f"observed.{kind}"] = sim.observed_counts[code, part].astype(np.int32)  # one type, widened or not
    columns["false_records"] = sim.false_record_counts[part]
    for module in sim.modules:  # what each phase keeps per person (sim/module.py), in the loop's order
        columns.update(module.people_columns(sim, part))
    for state, scores in scored:
        prefix = state.prefix
        for name, values in scores.features.items():
            columns[f"{prefix}feature.{name}"] = values
        for name, points in scores.components.items():
            columns[f"{prefix}points.{name}"] = points
        columns[f"{prefix}reasons"] = reason_column(scores)
    return pa.table({name: values if isinstance(values, pa.Array) else pa.array(values)
                     for name, values in columns.items()})


def _scores_behind(state: SchemeState, part: slice) -> Scores:
    """A scheme's final scores of the people of `part`, with the features and points behind them."""
    if state.scores is None or state.scored_time != state.features.as_of:
        raise ValueError("the feature state has moved on since the last scoring; rescore first")
    final = state.scores
    scores = score_features(state.scheme, state.features.features(part), network_term=final.network_term[part],
                            inputs={name: members[part] for name, members in final.inputs.items()})
    if final.unenrolled is not None:  # the unenrolled: no score, and what the scheme's rule gives them
        without_score(scores, final.unenrolled[part])
        scores.lists = {name: members[part] for name, members in final.lists.items()}
        scores.entitlements = {name: allowed[part] for name, allowed in final.entitlements.items()}
    return scores


def _outcome_columns(state: SchemeState, scores: Scores, part: slice) -> dict[str, Any]:
    """A scheme's score, tier, lists and entitlements of the people of `part`, and their days listed and denied."""
    scheme, prefix = state.scheme, state.prefix
    assert state.scores is not None
    initial_tier = state.initial_tier if state.initial_tier is not None else state.scores.tier
    columns: dict[str, Any] = {
        f"{prefix}score": withheld(scores.score, scores),  # none for the unscored, as `score` writes it
        f"{prefix}pre": withheld(scores.pre, scores),
        f"{prefix}tier": name_column(scores.tier, scheme.tier_names),
        f"{prefix}tier_initial": name_column(initial_tier[part], scheme.tier_names),
    }
    if scheme.tier_caps:  # the cap that held the tier down, as `score` writes it
        columns[f"{prefix}capped_by"] = name_column(scores.tier_cap, scheme.tier_cap_names)
    if scores.withholds:  # who is unscored (or not enrolled) and why, as `score` writes it
        columns[f"{prefix}scored"] = scores.scored
    if scores.unscored is not None:
        columns[f"{prefix}unscored_by"] = unscored_by_column(scores)
    for name, member in scores.lists.items():
        columns[f"{prefix}listed.{name}"] = member
        columns[f"{prefix}days_listed.{name}"] = state.listed_days[name][part]
    for name, member in scores.inputs.items():  # an imported list, as the scheme last read it
        columns[f"{prefix}input.{name}"] = member
    for name, allowed in scores.entitlements.items():
        columns[f"{prefix}allowed.{name}"] = allowed
        columns[f"{prefix}days_denied.{name}"] = state.denied_days[name][part]
    return columns


def people_frame(sim: Sim) -> pd.DataFrame:
    return people_table(sim, slice(0, sim.n)).to_pandas()


def write_people(sim: Sim, path: Path) -> None:
    """people.parquet, a row group of PEOPLE_SLICE people at a time (written beside the target and
    renamed, so a crash never leaves half a file)."""
    partial = path.with_name(path.name + ".partial")
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, max(sim.n, 1), PEOPLE_SLICE):
            table = people_table(sim, slice(start, min(start + PEOPLE_SLICE, sim.n)))
            if writer is None:
                writer = pq.ParquetWriter(partial, table.schema)
            writer.write_table(table.cast(writer.schema))  # each slice's dictionaries as the first's type
    finally:
        if writer is not None:
            writer.close()
    partial.replace(path)
