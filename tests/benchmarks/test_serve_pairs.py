"""benchmarks/serve_ingest_pairs.py: runs `serve` on copies of a preloaded store, each batch stored
(a batch not stored stops it), and prints each run's figures and the pairs' median ratio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import serve_load  # noqa: E402


@pytest.mark.slow
def test_pairs_time_two_trees_on_copies_of_one_store(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    serve_load.preload(f"sqlite:///{store / 'bench.db'}", store, 20_000, 500)
    source = str(Path(__file__).resolve().parents[2] / "src")
    ran = subprocess.run([sys.executable, str(BENCHMARKS / "serve_ingest_pairs.py"), "--store", str(store),
                          "--old-src", source, "--pairs", "2", "--events", "3000", "--subjects", "500"],
                         capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-2000:]
    lines = ran.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["pair 1", "pair 2"], ran.stdout
    assert all(" old " in line and " new " in line and "new/old" in line for line in lines[:2])
    assert lines[2].startswith("median new/old over 2 pairs: "), ran.stdout
    # the store itself is left as it was: each run worked on a copy
    from sqlalchemy import create_engine, text
    with create_engine(f"sqlite:///{store / 'bench.db'}").connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM events")).scalar() == 20_000


def test_a_folder_without_a_store_is_named(tmp_path):
    ran = subprocess.run([sys.executable, str(BENCHMARKS / "serve_ingest_pairs.py"), "--store", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode != 0 and f"no bench.db in {tmp_path}" in ran.stderr


def test_an_old_tree_without_the_package_is_named(tmp_path):
    """Otherwise PYTHONPATH would fall through to the installed code, timed against itself as "old"."""
    (tmp_path / "bench.db").touch()
    ran = subprocess.run([sys.executable, str(BENCHMARKS / "serve_ingest_pairs.py"), "--store", str(tmp_path),
                          "--old-src", str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=120)
    assert ran.returncode != 0 and f"no socialcredit package in {tmp_path / 'nowhere'}" in ran.stderr
