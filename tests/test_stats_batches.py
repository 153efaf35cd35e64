"""Batches, shared draws and the combined global statistics: the same values as one draw at a time.

`permuted_ids` must be esda's draws (``np.random.choice(n - 1, k, replace=False)`` row by row after
seeding); `conditional_p_values` must not depend on the size of its batches of units and equal the
unit-by-unit loop; `global_statistics` / `_global_cores` must equal `join_counts` and `morans_i`
called separately (both compared with esda in test_joincounts.py and test_stats_equivalence.py),
on graphs with islands, asymmetric knn, weighted edges, a yes/no variable whose permutations are
often inadmissible (redrawn), and a numeric variable; batches of permuted rows of any size give
the same values.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import acv_geo
from acv_geo.stats import clusters, conditional, moran, permutation
from acv_geo.stats.adjacency import Adjacency
from acv_geo.stats.clusters import _global_cores, global_statistics, join_counts, morans_i
from acv_geo.stats.conditional import conditional_p_values, permuted_ids
from acv_geo.stats.joincounts import binary_joins, join_counts_core
from acv_geo.stats.moran import moran_global
from acv_geo.stats.permutation import PermutationTest, seeded


def adjacency(n: int, pairs: list[tuple[int, int]], weight: float = 1.0) -> Adjacency:
    """Symmetric weights from undirected pairs; units without a pair are isolates (self-loop of 0)."""
    f = [a for a, b in pairs] + [b for a, b in pairs]
    nb = [b for a, b in pairs] + [a for a, b in pairs]
    w = [weight] * len(f)
    for i in sorted(set(range(n)) - set(f)):
        f, nb, w = [*f, i], [*nb, i], [*w, 0.0]
    order = np.lexsort((nb, f))
    ids = pd.Index([f"u{i:03d}" for i in range(n)])
    return Adjacency(ids, np.array(f)[order], np.array(nb)[order], np.array(w, dtype=float)[order])


def lattice(rows: int, cols: int, queen: bool = False) -> Adjacency:
    pairs = []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            steps = [(0, 1), (1, 0)] + ([(1, 1), (1, -1)] if queen else [])
            for dr, dc in steps:
                rr, cc = r + dr, c + dc
                if 0 <= rr < rows and 0 <= cc < cols:
                    pairs.append((i, rr * cols + cc))
    return adjacency(rows * cols, pairs)


def knn(n: int, k: int, seed: int) -> Adjacency:
    """Asymmetric k nearest neighbours of random points."""
    xy = np.random.default_rng(seed).random((n, 2))
    d = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nb = np.argsort(d, axis=1)[:, :k]
    f = np.repeat(np.arange(n), k)
    order = np.lexsort((nb.ravel(), f))
    return Adjacency(pd.Index(range(n)), f[order], nb.ravel()[order], np.ones(n * k))


def binary(n: int, n1: int, seed: int) -> np.ndarray:
    y = np.zeros(n)
    y[np.random.default_rng(seed).choice(n, n1, replace=False)] = 1.0
    return y


GRAPHS = {
    "rook_6x7": lambda: lattice(6, 7),
    "queen_5x5": lambda: lattice(5, 5, queen=True),
    "knn4_60": lambda: knn(60, 4, 3),
    # a path of 3 units and 5 islands: many permutations are inadmissible and redrawn
    "path_and_islands": lambda: adjacency(8, [(0, 1), (1, 2)]),
    "lattice_with_islands": lambda: adjacency(30, [(i, i + 1) for i in range(24) if i % 6 != 5]),
    "weighted": lambda: adjacency(20, [(i, (i + 1) % 20) for i in range(20)] + [(0, 10)], weight=2.5),
}


def same(a, b) -> bool:
    """Every field equal (arrays element by element, NaN equal to NaN)."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif x != y and not (isinstance(x, float) and np.isnan(x) and np.isnan(y)):
            return False
    return True


def separate(y, g, permutations, seed, jc=True, mi=True):
    out_jc = out_mi = None
    if jc:
        with seeded(seed):
            out_jc = join_counts_core(y, g, permutations)
    if mi:
        with seeded(seed), warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            out_mi = moran_global(y, g, permutations)
    return out_jc, out_mi


@pytest.mark.parametrize("n", [2, 3, 10, 257])
@pytest.mark.parametrize("k", [1, 4])
def test_permuted_ids_are_numpy_choice_row_by_row(n, k):
    k = min(k, n - 1)
    ids = permuted_ids(n, k, 25, 99)
    state = np.random.get_state()
    np.random.seed(99)
    ref = np.array([np.random.choice(n - 1, k, replace=False) for _ in range(25)])
    np.random.set_state(state)
    assert ids.dtype == np.int64 and ids.shape == (25, k)
    assert np.array_equal(ids, ref)


def test_permuted_ids_leave_the_global_generator_alone():
    np.random.seed(3)
    before = np.random.get_state()[1].copy()
    permuted_ids(50, 5, 10, 7)
    assert np.array_equal(np.random.get_state()[1], before)


def _local_case(g: Adjacency, y: np.ndarray, statistic: str):
    if statistic == "lisa":
        r = g.transform("R").sparse
        z = (y - y.mean()) / y.std()
        return z, r, (len(y) - 1) * z * (r @ z) / (z * z).sum(), None
    if statistic == "gi_star":
        star = g.with_self_weight(1).transform("R").sparse
        return y, star, (star @ y) / y.sum(), float(y.sum())
    wb = g.with_self_weight(0).without_zeros().sparse
    yb = (y > np.median(y)).astype(float)
    return yb, wb, yb * (wb @ yb), None


@pytest.mark.parametrize("statistic", ["lisa", "gi_star", "join_count"])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "lesser", "directed", "folded"])
def test_batches_of_units_do_not_change_p_values(statistic, alternative, monkeypatch):
    rng = np.random.default_rng(11)
    for g in (GRAPHS["lattice_with_islands"](), GRAPHS["knn4_60"](), GRAPHS["weighted"]()):
        y = rng.integers(0, 5, g.n).astype(float) + 0.5
        z, m, obs, scaling = _local_case(g, y, statistic)
        test = PermutationTest(199, 5, alternative)
        whole = conditional_p_values(statistic, z, m, obs, test, scaling=scaling)
        # the unit-by-unit loop (esda's) on the same draws
        uw = conditional._unit_weights(m)
        perms = permuted_ids(len(z), int(uw[2].max()), 199, 5)
        sc = (len(z) - 1) / (z * z).sum() if scaling is None else scaling
        ref = conditional._p_values_by_unit(statistic, z, perms, uw, (obs, test, sc))
        assert np.array_equal(whole, ref)
        for size in (1, 8 * 199 * 3, 8 * 199 * 1000):
            monkeypatch.setattr(conditional, "_BATCH_BYTES", size)
            assert np.array_equal(conditional_p_values(statistic, z, m, obs, test, scaling=scaling), whole)


def test_no_neighbour_at_all_keeps_the_unit_loop():
    g = adjacency(6, [])
    y = np.arange(6.0)
    z, m, obs, _ = _local_case(g, y, "lisa")
    p = conditional_p_values("lisa", z, m, obs, PermutationTest(19, 1, "two-sided"))
    assert p.shape == (6,) and np.isfinite(p).all()


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize(("permutations", "seed"), [(0, 1), (1, 4), (299, 12345)])
def test_combined_equals_separate_calls(name, permutations, seed):
    g = GRAPHS[name]()
    n1 = 1 if name == "path_and_islands" else g.n // 3
    y = binary(g.n, n1, seed % 97) if name != "path_and_islands" else np.eye(8)[1]
    jc, mi = _global_cores(y, g, permutations, seed)
    ref_jc, ref_mi = separate(y, g, permutations, seed)
    assert same(jc, ref_jc)
    assert same(mi, ref_mi)
    if name == "path_and_islands" and permutations > 1:
        assert jc.draws > permutations  # inadmissible permutations were redrawn
    assert binary_joins(g) == (name != "weighted")  # the weighted graph uses the sparse product


def test_combined_with_redraws_in_small_batches(monkeypatch):
    g = GRAPHS["path_and_islands"]()
    y = np.eye(8)[1]
    ref_jc, ref_mi = separate(y, g, 299, 21)
    for size in (8, 8 * 8 * 3, 8 * 8 * 7):  # 1, 3, 7 rows per batch
        monkeypatch.setattr(permutation, "_ROWS_BYTES", size)
        jc, mi = _global_cores(y, g, 299, 21)
        assert jc.draws == ref_jc.draws > 299
        assert same(jc, ref_jc) and same(mi, ref_mi)


def test_numeric_variable_moran_only_and_batches(monkeypatch):
    g = GRAPHS["knn4_60"]()
    y = np.random.default_rng(2).lognormal(size=g.n)
    jc, mi = _global_cores(y, g, 499, 8, join_counts=False)
    assert jc is None and mi == separate(y, g, 499, 8, jc=False)[1]
    for size in (8 * 60, 8 * 60 * 13):  # 1 and 13 rows per batch
        monkeypatch.setattr(permutation, "_ROWS_BYTES", size)
        assert _global_cores(y, g, 499, 8, join_counts=False)[1] == mi
        with seeded(8):
            assert moran_global(y, g, 499) == mi
    with pytest.raises(ValueError, match="0/1"):
        _global_cores(y, g, 9, 8)


def test_moran_lags_without_scipy_kernel_are_the_same(monkeypatch):
    """The in-place sparse product (scipy's private kernel) and plain ``matrix @ x`` give the same bits."""
    g = GRAPHS["knn4_60"]()
    y = np.random.default_rng(5).lognormal(size=g.n)
    with seeded(3):
        fast = moran_global(y, g, 299)
    assert moran._csr_matvec is not None  # the kernel is used here
    monkeypatch.setattr(moran, "_csr_matvec", None)
    with seeded(3):
        assert moran_global(y, g, 299) == fast


def test_join_counts_only():
    g = GRAPHS["queen_5x5"]()
    y = binary(25, 9, 4)
    jc, mi = _global_cores(y, g, 199, 3, morans_i=False)
    assert mi is None and same(jc, separate(y, g, 199, 3, mi=False)[0])


def test_public_global_statistics_equal_the_two_calls():
    cities = acv_geo.read_acv()
    data = cities.copy()
    data.loc[data.index[::9], "opendata"] = pd.NA
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = acv_geo.cluster_weights(data, "knn:6")
        for weights in ("knn:6", built):
            jc, mi = global_statistics(data, "opendata", weights=weights, permutations=199, seed=5)
            assert jc == join_counts(data, "opendata", weights=weights, permutations=199, seed=5)
            assert mi == morans_i(data, "opendata", weights=weights, permutations=199, seed=5)
        jc, mi = global_statistics(cities, "population", weights=built, permutations=99, join_counts=False)
        assert jc is None and mi == morans_i(cities, "population", weights=built, permutations=99)


def test_global_statistics_leave_the_global_generator_alone():
    cities = acv_geo.read_acv()
    np.random.seed(3)
    before = np.random.get_state()[1].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clusters.global_statistics(cities, "opendata", permutations=19)
    assert np.array_equal(np.random.get_state()[1], before)
