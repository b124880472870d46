"""Effects of consequences on people's lives: income, which feeds back into behaviour (the loop
critics describe: sanction -> lower income -> more late payments -> lower score)."""

from __future__ import annotations

import numpy as np

from ..sim.model import Sim
from ..sim.rng import per_person
from ..sim.scenario import entitlement_effects


class Economy:
    """Income follows a log random walk with a baseline drift, shifted by consequences in force."""

    name = "effects"

    def __init__(self, sim: Sim):
        self.spec = sim.scenario.economy

    def step(self, sim: Sim, day: int) -> None:
        growth = np.full(sim.n, self.spec.income_growth)
        denied = sim.denied
        for entitlement, consequence in entitlement_effects(sim.scenario, sim.scheme).items():
            if consequence.denied.income_growth:
                growth += consequence.denied.income_growth * denied[entitlement]
            if consequence.granted.income_growth:
                growth += consequence.granted.income_growth * ~denied[entitlement]
        sigma = self.spec.income_volatility / np.sqrt(365.0)
        shocks = per_person(sim.seed, "economy", day, sim.n, sim.chunk,
                            lambda g, m: g.standard_normal(m, dtype=np.float32))
        # Drift corrected by -sigma^2/2 so that the mean income grows at `growth`, not faster.
        sim.people.income *= np.exp(growth / 365.0 - sigma**2 / 2 + sigma * shocks)
