"""Random streams keyed by (seed, stream, day, chunk[, part]), never by worker or thread.

A chunk is a fixed block of person ids (`run.chunk` people). Every per-person draw is made chunk
by chunk from its own generator, so the same scenario and seed give identical numbers however the
chunks are scheduled."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

STREAMS = {
    "population": 1, "network": 2, "behaviour": 3, "surveillance": 4, "economy": 5, "social": 6,
    "appeals": 7, "incidents": 8, "consequences": 9, "behaviour_values": 10, "watchlist": 11,
    "farming": 12, "farming_values": 13, "pruning": 14, "inflation": 15, "inflation_values": 16, "sharing": 17,
    "removal": 18, "enrolment": 19, "enrolment_setup": 20,
}


BURN_IN_KEY = 1 << 62


def generator(seed: int, stream: str, day: int, chunk: int = 0, part: int | None = None) -> np.random.Generator:
    """The generator of (seed, stream, day, chunk), and of one `part` of it (a kind of act, say)
    when given: parts have streams of their own, so they can be drawn in any order or at once."""
    # day + 1 so that set-up draws (day -1) stay non-negative, as SeedSequence requires; the days of a
    # burn-in before day 0 (-2 and earlier) far above any real day. (A burn-in's day -1 shares its
    # key with set-up draws only in name: no set-up draws from a daily stream without a part.)
    key = [seed, STREAMS[stream], day + 1 if day >= -1 else BURN_IN_KEY - day, chunk] + \
        ([] if part is None else [part + 1])
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))


def chunks(n: int, chunk: int) -> list[tuple[int, int, int]]:
    """(chunk index, first id, end id) of each block of person ids."""
    return [(index, start, min(start + chunk, n)) for index, start in enumerate(range(0, n, chunk))]


class PersonStreams:
    """The generators of one (seed, stream, day), one per chunk of ids. Successive `draw` calls
    continue each chunk's stream, so drawing (K, m) at once and drawing m K times give the same
    numbers: a caller can draw one row at a time and hold one row in memory."""

    def __init__(self, seed: int, stream: str, day: int, n: int, chunk: int, part: int | None = None):
        self.parts = [(generator(seed, stream, day, index, part), start, end) for index, start, end in chunks(n, chunk)]
        self.empty = generator(seed, stream, day, 0, part)

    def each(self) -> list[tuple[np.random.Generator, int, int]]:
        """(generator, first id, end id) of each chunk, for draws shaped other than one per person."""
        return self.parts

    def draw(self, draw: Callable[[np.random.Generator, int], np.ndarray]) -> np.ndarray:
        """Concatenate `draw(generator, size)` over the chunks of ids 0..n-1 (last axis is people)."""
        if not self.parts:
            return draw(self.empty, 0)
        return np.concatenate([draw(g, end - start) for g, start, end in self.parts], axis=-1)


def per_person(seed: int, stream: str, day: int, n: int, chunk: int,
               draw: Callable[[np.random.Generator, int], np.ndarray]) -> np.ndarray:
    """Concatenate `draw(generator, size)` over the chunks of ids 0..n-1 (last axis is people)."""
    return PersonStreams(seed, stream, day, n, chunk).draw(draw)
