"""Random streams keyed by (seed, stream, day, chunk), never by worker or thread.

A chunk is a fixed block of person ids (`run.chunk` people). Every per-person draw is made chunk
by chunk from its own generator, so the same scenario and seed give identical numbers however the
chunks are scheduled."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

STREAMS = {
    "population": 1, "network": 2, "behaviour": 3, "surveillance": 4, "economy": 5, "social": 6,
    "appeals": 7, "incidents": 8, "consequences": 9, "behaviour_values": 10,
}


def generator(seed: int, stream: str, day: int, chunk: int = 0) -> np.random.Generator:
    # day + 1 so that set-up draws (day -1) stay non-negative, as SeedSequence requires.
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, STREAMS[stream], day + 1, chunk])))


def chunks(n: int, chunk: int) -> list[tuple[int, int, int]]:
    """(chunk index, first id, end id) of each block of person ids."""
    return [(index, start, min(start + chunk, n)) for index, start in enumerate(range(0, n, chunk))]


def per_person(seed: int, stream: str, day: int, n: int, chunk: int,
               draw: Callable[[np.random.Generator, int], np.ndarray]) -> np.ndarray:
    """Concatenate `draw(generator, size)` over the chunks of ids 0..n-1 (last axis is people)."""
    parts = [draw(generator(seed, stream, day, index), end - start) for index, start, end in chunks(n, chunk)]
    return np.concatenate(parts, axis=-1) if parts else draw(generator(seed, stream, day, 0), 0)
