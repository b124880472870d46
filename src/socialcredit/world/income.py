"""Effects of consequences on people's lives: income, which feeds back into behaviour (the loop
critics describe: sanction -> lower income -> more late payments -> lower score)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numba
import numpy as np

from ..parallel import parallel_map
from ..scenario.streams import PersonStreams
from ..sim.model import Sim
from ..sim.module import Module
from .consequences import entitlement_effects

GROWTH_RUN = 1 << 16  # people whose income factors are made at a time (half a megabyte: in cache)


@numba.njit(cache=True, nogil=True)
def log_growth(shocks: np.ndarray, drift: float, sigma: float, allowed: np.ndarray, if_denied: np.ndarray,
               if_allowed: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """Each person's log income change today, into `out`: drift + the growth shifts in force +
    sigma x shock, where row e of `allowed` (entitlements x people) adds `if_allowed[e]` where
    granted and `if_denied[e]` where not (yearly growth already divided by 365), added in that
    order. One pass over the people per term rather than one pass with a loop over the terms
    inside: each such pass is a loop the compiler vectorises (several times as fast). NumPy
    takes the exponential after: its vectorised exp is faster than a compiled loop's
    (benchmarks/RESULTS.md)."""
    n = shocks.shape[0]
    out[:] = drift
    for e in range(allowed.shape[0]):
        granted, if_granted, if_not = allowed[e], if_allowed[e], if_denied[e]
        for person in range(n):
            out[person] += if_granted if granted[person] else if_not
    for person in range(n):
        out[person] += sigma * np.float64(shocks[person])


class Income(Module):
    """Income follows a log random walk with a baseline drift, shifted by consequences in force.

    The day's shocks are drawn a day ahead on a thread of their own (from the day's own stream, so
    the numbers are the same whenever they are drawn), into the array of the day before's: the
    draw is off the day's path, and touches no fresh memory."""

    name = "income"
    params = ("economy", "consequences")

    def __init__(self, sim: Sim):
        self.spec = sim.scenario.economy
        self.sigma = self.spec.income_volatility / np.sqrt(365.0)
        # The entitlements whose grant or denial shifts income growth, with their daily shifts (with
        # several schemes, every scheme's: a person denied by two schemes has both shifts).
        effects = [(state, name, c) for state, name, c in entitlement_effects(sim).values()
                   if c.denied.income_growth or c.granted.income_growth]
        self.shifting = [(state, name) for state, name, _ in effects]
        self.if_denied = np.array([c.denied.income_growth / 365.0 for _, _, c in effects], dtype=np.float64)
        self.if_allowed = np.array([c.granted.income_growth / 365.0 for _, _, c in effects], dtype=np.float64)
        self.worker: ThreadPoolExecutor | None = None
        self.ahead: tuple[int, Future[np.ndarray]] | None = None  # (day, its shocks being drawn)
        self.uniforms: np.ndarray | None = None  # the draw's buffer: a chunk's uniforms (see `shocks`)
        self.factors = threading.local()  # each thread's buffer of the day's income factors, a run of people at a time

    def shocks(self, sim: Sim, day: int, out: np.ndarray | None = None) -> np.ndarray:
        """The day's standard normal shock of each person (float32, into `out` when given), chunk
        by chunk from the day's streams.

        Drawn by Box-Muller from uniforms, in NumPy's vectorised log, sqrt, cos and sin, in place
        in one kept buffer (a chunk's worth): faster than NumPy's ziggurat for float32
        (benchmarks/RESULTS.md), whose temporaries would also each touch fresh pages. Of each chunk's
        uniforms, the first half give the radii and the second the angles; the normals are the
        cosines, then the sines. A float32 uniform's 24 bits put the largest shock at 5.8
        standard deviations."""
        out = np.empty(sim.n, dtype=np.float32) if out is None else out
        for generator_, start, end in PersonStreams(sim.seed, "economy", day, sim.n, sim.chunk).each():
            size = end - start
            half = (size + 1) // 2
            if self.uniforms is None or self.uniforms.size < 2 * half:
                self.uniforms = np.empty(2 * half, dtype=np.float32)
            uniforms = self.uniforms[:2 * half]
            generator_.random(out=uniforms, dtype=np.float32)
            radius, angle = uniforms[:half], uniforms[half:]
            np.negative(radius, out=radius)
            np.log1p(radius, out=radius)  # log(1 - u), 1 - u in (0, 1]
            radius *= np.float32(-2.0)
            np.sqrt(radius, out=radius)
            angle *= np.float32(2.0 * np.pi)
            cosines, sines = out[start:start + half], out[start + half:end]
            np.cos(angle, out=cosines)
            cosines *= radius
            np.sin(angle[:sines.size], out=sines)
            sines *= radius[:sines.size]
        return out

    def settle(self, sim: Sim) -> None:
        # Tomorrow's shocks are being drawn into a buffer: done before the state is saved. The
        # continued run draws them again (keyed by the day: the same numbers).
        if self.ahead is not None:
            self.ahead[1].result()

    def step(self, sim: Sim, day: int) -> None:
        ahead, self.ahead = self.ahead, None
        drawn = ahead[1].result() if ahead is not None else None  # finished whatever its day: it uses the buffer
        shocks = drawn if ahead is not None and ahead[0] == day else self.shocks(sim, day)
        # Before a scheme's first scoring nobody is denied anything by it.
        allowed = np.stack([state.allowed(name) for state, name in self.shifting]) if self.shifting \
            else np.ones((0, sim.n), dtype=bool)
        # Drift corrected by -sigma^2/2 so that the mean income grows at `growth`, not faster.
        drift = self.spec.income_growth / 365.0 - self.sigma**2 / 2
        # A run of people at a time, through one kept buffer: a day's factors for everyone would be
        # fresh memory every day, whose first touch costs more than the arithmetic
        # (benchmarks/RESULTS.md).
        # Runs shared between the two threads, each through a buffer of its own (each person's
        # arithmetic is its own: the same numbers whatever the threads).
        income = sim.people.income

        def grow(low: int) -> None:
            high = min(low + GROWTH_RUN, sim.n)
            factor = getattr(self.factors, "buffer", None)
            if factor is None:
                factor = self.factors.buffer = np.empty(min(max(sim.n, 1), GROWTH_RUN))
            part = factor[:high - low]
            log_growth(shocks[low:high], drift, self.sigma, allowed[:, low:high], self.if_denied, self.if_allowed,
                       part)
            income[low:high] *= np.exp(part, out=part)

        parallel_map(grow, range(0, sim.n, GROWTH_RUN))
        if day + 1 < sim.days:  # tomorrow's shocks, drawn into today's array (used up now)
            if self.worker is None:
                self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="socialcredit-economy")
            self.ahead = (day + 1, self.worker.submit(self.shocks, sim, day + 1, shocks))
        elif self.worker is not None:
            self.worker.shutdown()
            self.worker = None
