"""Global join counts computed over all permutations at once, against esda.Join_Counts called directly.

acv_geo counts the joins of a whole chunk of permutations with NumPy instead of esda's per-permutation
pandas look-ups, drawing the same permutations from the same seed. Every statistic, simulation and
p-value must be esda's exactly (``assert_array_equal`` / ``==``), except where esda is wrong, which
each such test says.
"""

from __future__ import annotations

import warnings

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
import shapely
from libpysal.graph import Graph
from scipy.stats import chi2_contingency

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.stats import joincounts as clusters
from acv_geo.stats.clusters import join_counts
from acv_geo.stats.joincounts import chi2_check as _chi2_check
from acv_geo.stats.joincounts import chi2_tables as _chi2_tables
from acv_geo.stats.joincounts import join_counts_core as _join_counts_core
from acv_geo.stats.permutation import seeded as _seeded
from acv_geo.stats.weights import spatial_weights

X0, Y0, SIDE = 700_000.0, 6_600_000.0, 1000.0


def esda_jc(y, w, permutations, seed):
    """esda.Join_Counts with NumPy's global generator seeded as acv_geo seeds it, then restored."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return esda.Join_Counts(np.asarray(y, dtype=float), w, permutations=permutations)
    finally:
        np.random.set_state(state)


def ours(y, g, permutations, seed):
    with _seeded(seed):
        return _join_counts_core(np.asarray(y, dtype=float), g, permutations)


def assert_same(core, jc, permutations):
    """Every statistic of `_join_counts_core` equals esda's, bit for bit."""
    assert core.joins == jc.J
    assert (core.bb, core.bw, core.ww) == (jc.bb, jc.bw, jc.ww)
    assert (core.chi2, core.chi2_p, core.chi2_dof) == (jc.chi2, jc.chi2_p, jc.chi2_dof)
    if not permutations:
        assert core.sim_bb is None and not hasattr(jc, "sim_bb")
        return
    e_bb = np.asarray(jc.sim_bb, dtype=float)
    e_bw = np.asarray(jc.sim_bw, dtype=float)
    e_ww = np.asarray(jc.sim_autocurr_pos, dtype=float) - e_bb
    e_chi2 = np.asarray(jc.sim_chi2, dtype=float)
    assert len(core.sim_bb) == permutations
    np.testing.assert_array_equal(core.sim_bb, e_bb)
    np.testing.assert_array_equal(core.sim_bw, e_bw)
    np.testing.assert_array_equal(core.sim_ww, e_ww)
    np.testing.assert_array_equal(core.sim_chi2, e_chi2)
    # means and variances of the permutation distributions
    assert (np.mean(core.sim_bb), np.mean(core.sim_bw)) == (jc.mean_bb, jc.mean_bw)
    assert (core.sim_bb.min(), core.sim_bb.max()) == (jc.min_bb, jc.max_bb)
    assert (core.sim_bw.min(), core.sim_bw.max()) == (jc.min_bw, jc.max_bw)
    for mine, theirs in ((core.sim_bb, e_bb), (core.sim_bw, e_bw), (core.sim_ww, e_ww), (core.sim_chi2, e_chi2)):
        assert np.var(mine) == np.var(theirs)
    # pseudo p-values
    assert core.p_sim(core.sim_bb, core.bb) == jc.p_sim_bb
    assert core.p_sim(core.sim_bw, core.bw) == jc.p_sim_bw
    assert core.p_sim(core.sim_chi2, core.chi2) == jc.p_sim_chi2
    assert core.p_sim(core.sim_bb + core.sim_ww, core.bb + core.ww) == jc.p_sim_autocorr_pos
    assert core.p_sim(core.sim_bw, core.bw) == jc.p_sim_autocorr_neg


def lattice(nrows: int, ncols: int, **columns) -> gpd.GeoDataFrame:
    cells = [
        shapely.box(X0 + c * SIDE, Y0 + r * SIDE, X0 + (c + 1) * SIDE, Y0 + (r + 1) * SIDE)
        for r in range(nrows)
        for c in range(ncols)
    ]
    ids = pd.Index([f"{k:05d}" for k in range(nrows * ncols)], name="insee_com")
    return gpd.GeoDataFrame({"territory": "metropole", **columns}, geometry=cells, index=ids, crs=2154)


def random_binary(n: int, n1: int, seed: int) -> np.ndarray:
    y = np.zeros(n)
    y[np.random.default_rng(seed).choice(n, n1, replace=False)] = 1.0
    return y


def knn_graph(n: int, k: int, seed: int) -> Graph:
    pts = gpd.GeoSeries(shapely.points(np.random.default_rng(seed).random((n, 2))))
    return Graph.build_knn(pts, k=k)


RNG_CASES = {
    # name: (graph builder, y builder)
    "rook_5x5": (lambda: Graph.from_W(libpysal.weights.lat2W(5, 5)), lambda n: random_binary(n, 8, 1)),
    "queen_5x5": (lambda: Graph.from_W(libpysal.weights.lat2W(5, 5, rook=False)), lambda n: random_binary(n, 12, 2)),
    "rook_7x6": (lambda: Graph.from_W(libpysal.weights.lat2W(7, 6)), lambda n: random_binary(n, 21, 3)),
    "queen_4x9_half": (
        lambda: Graph.from_W(libpysal.weights.lat2W(4, 9, rook=False)),
        lambda n: (np.arange(n) < n // 2) * 1.0,
    ),
    # asymmetric: a join i→j without j→i counts as half a join, in BB, BW, WW and J alike
    "knn4_60": (lambda: knn_graph(60, 4, 7), lambda n: random_binary(n, 17, 4)),
    "knn6_40": (lambda: knn_graph(40, 6, 8), lambda n: random_binary(n, 25, 5)),
    # ties everywhere: all but one unit equal
    "rook_6x6_one_black": (lambda: Graph.from_W(libpysal.weights.lat2W(6, 6)), lambda n: (np.arange(n) == 14) * 1.0),
    "queen_6x6_one_white": (
        lambda: Graph.from_W(libpysal.weights.lat2W(6, 6, rook=False)),
        lambda n: (np.arange(n) != 0) * 1.0,
    ),
    "knn3_30_one_black": (lambda: knn_graph(30, 3, 9), lambda n: (np.arange(n) == 3) * 1.0),
    # row-standardised weights: join counts use them as binary (esda transforms them, acv_geo too)
    "queen_5x5_row_standardised": (
        lambda: Graph.from_W(libpysal.weights.lat2W(5, 5, rook=False)).transform("R"),
        lambda n: random_binary(n, 9, 6),
    ),
    "knn5_50_row_standardised": (lambda: knn_graph(50, 5, 10).transform("R"), lambda n: random_binary(n, 20, 7)),
}


@pytest.mark.parametrize("name", sorted(RNG_CASES))
@pytest.mark.parametrize(("permutations", "seed"), [(0, 1), (1, 7), (299, 12345)])
def test_equal_to_esda(name, permutations, seed):
    make_graph, make_y = RNG_CASES[name]
    g = make_graph()
    y = make_y(g.n)
    assert_same(ours(y, g, permutations, seed), esda_jc(y, g, permutations, seed), permutations)


def test_equal_to_esda_given_a_W():
    # esda also takes a libpysal W (and builds its own adjacency list): same counts
    w = libpysal.weights.lat2W(6, 5, rook=False)
    y = random_binary(30, 11, 12)
    core = ours(y, Graph.from_W(w), 199, 3)
    assert_same(core, esda_jc(y, w, 199, 3), 199)


def test_hand_computed_line_of_four():
    # 0 - 1 - 2 - 3 with y = 1 1 0 0: joins 0-1 (BB), 1-2 (BW), 2-3 (WW). esda lists each join of
    # a symmetric graph twice (i→j and j→i) and halves the sums: every join counts once.
    w = libpysal.weights.lat2W(1, 4)
    g = Graph.from_W(w)
    y = np.array([1.0, 1.0, 0.0, 0.0])
    core = ours(y, g, 0, 1)
    assert (core.joins, core.bb, core.bw, core.ww) == (3.0, 1.0, 1.0, 1.0)
    jc = esda_jc(y, g, 0, 1)
    assert (jc.J, jc.bb, jc.bw, jc.ww) == (3.0, 1.0, 1.0, 1.0)
    # the 2×2 table [[ww, wb], [bw, bb]] = [[1, 0.5], [0.5, 1]] and its Yates-corrected χ²
    ref = chi2_contingency(np.array([[1.0, 0.5], [0.5, 1.0]]))
    assert (core.chi2, core.chi2_p, core.chi2_dof) == (ref[0], ref[1], 1)
    # all 4!/(2!2!) = 6 arrangements are equally likely: BB is 1 (0-1 or 2-3 black, 2 of 6), 0 (black
    # pair not adjacent: 0-2, 0-3, 1-3, 3 of 6) or 1 (1-2, 1 of 6): mean 0.5 = J·n1(n1-1)/(n(n-1))
    res = ours(y, g, 6000, 5)
    assert set(res.sim_bb.tolist()) == {0.0, 1.0}
    assert abs(res.sim_bb.mean() - 0.5) < 0.03


def test_hand_computed_through_join_counts():
    cells = lattice(1, 4, opendata=pd.array([True, True, False, False], dtype="boolean"))
    res = join_counts(cells, "opendata", weights="rook", permutations=99, seed=1)
    assert (res.joins, res.bb, res.bw, res.ww, res.n, res.n_black) == (3.0, 1.0, 1.0, 1.0, 4, 2)
    assert res.expected_bb == res.expected_ww == 3 * 2 * 1 / 12
    assert res.expected_bw == 3 * 2 * 2 * 2 / 12


def test_islands_stay_in_the_sample_and_are_permuted():
    # as before (esda's behaviour): an island has no join but is one of the n units, so it is
    # shuffled with the others and counts in the expectations
    grid = lattice(4, 4, opendata=random_binary(16, 6, 8).astype(bool))
    far = gpd.GeoDataFrame(
        {"territory": ["metropole", "metropole"], "opendata": [True, False]},
        geometry=[
            shapely.box(X0 + 50_000, Y0, X0 + 51_000, Y0 + 1000),
            shapely.box(X0 + 90_000, Y0, X0 + 91_000, Y0 + 1000),
        ],
        index=pd.Index(["99998", "99999"], name="insee_com"),
        crs=2154,
    )
    cells = pd.concat([grid, far])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = spatial_weights(cells, "queen")
    g = w.graph
    assert set(w.islands) == {"99998", "99999"}
    y = cells["opendata"].astype(float).reindex(list(g.unique_ids)).to_numpy()
    jc = esda_jc(y, g, 299, 12345)
    core = ours(y, g, 299, 12345)
    assert_same(core, jc, 299)
    assert core.n == 18
    res = join_counts(cells, "opendata", weights=w, permutations=299, seed=12345)
    assert (res.n, res.joins, res.bb, res.bw, res.ww) == (18, jc.J, jc.bb, jc.bw, jc.ww)
    assert (res.p_sim_bb, res.p_sim_bw, res.p_sim_chi2) == (jc.p_sim_bb, jc.p_sim_bw, jc.p_sim_chi2)
    assert res.expected_bb == jc.J * 7 * 6 / (18 * 17)


def test_inadmissible_permutations_are_redrawn_like_esda(monkeypatch):
    # A path of 3 units and 5 islands, one unit in class 1: a permutation that puts it on an island
    # leaves a row of the 2×2 table empty (expected count 0), scipy refuses it and esda draws
    # another permutation. The same draws are discarded here, also across chunks.
    w = libpysal.weights.W({0: [1], 1: [0, 2], 2: [1], 3: [], 4: [], 5: [], 6: [], 7: []}, silence_warnings=True)
    g = Graph.from_W(w)
    y = np.array([0.0, 1.0, 0, 0, 0, 0, 0, 0])
    core = ours(y, g, 299, 21)
    assert core.draws > 299  # some permutations were discarded
    assert_same(core, esda_jc(y, g, 299, 21), 299)
    monkeypatch.setattr(clusters, "_JC_CHUNK_ELEMENTS", 7 * 8)  # chunks of 7 permutations
    small = ours(y, g, 299, 21)
    assert small.draws == core.draws
    np.testing.assert_array_equal(small.sim_bb, core.sim_bb)
    np.testing.assert_array_equal(small.sim_chi2, core.sim_chi2)


def test_chunks_do_not_change_results(monkeypatch):
    g = knn_graph(80, 5, 11)
    y = random_binary(80, 30, 12)
    whole = ours(y, g, 500, 4)
    monkeypatch.setattr(clusters, "_JC_CHUNK_ELEMENTS", 1000)  # 2 permutations per chunk
    chunked = ours(y, g, 500, 4)
    for a in ("sim_bb", "sim_bw", "sim_ww", "sim_chi2"):
        np.testing.assert_array_equal(getattr(chunked, a), getattr(whole, a))
    assert_same(chunked, esda_jc(y, g, 500, 4), 500)


def test_observed_table_without_a_class_raises():
    # every unit of class 1 is an island: no join touches class 1, the χ² test is undefined. esda
    # raises scipy's ValueError; acv_geo an InputError (a ValueError) that says why.
    w = libpysal.weights.W({0: [1], 1: [0, 2], 2: [1], 3: [], 4: []}, silence_warnings=True)
    g = Graph.from_W(w)
    y = np.array([0.0, 0.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="expected"):
        esda_jc(y, g, 9, 1)
    with pytest.raises(InputError, match="empty row or column"):
        ours(y, g, 9, 1)


def test_zero_weight_edges_and_self_loops_are_not_joins():
    # esda is wrong here: it counts every row of the adjacency list as a join, so an explicit
    # zero-weight edge or a self-loop (i joined to itself) enters BB/BW/WW while its J (sum of
    # binary weights) leaves zero weights out, and BB + BW + WW != J. acv_geo counts only
    # joins between two distinct units with a non-zero weight: the results are esda's on the graph
    # without those rows, drawn from the same seed.
    base = Graph.from_W(libpysal.weights.lat2W(4, 4))
    adj = base.adjacency
    focal = np.r_[adj.index.get_level_values(0), [0, 5, 5]]
    neighbor = np.r_[adj.index.get_level_values(1), [15, 10, 5]]
    weight = np.r_[adj.to_numpy(), [0.0, 0.0, 1.0]]  # two zero-weight edges and a self-loop
    odd = Graph.from_arrays(focal, neighbor, weight)
    y = random_binary(16, 7, 13)
    y[[0, 5, 10, 15]] = [1, 1, 0, 1]
    jc = esda_jc(y, odd, 99, 2)
    assert jc.bb + jc.bw + jc.ww != jc.J  # esda's inconsistency
    core = ours(y, odd, 99, 2)
    assert core.bb + core.bw + core.ww == core.joins == base.n_edges / 2
    assert_same(core, esda_jc(y, base, 99, 2), 99)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # all-zero tables
def test_chi2_is_scipys_bit_for_bit():
    # every small table, symmetric or not, and random large ones: same admissibility, same χ²
    small = np.array(np.meshgrid(*[np.arange(6)] * 4, indexing="ij")).reshape(4, -1).T
    large = np.random.default_rng(3).integers(0, 3000, size=(600, 4))
    tables = np.vstack([small, large, small[:, [0, 1, 1, 3]] * 37])
    admissible, stat = _chi2_tables(tables)
    for t, ok, s in zip(tables, admissible, stat, strict=True):
        try:
            ref = chi2_contingency(np.array([[t[0], t[1]], [t[2], t[3]]], dtype=float) / 2.0)[0]
        except ValueError:
            assert not ok
        else:
            assert ok and (s == ref or (np.isnan(s) and np.isnan(ref))), (t, s, ref)


def test_chi2_falls_back_to_scipy_if_it_ever_differs():
    tables = np.random.default_rng(4).integers(1, 500, size=(300, 4))
    _, stat = _chi2_tables(tables)
    wrong = np.nextafter(stat, np.inf)  # one ulp off: as if scipy summed in another order
    fixed = _chi2_check(tables, wrong)
    np.testing.assert_array_equal(fixed, stat)
    np.testing.assert_array_equal(_chi2_check(tables, stat), stat)


def test_join_counts_on_acv_towns_equal_esda():
    cities = acv_geo.read_acv()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = spatial_weights(cities, "knn:6")
        res = join_counts(cities, "opendata", weights="knn:6", permutations=199, seed=12345)
    g = w.graph
    y = cities["opendata"].astype(float).reindex(list(g.unique_ids)).to_numpy()
    jc = esda_jc(y, g, 199, 12345)
    assert_same(ours(y, g, 199, 12345), jc, 199)
    assert (res.n, res.n_black, res.joins) == (244, 111, jc.J)
    assert (res.bb, res.bw, res.ww) == (jc.bb, jc.bw, jc.ww)
    assert (res.mean_bb_sim, res.mean_bw_sim) == (jc.mean_bb, jc.mean_bw)
    assert res.mean_ww_sim == np.mean(np.asarray(jc.sim_autocurr_pos, dtype=float) - np.asarray(jc.sim_bb, dtype=float))
    assert (res.p_sim_bb, res.p_sim_bw, res.p_sim_chi2) == (jc.p_sim_bb, jc.p_sim_bw, jc.p_sim_chi2)
    assert (res.chi2, res.chi2_p, res.chi2_dof) == (jc.chi2, jc.chi2_p, jc.chi2_dof)


def test_row_standardised_graph_given_to_join_counts():
    # acv_geo turns given weights to binary (row-standardised ones, built for Moran's I, too)
    grid = lattice(5, 5, opendata=random_binary(25, 9, 14).astype(bool))
    w = spatial_weights(grid, "queen")
    y = grid["opendata"].astype(float).to_numpy()
    jc = esda_jc(y, w.graph, 299, 8)
    res = join_counts(grid, "opendata", weights=w.graph.transform("R"), permutations=299, seed=8)
    assert (res.joins, res.bb, res.bw, res.ww) == (jc.J, jc.bb, jc.bw, jc.ww)
    assert (res.p_sim_bb, res.p_sim_bw, res.p_sim_chi2, res.chi2) == (jc.p_sim_bb, jc.p_sim_bw, jc.p_sim_chi2, jc.chi2)
