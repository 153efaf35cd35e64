"""Vector overlay indicators: hand-computed geometry, embedded real data, bad input."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.indicators.overlay import overlay_indicators as _overlay_indicators
from acv_geo.indicators.overlay import overlay_report
from acv_geo.indicators.presets import get_preset, list_presets
from acv_geo.zones import make_zones

X0, Y0 = 700_000.0, 6_600_000.0  # a zone [X0, X0+1000] x [Y0, Y0+1000] in Lambert-93
CITY = (X0 + 500, Y0 + 500)


def overlay_indicators(*args, **kwargs):
    """The core function on hand-made squares, whose codes (99001) are in no real department: coverage national.

    Coverage itself is tested in tests/test_coverage.py.
    """
    kwargs.setdefault("coverage", "national")
    return _overlay_indicators(*args, **kwargs)


def _box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _zones(codes=("99001",), squares=None, epsg=2154, territory="metropole", points=None):
    """Zones built by make_zones from square 'communes' drawn in ``epsg``."""
    squares = squares or [_box(0, 0, 1000, 1000)] * len(codes)
    points = points or [shapely.Point(*CITY)] * len(codes)
    cities = gpd.GeoDataFrame(
        {"territory": territory}, geometry=points, index=pd.Index(list(codes), name="insee_com"), crs=epsg
    ).to_crs(4326)
    communes = gpd.GeoDataFrame({"insee_com": list(codes)}, geometry=squares, crs=epsg)
    return make_zones(cities, communes=communes)


def _layer(geoms, cats=None, epsg=2154):
    data = {"ALEA": cats} if cats is not None else {}
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=epsg)


# ------------------------------------------------------------------ hand-computed geometry
def test_polygons_dissolved_per_category_and_total():
    layer = _layer(
        [_box(0, 0, 500, 1000), _box(250, 0, 750, 1000), _box(900, 0, 1100, 1000)],
        ["Inondation", "Inondation", "Minier"],
    )
    df = overlay_indicators(_zones(), layer, category="ALEA", name="risk")
    row = df.loc["99001"]
    assert row["risk_area_m2"] == pytest.approx(850_000, rel=1e-9)  # [0,750] ∪ [900,1000]
    assert row["risk_pct"] == pytest.approx(85.0, rel=1e-9)
    assert row["risk_inondation_area_m2"] == pytest.approx(750_000, rel=1e-9)  # overlap counted once
    assert row["risk_inondation_pct"] == pytest.approx(75.0, rel=1e-9)
    assert row["risk_minier_area_m2"] == pytest.approx(100_000, rel=1e-9)
    assert (row["risk_count"], row["risk_inondation_count"], row["risk_minier_count"]) == (3, 2, 1)
    assert row["risk_dist_m"] == 0 and row["risk_inondation_dist_m"] == 0
    assert row["risk_minier_dist_m"] == pytest.approx(400, rel=1e-9)
    assert pd.isna(row["risk_reason"])
    assert list(df.columns) == [
        f"risk{c}_{m}" for c in ("", "_inondation", "_minier") for m in ("area_m2", "pct", "count", "dist_m")
    ] + ["risk_reason"]
    meta = acv_geo.indicator_metadata(df).set_index("column")
    assert meta.loc["risk_area_m2", "unit"] == "m2" and meta.loc["risk_minier_pct", "unit"] == "%"
    assert "ALEA = 'Minier'" in meta.loc["risk_minier_count", "description"]
    assert len(meta) == len(df.columns)


def test_zone_inside_a_feature_and_feature_inside_a_zone():
    # zone 99001 wholly inside a feature (no clipping: the zone itself), a feature wholly inside
    # zone 99002, and a feature crossing 99002's edge (clipped): 1e6 + (0.25e6 + 0.5e6 - overlap 0)
    zones = _zones(
        ("99001", "99002"),
        squares=[_box(0, 0, 1000, 1000), _box(2000, 0, 3000, 1000)],
        points=[shapely.Point(*CITY), shapely.Point(X0 + 2500, Y0 + 500)],
    )
    layer = _layer([_box(-100, -100, 1100, 1100), _box(2250, 250, 2750, 750), _box(2500, -500, 3500, 500)])
    df = overlay_indicators(zones, layer, name="z")
    assert df.loc["99001", "z_area_m2"] == pytest.approx(1_000_000, rel=1e-9)
    assert df.loc["99001", "z_pct"] == pytest.approx(100.0, rel=1e-9)
    # inner box 500×500 and the crossing box's part [2500,3000]×[0,500]; they overlap on
    # [2500,2750]×[250,500] (62,500 m²), counted once
    assert df.loc["99002", "z_area_m2"] == pytest.approx(250_000 + 250_000 - 62_500, rel=1e-9)
    assert df.loc["99002", "z_count"] == 2


def test_piece_cut_into_an_area_and_a_line_is_measured_by_its_area():
    """A feature meeting the zone in an area and, elsewhere, along its edge: the clipped piece is a
    mixed collection (GEOS relate refused those before GEOS 3.13); only the area counts."""
    c_shape = shapely.Polygon(
        [
            (X0 + x, Y0 + y)
            for x, y in [
                (200, -500),
                (1200, -500),
                (1200, 1500),
                (200, 1500),
                (200, 1000),
                (1100, 1000),
                (1100, 100),
                (200, 100),
            ]
        ]
    )  # bottom bar overlaps [200,1000]×[0,100]; top bar touches the zone's top edge along a line
    cut = shapely.intersection(_box(0, 0, 1000, 1000), c_shape)
    assert cut.geom_type == "GeometryCollection"  # the case under test
    layer = _layer([c_shape, _box(0, 0, 300, 500)], ["Inondation", "Inondation"])
    df = overlay_indicators(_zones(), layer, category="ALEA", name="r", distances=False)
    # 80,000 m² + 150,000 m² − their overlap [200,300]×[0,100] = 10,000 m²
    assert df.loc["99001", "r_area_m2"] == pytest.approx(220_000, rel=1e-9)
    assert df.loc["99001", "r_inondation_area_m2"] == pytest.approx(220_000, rel=1e-9)
    assert df.loc["99001", "r_count"] == 2


def test_without_distances_a_small_file_is_read_around_the_zones_only():
    """Distances need the whole layer; areas only the features near the zones."""
    import acv_geo

    zones = acv_geo.make_zones(acv_geo.read_acv().loc[["34003", "34301"]])
    layer = acv_geo.get_path("herault_pac_risques")
    report = overlay_report(overlay_indicators(zones, layer, preset="pac_risques", distances=False))
    assert report["reads"] == 1 and 0 < report["features_read"] < report["n_features"] == 419
    whole = overlay_report(overlay_indicators(zones, layer, preset="pac_risques"))
    assert whole["features_read"] == 419


def test_changed_file_is_read_again(tmp_path, monkeypatch):
    """Layer facts are cached per file; rewriting the file (new size or time) invalidates them."""
    import acv_geo.indicators.overlay as ov

    monkeypatch.setattr(ov, "_LOAD_ALL_FEATURES", 0)  # the windowed GeoPackage R-tree path
    path = tmp_path / "layer.gpkg"
    _layer([_box(0, 0, 500, 1000)], ["A"]).to_file(path, driver="GPKG")
    first = overlay_indicators(_zones(), path, category="ALEA", name="r")
    assert first.loc["99001", "r_area_m2"] == pytest.approx(500_000, rel=1e-9)
    _layer([_box(0, 0, 250, 1000), _box(500, 0, 600, 1000)], ["B", "C"]).to_file(path, driver="GPKG", mode="w")
    second = overlay_indicators(_zones(), path, category="ALEA", name="r")
    assert second.loc["99001", "r_area_m2"] == pytest.approx(350_000, rel=1e-9)
    assert [c for c in second.columns if c.endswith("_area_m2")] == ["r_area_m2", "r_b_area_m2", "r_c_area_m2"]


def test_circle_zone_area():
    # buffer zone of 100 m fully covered: area of the 128-gon inscribed in the circle
    cities = gpd.GeoDataFrame(
        {"territory": ["metropole"]},
        geometry=[shapely.Point(*CITY)],
        index=pd.Index(["99001"], name="insee_com"),
        crs=2154,
    ).to_crs(4326)
    zones = make_zones(cities, kind="buffer", radius=100)
    half = _layer([_box(-1000, -1000, 500, 2000)])  # covers the west half of the disc
    df = overlay_indicators(zones, half, name="h")
    polygon_area = 0.5 * 128 * 100**2 * math.sin(2 * math.pi / 128)
    assert df.loc["99001", "h_area_m2"] == pytest.approx(polygon_area / 2, rel=1e-6)
    assert df.loc["99001", "h_pct"] == pytest.approx(50.0, rel=1e-6)
    assert polygon_area == pytest.approx(math.pi * 100**2, rel=1e-3)


def test_points_boundary_counts_and_distance():
    pts = _layer(
        [
            shapely.Point(X0 + 1000, Y0 + 500),  # on the zone boundary: counted
            shapely.Point(X0 + 200, Y0 + 900),  # inside
            shapely.Point(X0 + 1300, Y0 + 500),  # outside, 800 m from the city point
        ]
    )
    df = overlay_indicators(_zones(), pts, name="marks")
    assert list(df.columns) == ["marks_count", "marks_dist_m", "marks_reason"]
    assert df.loc["99001", "marks_count"] == 2
    assert df.loc["99001", "marks_dist_m"] == pytest.approx(math.hypot(300, 400), rel=1e-9)
    assert overlay_report(df)["main_column"] == "marks_count"  # no polygon: the count is the headline


def test_lines_length_dissolved():
    line = shapely.LineString([(X0 - 100, Y0 + 200), (X0 + 1100, Y0 + 200)])
    part = shapely.LineString([(X0 + 100, Y0 + 200), (X0 + 300, Y0 + 200)])  # overlaps the first
    diag = shapely.LineString([(X0, Y0), (X0 + 1000, Y0 + 1000)])
    df = overlay_indicators(_zones(), _layer([line, part, diag]), name="dike")
    assert df.loc["99001", "dike_length_m"] == pytest.approx(1000 + 1000 * math.sqrt(2), rel=1e-9)
    assert df.loc["99001", "dike_count"] == 3
    assert df.loc["99001", "dike_dist_m"] == 0  # the diagonal passes through the city point


def test_mixed_geometry_types():
    layer = _layer(
        [
            _box(0, 0, 100, 100),
            shapely.LineString([(X0, Y0 + 50), (X0 + 2000, Y0 + 50)]),
            shapely.Point(X0 + 10, Y0 + 10),
        ]
    )
    df = overlay_indicators(_zones(), layer, name="mix")
    assert df.loc["99001", "mix_area_m2"] == pytest.approx(10_000, rel=1e-9)
    assert df.loc["99001", "mix_length_m"] == pytest.approx(1000, rel=1e-9)
    assert df.loc["99001", "mix_count"] == 3
    assert df.loc["99001", "mix_dist_m"] == pytest.approx(450, rel=1e-9)


def test_reunion_measured_in_2975():
    x, y = 338_000.0, 7_690_000.0  # Saint-Denis, UTM 40S
    sq = shapely.box(x, y, x + 1000, y + 1000)
    zones = _zones(("97411",), squares=[sq], epsg=2975, territory="reunion", points=[shapely.Point(x + 500, y + 500)])
    layer = _layer([shapely.box(x - 50, y - 50, x + 600, y + 1050)], epsg=2975)
    df = overlay_indicators(zones, layer, name="z")
    assert df.loc["97411", "z_area_m2"] == pytest.approx(600_000, rel=1e-9)
    wrong = gpd.GeoSeries([sq.intersection(layer.geometry.iloc[0])], crs=2975).to_crs(2154).area.iloc[0]
    assert abs(wrong - 600_000) / 600_000 > 0.01
    # the same layer delivered in WGS84 gives the same answer (reprojected to 2975)
    df84 = overlay_indicators(zones, layer.to_crs(4326), name="z")
    assert df84.loc["97411", "z_area_m2"] == pytest.approx(600_000, rel=1e-6)


def test_no_overlap_is_zero_and_empty_zone_is_nan_with_reason():
    zones = _zones(("99001", "99002"), squares=[_box(0, 0, 1000, 1000), shapely.Polygon()])
    far = _layer([_box(5000, 0, 6000, 1000)], ["Inondation"])
    df = overlay_indicators(zones, far, category="ALEA", name="r")
    assert df.index.tolist() == ["99001", "99002"]
    assert df.loc["99001", "r_area_m2"] == 0 and df.loc["99001", "r_count"] == 0
    assert df.loc["99001", "r_dist_m"] == pytest.approx(4500, rel=1e-9)
    assert np.isnan(df.loc["99002", "r_area_m2"]) and np.isnan(df.loc["99002", "r_count"])
    assert df.loc["99002", "r_reason"].startswith("no zone (no commune polygon for INSEE 99002")
    assert df.loc["99002", "r_dist_m"] == pytest.approx(4500, rel=1e-9)  # the city point exists


def test_invalid_layer_geometry_repaired_and_counted():
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 1000, Y0 + 1000), (X0 + 1000, Y0), (X0, Y0 + 1000)])
    df = overlay_indicators(_zones(), _layer([bowtie]), name="b")
    assert df.loc["99001", "b_area_m2"] == pytest.approx(500_000, rel=1e-9)
    assert overlay_report(df)["n_repaired"] == 1
    assert overlay_report(df)["main_column"] in df.columns


def test_distance_search_beyond_the_first_window(tmp_path, monkeypatch):
    # nearest feature 100 km away. In memory: one read, exact distance.
    layer = _layer([_box(100_500, 0, 101_000, 1000)])
    df = overlay_indicators(_zones(), layer, name="far")
    assert df.loc["99001", "far_dist_m"] == pytest.approx(100_000, rel=1e-9)
    assert overlay_report(df)["reads"] == 1
    # A big layer read window by window (forced here): found by widening the window, same value.
    import acv_geo.indicators.overlay as ov

    monkeypatch.setattr(ov, "_LOAD_ALL_FEATURES", 0)
    layer.to_file(tmp_path / "far.gpkg", driver="GPKG")
    df = overlay_indicators(_zones(), tmp_path / "far.gpkg", name="far")
    assert df.loc["99001", "far_dist_m"] == pytest.approx(100_000, rel=1e-9)
    assert overlay_report(df)["reads"] > 1


def test_overseas_city_never_linked_to_mainland():
    x, y = 338_000.0, 7_690_000.0
    zones = _zones(
        ("97411",),
        squares=[shapely.box(x, y, x + 1000, y + 1000)],
        epsg=2975,
        territory="reunion",
        points=[shapely.Point(x + 500, y + 500)],
    )
    df = overlay_indicators(zones, _layer([_box(0, 0, 1000, 1000)]), name="m")
    assert df.loc["97411", "m_area_m2"] == 0
    assert np.isnan(df.loc["97411", "m_dist_m"])
    assert df.loc["97411", "m_reason"] == "no feature of the layer in territory reunion: distances undefined"


def test_empty_layer_warns_and_gives_zeros(tmp_path):
    path = tmp_path / "empty.gpkg"
    _layer([_box(0, 0, 1, 1)], ["x"]).iloc[:0].to_file(path, driver="GPKG")
    with pytest.warns(UserWarning, match=r"empty.gpkg: the layer has no feature; every city gets 0"):
        df = overlay_indicators(_zones(), path, category="ALEA")
    assert df.loc["99001", "empty_count"] == 0 and np.isnan(df.loc["99001", "empty_dist_m"])
    assert "has no feature: distances undefined" in df.loc["99001", "empty_reason"]


def test_file_formats_agree(tmp_path):
    layer = _layer([_box(0, 0, 500, 1000), _box(250, 0, 750, 1000)], ["a", "b"]).to_crs(4326)
    results = []
    for ext, driver in (
        (".gpkg", "GPKG"),
        (".shp", "ESRI Shapefile"),
        (".geojson", "GeoJSON"),
        (".fgb", "FlatGeobuf"),
        (".parquet", None),
    ):
        path = tmp_path / f"lay{ext}"
        if driver is None:
            layer.to_parquet(path)
        else:
            layer.to_file(path, driver=driver)
        df = overlay_indicators(_zones(), path, category="alea", name="l")  # case-insensitive field
        results.append(df.loc["99001", ["l_area_m2", "l_a_area_m2", "l_b_area_m2", "l_count"]].to_numpy(float))
    for r in results:
        np.testing.assert_allclose(r, [750_000, 500_000, 500_000, 2], rtol=1e-6)


# ------------------------------------------------------------------------------ bad input
def test_layer_without_crs(tmp_path):
    path = tmp_path / "nocrs.shp"
    _layer([_box(0, 0, 10, 10)]).to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(InputError, match=r"nocrs.shp: the layer has no CRS .*ogr2ogr -a_srs EPSG:2154"):
        overlay_indicators(_zones(), path)
    with pytest.raises(InputError, match=r"the layer GeoDataFrame has no CRS; .*set_crs"):
        overlay_indicators(_zones(), _layer([_box(0, 0, 10, 10)]).set_crs(None, allow_override=True))


def test_bad_inputs(tmp_path):
    pac = acv_geo.get_path("herault_pac_risques")
    with pytest.raises(
        InputError,
        match=r"herault_pac_risques.gpkg: no field named 'foo' to use as category; "
        r"available fields: ID, COMMUNE, INSEE, ALEA, DATE_PAC",
    ):
        overlay_indicators(_zones(), pac, category="foo")
    with pytest.raises(ValueError, match=r"unknown preset 'tri'; valid presets are: argiles, azi"):
        overlay_indicators(_zones(), pac, preset="tri")
    with pytest.raises(FileNotFoundError, match=r"nope.gpkg: no such file"):
        overlay_indicators(_zones(), tmp_path / "nope.gpkg")
    with pytest.raises(InputError, match=r"zones lack the column\(s\) \['city_point'\]; build them with"):
        overlay_indicators(_zones().drop(columns="city_point"), pac)
    multi = tmp_path / "multi.gpkg"
    _layer([_box(0, 0, 10, 10)]).to_file(multi, layer="a")
    _layer([_box(0, 0, 10, 10)]).to_file(multi, layer="b")
    with pytest.raises(InputError, match=r"multi.gpkg holds 2 layers \(a, b\); choose one with layer_name="):
        overlay_indicators(_zones(), multi)
    with pytest.raises(InputError, match=r"no layer named 'c'; available layers: a, b"):
        overlay_indicators(_zones(), multi, layer_name="c")
    df = overlay_indicators(_zones(), multi, layer_name="b")
    assert df.loc["99001", "multi_area_m2"] == pytest.approx(100, rel=1e-9)
    notgeo = tmp_path / "x.gpkg"
    notgeo.write_text("not a geopackage")
    with pytest.raises(InputError, match=r"x.gpkg: not a vector file GDAL/OGR can read"):
        overlay_indicators(_zones(), notgeo)


def test_presets():
    names = list_presets()
    for expected in (
        "pac_risques",
        "tri_inondable",
        "azi",
        "pprn_zonage",
        "argiles",
        "znieff1",
        "znieff2",
        "natura2000_sic",
        "natura2000_zps",
        "parcs_nationaux",
        "parcs_regionaux",
        "reserves_naturelles",
    ):
        assert expected in names
    for n in names:
        p = get_preset(n)
        assert p["source"] and p["licence"] and p["fields"]
        assert p["category"] is None or p["category"] in p["fields"]
    assert get_preset("natura2000_sic")["fields"].keys() >= {"SITECODE", "SITENAME"}
    assert get_preset("znieff1")["fields"].keys() >= {"ID_MNHN", "NOM"}


def test_preset_labels_name_columns():
    zones = _zones()
    layer = gpd.GeoDataFrame(
        {"scenario": ["01For", "04Fai"]}, geometry=[_box(0, 0, 100, 1000), _box(0, 0, 300, 1000)], crs=2154
    )
    df = overlay_indicators(zones, layer, preset="tri_inondable")
    assert df.loc["99001", "tri_inondable_frequent_area_m2"] == pytest.approx(100_000, rel=1e-9)
    assert df.loc["99001", "tri_inondable_extreme_area_m2"] == pytest.approx(300_000, rel=1e-9)
    meta = acv_geo.indicator_metadata(df).set_index("column")
    assert "Licence Ouverte" in meta.loc["tri_inondable_area_m2", "source"]


# ------------------------------------------------------------------------ embedded real data
HERAULT = ["34003", "34032", "34301", "34108", "34145"]  # Agde, Béziers, Sète, Frontignan, Lunel


@pytest.fixture(scope="module")
def acv():
    return acv_geo.read_acv()


@pytest.fixture(scope="module")
def commune_zones(acv):
    return make_zones(acv)


@pytest.fixture(scope="module")
def pac_result(commune_zones):
    return overlay_indicators(commune_zones, acv_geo.get_path("herault_pac_risques"), preset="pac_risques")


def _independent_pac():
    """Areas per ALEA computed with plain shapely in Lambert-93."""
    com = gpd.read_file(acv_geo.get_path("acv_communes_polygons")).set_index("insee_com").to_crs(2154)
    pac = gpd.read_file(acv_geo.get_path("herault_pac_risques")).to_crs(2154)
    pac["geometry"] = shapely.make_valid(pac.geometry.values)
    out = {}
    for code in HERAULT:
        poly = com.loc[code, "geometry"]
        hit = pac[pac.intersects(poly)]
        out[(code, None)] = (shapely.union_all(hit.intersection(poly).values).area, len(hit))
        for alea, grp in hit.groupby("ALEA"):
            out[(code, acv_geo.core.codes.slugify(alea))] = (
                shapely.union_all(grp.intersection(poly).values).area,
                len(grp),
            )
    return out


def test_embedded_pac_risques_matches_plain_shapely(pac_result, acv):
    assert pac_result.index.equals(acv.index)
    assert overlay_report(pac_result)["main_column"] == "pac_risques_pct"
    expected = _independent_pac()
    for (code, cat), (area, n) in expected.items():
        prefix = "pac_risques" if cat is None else f"pac_risques_{cat}"
        assert pac_result.loc[code, f"{prefix}_area_m2"] == pytest.approx(area, rel=1e-9, abs=1e-6), (code, cat)
        assert pac_result.loc[code, f"{prefix}_count"] == n, (code, cat)
    # pinned after the cross-check above (m²)
    assert pac_result.loc["34032", "pac_risques_inondation_area_m2"] == pytest.approx(95_089_522.7, rel=1e-6)
    assert pac_result.loc["34003", "pac_risques_submersion_marine_area_m2"] == pytest.approx(89_032.98, rel=1e-6)
    # towns far from Hérault: zero overlap, never missing; distances positive
    assert (pac_result.drop(index=HERAULT)["pac_risques_area_m2"].dropna() == 0).all()
    metro = acv.index[acv["territory"] == "metropole"]
    assert pac_result.loc[metro, "pac_risques_area_m2"].notna().all()
    assert (pac_result.loc[metro.drop(HERAULT), "pac_risques_dist_m"] > 0).all()
    # overseas: no feature in their territory → distance NaN with reason, area 0
    overseas = acv.index[acv["territory"] != "metropole"]
    assert (pac_result.loc[overseas, "pac_risques_area_m2"] == 0).all()
    assert pac_result.loc[overseas, "pac_risques_dist_m"].isna().all()
    assert pac_result.loc[overseas, "pac_risques_reason"].str.contains("no feature of the layer").all()


def test_embedded_dieppe_ppr(commune_zones):
    df = overlay_indicators(commune_zones.loc[["76217"]], acv_geo.get_path("ppr_scie_76"), name="ppr")
    com = gpd.read_file(acv_geo.get_path("acv_communes_polygons")).set_index("insee_com").to_crs(2154)
    ppr = gpd.read_file(acv_geo.get_path("ppr_scie_76")).to_crs(2154)
    dieppe = com.loc["76217", "geometry"]
    expected = ppr.geometry.iloc[0].intersection(dieppe).area
    assert expected > 0
    assert df.loc["76217", "ppr_area_m2"] == pytest.approx(expected, rel=1e-9)
    assert df.loc["76217", "ppr_pct"] == pytest.approx(expected / dieppe.area * 100, rel=1e-9)
    assert df.loc["76217", "ppr_area_m2"] == pytest.approx(892_328.0, rel=1e-6)
    assert df.loc["76217", "ppr_count"] == 1


def test_embedded_flood_marks_per_town(commune_zones):
    df = overlay_indicators(commune_zones, acv_geo.get_path("reperes_crues_34"), name="reperes")
    com = gpd.read_file(acv_geo.get_path("acv_communes_polygons")).set_index("insee_com").to_crs(2154)
    marks = gpd.read_file(acv_geo.get_path("reperes_crues_34")).to_crs(2154)
    for code in HERAULT:
        assert df.loc[code, "reperes_count"] == int(marks.intersects(com.loc[code, "geometry"]).sum()), code
    assert df.loc[HERAULT, "reperes_count"].tolist() == [306, 556, 1, 16, 110]
    assert df["reperes_count"].sum() == 306 + 556 + 1 + 16 + 110
    points = commune_zones.loc[HERAULT, "city_point"].to_crs(2154)
    for code in HERAULT:
        nearest = marks.distance(points.loc[code]).min()
        assert df.loc[code, "reperes_dist_m"] == pytest.approx(nearest, rel=1e-9), code


def test_cli_indicators(tmp_path, capsys):
    from acv_geo.cli import main

    out = tmp_path / "pac.csv"
    code = main(
        [
            "indicators",
            "--layer",
            str(acv_geo.get_path("herault_pac_risques")),
            "--preset",
            "pac_risques",
            "--zone",
            "buffer:1000",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    df = pd.read_csv(out, dtype={"insee_com": str})
    assert len(df) == 244 and df["insee_com"].str.len().eq(5).all() and "01004" in set(df["insee_com"])
    assert (tmp_path / "pac.metadata.csv").exists()
    agde = df.set_index("insee_com").loc["34003"]
    assert agde["pac_risques_count"] >= 1
    assert (
        main(
            [
                "indicators",
                "--layer",
                str(acv_geo.get_path("herault_pac_risques")),
                "--category",
                "X",
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )
    assert "no field named 'X'" in capsys.readouterr().err
    assert main(["indicators", "--layer", "a.gpkg", "--zone", "disc", "--out", str(tmp_path / "y.csv")]) == 2
    capsys.readouterr()
    fast = tmp_path / "fast.csv"
    assert (
        main(
            [
                "indicators",
                "--layer",
                str(acv_geo.get_path("herault_pac_risques")),
                "--preset",
                "pac_risques",
                "--zone",
                "buffer:1000",
                "--no-distances",
                "--out",
                str(fast),
            ]
        )
        == 0
    )
    quick = pd.read_csv(fast, dtype={"insee_com": str})
    assert not [c for c in quick.columns if c.endswith("_dist_m")]
    same = [c for c in quick.columns if c != "pac_risques_reason"]
    pd.testing.assert_frame_equal(quick[same], df[same])


def test_inputs_not_mutated(commune_zones):
    before = commune_zones.copy()
    layer = _layer([_box(0, 0, 10, 10)])
    layer_before = layer.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        overlay_indicators(commune_zones.iloc[:3], layer)
    pd.testing.assert_frame_equal(commune_zones, before)
    pd.testing.assert_frame_equal(layer, layer_before)


def test_windowed_reads_equal_in_memory_on_real_layer(monkeypatch):
    """Big layers are read window by window; small ones whole: both give the same table."""
    import acv_geo
    import acv_geo.indicators.overlay as ov

    cities = acv_geo.read_acv()
    zones = acv_geo.make_zones(cities.loc[["34003", "34032", "34301", "34108", "34145", "01004", "97105"]])
    layer = acv_geo.get_path("herault_pac_risques")
    whole = overlay_indicators(zones, layer, preset="pac_risques")
    monkeypatch.setattr(ov, "_LOAD_ALL_FEATURES", 0)
    windowed = overlay_indicators(zones, layer, preset="pac_risques")
    assert overlay_report(windowed)["reads"] > overlay_report(whole)["reads"] == 1
    pd.testing.assert_frame_equal(windowed, whole, rtol=1e-9)


def test_distances_off_gives_same_areas_without_dist_columns():
    import acv_geo

    zones = acv_geo.make_zones(acv_geo.read_acv().loc[["34003", "34301", "76217"]])
    layer = acv_geo.get_path("herault_pac_risques")
    full = overlay_indicators(zones, layer, preset="pac_risques")
    fast = overlay_indicators(zones, layer, preset="pac_risques", distances=False)
    assert not [c for c in fast.columns if c.endswith("_dist_m")]
    same = [c for c in full.columns if not c.endswith(("_dist_m", "_reason"))]
    assert list(fast.columns) == same + ["pac_risques_reason"]
    pd.testing.assert_frame_equal(fast[same], full[same])


def test_zones_outside_the_coverage_are_not_measured(commune_zones, pac_result, monkeypatch):
    """Coverage 34: the Hérault towns get the values of a national-coverage run; the others NA, never measured."""
    from acv_geo.indicators import overlay as O

    measured = []
    real = O._Territory.__init__

    def spy(self, t, src, zl, *args, **kwargs):
        measured.append(len(zl))
        real(self, t, src, zl, *args, **kwargs)

    monkeypatch.setattr(O._Territory, "__init__", spy)
    herault = _overlay_indicators(
        commune_zones, acv_geo.get_path("herault_pac_risques"), preset="pac_risques", coverage=["34"]
    )
    inside = commune_zones.index.str.startswith("34")
    assert measured == [int(inside.sum())] == [5]  # one territory, its five Hérault towns only
    values = [c for c in herault.columns if not c.endswith("_reason")]
    pd.testing.assert_frame_equal(herault.loc[inside, values], pac_result.loc[inside, values])
    assert herault.loc[~inside, values].isna().all().all()
    reasons = herault.loc[~inside, "pac_risques_reason"]
    assert (reasons == "outside the coverage of herault_pac_risques.gpkg (department 34): not measured").all()
