"""What the store holds of the scheme's input lists (another body's lists: a court's defaulters),
as scoring and the reads of a subject's file need it: who is on each list at a time, and a
subject's places on them. The room that changes them is `inputlists.py`.

A subject is on a list at time t when a membership of theirs on it was listed on or before t and
not delisted by then (`listed_on <= t < delisted_on`), as `socialcredit score --list` takes the
members a file names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import bindparam, exists, or_, select

from ..eventlog import days_to_text
from ..scheme import Scheme
from .db import InputListMember
from .store import CHUNK, Reader

M = InputListMember
_HELD_AT = (M.listed_on <= bindparam("as_of"),
            or_(M.delisted_on.is_(None), M.delisted_on > bindparam("as_of")))
ON_LISTS = select(M.list, M.subject).where(M.subject.in_(bindparam("subjects", expanding=True)), *_HELD_AT)
PLACES = select(M.list, M.listed_on, M.listed_source).where(M.subject == bindparam("subject"), *_HELD_AT)
NAMED = select(exists().where(M.subject == bindparam("subject")))
LISTED_SUBJECTS = select(M.subject).distinct()


def inputs(reader: Reader, scheme: Scheme, subjects: Sequence[str], as_of: float) -> dict[str, np.ndarray]:
    """Each of the scheme's input lists as the scoring core takes it: true for the subjects (in the
    order given) on it at `as_of`."""
    index = {s: i for i, s in enumerate(subjects)}
    members = {name: np.zeros(len(subjects), dtype=bool) for name in scheme.input_lists}
    for start in range(0, len(subjects), CHUNK):
        chunk = list(subjects[start:start + CHUNK])
        for name, subject in reader.execute(ON_LISTS, {"subjects": chunk, "as_of": as_of}):
            if name in members:  # a list a newer scheme version no longer reads is not read
                members[name][index[subject]] = True
    return members


def places(reader: Reader, scheme: Scheme, subject: str, as_of: float) -> dict[str, dict[str, Any]]:
    """The subject's place on each input list at `as_of`: whether they are on it, since when, on
    whose reference, and what the list is (its description: who keeps it)."""
    held = {name: (on, source) for name, on, source in reader.execute(PLACES, {"subject": subject, "as_of": as_of})}
    answer = {}
    for name, spec in scheme.input_lists.items():
        on, source = held.get(name, (None, None))
        answer[name] = {"member": on is not None, "since": days_to_text(on) if on is not None else None,
                        "source": source, "kept_by": spec.description or None}
    return answer


def named(reader: Reader, subject: str) -> bool:
    """Whether any membership, current or past, names the subject."""
    return bool(reader.execute(NAMED, {"subject": subject}).scalar())


def listed_subjects(reader: Reader) -> set[str]:
    """Every subject a membership names."""
    return set(reader.execute(LISTED_SUBJECTS).scalars())
