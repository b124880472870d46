"""Social graphs, generated vectorised as CSR (never networkx at scale)."""

from __future__ import annotations

import numpy as np

from ..scenario.models import NetworkSpec
from ..scenario.streams import chunks, generator
from ..scoring.graph import Relations
from .people import People

SLICE = 1 << 16  # people per slice of the lattice step: bounds its temporaries


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
    del block
    sizes = np.diff(np.r_[starts, n])
    block_of = np.repeat(np.arange(starts.size, dtype=np.int32), sizes)
    district_starts = np.searchsorted(people.district, np.arange(int(people.district.max()) + 2), side="left")

    # Tie j of person i is entry i * half + j. Ties are made chunk by chunk (the random streams'
    # chunks) and, within a chunk, in slices of people, so that no int64 or float64 array the size
    # of all ties exists at once: the graph of 50M people is built in not much more than it takes.
    index_type = np.int32 if n < 2**31 and 2 * n * half < 2**31 else np.int64
    source = np.repeat(np.arange(n, dtype=index_type), half)
    target = np.empty(n * half, dtype=index_type)
    for chunk_index, first, end in chunks(n, chunk):
        g = generator(seed, "network", -1, chunk_index)
        # The three draws of a chunk, in the order one g.random((3, half, m)) call would give them;
        # draws[j, k] belongs to tie j of person first + k.
        kind_draw = g.random((half, end - first))
        for lo in range(first, end, SLICE):
            hi = min(lo + SLICE, end)
            person = np.arange(lo, hi)
            b = block_of[person]
            position = person - starts[b]
            ring = starts[b][:, None] + (position[:, None] + np.arange(1, half + 1)) % sizes[b][:, None]
            target[lo * half:hi * half] = ring.ravel()
        # 0: the lattice tie stays; 1: a shortcut to anyone; 2: redrawn within the district
        how = np.where(kind_draw < spec.rewiring, 1, 0).astype(np.int8)
        how[(how == 0) & (kind_draw < spec.rewiring + (1 - spec.rewiring) * (1 - spec.homophily))] = 2
        del kind_draw
        anywhere = g.random((half, end - first))
        ties = target[first * half:end * half].reshape(end - first, half)  # a view: written in place
        shortcut = how.T == 1
        ties[shortcut] = (anywhere.T[shortcut] * n).astype(np.int64)
        del anywhere, shortcut
        nearby = g.random((half, end - first))
        mixed = how.T == 2
        person = np.broadcast_to(np.arange(first, end)[:, None], mixed.shape)[mixed]
        district = people.district[person].astype(np.int64)
        d_start, d_end = district_starts[district], district_starts[district + 1]
        ties[mixed] = d_start + (nearby.T[mixed] * (d_end - d_start)).astype(np.int64)
        del nearby, mixed, how
    return Relations.from_pairs(source, target, n)
