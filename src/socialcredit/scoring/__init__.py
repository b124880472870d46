"""The scoring core: events -> features -> components -> score -> tier -> lists -> entitlements,
with reason codes. Pure: arrays in, arrays out; shared by simulate, score and serve."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..scheme import Scheme
from .core import NO_REASON, Scores, component_points, score_features, tier_index
from .events import EventArrays, kind_codes
from .features import compute_features
from .graph import Relations


def score_events(scheme: Scheme, events: EventArrays, as_of: float, relations: Relations | None = None,
                 inputs: Mapping[str, np.ndarray] | None = None) -> Scores:
    """Score every subject 0..events.n_subjects-1 from its events up to `as_of` (and the scheme's
    input lists, `inputs`: bool per subject)."""
    return score_features(scheme, compute_features(scheme, events, as_of), relations, n_subjects=events.n_subjects,
                          inputs=inputs)


__all__ = [
    "NO_REASON", "EventArrays", "Relations", "Scores", "component_points", "compute_features", "kind_codes",
    "score_events", "score_features", "tier_index",
]
