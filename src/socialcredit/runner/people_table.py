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
from ..scoring import score_features
from ..sim.model import Sim

PEOPLE_SLICE = 1 << 20  # people per row group of people.parquet, written one at a time


def people_table(sim: Sim, part: slice) -> pa.Table:
    """people.parquet's rows for the people of `part`: who they are, their final state, what was done
    to them, and every feature and component's points behind their score. The features are made
    again from the feature state, slice by slice, with the final network term held, so that a
    population of tens of millions is written in little more memory than it took to simulate."""
    if sim.scores is None or sim.scored_time != sim.features.as_of:
        raise ValueError("the feature state has moved on since the last scoring; rescore first")
    people, scheme = sim.people, sim.scheme
    scores = score_features(scheme, sim.features.features(part), network_term=sim.scores.network_term[part])
    initial_tier = sim.initial_tier if sim.initial_tier is not None else sim.scores.tier
    columns: dict[str, Any] = {
        "person": np.arange(part.start, part.stop),
        "group": name_column(people.group[part], people.group_names),
        "district": people.district[part],
        "age": people.age[part],
        "income_initial": people.income_initial[part],
        "income": people.income[part],
        "degree_initial": sim.initial_degree[part],
        "degree": sim.graph.degree[part],
        "score": withheld(scores.score, scores),  # none for the unscored, as `score` writes it
        "pre": withheld(scores.pre, scores),
        "tier": name_column(scores.tier, scheme.tier_names),
        "tier_initial": name_column(initial_tier[part], scheme.tier_names),
    }
    if scheme.tier_caps:  # the cap that held the tier down, as `score` writes it
        columns["capped_by"] = name_column(scores.tier_cap, scheme.tier_cap_names)
    if scores.unscored is not None:  # who is unscored and why, as `score` writes it
        columns["scored"] = scores.scored
        columns["unscored_by"] = unscored_by_column(scores)
    for name, member in scores.lists.items():
        columns[f"listed.{name}"] = member
        columns[f"days_listed.{name}"] = sim.listed_days[name][part]
    for name, allowed in scores.entitlements.items():
        columns[f"allowed.{name}"] = allowed
        columns[f"days_denied.{name}"] = sim.denied_days[name][part]
    for code, kind in enumerate(scheme.events):
        columns[f"true.{kind}"] = sim.true_counts[code, part]
        columns[f"observed.{kind}"] = sim.observed_counts[code, part].astype(np.int32)  # one type, widened or not
    columns["false_records"] = sim.false_record_counts[part]
    for module in sim.modules:  # what each phase keeps per person (sim/module.py), in the loop's order
        columns.update(module.people_columns(sim, part))
    for name, values in scores.features.items():
        columns[f"feature.{name}"] = values
    for name, points in scores.components.items():
        columns[f"points.{name}"] = points
    columns["reasons"] = reason_column(scores)
    return pa.table({name: values if isinstance(values, pa.Array) else pa.array(values)
                     for name, values in columns.items()})


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
