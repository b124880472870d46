"""The audit log's Merkle tree is RFC 6962's: tree heads as its recursive definition gives them,
consistency proofs that its verifier accepts, and that fail for any log that did not only grow."""

from __future__ import annotations

import hashlib

import pytest

from socialcredit.service import merkle


def reference_head(leaves: list[bytes]) -> bytes:
    """MTH as RFC 6962 section 2.1 defines it, recursively."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_head(leaves[:k]) + reference_head(leaves[k:])).digest()


LEAVES = [hashlib.sha256(str(i).encode()).digest() for i in range(70)]


def tree(leaves: list[bytes] = LEAVES) -> merkle.Tree:
    return merkle.Tree(lambda start, stop: leaves[start:stop])


def test_tree_heads_are_rfc_6962s_whichever_way_they_are_worked_out():
    for n in range(len(LEAVES) + 1):
        expected = reference_head(LEAVES[:n])
        frontier = merkle.Frontier()
        for leaf in LEAVES[:n]:
            frontier.add(leaf)
        assert merkle.root_of(LEAVES[:n]) == frontier.root() == tree().root(n) == expected, n


def test_a_tree_that_keeps_subtrees_gives_the_same_heads_and_proofs(monkeypatch):
    sizes = (70, 3, 64, 65, 17, 70)
    plain = {n: (tree().root(n), tree().consistency(min(5, n), n)) for n in sizes}
    monkeypatch.setattr(merkle, "KEPT_FROM", 4)  # keep subtrees of 4 leaves up, read 8 leaves at a time
    monkeypatch.setattr(merkle, "READ_AT_ONCE", 8)
    kept = tree()
    for n in sizes:
        assert (kept.root(n), kept.consistency(min(5, n), n)) == plain[n], n
    assert (0, 64) in kept.kept and (64, 4) in kept.kept


def test_every_consistency_proof_verifies():
    t = tree()
    for second in range(len(LEAVES) + 1):
        for first in range(second + 1):
            proof = t.consistency(first, second)
            assert merkle.verify_consistency(first, second, t.root(first), t.root(second), proof), (first, second)


@pytest.mark.parametrize("first, second", [(1, 2), (3, 7), (4, 8), (5, 70), (64, 70), (31, 33)])
def test_a_log_that_did_not_only_grow_fails_the_proof(first, second):
    t = tree()
    proof = t.consistency(first, second)
    rewritten = list(LEAVES)
    rewritten[first - 1] = hashlib.sha256(b"forged").digest()  # an entry the first head covers, changed
    other = tree(rewritten)
    assert not merkle.verify_consistency(first, second, t.root(first), other.root(second), proof)
    assert not merkle.verify_consistency(first, second, t.root(first), other.root(second),
                                         other.consistency(first, second))
    assert not merkle.verify_consistency(first, second, t.root(first), t.root(second), proof[:-1])
    assert not merkle.verify_consistency(second, first, t.root(second), t.root(first), proof)


def test_a_proof_over_a_log_with_missing_leaves_is_refused():
    short = merkle.Tree(lambda start, stop: LEAVES[start:min(stop, 40)])
    with pytest.raises(LookupError):
        short.consistency(10, 60)
