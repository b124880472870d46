"""Paying to be taken off the screen: a disclosed list with a removal fee (`consequences.<list>.
removal`) shows its members' pictures on public displays until they pay to have theirs taken down.
They stay on the list (its entitlements, its watchlist and its days listed are unchanged); what
follows the display is who their ties see, and so shunning (`social.py`) and the appeal of being
newly shown (`appeals.py`).

Each day, after income has moved, each person shown pays with chance
`rate / (1 + (fee / income) / half_burden)`, and never where the fee is a year's income or more
(the model keeps no savings: the fee comes out of income). The fee is taken from their yearly
income, from which the random walk then carries on. A removal lasts while they stay on the list:
off it and back on, their picture is shown again. The same fee weighs far more on the poor, so
who stays shown is who cannot pay: the figures say so by income quintile (of income at day 0).
A list without `removal` is shown to all its members, as it always was, and costs no work here."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..scenario.models import RemovalSpec
from ..scenario.streams import generator
from ..sim.model import Sim
from ..sim.module import Module, ReportRow
from ..sim.schemes import SchemeState
from ..undefined import put, put_by_group, shown
from .consequences import disclosed_lists

QUINTILES = ("q1", "q2", "q3", "q4", "q5")  # q1 the poorest fifth of people, by income at day 0


class Board:
    """The public display of one disclosed list with a removal fee: who has paid to be taken off it
    (while still on the list), and what each person was shown and paid."""

    def __init__(self, sim: Sim, state: SchemeState, name: str, qualified: str, spec: RemovalSpec, part: int):
        self.state, self.name, self.qualified, self.spec, self.part = state, name, qualified, spec, part
        n = sim.n
        self.removed = np.zeros(n, dtype=bool)  # on the list, picture taken down
        self.days_shown = np.zeros(n, dtype=sim.days_type)
        self.ever_shown = np.zeros(n, dtype=bool)
        self.paid = np.zeros(n, dtype=np.uint16)  # removals paid
        self.fees_paid = np.zeros(n, dtype=np.float64)

    def shown(self) -> np.ndarray:
        """Who is on the list and still on the display now."""
        return self.state.listed[self.name] & ~self.removed

    def start_reporting(self) -> None:
        for tally in (self.days_shown, self.ever_shown, self.paid, self.fees_paid):
            tally[...] = 0

    def step(self, sim: Sim, day: int) -> None:
        listed = self.state.listed[self.name]
        self.removed &= listed  # off the list: a next listing is shown afresh
        up = listed & ~self.removed  # put up today, whether or not taken down by tonight
        if day >= 0:
            self.ever_shown |= up
        spec = self.spec
        if spec.rate > 0:
            on_display = np.flatnonzero(up)
            income = sim.people.income
            burden = spec.fee / income[on_display]
            chance = np.where(burden < 1, spec.rate / (1 + burden / spec.half_burden), 0.0)
            # A stream of its own (a part a list): paying draws nothing from any other phase's numbers.
            draws = generator(sim.seed, "removal", day, part=self.part).random(on_display.size)
            paying = on_display[draws < chance]
            self.removed[paying] = True
            up[paying] = False
            income[paying] -= spec.fee
            if day >= 0:
                self.paid[paying] += 1
                self.fees_paid[paying] += spec.fee
        if day >= 0:  # a day counts as shown where the picture is still up after the day's payments
            self.days_shown += up

    def figures(self, sim: Sim) -> dict[str, Any]:
        people = sim.people
        groups = people.group_names
        quintile = income_quintile(people.income_initial)
        sizes = {g: int((people.group == i).sum()) for i, g in enumerate(groups)}
        ever, days = self.ever_shown, self.days_shown
        paid = self.paid > 0
        figure: dict[str, Any] = {"fee": self.spec.fee, "people_shown": int(ever.sum()),
                                  "person_days_shown": int(days.sum(dtype=np.int64)),
                                  "people_paid": int(paid.sum()), "removals_paid": int(self.paid.sum(dtype=np.int64)),
                                  "fees_collected": float(self.fees_paid.sum())}
        put(figure, "paid_share", float(paid.sum() / ever.sum()) if ever.any() else None, "no one was shown")
        # Days shown per person who was ever shown: by income quintile and by group.
        by_quintile = {q: _mean(days, ever & (quintile == i)) for i, q in enumerate(QUINTILES)}
        shown_days: dict[str, Any] = {"mean": _mean(days, ever),
                                      "by_income_quintile": _nulls(by_quintile, "no one of this quintile was shown")}
        put_by_group(shown_days, {g: _mean(days, ever & (people.group == i)) for i, g in enumerate(groups)},
                     sizes)
        figure["days_shown_per_person_shown"] = shown_days
        figure["person_days_shown_by_income_quintile"] = {
            q: int(days[quintile == i].sum(dtype=np.int64)) for i, q in enumerate(QUINTILES)}
        figure["paid_share_by_income_quintile"] = _nulls(
            {q: _mean(paid, ever & (quintile == i)) for i, q in enumerate(QUINTILES)}, "no one of this quintile "
            "was shown")
        # Who stays shown: of those on the list at the end, the share whose picture is still up.
        listed = self.state.listed[self.name]
        still = {q: _mean(~self.removed, listed & (quintile == i)) for i, q in enumerate(QUINTILES)}
        end: dict[str, Any] = {"share": _mean(~self.removed, listed),
                               "by_income_quintile": _nulls(still, "no one of this quintile is on the list at the end")}
        put_by_group(end, {g: _mean(~self.removed, listed & (people.group == i)) for i, g in enumerate(groups)},
                     sizes)
        poorest, richest = still["q1"], still["q5"]
        put(end, "poorest_to_richest", poorest / richest if poorest is not None and richest else None,
            "no one of the richest or the poorest quintile is on the list at the end, or none of the richest is "
            "still shown")
        figure["still_shown_at_end"] = end
        return figure


def _mean(values: np.ndarray, where: np.ndarray) -> float | None:
    count = int(where.sum())
    return float(values[where].sum(dtype=np.float64) / count) if count else None


def _nulls(values: dict[str, float | None], why: str) -> dict[str, Any]:
    """A map of quintiles' figures, with why each null one is null (as `put` writes it)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        put(out, key, value, why)
    return out


def income_quintile(income: np.ndarray) -> np.ndarray:
    """Each person's income quintile, 0 the poorest fifth, 4 the richest (int8)."""
    edges = np.quantile(income, [0.2, 0.4, 0.6, 0.8]) if income.size else np.zeros(4)
    return np.searchsorted(edges, income, side="right").astype(np.int8)


class Display(Module):
    """Every disclosed list with a removal fee (`Board`), stepped after income and before the social
    response, which sees only who is still shown."""

    name = "display"
    params = ("consequences",)
    state_fields = ("boards",)

    def __init__(self, sim: Sim):
        consequences = sim.scenario.consequences
        self.boards = {qualified: Board(sim, state, name, qualified, removal, part)
                       for part, (qualified, (state, name, _)) in enumerate(disclosed_lists(sim).items())
                       if (removal := consequences[qualified].removal) is not None}

    def on_display(self, state: SchemeState, name: str) -> np.ndarray:
        """Who is shown on disclosed list `name` of `state` now: its members, less those who paid to
        be taken off (its own array where it has no fee: not to be changed)."""
        board = self.boards.get(state.qualify(name))
        return state.listed[name] if board is None else board.shown()

    def start_reporting(self, sim: Sim) -> None:
        for board in self.boards.values():
            board.start_reporting()

    def step(self, sim: Sim, day: int) -> None:
        for board in self.boards.values():
            board.step(sim, day)

    def people_columns(self, sim: Sim, part: slice) -> dict[str, np.ndarray]:
        columns: dict[str, np.ndarray] = {}
        for qualified, board in self.boards.items():
            columns[f"days_shown.{qualified}"] = board.days_shown[part]
            columns[f"removals_paid.{qualified}"] = board.paid[part]
            columns[f"fees_paid.{qualified}"] = board.fees_paid[part]
        return columns

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        if self.boards:
            summary["display"] = {qualified: board.figures(sim) for qualified, board in self.boards.items()}

    def report_rows(self, summary: dict[str, Any], groups: list[str]) -> list[ReportRow]:
        rows: list[ReportRow] = []
        for qualified, figure in summary.get("display", {}).items():
            days = figure["days_shown_per_person_shown"]
            quintiles = ", ".join(f"{q} {shown(v, '.1f')}" for q, v in days["by_income_quintile"].items()
                                  if q != "why_null")
            by_group = ", ".join(f"{g} {shown(days['by_group'][g], '.1f')}" for g in groups)
            rows.append((f"days shown on '{qualified}', per person shown", shown(days["mean"], ".1f"),
                         f"by income quintile (q1 poorest): {quintiles}; by group: {by_group}"))
            rows.append((f"paid to be taken off '{qualified}'", shown(figure["paid_share"], ".1%"),
                         f"{figure['people_paid']:,} of the {figure['people_shown']:,} people shown paid "
                         f"{figure['removals_paid']:,} fees of {figure['fee']:,.0f}: {figure['fees_collected']:,.0f} "
                         "collected"))
            end = figure["still_shown_at_end"]
            still = ", ".join(f"{q} {shown(v, '.0%')}" for q, v in end["by_income_quintile"].items() if q != "why_null")
            ratio = end["poorest_to_richest"]
            rows.append((f"still shown on '{qualified}' at the end, of those on it", shown(end["share"], ".1%"),
                         f"by income quintile: {still}; poorest to richest "
                         + (f"{ratio:.2f}x" if ratio is not None else end["why_null"]["poorest_to_richest"])))
        return rows
