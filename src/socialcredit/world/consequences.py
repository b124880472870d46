"""Consequences: who is on each list and denied each entitlement today, counted per person (what
those consequences do to people's income is `economy.py`; to what they may do, `behaviour.py`)."""

from __future__ import annotations

from ..sim.model import Sim


class Consequences:
    name = "consequences"

    def __init__(self, sim: Sim):
        pass

    def step(self, sim: Sim, day: int) -> None:
        for name, member in sim.listed.items():
            sim.listed_days[name] += member
        for name, denied in sim.denied.items():
            sim.denied_days[name] += denied
