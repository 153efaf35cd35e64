"""Zonal statistics cross-checked against implementations acv-geo does not call.

``zonal_indicators`` computes with exactextract; comparing it with exactextract proves nothing. Here
it is compared with ``rasterstats.zonal_stats`` (rasterio + numpy, pixel-centre rasterisation) and,
when QGIS is installed, with QGIS's ``native:zonalstatisticsfb``. The zones are pixel-aligned
rectangles, where every definition agrees: each pixel is wholly in or out of a zone, so exact
coverage fractions are 0 or 1 and pixel-centre rasterisation selects the same pixels.

Compared: count, sum, mean, min, max, std (population), the share of valid area below a threshold,
the share of the zone on valid pixels (nodata pixels counted by rasterstats), class shares of a
categorical raster; on a synthetic raster with nodata pixels and on a window of the embedded DEM.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from rasters import write_geotiff
from shapely.geometry import box

import acv_geo
from acv_geo.indicators.zonal import zonal_indicators

rasterstats = pytest.importorskip("rasterstats")

RTOL = 1e-9
X0, Y0, RES = 700_000.0, 6_600_000.0, 10.0
NODATA = -9999.0
THRESHOLD = 40.0
#: Pixel rectangles (col0, row0, col1, row1), end exclusive; the synthetic raster is 12 x 10 pixels.
RECTS = {
    "a": (0, 0, 3, 2),  # top-left corner, holds one nodata pixel
    "b": (2, 2, 7, 6),  # middle, holds two nodata pixels
    "c": (9, 7, 12, 10),  # bottom-right corner
    "d": (5, 0, 6, 10),  # one column crossing the raster
    "e": (4, 4, 5, 5),  # one pixel
}


def _values() -> np.ndarray:
    """Irregular values (no arithmetic pattern), a few nodata pixels."""
    rng = np.random.default_rng(17)
    arr = rng.normal(40.0, 15.0, size=(10, 12)).round(3).astype("float64")
    for r, c in [(1, 1), (3, 3), (5, 6), (8, 0)]:
        arr[r, c] = NODATA
    return arr


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    path = tmp_path_factory.mktemp("crosscheck") / "synthetic.tif"
    write_geotiff(
        path, _values(), transform=from_origin(X0, Y0, RES, RES), nodata=NODATA, crs="EPSG:2154", dtype="float64"
    )
    return path


def _zones(transform, rects: dict, crs) -> gpd.GeoDataFrame:
    """Rectangles whose corners are pixel corners of ``transform``."""
    geoms = []
    for c0, r0, c1, r1 in rects.values():
        left, top = transform * (c0, r0)
        right, bottom = transform * (c1, r1)
        geoms.append(box(left, bottom, right, top))
    return gpd.GeoDataFrame(geometry=geoms, crs=crs, index=pd.Index(list(rects), name="insee_com"))


def _below(threshold: float):
    def below(x):  # rasterstats passes the zone's masked array (nodata masked)
        return float(100.0 * (x < threshold).sum() / x.count())

    return below


def _reference(zones: gpd.GeoDataFrame, raster) -> pd.DataFrame:
    stats = rasterstats.zonal_stats(
        zones,
        str(raster),
        stats=["count", "sum", "mean", "min", "max", "std", "nodata"],
        add_stats={"below": _below(THRESHOLD)},
        all_touched=False,
    )
    return pd.DataFrame(stats, index=zones.index)


def _assert_close(ours: pd.Series, theirs: pd.Series) -> None:
    np.testing.assert_allclose(ours.to_numpy(dtype=float), theirs.to_numpy(dtype=float), rtol=RTOL, atol=0)


def _check_against_rasterstats(zones: gpd.GeoDataFrame, raster, name: str) -> pd.DataFrame:
    ours = zonal_indicators(
        zones, raster, stats="count,sum,mean,min,max,std,coverage_pct", threshold=THRESHOLD, name=name
    )
    ref = _reference(zones, raster)
    for stat in ("count", "sum", "mean", "min", "max", "std"):
        _assert_close(ours[f"{name}_{stat}"], ref[stat])
    _assert_close(ours[f"{name}_below_40_pct"], ref["below"])
    _assert_close(ours[f"{name}_coverage_pct"], 100.0 * ref["count"] / (ref["count"] + ref["nodata"]))
    return ours


def test_synthetic_raster_matches_rasterstats(synthetic):
    zones = _zones(from_origin(X0, Y0, RES, RES), RECTS, 2154)
    ours = _check_against_rasterstats(zones, synthetic, "v")
    # hand-checkable facts: the nodata pixels are left out, so the counts are whole pixels minus them
    assert ours["v_count"].tolist() == [5.0, 18.0, 9.0, 10.0, 1.0]
    arr = _values()
    assert ours.loc["e", "v_mean"] == arr[4, 4]
    assert ours.loc["b", "v_coverage_pct"] == pytest.approx(90.0)
    assert ours.loc["b", "v_reason"] == "only 90.0% of the zone lies on valid pixels (raster edge or nodata)"


def test_dem_window_matches_rasterstats():
    dem = acv_geo.get_path("dem_n45e005")
    with rasterio.open(dem) as ds:
        transform, crs = ds.transform, ds.crs
    # rectangles in a 60 x 60 window around Chambéry (col 440-500, row 180-240): real relief, 300-1500 m
    rects = {
        "w1": (440, 180, 500, 240),
        "w2": (450, 190, 457, 230),
        "w3": (470, 200, 471, 201),
        "w4": (441, 181, 499, 182),
    }
    ours = _check_against_rasterstats(_zones(transform, rects, crs), dem, "dem")
    assert ours.loc["w1", "dem_count"] == 3600.0
    np.testing.assert_allclose(ours["dem_coverage_pct"], 100.0, rtol=RTOL)
    assert ours["dem_reason"].isna().all()
    assert ours.loc["w1", "dem_max"] - ours.loc["w1", "dem_min"] > 100  # real relief, not a flat test
    # a pixel's statistics do not depend on the other zones of the call (the window read): the
    # rounding slivers of the neighbouring pixels (~1e-12 of a pixel) are not counted
    alone = zonal_indicators(_zones(transform, {"w3": rects["w3"]}, crs), dem, stats="min,max,mean", name="dem")
    assert alone.loc["w3", "dem_min"] == ours.loc["w3", "dem_min"] == ours.loc["w3", "dem_max"] == 427


def test_categorical_shares_match_rasterstats(tmp_path):
    classes = np.random.default_rng(3).choice([11, 21, 31, 41], size=(10, 12)).astype("uint8")
    classes[0, 0] = classes[6, 6] = 0
    path = tmp_path / "lc.tif"
    write_geotiff(path, classes, transform=from_origin(X0, Y0, RES, RES), nodata=0, crs="EPSG:2154", dtype="uint8")
    zones = _zones(from_origin(X0, Y0, RES, RES), RECTS, 2154)
    ours = zonal_indicators(zones, path, categorical=True, stats="count", name="lc")
    ref = rasterstats.zonal_stats(zones, str(path), categorical=True)
    for code, counts in zip(zones.index, ref, strict=True):
        total = sum(counts.values())
        assert ours.loc[code, "lc_count"] == total
        for value in (11, 21, 31, 41):
            expected = 100.0 * counts.get(value, 0) / total
            assert ours.loc[code, f"lc_class_{value}_pct"] == pytest.approx(expected, rel=RTOL, abs=0)


# QGIS Processing: native:zonalstatisticsfb (statistics codes of QgsZonalStatistics)
_QGIS_STATS = {"count": 0, "sum": 1, "mean": 2, "std": 4, "min": 5, "max": 6}


@pytest.mark.qgis
def test_synthetic_raster_matches_qgis_zonalstatistics(qgis_app, synthetic, tmp_path):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsRasterLayer, QgsVectorLayer

    zones = _zones(from_origin(X0, Y0, RES, RES), RECTS, 2154)
    zpath = tmp_path / "zones.gpkg"
    zones.reset_index().to_file(zpath, layer="zones", driver="GPKG")
    ours = zonal_indicators(zones, synthetic, stats="count,sum,mean,min,max,std", name="v")
    result = processing.run(
        "native:zonalstatisticsfb",
        {
            "INPUT": QgsVectorLayer(str(zpath), "zones", "ogr"),
            "INPUT_RASTER": QgsRasterLayer(str(synthetic), "v"),
            "RASTER_BAND": 1,
            "COLUMN_PREFIX": "q_",
            "STATISTICS": list(_QGIS_STATS.values()),
            "OUTPUT": "memory:",
        },
        context=QgsProcessingContext(),
        feedback=QgsProcessingFeedback(),
    )["OUTPUT"]
    theirs = (
        pd.DataFrame(
            [
                {"insee_com": f["insee_com"], **{s: f[f"q_{s if s != 'std' else 'stdev'}"] for s in _QGIS_STATS}}
                for f in result.getFeatures()
            ]
        )
        .set_index("insee_com")
        .loc[zones.index]
    )
    for stat in _QGIS_STATS:
        _assert_close(ours[f"v_{stat}"], theirs[stat])
