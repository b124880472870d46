"""One scheme scoring the simulated people: what the frame keeps of it (its feature and truth
states, compiled rules, neighbour sums, scores and true scores, when it last scored, the starting
tiers, days listed and denied). `Sim.schemes` holds one a scheme, in the scenario's order; the
phases iterate them (docs/design.md, "Several schemes")."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ..scenario.load import ScenarioScheme
from ..scenario.streams import KeyedDraws
from ..scheme import Scheme
from ..scoring import Relations, Scores
from ..scoring.compiled import CompiledRules, compile_rules
from ..scoring.core import (
    checked_inputs,
    network_term_of,
    network_term_were,
    outcomes_without_inputs,
    score_slices,
    scoring_features,
)
from ..scoring.graph import NeighbourSums
from ..scoring.incremental import IncrementalFeatures
from ..scoring.sparse import SparseFeatures
from .events import DayEvents
from .true_scores import TrueScores

# People from whom the day's scoring runs on the scheme's rules compiled: compiling a scheme's
# rules for the first time on a machine takes a second or two, which a year at a quarter of a
# million people repays (and the compiled rules give the same outcomes as NumPy's, so the choice
# changes nothing but speed).
COMPILED_RULES_FROM = 1 << 18


class SchemeState:
    """A scheme's part of the simulation's state.

    Records reach it from the sources it receives, of the kinds it declares (`received`), with
    their kinds in its own codes; with one scheme that is every record, as it is."""

    # What changes as the run goes on (a saved state keeps it: sim/state.py, Module.state_fields).
    state_fields: ClassVar[tuple[str, ...]] = (
        "held", "today", "arrived", "false_arrivals", "denied_through_imports", "features", "scores", "truth",
        "true_scores", "neighbour_sums", "scored_time", "scored_version",
        "scored_day", "initial_tier", "enrolled", "enrolled_version", "listed_days", "denied_days")

    def __init__(self, entry: ScenarioScheme, index: int, n: int, kinds: list[str], sources: list[str],
                 first_time: float, contestable: tuple[str, ...], with_truth: bool, days_type: type[np.integer]):
        self.entry = entry
        self.name, self.index, self.prefix = entry.name, index, entry.prefix
        self.scheme: Scheme = entry.scheme
        scheme = entry.scheme
        self.n = n
        own = {kind: code for code, kind in enumerate(scheme.events)}
        # World kind code -> this scheme's code (-1: a kind it does not declare); None where the two agree.
        code_of = np.array([own.get(kind, -1) for kind in kinds], dtype=np.int16)
        self.code_of = None if list(scheme.events) == kinds else code_of
        # Per source, whether its records reach this scheme; None where every source's do.
        receives = entry.receives
        self.receives = None if receives is None or set(sources) <= set(receives) else \
            np.array([source in receives for source in sources], dtype=bool)
        # Sources received on terms of their own (shared or sold late, or in part): (source code,
        # delay in days, coverage); their records wait in `held` until the day they reach the scheme.
        self.terms = [(sources.index(source), delay, coverage) for source, delay, coverage in entry.terms]
        self.held: dict[int, list[DayEvents]] = {}
        # Per source, the share of its records that reach the scheme (for the chance an act is known
        # to it, in deterrence); None where every source's records all do.
        self.share = None if self.receives is None and not self.terms else \
            np.array([entry.share_of(source) for source in sources])
        self.today = DayEvents.empty()  # today's arrivals (world kind codes), set by the scoring phase
        self.arrived: list[DayEvents] | None = None  # every arrival, where the run keeps events and terms
        # The false records that reached the scheme, with the day each arrived (several schemes only):
        # where each false record went (record_reach.parquet).
        self.false_arrivals: list[tuple[int, DayEvents]] = []
        # Input lists wired to other schemes' lists: (input list, source scheme's state, its list);
        # set by the frame once every scheme's state exists.
        self.imports: list[tuple[str, SchemeState, str]] = []
        # Who is denied an entitlement (a sanction) that the scheme would allow were nobody on its input
        # lists: the reach of joint punishment, at the latest scoring.
        self.denied_through_imports = np.zeros(n, dtype=bool)
        self.contestable = contestable
        self.features = IncrementalFeatures(scheme, n, start=first_time, voidable=contestable)
        # The rules compiled, for populations where a day's scoring repays compiling them once
        # (see scoring.compiled; the same outcomes to the bit), and what a day's scoring reads.
        self.compiled_rules: CompiledRules | None = compile_rules(scheme) if n >= COMPILED_RULES_FROM else None
        compiled = self.compiled_rules
        self.scoring_features = frozenset(compiled.inputs) if compiled is not None else scoring_features(scheme)
        self.scores: Scores | None = None  # latest scoring (on the scheme's cadence)
        # The same scheme on genuine records only: what the scores would be if every record were
        # true. Kept only where records can be false; the difference is the harm of false records.
        # It holds features only for whoever a false record reached, or a record of whom was voided
        # (`SparseFeatures.track`, by the scoring phase and appeals): everyone else's are the
        # recorded ones, and so are their true scores; only these (and whom they reach) are scored twice.
        self.truth = SparseFeatures(self.features) if with_truth else None
        self.true_scores: TrueScores | None = None
        # Neighbour sums of `pre`, kept from one scoring to the next (few people's `pre` change a day).
        self.neighbour_sums = NeighbourSums()
        self.scored_time = float("nan")  # the feature state's time at the last scoring
        self.scored_version = 0  # how many times it has scored: what changes when its outcomes may have
        self.scored_day: int | None = None  # the day of the latest scoring (negative in a burn-in)
        self.initial_tier: np.ndarray | None = None
        # Who the scheme has enrolled (`world/enrolment.py`): only their records reach it, and only
        # their `pre` its network term reads. None where everyone is (a scheme without an enrolment
        # rule), which costs nothing. Its version changes
        # whenever anyone joins or leaves; `unenrolled` applies to each scoring what the scheme's rule
        # gives those not enrolled.
        self.enrolled: np.ndarray | None = None
        self.enrolled_version = 0
        self.unenrolled: Callable[[SchemeState, Scores, IncrementalFeatures | SparseFeatures], None] | None = None
        self.listed_days: dict[str, np.ndarray] = {name: np.zeros(n, dtype=days_type) for name in scheme.lists}
        self.denied_days: dict[str, np.ndarray] = {name: np.zeros(n, dtype=days_type) for name in scheme.entitlements}

        # An earlier scheme (in scoring order) that scores the same records by the same rules: this one
        # shares its feature states and its scores rather than keep and make the same again (see
        # `scores_as`); None where it keeps its own.
        self.scored_as: SchemeState | None = None

    def scores_as(self, other: SchemeState) -> bool:
        """Whether this scheme's scores are, day after day, those of `other`: the same scheme (rules,
        features, cadence) receiving the same records on the same terms, with the same input lists
        wired to the same lists, and none of its records ever taken back (appeals void a scheme's
        own records). Only its name, operator and outputs' prefix may differ. Three operators running
        one scheme on shared records (benchmarks/default-three-schemes.scenario.yaml) keep one state."""
        mine, theirs = (dataclasses.replace(entry, name="", operator=None, prefix="")
                        for entry in (self.entry, other.entry))
        # the schemes by their contents (a Scheme's own == also compares what it has cached)
        return (mine.scheme.model_dump() == theirs.scheme.model_dump()
                and dataclasses.replace(mine, scheme=theirs.scheme) == theirs
                and not self.terms and not self.contestable and not other.contestable
                and (self.truth is None) == (other.truth is None)
                and [(own, source.name, name) for own, source, name in self.imports]
                == [(own, source.name, name) for own, source, name in other.imports])

    def share_scoring_with(self, other: SchemeState) -> None:
        """Keep `other`'s feature states and days listed and denied and, at each scoring, take its
        scores (see `scores_as`): `other` scores first each day, and its outcomes are never changed
        once made."""
        self.scored_as = other
        self.features, self.truth = other.features, other.truth
        self.compiled_rules, self.scoring_features = other.compiled_rules, other.scoring_features
        self.listed_days, self.denied_days = other.listed_days, other.denied_days  # counted once, by `other`

    @property
    def truth_differs(self) -> np.ndarray | None:
        """Who may have features in the truth unlike those recorded (None where records cannot be false)."""
        return self.truth.differs() if self.truth is not None else None

    def qualify(self, name: str) -> str:
        """A list's or entitlement's name as the scenario and the outputs give it (`court.blacklist`
        with several schemes, the bare name with one)."""
        return self.prefix + name

    def arrivals(self, events: DayEvents, day: int, seed: int) -> DayEvents:
        """Of today's records (`events`, as surveillance and incidents left them), those that reach the
        scheme today, in the world's kind codes: every record of a source received directly, each
        record of a source received on terms with chance `coverage` (a draw of the `sharing` stream
        keyed by the day, this scheme, the source and the record), held back `delay_days`; and the records held
        back before that are due today. Without terms, `events` itself."""
        if not self.terms:
            return events
        direct = np.ones(len(events), dtype=bool)
        parts = []
        for source, delay, coverage in self.terms:
            theirs = events.source == source
            direct &= ~theirs
            mine = np.flatnonzero(theirs)
            if coverage < 1:  # keyed by the record, so whether it is shared is not moved by others' records
                actor, key = events.take(mine).draw_keys()
                draws = KeyedDraws(seed, "sharing", day, self.index, source).uniforms(actor, key)
                mine = mine[draws < coverage]
            if delay:
                self.held.setdefault(day + delay, []).append(events.take(mine))
            else:
                parts.append(events.take(mine))
        return DayEvents.concat([events.take(np.flatnonzero(direct)), *parts, *self.held.pop(day, [])])

    def reaches(self, events: DayEvents, everyone: bool = False) -> np.ndarray:
        """Per record of `events` (world kind codes), whether it reaches this scheme: of a source it
        receives and a kind it declares, about a person it has enrolled (with `everyone`, anyone:
        what it would receive were everyone enrolled)."""
        enrolled = None if everyone else self.enrolled
        keep = np.ones(len(events), dtype=bool) if enrolled is None else enrolled[events.subject]
        if self.receives is not None:
            keep &= self.receives[events.source]
        if self.code_of is not None:
            keep &= self.code_of[events.kind] >= 0
        return keep

    def received(self, events: DayEvents, everyone: bool = False) -> DayEvents:
        """The records of `events` that reach this scheme, with its own kind codes (the same events
        where it receives every source and its kinds are the world's): of the people it has
        enrolled, or with `everyone`, of anyone (what it would receive were everyone enrolled)."""
        if self.receives is None and self.code_of is None and (everyone or self.enrolled is None):
            return events
        mine = events.take(np.flatnonzero(self.reaches(events, everyone)))
        if self.code_of is not None:
            mine.kind = self.code_of[mine.kind]
        return mine

    def is_update_day(self, day: int, days: int) -> bool:
        """A day whose number is a multiple of the scheme's `update_every_days`, and the last day."""
        return day % self.scheme.update_every_days == 0 or day == days - 1

    def rescore(self, graph: Relations, truth: bool = True) -> None:
        """Score everyone from the current feature state (and, where records can be false, from the
        genuine records only), slice by slice, keeping outcomes only (people.parquet makes the
        features and components behind them again, slice by slice). The old scores go first, so
        that two sets never share memory. `truth=False` when only the records changed (a voided
        record leaves the genuine ones as they were)."""
        relations = graph if self.scheme.network is not None else None
        self.scored_version += 1
        if self.scored_as is not None:  # the same scores as a scheme that scored before it today
            same = self.scored_as
            assert same.scored_time == same.features.as_of, "a scheme that shares scores scores after its twin"
            assert self.unenrolled is None and same.unenrolled is None, "schemes that enrol score apart"
            self.scores, self.true_scores, self.scored_time = same.scores, same.true_scores, same.scored_time
            self.denied_through_imports = same.denied_through_imports
            return
        self.scores = None
        self.scores = score_slices(self.scheme, self.features_of(self.features), self.n, relations,
                                   kept=self.neighbour_sums, compiled_rules=self.compiled_rules,
                                   inputs=self.inputs(), counted=self.enrolled)
        self.scored_time = self.features.as_of
        if self.unenrolled is not None:
            self.unenrolled(self, self.scores, self.features)
        if self.imports:
            self.denied_through_imports = outcomes_without_inputs(
                self.scheme, self.scores, self.features.features(only=self.scoring_features, views=True))
        if truth and self.truth is not None:
            self.true_scores = None
            true = self.score_truth(relations)
            if self.unenrolled is not None:  # a rule that rewrites whole arrays
                whole = true.whole()
                self.unenrolled(self, whole, self.truth)
                true = TrueScores.of_whole(whole, self.scores)
            self.true_scores = true
        elif self.true_scores is not None:
            # Only the recorded scores changed (a voided record): the true ones stand, and may now
            # differ from the recorded ones anywhere the recorded outcomes moved, so their rows are
            # found again against the new recorded scores (whole arrays, on such days alone).
            self.true_scores = TrueScores.of_whole(self.true_scores.whole(), self.scores)

    def score_truth(self, relations: Relations | None) -> TrueScores:
        """The scores from the genuine records only, made from the recorded ones (`self.scores`;
        the caller applies the rule for the unenrolled again, as it gives the same to the rows it
        covered, from features and inputs alone): the same to the bit as scoring
        everyone from the truth state, as only these rows can differ: those whose truth features
        differ (`truth_differs`), those whose imported lists differ in the truth, and, with a
        network term, those whose neighbours' `pre` differ. Only they are scored again, and only
        they are kept (`TrueScores`: whole arrays are made when asked for)."""
        assert self.scores is not None and self.truth is not None
        scheme, recorded, n = self.scheme, self.scores, self.n
        inputs = self.inputs(truth=True)
        given = checked_inputs(scheme, inputs, n) if scheme.input_lists or inputs else {}
        rows = self.truth.subjects()
        if given:
            differs = self.truth.differs()
            for name, members in given.items():
                differs |= members != recorded.inputs[name]
            rows = np.flatnonzero(differs)
        term = None
        if scheme.network is not None and relations is not None:
            pre = self.score_rows(rows, given, np.zeros(rows.size)).pre
            counted = self.enrolled
            if counted is not None and not counted.all():
                # ties to the unenrolled are left out of the mean (`network_term_of`'s `counted`):
                # the recorded sums are of other values, so the term is made whole from `pre`
                whole = recorded.pre.copy()
                whole[rows] = pre
                every = network_term_of(scheme, whole, relations, None, counted=counted)
                moved = np.flatnonzero(every.view(np.int64) != recorded.network_term.view(np.int64))
                moved_term = every[moved]
            else:
                # the term of whom their ties reach: from the recorded scoring's neighbour sums (of
                # `recorded.pre`, on this graph) and the differences at these rows, exact in fixed
                # point, as a full pass over everyone's ties
                assert self.neighbour_sums.values is recorded.pre, "the recorded scoring kept its sums"
                moved, moved_term = network_term_were(scheme, relations, self.neighbour_sums,
                                                      recorded.network_term, rows, pre)
            from ..scoring.kernels import union_sorted

            rows = union_sorted(rows, moved)  # both increasing: the union increasing, each once
            term = recorded.network_term[rows]
            term[np.searchsorted(rows, moved)] = moved_term
        return TrueScores(recorded, rows, self.score_rows(rows, given, term), term, given)

    def score_rows(self, rows: np.ndarray, inputs: dict[str, np.ndarray], term: np.ndarray | None) -> Scores:
        """Outcomes of the people `rows` from the truth state, with this network term (theirs, or 0 for
        each; None without one)."""
        assert self.truth is not None
        truth, only = self.truth, self.scoring_features
        return score_slices(self.scheme, lambda part: truth.features(rows[part], only=only, views=True), rows.size,
                            network_term=term, compiled_rules=self.compiled_rules,
                            inputs={name: members[rows] for name, members in inputs.items()})

    def inputs(self, truth: bool = False) -> dict[str, np.ndarray]:
        """The scheme's input lists as they stand now: each the list it is wired to, as its scheme
        last scored it (today's where that scheme scored today: it scores first); with `truth`, as
        that scheme's genuine records would have it (its lists where none of its records can be
        false). Nobody is on a list its scheme has not yet scored."""
        out = {}
        for own, source, name in self.imports:
            kept = source.true_scores if truth and source.truth is not None else source.scores
            out[own] = kept.lists[name] if kept is not None else np.zeros(self.n, dtype=bool)
        return out

    def features_of(self, state: IncrementalFeatures | SparseFeatures) -> Callable[[slice], dict[str, np.ndarray]]:
        """A slice's features for a scoring of outcomes only: just those it reads, as views (the
        state does not change while it scores)."""
        return lambda part: state.features(part, only=self.scoring_features, views=True)

    @property
    def denied(self) -> dict[str, np.ndarray]:
        """Per entitlement (its own name), who is denied it now (nobody before the first scoring)."""
        if self.scores is None:
            return {name: np.zeros(self.n, dtype=bool) for name in self.scheme.entitlements}
        return {name: ~allowed for name, allowed in self.scores.entitlements.items()}

    @property
    def listed(self) -> dict[str, np.ndarray]:
        """Per list (its own name), who is on it now (nobody before the first scoring)."""
        if self.scores is None:
            return {name: np.zeros(self.n, dtype=bool) for name in self.scheme.lists}
        return self.scores.lists

    def allowed(self, name: str) -> np.ndarray:
        """Who is allowed entitlement `name` now (everyone before the first scoring)."""
        return self.scores.entitlements[name] if self.scores is not None else np.ones(self.n, dtype=bool)

    def start_reporting(self) -> None:
        """Day 0 after a burn-in: days listed and denied count afresh, and today's tier is the starting one."""
        for counts in (*self.listed_days.values(), *self.denied_days.values()):
            counts[...] = 0
        if self.scores is not None:
            self.initial_tier = self.scores.tier.copy()


def scheme_section(summary: dict[str, Any], state: SchemeState) -> dict[str, Any]:
    """Where a scheme's figures go in summary.json: the summary itself with one scheme, its entry of
    `schemes` with several."""
    return summary["schemes"][state.name] if state.prefix else summary


def scheme_sections(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, figures) of each scheme of a summary.json: ("", the summary) with one scheme, and
    (its name, its entry of `schemes`) for each of several."""
    if "schemes" not in summary:
        return [("", summary)]
    return list(summary["schemes"].items())
