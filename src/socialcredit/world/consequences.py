"""Consequences: who is on each list and denied each entitlement today, counted per person, and
who is so because of records that are not true (what those consequences do to people's income is
`economy.py`; to what they may do, `behaviour.py`; to their ties, `social.py`)."""

from __future__ import annotations

import numpy as np

from ..sim.model import Sim


class Consequences:
    name = "consequences"

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
        sim.harm = self

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
