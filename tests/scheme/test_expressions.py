"""The expression language: whole-array evaluation of a small whitelisted grammar, never eval."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit.scheme import ExpressionError, Kind, compile_expression

KINDS = {"score": Kind.NUMBER, "late": Kind.NUMBER, "listed": Kind.BOOL, "tier": Kind.TIER}
TIERS = ["AAA", "A", "B", "C", "D"]  # highest first
ENV = {
    "score": np.array([1100.0, 900.0, 500.0]),
    "late": np.array([0.0, 2.0, 5.0]),
    "listed": np.array([False, True, False]),
    "tier": np.array([4, 2, 0]),  # ranks: AAA, B, D
}


def run(source: str) -> list:
    return compile_expression(source, KINDS, TIERS)(ENV).tolist()


def test_tiers_compare_by_rank():
    assert run("tier >= 'B'") == [True, True, False]
    assert run("tier <= 'D'") == [False, False, True]
    assert run("tier == 'B'") == [False, True, False]
    assert run("'A' <= tier") == [True, False, False]


def test_boolean_logic_and_precedence():
    assert run("not listed and late < 3") == [True, False, False]
    assert run("listed or late >= 5") == [False, True, True]
    assert run("not (listed or late >= 5)") == [True, False, False]


def test_arithmetic_and_chained_comparison():
    assert run("score - 100 * late > 700") == [True, False, False]
    assert run("0 < late <= 2") == [False, True, False]
    assert run("-late < -1") == [False, True, True]


def test_division_by_zero_gives_zero_like_ratio():
    assert run("score / late == 0") == [True, False, False]


def test_names_read_are_recorded():
    assert compile_expression("listed or tier >= 'A'", KINDS, TIERS).names == {"listed", "tier"}


@pytest.mark.parametrize("source, column, words", [
    ("late > 1 and __import__('os')", 13, "function calls"),
    ("score.real > 1", 0, "attribute"),
    ("late[0] > 1", 0, "indexing"),
    ("(lambda: 1)() > 0", 0, "function calls"),
    ("[x for x in late]", 0, "comprehensions"),
    ("late ** 2 > 1", 0, "'**'"),
    ("late in late", 0, "'in' and 'is'"),
    ("tier >= 'Z'", 8, "unknown tier 'Z'"),
    ("tier > 3", 7, "tier can only be compared with a tier name"),
    ("late == 'B'", 8, "a string can only be compared with tier"),
    ("scor > 3", 0, "did you mean 'score'?"),
    ("(late > 2", 0, "was never closed"),
])
def test_forbidden_constructs_point_at_the_column(source, column, words):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, KINDS, TIERS)
    assert caught.value.column == column
    assert words in caught.value.message + " " + caught.value.fix


def test_an_expression_must_be_a_condition():
    with pytest.raises(ExpressionError, match="not a condition"):
        compile_expression("tier", KINDS, TIERS)


def test_columns_count_leading_spaces():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("  late > nope", KINDS, TIERS)
    assert caught.value.column == 9
