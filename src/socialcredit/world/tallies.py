"""Tallies of what lists and entitlements do to people: the days each person spends on each list
and denied each entitlement, and the days, episodes and people so because of records that are not
true (what those consequences then do to people's income, acts and ties: `consequences.py`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.fairness import add_wrongful_harm
from ..sim.model import Sim
from ..sim.module import Module, ReportRow
from ..undefined import put, shown


class Tallies(Module):
    name = "tallies"

    def __init__(self, sim: Sim):
        n = sim.n
        self.wrong_listed_days = {name: np.zeros(n, dtype=sim.days_type) for name in sim.scheme.lists}
        self.wrong_denied_days = {name: np.zeros(n, dtype=sim.days_type) for name in sim.scheme.entitlements}
        self.ever_wrongly_listed = np.zeros(n, dtype=bool)
        self.ever_wrongly_left_off = np.zeros(n, dtype=bool)  # honour lists missed because of false records
        self.ever_wrongly_denied_perk = np.zeros(n, dtype=bool)
        self.ever_wrongly_sanctioned = np.zeros(n, dtype=bool)
        # Episodes of wrongful sanction: the day each began plus one (0: none now; zeros, so that a run
        # where no record can be false never touches these pages), and how long ended ones lasted.
        self.wrong_from = np.zeros(n, dtype=np.int32)
        self.episode_days: list[np.ndarray] = []

    def wrongly(self, sim: Sim) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per list and entitlement: who is listed or denied now but would not be on true records (for an
        honour list: who is left off it but would be on it on true records)."""
        if sim.scores is None or sim.true_scores is None:
            return ({name: np.zeros(sim.n, dtype=bool) for name in sim.scheme.lists},
                    {name: np.zeros(sim.n, dtype=bool) for name in sim.scheme.entitlements})
        honour = sim.scheme.honour_lists
        listed = {name: (~member & sim.true_scores.lists[name]) if name in honour else
                  (member & ~sim.true_scores.lists[name]) for name, member in sim.scores.lists.items()}
        denied = {name: ~allowed & sim.true_scores.entitlements[name]
                  for name, allowed in sim.scores.entitlements.items()}
        return listed, denied

    def step(self, sim: Sim, day: int) -> None:
        if day < 0:  # a burn-in's days are not reported: what is counted here starts on day 0
            return
        for name, member in sim.listed.items():
            sim.listed_days[name] += member
        for name, denied in sim.denied.items():
            sim.denied_days[name] += denied
        if sim.truth is None:
            return
        wrong_listed, wrong_denied = self.wrongly(sim)
        wrongly_sanctioned = np.zeros(sim.n, dtype=bool)
        for name, member in wrong_listed.items():
            self.wrong_listed_days[name] += member
            if name not in sim.scheme.honour_lists:
                self.ever_wrongly_listed |= member
            else:
                self.ever_wrongly_left_off |= member
        for name, denied in wrong_denied.items():
            self.wrong_denied_days[name] += denied
            if sim.scheme.entitlements[name].perk:
                self.ever_wrongly_denied_perk |= denied
            else:
                wrongly_sanctioned |= denied
        self.ever_wrongly_sanctioned |= wrongly_sanctioned
        began = wrongly_sanctioned & (self.wrong_from == 0)
        self.wrong_from[began] = day + 1
        ended = ~wrongly_sanctioned & (self.wrong_from > 0)
        if ended.any():
            self.episode_days.append(day + 1 - self.wrong_from[ended])
            self.wrong_from[ended] = 0

    def episodes(self, last_day: int) -> tuple[np.ndarray, np.ndarray]:
        """Lengths in days of wrongful-sanction episodes that ended, and of those still running."""
        ended = np.concatenate(self.episode_days) if self.episode_days else np.zeros(0, dtype=np.int32)
        running = last_day + 2 - self.wrong_from[self.wrong_from > 0]
        return ended, running

    def people_columns(self, sim: Sim, part: slice) -> dict[str, np.ndarray]:
        if sim.truth is None:  # nothing can be wrongful where every record is true
            return {}
        columns = {f"days_wrongly_listed.{name}": days[part] for name, days in self.wrong_listed_days.items()}
        columns.update({f"days_wrongly_denied.{name}": days[part] for name, days in self.wrong_denied_days.items()})
        columns["ever_wrongly_listed"] = self.ever_wrongly_listed[part]
        columns["ever_wrongly_sanctioned"] = self.ever_wrongly_sanctioned[part]
        return columns

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        """Every wrongful harm, as whom it befell (rates, disparities, relative risks), the person-days
        of false sanctions and listings, and how long wrongful sanctions lasted."""
        if sim.truth is None:
            return
        harms, people = summary["harms"], sim.people
        wrongful = {"wrongly_listed": self.ever_wrongly_listed}
        if any(e.perk for e in sim.scheme.entitlements.values()):
            wrongful["wrongly_denied_perks"] = self.ever_wrongly_denied_perk
        if sim.scheme.honour_lists:
            wrongful["wrongly_left_off_honours"] = self.ever_wrongly_left_off
        wrongful["wrongly_sanctioned"] = self.ever_wrongly_sanctioned
        for key, harmed in wrongful.items():
            add_wrongful_harm(harms, key, harmed, people.group, people.group_names)
        harms["false_sanction_person_days"] = {name: int(days.sum()) for name, days in self.wrong_denied_days.items()}
        harms["false_listing_person_days"] = {name: int(days.sum()) for name, days in self.wrong_listed_days.items()}
        ended, running = self.episodes(sim.days - 1)
        episodes: dict[str, Any] = {"ended": int(ended.size), "running_at_end": int(running.size)}
        put(episodes, "mean_days_ended", float(ended.mean()) if ended.size else None, "no wrongful sanction ended")
        put(episodes, "median_days_ended", float(np.median(ended)) if ended.size else None,
            "no wrongful sanction ended")
        put(episodes, "mean_days_running", float(running.mean()) if running.size else None,
            "no wrongful sanction was running at the end")
        harms["wrongful_sanction_episodes"] = episodes

    def report_rows(self, summary: dict[str, Any], groups: list[str]) -> list[ReportRow]:
        harms = summary["harms"]
        if "wrongly_sanctioned" not in harms:
            return []

        def by_group(figure: dict[str, Any]) -> str:
            return ", ".join(f"{g} {shown(figure['by_group'][g], '.2%')}" for g in groups)

        rows: list[ReportRow] = []
        figure = harms["wrongly_sanctioned"]
        rows.append(("people sanctioned because of acts they did not do", f"{figure['count']:,}",
                     f"{figure['rate']:.2%} of everyone, by group: {by_group(figure)}"))
        figure = harms["wrongly_listed"]
        rows.append(("people listed because of acts they did not do", f"{figure['count']:,}",
                     f"{figure['rate']:.2%} of everyone, by group: {by_group(figure)}"))
        days = sum(harms["false_sanction_person_days"].values())
        rows.append(("false-sanction person-days", f"{days:,}",
                     "days people spent denied something they would have had on true records"))
        episodes = harms["wrongful_sanction_episodes"]
        if episodes["ended"] or episodes["running_at_end"]:
            mean = episodes["mean_days_ended"]
            rows.append(("time to remedy a wrongful sanction",
                         f"{mean:.1f} days" if mean is not None else "never",
                         f"{episodes['ended']:,} wrongful sanctions ended (mean length), "
                         f"{episodes['running_at_end']:,} still running at the end"))
        return rows
