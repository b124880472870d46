"""One day's events as arrays, true or observed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class DayEvents:
    subject: np.ndarray   # int64 person id the event is attributed to
    kind: np.ndarray      # int16 code in scheme.events
    value: np.ndarray     # float64
    source: np.ndarray    # int16 code of the recording source (-1 for true events)
    actor: np.ndarray     # int64 person who really did it (truth, kept beside observation)

    @classmethod
    def empty(cls) -> DayEvents:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0), np.zeros(0, np.int16),
                   np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.subject.shape[0])

    def take(self, index: np.ndarray) -> DayEvents:
        return DayEvents(self.subject[index], self.kind[index], self.value[index], self.source[index],
                         self.actor[index])

    @classmethod
    def concat(cls, parts: list[DayEvents]) -> DayEvents:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("subject", "kind", "value", "source", "actor")))
