"""What a run will need, worked out before it starts, so that a population too large for the machine
is refused with figures rather than killed by the kernel an hour in."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..scenario.models import Scenario

# The measured figure is the basis of these constants, so it stays here (benchmarks/RESULTS.md,
# `python benchmarks/simulate_scale.py --ladder`): the default
# scenario's peak memory grows by 422-428 bytes a person between 1M and 10M people over a year, at
# 10 ties a person, with 5 event kinds. Ties are stored from both ends (CSR, 4-byte ids and kept
# neighbour sums): about 12 bytes a tie end; each event kind adds per-person counts (true and
# observed, 2 bytes each) and feature state (about 16 bytes).
BYTES_PER_PERSON_BASE = 428 - 10 * 12 - 5 * 20
BYTES_PER_TIE_END = 12
BYTES_PER_KIND = 20
# Where records can be false, the truth's state: an index a person (4 bytes), rows for the few a
# false record reached, and true outcomes where they differ (scoring/sparse.py).
BYTES_FOR_TRUTH = 16
FIXED_BYTES = 400 << 20  # the interpreter, NumPy, Arrow and the compiled kernels
HEADROOM = 0.9           # of the memory available, what a run may plan to use


@dataclass(frozen=True)
class MemoryPlan:
    needed: int
    available: int | None

    @property
    def fits(self) -> bool:
        return self.available is None or self.needed <= HEADROOM * self.available


def bytes_per_person(scenario: Scenario, kinds: int) -> float:
    """Peak bytes a person of this scenario takes (and the truth's state, where records can be false)."""
    truth = any(s.identification is not None or s.error_rate > 0 for s in scenario.surveillance.values())
    return BYTES_PER_PERSON_BASE + BYTES_PER_TIE_END * scenario.network.mean_degree + BYTES_PER_KIND * kinds \
        + (BYTES_FOR_TRUTH if truth else 0)


def plan(scenario: Scenario, kinds: int) -> MemoryPlan:
    needed = FIXED_BYTES + int(scenario.population.size * bytes_per_person(scenario, kinds))
    return MemoryPlan(needed, available_bytes())


def largest_population(scenario: Scenario, kinds: int, available: int) -> int:
    return max(int((HEADROOM * available - FIXED_BYTES) / bytes_per_person(scenario, kinds)), 0)


def available_bytes() -> int | None:
    """Memory the system can give a new process now (MemAvailable), or None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def gib(count: float) -> str:
    return f"{count / 2**30:.1f} GiB"
