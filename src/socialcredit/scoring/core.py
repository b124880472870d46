"""From features to consequences: components, pre, network term, score, tier, lists,
entitlements and reason codes, for all subjects at once (DESIGN.md §4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..scheme import Scheme
from ..scheme.models import Component
from .graph import Relations

NO_REASON = -1


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

    @property
    def n_subjects(self) -> int:
        return int(self.score.shape[0])

    @property
    def reason_components(self) -> tuple[str, ...]:
        """Component names in name order: what the codes in `reasons` index."""
        return tuple(sorted(self.scheme.components))

    @cached_property
    def reasons(self) -> np.ndarray:
        """(n, scheme.reason_width) index into `reason_components`, -1 = none. Computed when first asked
        for: a simulation step that only needs outcomes never pays for explanations."""
        return reason_codes(self.scheme, self.components, self.n_subjects)

    def tier_names(self) -> np.ndarray:
        """The tier name of every subject (empty strings where the scheme has no tiers)."""
        names = np.array([*self.scheme.tier_names, ""], dtype=object)
        return names[self.tier]

    def reason_strings(self, separator: str = ";") -> np.ndarray:
        """Per subject, the components that lost points, most first, joined by `separator`."""
        names = np.array([*self.reason_components, ""], dtype=object)  # -1 picks the trailing ""
        joined = np.full(self.n_subjects, "", dtype=object)
        for column in range(self.reasons.shape[1]):
            part = names[self.reasons[:, column]]
            has = self.reasons[:, column] != NO_REASON
            joined = np.where(has & (joined != ""), joined + separator + part, np.where(has, joined + part, joined))
        return joined

    def explain(self, subject: int) -> list[dict[str, object]]:
        """The reason codes of one subject: component, its feature and value, points, points lost."""
        out = []
        for code in self.reasons[subject]:
            if code == NO_REASON:
                break
            name = self.reason_components[code]
            component = self.scheme.components[name]
            points = float(self.components[name][subject])
            out.append({
                "component": name,
                "feature": component.feature,
                "value": float(self.features[component.feature][subject]),
                "points": points,
                "points_lost": component.best_points() - points,
            })
        return out


def component_points(component: Component, value: np.ndarray) -> np.ndarray:
    if component.bins is not None:
        uptos = np.array([b.upto for b in component.bins[:-1]], dtype=np.float64)
        points = np.array([b.points for b in component.bins], dtype=np.float64)
        # The first bin with value <= upto; values above every upto fall in the catch-all last bin.
        result = points[np.searchsorted(uptos, value, side="left")]
    else:
        result = np.asarray(component.per_unit, dtype=np.float64) * value
    if component.min is not None or component.max is not None:
        result = np.clip(result, component.min, component.max)
    return result + 0.0  # turns -0.0 (from a negative per_unit times 0) into 0.0 for display


def tier_index(scheme: Scheme, score: np.ndarray) -> np.ndarray:
    """Index of the first tier (highest first) whose min the score reaches; -1 without tiers."""
    if not scheme.tiers:
        return np.full(score.shape[0], -1, dtype=np.int16)
    ascending = np.array([tier.min for tier in reversed(scheme.tiers)])
    rank = np.searchsorted(ascending, score, side="right") - 1   # 0 = lowest tier
    return (len(scheme.tiers) - 1 - rank).astype(np.int16)


def reason_codes(scheme: Scheme, components: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Components ranked by points lost (largest first, ties by name), only those that lost points,
    at most `reasons`; then the `also` components that lost points but were not among them. Codes
    index the component names in name order; NO_REASON pads the end of each row."""
    names = tuple(sorted(scheme.components))
    width = scheme.reason_width
    limit = min(scheme.reason_count, len(names))
    if not width or not n or not names:
        return np.full((n, width), NO_REASON, dtype=np.int16)
    lost = np.column_stack([scheme.components[c].best_points() - components[c] for c in names])
    # Compared at 1e-9 points: floating noise (a decayed sum kept incrementally rather than summed
    # afresh) must neither reorder equal losses nor turn a zero loss into a reason.
    lost = np.round(lost, 9)
    order = np.argsort(-lost, axis=1, kind="stable")[:, :limit]  # stable: ties stay in name order
    top_lost = np.take_along_axis(lost, order, axis=1)
    codes = np.full((n, width), NO_REASON, dtype=np.int16)
    codes[:, :limit] = np.where(top_lost > 0, order, NO_REASON)
    for offset, name in enumerate(scheme.reason_also):
        code = names.index(name)
        missing = (lost[:, code] > 0) & ~(codes[:, :limit] == code).any(axis=1)
        codes[missing, scheme.reason_count + offset] = code
    # keep the reasons first and the padding last, in order
    return np.take_along_axis(codes, np.argsort(codes == NO_REASON, axis=1, kind="stable"), axis=1)


def score_features(scheme: Scheme, features: dict[str, np.ndarray], relations: Relations | None = None,
                   network_term: np.ndarray | None = None, n_subjects: int | None = None) -> Scores:
    """Apply the scheme's rules to computed features (from the batch core or incremental state).

    `network_term` gives the neighbours' contribution directly instead of computing it from
    `relations`: for what-if scoring of one person's own change, which leaves their neighbours'
    `pre`, and so their own term, as it was."""
    if n_subjects is not None:
        n = n_subjects
    elif features:
        n = next(iter(features.values())).shape[0]
    else:
        n = relations.n_subjects if relations is not None else 0
    scale = scheme.scale
    components = {name: component_points(c, features[c.feature]) for name, c in scheme.components.items()}
    total = np.full(n, scale.base)
    for points in components.values():
        total += points
    pre = np.clip(total, scale.min, scale.max)
    term = np.zeros(n)
    if scheme.network is not None and network_term is not None:
        term = network_term
    elif scheme.network is not None and relations is not None:
        if relations.n_subjects != n:
            raise ValueError(f"relations cover {relations.n_subjects} subjects, features {n}")
        mean, has = relations.neighbour_mean(pre)
        term = np.where(has, scheme.network.weight * (mean - scale.base), 0.0)
    score = np.clip(pre + term, scale.min, scale.max) if scheme.network is not None else pre
    env: dict[str, np.ndarray] = {**features, **components, "pre": pre, "score": score}
    tier = tier_index(scheme, score)
    tier_cap = np.full(n, -1, dtype=np.int16)
    for index, (condition, highest) in enumerate(scheme.rules.tier_caps):
        # A cap holds the tier at `highest` or below; where several apply, the lowest wins.
        held = np.broadcast_to(condition(env), (n,)).astype(bool) & (tier < highest)
        tier = np.where(held, np.int16(highest), tier).astype(np.int16)
        tier_cap[held] = index
    if scheme.tiers:
        env["tier"] = (len(scheme.tiers) - 1 - tier.astype(np.int64))  # rank: higher is better
    lists: dict[str, np.ndarray] = {}
    for name in scheme.rules.list_order:
        lists[name] = env[name] = np.broadcast_to(scheme.rules.lists[name](env), (n,)).astype(bool)
    entitlements = {name: np.broadcast_to(expression(env), (n,)).astype(bool)
                    for name, expression in scheme.rules.entitlements.items()}
    return Scores(
        scheme=scheme,
        features=features,
        components=components,
        pre=pre,
        network_term=term,
        score=score,
        tier=tier,
        tier_cap=tier_cap,
        lists={name: lists[name] for name in scheme.lists},
        entitlements=entitlements,
    )
