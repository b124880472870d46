"""Rating inflation (issue 20, "Gaming and approval seeking"): where ratings are public and
reciprocal, raters rate up to be rated up and for fear of retaliation, and the published ratings
lose what made them worth having: their spread, and how well they track the quality of the rated.

The model needs what an honest rating would be, so each rated person has a true quality:
- a kind of star ratings (a value range, as nosedive's 1-5 stars): quality is normal, mean 0, sd
  `quality_spread`, drawn once; an honest rating is `honest_mean + quality + noise x N(0, 1)`,
  rounded to whole stars where the range is whole, and kept within the range. These values replace
  the behaviour's uniform draw (which is still drawn, so that no other draw moves);
- a kind of bad ratings (one value, as a marketplace's negative feedback): every rating is bad, and
  the rated person's true quality is minus their honest rate of them (propensity x group factor).

Each rating below the top is then given at the top instead with chance `reciprocity`, and a bad one
(below `bad_below`) with a further `retaliation` x what is left: `reciprocity + (1 - reciprocity) x
retaliation`. An inflated star rating is published as the top of the range; an inflated bad rating
is not given at all (the rater leaves a good one, which is not this kind). Private ratings
(`private: true`) are given honestly: raters are candid when feedback is private (Filippas, Horton &
Golden). `true.<kind>` counts the honest ratings, `observed.<kind>` the published ones recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..scenario.streams import PersonStreams, generator
from ..sim.model import Sim
from ..sim.module import Module
from ..undefined import put
from .behaviour import Behaviour


def _correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's correlation, or None where either does not vary (or there are fewer than 3)."""
    if a.size < 3 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


class Rated:
    """One inflated kind: the true quality of each person rated, the chances a rating is inflated, and
    per person the honest and published ratings (reported days)."""

    def __init__(self, sim: Sim, kind: str, number: int):
        spec = sim.scenario.gaming.inflation[kind]
        behaviour = sim.scenario.behaviours[kind]
        self.kind, self.number, self.code = kind, number, sim.codes[kind]
        self.low, self.high = behaviour.value
        self.stars = self.high > self.low
        self.whole = float(self.low).is_integer() and float(self.high).is_integer()
        self.noise = spec.noise
        middle = (self.low + self.high) / 2
        self.centre = spec.honest_mean if spec.honest_mean is not None else middle
        self.bad_below = spec.bad_below if spec.bad_below is not None else middle
        if self.stars:
            spread = spec.quality_spread
            self.quality = (PersonStreams(sim.seed, "inflation", -1, sim.n, sim.chunk, part=number)
                            .draw(lambda g, size: g.normal(0.0, spread, size)) if spread else np.zeros(sim.n))
        else:  # the honest rate of bad ratings, before strain: the worse the quality, the higher
            factors = np.array([behaviour.group_factor.get(g, 1.0) for g in sim.people.group_names])
            self.quality = -(sim.people.propensity[kind].astype(np.float64) * factors[sim.people.group])
        strategic = not spec.private
        self.chance_good = spec.reciprocity if strategic else 0.0
        self.chance_bad = spec.reciprocity + (1 - spec.reciprocity) * spec.retaliation if strategic else 0.0
        n = sim.n
        self.honest_count = np.zeros(n, dtype=np.int32)
        self.published_count = np.zeros(n, dtype=np.int32)
        self.honest_sum = np.zeros(n)
        self.published_sum = np.zeros(n)

    def reset(self) -> None:
        for tally in (self.honest_count, self.published_count, self.honest_sum, self.published_sum):
            tally[...] = 0

    def figures(self) -> dict[str, Any]:
        honest, published = int(self.honest_count.sum()), int(self.published_count.sum())
        figure: dict[str, Any] = {"ratings_honest": honest, "ratings_published": published,
                                  "kind": "stars" if self.stars else "bad ratings"}
        if self.stars:
            for key, sums in (("honest", self.honest_sum), ("published", self.published_sum)):
                put(figure, f"mean_{key}", float(sums.sum()) / honest if honest else None, "no rating was given")
            rated = self.honest_count > 0
            measures = {"honest": self.honest_sum[rated] / self.honest_count[rated],
                        "published": self.published_sum[rated] / np.maximum(self.published_count[rated], 1)}
            quality = self.quality[rated]
            spreads = {key: float(measure.std()) if measure.size else None for key, measure in measures.items()}
            # Zervas, Proserpio & Byers's mark: 4.5 stars or more of 5 (the top eighth of the range)
            top = self.low + 0.875 * (self.high - self.low)
            figure["top_share"] = {"of": f"rated people whose mean rating is {top:g} or more"}
            for key, measure in measures.items():
                put(figure["top_share"], key, float((measure >= top).mean()) if measure.size else None,
                    "no one was rated")
            tracked_by = "each rated person's mean rating"
            spread_of = f"{tracked_by} (sd across them)"
        else:
            spreads = {key: float(counts.std()) for key, counts in (("honest", self.honest_count),
                                                                    ("published", self.published_count))}
            measures = {"honest": -self.honest_count.astype(np.float64),
                        "published": -self.published_count.astype(np.float64)}
            quality = self.quality
            spread_of, tracked_by = "bad ratings per person (sd)", "minus each person's count of bad ratings"
        figure["spread"] = {"of": spread_of}
        for key, value in spreads.items():
            put(figure["spread"], key, value, "no rating was given")
        figure["tracks_quality"] = {"of": f"correlation of {tracked_by} with their true quality"}
        for key, measure in measures.items():
            put(figure["tracks_quality"], key, _correlation(measure, quality),
                "the ratings or the true quality do not vary (quality_spread 0, or too few ratings)")
        return figure


class RatingInflation(Module):
    name = "inflation"
    params = ("gaming",)
    state_fields = ("rated", "inflated")

    def __init__(self, sim: Sim):
        self.rated = [Rated(sim, kind, number) for number, kind in enumerate(sorted(sim.scenario.gaming.inflation))]
        self.inflated = {rated.kind: np.zeros(sim.n, dtype=np.int32) for rated in self.rated}
        assert not self.rated or sim.module(Behaviour) is not None

    def start_reporting(self, sim: Sim) -> None:
        for rated in self.rated:
            rated.reset()
            self.inflated[rated.kind][:] = 0

    def step(self, sim: Sim, day: int) -> None:
        if not self.rated:
            return
        events = sim.true_events
        dropped = []
        for rated in self.rated:
            at = np.flatnonzero(events.kind == rated.code)
            rng = generator(sim.seed, "inflation_values", day, part=rated.number)
            who = events.subject[at]
            if rated.stars:
                honest = rated.centre + rated.quality[who] + rated.noise * rng.standard_normal(at.size)
                honest = np.clip(np.rint(honest) if rated.whole else honest, rated.low, rated.high)
            else:
                honest = events.value[at]
            bad = honest < rated.bad_below if rated.stars else np.ones(at.size, dtype=bool)
            inflated = rng.random(at.size) < np.where(bad, rated.chance_bad, rated.chance_good)
            if rated.stars:
                inflated &= honest < rated.high  # a rating at the top has nowhere to go
            if rated.stars:
                published = np.where(inflated, rated.high, honest)
                events.value[at] = published
            else:
                dropped.append(at[inflated])
            if day >= 0:
                kept = who if rated.stars else who[~inflated]
                np.add.at(rated.honest_count, who, np.int32(1))
                np.add.at(rated.published_count, kept, np.int32(1))
                np.add.at(self.inflated[rated.kind], who[inflated], np.int32(1))
                if rated.stars:
                    np.add.at(rated.honest_sum, who, honest)
                    np.add.at(rated.published_sum, who, published)
        if dropped:
            gone = np.concatenate(dropped)
            if gone.size:
                keep = np.ones(len(events), dtype=bool)
                keep[gone] = False
                sim.true_events = events.take(np.flatnonzero(keep))

    def people_columns(self, sim: Sim, part: slice) -> dict[str, np.ndarray]:
        columns: dict[str, np.ndarray] = {}
        for rated in self.rated:
            columns[f"quality.{rated.kind}"] = rated.quality[part]
            columns[f"ratings_inflated.{rated.kind}"] = self.inflated[rated.kind][part]
        return columns

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        """summary.json's `gaming.inflation.<kind>`: ratings honest and published, the share inflated,
        the spread of the ratings and how well they track true quality, honest against published."""
        if not self.rated:
            return
        section = {}
        for rated in self.rated:
            figure = rated.figures()
            honest = figure["ratings_honest"]
            put(figure, "inflated_share", float(self.inflated[rated.kind].sum()) / honest if honest else None,
                "no rating was given")
            section[rated.kind] = figure
        summary.setdefault("gaming", {})["inflation"] = section  # its report section: runner/gaming_report.py
