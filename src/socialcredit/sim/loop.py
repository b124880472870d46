"""The step loop: the phases of a day, in one visible order, each timed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from ..analysis.metrics import Metrics
from ..world.appeals import Appeals
from ..world.behaviour import Behaviour
from ..world.consequences import Consequences
from ..world.economy import Economy
from ..world.incidents import Incidents
from ..world.scoring import Scoring
from ..world.social import SocialResponse
from ..world.surveillance import Surveillance
from ..world.watchlist import Watchlist
from .model import Sim


class Module(Protocol):
    name: str

    def step(self, sim: Sim, day: int) -> None: ...

# A module may also have `start_reporting(sim)`: called on day 0 after a burn-in (days before day 0
# are negative), to start its tallies afresh. Modules that only report (metrics, harms) skip the
# burn-in's days.


# docs/design.md, "A simulated day": behaviour -> surveillance -> incidents -> scoring -> consequences -> watchlist
# policing (on today's lists) -> effects -> social response -> appeals -> metrics.
PHASES: tuple[type, ...] = (Behaviour, Surveillance, Incidents, Scoring, Consequences, Watchlist, Economy,
                            SocialResponse, Appeals, Metrics)


class Loop:
    def __init__(self, sim: Sim):
        self.sim = sim
        self.modules: list[Module] = [phase(sim) for phase in PHASES]
        self.seconds = {module.name: 0.0 for module in self.modules}

    def module(self, kind: type) -> Module:
        return next(m for m in self.modules if isinstance(m, kind))

    def run(self, on_day: Callable[[int], None] | None = None) -> None:
        sim = self.sim
        for day in range(-sim.burn_in, sim.days):
            if day == 0 and sim.burn_in:
                sim.start_reporting()
                for module in self.modules:
                    restart = getattr(module, "start_reporting", None)
                    if restart is not None:
                        restart(sim)
            for module in self.modules:
                started = time.perf_counter()
                module.step(sim, day)
                self.seconds[module.name] += time.perf_counter() - started
            if sim.saved_events is not None and len(sim.observed_events):
                sim.saved_events.append((day, sim.observed_events))
            if on_day is not None:
                on_day(day)
