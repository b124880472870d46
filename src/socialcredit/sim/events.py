"""A day's events as arrays: what people did (true), and what the sources recorded (observed)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass
class DayEvents:
    subject: np.ndarray   # int64 person the event is attributed to
    kind: np.ndarray      # int16 code in scheme.events
    time: np.ndarray      # float64 day the act happened (a late report keeps its own date)
    value: np.ndarray     # float64
    source: np.ndarray    # int16 code of the recording source (-1 for true events)
    actor: np.ndarray     # int64 person who really did it (-1: nobody, an invented record)
    genuine: np.ndarray   # bool: the record is true (right person, right kind, not a duplicate)
    id: np.ndarray        # int64 event id, unique within a run (-1 for true events)

    @classmethod
    def empty(cls) -> DayEvents:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0), np.zeros(0), np.zeros(0, np.int16),
                   np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int64))

    @classmethod
    def acts(cls, who: np.ndarray, kind: int, time: float, value: np.ndarray) -> DayEvents:
        """What people really did: attributed to themselves, genuine, not yet recorded."""
        size = who.size
        return cls(who.astype(np.int64), np.full(size, kind, dtype=np.int16), np.full(size, time), value,
                   np.full(size, -1, dtype=np.int16), who.astype(np.int64), np.ones(size, bool),
                   np.full(size, -1, dtype=np.int64))

    def draw_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """Two integers per record that name it alike in any run of a seed, for draws keyed by the
        record (`scenario.streams.KeyedDraws`): who did the act, and the day, kind and truth of the
        record. (Its place among the day's records, or its id, shifts when anyone else acts otherwise.)"""
        day = self.time.astype(np.int64)
        return self.actor, ((day << 16) + self.kind.astype(np.int64)) * 2 + self.genuine

    def __len__(self) -> int:
        return int(self.subject.shape[0])

    def take(self, index: np.ndarray) -> DayEvents:
        return DayEvents(*(getattr(self, f.name)[index] for f in fields(self)))

    @classmethod
    def concat(cls, parts: list[DayEvents]) -> DayEvents:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))
