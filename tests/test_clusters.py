"""Cluster statistics: hand-computed lattices, equality with esda, real ACV cities, bad inputs."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
import scipy.stats
import shapely
from libpysal.graph import Graph

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.stats.clusters import (
    ALTERNATIVES,
    LEVELS,
    LOCAL_COLUMNS,
    METHODS,
    benjamini_hochberg,
    cluster_weights,
    join_counts,
    local_clusters,
    morans_i,
)
from acv_geo.stats.weights import spatial_weights

X0, Y0, SIDE = 700_000.0, 6_600_000.0, 1000.0
PATTERN = np.array(
    [  # 5x5 binary pattern, row-major
        1,
        1,
        0,
        0,
        0,
        1,
        1,
        0,
        0,
        1,
        0,
        0,
        0,
        1,
        1,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ],
    dtype=float,
)
CONT = np.array(
    [  # continuous values with a high corner
        9,
        8,
        4,
        2,
        1,
        8,
        7,
        3,
        2,
        2,
        5,
        4,
        3,
        3,
        1,
        2,
        2,
        1,
        1,
        0,
        1,
        2,
        1,
        0,
        0,
    ],
    dtype=float,
)


def lattice(n: int = 5, **columns) -> gpd.GeoDataFrame:
    cells = [
        shapely.box(X0 + c * SIDE, Y0 + r * SIDE, X0 + (c + 1) * SIDE, Y0 + (r + 1) * SIDE)
        for r in range(n)
        for c in range(n)
    ]
    ids = pd.Index([f"{k:05d}" for k in range(n * n)], name="insee_com")
    return gpd.GeoDataFrame({"territory": "metropole", **columns}, geometry=cells, index=ids, crs=2154)


def rook_pairs(n: int = 5):
    for r in range(n):
        for c in range(n):
            if c + 1 < n:
                yield r * n + c, r * n + c + 1
            if r + 1 < n:
                yield r * n + c, (r + 1) * n + c


@pytest.fixture(scope="module")
def grid():
    return lattice(opendata=pd.array(PATTERN.astype(bool), dtype="boolean"), score=CONT)


@pytest.fixture(scope="module")
def cities():
    return acv_geo.read_acv()


def test_join_counts_hand_computed(grid):
    res = join_counts(grid, "opendata", weights="rook", permutations=99, seed=1)
    pairs = list(rook_pairs())
    bb = sum(PATTERN[i] == 1 and PATTERN[j] == 1 for i, j in pairs)
    ww = sum(PATTERN[i] == 0 and PATTERN[j] == 0 for i, j in pairs)
    bw = len(pairs) - bb - ww
    assert (res.joins, res.bb, res.bw, res.ww) == (40.0, bb, bw, ww) == (40.0, 6, 14, 20)
    n, n1 = 25, int(PATTERN.sum())
    assert res.n == n and res.n_black == n1 == 8
    assert res.expected_bb == pytest.approx(40 * n1 * (n1 - 1) / (n * (n - 1)))
    assert res.expected_bw == pytest.approx(40 * 2 * n1 * (n - n1) / (n * (n - 1)))
    assert res.expected_ww == pytest.approx(40 * (n - n1) * (n - n1 - 1) / (n * (n - 1)))
    assert 0 < res.p_sim_bb <= 1 and res.permutations == 99 and res.seed == 1
    d = res.to_dict()
    assert d["bb"] == 6.0 and d["weights"] == "rook"


def test_join_counts_equal_esda_seeded(grid):
    res = join_counts(grid, "opendata", weights="rook", permutations=199, seed=42)
    g = spatial_weights(grid, "rook").graph
    state = np.random.get_state()
    np.random.seed(42)
    jc = esda.Join_Counts(PATTERN, g, permutations=199)
    np.random.set_state(state)
    assert (res.p_sim_bb, res.p_sim_bw, res.chi2) == (jc.p_sim_bb, jc.p_sim_bw, jc.chi2)
    assert res.mean_bb_sim == jc.mean_bb


def test_global_rng_restored(grid):
    np.random.seed(3)
    expected = np.random.random()
    np.random.seed(3)
    join_counts(grid, "opendata", weights="rook", permutations=9)
    local_clusters(grid, "score", weights="rook", permutations=9)
    assert np.random.random() == expected


def test_morans_i_hand_computed(grid):
    res = morans_i(grid, "score", weights="rook", permutations=99, seed=3)
    n = 25
    w = np.zeros((n, n))
    for i, j in rook_pairs():
        w[i, j] = w[j, i] = 1
    w = w / w.sum(axis=1, keepdims=True)
    z = CONT - CONT.mean()
    i_hand = n / w.sum() * (z @ w @ z) / (z @ z)
    assert res.I == pytest.approx(i_hand, rel=1e-12)
    assert res.I == pytest.approx(0.79373, abs=1e-5)
    assert res.expected == pytest.approx(-1 / 24)
    assert res.p_sim == pytest.approx(0.01)  # none of 99 permutations beats such a clear gradient


def test_lisa_equals_esda_on_gal_read_back(tmp_path, grid):
    w = spatial_weights(grid, "queen")
    w.to_gal(tmp_path / "q.gal")
    g = Graph.from_W(libpysal.io.open(str(tmp_path / "q.gal")).read())
    y = CONT
    direct = esda.Moran_Local(y, g, permutations=999, seed=2024)
    ours = local_clusters(grid, "score", weights=w, permutations=999, seed=2024, alternative="directed").to_frame()
    assert np.array_equal(ours["statistic"].to_numpy(), direct.Is)
    assert np.array_equal(ours["p_sim"].to_numpy(), direct.p_sim)
    quads = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
    assert ours["quadrant"].tolist() == [quads[q] for q in direct.q]
    two = local_clusters(grid, "score", weights=w, permutations=999, seed=2024).to_frame()
    # two-sided: doubled one-sided p from the same simulations (esda keeps them in rlisas), ties
    # within 1e-9 (relative) of the observed value counted on both sides
    tol = 1e-9 * np.maximum(1.0, np.abs(direct.Is))[:, None]
    sims = direct.rlisas
    greater = ((sims >= direct.Is[:, None] - tol).sum(axis=1) + 1) / 1000
    lesser = ((sims <= direct.Is[:, None] + tol).sum(axis=1) + 1) / 1000
    assert np.allclose(two["p_sim"].to_numpy(), np.minimum(1, 2 * np.minimum(greater, lesser)), rtol=0, atol=1e-12)
    assert ours.loc["00000", "quadrant"] == "HH"


def test_gi_star_equals_esda(grid):
    w = spatial_weights(grid, "queen")
    direct = esda.G_Local(CONT, w.graph, star=True, permutations=499, seed=5, n_jobs=1)
    res = local_clusters(
        grid, "score", method="gi_star", weights=w, permutations=499, seed=5, alternative="directed"
    ).to_frame()
    assert np.array_equal(res["statistic"].to_numpy(), direct.Gs)
    assert np.array_equal(res["p_sim"].to_numpy().astype("float32"), direct.p_sim)
    assert set(res["quadrant"]) == {"hot", "cold"}
    assert res.loc["00000", "quadrant"] == "hot" and res.loc["00024", "quadrant"] == "cold"


def test_local_join_counts_equal_esda(grid):
    w = spatial_weights(grid, "rook")
    y = PATTERN
    np.random.seed(11)
    drawn = np.random.randint(12345, 12345000)  # esda 2.9 ignores seed= and draws one like this
    np.random.seed(11)
    direct = esda.Join_Counts_Local(connectivity=w.graph).fit(y, permutations=999)
    res = local_clusters(
        grid,
        "opendata",
        method="join_count",
        weights=w,
        permutations=999,
        seed=int(drawn),
        alternative="directed",
        fdr=False,
    ).to_frame()
    hand = y * np.array(
        [sum(y[j] for a, b in rook_pairs() for j in ((b,) if a == i else (a,) if b == i else ())) for i in range(25)]
    )
    assert np.array_equal(res["statistic"].to_numpy(), direct.LJC)
    assert np.array_equal(res["statistic"].to_numpy(), hand)
    np.testing.assert_array_equal(res["p_sim"].to_numpy().astype("float32"), direct.p_sim)
    assert res.loc["00000", "quadrant"] == "BB" and res.loc["00002", "reason"].startswith("not in class 1")


def test_local_join_counts_unsorted_ids_are_aligned():
    # esda 2.9's Join_Counts_Local misaligns LJC when ids are not sorted; ours must not.
    g = lattice(5, opendata=PATTERN.astype(bool))
    g = g.iloc[::-1]
    res = local_clusters(g, "opendata", method="join_count", weights="rook", permutations=99).to_frame()
    assert res.index.equals(g.index)
    assert res.loc["00000", "statistic"] == 2.0  # 00000 (1) has neighbours 00001 (1) and 00005 (1)
    assert res.loc["00009", "statistic"] == 1.0  # 00009 (1): neighbours 00004 (0), 00008 (0), 00014 (1)


def test_join_count_recodes_majority(grid):
    flipped = grid.assign(opendata=~grid["opendata"])
    res = local_clusters(flipped, "opendata", method="join_count", weights="rook", permutations=99)
    assert res.recoded
    assert "recoded 1 - y" in res.focus
    base = local_clusters(grid, "opendata", method="join_count", weights="rook", permutations=99)
    assert not base.recoded
    assert np.array_equal(res.to_frame()["statistic"].to_numpy(), base.to_frame()["statistic"].to_numpy())


def test_same_seed_same_labels(cities):
    a = local_clusters(cities, "opendata", permutations=199, seed=9, fdr=False).to_frame()
    b = local_clusters(cities, "opendata", permutations=199, seed=9, fdr=False).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_real_cities_lisa(cities):
    res = local_clusters(cities, "opendata", permutations=999, seed=12345, fdr=False)
    f = res.to_frame()
    assert f.index.equals(cities.index) and f.index.name == "insee_com"
    assert list(f.columns) == LOCAL_COLUMNS
    assert set(f["label"]) <= {"HH", "LL", "HL", "LH", "not significant"}
    assert f["value"].sum() == 111  # 111 of 244 ACV towns publish (ODATER 2022)
    assert (f.loc[f.label != "not significant", "p_sim"] <= 0.05).all()
    assert res.n_tested == 244 and res.islands == ()
    assert res.counts == f["label"].value_counts().to_dict()
    meta = acv_geo.indicator_metadata(f)
    assert list(meta["column"]) == LOCAL_COLUMNS


def test_na_values_kept_and_excluded(cities):
    c = cities.copy()
    c["opendata"] = c["opendata"].astype("boolean")
    c.loc[["80001", "97105"], "opendata"] = pd.NA
    res = local_clusters(c, "opendata", permutations=99)
    f = res.to_frame()
    assert f.index.equals(cities.index)
    assert f.loc["80001", "label"] == "NA" and np.isnan(f.loc["80001", "value"])
    assert "excluded from the analysis, not zero-filled" in f.loc["80001", "reason"]
    assert np.isnan(f.loc["97105", "p_sim"])
    assert res.n_na == 2 and res.n_tested == 242
    # weights are built on the cities with a value: the two other Guadeloupe towns only see each other
    assert list(res.weights_result.graph.neighbors["97120"]) == ["97101"]
    assert "97105" not in res.weights_result.graph.unique_ids
    assert cities["opendata"].notna().all()  # input untouched


def test_isolated_units():
    g = lattice(3, score=np.arange(9, dtype=float))
    far = gpd.GeoDataFrame(
        {"territory": ["metropole"], "score": [4.0]},
        geometry=[shapely.box(X0 + 50_000, Y0, X0 + 51_000, Y0 + 1000)],
        index=pd.Index(["99999"], name="insee_com"),
        crs=2154,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = local_clusters(pd.concat([g, far]), "score", weights="queen", permutations=99)
    f = res.to_frame()
    assert f.loc["99999", "label"] == "isolated"
    assert f.loc["99999", "reason"] == "no neighbour under queen among the units with a value"
    assert np.isnan(f.loc["99999", "statistic"]) and np.isnan(f.loc["99999", "p_fdr"])
    assert res.islands == ("99999",) and res.n_tested == 9


def test_epci_level(cities):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = local_clusters(cities, "opendata", level="epci", weights="queen", permutations=99)
    f = res.to_frame()
    assert f.index.name == "siren_epci"
    assert f.index.is_unique and len(f) == cities["siren_epci"].nunique()
    assert f.index[0] == cities["siren_epci"].iloc[0]  # order of first appearance
    epci_flag = cities.groupby("siren_epci")["opendata_epci"].max().astype(float)
    assert (f["value"] == epci_flag.reindex(f.index)).all()
    assert "whether the EPCI itself publishes" in res.warnings[0]


def test_bh_hand_computed():
    p = [0.01, 0.04, 0.03, 0.5]
    # sorted: 0.01*4/1=0.04, 0.03*4/2=0.06, 0.04*4/3=0.0533, 0.5*4/4=0.5; step-up minimum from the top
    np.testing.assert_allclose(benjamini_hochberg(p), [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    np.testing.assert_allclose(benjamini_hochberg(p), scipy.stats.false_discovery_control(p))
    out = benjamini_hochberg([0.02, np.nan, 0.01])
    np.testing.assert_allclose(out, [0.02, np.nan, 0.02])
    rng = np.random.default_rng(0)
    q = rng.random(200) ** 3
    np.testing.assert_allclose(benjamini_hochberg(q), scipy.stats.false_discovery_control(q))


def test_fdr_used_for_labels(grid):
    res = local_clusters(grid, "score", weights="queen", permutations=999, fdr=True)
    f = res.to_frame()
    np.testing.assert_allclose(f["p_fdr"], benjamini_hochberg(f["p_sim"]))
    sig = f["p_fdr"] <= 0.05
    assert (f.loc[~sig, "label"] == "not significant").all()
    assert (f.loc[sig, "label"] == f.loc[sig, "quadrant"]).all()


def test_bad_inputs(cities, grid):
    with pytest.raises(InputError, match=r"variable 'x' is constant \(every city with a value has 1, 244 of 244\)"):
        local_clusters(cities.assign(x=1.0), "x", permutations=9)
    with pytest.raises(InputError, match=r"variable 'x' is NA for every city \(244\); nothing to analyse"):
        local_clusters(cities.assign(x=np.nan), "x", permutations=9)
    with pytest.raises(InputError, match=r"variable 'nope' is not a column of the cities; numeric or yes/no"):
        local_clusters(cities, "nope", permutations=9)
    with pytest.raises(InputError, match=r"join counts need a yes/no \(0/1\) variable; column 'population'"):
        local_clusters(cities, "population", method="join_count", permutations=9)
    with pytest.raises(InputError, match=r"Getis-Ord Gi\* needs non-negative values"):
        local_clusters(grid.assign(score=CONT - 5), "score", method="gi_star", weights="rook", permutations=9)
    with pytest.raises(ValueError, match=r"method='moran' is not allowed; expected one of 'lisa', 'gi_star'"):
        local_clusters(cities, method="moran")
    with pytest.raises(ValueError, match=r"alternative='both' is not allowed"):
        local_clusters(cities, alternative="both")
    with pytest.raises(ValueError, match=r"unknown weights spec 'knn'; allowed forms"):
        local_clusters(cities, weights="knn")
    with pytest.raises(ValueError, match=r"alpha=1.5 must be a number strictly between 0 and 1"):
        local_clusters(cities, alpha=1.5)


def test_queen_city_without_polygon(cities):
    polys = acv_geo.read_communes().drop(index=["97105", "80001"])
    msg = r"queen contiguity needs polygons, but 2 unit\(s\) have none .*: 80001, 97105"
    with pytest.raises(InputError, match=msg):
        local_clusters(cities, weights="queen", polygons=polys, permutations=9)


def test_fewer_cities_than_k(grid):
    small = grid.iloc[:4]
    with pytest.warns(UserWarning, match="territory metropole has only 4 units, so k is capped at 3 there"):
        res = local_clusters(small, "score", weights="knn:6", permutations=9)
    assert "k is capped at 3" in res.warnings[0]


def test_json_and_cli(tmp_path, grid):
    res = morans_i(grid, "score", weights="rook", permutations=99)
    res.to_json(tmp_path / "m.json")
    d = json.loads((tmp_path / "m.json").read_text())
    assert d["I"] == pytest.approx(res.I) and d["weights"] == "rook"
    from acv_geo.cli import main

    out = tmp_path / "cl.csv"
    code = main(["clusters", "--permutations", "99", "--out", str(out), "--weights-out", str(tmp_path / "w.gal")])
    assert code == 0
    table = pd.read_csv(out, dtype={"insee_com": str})
    assert len(table) == 244 and table["insee_com"].iloc[0] == "80001"
    assert {"value", "statistic", "quadrant", "p_sim", "p_fdr", "label", "reason"} <= set(table.columns)
    summary = json.loads((tmp_path / "cl.json").read_text())
    assert summary["join_counts"]["n_black"] == 111
    assert summary["local"]["permutations"] == 99
    assert (tmp_path / "w.gal").exists()


def test_cli_bad_weights(tmp_path, capsys):
    from acv_geo.cli import main

    assert main(["clusters", "--weights", "knn", "--out", str(tmp_path / "x.csv")]) == 2
    assert "unknown weights spec 'knn'" in capsys.readouterr().err


def test_two_sided_reaches_small_p_on_a_binary_variable():
    """A yes/no variable gives heavily tied simulations; a clear cluster must still be significant."""
    import geopandas as gpd
    from shapely.geometry import box

    cells = [box(x * 1000, y * 1000, x * 1000 + 1000, y * 1000 + 1000) for x in range(12) for y in range(12)]
    flag = [1 if (i // 12 < 4 and i % 12 < 4) else 0 for i in range(144)]  # a 4×4 block of 1 in a 12×12 grid
    g = gpd.GeoDataFrame(
        {"flag": flag, "territory": "metropole"},
        geometry=cells,
        crs=2154,
        index=pd.Index([f"{i:05d}" for i in range(144)], name="insee_com"),
    )
    f = local_clusters(g, "flag", weights="queen", permutations=999, seed=7).to_frame()
    inner = f.loc["00013"]  # cell (1, 1): its 8 neighbours are all 1, beyond every simulation
    assert inner["p_sim"] == pytest.approx(2 / 1000)  # 2 × (0 + 1) / (999 + 1)
    assert inner["label"] == "HH"


def test_ties_of_binary_statistics_are_counted():
    """A Réunion town whose 4 neighbours do not publish: a random draw of 4 non-publishing towns
    among the other 243 (132 do not publish) reproduces its statistic with probability
    C(132,4)/C(243,4) ≈ 0.085, so its two-sided p is about 0.17, not 1/(P+1) (float ties lost)."""
    import math

    import acv_geo

    cities = acv_geo.read_acv()
    res = local_clusters(cities, "opendata", weights="knn:6", permutations=9999, seed=3).to_frame()
    row = res.loc["97407"]
    assert row["quadrant"] == "LL"
    p_tie = math.comb(132, 4) / math.comb(243, 4)
    assert row["p_sim"] == pytest.approx(2 * p_tie, abs=0.02)
    assert row["label"] == "not significant"


def test_two_sided_gi_star_keeps_its_self_weight(grid):
    """Two-sided = doubled min of the two one-sided runs, each run as if alone: esda's crand zeroes
    the diagonal of the Graph's cached sparse matrix, so the "lesser" run after "greater" used to run
    without Gi*'s self-weight (p off by up to 0.6 on the ACV towns)."""
    kw = dict(method="gi_star", weights="queen", permutations=999, seed=5, fdr=False)
    two = local_clusters(grid, "score", **kw).to_frame()["p_sim"].to_numpy()
    greater = local_clusters(grid, "score", alternative="greater", **kw).to_frame()["p_sim"].to_numpy()
    lesser = local_clusters(grid, "score", alternative="lesser", **kw).to_frame()["p_sim"].to_numpy()
    np.testing.assert_array_equal(two, np.minimum(1.0, 2.0 * np.minimum(greater, lesser)))
    assert two[0] == 2 / 1000  # the high corner: no simulation reaches it


# --- weights built once, passed to several statistics ------------------------------------------------


@pytest.mark.parametrize("method", ["lisa", "gi_star", "join_count"])
def test_weights_built_once_equal_the_spec(grid, method):
    """A WeightsResult, its bare Graph or cluster_weights() give the results of passing the spec."""
    variable = "opendata" if method == "join_count" else "score"
    kw = dict(method=method, permutations=199, seed=4)
    by_spec = local_clusters(grid, variable, weights="queen", **kw)
    built = cluster_weights(grid, "queen")
    for w in (built, built.graph, spatial_weights(grid, "queen")):
        again = local_clusters(grid, variable, weights=w, **kw)
        pd.testing.assert_frame_equal(again.to_frame(), by_spec.to_frame())
        assert again.counts == by_spec.counts
    assert local_clusters(grid, variable, weights=built.graph, **kw).weights == "custom graph"


def test_weights_built_once_reused_for_globals_and_epci(cities):
    w = cluster_weights(cities, "knn:6")
    for f, var in ((morans_i, "population"), (join_counts, "opendata")):
        once, spec = f(cities, var, weights=w, permutations=99).to_dict(), f(cities, var, permutations=99).to_dict()
        assert once.pop("warnings") == [] and spec.pop("warnings")  # the build's notes stay with w.warnings
        assert once == spec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        we = cluster_weights(cities, "queen", level="epci")
        a = local_clusters(cities, "opendata", level="epci", weights=we, permutations=99).to_frame()
        b = local_clusters(cities, "opendata", level="epci", weights="queen", permutations=99).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_prebuilt_weights_restricted_to_units_with_a_value(cities):
    c = cities.assign(x=cities["population"].astype(float))
    c.loc[["80001", "97105"], "x"] = np.nan
    w = cluster_weights(cities, "queen")
    res = local_clusters(c, "x", weights=w, permutations=99)
    assert res.weights_result is w and res.n_tested <= 242
    assert res.to_frame().loc["80001", "label"] == "NA"
    with pytest.raises(InputError, match=r"the weights have no node for 1 unit\(s\): 80001"):
        local_clusters(
            cities, "population", weights=cluster_weights(cities.drop(index="80001"), "knn:6"), permutations=9
        )
    with pytest.raises(ValueError, match=r"weights=3 must be a spec string"):
        local_clusters(cities, weights=3)


# --- Benjamini-Hochberg by scipy: the values of the former hand-written version --------------------------

BH_CASES = [  # (p-values, adjusted by the former implementation: min over j >= i of p_(j) * m / j)
    ([0.01, 0.04, 0.03, 0.5], [0.04, 0.05333333333333334, 0.05333333333333334, 0.5]),
    ([0.02, np.nan, 0.01], [0.02, np.nan, 0.02]),
    ([0.05, 0.05, 0.05, 0.01, np.nan], [0.05, 0.05, 0.05, 0.04, np.nan]),  # ties
    ([np.nan, np.nan], [np.nan, np.nan]),
    ([], []),
    ([1.0, 1.0, 0.9], [1.0, 1.0, 1.0]),
    ([0.001, 0.2, 0.2, 0.2, 0.7, np.nan, 0.03], [0.006, 0.24, 0.24, 0.24, 0.7, np.nan, 0.09]),
]


@pytest.mark.parametrize(("p", "expected"), BH_CASES)
def test_bh_scipy_equals_the_former_values(p, expected):
    out = benjamini_hochberg(p)
    assert out.shape == (len(p),)
    # scipy computes p * (m / j), the former p * m / j: equal up to one rounding (1 ulp)
    np.testing.assert_allclose(out, expected, rtol=4e-16, atol=0)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(np.asarray(expected, dtype=float)))


def test_bh_keeps_nan_out_of_the_family():
    rng = np.random.default_rng(1)
    p = rng.random(300) ** 2
    p[::5] = np.nan
    out = benjamini_hochberg(p)
    ok = ~np.isnan(p)
    np.testing.assert_array_equal(out[ok], scipy.stats.false_discovery_control(p[ok], method="bh"))
    assert np.isnan(out[~ok]).all()


# --- values: yes/no words, decimal commas, errors --------------------------------------------------------


def test_text_values_vectorised():
    from acv_geo.stats.values import to_float

    s = pd.Series(["oui", " Non ", "2,5", None, "", np.nan, "1e3", True, 3, "nan"], dtype=object)
    assert to_float(s, "v").tolist()[:3] == [1.0, 0.0, 2.5]
    np.testing.assert_array_equal(
        to_float(s, "v").to_numpy(), [1.0, 0.0, 2.5, np.nan, np.nan, np.nan, 1000.0, 1.0, 3.0, np.nan]
    )
    with pytest.raises(InputError, match=r"column 'v' is not numeric: rows b, d hold \['x', 'zz'\]"):
        to_float(pd.Series(["1", "x", "2", "zz"], index=list("abcd")), "v")
    with pytest.raises(InputError, match=r"column 'v' has infinite values at 1"):
        to_float(pd.Series(["1", "-inf"]), "v")
    assert to_float(pd.Series([1.5, None], dtype=object), "v").tolist()[0] == 1.5


def test_choices_are_the_cli_and_plugin_lists():
    from acv_geo.stats.choices import METHOD_TITLES, cluster_labels

    assert set(METHOD_TITLES) == set(METHODS)
    assert cluster_labels("lisa")[:4] == ("HH", "LL", "HL", "LH")
    plugin = json.loads(
        (Path(__file__).resolve().parents[1] / "qgis_plugin" / "acv_geo_qgis" / "choices.json").read_text(
            encoding="utf-8"
        )
    )
    assert plugin["cluster_methods"] == list(METHODS) and plugin["alternatives"] == list(ALTERNATIVES)
    assert plugin["cluster_levels"] == list(LEVELS)
    assert plugin["cluster_method_titles"] == METHOD_TITLES


def test_france_communes_is_a_reader():
    from acv_geo.read.national import france_communes

    assert acv_geo.france_communes is france_communes
    allc = france_communes(opendata=False)
    assert len(allc) == 34867 and (allc["geometry_source"] == "point").all()
