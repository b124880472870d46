"""The audit log as a Merkle tree (RFC 6962, section 2.1; RFC 9162, section 2.1): tree heads and
consistency proofs, so that whoever kept an earlier tree head can check that the log only grew.

Leaf i is the hash of entry i + 1 (its place in the hash chain, `audit.entry_hash`); a leaf's node
is SHA-256(0x00 || leaf), an inner node SHA-256(0x01 || left || right), as RFC 6962 has them, so
any RFC 6962 verifier checks our proofs. Pure functions of the leaves: `Tree` takes a function that
reads a range of leaves, and keeps the hashes of the large aligned subtrees it has worked out (they
never change in a log that only grows), so a tree head or a proof over a large log costs the reads
of the leaves added since.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence

EMPTY = hashlib.sha256(b"").digest()  # the head of a tree of no leaves (RFC 6962: the hash of an empty string)
KEPT_FROM = 256  # the smallest aligned subtree whose hash a Tree keeps
READ_AT_ONCE = 1 << 16  # leaves read in one go when a subtree is worked out from its leaves


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two below n (n >= 2): where RFC 6962 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """The tree head of these leaves, bottom up (pairs, the odd last node carried up: the same head
    as RFC 6962's split at the largest power of two)."""
    if not leaves:
        return EMPTY
    level = [leaf_hash(leaf) for leaf in leaves]
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class Frontier:
    """The tree head of a growing list of leaves, one leaf at a time: the heads of the perfect
    subtrees the leaves so far make up (at most one of each size), largest first."""

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()):
        self.size = size
        self.nodes = list(nodes)  # one node per set bit of size, largest subtree first

    def add(self, leaf: bytes) -> None:
        node = leaf_hash(leaf)
        size = self.size
        while size & 1:  # merge with the subtrees of equal size on the right edge
            node = node_hash(self.nodes.pop(), node)
            size >>= 1
        self.nodes.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY
        node = self.nodes[-1]
        for left in reversed(self.nodes[:-1]):
            node = node_hash(left, node)
        return node


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Whether `proof` shows the tree of `second` leaves with head `second_root` extends the tree of
    `first` leaves with head `first_root` (RFC 9162, 2.1.4.2)."""
    if first < 0 or second < first:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:  # every log extends the empty one
        return not proof and first_root == EMPTY
    path = list(proof)
    if not path:
        return False
    if first & (first - 1) == 0:  # a power of two: the first tree is a subtree of the second
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


Leaves = Callable[[int, int], list[bytes]]  # (start, stop) -> the leaves start..stop-1, from 0


class Tree:
    """Tree heads and consistency proofs over a log whose leaves `read(start, stop)` gives."""

    def __init__(self, read: Leaves):
        self.read = read
        self.kept: dict[tuple[int, int], bytes] = {}  # (start, size) of an aligned perfect subtree -> its head
        self.lock = threading.Lock()

    def _perfect(self, start: int, size: int) -> bytes:
        """The head of the aligned perfect subtree of `size` (a power of two) leaves from `start`."""
        kept = self.kept.get((start, size))
        if kept is not None:
            return kept
        if size <= READ_AT_ONCE:
            leaves = self.read(start, start + size)
            if len(leaves) != size:
                raise LookupError(f"leaves {start}..{start + size - 1}: {len(leaves)} of {size} found")
            level = [leaf_hash(leaf) for leaf in leaves]
            width = 1
            while len(level) > 1:
                level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
                width *= 2
                if width >= KEPT_FROM:
                    for i, node in enumerate(level):
                        self.kept[(start + i * width, width)] = node
            head = level[0]
        else:
            half = size // 2
            head = node_hash(self._perfect(start, half), self._perfect(start + half, half))
        if size >= KEPT_FROM:
            self.kept[(start, size)] = head
        return head

    def _head(self, start: int, stop: int) -> bytes:
        """MTH(D[start:stop]) where start is a multiple of the largest power of two <= stop - start,
        as every range RFC 6962's recursion from 0 reaches is."""
        n = stop - start
        if n == 0:
            return EMPTY
        if n & (n - 1) == 0:
            return self._perfect(start, n)
        k = _split(n)
        return node_hash(self._perfect(start, k), self._head(start + k, stop))

    def root(self, size: int) -> bytes:
        """The tree head of the first `size` leaves."""
        with self.lock:
            return self._head(0, size)

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The proof that the tree of `second` leaves extends that of `first` (RFC 6962, 2.1.2)."""
        if not 0 <= first <= second:
            raise ValueError(f"no consistency proof from {first} leaves to {second}")
        if first in (0, second):
            return []
        with self.lock:
            return self._subproof(first, 0, second, True)

    def _subproof(self, m: int, start: int, stop: int, whole: bool) -> list[bytes]:
        n = stop - start
        if m == n:
            return [] if whole else [self._head(start, stop)]
        k = _split(n)
        if m <= k:
            return self._subproof(m, start, start + k, whole) + [self._head(start + k, stop)]
        return self._subproof(m - k, start + k, stop, False) + [self._perfect(start, k)]
