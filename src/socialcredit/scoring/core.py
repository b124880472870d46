"""From features to consequences: components, pre, network term, score, tier, lists,
entitlements and reason codes, for all subjects at once (docs/design.md, "The scheme format")."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ..parallel import parallel_map
from ..scheme import Scheme
from ..scheme.models import Component
from .graph import NeighbourSums, Relations, fixed_point_factor, to_fixed

if TYPE_CHECKING:
    from .compiled import CompiledRules

NO_REASON = -1
SLICE = 1 << 17  # subjects per slice in `score_slices`: few enough calls, small enough workings
COMPILED_FROM = 4096  # values from which a compiled pass beats NumPy's calls (fewer: a live read)
# Loading numba and the cached kernels costs a process about half a second of CPU (benchmarks/RESULTS.md,
# "Side by side with DuckDB and Polars"), more than NumPy's calls take below this many values: a process
# that has not loaded it (a `score` of a small log) takes NumPy's path there, which gives the same bits.
LOAD_COMPILER_FROM = 1 << 21


def compiled_pays(size: int, threshold: int = COMPILED_FROM) -> bool:
    """Whether `size` values go through a compiled pass: from `threshold` values once numba is
    loaded, and from `LOAD_COMPILER_FROM` where the pass would load it first."""
    return size >= threshold and (size >= LOAD_COMPILER_FROM or "numba" in sys.modules)


def load_compiler_in_background() -> None:
    """Start loading numba and the kernels from its cache (a first call readies its code generator:
    the larger part of the cost) on a thread of its own, for a caller that will need them and has
    other work first: `score` reading a large log, which leaves a core free between Arrow's reads.
    A failure here is left to the call that needs the kernels, which reports it."""

    def load() -> None:
        with contextlib.suppress(Exception):
            from .kernels import group_by_kind

            group_by_kind(np.zeros(1, dtype=np.int16), 1)

    threading.Thread(target=load, name="socialcredit-compiler", daemon=True).start()


@dataclass
class Scores:
    """Everything the scheme says about every subject, as arrays indexed by subject."""

    scheme: Scheme
    features: dict[str, np.ndarray]
    components: dict[str, np.ndarray]   # points per component
    pre: np.ndarray
    network_term: np.ndarray            # score - pre before clipping: what one's relations added (0 without)
    score: np.ndarray
    tier: np.ndarray                    # index into scheme.tiers (0 = highest); -1 without tiers
    tier_cap: np.ndarray                # index into scheme.tier_caps of the cap that held the tier down; -1 none
    lists: dict[str, np.ndarray]
    entitlements: dict[str, np.ndarray]
    # uint16 per subject: bit k set where the scheme's k-th unscored condition holds (0: scored);
    # None where the scheme has no such conditions (everyone is scored)
    unscored: np.ndarray | None = None
    # the scheme's input lists as they were read (bool per subject), by name; empty without any
    inputs: Mapping[str, np.ndarray] = field(default_factory=dict)
    # bool per subject: those the scheme has not enrolled (a simulation's enrolment rule), of whom it
    # has no records and so no score, pre or tier (tier -1); None where it scores everyone it is given
    unenrolled: np.ndarray | None = None

    @property
    def n_subjects(self) -> int:
        return int(self.score.shape[0])

    @property
    def scored(self) -> np.ndarray:
        """Whether each subject is scored: no unscored condition holds and the scheme has enrolled
        them. An unscored subject has no score, pre or tier: `score` and `pre` still hold what the
        points come to (the simulation's people act on it), `tier` holds -1, and the outputs give
        none of them."""
        scored = np.ones(self.n_subjects, dtype=bool) if self.unscored is None else self.unscored == 0
        return scored if self.unenrolled is None else scored & ~self.unenrolled

    @property
    def withholds(self) -> bool:
        """Whether some subjects may be unscored (the scheme has unscored conditions or enrols):
        the outputs then say who is scored and give the figures of the scored alone."""
        return self.unscored is not None or self.unenrolled is not None

    def unscored_by(self, separator: str = ";") -> np.ndarray:
        """Per subject, the reason codes of the unscored conditions that hold, in the scheme's order,
        joined by `separator` ("" where scored)."""
        joined = np.full(self.n_subjects, "", dtype=object)
        if self.unscored is None:
            return joined
        for bit, code in enumerate(self.scheme.unscored_names):
            holds = (self.unscored >> np.uint16(bit)) & np.uint16(1) == 1
            joined = np.where(holds & (joined != ""), joined + separator + code, np.where(holds, joined + code, joined))
        return joined

    @property
    def reason_components(self) -> tuple[str, ...]:
        """Component names in name order: the first codes of `reason_names`."""
        return tuple(sorted(self.scheme.components))

    @property
    def reason_names(self) -> tuple[str, ...]:
        """What the codes in `reasons` index: the components in name order, then the tier caps'
        reason codes in the scheme's order, then the unscored conditions' in the scheme's order."""
        return (*self.reason_components, *self.scheme.tier_cap_names, *self.scheme.unscored_names)

    @cached_property
    def reasons(self) -> np.ndarray:
        """(n, scheme.reason_width) index into `reason_names`, -1 = none. Computed when first asked
        for: a simulation step that only needs outcomes never pays for explanations."""
        if self.scheme.components and not self.components:
            raise ValueError("these scores were made without detail (score_slices(detail=False)): no components to "
                             "explain; score with detail=True")
        codes = reason_codes(self.scheme, self.components, self.n_subjects, self.tier_cap, self.unscored)
        if self.unenrolled is not None:  # no score to explain
            codes[self.unenrolled] = NO_REASON
        return codes

    def tier_names(self) -> np.ndarray:
        """The tier name of every subject (empty strings where the scheme has no tiers)."""
        names = np.array([*self.scheme.tier_names, ""], dtype=object)
        return names[self.tier]

    def tier_by_score(self) -> np.ndarray:
        """The tier index each subject's score alone gives, before any tier cap."""
        return tier_index(self.scheme, self.score)

    def capped_by(self) -> np.ndarray:
        """The reason code of the tier cap that held each subject's tier down ("" where none did)."""
        names = np.array([*self.scheme.tier_cap_names, ""], dtype=object)
        return names[self.tier_cap]

    def reason_strings(self, separator: str = ";") -> np.ndarray:
        """Per subject, the reason codes joined by `separator`: the tier cap that held the tier down,
        then the components that lost points, most first."""
        names = np.array([*self.reason_names, ""], dtype=object)  # -1 picks the trailing ""
        joined = np.full(self.n_subjects, "", dtype=object)
        for column in range(self.reasons.shape[1]):
            part = names[self.reasons[:, column]]
            has = self.reasons[:, column] != NO_REASON
            joined = np.where(has & (joined != ""), joined + separator + part, np.where(has, joined + part, joined))
        return joined

    def explain(self, subject: int) -> list[dict[str, object]]:
        """The reason codes of one subject, each with its `code`: for an unscored condition that
        holds, its condition and the values it read; for a tier cap that held the tier down, its
        condition, the tier it allows at most, the tier the score alone gives and the values the
        condition read; for a component, its feature and value, points and points lost."""
        out: list[dict[str, object]] = []
        components = len(self.reason_components)
        caps = components + len(self.scheme.tier_caps)
        for code in self.reasons[subject]:
            if code == NO_REASON:
                break
            name = self.reason_names[code]
            if code >= caps:  # an unscored condition: the only reasons of an unscored subject
                out.append(self.explain_unscored(subject, int(code) - caps))
                continue
            if code >= components:  # the tier cap, first
                cap = self.explain_cap(subject)
                assert cap is not None
                out.append(cap)
                continue
            component = self.scheme.components[name]
            points = float(self.components[name][subject])
            out.append({
                "code": name,
                "component": name,
                "feature": component.feature,
                "value": float(self.features[component.feature][subject]),
                "points": points,
                "points_lost": component.best_points() - points,
            })
        return out

    def explain_unscored(self, subject: int, index: int) -> dict[str, object]:
        """One unscored condition as `explain` gives it: its code, condition and the values read."""
        condition = self.scheme.rules.unscored[index]
        return {
            "code": self.scheme.unscored_names[index],
            "unscored": self.scheme.unscored_names[index],
            "when": condition.source,
            "values": {name: float(self.features[name][subject]) for name in sorted(condition.names)},
        }

    def explain_cap(self, subject: int) -> dict[str, object] | None:
        """The tier cap that held one subject's tier down, as `explain` gives it; None where none did."""
        index = int(self.tier_cap[subject])
        if index < 0:
            return None
        condition, highest = self.scheme.rules.tier_caps[index]
        values = {"score": self.score, "pre": self.pre, **self.features, **self.components, **self.inputs}
        by_score = int(tier_index(self.scheme, self.score[subject:subject + 1])[0])
        return {
            "code": self.scheme.tier_cap_names[index],
            "tier_cap": self.scheme.tier_cap_names[index],
            "when": condition.source,
            "at_most": self.scheme.tier_names[highest],
            "tier_by_score": self.scheme.tier_names[by_score],
            "values": {name: float(values[name][subject]) for name in sorted(condition.names)},
        }


def component_points(component: Component, value: np.ndarray) -> np.ndarray:
    bins = component.bins
    uptos = np.array([b.upto for b in bins[:-1]] if bins is not None else [], dtype=np.float64)
    points = np.array([b.points for b in bins] if bins is not None else [], dtype=np.float64)
    low = component.min if component.min is not None else -np.inf
    high = component.max if component.max is not None else np.inf
    per_unit = float(component.per_unit) if component.per_unit is not None else 0.0
    value = np.asarray(value, dtype=np.float64)
    if compiled_pays(value.size, COMPILED_FROM):  # one compiled pass rather than three or four NumPy ones
        from .kernels import component_points_of

        return component_points_of(np.ascontiguousarray(value), uptos, points, per_unit, low, high)
    # Few values (a live read): the first bin with value <= upto, values above every upto (and NaN,
    # which sorts last) in the catch-all last bin.
    result = points[np.searchsorted(uptos, value, side="left")] if bins is not None else per_unit * value
    if component.min is not None or component.max is not None:
        result = np.clip(result, low, high)
    return result + 0.0  # turns -0.0 (from a negative per_unit times 0) into 0.0 for display


def tier_index(scheme: Scheme, score: np.ndarray) -> np.ndarray:
    """Index of the first tier (highest first) whose min the score reaches; -1 without tiers."""
    if not scheme.tiers:
        return np.full(score.shape[0], -1, dtype=np.int16)
    if compiled_pays(score.shape[0], COMPILED_FROM):  # one compiled pass rather than a search and three conversions
        from .kernels import tiers_of

        return tiers_of(np.array([tier.min for tier in scheme.tiers], dtype=np.float64),
                        np.ascontiguousarray(score, dtype=np.float64))
    ascending = np.array([tier.min for tier in reversed(scheme.tiers)])
    rank = np.searchsorted(ascending, score, side="right") - 1   # 0 = lowest tier
    return (len(scheme.tiers) - 1 - rank).astype(np.int16)


def reason_codes(scheme: Scheme, components: Mapping[str, np.ndarray], n: int,
                 tier_cap: np.ndarray | None = None, unscored: np.ndarray | None = None) -> np.ndarray:
    """The tier cap that held the tier down (`tier_cap`: its index in the scheme's caps, -1 none),
    first: it, not points, decided the tier. Then components ranked by points lost (largest first,
    ties by name), only those that lost points, at most `reasons`; then the `also` components that
    lost points but were not among them. An unscored subject (`unscored`: the bits of the
    conditions that hold) has the codes of those conditions instead, in the scheme's order, and no
    others: there is no score to explain. Codes index the component names in name order, then the
    caps in the scheme's order, then the unscored conditions; NO_REASON pads the end of each row."""
    codes = _scored_reason_codes(scheme, components, n, tier_cap)
    if not scheme.unscored_rules:
        return codes
    if unscored is None:
        raise ValueError(f"scheme '{scheme.id}' has unscored conditions: give which hold (Scores.unscored)")
    width = scheme.reason_width
    if codes.shape[1] < width:
        codes = np.hstack([codes, np.full((n, width - codes.shape[1]), NO_REASON, dtype=np.int16)])
    first = len(scheme.components) + len(scheme.tier_caps)
    rows = np.flatnonzero(unscored)
    holds = (unscored[rows, None] >> np.arange(len(scheme.unscored_rules), dtype=np.uint16)) & np.uint16(1) == 1
    codes[rows] = NO_REASON
    row, condition = np.nonzero(holds)  # row by row, the conditions in order
    place = np.cumsum(holds, axis=1) - 1
    codes[rows[row], place[row, condition]] = (first + condition).astype(np.int16)
    return codes


def _scored_reason_codes(scheme: Scheme, components: Mapping[str, np.ndarray], n: int,
                         tier_cap: np.ndarray | None) -> np.ndarray:
    """`reason_codes` of a scored subject: the tier cap that held the tier down, then components."""
    names = tuple(sorted(scheme.components))
    width = scheme.reason_count + len(scheme.reason_also)  # the components' codes
    limit = min(scheme.reason_count, len(names))
    if not width or not n or not names:
        ranked = np.full((n, width), NO_REASON, dtype=np.int16)
    else:
        best = np.array([scheme.components[c].best_points() for c in names], dtype=np.float64)
        points = np.stack([np.asarray(components[c], dtype=np.float64) for c in names])  # a row per component
        also = np.array([names.index(name) for name in scheme.reason_also], dtype=np.int64)
        if compiled_pays(n, 0):  # once numba is loaded, whatever the size: a live read of one subject too
            from .kernels import rank_reasons

            ranked = np.empty((n, width), dtype=np.int16)
            parallel_map(lambda part: rank_reasons(points, best, limit, also, ranked, part.start, part.stop),
                         slices(n))
        else:
            ranked = ranked_reasons(points, best, limit, also, width)
    if not scheme.tier_caps:
        return ranked
    if tier_cap is None:
        raise ValueError(f"scheme '{scheme.id}' has tier caps: give the cap that held each tier (Scores.tier_cap)")
    capped = tier_cap >= 0
    pad = np.full((n, 1), NO_REASON, dtype=np.int16)
    cap_code = np.where(capped, len(names) + tier_cap, NO_REASON).astype(np.int16)[:, None]
    return np.where(capped[:, None], np.hstack([cap_code, ranked]), np.hstack([ranked, pad]))


def ranked_reasons(points: np.ndarray, best: np.ndarray, limit: int, also: np.ndarray, width: int) -> np.ndarray:
    """`kernels.rank_reasons` in NumPy's calls, the same codes to the last one: for a process that has
    not loaded numba. `points` holds a row per component (in name order); the result a row per subject."""
    n = points.shape[1]
    lost = np.rint((best[:, None] - points) * 1e9) / 1e9
    counted = lost > 0  # NaN never counts
    # most lost first, ties in name order (a stable sort), those that lost nothing last
    order = np.argsort(np.where(counted, -lost, np.inf), axis=0, kind="stable")[:limit]
    valid = np.take_along_axis(counted, order, axis=0)  # the counted come first: a prefix of each column
    ranked = np.full((n, width), NO_REASON, dtype=np.int16)
    ranked[:, :order.shape[0]] = np.where(valid, order, NO_REASON).T
    taken = np.zeros(points.shape, dtype=bool)
    subjects = np.arange(n)
    for place in range(order.shape[0]):
        taken[order[place], subjects] |= valid[place]
    count = valid.sum(axis=0)
    for code in also.tolist():  # then each `also` component that lost points and is not among them
        rows = np.flatnonzero(counted[code] & ~taken[code])
        ranked[rows, count[rows]] = code
        count[rows] += 1
    return ranked


def points_and_pre(scheme: Scheme, features: Mapping[str, np.ndarray], n: int) -> tuple[dict[str, np.ndarray],
                                                                                        np.ndarray]:
    """Each component's points, and `pre`: base plus points, clipped to the scale."""
    scale = scheme.scale
    components = {name: component_points(c, features[c.feature]) for name, c in scheme.components.items()}
    total = np.full(n, scale.base)
    for points in components.values():
        total += points
    return components, np.clip(total, scale.min, scale.max)


def network_term_of(scheme: Scheme, pre: np.ndarray, relations: Relations,
                    kept: NeighbourSums | None = None, counted: np.ndarray | None = None) -> np.ndarray:
    """What each subject's relations add: weight x (mean of the neighbours' `pre` - base); 0 alone.

    The neighbours' `pre` are added in fixed point (see graph.to_fixed): exact sums, the same
    however they are made. `pre` lies within the scale, which sets the fixed point. `counted`
    (bool per subject; None: everyone): whose `pre` the mean reads. A tie to someone not counted
    (a person the scheme has not enrolled, of whom it has no `pre`) is left out of the mean, and a
    subject with no counted neighbour gets no term, as one without neighbours."""
    term, totals = _term_or_sums(scheme, pre, relations, kept, counted)
    if term is not None:
        return term
    assert totals is not None
    return network_term_from(scheme, relations, totals, slice(0, relations.n_subjects),
                             np.empty(relations.n_subjects))  # NumPy's memory (see the kernels' docstring)


def _term_or_sums(scheme: Scheme, pre: np.ndarray, relations: Relations, kept: NeighbourSums | None,
                  counted: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """`network_term_of`'s work but the last step: (None, the neighbour sums of `pre` in fixed point)
    where the term is their mean, which `network_term_from` gives subject by subject; (the term,
    None) where only some are counted."""
    if scheme.network is None:
        raise ValueError(f"scheme '{scheme.id}' has no network term")
    if relations.n_subjects != pre.shape[0]:
        raise ValueError(f"relations cover {relations.n_subjects} subjects, features {pre.shape[0]}")
    factor = fixed_point_factor(max(abs(scheme.scale.min), abs(scheme.scale.max)))
    if counted is not None and not counted.all():
        return _term_of_counted(scheme, pre, relations, kept, counted, factor), None
    totals = kept.sums(relations, pre, factor) if kept is not None else relations.neighbour_sum(to_fixed(pre, factor))
    return None, totals


def network_term_from(scheme: Scheme, relations: Relations, totals: np.ndarray, part: slice,
                      out: np.ndarray) -> np.ndarray:
    """The network term of the subjects in `part` (a slice of ids) from everyone's neighbour sums in
    fixed point (`_term_or_sums`), into `out`: each subject's own, so slices may be made apart (on
    the slice threads) and give what one pass over everyone gives."""
    assert scheme.network is not None
    from .kernels import mean_term

    factor = fixed_point_factor(max(abs(scheme.scale.min), abs(scheme.scale.max)))
    return mean_term(relations.indptr[part.start:part.stop + 1], totals[part], factor,
                     float(scheme.network.weight), float(scheme.scale.base), out)


def network_term_were(scheme: Scheme, relations: Relations, kept: NeighbourSums, term: np.ndarray,
                      rows: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The network term had `pre` been `values` at `rows` rather than what `kept` summed last (on
    `relations`, giving `term`): the subjects whose term that moves, and their terms. The same bits
    as `network_term_of` on the whole `pre` so changed, in work proportional to the ties of `rows`."""
    if scheme.network is None:
        raise ValueError(f"scheme '{scheme.id}' has no network term")
    from .kernels import mean_term

    factor = fixed_point_factor(max(abs(scheme.scale.min), abs(scheme.scale.max)))
    reached, totals = kept.sums_were(relations, rows, values, factor)
    degree = relations.indptr[reached + 1] - relations.indptr[reached]  # theirs alone, not everyone's
    indptr = np.zeros(reached.size + 1, dtype=relations.indptr.dtype)
    np.cumsum(degree, out=indptr[1:])
    part = mean_term(indptr, totals, factor, float(scheme.network.weight), float(scheme.scale.base),
                     np.empty(reached.size))
    moves = part.view(np.int64) != term[reached].view(np.int64)
    return reached[moves], part[moves]


def _term_of_counted(scheme: Scheme, pre: np.ndarray, relations: Relations, kept: NeighbourSums | None,
                     counted: np.ndarray, factor: float) -> np.ndarray:
    """`network_term_of` over the counted neighbours alone: the sums of `pre` with the others' taken
    as 0 (kept from day to day as any sums are), over the number of counted neighbours."""
    assert scheme.network is not None
    values = np.where(counted, pre, 0.0)
    totals = kept.sums(relations, values, factor) if kept is not None else \
        relations.neighbour_sum(to_fixed(values, factor))
    among = relations.neighbour_sum(counted.astype(np.int64))
    mean = totals.astype(np.float64) * (1.0 / factor) / np.maximum(among, 1)
    return np.where(among > 0, float(scheme.network.weight) * (mean - float(scheme.scale.base)), 0.0)


def _outcomes(scheme: Scheme, env: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray,
                                                                           dict[str, np.ndarray],
                                                                           dict[str, np.ndarray],
                                                                           np.ndarray | None]:
    """Tier (and the cap that held it), lists, entitlements and the unscored conditions that hold
    (bits; None without any) from features, components, pre and score in `env` (which gains
    `scored`, `tier` and the lists, for the expressions that read them)."""
    unscored = None
    if scheme.rules.unscored:
        unscored = np.zeros(n, dtype=np.uint16)
        for bit, condition in enumerate(scheme.rules.unscored):
            holds = np.broadcast_to(condition(env), (n,)).astype(bool)
            unscored |= holds.astype(np.uint16) << np.uint16(bit)
        scored = unscored == 0
        env["scored"] = scored
        # An unscored subject has no pre, score or tier: what the expressions read is NaN.
        env["pre"] = np.where(scored, env["pre"], np.nan)
        env["score"] = np.where(scored, env["score"], np.nan)
    else:
        env["scored"] = np.asarray(True)
    tier = tier_index(scheme, env["score"])
    tier_cap = np.full(n, -1, dtype=np.int16)
    for index, (condition, highest) in enumerate(scheme.rules.tier_caps):
        # A cap holds the tier at `highest` or below; where several apply, the lowest wins.
        held = np.broadcast_to(condition(env), (n,)).astype(bool) & (tier < highest)
        tier = np.where(held, np.int16(highest), tier).astype(np.int16)
        tier_cap[held] = index
    if unscored is not None:
        tier = np.where(scored, tier, np.int16(-1)).astype(np.int16)
        tier_cap = np.where(scored, tier_cap, np.int16(-1)).astype(np.int16)
    if scheme.tiers:
        rank = np.int16(len(scheme.tiers) - 1) - tier  # rank: higher is better
        env["tier"] = rank if unscored is None else np.where(scored, rank.astype(np.float64), np.nan)
    lists: dict[str, np.ndarray] = {}
    for name in scheme.rules.list_order:
        lists[name] = env[name] = np.broadcast_to(scheme.rules.lists[name](env), (n,)).astype(bool)
    entitlements = {name: np.broadcast_to(expression(env), (n,)).astype(bool)
                    for name, expression in scheme.rules.entitlements.items()}
    return tier, tier_cap, {name: lists[name] for name in scheme.lists}, entitlements, unscored


def slices(n: int, size: int | None = None) -> list[slice]:
    """Consecutive slices of ids 0..n-1 of `size` (default `SLICE`, read when called: a test may make
    slices small to have threads share a small population), the last shorter; one empty slice when
    n = 0."""
    size = SLICE if size is None else size
    return [slice(low, min(low + size, n)) for low in range(0, n, size)] or [slice(0, 0)]


def outcome_inputs(scheme: Scheme) -> frozenset[str]:
    """The features and components that unscored conditions, tier caps, lists and entitlements read."""
    expressions = [*scheme.rules.unscored, *(condition for condition, _ in scheme.rules.tier_caps)]
    expressions += [scheme.rules.lists[name] for name in scheme.rules.list_order]
    expressions += list(scheme.rules.entitlements.values())
    names = frozenset().union(*(expression.names for expression in expressions))
    return names & (frozenset(scheme.features) | frozenset(scheme.components))


def scoring_features(scheme: Scheme) -> frozenset[str]:
    """The features that scores and outcomes need (those components and rules read, with the
    inputs of ratios among them): the rest are for explanation only, and a scoring that keeps
    outcomes only (`score_slices` without `detail`) can leave them out."""
    needed = {component.feature for component in scheme.components.values()} | (outcome_inputs(scheme)
                                                                                 & frozenset(scheme.features))
    for name in reversed(scheme.rules.feature_order):  # a ratio comes after its inputs
        ratio = scheme.features[name].ratio
        if name in needed and ratio is not None:
            needed.update(ratio)
    return frozenset(needed)


def score_features(scheme: Scheme, features: dict[str, np.ndarray], relations: Relations | None = None,
                   network_term: np.ndarray | None = None, n_subjects: int | None = None,
                   inputs: Mapping[str, np.ndarray] | None = None) -> Scores:
    """Apply the scheme's rules to computed features (from the batch core or incremental state).

    `network_term` gives the neighbours' contribution directly instead of computing it from
    `relations`: for what-if scoring of one person's own change, which leaves their neighbours'
    `pre`, and so their own term, as it was. `inputs`: the scheme's input lists (bool per
    subject), every one it declares."""
    if n_subjects is not None:
        n = n_subjects
    elif features:
        n = next(iter(features.values())).shape[0]
    else:
        n = relations.n_subjects if relations is not None else 0
    return score_slices(scheme, lambda part: features, n, relations, network_term, detail=True, size=max(n, 1),
                        inputs=inputs)


def checked_inputs(scheme: Scheme, inputs: Mapping[str, np.ndarray] | None, n: int) -> dict[str, np.ndarray]:
    """The scheme's input lists as bool arrays of n subjects; a list it declares that is not given
    is an error, never an empty list (nobody on it would be a silent claim)."""
    inputs = dict(inputs or {})
    missing = [name for name in scheme.input_lists if name not in inputs]
    if missing:
        raise ValueError(f"scheme '{scheme.id}' reads input list{'s' * (len(missing) > 1)} "
                         f"{', '.join(repr(name) for name in missing)}: give its members")
    unknown = sorted(set(inputs) - set(scheme.input_lists))
    if unknown:
        raise ValueError(f"scheme '{scheme.id}' declares no input list {', '.join(repr(n) for n in unknown)}")
    out = {}
    for name in scheme.input_lists:
        members = np.asarray(inputs[name], dtype=bool)
        if members.shape != (n,):
            raise ValueError(f"input list '{name}' covers {members.shape} subjects, not {n}")
        out[name] = members
    return out


def score_slices(scheme: Scheme, features_of: Callable[[slice], dict[str, np.ndarray]], n: int,
                 relations: Relations | None = None, network_term: np.ndarray | None = None,
                 detail: bool = False, size: int | None = None, kept: NeighbourSums | None = None,
                 compiled_rules: CompiledRules | None = None, inputs: Mapping[str, np.ndarray] | None = None,
                 counted: np.ndarray | None = None) -> Scores:
    """What `score_features` gives for the features of subjects 0..n-1, computed slice by slice:
    `features_of(slice)` gives the features of the subjects in a slice of ids.

    Every step but the network term is per subject, so it runs on one slice at a time: the
    temporaries stay small enough to stay in the CPU's cache, and memory holds the results, not the
    workings. The network term needs everyone's `pre`: a first pass makes it, the term follows, and a
    second pass gives the rest from what the first held of what it reads. Without `detail`,
    the Scores keep no features or components (a simulation day needs only outcomes). `kept`
    carries the neighbour sums from one call to the next (see NeighbourSums). `compiled_rules`: the
    scheme's rules compiled to one loop (scoring/compiled.py), used where outcomes alone are asked.
    `inputs`: the scheme's input lists, whole arrays of n subjects (see `checked_inputs`). `counted`:
    whose `pre` the network term reads (see `network_term_of`)."""
    scale = scheme.scale
    given = checked_inputs(scheme, inputs, n) if scheme.input_lists or inputs else {}
    size = SLICE if size is None else size
    parts = slices(n, size)
    from_relations = scheme.network is not None and network_term is None and relations is not None
    pre = np.empty(n)
    # Per slice, what the first pass made that the second reads: every feature and component when
    # the scores keep them (`detail`), else only those the outcome rules read.
    read = None if detail else outcome_inputs(scheme)
    compiled = None if detail else compiled_rules

    def first_pass(part: slice) -> dict[str, np.ndarray]:
        """A slice's features and points, its `pre` written in place; what the second pass reads."""
        features = features_of(part)
        if compiled is not None:
            compiled.pre(features, pre[part])
            return features
        components, pre[part] = points_and_pre(scheme, features, part.stop - part.start)
        made = {**features, **components}
        return made if read is None else {name: made[name] for name in read}

    held: list[dict[str, np.ndarray]] = []
    sums: np.ndarray | None = None  # the neighbour sums, where each slice makes its own term from them
    if from_relations:
        assert relations is not None
        held = parallel_map(first_pass, parts)
        made, sums = _term_or_sums(scheme, pre, relations, kept, counted)
        term = made if made is not None else np.empty(n)
    elif scheme.network is not None and network_term is not None:
        term = network_term
    else:
        term = np.zeros(n)  # calloc'd: untouched pages cost no memory
    score = np.empty(n)
    tier = np.empty(n, dtype=np.int16)
    tier_cap = np.empty(n, dtype=np.int16)
    lists = {name: np.empty(n, dtype=bool) for name in scheme.lists}
    entitlements = {name: np.empty(n, dtype=bool) for name in scheme.entitlements}
    unscored = np.empty(n, dtype=np.uint16) if scheme.rules.unscored else None

    def second_pass(part: slice) -> dict[str, np.ndarray] | None:
        """A slice's score and outcomes, written in place; with `detail`, its features and points."""
        env = dict(held[part.start // size] if from_relations else first_pass(part))  # parts are `size` apart
        if sums is not None:
            assert relations is not None
            network_term_from(scheme, relations, sums, part, term[part])
        for name, members in given.items():  # what an expression reads of an input list
            env[name] = members[part]
        if compiled is not None:
            compiled.outcomes(env, pre[part], term[part], score[part], tier[part], tier_cap[part],
                              {name: lists[name][part] for name in scheme.lists},
                              {name: entitlements[name][part] for name in scheme.entitlements},
                              None if unscored is None else unscored[part])
            return None
        kept_detail = dict(env) if detail else None
        score[part] = np.clip(pre[part] + term[part], scale.min, scale.max) if scheme.network is not None \
            else pre[part]
        env.update({"pre": pre[part], "score": score[part]})
        tier[part], tier_cap[part], listed, allowed, held_unscored = _outcomes(scheme, env, part.stop - part.start)
        if unscored is not None:
            assert held_unscored is not None
            unscored[part] = held_unscored
        for name in scheme.lists:
            lists[name][part] = listed[name]
        for name in scheme.entitlements:
            entitlements[name][part] = allowed[name]
        return kept_detail

    # per slice, with `detail`: features and components
    explained = [made for made in parallel_map(second_pass, parts) if made is not None]

    def joined(names: Iterable[str]) -> dict[str, np.ndarray]:
        """Whole arrays of these names from the slices (one slice: its arrays as they are)."""
        if not detail:
            return {}
        return {name: explained[0][name] if len(explained) == 1 else np.concatenate([e[name] for e in explained])
                for name in names}

    return Scores(
        scheme=scheme,
        features=joined(scheme.features),
        components=joined(scheme.components),
        pre=pre,
        network_term=term,
        score=score,
        tier=tier,
        tier_cap=tier_cap,
        lists=lists,
        entitlements=entitlements,
        unscored=unscored,
        inputs=given,
    )


def outcomes_without_inputs(scheme: Scheme, scores: Scores, features: Mapping[str, np.ndarray]) -> np.ndarray:
    """Who is denied an entitlement (a sanction or a perk) that the scheme would allow were nobody
    on its input lists, the rest as it is (features, pre, score): those it denies because of
    another body's list. Only the members of some input list can be (the
    others' rules read nothing different), so only they are scored again; `features` holds at
    least those the outcomes read, for every subject."""
    n = scores.n_subjects
    through = np.zeros(n, dtype=bool)
    on_any = np.zeros(n, dtype=bool)
    for members in scores.inputs.values():
        on_any |= members
    rows = np.flatnonzero(on_any)
    if not rows.size or not scheme.entitlements:
        return through
    needed = outcome_inputs(scheme)
    chosen = {name: np.asarray(values)[rows] for name, values in features.items()}
    components, _ = points_and_pre(scheme, chosen, rows.size)
    env = {name: value for name, value in {**chosen, **components}.items() if name in needed}
    env.update({"pre": scores.pre[rows], "score": scores.score[rows]})
    env.update({name: np.zeros(rows.size, dtype=bool) for name in scheme.input_lists})
    _, _, _, allowed, _ = _outcomes(scheme, env, rows.size)
    for name in scheme.entitlements:
        through[rows] |= allowed[name] & ~scores.entitlements[name][rows]
    return through
