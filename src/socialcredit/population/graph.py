"""Social graphs, generated vectorised as CSR (never networkx at scale)."""

from __future__ import annotations

import numpy as np

from ..scoring.graph import Relations
from ..sim.rng import per_person
from ..sim.scenario import NetworkSpec
from .people import People


def homophilous_small_world(people: People, spec: NetworkSpec, seed: int, chunk: int) -> Relations:
    """A Watts-Strogatz ring lattice inside each (district, group) block, then rewired.

    Each person ties to the next mean_degree/2 people of their own block (same district and group:
    clustered and homophilous). Each tie is then, with chance `rewiring`, a shortcut to anyone in
    the population (small world), or else with chance 1 - `homophily` redrawn within the person's
    district from any group. With one district, one group and homophily 1 this is networkx's
    `watts_strogatz_graph`.
    """
    n = len(people)
    half = spec.mean_degree // 2
    if n < 2 or half == 0:
        return Relations.empty(n)
    groups = len(people.group_names)
    block = people.district.astype(np.int64) * groups + people.group
    # People are sorted by (district, group), so each block is a contiguous run of ids.
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    sizes = np.diff(np.r_[starts, n])
    run = np.repeat(np.arange(starts.size), sizes)
    position = np.arange(n) - starts[run]

    source = np.repeat(np.arange(n, dtype=np.int64), half)
    offset = np.tile(np.arange(1, half + 1, dtype=np.int64), n)
    size = sizes[run][source]
    target = starts[run][source] + (position[source] + offset) % size

    draws = per_person(seed, "network", -1, n, chunk, lambda g, m: g.random((3, half, m)))
    # draws[:, j, i] belongs to tie j of person i; reorder to match source (person-major)
    kind_draw, anywhere, nearby = (draws[i].T.ravel() for i in range(3))
    shortcut = kind_draw < spec.rewiring
    mixed = ~shortcut & (kind_draw < spec.rewiring + (1 - spec.rewiring) * (1 - spec.homophily))
    target = np.where(shortcut, (anywhere * n).astype(np.int64), target)
    d_start = np.searchsorted(people.district, people.district[source], side="left")
    d_end = np.searchsorted(people.district, people.district[source], side="right")
    target = np.where(mixed, d_start + (nearby * (d_end - d_start)).astype(np.int64), target)
    return Relations.from_pairs(source, target, n)
