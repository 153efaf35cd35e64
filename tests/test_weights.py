"""Spatial weights: hand-built lattices, territory separation on the real ACV cities, exports."""

from __future__ import annotations

import warnings

import geopandas as gpd
import libpysal
import pandas as pd
import pytest
import shapely
from libpysal.graph import Graph

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.stats.weights import parse_weights_spec, spatial_weights

X0, Y0, SIDE = 700_000.0, 6_600_000.0, 1000.0


def lattice(n: int = 4, territory: str = "metropole") -> gpd.GeoDataFrame:
    cells = [
        shapely.box(X0 + c * SIDE, Y0 + r * SIDE, X0 + (c + 1) * SIDE, Y0 + (r + 1) * SIDE)
        for r in range(n)
        for c in range(n)
    ]
    ids = pd.Index([f"{k:05d}" for k in range(n * n)], name="insee_com")
    return gpd.GeoDataFrame({"territory": territory}, geometry=cells, index=ids, crs=2154)


@pytest.fixture(scope="module")
def cities():
    return acv_geo.read_acv()


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spatial_weights(*args, **kwargs)


def test_rook_and_queen_on_4x4_lattice():
    g = lattice(4)
    rook = quiet(g, "rook").graph
    queen = quiet(g, "queen").graph
    # 4x4 grid: 2*4*3 = 24 rook joins (48 directed), plus 2*3*3 = 18 diagonals for queen.
    assert rook.n_edges == 48
    assert queen.n_edges == 84
    assert rook.cardinalities.loc["00000"] == 2  # corner
    assert rook.cardinalities.loc["00005"] == 4  # interior
    assert queen.cardinalities.loc["00005"] == 8
    assert sorted(rook.neighbors["00005"]) == ["00001", "00004", "00006", "00009"]
    assert list(rook.unique_ids) == list(g.index)


def test_knn_and_distance_on_lattice_centres():
    g = lattice(4)
    dist = quiet(g, "distance:1000").graph  # centres 1000 m apart: rook neighbours exactly
    assert dist.n_edges == 48
    knn = quiet(g, "knn:2").graph
    assert set(knn.cardinalities) == {2}
    # the corner's two nearest centres are its rook neighbours
    assert sorted(knn.neighbors["00000"]) == ["00001", "00004"]


def test_input_order_kept_and_frame(cities):
    w = quiet(cities, "knn:6")
    assert list(w.graph.unique_ids) == list(cities.index)
    f = w.to_frame()
    assert f.index.equals(cities.index) and f.index.name == "insee_com"
    assert list(f.columns) == ["territory", "n_neighbors", "component", "island"]
    assert f.loc["97105", "n_neighbors"] == 2  # Guadeloupe has 3 ACV towns: k capped at 2
    assert (f.loc[f.territory == "metropole", "n_neighbors"] == 6).all()


def test_no_edge_crosses_territories(cities):
    w = quiet(cities, "knn:6")
    edges = w.edges()
    edges = edges[edges.weight != 0]
    terr = cities["territory"]
    assert (terr.loc[edges.focal].to_numpy() == terr.loc[edges.neighbor].to_numpy()).all()
    guadeloupe = [i for i in cities.index if i.startswith("971")]
    for town in guadeloupe:
        assert set(w.graph.neighbors[town]) <= set(guadeloupe)
    # Guadeloupe and Martinique share EPSG:5490 but are separate components; so is each territory.
    labels = w.graph.component_labels
    assert labels.loc["97105"] != labels.loc[[i for i in cities.index if i.startswith("972")][0]]
    assert w.n_components == 6
    assert {c.territory: c.k for c in w.components} == {
        "metropole": 6,
        "guadeloupe": 2,
        "guyane": 1,
        "mayotte": 3,
        "martinique": 1,
        "reunion": 4,
    }
    assert {c.territory: c.epsg for c in w.components}["martinique"] == 5490


def test_k_capped_warning_and_single_unit(cities):
    with pytest.warns(UserWarning, match="territory guyane has only 2 units, so k is capped at 1 there"):
        spatial_weights(cities, "knn:6")
    one = cities.drop(index=[i for i in cities.index if i.startswith("973")][1:])
    with pytest.warns(UserWarning, match=r"territory guyane has a single unit \(97302\): it is isolated"):
        w = spatial_weights(one, "knn:6")
    assert w.islands == ("97302",)
    assert w.island_names == ("Cayenne",)


def test_fewer_cities_than_k():
    g = lattice(2)  # 4 units, knn:6
    with pytest.warns(UserWarning, match="territory metropole has only 4 units, so k is capped at 3"):
        w = spatial_weights(g, "knn:6")
    assert w.graph.n_edges == 12


def test_islands_reported():
    g = lattice(3)
    box = shapely.box(X0 + 50_000, Y0, X0 + 51_000, Y0 + 1000)
    far = gpd.GeoDataFrame(
        {"territory": ["metropole"]}, geometry=[box], index=pd.Index(["99999"], name="insee_com"), crs=2154
    )
    both = pd.concat([g, far])
    with pytest.warns(UserWarning, match=r"queen: 1 unit\(s\) have no neighbour: 99999"):
        w = spatial_weights(both, "queen")
    assert w.islands == ("99999",)
    assert w.n_components == 2


@pytest.mark.parametrize("spec", ["knn6", "knn:0", "knn:-1", "distance:", "distance:-5", "Queen", "delaunay", 6])
def test_unknown_spec(spec):
    with pytest.raises(ValueError, match=r"weights spec .*allowed forms: 'knn:K'"):
        parse_weights_spec(spec)


def test_unknown_spec_message_names_it():
    with pytest.raises(ValueError, match=r"unknown weights spec 'knn6'; allowed forms: 'knn:K' \(K a positive integer"):
        spatial_weights(lattice(2), "knn6")


def test_queen_needs_polygons(cities):
    with pytest.raises(
        InputError,
        match=r"queen contiguity needs polygons, but 244 unit\(s\) have none "
        r"\(geometry \['Point'\]\): 80001, 34003",
    ):
        spatial_weights(cities, "queen")
    g = lattice(2)
    g.loc["00003", "geometry"] = shapely.Point(X0, Y0)
    with pytest.raises(
        InputError,
        match=r"rook contiguity needs polygons, but 1 unit\(s\) have none.*: 00003; pass "
        r"commune polygons",
    ):
        spatial_weights(g, "rook")


def test_bad_inputs():
    g = lattice(2)
    with pytest.raises(InputError, match="has no CRS"):
        spatial_weights(g.set_crs(None, allow_override=True), "knn:1")
    with pytest.raises(InputError, match="duplicate ids in the index: 00000"):
        spatial_weights(pd.concat([g, g.iloc[:1]]), "knn:1")
    with pytest.raises(InputError, match="missing or unknown territories for 00000"):
        spatial_weights(g.assign(territory=["mars", "metropole", "metropole", "metropole"]), "knn:1")


def test_territory_from_insee_index_when_column_missing(cities):
    w = quiet(cities.drop(columns="territory"), "knn:6")
    assert w.territories.loc["97105"] == "guadeloupe"


def test_gal_round_trip(tmp_path, cities):
    w = quiet(cities, "knn:6")
    path = w.to_gal(tmp_path / "w.gal")
    back = libpysal.io.open(str(path)).read()
    assert list(back.id_order) == list(cities.index)
    for i in cities.index:
        assert sorted(back.neighbors[i]) == sorted(w.graph.neighbors[i])
    assert Graph.from_W(back).n_edges == w.graph.n_edges


def test_csv_round_trip(tmp_path):
    g = lattice(3)
    far = gpd.GeoDataFrame(
        {"territory": ["reunion"]},
        geometry=[shapely.box(340000, 7660000, 341000, 7661000)],
        index=pd.Index(["97411"], name="insee_com"),
        crs=2975,
    )
    both = pd.concat([g, far.to_crs(2154)])
    w = quiet(both, "queen")
    path = w.to_csv(tmp_path / "w.csv")
    table = pd.read_csv(path, dtype={"focal": str, "neighbor": str})
    assert list(table.columns) == ["focal", "neighbor", "weight"]
    back = Graph.from_adjacency(table)
    assert back.equals(w.graph)
    assert w.islands == ("97411",)
