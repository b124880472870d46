"""YAML loading that remembers where every value came from, so errors can name the line."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Any

import yaml

from .errors import Path, Problem, SchemeError

Positions = dict[Path, tuple[int, int]]


def _walk(node: yaml.Node, path: Path, positions: Positions, duplicates: list[Problem]) -> None:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            first = positions.get((*path, key, "<key>"))
            if first is not None and key != "<<":
                # YAML lets the last of two equal keys win without a word: a redefined feature would
                # silently change scores, so both lines are named instead.
                duplicates.append(Problem((*path, key), f"'{key}' is given twice, at line {first[0]} and at line "
                                                         f"{where[0]}; YAML would silently keep the second",
                                          "remove one of them, or rename it if both are meant",
                                          line=where[0], column=where[1]))
                continue
            # A key's own position is where the key is written; the value's is its own.
            positions[(*path, key, "<key>")] = where
            _walk(value_node, (*path, key), positions, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), positions, duplicates)


def parse_yaml(text: str, source: str | None, kind: str = "scheme") -> tuple[Any, Positions]:
    """Parse YAML safely (no Python tags) and return the data with a path -> (line, column) map."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        problem = Problem(
            (),
            f"YAML syntax error: {error.problem}",
            "check indentation, colons and quotes near this line",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        )
        raise SchemeError([problem], source, kind) from None
    except yaml.YAMLError as error:
        raise SchemeError([Problem((), f"YAML error: {error}")], source, kind) from None
    positions: Positions = {}
    duplicates: list[Problem] = []
    if node is not None:
        _walk(node, (), positions, duplicates)
    if duplicates:
        raise SchemeError(duplicates, source, kind)
    return data, positions


def read_yaml_file(path: str | FilePath, kind: str = "scheme") -> tuple[Any, Positions, str]:
    path = FilePath(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SchemeError([Problem((), f"cannot read the file: {error.strerror}")], str(path), kind) from None
    except UnicodeDecodeError as error:
        line = path.read_bytes()[:error.start].count(b"\n") + 1
        raise SchemeError([Problem((), f"not UTF-8 text: byte 0x{error.object[error.start]:02x} cannot be read",
                                   "save the file as UTF-8", line=line)], str(path), kind) from None
    data, positions = parse_yaml(text, str(path), kind)
    return data, positions, str(path)


def locate(problem: Problem, positions: Positions) -> Problem:
    """Fill in the line and column of a problem from the nearest enclosing known path."""
    path = problem.path
    if problem.key and (*path, "<key>") in positions:
        problem.line, problem.column = positions[(*path, "<key>")]
        return problem
    while True:
        if path in positions:
            problem.line, problem.column = positions[path]
            return problem
        if not path:
            return problem
        path = path[:-1]
