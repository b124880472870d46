"""The peer model (benchmarks/peer_mesa.py) in LASER (laser-core 1.0.x), beside socialcredit: same outcome, then speed.

    pip install -e '.[bench]'          # laser-core>=1.0,<2 (and starsim, mesa, networkx)
    python benchmarks/peer_laser.py                  # speed beside socialcredit at 100k, 1M and 10M people
                                                      # (30 days; 10M: 10), 3 rounds: `peers.py --peers laser`
    python benchmarks/peer_laser.py --check          # first the equivalence test (80 seeds x 10,000 x 60 days
                                                      # each, with and without the network term)
    python benchmarks/peer_laser.py --people 100000 --days 5 --rounds 1   # a quick look

The model is the one `peer_mesa.py` states (PARAMS there), written as LASER's documentation and
laser-generic's components write theirs:

- the people are a `LaserFrame(capacity)` with scalar properties added by the components that own
  them (propensity, offences, pre, score, blacklisted), preallocated; the parameters a
  `PropertySet`; the model a thin container that steps its components in list order each tick, and
  keeps a per-tick output (`offences_by_tick`, as laser-generic's node arrays keep S, E, I, R);
- the network (laser-core has no contact-network component: its models couple patches) is built
  once from the LASER generator, `laser.core.random.prng()`, as the fully rewired Watts-Strogatz
  graph of mean degree 10, and kept as CSR arrays (neighbour lists by person);
- `Conduct.step(tick)`: a Numba `prange` kernel over people that decays the count, draws each
  person's Bernoulli trial with Numba's per-thread generator (seeded by `laser.core.random.seed`,
  as laser-generic's transmission draws) at 1 - exp(-rate), the rate halved for the blacklisted,
  and sets pre;
- `Blacklist.step(tick)`: a Numba `prange` kernel over people that gathers the neighbours' pre
  from the CSR lists, adds the network term and sets score and blacklisted, read by the next
  tick's `Conduct`.

This is LASER's recommended path (NumPy, then Numba with `prange`: "the optimisation path is
explicit"), with float32 properties and both cores. Speed is person-days per second of
`model.run()` alone (set-up, which builds the graph, excluded), against socialcredit's day loop in
the same process, alternately.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numba as nb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/siblings.py
from siblings import load  # noqa: E402

peer = load("peer_mesa")  # the model's statement, socialcredit's side, the equivalence test
PARAMS = peer.PARAMS


@nb.njit(parallel=True, cache=True)
def conduct_kernel(propensity, blacklisted, offences, pre, base_rate, listed_multiplier, decay, points, low, high,
                   base):
    """One tick of conduct for everyone; returns the number of offences."""
    total = 0
    for i in nb.prange(propensity.size):
        rate = base_rate * propensity[i]
        if blacklisted[i]:
            rate *= listed_multiplier
        count = offences[i] * decay
        # Numba's per-thread generator, seeded by laser.core.random.seed: LASER's own draws in kernels
        if np.random.random() < -np.expm1(-rate):  # noqa: NPY002
            count += 1.0
            total += 1
        offences[i] = count
        pre[i] = min(max(base + points * count, low), high)
    return total


@nb.njit(parallel=True, cache=True)
def blacklist_kernel(indptr, indices, pre, score, blacklisted, weight, threshold, low, high, base):
    """Everyone's score from their pre and the mean of their neighbours' pre; blacklisted below threshold."""
    for i in nb.prange(pre.size):
        start, end = indptr[i], indptr[i + 1]
        value = np.float64(pre[i])
        if end > start:
            total = 0.0
            for k in range(start, end):
                total += pre[indices[k]]
            value += weight * (total / (end - start) - base)
        value = min(max(value, low), high)
        score[i] = value
        blacklisted[i] = value < threshold


def laser_model(people: int, days: int, seed: int, p: dict = PARAMS):
    """Build the LASER model (laser-core imported only when used)."""
    from laser.core import LaserFrame, PropertySet
    from laser.core.random import prng
    from laser.core.random import seed as seed_laser

    low, high, base = p["scale"]

    class PeerModel:
        """The thin container: people, parameters, the network, the components and the outputs."""

        def __init__(self):
            self.params = PropertySet({"nticks": days, "seed": seed, "base_rate": p["base_rate"],
                                       "heterogeneity": p["heterogeneity"], "listed_multiplier": p["listed_multiplier"],
                                       "decay": 0.5 ** (1 / p["half_life_days"]),
                                       "points_per_offence": p["points_per_offence"],
                                       "network_weight": p["network_weight"], "threshold": p["threshold"],
                                       "mean_degree": p["mean_degree"]})
            seed_laser(self.params.seed)  # NumPy's generator and Numba's per-thread ones
            self.people = LaserFrame(capacity=people, initial_count=people)
            self.offences_by_tick = np.zeros(self.params.nticks, dtype=np.int64)
            p1, p2 = peer.rewired_ring_edges(people, self.params.mean_degree, prng())
            ends = np.concatenate([p1, p2])
            order = np.argsort(ends, kind="stable")
            self.indices = np.concatenate([p2, p1])[order].astype(np.int32)
            self.indptr = np.zeros(people + 1, dtype=np.int64)
            np.cumsum(np.bincount(ends, minlength=people), out=self.indptr[1:])
            self.components = [Conduct(self), Blacklist(self)]

        def run(self) -> None:
            for tick in range(self.params.nticks):
                for component in self.components:
                    component.step(tick)

    class Conduct:
        def __init__(self, model):
            self.model = model
            frame, h = model.people, model.params.heterogeneity
            frame.add_scalar_property("propensity", dtype=np.float32, default=1.0)
            frame.add_scalar_property("offences", dtype=np.float32, default=0.0)
            frame.add_scalar_property("pre", dtype=np.float32, default=float(base))
            frame.add_scalar_property("blacklisted", dtype=np.bool_, default=False)
            if h > 0:
                frame.propensity[:] = prng().gamma(1 / h, h, frame.count)

        def step(self, tick: int) -> None:
            model, frame = self.model, self.model.people
            pars = model.params
            model.offences_by_tick[tick] = conduct_kernel(
                frame.propensity, frame.blacklisted, frame.offences, frame.pre, pars.base_rate,
                pars.listed_multiplier, pars.decay, pars.points_per_offence, low, high, base)

    class Blacklist:
        def __init__(self, model):
            self.model = model
            model.people.add_scalar_property("score", dtype=np.float32, default=float(base))

        def step(self, tick: int) -> None:
            model, frame = self.model, self.model.people
            blacklist_kernel(model.indptr, model.indices, frame.pre, frame.score, frame.blacklisted,
                             model.params.network_weight, model.params.threshold, low, high, base)

    return PeerModel()


def run_laser(people: int, days: int, seed: int, p: dict = PARAMS) -> dict:
    started = time.perf_counter()
    model = laser_model(people, days, seed, p)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    model.run()
    seconds = time.perf_counter() - started
    frame = model.people
    return {"mean_score": float(np.mean(frame.score, dtype=np.float64)),
            "listed_share": float(frame.blacklisted.mean()),
            "offence_rate": float(model.offences_by_tick.sum()) / (people * days),
            "setup_seconds": setup, "loop_seconds": seconds, "mean_degree": float(np.diff(model.indptr).mean())}


def main() -> None:
    """Equivalence (--check) and speed of this peer beside socialcredit: `peers.py` with --peers laser."""
    load("peers").main(("laser",), __doc__)


if __name__ == "__main__":
    main()
