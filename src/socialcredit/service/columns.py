"""Rows of one table held as columns: how a batch's events and the scores they move go from the
checks to the digests, the kept history and the driver, with no dict per row (a dict per row, made
and read again at each step, was a fifth of an ingest's time in a profile of batches of 1,000)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import compress
from typing import Any


class Columns:
    """Named columns of equal length: `rows["subject"]` is a list, `rows["status"] = ...` sets a
    whole column (`constant` sets one value for every row)."""

    def __init__(self, columns: Mapping[str, Sequence[Any]], size: int | None = None):
        self.data: dict[str, list[Any]] = {name: list(values) for name, values in columns.items()}
        self.size = size if size is not None else len(next(iter(self.data.values()), []))
        if any(len(values) != self.size for values in self.data.values()):
            raise ValueError("columns of different lengths")

    @classmethod
    def of_dicts(cls, rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> Columns:
        return cls({name: [row[name] for row in rows] for name in names}, len(rows))

    def __len__(self) -> int:
        return self.size

    def __bool__(self) -> bool:
        return self.size > 0

    def __getitem__(self, name: str) -> list[Any]:
        return self.data[name]

    def __setitem__(self, name: str, values: Sequence[Any]) -> None:
        if len(values) != self.size:
            raise ValueError(f"column {name!r} has {len(values)} values for {self.size} rows")
        self.data[name] = list(values)

    def __contains__(self, name: object) -> bool:
        return name in self.data

    def constant(self, name: str, value: Any) -> None:
        self.data[name] = [value] * self.size

    def where(self, keep: Iterable[bool]) -> Columns:
        """The rows for which `keep` is true, in order."""
        flags = list(keep)
        if len(flags) != self.size:
            raise ValueError(f"{len(flags)} flags for {self.size} rows")
        if all(flags):
            return Columns(self.data, self.size)
        return Columns({name: list(compress(values, flags)) for name, values in self.data.items()}, sum(flags))

    def dicts(self) -> list[dict[str, Any]]:
        """Each row as a dict (for the paths where rows are few: a batch made again)."""
        names = list(self.data)
        return [dict(zip(names, row, strict=True)) for row in zip(*self.data.values(), strict=True)] if names else []

    def tuples(self, names: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        return zip(*(self.data[name] for name in names), strict=True)
