"""Events as arrays: the one input form of the scoring core."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scheme import Scheme


@dataclass(frozen=True)
class EventArrays:
    """Events as parallel arrays, one element per event.

    subject: index of the subject, 0..n_subjects-1
    kind:    index of the event kind in `scheme.events` (declaration order)
    time:    days since 1970-01-01 (fractional for datetimes)
    value:   the event's value (1 where not given); summed by `sum`, averaged by `mean`
    weight:  the event's weight in a `mean` (1 where not given)
    """

    subject: np.ndarray
    kind: np.ndarray
    time: np.ndarray
    value: np.ndarray
    weight: np.ndarray
    n_subjects: int

    @classmethod
    def build(cls, subject, kind, time, value=None, weight=None, n_subjects: int | None = None) -> EventArrays:
        subject = np.asarray(subject, dtype=np.int64)
        time = np.asarray(time, dtype=np.float64)
        size = subject.shape[0]
        value = np.ones(size) if value is None else np.asarray(value, dtype=np.float64)
        weight = np.ones(size) if weight is None else np.asarray(weight, dtype=np.float64)
        if n_subjects is None:
            n_subjects = int(subject.max()) + 1 if size else 0
        kind = np.asarray(kind, dtype=np.int16)
        if not (len(kind) == len(time) == len(value) == len(weight) == size):
            raise ValueError("event arrays must all have the same length")
        return cls(subject, kind, time, value, weight, n_subjects)

    def __len__(self) -> int:
        return int(self.subject.shape[0])


def kind_codes(scheme: Scheme) -> dict[str, int]:
    """Event kind name -> the code used in EventArrays.kind."""
    return {name: code for code, name in enumerate(scheme.events)}
