"""The contract a phase of a simulated day keeps, and what a phase owns (docs/design.md, "Phase
modules"): the scenario keys it reads, the per-person arrays it keeps, the figures it reports and
its rows in the report. The loop (`simulate/loop.py`, `PHASES`) builds one of each registered
phase with the `Sim` and steps them in order; a run's people.parquet, summary.json and report
gather what each one declares, so that no code outside a phase reaches into its state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from .model import Sim

# A row of the report's harms table: (figure, value, what it means).
ReportRow = tuple[str, str, str]


class Module:
    """A phase of the day. Subclasses set `name` and `params`, and override `step` and whichever
    of the declarations below they have something for (the defaults declare nothing)."""

    # The phase's name: its key in phase_seconds.
    name: ClassVar[str] = ""
    # The scenario's top-level keys this phase reads (its part of the scenario). Every key of the
    # scenario is read by a phase or by the frame (`sim.model.FRAME_PARAMS`): a test holds that.
    params: ClassVar[tuple[str, ...]] = ()
    # The attributes that change as the run goes on (arrays, tallies, queues, caches and the helper
    # objects holding them): what a saved state keeps of the phase (sim/state.py). The rest is built
    # from the scenario again when a run continues from a saved state; an attribute left out here
    # starts afresh there, and the test that a continued run equals one that never stopped fails.
    state_fields: ClassVar[tuple[str, ...]] = ()
    # Attributes worked out from the state and the parameters and kept until what they depend on
    # changes: saved too, and restored when a run continues with the same parameters (bit for bit);
    # made afresh after a change of parameters, which they do not track.
    cache_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, sim: Sim) -> None:
        """Set up the phase's state for `sim`; the phases before it in the loop are registered."""

    def step(self, sim: Sim, day: int) -> None:
        raise NotImplementedError

    def start_reporting(self, sim: Sim) -> None:
        """Day 0 after a burn-in (whose days are negative): start the phase's tallies afresh."""

    def resume(self, sim: Sim) -> None:
        """After a saved state is restored (sim/state.py): fit what it holds to the continued run's
        scenario where that may differ from the saved one's (its run.days)."""

    def settle(self, sim: Sim) -> None:
        """Before the state is saved: wait for the phase's work still running on its own threads."""

    def finish(self, sim: Sim) -> None:
        """After the last day: wait for work still running on the phase's own threads, and stop them."""

    def people_columns(self, sim: Sim, part: slice) -> dict[str, np.ndarray]:
        """The per-person arrays the phase keeps, as people.parquet's columns for the people of `part`."""
        return {}

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        """Write the phase's figures into `summary` (summary.json), where its layout puts them."""

    def report_rows(self, summary: dict[str, Any], groups: list[str]) -> list[ReportRow]:
        """The phase's rows in the report's harms table, from its figures in `summary`."""
        return []
