"""The scheme's effect on everyone at once: the score distribution, tier shares, list sizes and
denials over every subject, scored now."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..eventlog import days_to_text
from ..scheme import Scheme
from . import listings
from .scorer import Scorer
from .store import Store


class Stats:
    def __init__(self, scheme: Scheme, store: Store, scorer: Scorer, now: Callable[[], float]):
        self.scheme = scheme
        self.store = store
        self.scorer = scorer
        self.now = now

    def summary(self) -> dict[str, Any]:
        with self.store.reader() as session:
            subjects = self.store.all_subjects(session)
            if self.scheme.input_lists:  # a member named in no event is a subject too
                subjects = sorted(set(subjects) | listings.listed_subjects(session))
            if not subjects:
                return {"subjects": 0}
            scores, ids, _ = self.scorer.score(session, subjects)
        keep = np.isin(np.array(ids, dtype=object), np.array(subjects, dtype=object))
        score = scores.score[keep & scores.scored]  # of the scored: an unscored subject has none
        tiers = scores.tier_names()[keep]
        centre: dict[str, float | None] = dict.fromkeys(("mean", "p10", "p50", "p90"))
        if score.size:
            centre = {"mean": float(score.mean()), "p10": float(np.percentile(score, 10)),
                      "p50": float(np.median(score)), "p90": float(np.percentile(score, 90))}
        return {
            "subjects": int(keep.sum()), "as_of": days_to_text(self.now()),
            "unscored": int((keep & ~scores.scored).sum()),
            "score": {**centre,
                      "histogram": np.histogram(score, bins=10, range=(self.scheme.scale.min,
                                                                       self.scheme.scale.max))[0].tolist()},
            "tiers": {name: int((tiers == name).sum()) for name in self.scheme.tier_names},
            "lists": {name: int(member[keep].sum()) for name, member in scores.lists.items()},
            "entitlements_denied": {name: int((~allowed[keep]).sum()) for name, allowed in
                                    scores.entitlements.items()},
        }
