"""A scheme's scores on genuine records only, kept as what they are: its recorded scores but for a
few rows (those a false or voided record reached, and whom their network term carries it to).

Each day's tallies and metrics read only where the true lists and entitlements differ from the
recorded ones, so the rows and their outcomes are all a day needs; whole arrays (of every subject)
are made only when something asks for them (an importing scheme's input lists, an enrolment rule,
a test), once, sharing the recorded array wherever no row's bits differ. Before, every scoring
copied nine whole arrays to change a few thousand rows of each."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..scheme import Scheme
from ..scoring import Scores


class TrueScores:
    """The true scores: `recorded` with `part`'s outcomes at `rows` (increasing subject ids) and the
    network term `term` there (None where the recorded term holds for everyone)."""

    def __init__(self, recorded: Scores, rows: np.ndarray, part: Scores, term: np.ndarray | None,
                 inputs: Mapping[str, np.ndarray]):
        self.recorded, self.rows, self.part, self.term = recorded, rows, part, term
        self.given = inputs
        self.made: Scores | None = None  # the whole arrays, once asked for

    @classmethod
    def of_whole(cls, whole: Scores, recorded: Scores) -> TrueScores:
        """True scores given whole (after a rule that rewrites whole arrays, such as the one for the
        unenrolled), with their rows those whose lists or entitlements differ from `recorded`'s."""
        differs = np.zeros(whole.n_subjects, dtype=bool)
        for name, members in whole.lists.items():
            differs |= members != recorded.lists[name]
        for name, allowed in whole.entitlements.items():
            differs |= allowed != recorded.entitlements[name]
        rows = np.flatnonzero(differs)
        part = Scores(scheme=whole.scheme, features={}, components={}, pre=whole.pre[rows], network_term=
                      whole.network_term[rows], score=whole.score[rows], tier=whole.tier[rows],
                      tier_cap=whole.tier_cap[rows], lists={name: v[rows] for name, v in whole.lists.items()},
                      entitlements={name: v[rows] for name, v in whole.entitlements.items()},
                      unscored=None if whole.unscored is None else whole.unscored[rows])
        out = cls(recorded, rows, part, whole.network_term[rows], whole.inputs)
        out.made = whole
        return out

    # --- what a day reads: the rows alone --------------------------------------------------
    def lists_at(self) -> dict[str, np.ndarray]:
        """Per list, who of `rows` is on it on true records."""
        return self.part.lists

    def entitlements_at(self) -> dict[str, np.ndarray]:
        """Per entitlement, who of `rows` is allowed it on true records."""
        return self.part.entitlements

    # --- whole arrays, made when asked for -------------------------------------------------
    def whole(self) -> Scores:
        """Every subject's true scores as one `Scores`: the recorded arrays themselves where no row's
        bits differ, else a copy with the rows written."""
        if self.made is None:
            recorded, part, rows = self.recorded, self.part, self.rows

            def replaced(values: np.ndarray, new: np.ndarray) -> np.ndarray:
                new = np.asarray(new, dtype=values.dtype)
                if np.array_equal(values[rows].view(np.uint8), new.view(np.uint8)):  # the same bits
                    return values
                out = values.copy()
                out[rows] = new
                return out
            self.made = Scores(
                scheme=recorded.scheme, features={}, components={}, pre=replaced(recorded.pre, part.pre),
                network_term=recorded.network_term if self.term is None
                else replaced(recorded.network_term, self.term),
                score=replaced(recorded.score, part.score), tier=replaced(recorded.tier, part.tier),
                tier_cap=replaced(recorded.tier_cap, part.tier_cap),
                lists={name: replaced(v, part.lists[name]) for name, v in recorded.lists.items()},
                entitlements={name: replaced(v, part.entitlements[name]) for name, v in recorded.entitlements.items()},
                unscored=None if recorded.unscored is None or part.unscored is None
                else replaced(recorded.unscored, part.unscored),
                inputs=self.given)
        return self.made

    @property
    def scheme(self) -> Scheme:
        return self.recorded.scheme

    @property
    def n_subjects(self) -> int:
        return self.recorded.n_subjects

    @property
    def pre(self) -> np.ndarray:
        return self.whole().pre

    @property
    def network_term(self) -> np.ndarray:
        return self.whole().network_term

    @property
    def score(self) -> np.ndarray:
        return self.whole().score

    @property
    def tier(self) -> np.ndarray:
        return self.whole().tier

    @property
    def tier_cap(self) -> np.ndarray:
        return self.whole().tier_cap

    @property
    def unscored(self) -> np.ndarray | None:
        return self.whole().unscored

    @property
    def unenrolled(self) -> np.ndarray | None:
        return self.whole().unenrolled

    @property
    def lists(self) -> dict[str, np.ndarray]:
        return self.whole().lists

    @property
    def entitlements(self) -> dict[str, np.ndarray]:
        return self.whole().entitlements

    @property
    def inputs(self) -> Mapping[str, np.ndarray]:
        return self.given
