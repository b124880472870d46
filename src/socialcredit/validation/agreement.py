"""The three jobs agree and runs are deterministic: checks of the implementation itself."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .checks import Outcome, Size


def simulate_and_score_agree(size: Size, overrides: dict[str, Any] | None = None) -> Outcome:
    """A simulation's observed events and ties, scored by `socialcredit score` at the last day, give
    the simulation's final scores, tiers, lists and entitlements to the bit (fico: a lawful scheme)."""
    import socialcredit

    from ..scorejob import run_score

    run = socialcredit.simulate("fico", population=min(size.population, 5000), days=min(size.days, 120),
                                save_events=True, **(overrides or {}))
    with tempfile.TemporaryDirectory() as folder:
        events, relations = Path(folder) / "events.parquet", Path(folder) / "relations.parquet"
        run.write_events(events)
        run.write_relations(relations)
        scored = run_score(events, run.scheme, as_of=run.sim.time(run.sim.days - 1), relations=relations)
    table = scored.table.to_pandas()
    table.index = table["subject"].astype(np.int64)
    people = run.people.set_index("person").loc[table.index]
    columns = {"score": "score", "pre": "pre", "tier": "tier",
               **{name: f"listed.{name}" for name in run.scheme.lists},
               **{name: f"allowed.{name}" for name in run.scheme.entitlements}}
    differing = [name for name, column in columns.items()
                 if not np.array_equal(table[name].astype(str).to_numpy() if name == "tier" else table[name].to_numpy(),
                                       people[column].astype(str).to_numpy() if name == "tier"
                                       else people[column].to_numpy())]
    return Outcome(measured=f"{len(columns) - len(differing)} of {len(columns)} outputs identical for "
                            f"{len(table):,} subjects", expected="every output identical, bit for bit",
                   passed=not differing, value=float(len(columns) - len(differing)),
                   note="differ: " + ", ".join(differing) if differing else "")


def same_results_whatever_the_threads(size: Size, seeds: tuple[int, int] = (1, 1)) -> Outcome:
    """The same scenario and seed with 1 and with 2 threads give identical people and metrics."""
    from ..scoring.core import SLICE

    frames = []
    with tempfile.TemporaryDirectory() as folder:
        for threads, seed in zip(("1", "2"), seeds, strict=True):
            env = {**os.environ, "OMP_NUM_THREADS": threads, "NUMBA_NUM_THREADS": threads,
                   "SOCIALCREDIT_THREADS": threads}
            out = Path(folder) / f"threads-{threads}"
            # several slices of people, so that two threads share the work
            subprocess.run([sys.executable, "-m", "socialcredit.cli", "simulate", "--population", str(2 * SLICE + 1000),
                            "--days", "10", "--seed", str(seed), "--out", str(out)],
                           env=env, check=True, capture_output=True)
            frames.append((pd.read_parquet(out / "people.parquet"), pd.read_parquet(out / "metrics.parquet")))
    people_same = frames[0][0].equals(frames[1][0])
    metrics_same = frames[0][1].equals(frames[1][1])
    return Outcome(measured=f"people.parquet {'identical' if people_same else 'differs'}, metrics.parquet "
                            f"{'identical' if metrics_same else 'differs'}",
                   expected="both identical", passed=people_same and metrics_same,
                   note=f"{2 * SLICE + 1000:,} people x 10 days, 1 and 2 threads")
