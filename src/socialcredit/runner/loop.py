"""The step loop: the registered phases of a day, in one visible order, each timed."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..sim.model import Sim
from ..sim.module import Module
from ..world.appeals import Appeals
from ..world.behaviour import Behaviour
from ..world.display import Display
from ..world.enrolment import Enrolment
from ..world.farming import Farming
from ..world.incidents import Incidents
from ..world.income import Income
from ..world.inflation import RatingInflation
from ..world.metrics import Metrics
from ..world.pruning import Pruning
from ..world.score_keeping import ScoreKeeping
from ..world.social import SocialResponse
from ..world.surveillance import Surveillance
from ..world.tallies import Tallies
from ..world.watchlist import Watchlist

# Where phases are registered (docs/design.md, "A simulated day"): behaviour -> rating inflation
# (what raters publish of the ratings they give) -> surveillance -> incidents -> points farming
# (records of acts done for the points) -> score keeping -> enrolment (who joins and leaves tonight, the
# scheme's rule for those who are not enrolled applied at each scoring) -> tallies -> watchlist policing (on
# today's lists) -> income -> pruning friends (ties that cost points, queued for the social
# response) -> public displays (pictures paid off) -> social response -> appeals -> metrics. A
# run's outputs gather what each declares (sim/module.py), in this order.
PHASES: tuple[type[Module], ...] = (Behaviour, RatingInflation, Surveillance, Incidents, Farming, ScoreKeeping,
                                    Enrolment, Tallies, Watchlist, Income, Pruning, Display, SocialResponse, Appeals,
                                    Metrics)


class Loop:
    def __init__(self, sim: Sim):
        self.sim = sim
        for phase in PHASES:  # each built once the phases before it are registered: it may read them
            sim.modules.append(phase(sim))
        self.modules = sim.modules
        self.seconds = {module.name: 0.0 for module in self.modules}

    def run(self, on_day: Callable[[int], None] | None = None, after: int | None = None,
            save_at: tuple[int, Callable[[int], object]] | None = None) -> None:
        """Step every day, or those after day `after` (a run continued from a saved state); at the end
        of day `save_at[0]`, call `save_at[1]` with the day (saving the state, sim/state.py)."""
        sim = self.sim
        save_day = save_at[0] if save_at is not None else None
        for day in range(-sim.burn_in if after is None else after + 1, sim.days):
            if day == 0 and sim.burn_in:
                sim.start_reporting()
                for module in self.modules:
                    module.start_reporting(sim)
            for module in self.modules:
                started = time.perf_counter()
                module.step(sim, day)
                self.seconds[module.name] += time.perf_counter() - started
            if sim.saved_events is not None and len(sim.observed_events):
                sim.saved_events.append((day, sim.observed_events))
            if day == save_day and save_at is not None:
                save_at[1](day)
            if on_day is not None:
                on_day(day)
        for module in self.modules:
            module.finish(sim)
