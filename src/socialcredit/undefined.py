"""Figures a run cannot give (a rate over a group with no members, a ratio over a rate of 0, a mean
over nobody): `null` in summary.json, with the reason beside it, never NaN or Infinity.

The convention, the same everywhere in a summary: the object that holds a null figure has a
`why_null` object, and under the figure's key it gives the reason. A group's figure sits in a
`by_group` map, which holds only groups, so its reason sits in the object holding that map, under
`why_null.by_group.<group>`:

    "score": {"mean": 1001.2, "by_group": {"majority": 1001.2, "minority": null},
              "why_null": {"by_group": {"minority": "no one in this population is in group 'minority'"}}}

A summary built this way is strict JSON (`json.dumps(summary, allow_nan=False)`), and a reader
never has to guess what a missing number means.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

WHY_NULL = "why_null"
BY_GROUP = "by_group"


def empty_group(group: str) -> str:
    return f"no one in this population is in group '{group}'"


def finite(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(float(value))


def put(record: dict[str, Any], key: str, value: Any, why: str) -> None:
    """record[key] = value where it is a finite number, else null with `why` beside it."""
    if value is None or (isinstance(value, (float, np.floating)) and not math.isfinite(value)):
        record[key] = None
        record.setdefault(WHY_NULL, {})[key] = why
    else:
        record[key] = value


def mean_where(values: np.ndarray, where: np.ndarray) -> float | None:
    """The mean of `values` where `where` holds; None (undefined) where it holds nowhere."""
    count = int(where.sum())
    return float(values[where].sum(dtype=np.float64) / count) if count else None


def put_each(values: Mapping[str, Any], why: str) -> dict[str, Any]:
    """A map of figures (quintiles', groups'), with why each null one is null (as `put` writes it)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        put(out, key, value, why)
    return out


def put_by_group(record: dict[str, Any], values: Mapping[str, Any], sizes: Mapping[str, int]) -> None:
    """record["by_group"]: each group's figure; null for a group with no members, and why."""
    record[BY_GROUP] = {}
    for group, value in values.items():
        if sizes[group] and finite(value):
            record[BY_GROUP][group] = float(value)
        else:
            record[BY_GROUP][group] = None
            why = empty_group(group) if not sizes[group] else _not_finite(value)
            record.setdefault(WHY_NULL, {}).setdefault(BY_GROUP, {})[group] = why


def _not_finite(value: Any) -> str:
    return f"undefined for this run (the calculation gave {value})"


def strict(record: dict[str, Any]) -> dict[str, Any]:
    """`record`, and every object in it, with any number that is not finite left made null with a
    reason beside it (the figures built with `put` already have theirs): a safety net, so that a
    summary is always strict JSON."""
    for key, value in list(record.items()):
        if key == WHY_NULL:
            continue
        if isinstance(value, dict) and key == BY_GROUP:
            for group, figure in value.items():
                if figure is not None and not finite(figure) and isinstance(figure, (float, np.floating)):
                    value[group] = None
                    record.setdefault(WHY_NULL, {}).setdefault(BY_GROUP, {})[group] = _not_finite(figure)
        elif isinstance(value, dict):
            strict(value)
        elif isinstance(value, (float, np.floating)) and not math.isfinite(value):
            put(record, key, value, _not_finite(value))
    if WHY_NULL in record:  # the reasons last, after the figures they explain
        record[WHY_NULL] = record.pop(WHY_NULL)
    return record


def shown(value: Any, spec: str, missing: str = "n/a") -> str:
    """A figure formatted with `spec`, or `missing` where it is null."""
    return missing if value is None else format(value, spec)


def nulls_without_reason(record: dict[str, Any], where: str = "") -> list[str]:
    """Where a null has no reason beside it (for tests and checks): JSON Pointer-like paths."""
    missing = []
    why = record.get(WHY_NULL, {})
    for key, value in record.items():
        if key == WHY_NULL:
            continue
        if value is None and key not in why:
            missing.append(f"{where}/{key}")
        elif isinstance(value, dict) and key == BY_GROUP:
            missing += [f"{where}/{key}/{g}" for g, v in value.items() if v is None and g not in why.get(BY_GROUP, {})]
        elif isinstance(value, dict):
            missing += nulls_without_reason(value, f"{where}/{key}")
    return missing
