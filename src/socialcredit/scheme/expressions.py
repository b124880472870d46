"""The expression language of lists and entitlements, compiled once into NumPy closures.

Grammar (a whitelisted subset of Python's own expression syntax, parsed with `ast`):
names, numbers, strings, `and or not`, comparisons (`< <= > >= == !=`, chainable), `+ - * /`,
unary minus, parentheses. `tier` compares by rank with tier names: `tier >= 'B'` means B or better.
Nothing is ever passed to `eval` or `exec`: the tree is walked once and turned into closures that
work on whole arrays. Division by zero gives 0, as a `ratio` feature does.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from .errors import ExpressionError, suggest


class Kind(Enum):
    NUMBER = "number"
    BOOL = "boolean"
    TIER = "tier"
    STRING = "string"


Env = Mapping[str, np.ndarray]
Evaluator = Callable[[Env], np.ndarray]

_COMPARE = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_ARITH = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply}

_FORBIDDEN = {
    ast.Call: "function calls are not allowed",
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "indexing ('[...]') is not allowed",
    ast.Lambda: "lambdas are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.IfExp: "'x if c else y' is not allowed",
    ast.NamedExpr: "':=' is not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.Set: "sets are not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Await: "'await' is not allowed",
}
_GRAMMAR = "use names, numbers, 'strings', and/or/not, comparisons, + - * / and parentheses"


@dataclass(frozen=True)
class Expression:
    """A compiled expression: the names it reads, its result kind, and its evaluator."""

    source: str
    names: frozenset[str]
    kind: Kind
    evaluate: Evaluator

    def __call__(self, env: Env) -> np.ndarray:
        return self.evaluate(env)


def _safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    out = np.zeros(a.shape, dtype=np.float64)
    np.divide(a, b, out=out, where=b != 0)
    return out


def _as_bool(value: np.ndarray) -> np.ndarray:
    return value if value.dtype == np.bool_ else value != 0


class _Compiler:
    def __init__(self, name_kinds: Mapping[str, Kind], tier_ranks: Mapping[str, int]):
        self.name_kinds = name_kinds
        self.tier_ranks = tier_ranks
        self.names: set[str] = set()

    def fail(self, node: ast.AST, message: str, fix: str = "") -> ExpressionError:
        return ExpressionError(message, getattr(node, "col_offset", 0), fix)

    def compile(self, node: ast.AST) -> tuple[Kind, Evaluator]:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            reason = _FORBIDDEN.get(type(node), f"'{type(node).__name__}' is not allowed")
            raise self.fail(node, reason, _GRAMMAR)
        return method(node)

    def numeric(self, node: ast.AST) -> Evaluator:
        kind, evaluate = self.compile(node)
        if kind in (Kind.TIER, Kind.STRING):
            raise self.fail(node, f"a {kind.value} cannot be used as a number",
                            "compare tiers with a tier name, e.g. tier >= 'B'")
        return evaluate

    def boolean(self, node: ast.AST) -> Evaluator:
        evaluate = self.numeric(node)
        return lambda env: _as_bool(evaluate(env))

    def visit_Name(self, node: ast.Name) -> tuple[Kind, Evaluator]:
        name = node.id
        if name not in self.name_kinds:
            raise self.fail(node, f"unknown name '{name}'", suggest(name, self.name_kinds))
        self.names.add(name)
        return self.name_kinds[name], lambda env: env[name]

    def visit_Constant(self, node: ast.Constant) -> tuple[Kind, Evaluator]:
        value = node.value
        if isinstance(value, bool):
            constant = np.asarray(value, dtype=np.bool_)
            return Kind.BOOL, lambda env: constant
        if isinstance(value, int | float):
            number = np.asarray(value, dtype=np.float64)
            return Kind.NUMBER, lambda env: number
        if isinstance(value, str):
            text = np.asarray(value)
            return Kind.STRING, lambda env: text
        raise self.fail(node, f"the constant {value!r} is not allowed", _GRAMMAR)

    def visit_BoolOp(self, node: ast.BoolOp) -> tuple[Kind, Evaluator]:
        parts = [self.boolean(value) for value in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def evaluate(env: Env) -> np.ndarray:
            result = parts[0](env)
            for part in parts[1:]:
                result = combine(result, part(env))
            return result

        return Kind.BOOL, evaluate

    def visit_UnaryOp(self, node: ast.UnaryOp) -> tuple[Kind, Evaluator]:
        if isinstance(node.op, ast.Not):
            operand = self.boolean(node.operand)
            return Kind.BOOL, lambda env: np.logical_not(operand(env))
        if isinstance(node.op, ast.USub):
            number = self.numeric(node.operand)
            return Kind.NUMBER, lambda env: np.negative(number(env), dtype=np.float64)
        if isinstance(node.op, ast.UAdd):
            return Kind.NUMBER, self.numeric(node.operand)
        raise self.fail(node, "'~' is not allowed", _GRAMMAR)

    def visit_BinOp(self, node: ast.BinOp) -> tuple[Kind, Evaluator]:
        left, right = self.numeric(node.left), self.numeric(node.right)
        if isinstance(node.op, ast.Div):
            return Kind.NUMBER, lambda env: _safe_divide(left(env), right(env))
        operation = _ARITH.get(type(node.op))
        if operation is None:
            symbol = {ast.Pow: "**", ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@"}.get(type(node.op), "?")
            raise self.fail(node, f"the operator '{symbol}' is not allowed", "use only + - * /")
        return Kind.NUMBER, lambda env: operation(left(env), right(env), dtype=np.float64)

    def comparison_operand(self, node: ast.AST, other: ast.AST) -> Evaluator:
        """Operands of a comparison; a string is only meaningful beside `tier`."""
        kind, evaluate = self.compile(node)
        other_kind = self._peek_kind(other)
        if kind is Kind.STRING:
            if other_kind is not Kind.TIER:
                raise self.fail(node, "a string can only be compared with tier",
                                "write e.g. tier >= 'B'; lists and features are not strings")
            tier_name = node.value  # type: ignore[attr-defined]
            if tier_name not in self.tier_ranks:
                raise self.fail(node, f"unknown tier '{tier_name}'", suggest(tier_name, self.tier_ranks))
            rank = np.asarray(self.tier_ranks[tier_name], dtype=np.int64)
            return lambda env: rank
        if kind is Kind.TIER and other_kind is not Kind.STRING and other_kind is not Kind.TIER:
            raise self.fail(other, "tier can only be compared with a tier name",
                            "write e.g. tier >= 'B' (B or better)")
        return evaluate

    def _peek_kind(self, node: ast.AST) -> Kind | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return Kind.STRING
        if isinstance(node, ast.Name):
            return self.name_kinds.get(node.id)
        return Kind.NUMBER

    def visit_Compare(self, node: ast.Compare) -> tuple[Kind, Evaluator]:
        operands = [node.left, *node.comparators]
        steps: list[tuple[Callable[..., np.ndarray], Evaluator, Evaluator]] = []
        for index, op in enumerate(node.ops):
            operation = _COMPARE.get(type(op))
            if operation is None:
                raise self.fail(node, "'in' and 'is' are not allowed", "use < <= > >= == !=")
            left, right = operands[index], operands[index + 1]
            steps.append((operation, self.comparison_operand(left, right), self.comparison_operand(right, left)))

        def evaluate(env: Env) -> np.ndarray:
            result = None
            for operation, left, right in steps:
                outcome = operation(left(env), right(env))
                result = outcome if result is None else np.logical_and(result, outcome)
            return result  # type: ignore[return-value]

        return Kind.BOOL, evaluate


def compile_expression(
    source: str, name_kinds: Mapping[str, Kind], tier_names: Sequence[str] = ()
) -> Expression:
    """Compile `source`. `tier_names` run highest first; a higher tier has a higher rank.

    Raises ExpressionError with the 0-based column of the offending part.
    """
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("the expression is empty", 0, "write e.g. \"score < 600\"")
    indent = len(source) - len(source.lstrip())  # columns are reported in the text as written
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as error:
        column = max((error.offset or 1) - 1, 0)
        raise ExpressionError(f"syntax error: {error.msg}", column + indent, _GRAMMAR) from None
    compiler = _Compiler(name_kinds, tier_ranks(tier_names))
    try:
        kind, evaluate = compiler.compile(tree.body)
    except ExpressionError as error:
        error.column += indent
        raise
    if kind in (Kind.STRING, Kind.TIER):
        raise ExpressionError(f"the expression gives a {kind.value}, not a condition", indent,
                              "compare it, e.g. tier >= 'B'")
    return Expression(source, frozenset(compiler.names), kind, evaluate)


def tier_ranks(tier_names: Sequence[str]) -> dict[str, int]:
    """Each tier's rank, the highest tier (named first) highest: what `tier` compares as."""
    return {name: len(tier_names) - 1 - index for index, name in enumerate(tier_names)}


def names_in(source: str) -> set[str]:
    """The names an expression mentions, without compiling it (for dependency ordering)."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def names_in_order(source: str) -> list[str]:
    """The names an expression mentions, each once, in the order they first appear in the text."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return []
    found = sorted((node.lineno, node.col_offset, node.id) for node in ast.walk(tree) if isinstance(node, ast.Name))
    return list(dict.fromkeys(name for _, _, name in found))
