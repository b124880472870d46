"""Watchlist policing: every face a camera source scans is searched against a watchlist.

What the UK's live facial recognition deployments did (South Wales 2017-, the Met 2018-): cameras
scan every passer-by, each face is searched against a watchlist of wanted people, a match is an
**alert**, and officers decide whether to stop the person. Here a source with a `watchlist` scans
each person of a district it covers a Poisson number of times a day (`scans_per_person_day` x the
district's coverage); a scan of someone on the watchlist alerts unless the profile misses it
(`miss_rate`); a scan of anyone else alerts falsely with the profile's FPIR, scaled to the size of
the watchlist searched (identification.py: `fpir_for_watchlist`) and multiplied by the probe's
factor (the person scanned: affected groups, women; NISTIR 8280's one-to-many differentials, the
same factor the source's act identification uses). A false alert leads to a stop of the innocent
person with chance `stop_chance`.

Who is on the watchlist: a share of the population drawn once (`members: {share: ...}`), or the
members of a list of the scheme as it stands each day (`members_from_list`: a blacklist; the
wrongly listed are then on it too, and their alerts are not false alerts: the harm of their
listing is counted as such).

Every figure is of the run itself: scans, alerts, false alerts, the share of alerts that are false,
stops of innocent people, and by group the share of the people, of the scans, of the watchlist, of
the false alerts and of the false stops. A scenario without a watchlist does no work here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis.fairness import add_wrongful_harm
from ..scenario import identification
from ..scenario.identification import IdentificationProfile
from ..scenario.models import WatchlistSpec
from ..scenario.streams import PersonStreams
from ..sim.model import Sim
from ..sim.module import Module, ReportRow
from ..undefined import put, shown

COUNTS = ("scans", "scans_of_watchlisted", "alerts", "true_alerts", "false_alerts", "stops_innocent")
BY_GROUP = ("scans", "watchlist", "false_alerts", "false_stops")


@dataclass
class WatchedSource:
    """One source's watchlist: what it searches with, and what it has counted since day 0."""

    index: int                              # the source's place in the scenario (its random stream part)
    name: str
    spec: WatchlistSpec
    profile: IdentificationProfile
    scan_rate: np.ndarray                   # [district]: mean scans a person a day
    probe_factor: np.ndarray                # [group, female]: the factor on the FPIR of a scan of that person
    members: np.ndarray | None              # drawn once (a share), else None: the scheme's list each day
    tally: dict[str, int] = field(default_factory=dict)
    by_group: dict[str, np.ndarray] = field(default_factory=dict)
    gallery_days: int = 0                   # watchlist size summed over the days, for its mean
    fpir_days: float = 0.0                  # FPIR (reference group) summed over the days
    days: int = 0


class Watchlist(Module):
    name = "watchlist"
    params = ("surveillance",)
    state_fields = ("sources", "false_stops")

    def __init__(self, sim: Sim):
        people, scenario = sim.people, sim.scenario
        self.group_names = people.group_names
        groups = len(self.group_names)
        self.sources: list[WatchedSource] = []
        for index, (name, spec) in enumerate(scenario.surveillance.items()):
            if spec.watchlist is None or spec.identification is None:
                continue
            profile = identification.load_profile(spec.identification)
            coverage = np.full(scenario.population.districts, spec.coverage)
            for district, value in spec.district_coverage.items():
                coverage[district] = value
            affected = np.isin(np.arange(groups), [self.group_names.index(g) for g in spec.affected_groups])
            factor = profile.false_match_multiplier(affected[:, None], np.array([[False, True]]))
            members = None
            if spec.watchlist.members is not None:
                share = spec.watchlist.members.share
                members = PersonStreams(sim.seed, "watchlist", -1, sim.n, sim.chunk, part=index).draw(
                    lambda g, size: g.random(size)) < share
            self.sources.append(WatchedSource(index, name, spec.watchlist, profile,
                                              spec.watchlist.scans_per_person_day * coverage, factor, members))
        # Who has been stopped on a false alert since day 0, and how often (people.parquet): only
        # where some source keeps a watchlist.
        self.false_stops = np.zeros(sim.n if self.sources else 0, dtype=np.int32)
        self.people_share = np.bincount(people.group, minlength=groups) / max(len(people), 1)
        self.start_reporting(sim)

    def start_reporting(self, sim: Sim) -> None:
        groups = len(self.group_names)
        for source in self.sources:
            source.tally = dict.fromkeys(COUNTS, 0)
            source.by_group = {key: np.zeros(groups, dtype=np.int64) for key in BY_GROUP}
            source.gallery_days, source.fpir_days, source.days = 0, 0.0, 0
        self.false_stops[:] = 0

    @property
    def stopped_innocent(self) -> np.ndarray:
        """Who has been stopped at least once on a false alert."""
        return self.false_stops > 0

    def step(self, sim: Sim, day: int) -> None:
        if not self.sources or day < 0:  # a burn-in's days are not reported, and stops change nothing else
            return
        for source in self.sources:
            self._search(sim, day, source)

    def _search(self, sim: Sim, day: int, source: WatchedSource) -> None:
        """One day of one source: everyone in its districts scanned, every scan searched."""
        people, spec, profile = sim.people, source.spec, source.profile
        groups = len(self.group_names)
        if source.members is not None:
            members = source.members
        else:
            assert spec.members_from_list is not None
            members = sim.listed[spec.members_from_list]
        on_list = np.bincount(people.group[members], minlength=groups)
        size = spec.size if spec.size is not None else int(on_list.sum())
        fpir = profile.fpir_for_watchlist(size)
        false_chance = np.minimum(fpir * source.probe_factor, 1.0)      # [group, female]
        tally, by_group = source.tally, source.by_group
        by_group["watchlist"] += on_list
        source.gallery_days += size
        source.fpir_days += fpir
        source.days += 1
        for generator, start, end in PersonStreams(sim.seed, "watchlist", day, sim.n, sim.chunk,
                                                   part=source.index).each():
            scans = generator.poisson(source.scan_rate[people.district[start:end]])
            scanned = np.flatnonzero(scans)
            if not scanned.size:
                continue
            count, ids = scans[scanned], scanned + start
            wanted = members[ids]
            group = people.group[ids]
            alert_chance = np.where(wanted, 1 - profile.miss_rate,
                                    false_chance[group, people.female[ids].astype(np.int64)])
            alerts = generator.binomial(count, alert_chance)
            false = np.where(wanted, 0, alerts)
            stops = generator.binomial(false, spec.stop_chance)
            tally["scans"] += int(count.sum())
            tally["scans_of_watchlisted"] += int(count[wanted].sum())
            tally["alerts"] += int(alerts.sum())
            tally["false_alerts"] += int(false.sum())
            tally["true_alerts"] += int(alerts.sum() - false.sum())
            tally["stops_innocent"] += int(stops.sum())
            by_group["scans"] += np.bincount(group, weights=count, minlength=groups).astype(np.int64)
            by_group["false_alerts"] += np.bincount(group, weights=false, minlength=groups).astype(np.int64)
            by_group["false_stops"] += np.bincount(group, weights=stops, minlength=groups).astype(np.int64)
            stopped = stops > 0
            self.false_stops[ids[stopped]] += stops[stopped].astype(np.int32)

    def source_figures(self) -> dict[str, dict[str, Any]]:
        """Per source: its counts, the share of alerts that are false, false alerts per scan of
        someone not on the watchlist, the mean watchlist size and FPIR, and per group the group's
        share of the people, scans, watchlist (person-days on it), false alerts and false stops."""
        def shares(counts: np.ndarray) -> list[float | None]:
            total = counts.sum()
            return [float(c / total) if total > 0 else None for c in counts]

        figures: dict[str, dict[str, Any]] = {}
        for source in self.sources:
            tally, by_group = source.tally, source.by_group
            figure: dict[str, Any] = dict(tally)
            put(figure, "false_alert_share", tally["false_alerts"] / tally["alerts"] if tally["alerts"] else None,
                "no alerts: nothing to be false")
            innocent_scans = tally["scans"] - tally["scans_of_watchlisted"]
            put(figure, "false_alerts_per_innocent_scan",
                tally["false_alerts"] / innocent_scans if innocent_scans > 0 else None,
                "no one off the watchlist was scanned")
            put(figure, "watchlist_size_mean", source.gallery_days / source.days if source.days else None,
                "no day was reported")
            put(figure, "fpir_mean", source.fpir_days / source.days if source.days else None, "no day was reported")
            columns: dict[str, list[Any]] = {"people_share": [float(x) for x in self.people_share]}
            for key in BY_GROUP:
                columns[key] = [int(x) for x in by_group[key]]
                columns[f"{key}_share"] = shares(by_group[key])
            reasons = {"scans_share": "no one was scanned", "watchlist_share": "the watchlist was empty",
                       "false_alerts_share": "no false alerts", "false_stops_share": "no one was stopped on a "
                                                                                     "false alert"}
            figure["groups"] = {}
            for g, group in enumerate(self.group_names):
                record: dict[str, Any] = {}
                for key, values in columns.items():
                    put(record, key, values[g], reasons.get(key, ""))
                figure["groups"][group] = record
            figures[source.name] = figure
        return figures

    def people_columns(self, sim: Sim, part: slice) -> dict[str, np.ndarray]:
        return {"false_stops": self.false_stops[part]} if self.sources else {}

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        """Per watched source its alerts, false alerts and stops (`source_figures`); where records can
        be false, being stopped on a false alert is a wrongful harm beside the scheme's."""
        if not self.sources:
            return
        harms = summary["harms"]
        if sim.has_truth:
            add_wrongful_harm(harms, "falsely_stopped", self.stopped_innocent, sim.people.group,
                              sim.people.group_names)
        harms["watchlist"] = self.source_figures()

    def report_rows(self, summary: dict[str, Any], groups: list[str]) -> list[ReportRow]:
        rows: list[ReportRow] = []
        for source, tally in summary["harms"].get("watchlist", {}).items():
            share = shown(tally["false_alert_share"], ".1%")
            groups_text = "; ".join(f"{g} {shown(f['people_share'], '.1%')} of people, "
                                    f"{shown(f['scans_share'], '.1%')} of scans, {shown(f['watchlist_share'], '.1%')} "
                                    f"of the watchlist, {shown(f['false_stops_share'], '.1%')} of false stops"
                                    for g, f in tally["groups"].items())
            rows.append((f"watchlist alerts of '{source}'", f"{tally['alerts']:,} ({share} false)",
                         f"{tally['scans']:,} faces scanned; {tally['false_alerts']:,} false alerts, "
                         f"{tally['stops_innocent']:,} stops of innocent people; by group: {groups_text}"))
        return rows
