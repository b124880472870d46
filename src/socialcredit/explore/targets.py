"""A targets file: what was observed, when, how sure, and who says so.

    targets:
      - figure: listed.dishonest_debtor   # a metrics column, or a key of summary.json (dotted)
        group: urban                      # optional: the figure for one group (its column .urban)
        date: 2019-07-01                  # or day: N (a reported day, from 0); a summary key takes neither
        observed: 0.0126
        uncertainty: 0.001                # one standard deviation, in the figure's units
        source: "Shanghai Daily, 12 July 2019, https://..."

Each problem is reported as FILE:LINE: targets[i].field: what is wrong, and the fix."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .params import ExploreError
from .points import Figure

FIELDS = {"figure", "group", "date", "day", "observed", "uncertainty", "source"}


@dataclass(frozen=True)
class Target:
    figure: Figure
    observed: float
    uncertainty: float
    source: str
    date: dt.date | None   # as written, for the plot and the table
    where: str             # FILE:LINE: targets[i], for errors found later


def _line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def read_targets(path: Path, start: dt.date) -> list[Target]:
    """The targets, with dates turned into reported days of a run that starts on `start`."""
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text)
    except OSError as error:
        raise ExploreError(f"--targets {path}: cannot read it ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ExploreError(f"{path}: not YAML ({error})") from None
    entries = None
    if isinstance(root, yaml.MappingNode):
        entries = next((value for key, value in root.value if key.value == "targets"), None)
    if not isinstance(entries, yaml.SequenceNode) or not entries.value:
        line = _line_of(root) if root is not None else 1
        raise ExploreError(f"{path}:{line}: expected `targets:` with a list of figures (figure, date or day, "
                           "observed, uncertainty, source)")
    targets = []
    for index, node in enumerate(entries.value):
        where = f"{path}:{_line_of(node)}: targets[{index}]"
        data: Any = yaml.safe_load(yaml.serialize(node))
        if not isinstance(data, dict):
            raise ExploreError(f"{where}: expected a mapping with figure, observed, uncertainty and source")
        lines = {key.value: _line_of(key) for key, _ in node.value} if isinstance(node, yaml.MappingNode) else {}

        def bad(field: str, problem: str, where: str = where, lines: dict[str, int] = lines) -> ExploreError:
            line = lines.get(field)
            spot = where if line is None else f"{path}:{line}: {where.split(': ', 1)[1]}"
            return ExploreError(f"{spot}.{field}: {problem}")

        unknown = sorted(set(data) - FIELDS)
        if unknown:
            raise bad(unknown[0], f"unknown field; fix: use {', '.join(sorted(FIELDS))}")
        for field in ("figure", "observed", "uncertainty", "source"):
            if data.get(field) in (None, ""):
                raise ExploreError(f"{where}: `{field}` is missing (every target needs figure, observed, "
                                   "uncertainty and source)")
        for field in ("observed", "uncertainty"):
            value = data[field]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise bad(field, f"expected a number, got {value!r}")
        if data["uncertainty"] <= 0:
            raise bad("uncertainty", "must be above 0 (one standard deviation of the observed value)")
        if "date" in data and "day" in data:
            raise bad("day", "give a date or a day, not both")
        day = data.get("day")
        when = data.get("date")
        if when is not None:
            if not isinstance(when, dt.date):
                raise bad("date", f"expected a date YYYY-MM-DD, got {when!r}")
            day = (when - start).days
            if day < 0:
                raise bad("date", f"{when} is before the run's first reported day, {start}")
        if day is not None and (isinstance(day, bool) or not isinstance(day, int) or day < 0):
            raise bad("day", f"expected a reported day (a whole number from 0), got {day!r}")
        key = str(data["figure"]) + (f".{data['group']}" if data.get("group") else "")
        targets.append(Target(Figure(key, day), float(data["observed"]), float(data["uncertainty"]),
                              str(data["source"]), when, where))
    return targets
