"""A scheme's rules compiled: from features to pre, and from pre to score, tier, lists and
entitlements, in one compiled pass over the subjects each, for a simulation's daily scoring of
millions of people.

`score_slices` applies the rules with NumPy, an array at a time: a dozen passes over memory and
as many temporaries for one scoring. The same rules written out as one loop over the subjects,
each step a few scalar operations the compiler vectorises, take one pass, with no temporaries and
without the interpreter between steps (so the slice threads are not held back by the GIL).

The loop is generated as Python source from the validated scheme, in the operations and order
NumPy applies them (`core.points_and_pre`, `core._outcomes`, `expressions`), so the results are
the same to the bit; a test holds every preset to it. Nothing of the scheme's text goes into the
source but names checked against [a-z_][a-z0-9_]* (prefixed) and numbers; tier names become ranks.
The source is written to a cache directory named by its hash, where numba caches the machine code:
a scheme compiles once per machine (a second or two), then loads in a fraction of that.
"""

from __future__ import annotations

import ast
import contextlib
import getpass
import hashlib
import importlib.util
import math
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from ..scheme import Kind, Scheme
from ..scheme.expressions import tier_ranks
from ..scheme.models import Component
from ..scheme.validate import name_kinds
from .core import outcome_inputs, scoring_features

_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
_LOADED: dict[str, ModuleType] = {}  # by the source's hash: a scheme compiled once per process
_LOADING = threading.Lock()


def _number(value: float) -> str:
    value = float(value)
    if math.isnan(value):
        return "np.nan"
    if math.isinf(value):
        return "np.inf" if value > 0 else "-np.inf"
    return repr(value)


def _var(name: str) -> str:
    return "v_" + name


class _Expressions:
    """Scalar Python source for the expression language, as `expressions._Compiler` evaluates it
    on arrays: arithmetic in float64 (booleans as 0 and 1), division by zero giving 0, a number
    as a condition where it is not 0, tiers compared by rank."""

    def __init__(self, scheme: Scheme):
        self.kinds = name_kinds(scheme)
        self.ranks = tier_ranks(scheme.tier_names)

    def condition(self, source: str) -> str:
        return self.boolean(*self.emit(ast.parse(source.strip(), mode="eval").body))

    @staticmethod
    def boolean(code: str, kind: Kind) -> str:
        return code if kind is Kind.BOOL else f"(np.float64({code}) != 0.0)"

    @staticmethod
    def number(code: str, kind: Kind) -> str:
        return f"np.float64({code})"

    def emit(self, node: ast.AST) -> tuple[str, Kind]:
        if isinstance(node, ast.Name):
            return _var(node.id), self.kinds[node.id]
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return repr(node.value), Kind.BOOL
            if isinstance(node.value, int | float):
                return _number(node.value), Kind.NUMBER
            return repr(self.ranks[str(node.value)]), Kind.STRING  # a tier name, beside `tier`
        if isinstance(node, ast.BoolOp):
            joiner = " & " if isinstance(node.op, ast.And) else " | "
            return "(" + joiner.join(self.boolean(*self.emit(value)) for value in node.values) + ")", Kind.BOOL
        if isinstance(node, ast.UnaryOp):
            code, kind = self.emit(node.operand)
            if isinstance(node.op, ast.Not):
                return f"(not {self.boolean(code, kind)})", Kind.BOOL
            if isinstance(node.op, ast.USub):
                return f"(-{self.number(code, kind)})", Kind.NUMBER
            return code, Kind.NUMBER  # unary plus
        if isinstance(node, ast.BinOp):
            left, right = self.number(*self.emit(node.left)), self.number(*self.emit(node.right))
            if isinstance(node.op, ast.Div):
                return f"_divide({left}, {right})", Kind.NUMBER
            return f"({left} {_ARITH[type(node.op)]} {right})", Kind.NUMBER
        if isinstance(node, ast.Compare):
            operands = [self.emit(operand) for operand in (node.left, *node.comparators)]
            steps = []
            for index, op in enumerate(node.ops):
                (left, left_kind), (right, right_kind) = operands[index], operands[index + 1]
                ranked = {left_kind, right_kind} & {Kind.TIER, Kind.STRING}  # ranks: whole numbers
                if not ranked:
                    left, right = self.number(left, left_kind), self.number(right, right_kind)
                steps.append(f"({left} {_COMPARE[type(op)]} {right})")
            return "(" + " & ".join(steps) + ")", Kind.BOOL
        raise ValueError(f"cannot compile {ast.dump(node)}")  # validation admits nothing else


def _clip(code: str, low: float | None, high: float | None) -> list[str]:
    """Lines clipping the variable `code` as np.clip does (NaN stays, bounds as given)."""
    lines = []
    if low is not None:
        lines.append(f"{code} = {_number(low)} if {code} < {_number(low)} else {code}")
    if high is not None:
        lines.append(f"{code} = {_number(high)} if {code} > {_number(high)} else {code}")
    return lines


def _component(name: str, component: Component) -> list[str]:
    """Lines giving a component's points as `core.component_points` does: the first bin whose upto
    the value does not exceed (NaN and values above every upto: the last), or per_unit x value;
    clipped to min and max; + 0.0 (no -0.0)."""
    value, out = _var(component.feature), _var(name)
    if component.bins is not None:
        points = _number(component.bins[-1].points)
        for bin_ in reversed(component.bins[:-1]):
            points = f"({_number(bin_.points)} if {value} <= {_number(bin_.upto or 0.0)} else {points})"
        lines = [f"{out} = {points}"]
    else:
        lines = [f"{out} = {_number(component.per_unit or 0.0)} * {value}"]
    return [*lines, *_clip(out, component.min, component.max), f"{out} = {out} + 0.0"]


@dataclass(frozen=True)
class CompiledRules:
    """The compiled passes of one scheme (see the module's docstring). `inputs`: the features
    they read, as given (ratios among the features scoring needs are worked out inside)."""

    scheme: Scheme
    inputs: tuple[str, ...]
    module: ModuleType

    def pre(self, features: Mapping[str, np.ndarray], pre: np.ndarray) -> None:
        """Fill `pre` (float64, contiguous) from the input features of the same subjects."""
        self.module.pre_pass(*(self._contiguous(features[name]) for name in self.inputs), pre)

    def outcomes(self, features: Mapping[str, np.ndarray], pre: np.ndarray, term: np.ndarray | None,
                 score: np.ndarray, tier: np.ndarray, tier_cap: np.ndarray, lists: Mapping[str, np.ndarray],
                 entitlements: Mapping[str, np.ndarray], unscored: np.ndarray | None = None) -> None:
        """Fill score, tier, tier_cap, lists, entitlements and (where the scheme has unscored
        conditions) unscored from the features, pre and (with a network) the network term of the
        same subjects; every output contiguous, written in place."""
        inputs = [self._contiguous(features[name]) for name in self.inputs]
        inputs += [np.ascontiguousarray(features[name], dtype=np.bool_) for name in self.scheme.input_lists]
        network = [] if self.scheme.network is None else [self._contiguous(term)]
        conditions = [] if not self.scheme.rules.unscored else [unscored]
        self.module.outcome_pass(*inputs, pre, *network, score, tier, tier_cap, *conditions,
                                 *(lists[name] for name in self.scheme.lists),
                                 *(entitlements[name] for name in self.scheme.entitlements))

    @staticmethod
    def _contiguous(values: np.ndarray | None) -> np.ndarray:
        return np.ascontiguousarray(values, dtype=np.float64)


def rules_source(scheme: Scheme) -> tuple[str, tuple[str, ...]]:
    """The generated module's source and the input features its passes read, in their order."""
    needed = scoring_features(scheme)
    inputs = tuple(sorted(name for name in needed if scheme.features[name].type != "ratio"))
    read_by_outcomes = outcome_inputs(scheme)
    expressions = _Expressions(scheme)
    scale = scheme.scale

    def derived(only_outcomes: bool) -> list[str]:
        """Lines for the ratios and components (those the outcome rules read, if `only_outcomes`)."""
        lines = [f"{_var(name)} = in_{name}[i]" for name in inputs]
        if only_outcomes:  # input lists: read by outcomes only (bool arrays, as lists are)
            lines += [f"{_var(name)} = in_{name}[i]" for name in scheme.input_lists]
        for name in scheme.rules.feature_order:
            ratio = scheme.features[name].ratio
            if name in needed and ratio is not None:
                a, b = (_var(part) for part in ratio)
                lines.append(f"{_var(name)} = _divide({a}, {b})")
        for name, component in scheme.components.items():
            if not only_outcomes or name in read_by_outcomes:
                lines += _component(name, component)
        return lines

    first = derived(only_outcomes=False) + [f"total = {_number(scale.base)}"]
    first += [f"total += {_var(name)}" for name in scheme.components]
    first += [*_clip("total", scale.min, scale.max), "pre[i] = total"]

    second = [*derived(only_outcomes=True), "v_pre = pre[i]"]
    if scheme.network is not None:
        second += ["v_score = v_pre + term[i]", *_clip("v_score", scale.min, scale.max)]
    else:
        second.append("v_score = v_pre")
    second.append("score[i] = v_score")
    unscored = bool(scheme.rules.unscored)
    if unscored:  # the conditions that hold, a bit each; the unscored have no pre, score or tier (NaN)
        second.append("held = np.uint16(0)")
        for bit, condition in enumerate(scheme.rules.unscored):
            second += [f"if {expressions.condition(condition.source)}:", f"    held |= np.uint16({1 << bit})"]
        second += ["unscored[i] = held", "v_scored = held == np.uint16(0)",
                   "v_pre = v_pre if v_scored else np.nan", "v_score = v_score if v_scored else np.nan"]
    else:
        second.append("v_scored = True")
    if scheme.tiers:  # how many tiers' min the score is below (NaN: the highest), as `tiers_of`
        below = " + ".join(f"np.int16({_number(t.min)} > v_score)" for t in scheme.tiers)
        second += [f"level = np.int16({below})", "level = np.int16(0) if v_score != v_score else level",
                   "held_at = np.int16(-1)"]
        for index, (condition, highest) in enumerate(scheme.rules.tier_caps):
            cap = expressions.condition(condition.source)
            second += [f"if {cap} and level < {highest}:", f"    level = np.int16({highest})",
                       f"    held_at = np.int16({index})"]
        if unscored:
            second += ["if not v_scored:", "    level = np.int16(-1)", "    held_at = np.int16(-1)",
                       "tier[i] = level", "tier_cap[i] = held_at",
                       f"v_tier = np.float64({len(scheme.tiers) - 1} - level) if v_scored else np.nan"]
        else:
            second += ["tier[i] = level", "tier_cap[i] = held_at", f"v_tier = {len(scheme.tiers) - 1} - level"]
    else:
        second += ["tier[i] = np.int16(-1)", "tier_cap[i] = np.int16(-1)"]
    for name in scheme.rules.list_order:
        second += [f"{_var(name)} = {expressions.condition(scheme.list_source(name))}"]
    second += [f"out_{name}[i] = {_var(name)}" for name in scheme.lists]
    second += [f"out_{name}[i] = {expressions.condition(e.allow)}" for name, e in scheme.entitlements.items()]

    # Three prefixes no scheme name can make one of the others with: in_ (input arrays), out_
    # (output arrays), v_ (a subject's values).
    arguments = [f"in_{name}" for name in inputs]
    listed = [f"in_{name}" for name in scheme.input_lists]
    outputs = [f"out_{name}" for name in (*scheme.lists, *scheme.entitlements)]
    network = ["term"] if scheme.network is not None else []
    conditions = ["unscored"] if unscored else []
    indent = "\n        "
    source = f'''"""Generated by socialcredit.scoring.compiled for scheme {scheme.id!r}: do not edit."""
import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="always")
def _divide(a, b):
    return a / (b if b != 0.0 else 1.0) if b != 0.0 else 0.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def pre_pass({", ".join([*arguments, "pre"])}):
    for i in range(pre.shape[0]):
        {indent.join(first)}


@numba.njit(cache=True, nogil=True, error_model="numpy")
def outcome_pass({", ".join([*arguments, *listed, "pre", *network, "score", "tier", "tier_cap", *conditions,
                             *outputs])}):
    for i in range(pre.shape[0]):
        {indent.join(second)}
'''
    return source, inputs


def _cache_directory() -> Path:
    """Where generated rules and their machine code are kept: $SOCIALCREDIT_CACHE_DIR, else the
    user's cache directory, else a directory of the user's own (mode 0700) in the temporary one."""
    def candidates() -> Iterator[tuple[Path, bool]]:  # (directory, must be the user's own)
        configured = os.environ.get("SOCIALCREDIT_CACHE_DIR")
        if configured:
            yield Path(configured), False
        with contextlib.suppress(RuntimeError, KeyError):  # no home directory
            yield Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "socialcredit", False
        user = os.getuid() if hasattr(os, "getuid") else getpass.getuser()
        yield Path(tempfile.gettempdir()) / f"socialcredit-{user}", True

    for candidate, private in candidates():
        try:
            candidate.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
            if private and hasattr(os, "getuid") and candidate.stat().st_uid != os.getuid():
                continue  # another user's: machine code is loaded from here, so never theirs
            (candidate / "rules").mkdir(exist_ok=True)
            if os.access(candidate / "rules", os.W_OK):
                return candidate / "rules"
        except OSError:
            continue
    raise OSError("no writable directory for compiled scheme rules; set SOCIALCREDIT_CACHE_DIR")


def compile_rules(scheme: Scheme) -> CompiledRules:
    """The scheme's rules compiled (loaded from the cache where compiled before)."""
    source, inputs = rules_source(scheme)
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    with _LOADING:  # one thread writes and loads a module; the others then find it loaded
        module = _LOADED.get(digest)
        if module is None:
            path = _cache_directory() / f"rules_{digest}.py"
            if not path.exists() or path.read_text() != source:
                handle, partial = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
                with os.fdopen(handle, "w") as file:
                    file.write(source)
                os.replace(partial, path)  # whole or not at all, should another process read it now
            spec = importlib.util.spec_from_file_location(f"socialcredit_rules_{digest}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # where numba's cache looks for it by name
            spec.loader.exec_module(module)
            _LOADED[digest] = module
    return CompiledRules(scheme, inputs, module)
