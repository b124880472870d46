"""benchmarks/peer_score.py: the scheme written by hand in DuckDB SQL and in Polars gives what
`score` gives, subject by subject, and the check that says so finds a subject moved."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

missing = [module for module in ("duckdb", "polars") if importlib.util.find_spec(module) is None]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"{' and '.join(missing)} not installed: the peers are in "
                                                      "the bench extra (pip install -e '.[bench]')")

PEER_SCORE = Path(__file__).resolve().parents[2] / "benchmarks" / "peer_score.py"
_spec = importlib.util.spec_from_file_location("peer_score", PEER_SCORE)
assert _spec is not None and _spec.loader is not None
peer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peer)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A synthetic log of the benchmark (20,000 events over 2,000 subjects), scored by `score`."""
    folder = tmp_path_factory.mktemp("peers")
    bench = peer.score_events_module()
    scheme, events, reference = folder / "scheme.yaml", folder / "events.parquet", folder / "score.parquet"
    bench.write_scheme(scheme)
    bench.generate_events(str(events), 20_000, 2_000, 5, 4_096)  # several row groups
    peer.run_socialcredit(events, reference, scheme)
    return folder, events, reference


@pytest.mark.parametrize("name", ["duckdb", "duckdb-8", "polars"])
def test_peer_gives_what_score_gives_for_every_subject(scored, name):
    folder, events, reference = scored
    out = folder / f"{name}.parquet"
    peer.PEERS[name](events, out)
    problems, largest = peer.disagreement(reference, out)
    assert problems == []
    assert largest <= peer.TOLERANCE
    written = pq.read_table(out)
    assert written.column_names == list(peer.OUTCOMES if name == "duckdb-8" else peer.ALL_COLUMNS)
    # the log has subjects on each tier, the list and both sides of each entitlement: agreement means something
    ours = pq.read_table(reference)
    assert len(pc.unique(pc.cast(ours.column("tier"), pa.string()))) == 4
    for column in ("high_risk", "loan", "rent_without_deposit"):
        assert 0 < pc.sum(ours.column(column)).as_py() < ours.num_rows


def test_agreement_check_names_a_subject_moved_between_tiers(scored):
    folder, events, reference = scored
    out = folder / "moved.parquet"
    peer.run_duckdb(events, out)
    table = pq.read_table(out)
    tiers = table.column("tier").to_pylist()
    tiers[7] = "prime" if tiers[7] != "prime" else "subprime"
    scores = table.column("score").to_pylist()
    scores[9] += 1e-6
    table = table.set_column(table.column_names.index("tier"), "tier", pa.array(tiers))
    table = table.set_column(table.column_names.index("score"), "score", pa.array(scores))
    pq.write_table(table, out)
    problems, _ = peer.disagreement(reference, out)
    subject = table.column("subject")[7].as_py()
    assert any(line.startswith("tier: 1 subjects differ") and subject in line for line in problems)
    assert any(line.startswith("score: differs by up to 1e-06") for line in problems)
