"""The social graph: a vectorised homophilous small world that matches networkx's Watts-Strogatz
where the two coincide, and sorts ties by group as homophily asks."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from socialcredit.population import homophilous_small_world, make_people
from socialcredit.scenario.models import NetworkSpec, PopulationSpec


def people(size: int, groups=None, districts: int = 1):
    spec = PopulationSpec(size=size, groups=groups or {"all": 1.0}, districts=districts)
    return make_people(spec, {}, seed=3, chunk=1 << 20)


def to_networkx(graph) -> nx.Graph:
    rows = np.repeat(np.arange(graph.n_subjects), graph.degree)
    g = nx.Graph()
    g.add_nodes_from(range(graph.n_subjects))
    g.add_edges_from(zip(rows.tolist(), graph.indices.tolist(), strict=True))
    return g


@pytest.mark.parametrize("rewiring", [0.0, 0.1, 0.3])
def test_matches_watts_strogatz_degree_and_clustering(rewiring):
    n, k = 2000, 10
    ours = to_networkx(homophilous_small_world(people(n), NetworkSpec(mean_degree=k, homophily=1.0,
                                                                      rewiring=rewiring), seed=5, chunk=1 << 20))
    theirs = nx.watts_strogatz_graph(n, k, rewiring, seed=5)
    our_degrees = np.array([d for _, d in ours.degree()])
    their_degrees = np.array([d for _, d in theirs.degree()])
    assert our_degrees.mean() == pytest.approx(their_degrees.mean(), rel=0.01)
    assert our_degrees.std() == pytest.approx(their_degrees.std(), abs=0.3)
    assert nx.average_clustering(ours) == pytest.approx(nx.average_clustering(theirs), abs=0.03)


def test_no_self_ties_or_duplicates_and_symmetric():
    graph = homophilous_small_world(people(3000, districts=5), NetworkSpec(mean_degree=8), seed=1, chunk=1024)
    rows = np.repeat(np.arange(graph.n_subjects), graph.degree)
    assert not np.any(rows == graph.indices)
    keys = rows * graph.n_subjects + graph.indices
    assert np.all(np.diff(keys) > 0)  # sorted and unique
    reverse = np.sort(graph.indices.astype(np.int64) * graph.n_subjects + rows)
    assert np.array_equal(np.sort(keys), reverse)
    assert graph.indices.dtype == np.int32


def test_homophily_keeps_ties_within_group_and_district():
    population = people(20000, groups={"a": 0.7, "b": 0.3}, districts=10)
    rows_of = lambda g: np.repeat(np.arange(g.n_subjects), g.degree)  # noqa: E731
    shares = []
    for homophily in (0.0, 0.5, 1.0):
        graph = homophilous_small_world(population, NetworkSpec(mean_degree=10, homophily=homophily, rewiring=0.0),
                                        seed=2, chunk=1 << 20)
        rows = rows_of(graph)
        shares.append((population.group[rows] == population.group[graph.indices]).mean())
        assert (population.district[rows] == population.district[graph.indices]).all()  # no shortcuts
    assert shares[0] < shares[1] < shares[2]
    assert shares[2] > 0.99
    assert shares[0] == pytest.approx(0.7**2 + 0.3**2 + 0.5 * 0, abs=0.12)  # near random mixing


def test_people_are_ordered_by_district_then_group():
    population = people(5000, groups={"a": 0.5, "b": 0.5}, districts=7)
    assert np.all(np.diff(population.district) >= 0)
    key = population.district.astype(np.int64) * 2 + population.group
    assert np.all(np.diff(key) >= 0)


def test_assortativity_equals_networkx():
    from socialcredit.analysis.measures import assortativity
    from socialcredit.scoring import Relations

    graph = nx.watts_strogatz_graph(400, 6, 0.2, seed=1)
    edges = np.array(graph.edges())
    values = np.random.default_rng(0).random(400) + np.arange(400) / 200  # some real correlation
    nx.set_node_attributes(graph, {i: float(values[i]) for i in range(400)}, "v")
    ours = assortativity(Relations.from_pairs(edges[:, 0], edges[:, 1], 400), values)
    assert ours == pytest.approx(nx.numeric_assortativity_coefficient(graph, "v"), rel=1e-9)


@pytest.mark.parametrize("chunk", [1024, 1500, 1 << 20])
def test_graph_made_slice_by_slice_equals_the_whole_array_formula(chunk, monkeypatch):
    """The generator works a slice of people at a time to bound its memory; the ties are those of
    the plain formula over all ties at once (the same draws, the same rules)."""
    import socialcredit.population.graph as module
    from socialcredit.scenario.streams import per_person
    from socialcredit.scoring import Relations

    monkeypatch.setattr(module, "SLICE", 700)  # several slices per chunk
    spec = NetworkSpec(mean_degree=6, homophily=0.7, rewiring=0.2)
    crowd = make_people(PopulationSpec(size=3000, groups={"a": 0.6, "b": 0.4}, districts=4), {}, seed=5, chunk=chunk)
    n, half = len(crowd), spec.mean_degree // 2
    block = crowd.district.astype(np.int64) * 2 + crowd.group
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    sizes = np.diff(np.r_[starts, n])
    run = np.repeat(np.arange(starts.size), sizes)
    position = np.arange(n) - starts[run]
    source = np.repeat(np.arange(n), half)
    target = starts[run][source] + (position[source] + np.tile(np.arange(1, half + 1), n)) % sizes[run][source]
    draws = per_person(5, "network", -1, n, chunk, lambda g, m: g.random((3, half, m)))
    kind_draw, anywhere, nearby = (draws[i].T.ravel() for i in range(3))
    shortcut = kind_draw < spec.rewiring
    mixed = ~shortcut & (kind_draw < spec.rewiring + (1 - spec.rewiring) * (1 - spec.homophily))
    target = np.where(shortcut, (anywhere * n).astype(np.int64), target)
    low = np.searchsorted(crowd.district, crowd.district[source], side="left")
    high = np.searchsorted(crowd.district, crowd.district[source], side="right")
    target = np.where(mixed, low + (nearby * (high - low)).astype(np.int64), target)
    keep = source != target
    keys = np.unique(np.concatenate([source[keep] * n + target[keep], target[keep] * n + source[keep]]))
    expected = Relations(np.r_[0, np.cumsum(np.bincount(keys // n, minlength=n))], keys % n)

    graph = module.homophilous_small_world(crowd, spec, seed=5, chunk=chunk)
    np.testing.assert_array_equal(graph.indptr, expected.indptr)
    np.testing.assert_array_equal(graph.indices, expected.indices)


def test_same_group_ties_count_each_tie_from_both_ends():
    from socialcredit.scoring.kernels import same_label_entries

    crowd = people(500, groups={"a": 0.5, "b": 0.3, "c": 0.2}, districts=3)
    graph = homophilous_small_world(crowd, NetworkSpec(mean_degree=6, homophily=0.6, rewiring=0.2), seed=2, chunk=1024)
    g = to_networkx(graph)
    same = sum(crowd.group[a] == crowd.group[b] for a, b in g.edges())
    assert 0 < same < g.number_of_edges()
    assert same_label_entries(graph.indptr, graph.indices, crowd.group) == 2 * same
