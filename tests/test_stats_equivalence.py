"""The NumPy paths of acv_geo.stats against esda, libpysal and scipy: every value identical.

The cluster statistics no longer import esda, libpysal or scipy.stats (see acv_geo.stats.adjacency,
conditional, moran, fdr); these tests keep those libraries as the reference: weights equal to
libpysal's Graph (same sparse matrix, same knn sets), local statistics and p-values equal to esda's
classes and to esda's crand engine for every alternative, global Moran's I equal to esda.Moran,
BH equal to scipy, χ² equal to scipy, on real towns (k capped in small territories), lattices
(ties, contiguity), islands, binary and tied variables, NaN excluded.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from types import SimpleNamespace

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.stats
import shapely
from libpysal.graph import Graph

import acv_geo
from acv_geo.stats import weights as weights_module
from acv_geo.stats.adjacency import Adjacency, connected_components, knn_neighbors
from acv_geo.stats.clusters import local_clusters, morans_i
from acv_geo.stats.conditional import conditional_p_values
from acv_geo.stats.fdr import benjamini_hochberg
from acv_geo.stats.joincounts import chi2_of_table, chi2_tables, scipy_chi2
from acv_geo.stats.moran import moran_global
from acv_geo.stats.permutation import PermutationTest, crand_p_values, seeded
from acv_geo.stats.weights import spatial_weights

ALTERNATIVES = ("two-sided", "greater", "lesser", "directed", "folded")
P, SEED = 199, 7


def quiet(gdf, spec):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spatial_weights(gdf, spec)


def lattice(n: int = 5, **columns) -> gpd.GeoDataFrame:
    cells = [
        shapely.box(c * 1000.0, r * 1000.0, (c + 1) * 1000.0, (r + 1) * 1000.0) for r in range(n) for c in range(n)
    ]
    ids = pd.Index([f"{k:05d}" for k in range(n * n)], name="insee_com")
    return gpd.GeoDataFrame({"territory": "metropole", **columns}, geometry=cells, index=ids, crs=2154)


@pytest.fixture(scope="module")
def cities():
    return acv_geo.read_acv()


def _cases(cities):
    """(weights, y) pairs: real towns with knn (capped k), lattices with ties, islands, tied values."""
    rng = np.random.default_rng(3)
    grid = lattice(6)
    pts = grid.copy()
    pts["geometry"] = grid.geometry.centroid
    lonely = pts.copy()
    lonely.loc["00035", "geometry"] = shapely.Point(50_000.0, 50_000.0)  # an island under distance bands
    y_bin = cities["opendata"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    pop = cities["population"].to_numpy(dtype="float64")
    grid_bin = (rng.random(36) < 0.35).astype(float)
    grid_tied = rng.integers(0, 4, 36).astype(float)
    return [
        (quiet(cities, "knn:6").adjacency, y_bin),
        (quiet(cities, "knn:3").adjacency, np.log(pop)),
        (quiet(grid, "rook").adjacency, grid_tied),
        (quiet(grid, "queen").adjacency, grid_bin),
        (quiet(pts, "knn:4").adjacency, grid_tied),  # ties: libpysal's choice
        (quiet(lonely, "distance:1500").adjacency, grid_bin),
        (quiet(lonely, "distance:1500").adjacency, grid_tied + 0.5),
    ]


def test_sparse_and_tables_equal_libpysal(cities):
    for adj, _ in _cases(cities):
        g = adj.graph
        ref = Adjacency.from_graph(Graph(g.adjacency, transformation="B"))
        assert list(ref.ids) == list(adj.ids)
        assert np.array_equal(ref.focal, adj.focal) and np.array_equal(ref.neighbor, adj.neighbor)
        assert np.array_equal(ref.weight, adj.weight)
        for mine, theirs in (
            (adj.sparse, g.sparse),
            (adj.transform("R").sparse, g.transform("R").sparse),
            (adj.with_self_weight(1).transform("R").sparse, g.assign_self_weight(1).transform("R").sparse),
            (adj.with_self_weight(0).without_zeros().sparse, g.assign_self_weight(0).eliminate_zeros().sparse),
        ):
            assert np.array_equal(mine.indptr, theirs.indptr) and np.array_equal(mine.indices, theirs.indices)
            assert np.array_equal(mine.data, theirs.data)
        assert list(adj.isolates) == list(g.isolates) and adj.n_components == g.n_components
        assert np.array_equal(adj.cardinalities, g.cardinalities.to_numpy())
        r = adj.transform("R")
        assert np.array_equal(r.weight, g.transform("R").adjacency.to_numpy())


def test_knn_equals_libpysal_per_territory(cities, monkeypatch):
    fast = quiet(cities, "knn:6")
    monkeypatch.setattr(weights_module, "knn_neighbors", lambda xy, k: None)  # libpysal's build_knn
    slow = quiet(cities, "knn:6")
    assert fast.graph.adjacency.equals(slow.graph.adjacency)
    assert fast.components == slow.components and fast.islands == slow.islands


def test_knn_brute_force_equals_kdtree(cities, monkeypatch):
    from acv_geo.stats import adjacency

    rng = np.random.default_rng(8)
    xy = rng.random((300, 2)) * 1e5
    brute, brute_xy = quiet(cities, "knn:6"), knn_neighbors(xy, 5)
    monkeypatch.setattr(adjacency, "_BRUTE", 0)
    tree, tree_xy = quiet(cities, "knn:6"), knn_neighbors(xy, 5)
    assert brute.adjacency.series().equals(tree.adjacency.series())
    assert brute_xy is not None and np.array_equal(brute_xy, tree_xy)


def test_knn_ties_are_left_to_libpysal():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    assert knn_neighbors(xy, 1) is None  # 0's nearest: 1 and 2 at the same distance
    assert knn_neighbors(np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 0.0]]), 1) is None  # shared location
    assert knn_neighbors(np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [7.0, 0.0]]), 2).tolist() == [
        [1, 2],
        [0, 2],
        [1, 0],
        [2, 1],
    ]


def test_components_equal_scipy():
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components as scipy_components

    rng = np.random.default_rng(1)
    for n, e in ((30, 10), (200, 150), (500, 900)):
        f, nb = rng.integers(0, n, e), rng.integers(0, n, e)
        mine = connected_components(n, f, nb)
        count, _ = scipy_components(coo_array((np.ones(e), (f, nb)), shape=(n, n)))
        assert np.unique(mine).size == count


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_crand_equals_esda_engine(cities, alternative):
    test = PermutationTest(P, SEED, alternative)
    for adj, y in _cases(cities):
        ok = ~np.isnan(y)
        sub = adj.subset(list(adj.ids[ok]))
        yy = y[ok]
        r = sub.transform("R").sparse
        z = (yy - yy.mean()) / yy.std()
        lisa = (len(yy) - 1) * z * (r @ z) / (z * z).sum()
        star = sub.with_self_weight(1).transform("R").sparse
        gs = (star @ yy) / yy.sum()
        yb = (yy > np.median(yy)).astype(float)
        wb = sub.with_self_weight(0).without_zeros().sparse
        ljc = yb * (wb @ yb)
        for stat, zz, m, obs, scaling in (
            ("lisa", z, r, lisa, None),
            ("gi_star", yy, star, gs, float(yy.sum())),
            ("join_count", yb, wb, ljc, None),
        ):
            mine = conditional_p_values(stat, zz, m, obs, test, scaling=scaling)
            ref = crand_p_values(stat, zz, SimpleNamespace(sparse=m), obs, test, scaling=scaling)
            assert np.array_equal(mine, ref), (stat, alternative)


def test_local_classes_equal_esda(cities):
    for adj, y in _cases(cities):
        ok = ~np.isnan(y)
        g = adj.subset(list(adj.ids[ok])).graph
        yy = y[ok]
        units = pd.DataFrame({"v": yy}, index=pd.Index(g.unique_ids, name="insee_com"))
        ml = esda.Moran_Local(yy, g, permutations=P, seed=SEED, n_jobs=1, keep_simulations=False)
        gl = esda.G_Local(yy, g, star=True, permutations=P, seed=SEED, n_jobs=1, keep_simulations=False)
        for method, ref_stat, ref_p in (("lisa", ml.Is, ml.p_sim), ("gi_star", gl.Gs, gl.p_sim)):
            res = _local(units, g, method)
            tested = ~np.isnan(res["p_sim"].to_numpy())
            assert np.array_equal(res["statistic"].to_numpy()[tested], np.asarray(ref_stat)[tested])
            assert np.array_equal(res["p_sim"].to_numpy()[tested].astype("float32"), ref_p[tested])
        quad = _local(units, g, "lisa")["quadrant"].dropna()
        names = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
        assert (quad == pd.Series([names[int(q)] for q in ml.q], index=units.index).loc[quad.index]).all()


def _local(units: pd.DataFrame, g: Graph, method: str) -> pd.DataFrame:
    from acv_geo.stats.local import LocalOptions, local_statistic

    opts = LocalOptions(method=method, permutations=P, seed=SEED, alternative="directed")
    local = local_statistic(units["v"].to_numpy(), g, opts)
    return pd.DataFrame(
        {"statistic": local.statistic, "p_sim": local.p_sim, "quadrant": local.quadrant}, index=units.index
    )


def test_global_moran_equals_esda(cities):
    for adj, y in _cases(cities):
        ok = ~np.isnan(y)
        sub = adj.subset(list(adj.ids[ok]))
        for permutations in (0, P):
            with seeded(SEED):
                mine = moran_global(y[ok], sub, permutations)
            with seeded(SEED), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = esda.Moran(y[ok], sub.graph, transformation="r", permutations=permutations)
            for name in ("I", "EI", "z_norm", "p_norm", "z_rand", "p_rand"):
                assert getattr(mine, name) == float(getattr(ref, name)), name
            if permutations:
                for name in ("p_sim", "EI_sim", "z_sim", "p_z_sim"):
                    assert getattr(mine, name) == float(getattr(ref, name)), name


def test_morans_i_with_na_equals_esda_on_the_subgraph(cities):
    data = cities.copy()
    data.loc[data.index[::7], "population"] = np.nan
    res = morans_i(data, "population", weights="knn:6", permutations=P, seed=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = spatial_weights(data[data["population"].notna()], "knn:6").graph
    with seeded(SEED):
        ref = esda.Moran(data["population"].dropna().to_numpy(dtype=float), w, permutations=P)
    assert (res.I, res.p_sim, res.z_sim, res.p_rand) == (ref.I, ref.p_sim, ref.z_sim, ref.p_rand)


def test_subset_equals_graph_subgraph(cities):
    for adj, _y in _cases(cities):
        rng = np.random.default_rng(5)
        keep = list(adj.ids[rng.random(adj.n) < 0.7])
        mine = adj.subset(keep)
        ref = Adjacency.from_graph(adj.graph.subgraph(keep))
        assert list(mine.ids) == list(ref.ids)
        assert mine.series().equals(ref.series())


def test_prebuilt_with_na_equals_spec(cities):
    data = cities.copy()
    data.loc[data.index[::5], "opendata"] = pd.NA
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = acv_geo.cluster_weights(data, "knn:6")
        a = local_clusters(data, "opendata", weights=built, permutations=P).to_frame()
        b = local_clusters(data, "opendata", weights=built.graph, permutations=P).to_frame()
    assert a.equals(b)


def test_bh_equals_scipy():
    rng = np.random.default_rng(2)
    for p in (rng.random(50), np.round(rng.random(300), 2), np.array([0.3]), np.array([0.0, 1.0, 1.0, 0.5])):
        assert np.array_equal(benjamini_hochberg(p), scipy.stats.false_discovery_control(p, method="bh"))


def test_chi2_equals_scipy():
    rng = np.random.default_rng(4)
    tables = rng.integers(0, 60, (400, 4)) * 2
    tables[:5] = [[0, 0, 4, 6], [2, 0, 0, 2], [10, 4, 4, 2], [0, 4, 4, 0], [6, 6, 6, 6]]
    admissible, stat = chi2_tables(tables)
    for t, ok, s in zip(tables, admissible, stat, strict=True):
        ref, mine = scipy_chi2(t), chi2_of_table(t)
        assert (ref is None) == (mine is None) == (not ok)
        if ref is not None:
            assert mine == ref and s == ref[0]


def test_run_path_imports_neither_esda_nor_libpysal_nor_sklearn():
    code = (
        "import sys, warnings; warnings.simplefilter('ignore'); import acv_geo;"
        "from acv_geo.stats import clusters as cl; c = acv_geo.read_acv();"
        "r = cl.local_clusters(c, 'opendata', permutations=9);"
        "cl.join_counts(c, 'opendata', weights=r.weights_result, permutations=9);"
        "cl.morans_i(c, 'opendata', weights=r.weights_result, permutations=9);"
        "print(sorted(m for m in ('esda', 'libpysal', 'sklearn', 'scipy.stats') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
