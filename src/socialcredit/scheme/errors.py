"""Errors for people: what was wrong, where (file, line, YAML path), and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """`('features', 'late_ratio', 'ratio', 1)` -> `features.late_ratio.ratio[1]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text or "(top level)"


def suggest(name: str, known: Iterable[str]) -> str:
    """A fix that names the nearest known spelling, or lists what is known."""
    known = sorted(known)
    close = get_close_matches(name, known, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    if not known:
        return "none are defined yet"
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"use one of: {shown}"


class LocatedValueError(ValueError):
    """A model validator's complaint about one field, with its fix: raised inside a pydantic validator,
    it reaches the user at `path` (below the model's own place) rather than at the model as a whole."""

    def __init__(self, path: Path, message: str, fix: str = ""):
        super().__init__(message)
        self.path, self.message, self.fix = path, message, fix


@dataclass
class Problem:
    path: Path
    message: str
    fix: str = ""
    line: int | None = None  # 1-based, filled in from the YAML source when known
    column: int | None = None
    key: bool = False  # the problem is the key itself (e.g. an unknown key), not its value
    origin: str | None = None  # where it came from when not the file: a command line's --set key=value

    def render(self, source: str | None) -> str:
        if self.origin is not None:
            text = f"{self.origin}: {self.message}"
            return text + (f"; {self.fix}" if self.fix else "")
        where = source or "<scheme>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {format_path(self.path)}: {self.message}"
        if self.fix:
            text += f"\n    fix: {self.fix}"
        return text


@dataclass
class SchemeError(Exception):
    """One or more problems in a scheme or scenario file."""

    problems: Sequence[Problem]
    source: str | None = None
    kind: str = field(default="scheme")

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{self.source or 'the ' + self.kind} is not a valid {self.kind} ({count} problem{'s' * (count != 1)}):"
        return "\n".join([head, *(p.render(self.source) for p in self.problems)])


class ExpressionError(ValueError):
    """A problem in one expression, with the 0-based column it points at."""

    def __init__(self, message: str, column: int, fix: str = ""):
        super().__init__(message)
        self.message = message
        self.column = column
        self.fix = fix
