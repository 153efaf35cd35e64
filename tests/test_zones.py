"""Zones of analysis: commune, EPCI and buffer zones, index alignment, repairs, bad input."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.zones import make_zones, parse_zone_spec, zone_report

X0, Y0 = 700_000.0, 6_600_000.0  # somewhere in mainland France, Lambert-93


def _cities(codes, xy, epsg=2154, territory="metropole", siren=None):
    gdf = gpd.GeoDataFrame(
        {"territory": territory, "siren_epci": siren or ["200000000"] * len(codes)},
        geometry=gpd.points_from_xy([p[0] for p in xy], [p[1] for p in xy]),
        index=pd.Index(codes, name="insee_com"),
        crs=epsg,
    )
    return gdf.to_crs(4326)


@pytest.fixture(scope="module")
def acv():
    return acv_geo.read_acv()


def test_parse_zone_spec():
    assert parse_zone_spec("buffer:500") == ("buffer", 500.0)
    assert parse_zone_spec("buffer:250.5") == ("buffer", 250.5)
    assert parse_zone_spec("commune") == ("commune", None)
    assert parse_zone_spec("EPCI") == ("epci", None)
    for bad in ("buffer:-3", "buffer:", "buffer:abc", "iris", "buffer:nan"):
        with pytest.raises(ValueError, match=r"'commune', 'epci' or 'buffer:METERS'"):
            parse_zone_spec(bad)


def test_bad_options(acv):
    with pytest.raises(ValueError, match=r"unknown zone kind 'iris'; expected one of \['commune', 'epci', 'buffer'\]"):
        make_zones(acv, kind="iris")
    with pytest.raises(ValueError, match=r"kind='buffer' needs radius=METERS"):
        make_zones(acv, kind="buffer")
    with pytest.raises(ValueError, match=r"radius must be a positive number of metres, got -1"):
        make_zones(acv, kind="buffer", radius=-1)
    with pytest.raises(ValueError, match=r"radius=500 is only allowed with kind='buffer'"):
        make_zones(acv, radius=500)
    with pytest.raises(InputError, match=r"cities must be a GeoDataFrame"):
        make_zones(pd.DataFrame(acv.drop(columns="geometry")))
    with pytest.raises(InputError, match=r"cities have no CRS"):
        make_zones(acv.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match=r"no 'siren_epci' column"):
        make_zones(acv.drop(columns="siren_epci"), kind="epci")


@pytest.mark.parametrize("kind,radius", [("commune", None), ("epci", None), ("buffer", 1000)])
def test_embedded_zones_aligned(acv, kind, radius):
    shuffled = acv.iloc[::-1]
    zones = make_zones(shuffled, kind=kind, radius=radius)
    assert zones.index.equals(shuffled.index) and zones.index.name == "insee_com"
    assert zones.crs.to_epsg() == 4326 and zones["city_point"].crs.to_epsg() == 4326
    assert (zones["zone_kind"] == kind).all()
    assert zones["zone_reason"].isna().all() and not zones.geometry.is_empty.any()
    assert zones.geometry.is_valid.all()
    assert zone_report(zones)["n_zones"] == len(acv)
    # every city point lies in its own commune / EPCI / buffer
    assert zones.geometry.covers(zones["city_point"]).all()
    assert (zones["territory"].to_numpy() == shuffled["territory"].to_numpy()).all()


def test_buffer_area_in_local_crs(acv):
    reunion = acv.index[acv["territory"] == "reunion"][0]
    zones = make_zones(acv.loc[["34003", reunion]], kind="buffer", radius=500)
    for code, row in zones.iterrows():
        local = gpd.GeoSeries([row.geometry], crs=4326).to_crs(acv_geo.local_crs(row.territory))
        # polygon of 4*32 segments inscribed in the 500 m circle
        n = 128
        expected = 0.5 * n * 500**2 * math.sin(2 * math.pi / n)
        assert local.area.iloc[0] == pytest.approx(expected, rel=1e-6), code


def test_commune_zone_is_the_commune_polygon(acv):
    zones = make_zones(acv.loc[["34003", "76217"]])
    com = acv_geo.read_communes()
    for code in ("34003", "76217"):
        assert zones.loc[code, "geometry"].equals(com.loc[code, "geometry"])


def test_epci_zone_joined_by_siren(acv):
    zones = make_zones(acv.loc[["34003"]], kind="epci")
    epci = acv_geo.read_epci()
    assert zones.loc["34003", "geometry"].equals(epci.loc[acv.loc["34003", "siren_epci"], "geometry"])
    assert zones.loc["34003", "geometry"].area > acv_geo.read_communes().loc["34003", "geometry"].area


def test_missing_polygon_keeps_row_with_reason():
    cities = _cities(["99001", "99002"], [(X0, Y0), (X0 + 5000, Y0)])
    communes = gpd.GeoDataFrame(
        {"insee_com": ["99001"]}, geometry=[shapely.box(X0 - 500, Y0 - 500, X0 + 500, Y0 + 500)], crs=2154
    )
    zones = make_zones(cities, communes=communes)
    assert zones.index.tolist() == ["99001", "99002"]
    assert zones.loc["99002", "geometry"].is_empty
    assert zones.loc["99002", "zone_reason"] == "no commune polygon for INSEE 99002 in communes"
    assert pd.isna(zones.loc["99001", "zone_reason"])
    assert zone_report(zones)["missing"] == ["99002"]
    area = gpd.GeoSeries([zones.loc["99001", "geometry"]], crs=4326).to_crs(2154).area.iloc[0]
    assert area == pytest.approx(1_000_000, rel=1e-9)


def test_invalid_polygon_repaired_and_counted():
    cities = _cities(["99001"], [(X0 + 250, Y0 + 500)])
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 1000, Y0 + 1000), (X0 + 1000, Y0), (X0, Y0 + 1000)])
    assert not bowtie.is_valid
    zones = make_zones(cities, communes=gpd.GeoDataFrame({"insee_com": ["99001"]}, geometry=[bowtie], crs=2154))
    rep = zone_report(zones)
    assert rep["n_repaired"] == 1 and rep["repaired"] == ["99001"]
    geom = zones.loc["99001", "geometry"]
    assert geom.is_valid
    area = gpd.GeoSeries([geom], crs=4326).to_crs(2154).area.iloc[0]
    assert area == pytest.approx(500_000, rel=1e-6)  # two triangles of 1000 x 500 / 2


def test_inputs_not_mutated(acv):
    before = acv.copy()
    make_zones(acv, kind="buffer", radius=200)
    pd.testing.assert_frame_equal(acv, before)
    assert np.array_equal(acv.columns, before.columns)


# ------------------------------------------------------------------ one zone per polygon of a layer
def _squares():
    """A 1 km square on the mainland (Lambert-93), one in Réunion (EPSG:2975), a bow-tie, no geometry, a line."""
    main = gpd.GeoSeries([shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)], crs=2154).to_crs(4326)
    reunion = gpd.GeoSeries([shapely.box(340_000, 7_660_000, 341_000, 7_661_000)], crs=2975).to_crs(4326)
    bowtie = gpd.GeoSeries(
        [shapely.Polygon([(X0, Y0 + 5000), (X0 + 1000, Y0 + 6000), (X0 + 1000, Y0 + 5000), (X0, Y0 + 6000)])], crs=2154
    ).to_crs(4326)
    line = gpd.GeoSeries([shapely.LineString([(X0, Y0 + 9000), (X0 + 1000, Y0 + 9000)])], crs=2154).to_crs(4326)
    return gpd.GeoDataFrame(
        {"name": ["main", "reunion", "bowtie", "none", "line"]},
        geometry=[main.iloc[0], reunion.iloc[0], bowtie.iloc[0], None, line.iloc[0]],
        index=pd.Index(["Z1", "Z2", "Z3", "Z4", "Z5"], name="zone_id"),
        crs=4326,
    )


def test_polygon_zones_one_zone_per_polygon_measured_in_its_territory(tmp_path):
    polys = _squares()
    zones = acv_geo.polygon_zones(polys)
    assert zones.index.equals(polys.index) and zones.index.name == "zone_id"
    assert zones["territory"].tolist() == ["metropole", "reunion", "metropole", "metropole", "metropole"]
    assert zones["zone_kind"].unique().tolist() == ["polygon"]
    assert zones["zone_reason"].isna().tolist() == [True, True, True, False, False]
    assert zones.loc["Z4", "zone_reason"] == "polygon Z4 has no geometry"
    assert zones.loc["Z5", "zone_reason"] == "polygon Z5 has no areal part (empty, or only points or lines)"
    rep = zone_report(zones)
    assert rep["repaired"] == ["Z3"] and rep["missing"] == ["Z4", "Z5"] and rep["n_zones"] == 3
    # the city point is inside its polygon; none for a zone without area
    inside = zones.geometry.iloc[:3].contains(zones["city_point"].iloc[:3])
    assert inside.all() and zones["city_point"].iloc[3:].isna().all()
    # a layer covering the east half of the mainland square and a quarter of the Réunion one
    layer = gpd.GeoDataFrame(
        {"ALEA": ["fort", "faible"]},
        geometry=[
            gpd.GeoSeries([shapely.box(X0 + 500, Y0 - 10, X0 + 1500, Y0 + 1010)], crs=2154).to_crs(4326).iloc[0],
            gpd.GeoSeries([shapely.box(340_500, 7_660_500, 341_500, 7_661_500)], crs=2975).to_crs(4326).iloc[0],
        ],
        crs=4326,
    )
    path = tmp_path / "layer.gpkg"
    layer.to_file(path)
    df = acv_geo.overlay_indicators(zones, path, name="r")
    assert df.index.equals(polys.index)
    assert df.loc["Z1", "r_area_m2"] == pytest.approx(500_000, rel=1e-6)
    assert df.loc["Z1", "r_pct"] == pytest.approx(50.0, rel=1e-6)
    assert df.loc["Z2", "r_area_m2"] == pytest.approx(250_000, rel=1e-6)
    assert df.loc["Z2", "r_pct"] == pytest.approx(25.0, rel=1e-6)
    # the bow-tie repaired into two triangles of 250,000 m² each, none of them covered
    assert df.loc["Z3", "r_area_m2"] == 0
    assert df.loc[["Z4", "Z5"], "r_area_m2"].isna().all()


def test_polygon_zones_of_every_epci():
    epci = acv_geo.read_epci()
    # territories from the positions alone (no territory column) ...
    zones = acv_geo.polygon_zones(epci.drop(columns="territory"), kind="epci")
    assert zones.index.equals(epci.index) and zones.index.name == "siren_epci"
    assert zones["zone_reason"].isna().all() and (zones["zone_kind"] == "epci").all()
    # ... agree with an independent source: the INSEE codes of each EPCI's member communes
    members = acv_geo.read_all_communes().groupby("siren_epci")["territory"].agg(lambda s: s.mode().iloc[0])
    assert (zones["territory"] == members.reindex(zones.index)).all()
    assert zones["territory"].value_counts().to_dict() == {
        "metropole": 1232,
        "guadeloupe": 6,
        "mayotte": 5,
        "reunion": 5,
        "guyane": 4,
        "martinique": 3,
    }


def test_polygons_outside_every_territory_are_refused(tmp_path):
    # Saint-Pierre-et-Miquelon has no CRS in acv-geo; a square drawn in Lambert-93 but declared in degrees
    # lands nowhere either: both are named, nothing is measured in a wrong CRS
    spm = shapely.box(-56.25, 46.75, -56.15, 46.85)
    wrong = shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)
    polys = gpd.GeoDataFrame(geometry=[spm, wrong], index=pd.Index(["975", "L93"], name="zone_id"), crs=4326)
    with pytest.raises(
        InputError,
        match=r"polygons: 2 polygon\(s\) lie outside mainland France and the five "
        r"overseas departments \(row and a point inside, lon/lat: 975 \(-56\.\d+, 46\.\d+\), L93",
    ):
        acv_geo.polygon_zones(polys)
    path = tmp_path / "epci.gpkg"
    polys.assign(siren_epci=["200000001", "200000002"]).to_file(path)
    # a file whose extent is impossible in its CRS is refused at the door, with the fix
    with pytest.raises(
        InputError,
        match=rf"{path}: its coordinates \(-56.25, 46.75 … 701000, 6601000\) are "
        r"impossible in EPSG:4326",
    ):
        acv_geo.read_epci(path)
    polys.iloc[:1].assign(siren_epci=["200000001"]).to_file(path)
    with pytest.raises(InputError, match=rf"{path}: 1 EPCI polygon\(s\) lie outside mainland France"):
        acv_geo.read_epci(path)


def test_polygon_zones_bad_input():
    polys = _squares()
    with pytest.raises(
        ValueError, match=r"unknown polygon kind 'iris'; expected one of \['polygon', 'commune', 'epci'\]"
    ):
        acv_geo.polygon_zones(polys, kind="iris")
    with pytest.raises(InputError, match="polygons must be a GeoDataFrame \\(got DataFrame\\)"):
        acv_geo.polygon_zones(pd.DataFrame(polys))
    with pytest.raises(InputError, match="polygons have no CRS"):
        acv_geo.polygon_zones(polys.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match=r"polygons: index zone_id has duplicated values \['Z1'\]"):
        acv_geo.polygon_zones(pd.concat([polys, polys.iloc[:1]]))
    bad = polys.assign(territory=["metropole", "corse", None, None, None])
    with pytest.raises(InputError, match=r"polygons: row 'Z2', column 'territory' holds 'corse'"):
        acv_geo.polygon_zones(bad)
    # an explicit territory wins over the position
    given = acv_geo.polygon_zones(polys.assign(territory=[None, "reunion", None, None, None]))
    assert given["territory"].tolist()[:2] == ["metropole", "reunion"]


def test_check_zones_the_one_zone_check():
    import geopandas as gpd

    from acv_geo.zones import check_zones

    zones = make_zones(acv_geo.read_acv().loc[["34003", "34032"]])
    assert check_zones(zones) is zones
    assert check_zones(zones, crs=4326) is zones  # already in that CRS: not copied
    assert check_zones(zones, crs=2154).crs.to_epsg() == 2154
    assert isinstance(check_zones(zones.geometry, columns=()), gpd.GeoDataFrame)  # a GeoSeries is accepted
    with pytest.raises(InputError, match=r"zones lack the column\(s\) \['city_point'\]; build them with"):
        check_zones(zones.drop(columns="city_point"))
    with pytest.raises(InputError, match=r"^zones have no CRS; build them with acv_geo.make_zones\(cities\)"):
        check_zones(zones.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match=r"my zones must be the GeoDataFrame returned by acv_geo.make_zones"):
        check_zones(zones.drop(columns="geometry").to_dict(), what="my zones")
    doubled = pd.concat([zones, zones])
    with pytest.raises(InputError, match=r"zones: index \(insee_com\) has duplicated codes \['34003', '34032'\]"):
        check_zones(doubled)
    assert check_zones(doubled, unique=False) is doubled
    bad = zones.assign(territory=["metropole", "corse"])
    with pytest.raises(InputError, match=r"zones: column 'territory' holds \['corse'\]; expected one of"):
        check_zones(bad)
    assert check_zones(bad, columns=()) is bad  # territories checked only when asked for


def test_only_builds_the_zones_asked_for_and_overlay_gives_the_same_values():
    """Buffers built for the Hérault towns only: their zones are those of a full build, the others empty with a
    reason; an overlay whose coverage is Hérault gives the same table on either."""
    from acv_geo.indicators.overlay import overlay_indicators
    from acv_geo.zones import NOT_BUILT

    towns = acv_geo.read_acv()
    herault = (towns["code_dep"] == "34").to_numpy()
    full = make_zones(towns, kind="buffer", radius=2000)
    part = make_zones(towns, kind="buffer", radius=2000, only=herault)
    assert part.index.equals(full.index) and list(part.columns) == list(full.columns)
    assert part.geometry[herault].geom_equals_exact(full.geometry[herault], tolerance=0).all()
    assert part.geometry[~herault].is_empty.all() and (part.loc[~herault, "zone_reason"] == NOT_BUILT).all()
    assert part["city_point"].geom_equals(full["city_point"]).all()
    assert zone_report(part)["n_zones"] == int(herault.sum()) == 5
    assert zone_report(part)["n_missing"] == 0 and zone_report(part)["n_not_built"] == 239
    assert zone_report(full)["n_not_built"] == 0
    layer = acv_geo.get_path("reperes_crues_34")
    pd.testing.assert_frame_equal(
        overlay_indicators(part, layer, name="marks", coverage=["34"]),
        overlay_indicators(full, layer, name="marks", coverage=["34"]),
    )
    with pytest.raises(ValueError, match=r"only= must hold one True/False per city \(244\), got shape \(3,\)"):
        make_zones(towns, kind="buffer", radius=2000, only=[True, False, True])
