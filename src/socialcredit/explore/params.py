"""Parameters to vary: `NAME=LOW:HIGH` on the command line or a YAML file of them, checked against
the scenario before anything runs (an unknown key is named with the fix, not found by a worker)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..scenario.load import load_scenario
from ..scheme import SchemeError


class ExploreError(ValueError):
    """Something a user typed or wrote is wrong: the message names it and the fix."""


@dataclass(frozen=True)
class Param:
    """A scenario key (dotted, as `--set` takes it) and the range it is varied over."""

    name: str
    low: float
    high: float
    # A key that takes whole numbers (population.size): each point's value is rounded to one, and
    # calibrate searches whole numbers. Set by `check_params` from the scenario.
    integer: bool = False

    def value(self, x: float) -> float:
        """What a point of the range sets the key to: a whole number for an integer key."""
        return int(round(x)) if self.integer else float(x)


PARAM_FORM = "--param NAME=LOW:HIGH, e.g. --param behaviours.judgment_default.rate=0.00001:0.00005"


def parse_param(text: str) -> Param:
    name, sep, bounds = text.partition("=")
    low_text, colon, high_text = bounds.partition(":")
    if not sep or not name.strip() or not colon:
        raise ExploreError(f"--param {text!r}: expected {PARAM_FORM}")
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise ExploreError(f"--param {text!r}: LOW and HIGH must be numbers; expected {PARAM_FORM}") from None
    return _checked(Param(name.strip(), low, high), f"--param {text!r}")


def _checked(param: Param, where: str) -> Param:
    if not (math.isfinite(param.low) and math.isfinite(param.high)) or param.low >= param.high:
        raise ExploreError(f"{where}: the range must have LOW < HIGH (got {param.low:g} and {param.high:g}); "
                           "fix: give the lower bound first")
    return param


def read_params_file(path: Path) -> list[Param]:
    """A YAML mapping `name: [low, high]` (or `{low: , high: }`)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ExploreError(f"--params {path}: cannot read it ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ExploreError(f"--params {path}: not YAML ({error})") from None
    if not isinstance(data, dict) or not data:
        raise ExploreError(f"{path}: expected a mapping of scenario keys to [low, high], e.g. "
                           "behaviours.judgment_default.rate: [0.00001, 0.00005]")
    params = []
    for name, bounds in data.items():
        if isinstance(bounds, dict) and set(bounds) == {"low", "high"}:
            bounds = [bounds["low"], bounds["high"]]
        if not (isinstance(bounds, list) and len(bounds) == 2
                and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)):
            raise ExploreError(f"{path}: {name}: expected [low, high] (two numbers), got {bounds!r}")
        params.append(_checked(Param(str(name), float(bounds[0]), float(bounds[1])), f"{path}: {name}"))
    return params


def check_params(scenario: str, params: list[Param], fixed: dict[str, Any]) -> list[Param]:
    """The parameters, each marked `integer` where the scenario's key takes whole numbers, once each
    at both ends of its range gives a valid scenario (so a typo, a fractional bound of a whole-number
    key, or a range a scheme refuses, stops the command before any run)."""
    names = [p.name for p in params]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ExploreError(f"--param {twice[0]} is given twice; fix: give each parameter once")
    try:
        written = load_scenario(scenario, fixed)[0].model_dump()
    except SchemeError as error:
        raise ExploreError(str(error)) from None
    checked = []
    for param in params:
        if _whole_number(written, param.name):
            if not (param.low.is_integer() and param.high.is_integer()):
                raise ExploreError(f"--param {param.name}={param.low:g}:{param.high:g}: {param.name} is a whole "
                                   "number; fix: give whole-number bounds")
            param = Param(param.name, param.low, param.high, integer=True)
        for value in (param.low, param.high):
            try:
                load_scenario(scenario, {**fixed, param.name: param.value(value)})
            except SchemeError as error:
                message = str(error).replace(f"--set {param.name}=", f"--param {param.name}=")
                raise ExploreError(f"--param {param.name}={param.low:g}:{param.high:g}: {message}") from None
        checked.append(param)
    return checked


def _whole_number(data: Any, key: str) -> bool:
    """Whether the scenario's value at the dotted `key` is a whole number (an int, not a flag)."""
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return isinstance(data, int) and not isinstance(data, bool)
