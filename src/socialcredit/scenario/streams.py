"""Random streams keyed by (seed, stream, day, chunk[, part]), never by worker or thread.

A chunk is a fixed block of person ids (`run.chunk` people). Every per-person draw is made chunk
by chunk from its own generator, so the same scenario and seed give identical numbers however the
chunks are scheduled.

Draws about records (`KeyedDraws`) are keyed further, by what each is about (an act: who did it,
which kind, which day): common random numbers, as Starsim's per-agent-slot draws are. A record's
draw then does not depend on how many other records there are or where it stands among them, so a
paired twin in which some people act otherwise draws the same for everyone else."""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

STREAMS = {
    "population": 1, "network": 2, "behaviour": 3, "surveillance": 4, "economy": 5, "social": 6,
    "appeals": 7, "incidents": 8, "consequences": 9, "behaviour_values": 10, "watchlist": 11,
    "farming": 12, "farming_values": 13, "pruning": 14, "inflation": 15, "inflation_values": 16, "sharing": 17,
    "removal": 18, "enrolment": 19, "enrolment_setup": 20, "amplification": 21,
}


BURN_IN_KEY = 1 << 62
KEYED_MARK = 1 << 40  # in the place of a chunk index (never this large): keyed draws' keys are no generator's


def day_key(day: int) -> int:
    # day + 1 so that set-up draws (day -1) stay non-negative, as SeedSequence requires; the days of a
    # burn-in before day 0 (-2 and earlier) far above any real day.
    return day + 1 if day >= -1 else BURN_IN_KEY - day


def generator(seed: int, stream: str, day: int, chunk: int = 0, part: int | None = None) -> np.random.Generator:
    """The generator of (seed, stream, day, chunk), and of one `part` of it (a kind of act, say)
    when given: parts have streams of their own, so they can be drawn in any order or at once."""
    # (A burn-in's day -1 shares its key with set-up draws only in name: no set-up draws from a daily
    # stream without a part.)
    key = [seed, STREAMS[stream], day_key(day), chunk] + ([] if part is None else [part + 1])
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


GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment: 2**64 / the golden ratio, odd
UNIT = 1.0 / (1 << 53)


@numba.njit(cache=True, nogil=True, inline="always")
def mix64(z: np.uint64) -> np.uint64:  # pragma: no cover
    """SplitMix64's output function (Steele, Lea & Flood 2014, the finaliser of MurmurHash3 with
    Stafford's constants): a bijection of 64-bit words whose outputs on a counter stepped by the
    golden gamma pass BigCrush."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, nogil=True, inline="always")
def keyed_uniform(base: np.uint64, first: np.int64, second: np.int64) -> float:  # pragma: no cover
    """A uniform in [0, 1) that is a function of (base, first, second) alone: SplitMix64 at counter
    `first` of the stream `base`, its output taken as the next stream's start and stepped to counter
    `second`; the top 53 bits as a double."""
    z = mix64(base + np.uint64(first) * GOLDEN_GAMMA + GOLDEN_GAMMA)
    z = mix64(z + np.uint64(second) * GOLDEN_GAMMA + GOLDEN_GAMMA)
    return np.float64(z >> np.uint64(11)) * UNIT


@numba.njit(cache=True, nogil=True)
def keyed_uniforms_into(base: np.uint64, first: np.ndarray, second: np.ndarray,
                        out: np.ndarray) -> None:  # pragma: no cover
    """out[i] = keyed_uniform(base, first[i], second[i])."""
    for i in range(out.shape[0]):
        out[i] = keyed_uniform(base, first[i], second[i])


class KeyedDraws:
    """Uniforms of (seed, stream, day, parts) keyed by what each draw is about, as two non-negative
    integers per draw (`first`: a person; `second`: which of their acts, say): the same key gives
    the same number in any run of the seed, whatever else is drawn, in any order or count. A
    purpose (recorded or not, by which source; misidentified or not) is a part of its own, so the
    draws of one act for different purposes are independent."""

    def __init__(self, seed: int, stream: str, day: int, *parts: int):
        key = [seed, STREAMS[stream], day_key(day), KEYED_MARK, *parts]
        self.base = np.random.SeedSequence(key).generate_state(1, np.uint64)[0]

    def uniforms(self, first: np.ndarray, second: np.ndarray | int = 0) -> np.ndarray:
        """One uniform per element of `first` (and of `second`, broadcast to its shape)."""
        first = np.ascontiguousarray(first, dtype=np.int64)
        second = np.ascontiguousarray(np.broadcast_to(np.asarray(second, dtype=np.int64), first.shape))
        out = np.empty(first.shape[0], dtype=np.float64)
        keyed_uniforms_into(self.base, first, second, out)
        return out
