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
    if "scored" in table.columns:  # an unscored subject has no score, pre or tier in either output
        columns["scored"] = "scored"

    def same(name: str, column: str) -> bool:
        mine, theirs = table[name], people[column]
        if name in ("score", "pre"):  # bit for bit, an unscored subject's empty score equal to the other's
            return bool(np.array_equal(mine.to_numpy(dtype=np.float64), theirs.to_numpy(dtype=np.float64),
                                       equal_nan=True))
        return bool(np.array_equal(mine.astype(str).to_numpy(), theirs.astype(str).to_numpy()))

    differing = [name for name, column in columns.items() if not same(name, column)]
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


def simulate_and_serve_agree(size: Size, sample: int = 300) -> Outcome:
    """A simulation's observed events, ingested by the live service (SQLite) and read back as each
    subject's record at the last day, give the simulation's final scores, tiers, lists and
    entitlements (fico: a lawful scheme), for a sample of subjects."""
    import socialcredit

    from ..service.core import Actor, Service
    from ..service.db import make_engine
    from ..service.migrate import upgrade

    run = socialcredit.simulate("fico", population=min(size.population, 1000), days=min(size.days, 60),
                                save_events=True)
    with tempfile.TemporaryDirectory() as folder:
        events = Path(folder) / "events.parquet"
        run.write_events(events)
        table = pd.read_parquet(events)
        engine = make_engine(f"sqlite:///{Path(folder) / 'serve.db'}")
        upgrade(engine)
        as_of = run.sim.time(run.sim.days - 1)
        service = Service(engine, run.scheme, now=lambda: as_of)
        try:
            operator = Actor("validation", "operator")
            rows = [{"id": str(row.id), "subject": str(row.subject), "kind": str(row.kind), "time": float(row.time),
                     "value": float(row.value)} for row in table.itertuples(index=False)]
            for start in range(0, len(rows), 10_000):
                answer = service.ingest(rows[start:start + 10_000], operator)
                if answer["rejected"]:
                    return Outcome(measured=f"{len(answer['rejected'])} events rejected", expected="none", passed=False,
                                   note=str(answer["rejected"][:3]))
            subjects = np.unique(table["subject"].to_numpy())
            chosen = np.random.default_rng(1).choice(subjects, size=min(sample, subjects.size), replace=False)
            people = run.people.set_index("person")
            differing: dict[str, int] = {}
            for subject in chosen:
                record = service.record_unlogged(str(subject))
                person = people.loc[int(subject)]
                scored = bool(person.get("scored", True))
                checks = {"scored": record.get("scored", True) == scored,
                          "score": _same_number(record["score"], person["score"], scored),
                          "pre": _same_number(record["pre"], person["pre"], scored),
                          "tier": record["tier"] == (str(person["tier"]) if scored else None),
                          **{f"list {name}": member == bool(person[f"listed.{name}"])
                             for name, member in record["lists"].items()},
                          **{f"entitlement {name}": allowed == bool(person[f"allowed.{name}"])
                             for name, allowed in record["entitlements"].items()}}
                for name, same in checks.items():
                    if not same:
                        differing[name] = differing.get(name, 0) + 1
        finally:
            service.close()  # its threads stopped, its connections closed
    return Outcome(measured=f"{len(chosen) - (max(differing.values()) if differing else 0)} of {len(chosen)} "
                            "subjects' records identical", expected="every record identical, bit for bit",
                   passed=not differing, value=float(len(chosen)),
                   note="differ: " + ", ".join(f"{name} ({count})" for name, count in differing.items())
                   if differing else f"{len(rows):,} events ingested")


def _same_number(given: float | None, simulated: float, scored: bool) -> bool:
    """The service's number is the simulation's, bit for bit; an unscored subject has none in either."""
    return given == simulated if scored else given is None and bool(np.isnan(simulated))
