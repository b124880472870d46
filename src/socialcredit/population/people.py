"""Synthetic people as a struct of arrays, ids ordered by district then group, so that a chunk of
ids is a few whole neighbourhoods and cuts few ties."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scenario.models import BehaviourSpec, PopulationSpec
from ..scenario.streams import generator, per_person


@dataclass
class People:
    group: np.ndarray              # int8 index into group_names
    district: np.ndarray           # int16
    age: np.ndarray                # int8 years
    income: np.ndarray             # float64 yearly income, changes over time
    income_initial: np.ndarray     # float64
    female: np.ndarray             # bool
    propensity: dict[str, np.ndarray] = field(default_factory=dict)  # float32 per behaviour, mean 1
    group_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.group.shape[0])


def make_people(spec: PopulationSpec, behaviours: dict[str, BehaviourSpec], seed: int, chunk: int) -> People:
    n = spec.size
    names = tuple(spec.groups)
    shares = np.array([spec.groups[g] for g in names])
    # Districts of near-equal size, in id order; within a district, people sorted by group.
    district = (np.arange(n, dtype=np.int64) * spec.districts // n).astype(np.int16)
    sizes = np.bincount(district, minlength=spec.districts)
    counts = generator(seed, "population", -1).multinomial(sizes, shares / shares.sum())
    group = np.repeat(np.tile(np.arange(len(names), dtype=np.int8), spec.districts), counts.ravel())

    low, high = spec.age
    age = per_person(seed, "population", -1, n, chunk,
                     lambda g, size: g.integers(low, high + 1, size=size, dtype=np.int16)).astype(np.int8)
    mu, sigma = spec.income.lognormal
    income = per_person(seed, "population", 0, n, chunk, lambda g, size: g.lognormal(mu, sigma, size))
    factors = np.array([spec.income.group_factor.get(name, 1.0) for name in names])
    income = income * factors[group]

    propensity: dict[str, np.ndarray] = {}
    for index, (kind, behaviour) in enumerate(sorted(behaviours.items())):
        h = behaviour.heterogeneity
        if h == 0:
            propensity[kind] = np.ones(n, dtype=np.float32)
        else:
            # Gamma with mean 1 and variance h: some people do this far more often than others.
            propensity[kind] = per_person(seed, "population", 1 + index, n, chunk,
                                          lambda g, size, h=h: g.gamma(1 / h, h, size)).astype(np.float32)
    female = per_person(seed, "population", 1 + len(behaviours), n, chunk,
                        lambda g, size: g.random(size)) < spec.female_share
    return People(group=group, district=district, age=age, income=income, income_initial=income.copy(),
                  female=female, propensity=propensity, group_names=names)
