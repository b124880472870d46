"""Tallies of what lists and entitlements do to people: the days each person spends on each list
and denied each entitlement, and the days, episodes and people so because of records that are not
true (what those consequences then do to people's income, acts and ties: `consequences.py`), for
each scheme; with several, also by any scheme and by how many at once."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..analysis.fairness import add_wrongful_harm
from ..sim.model import Sim
from ..sim.module import Module, ReportRow
from ..sim.schemes import SchemeState, scheme_section, scheme_sections
from ..undefined import put, shown


class Combined(NamedTuple):
    """Per person: the schemes that list them (honour lists aside) and that deny them a sanction."""

    listing: np.ndarray        # uint8: how many schemes list them
    sanctioning: np.ndarray    # uint8: how many deny them a sanction
    listed_any: np.ndarray     # bool: listing > 0
    sanctioned_any: np.ndarray


# Who of some rows (increasing ids) is wrongly listed and wrongly denied, per list and entitlement
# (`wrongly_at`): (rows, per list, per entitlement: bool per row).
Wrongly = tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]


class SchemeTallies:
    """One scheme's wrongful listings and sanctions: days per person, who ever, and episodes."""

    def __init__(self, sim: Sim, state: SchemeState):
        n = sim.n
        self.state = state
        self.wrong_listed_days = {name: np.zeros(n, dtype=sim.days_type) for name in state.scheme.lists}
        self.wrong_denied_days = {name: np.zeros(n, dtype=sim.days_type) for name in state.scheme.entitlements}
        self.ever_wrongly_listed = np.zeros(n, dtype=bool)
        self.ever_wrongly_left_off = np.zeros(n, dtype=bool)  # honour lists missed because of false records
        self.ever_wrongly_denied_perk = np.zeros(n, dtype=bool)
        self.ever_wrongly_sanctioned = np.zeros(n, dtype=bool)
        # Episodes of wrongful sanction: the day each began plus one (0: none now; zeros, so that a run
        # where no record can be false never touches these pages), and how long ended ones lasted.
        self.wrong_from = np.zeros(n, dtype=np.int32)
        self.episode_days: list[np.ndarray] = []
        # Who is in a wrongful-sanction episode now (increasing ids: those with `wrong_from` > 0), so
        # that a day looks at them and today's wrongly sanctioned, not at everyone; None until made.
        self.running: np.ndarray | None = None

    def step(self, sim: Sim, day: int, wrong: Wrongly) -> None:
        """Today's wrongful listings and sanctions, counted where the true outcomes may differ from
        the recorded ones (`wrong`, the scheme's `wrongly_at`): a few thousand people, not everyone."""
        state = self.state
        scheme = state.scheme
        rows, wrong_listed, wrong_denied = wrong
        for name, member in wrong_listed.items():
            at = rows[member]
            self.wrong_listed_days[name][at] += 1  # rows are distinct: one day each
            if name not in scheme.honour_lists:
                self.ever_wrongly_listed[at] = True
            else:
                self.ever_wrongly_left_off[at] = True
        sanctioned = np.zeros(rows.size, dtype=bool)
        for name, denied in wrong_denied.items():
            at = rows[denied]
            self.wrong_denied_days[name][at] += 1
            if scheme.entitlements[name].perk:
                self.ever_wrongly_denied_perk[at] = True
            else:
                sanctioned |= denied
        now = rows[sanctioned]  # increasing ids
        self.ever_wrongly_sanctioned[now] = True
        if self.running is None:  # (a run continued from a saved state)
            self.running = np.flatnonzero(self.wrong_from)
        running = self.running
        self.wrong_from[now[self.wrong_from[now] == 0]] = day + 1
        ended = running[~np.isin(running, now, assume_unique=True)]  # in id order, as a mask gives them
        if ended.size:
            self.episode_days.append(day + 1 - self.wrong_from[ended])
            self.wrong_from[ended] = 0
        self.running = now

    def episodes(self, last_day: int) -> tuple[np.ndarray, np.ndarray]:
        """Lengths in days of wrongful-sanction episodes that ended, and of those still running."""
        ended = np.concatenate(self.episode_days) if self.episode_days else np.zeros(0, dtype=np.int32)
        running = last_day + 2 - self.wrong_from[self.wrong_from > 0]
        return ended, running

    def people_columns(self, part: slice) -> dict[str, np.ndarray]:
        prefix = self.state.prefix
        columns = {f"{prefix}days_wrongly_listed.{name}": days[part] for name, days in self.wrong_listed_days.items()}
        columns.update({f"{prefix}days_wrongly_denied.{name}": days[part]
                        for name, days in self.wrong_denied_days.items()})
        columns[f"{prefix}ever_wrongly_listed"] = self.ever_wrongly_listed[part]
        columns[f"{prefix}ever_wrongly_sanctioned"] = self.ever_wrongly_sanctioned[part]
        return columns

    def figures(self, sim: Sim, harms: dict[str, Any]) -> None:
        """Every wrongful harm of the scheme, as whom it befell (rates, disparities, relative risks),
        the person-days of false sanctions and listings, and how long wrongful sanctions lasted."""
        people, scheme = sim.people, self.state.scheme
        wrongful = {"wrongly_listed": self.ever_wrongly_listed}
        if any(e.perk for e in scheme.entitlements.values()):
            wrongful["wrongly_denied_perks"] = self.ever_wrongly_denied_perk
        if scheme.honour_lists:
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


def wrongly_at(state: SchemeState) -> Wrongly:
    """Per list and entitlement of a scheme: who is listed or denied now but would not be on true
    records (for an honour list: who is left off it but would be on it on true records), among
    the only people it can hold for: those whose true outcomes may differ from the recorded ones
    (`TrueScores.rows`; everyone else's true lists and entitlements are their recorded ones).
    (rows, per list, per entitlement: bool per row)."""
    scheme = state.scheme
    if state.scores is None or state.true_scores is None:
        return (np.zeros(0, dtype=np.int64), {name: np.zeros(0, dtype=bool) for name in scheme.lists},
                {name: np.zeros(0, dtype=bool) for name in scheme.entitlements})
    honour = scheme.honour_lists
    true = state.true_scores
    rows, true_lists, true_allowed = true.rows, true.lists_at(), true.entitlements_at()
    listed = {}
    for name, members in state.scores.lists.items():
        member = members[rows]
        listed[name] = (~member & true_lists[name]) if name in honour else (member & ~true_lists[name])
    denied = {name: ~allowed[rows] & true_allowed[name] for name, allowed in state.scores.entitlements.items()}
    return rows, listed, denied


def denied_a_sanction(state: SchemeState) -> np.ndarray:
    """Who is denied one of the scheme's sanctions now (an entitlement other than a perk)."""
    out = np.zeros(state.n, dtype=bool)
    denied = state.denied
    for name in state.scheme.sanctions:
        out |= denied[name]
    return out


def on_a_list(state: SchemeState) -> np.ndarray:
    """Who is on one of the scheme's lists now (honour lists aside: being on one is no harm)."""
    out = np.zeros(state.n, dtype=bool)
    for name, member in state.listed.items():
        if name not in state.scheme.honour_lists:
            out |= member
    return out


class Tallies(Module):
    """Days listed and denied per scheme (kept in each `SchemeState`), each scheme's wrongful
    listings and sanctions (`SchemeTallies`), and, with several schemes, the combined figures: the
    days each person spent listed or sanctioned by any scheme, and by how many at once."""

    name = "tallies"
    state_fields = ("schemes", "days_listed_any", "days_sanctioned_any", "most_listing", "most_sanctioning", "now",
                    "workings", "now_versions", "most_versions", "through_imports")

    def __init__(self, sim: Sim):
        self.schemes = [SchemeTallies(sim, state) for state in sim.schemes]
        # With several schemes: per person, days listed (an adverse list) by any, days sanctioned by
        # any, and the most schemes that listed or sanctioned them on one day.
        several = sim.several
        size = sim.n if several else 0
        self.days_listed_any = np.zeros(size, dtype=sim.days_type)
        self.days_sanctioned_any = np.zeros(size, dtype=sim.days_type)
        self.most_listing = np.zeros(size, dtype=np.uint8)
        self.most_sanctioning = np.zeros(size, dtype=np.uint8)
        # Who is listed or sanctioned by how many schemes now: made again only when a scheme has
        # rescored since (`combined`), as lists and denials change only then.
        self.now: Combined | None = None
        self.workings = np.zeros(0, dtype=bool)
        self.now_versions: tuple[int, ...] = ()
        self.most_versions: tuple[int, ...] = ()
        # Joint punishment: per scheme that imports lists, the days each person was denied one of its
        # entitlements (a sanction or a perk) that it would have allowed were nobody on its input lists.
        self.through_imports = {state.index: np.zeros(sim.n, dtype=sim.days_type)
                                for state in sim.schemes if state.imports}
        # Per scheme (by index), its `wrongly_at` and the scoring it was worked out for (its
        # `scored_version`): read by the tallies and the metrics each day, made again only when the
        # scheme has scored since (its outcomes change only then). Not state: made again when needed.
        self.wrongly_now: dict[int, tuple[int, Wrongly]] = {}

    def wrongly_at(self, state: SchemeState) -> Wrongly:
        """`wrongly_at(state)` as the scheme's latest scoring has it (worked out once for it)."""
        kept = self.wrongly_now.get(state.index)
        if kept is None or kept[0] != state.scored_version:
            kept = self.wrongly_now[state.index] = (state.scored_version, wrongly_at(state))
        return kept[1]

    def step(self, sim: Sim, day: int) -> None:
        if day < 0:  # a burn-in's days are not reported: what is counted here starts on day 0
            return
        for state in sim.schemes:
            if state.scored_as is not None:  # its days listed and denied are those it shares (`share_scoring_with`)
                continue
            for name, member in state.listed.items():
                state.listed_days[name] += member
            for name, denied in state.denied.items():
                state.denied_days[name] += denied
        if sim.several:
            self._combine(sim)
        for index, days in self.through_imports.items():
            days += sim.schemes[index].denied_through_imports
        if not sim.has_truth:
            return
        for tallies in self.schemes:
            if tallies.state.truth is not None:  # else every record it received is true: nothing wrongful
                tallies.step(sim, day, self.wrongly_at(tallies.state))

    def combined(self, sim: Sim) -> Combined:
        """Per person, how many schemes list them (honour lists aside) and how many deny them a
        sanction, now."""
        versions = tuple(state.scored_version for state in sim.schemes)
        if self.now is not None and versions == self.now_versions:
            return self.now
        # Into arrays made once and refilled (fresh ones each day would cost more in first touches
        # than the arithmetic), with no temporaries.
        if self.now is None:
            self.now = Combined(*(np.empty(sim.n, dtype=t) for t in (np.uint8, np.uint8, bool, bool)))
            self.workings = np.empty(sim.n, dtype=bool)
        now, workings = self.now, self.workings
        now.listing.fill(0)
        now.sanctioning.fill(0)
        for state in sim.schemes:
            workings.fill(False)
            for name, member in state.listed.items():
                if name not in state.scheme.honour_lists:
                    np.logical_or(workings, member, out=workings)
            np.add(now.listing, workings, out=now.listing)
            if state.scores is None:  # nobody is denied anything before a scheme's first scoring
                continue
            workings.fill(True)
            for name in state.scheme.sanctions:  # allowed every sanction, then denied one
                np.logical_and(workings, state.scores.entitlements[name], out=workings)
            np.logical_not(workings, out=workings)
            np.add(now.sanctioning, workings, out=now.sanctioning)
        np.greater(now.listing, 0, out=now.listed_any)
        np.greater(now.sanctioning, 0, out=now.sanctioned_any)
        self.now_versions = versions
        return now

    def _combine(self, sim: Sim) -> None:
        """Today's listings and sanctions by any scheme, and by how many at once."""
        now = self.combined(sim)
        self.days_listed_any += now.listed_any
        self.days_sanctioned_any += now.sanctioned_any
        if self.now_versions != self.most_versions:  # the counts changed since they were last taken
            np.maximum(self.most_listing, now.listing, out=self.most_listing)
            np.maximum(self.most_sanctioning, now.sanctioning, out=self.most_sanctioning)
            self.most_versions = self.now_versions

    def people_columns(self, sim: Sim, part: slice) -> dict[str, np.ndarray]:
        columns: dict[str, np.ndarray] = {}
        if sim.has_truth:  # nothing can be wrongful where every record is true
            for tallies in self.schemes:
                columns.update(tallies.people_columns(part))
        if sim.several:
            columns.update({"days_listed_any": self.days_listed_any[part],
                            "days_sanctioned_any": self.days_sanctioned_any[part],
                            "most_schemes_listing": self.most_listing[part],
                            "most_schemes_sanctioning": self.most_sanctioning[part]})
            if sim.has_truth:
                columns["ever_wrongly_listed_any"] = self.ever_wrongly("listed")[part]
                columns["ever_wrongly_sanctioned_any"] = self.ever_wrongly("sanctioned")[part]
        for index, days in self.through_imports.items():
            columns[f"{sim.schemes[index].prefix}days_denied_through_imports"] = days[part]
        return columns

    def joint_punishment(self, sim: Sim) -> dict[str, Any]:
        """Per scheme that imports lists: who it denied an entitlement because of another scheme's
        list (denied it, and allowed it were nobody on its input lists), as people, their share, and
        person-days, overall and by group; with the lists it imports."""
        people = sim.people
        figures: dict[str, Any] = {}
        for index, days in self.through_imports.items():
            state = sim.schemes[index]
            ever = days > 0
            by_group: dict[str, Any] = {}
            for code, group in enumerate(people.group_names):
                members = people.group == code
                size = int(members.sum())
                record: dict[str, Any] = {"people": int((ever & members).sum()),
                                          "person_days": int(days[members].sum())}
                put(record, "share", float((ever & members).sum() / size) if size else None, "no one in the group")
                by_group[group] = record
            figures[state.name] = {
                "imports": {own: f"{source.name}.{name}" for own, source, name in state.imports},
                "people": int(ever.sum()), "share": float(ever.mean()) if sim.n else 0.0,
                "person_days": int(days.sum()), "by_group": by_group}
        return figures

    def ever_wrongly(self, what: str) -> np.ndarray:
        """Who was ever wrongly listed (`what="listed"`) or sanctioned by any scheme."""
        out = np.zeros_like(self.schemes[0].ever_wrongly_listed)
        for tallies in self.schemes:
            out |= tallies.ever_wrongly_listed if what == "listed" else tallies.ever_wrongly_sanctioned
        return out

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        """Each scheme's wrongful harms (with several schemes, in its section of `schemes`), and
        with several the wrongful harms of any scheme, as whom they befell; the reach of joint
        punishment (`combined.joint_punishment`)."""
        if self.through_imports:
            summary["combined"]["joint_punishment"] = self.joint_punishment(sim)
        if not sim.has_truth:
            return
        for tallies in self.schemes:
            tallies.figures(sim, scheme_section(summary, tallies.state)["harms"])
        if sim.several:
            people, harms = sim.people, summary["harms"]
            for key, what in (("wrongly_listed_any", "listed"), ("wrongly_sanctioned_any", "sanctioned")):
                add_wrongful_harm(harms, key, self.ever_wrongly(what), people.group, people.group_names)

    def report_rows(self, summary: dict[str, Any], groups: list[str]) -> list[ReportRow]:
        def by_group(figure: dict[str, Any]) -> str:
            return ", ".join(f"{g} {shown(figure['by_group'][g], '.2%')}" for g in groups)

        rows: list[ReportRow] = []
        for name, figure in summary.get("combined", {}).get("joint_punishment", {}).items():
            rows.append((f"{name}: people denied because of another scheme's list", f"{figure['people']:,}",
                         f"{figure['share']:.2%} of everyone, {figure['person_days']:,} person-days; imports "
                         + ", ".join(f"{own} from {source}" for own, source in figure["imports"].items())))
        combined = summary["harms"]
        if "wrongly_sanctioned_any" in combined:
            for key, what in (("wrongly_sanctioned_any", "sanctioned"), ("wrongly_listed_any", "listed")):
                figure = combined[key]
                rows.append((f"people {what} by any scheme because of acts they did not do", f"{figure['count']:,}",
                             f"{figure['rate']:.2%} of everyone, by group: {by_group(figure)}"))
        for name, section in scheme_sections(summary):
            label = f"{name}: " if name else ""
            harms = section["harms"]
            if "wrongly_sanctioned" not in harms:
                continue
            figure = harms["wrongly_sanctioned"]
            rows.append((f"{label}people sanctioned because of acts they did not do", f"{figure['count']:,}",
                         f"{figure['rate']:.2%} of everyone, by group: {by_group(figure)}"))
            figure = harms["wrongly_listed"]
            rows.append((f"{label}people listed because of acts they did not do", f"{figure['count']:,}",
                         f"{figure['rate']:.2%} of everyone, by group: {by_group(figure)}"))
            days = sum(harms["false_sanction_person_days"].values())
            rows.append((f"{label}false-sanction person-days", f"{days:,}",
                         "days people spent denied something they would have had on true records"))
            episodes = harms["wrongful_sanction_episodes"]
            if episodes["ended"] or episodes["running_at_end"]:
                mean = episodes["mean_days_ended"]
                rows.append((f"{label}time to remedy a wrongful sanction",
                             f"{mean:.1f} days" if mean is not None else "never",
                             f"{episodes['ended']:,} wrongful sanctions ended (mean length), "
                             f"{episodes['running_at_end']:,} still running at the end"))
        return rows
