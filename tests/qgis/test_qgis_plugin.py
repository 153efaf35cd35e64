"""The ACV Geo Processing provider in a real QGIS: every algorithm against its core function.

Each algorithm runs through ``processing.run("acvgeo:...")`` on the embedded data (the core in a
child process); its output layer is read back through QGIS (typed fields, NULLs) and compared per
insee_com with the core function run on the same input in this process. Bad input must surface as
QgsProcessingException carrying the core's own message.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import acv_geo
from acv_geo.indicators.overlay import list_presets, overlay_indicators
from acv_geo.indicators.zonal import zonal_indicators
from acv_geo.stats.clusters import local_clusters
from acv_geo.zones import make_zones

pytestmark = pytest.mark.qgis

ALGS = {
    "acvgeo:installenv",
    "acvgeo:loadcities",
    "acvgeo:overlayindicators",
    "acvgeo:zonalindicators",
    "acvgeo:tables",
    "acvgeo:profile",
    "acvgeo:clusters",
    "acvgeo:globaltests",
    "acvgeo:weights",
    "acvgeo:diagnose",
    "acvgeo:fetch",
}
DEM_TOWNS = ["01004", "38053", "73065", "26057", "26281"]  # ACV towns on the embedded DEM tile
# Lambert-93 with its false easting moved by 100 m: a CRS no EPSG code describes.
LAMBERT93_SHIFTED = (
    "+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700100 +y_0=6600000 +ellps=GRS80 "
    "+towgs84=0,0,0,0,0,0,0 +units=m +no_defs"
)


# ---------------------------------------------------------------------------------------------
# helpers


def _plain(v):
    from qgis.PyQt.QtCore import QVariant

    if isinstance(v, QVariant):
        return None if v.isNull() else v.value()
    return v


def read_layer(layer_or_path, key="insee_com"):
    """(DataFrame of attributes indexed by ``key`` in feature order, {field: QVariant type}, layer)."""
    from qgis.core import QgsVectorLayer

    layer = layer_or_path if not isinstance(layer_or_path, str) else QgsVectorLayer(layer_or_path, "out", "ogr")
    assert layer.isValid(), layer_or_path
    names = [f.name() for f in layer.fields()]
    rows, geoms = [], []
    for feat in layer.getFeatures():
        rows.append([_plain(v) for v in feat.attributes()])
        geoms.append(feat.geometry())
    df = pd.DataFrame(rows, columns=names, dtype=object)
    df = df.drop(columns=[c for c in ("fid",) if c in names]).set_index(key)
    types = {f.name(): f.type() for f in layer.fields()}
    return df, types, layer, geoms


def assert_same(out: pd.DataFrame, expected: pd.DataFrame, columns, rtol=1e-12):
    assert list(out.index) == list(expected.index)
    for col in columns:
        got, exp = out[col].tolist(), expected[col].tolist()
        for code, g, e in zip(expected.index, got, exp, strict=True):
            e_missing = e is None or e is pd.NA or (isinstance(e, float) and math.isnan(e))
            if e_missing:
                assert g is None, (col, code, g)
            elif isinstance(e, (float, np.floating)):
                assert g is not None and math.isclose(g, float(e), rel_tol=rtol, abs_tol=1e-9), (col, code, g, e)
            else:
                assert g == e, (col, code, g, e)


class Feedback:
    """A QgsProcessingFeedback that records what the algorithm reports."""

    def __new__(cls):
        from qgis.core import QgsProcessingFeedback

        class _F(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.infos, self.warnings = [], []

            def pushInfo(self, info):  # noqa: N802
                self.infos.append(info)
                super().pushInfo(info)

            def pushWarning(self, warning):  # noqa: N802
                self.warnings.append(warning)
                super().pushWarning(warning)

        return _F()


def run(alg, params, feedback=None):
    import processing

    return processing.run(alg, params, feedback=feedback)


def core_error(func, *args, **kwargs) -> str:
    with pytest.raises((ValueError, FileNotFoundError)) as info:
        func(*args, **kwargs)
    return str(info.value)


def qgis_error(alg, params) -> str:
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as info:
        run(alg, params)
    return str(info.value)


def preset_index(name: str) -> int:
    return ["(none)", *list_presets()].index(name)


@pytest.fixture(scope="module")
def cities():
    return acv_geo.read_acv()


@pytest.fixture(scope="module")
def cities_layer(acvgeo_plugin, tmp_path_factory):
    """The output of acvgeo:loadcities as a layer added to the project (for selections)."""
    from qgis.core import QgsProject, QgsVectorLayer

    path = str(tmp_path_factory.mktemp("cities") / "cities.gpkg")
    run("acvgeo:loadcities", {"OUTPUT": path})
    layer = QgsVectorLayer(path, "acv cities", "ogr")
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    yield layer
    QgsProject.instance().removeMapLayer(layer.id())


# ---------------------------------------------------------------------------------------------
# provider


def test_provider_offers_every_algorithm(acvgeo_plugin):
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("acvgeo")
    assert provider is not None and provider.name() == "ACV Geo"
    assert {a.id() for a in provider.algorithms()} == ALGS
    for alg in provider.algorithms():
        assert alg.name() == alg.name().lower() and alg.name().isalnum()
        again = alg.createInstance()
        assert type(again) is type(alg) and again is not alg
        assert "acv-geo" in alg.shortHelpString() and len(alg.shortHelpString()) > 200
        assert alg.helpUrl().endswith(f"docs/qgis.md#{alg.name()}")
        assert not alg.icon().isNull()


# ---------------------------------------------------------------------------------------------
# loadcities


def test_loadcities_equals_read_acv(acvgeo_plugin, cities, tmp_path):
    from qgis.PyQt.QtCore import QVariant

    res = run("acvgeo:loadcities", {"OUTPUT": str(tmp_path / "c.gpkg")})
    assert res["N_CITIES"] == 244
    assert res["N_OPENDATA"] == int(cities["opendata"].fillna(False).astype(bool).sum()) == 111
    assert res["N_REPAIRS"] == len(acv_geo.repair_report(cities))
    out, types, layer, geoms = read_layer(res["OUTPUT"])
    assert layer.crs().authid() == "EPSG:4326"
    assert types["population"] in (QVariant.Int, QVariant.LongLong)
    assert types["opendata"] == QVariant.Bool and types["commune"] == QVariant.String
    cols = [
        "commune",
        "siren_epci",
        "territory",
        "population",
        "opendata",
        "opendata_com",
        "opendata_epci",
        "opendata_level",
        "epci_check",
    ]
    expected = cities[cols].astype(object).where(cities[cols].notna(), None)
    expected["population"] = [int(v) for v in cities["population"]]
    assert_same(out, expected, cols)
    xy = np.array([[g.asPoint().x(), g.asPoint().y()] for g in geoms])
    np.testing.assert_allclose(xy, np.c_[cities.geometry.x, cities.geometry.y], rtol=0, atol=1e-12)
    # overseas towns at their true position (Basse-Terre, Guadeloupe)
    assert out.loc["97105", "territory"] == "guadeloupe"


def test_loadcities_from_a_user_file_repairs_codes(acvgeo_plugin, tmp_path):
    src = tmp_path / "list.csv"
    src.write_text("insee_com;lib_com\n1004;Ambérieu-en-Bugey\n2a004;Ajaccio\n", encoding="utf-8")
    fb = Feedback()
    res = run("acvgeo:loadcities", {"SOURCE": str(src), "OUTPUT": str(tmp_path / "c.gpkg")}, fb)
    out, *_ = read_layer(res["OUTPUT"])
    core = acv_geo.read_acv(src)
    assert list(out.index) == ["01004", "2A004"] == list(core.index)
    assert res["N_REPAIRS"] == len(acv_geo.repair_report(core)) >= 2
    # the core's repair log reaches the Processing log
    assert any("INSEE code repaired" in m for m in fb.infos)


def test_loadcities_without_opendata(acvgeo_plugin, tmp_path):
    src = tmp_path / "list.csv"
    src.write_text("insee_com;lib_com\n01004;Ambérieu-en-Bugey\n", encoding="utf-8")
    res = run("acvgeo:loadcities", {"SOURCE": str(src), "OPENDATA": False, "OUTPUT": str(tmp_path / "c.gpkg")})
    out, *_ = read_layer(res["OUTPUT"])
    assert out.loc["01004", "opendata"] is None
    assert res["N_OPENDATA"] == 0


def test_loadcities_bad_file_gives_core_message(acvgeo_plugin, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    expected = core_error(acv_geo.read_acv, empty)
    assert "the file is empty (0 bytes)" in expected
    assert qgis_error("acvgeo:loadcities", {"SOURCE": str(empty), "OUTPUT": "memory:"}) == expected


# ---------------------------------------------------------------------------------------------
# overlayindicators


@pytest.fixture(scope="module")
def pac_core(cities):
    zones = make_zones(cities)
    return overlay_indicators(zones, acv_geo.get_path("herault_pac_risques"), preset="pac_risques")


def test_overlay_equals_core(acvgeo_plugin, cities, pac_core, tmp_path):
    from qgis.PyQt.QtCore import QVariant

    res = run(
        "acvgeo:overlayindicators",
        {
            "INPUT": str(acv_geo.get_path("herault_pac_risques")),
            "PRESET": preset_index("pac_risques"),
            "OUTPUT": str(tmp_path / "o.gpkg"),
        },
    )
    out, types, layer, geoms = read_layer(res["OUTPUT"])
    assert len(out) == 244
    assert types["pac_risques_area_m2"] == QVariant.Double
    assert list(out.columns[:4]) == ["commune", "territory", "zone_kind", "zone_reason"]
    assert_same(out, pac_core, list(pac_core.columns))
    # hand-checkable facts: Agde and Béziers lie almost entirely in a notified risk zone
    assert out.loc["34003", "pac_risques_pct"] > 99 and out.loc["34032", "pac_risques_inondation_pct"] > 99
    assert out.loc["01004", "pac_risques_area_m2"] is None  # Ambérieu (Ain): outside the layer's coverage
    # the zone polygons are the commune polygons (EPSG:4326)
    assert layer.crs().authid() == "EPSG:4326"
    assert math.isclose(
        geoms[list(out.index).index("34003")].area(),
        make_zones(cities.loc[["34003"]]).geometry.iloc[0].area,
        rel_tol=1e-9,
    )


def test_overlay_selected_features_and_category_field(acvgeo_plugin, cities, tmp_path):
    from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject, QgsVectorLayer

    path = str(acv_geo.get_path("herault_pac_risques"))
    layer = QgsVectorLayer(path, "pac", "ogr")
    QgsProject.instance().addMapLayer(layer)
    try:
        layer.selectByExpression("\"ALEA\" = 'Inondation'")
        n_sel = layer.selectedFeatureCount()
        assert 0 < n_sel < layer.featureCount()
        subset = [c for c in cities.index if c.startswith("34")]
        zones = make_zones(cities.loc[subset], kind="buffer", radius=2000)
        import geopandas as gpd

        gdf = gpd.read_file(path)
        expected = overlay_indicators(zones, gdf[gdf["ALEA"] == "Inondation"], category="ALEA", name="pac")
        cl = QgsVectorLayer("Point?crs=EPSG:4326&field=insee_com:string&field=territory:string", "c", "memory")
        _copy_cities(cl, cities.loc[subset])
        res = run(
            "acvgeo:overlayindicators",
            {
                "CITIES": cl,
                "INPUT": QgsProcessingFeatureSourceDefinition(layer.id(), True),
                "CATEGORY": "ALEA",
                "PREFIX": "pac",
                "ZONE_KIND": 2,
                "RADIUS": 2000,
                "OUTPUT": str(tmp_path / "o.gpkg"),
            },
        )
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
    out, *_ = read_layer(res["OUTPUT"])
    assert list(out.index) == subset
    assert "pac_inondation_area_m2" in out.columns and "pac_multirisque_area_m2" not in out.columns
    assert_same(out, expected, list(expected.columns), rtol=1e-9)
    assert (out["zone_kind"] == "buffer").all()


def _copy_cities(layer, cities):
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY

    feats = []
    for code, row in cities.iterrows():
        f = QgsFeature(layer.fields())
        f.setAttributes([code, row["territory"]])
        f.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(row.geometry.x, row.geometry.y)))
        feats.append(f)
    assert layer.dataProvider().addFeatures(feats)[0]


def test_overlay_layer_in_a_custom_crs_goes_through_wkt(acvgeo_plugin, cities, pac_core, tmp_path):
    """A layer in a CRS without EPSG code keeps exactly that CRS (QGIS WKT → pyproj)."""
    import geopandas as gpd
    import pyproj
    from qgis.core import QgsCoordinateReferenceSystem

    crs = QgsCoordinateReferenceSystem.fromProj(LAMBERT93_SHIFTED)
    assert crs.isValid() and not crs.authid().startswith("EPSG:")
    path = acv_geo.get_path("herault_pac_risques")
    custom = run("native:assignprojection", {"INPUT": str(path), "CRS": crs, "OUTPUT": "memory:"})["OUTPUT"]
    res = run(
        "acvgeo:overlayindicators",
        {
            "INPUT": custom,
            "PRESET": preset_index("pac_risques"),
            "OUTPUT": str(tmp_path / "o.gpkg"),
        },
    )
    out, *_ = read_layer(res["OUTPUT"])
    wkt_crs = pyproj.CRS.from_wkt(crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED))
    assert wkt_crs.to_epsg() is None
    layer = gpd.read_file(path).set_crs(wkt_crs, allow_override=True)
    expected = overlay_indicators(make_zones(cities), layer, preset="pac_risques")
    assert_same(out, expected, [c for c in expected.columns if not c.endswith("_reason")], rtol=1e-9)
    # the 100 m shift is really applied: the measures differ from the layer in true Lambert-93
    assert not np.allclose(
        out["pac_risques_inondation_area_m2"].astype(float), pac_core["pac_risques_inondation_area_m2"], rtol=1e-4
    )


def test_overlay_wrong_field_gives_core_message(acvgeo_plugin, cities):
    import geopandas as gpd

    path = acv_geo.get_path("herault_pac_risques")
    # the plugin hands the layer's own fields (not QGIS's GeoPackage 'fid') to the core
    layer = gpd.read_file(path)
    expected = core_error(overlay_indicators, make_zones(cities.iloc[:3]), layer, category="NOPE")
    assert "no field named 'NOPE' to use as category; available fields: ID, COMMUNE, INSEE, ALEA" in expected
    msg = qgis_error("acvgeo:overlayindicators", {"INPUT": str(path), "CATEGORY": "NOPE", "OUTPUT": "memory:"})
    # the same message, naming the user's layer instead of the file handed to the core
    assert msg == expected.replace("the layer GeoDataFrame", "layer 'herault_pac_risques'")


def test_overlay_layer_without_crs_is_refused_with_the_fix(acvgeo_plugin, tmp_path):
    import geopandas as gpd
    import shapely
    from qgis.core import QgsVectorLayer

    shp = tmp_path / "noprj.shp"  # a Shapefile without its .prj
    with pytest.warns(UserWarning):
        box = shapely.box(720000, 6270000, 730000, 6280000)
        gpd.GeoDataFrame({"ALEA": ["Inondation"]}, geometry=[box]).to_file(shp)
    layer = QgsVectorLayer(str(shp), "noprj", "ogr")
    assert layer.isValid() and not layer.crs().isValid()
    msg = qgis_error("acvgeo:overlayindicators", {"INPUT": layer, "OUTPUT": "memory:"})
    assert msg == (
        "layer 'noprj': the layer has no CRS, so acv-geo cannot tell where it lies. In QGIS: set the layer's CRS "
        "(Layer Properties › Source › Assigned CRS) or run Vector general › Assign projection, then run again."
    )


def test_overlay_empty_layer_gives_no_value_and_reports_the_warning(acvgeo_plugin, tmp_path):
    """An empty layer says nothing about where it has data: no value (NULL), never 0, and the warning."""
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:2154&field=ALEA:string", "empty", "memory")
    fb = Feedback()
    res = run("acvgeo:overlayindicators", {"INPUT": layer, "PREFIX": "risk", "OUTPUT": str(tmp_path / "e.gpkg")}, fb)
    out, *_ = read_layer(res["OUTPUT"])
    assert len(out) == 244 and out["risk_count"].isna().all()
    assert any(
        "the layer has no feature, so no coverage can be derived from it: every value is NA" in w for w in fb.warnings
    )


def test_empty_cities_layer_is_refused(acvgeo_plugin):
    from qgis.core import QgsVectorLayer

    cl = QgsVectorLayer("Point?crs=EPSG:4326&field=insee_com:string", "none", "memory")
    msg = qgis_error(
        "acvgeo:overlayindicators",
        {"CITIES": cl, "INPUT": str(acv_geo.get_path("herault_pac_risques")), "OUTPUT": "memory:"},
    )
    assert "cities layer: no feature" in msg


# ---------------------------------------------------------------------------------------------
# zonalindicators


def test_zonal_equals_core(acvgeo_plugin, cities, dem_copy, tmp_path):
    from qgis.PyQt.QtCore import QVariant

    expected = zonal_indicators(make_zones(cities), str(dem_copy), stats="count,mean,min,max,p90", threshold=[300])
    res = run(
        "acvgeo:zonalindicators",
        {
            "INPUT_RASTER": str(dem_copy),
            "STATS": [0, 2, 3, 4],
            "PERCENTILES": "90",
            "THRESHOLDS": "300",
            "OUTPUT": str(tmp_path / "z.gpkg"),
        },
    )
    out, types, *_ = read_layer(res["OUTPUT"])
    assert types["dem_mean"] == QVariant.Double
    assert_same(out, expected, list(expected.columns))
    on_tile = out[out["dem_count"] > 0]
    assert set(DEM_TOWNS) <= set(on_tile.index)
    assert out.loc["80001", "dem_count"] is None and out.loc["80001", "dem_mean"] is None
    assert out.loc["80001", "dem_reason"] == "zone outside the raster"


def test_zonal_on_selected_cities_keeps_their_order(acvgeo_plugin, cities, cities_layer, dem_copy, tmp_path):
    from qgis.core import QgsProcessingFeatureSourceDefinition

    codes = ", ".join(f"'{c}'" for c in DEM_TOWNS)
    cities_layer.selectByExpression(f"insee_com IN ({codes})")
    assert cities_layer.selectedFeatureCount() == 5
    res = run(
        "acvgeo:zonalindicators",
        {
            "CITIES": QgsProcessingFeatureSourceDefinition(cities_layer.id(), True),
            "INPUT_RASTER": str(dem_copy),
            "ZONE_KIND": 2,
            "RADIUS": 1500,
            "CATEGORICAL": False,
            "PREFIX": "elev",
            "OUTPUT": str(tmp_path / "z.gpkg"),
        },
    )
    cities_layer.removeSelection()
    out, *_ = read_layer(res["OUTPUT"])
    order = [c for c in cities.index if c in DEM_TOWNS]
    expected = zonal_indicators(make_zones(cities.loc[order], kind="buffer", radius=1500), str(dem_copy), name="elev")
    assert list(out.index) == order
    assert_same(out, expected, list(expected.columns), rtol=1e-9)
    # a 1.5 km disc: about pi * 1500² / (pixel area) pixels, all on the tile
    assert (out["elev_count"] > 0).all()


def test_zonal_bad_statistic_gives_core_message(acvgeo_plugin, cities, dem_copy):
    expected = core_error(zonal_indicators, make_zones(cities.iloc[:2]), str(dem_copy), stats="count,p101")
    msg = qgis_error(
        "acvgeo:zonalindicators",
        {"INPUT_RASTER": str(dem_copy), "STATS": [0], "PERCENTILES": "101", "OUTPUT": "memory:"},
    )
    assert msg == expected and "p101" in msg


# ---------------------------------------------------------------------------------------------
# clusters


def test_clusters_equal_core(acvgeo_plugin, cities, tmp_path):
    from acv_geo_qgis import layers
    from qgis.core import QgsCategorizedSymbolRenderer

    expected = local_clusters(cities, "opendata", permutations=999, seed=7).to_frame()
    res = run("acvgeo:clusters", {"PERMUTATIONS": 999, "SEED": 7, "OUTPUT": str(tmp_path / "cl.gpkg")})
    out, types, layer, _ = read_layer(res["OUTPUT"])
    assert_same(out, expected, ["value", "statistic", "quadrant", "p_sim", "p_fdr", "label", "reason"])
    assert res["N_SIGNIFICANT"] == int(expected["label"].isin(["HH", "LL", "HL", "LH"]).sum())
    # the cluster-map style colours by label, with NA (no value) as its own "no data" class
    renderer = layers.style_clusters(layer)
    assert isinstance(renderer, QgsCategorizedSymbolRenderer) and renderer.classAttribute() == "label"
    colours = {c.value(): c.symbol().color().name() for c in renderer.categories()}
    assert colours["not significant"] == "#eeeeee" and colours["NA"] == "#c8c8c8"
    assert set(expected["label"]) <= set(colours)


def test_clusters_gi_star_at_epci_level(acvgeo_plugin, cities, tmp_path):
    expected = local_clusters(
        cities, "population", method="gi_star", level="epci", permutations=199, seed=3, fdr=False, weights="knn:4"
    ).to_frame()
    res = run(
        "acvgeo:clusters",
        {
            "VARIABLE": "population",
            "METHOD": 1,
            "LEVEL": 1,
            "PERMUTATIONS": 199,
            "SEED": 3,
            "FDR": False,
            "WEIGHTS_KIND": 0,
            "K": 4,
            "OUTPUT": str(tmp_path / "cl.gpkg"),
        },
    )
    out, *_ = read_layer(res["OUTPUT"], key="siren_epci")
    assert_same(out, expected, ["value", "statistic", "p_sim", "label"])
    assert "nom_epci" in out.columns


def test_clusters_on_an_indicator_layer(acvgeo_plugin, cities, dem_copy, tmp_path):
    """The output of zonalindicators (polygons keyed by insee_com) feeds clusters."""
    z = run("acvgeo:zonalindicators", {"INPUT_RASTER": str(dem_copy), "OUTPUT": str(tmp_path / "z.gpkg")})["OUTPUT"]
    res = run(
        "acvgeo:clusters",
        {"CITIES": z, "VARIABLE": "dem_mean", "PERMUTATIONS": 99, "OUTPUT": str(tmp_path / "cl.gpkg")},
    )
    out, *_ = read_layer(res["OUTPUT"])
    assert len(out) == 244
    assert (out.loc[~out.index.isin(DEM_TOWNS + ["38563", "73008", "74225"]), "label"] == "NA").sum() > 200
    assert out.loc["73065", "value"] == pytest.approx(
        zonal_indicators(make_zones(cities.loc[["73065"]]), str(dem_copy), name="dem").loc["73065", "dem_mean"]
    )


def test_clusters_unknown_variable_gives_core_message(acvgeo_plugin, cities):
    expected = core_error(local_clusters, cities, "nope", permutations=99)
    msg = qgis_error("acvgeo:clusters", {"VARIABLE": "nope", "PERMUTATIONS": 99, "OUTPUT": "memory:"})
    assert msg == expected
