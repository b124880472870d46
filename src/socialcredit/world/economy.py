"""Effects of consequences on people's lives: income, which feeds back into behaviour (the loop
critics describe: sanction -> lower income -> more late payments -> lower score)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numba
import numpy as np

from ..sim.model import Sim
from ..sim.rng import per_person
from ..sim.scenario import entitlement_effects


@numba.njit(cache=True, nogil=True)
def log_growth(shocks: np.ndarray, drift: float, sigma: float, allowed: np.ndarray, if_denied: np.ndarray,
               if_allowed: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Each person's log income change today: drift + the growth shifts in force + sigma x shock,
    where row e of `allowed` (entitlements x people) adds `if_allowed[e]` where granted and
    `if_denied[e]` where not (yearly growth already divided by 365), added in that order. One
    pass over the people per term rather than one pass with a loop over the terms inside: each
    such pass is a loop the compiler vectorises (five times as fast at a million people). NumPy
    takes the exponential after: its vectorised exp is three times as fast as a compiled loop's."""
    n = shocks.shape[0]
    out = np.full(n, drift)
    for e in range(allowed.shape[0]):
        granted, if_granted, if_not = allowed[e], if_allowed[e], if_denied[e]
        for person in range(n):
            out[person] += if_granted if granted[person] else if_not
    for person in range(n):
        out[person] += sigma * np.float64(shocks[person])
    return out


class Economy:
    """Income follows a log random walk with a baseline drift, shifted by consequences in force.

    The day's shocks are drawn a day ahead on a thread of their own (from the day's own stream, so
    the numbers are the same whenever they are drawn): the draw, a tenth of the step's cost at a
    million people, is off the day's path."""

    name = "effects"

    def __init__(self, sim: Sim):
        self.spec = sim.scenario.economy
        self.sigma = self.spec.income_volatility / np.sqrt(365.0)
        # The entitlements whose grant or denial shifts income growth, with their daily shifts.
        effects = {name: c for name, c in entitlement_effects(sim.scenario, sim.scheme).items()
                   if c.denied.income_growth or c.granted.income_growth}
        self.shifting = list(effects)
        self.if_denied = np.array([c.denied.income_growth / 365.0 for c in effects.values()], dtype=np.float64)
        self.if_allowed = np.array([c.granted.income_growth / 365.0 for c in effects.values()], dtype=np.float64)
        self.worker: ThreadPoolExecutor | None = None
        self.ahead: tuple[int, Future[np.ndarray]] | None = None  # (day, its shocks being drawn)

    def shocks(self, sim: Sim, day: int) -> np.ndarray:
        return per_person(sim.seed, "economy", day, sim.n, sim.chunk,
                          lambda g, m: g.standard_normal(m, dtype=np.float32))

    def step(self, sim: Sim, day: int) -> None:
        ahead, self.ahead = self.ahead, None
        shocks = ahead[1].result() if ahead is not None and ahead[0] == day else self.shocks(sim, day)
        if day + 1 < sim.days:
            if self.worker is None:
                self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="socialcredit-economy")
            self.ahead = (day + 1, self.worker.submit(self.shocks, sim, day + 1))
        elif self.worker is not None:
            self.worker.shutdown()
            self.worker = None
        if sim.scores is None:  # before the first scoring nobody is denied anything
            allowed = np.ones((len(self.shifting), sim.n), dtype=bool)
        else:
            allowed = np.stack([sim.scores.entitlements[name] for name in self.shifting]) if self.shifting \
                else np.ones((0, sim.n), dtype=bool)
        # Drift corrected by -sigma^2/2 so that the mean income grows at `growth`, not faster.
        drift = self.spec.income_growth / 365.0 - self.sigma**2 / 2
        factor = log_growth(shocks, drift, self.sigma, allowed, self.if_denied, self.if_allowed)
        sim.people.income *= np.exp(factor, out=factor)
