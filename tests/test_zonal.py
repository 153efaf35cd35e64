"""Zonal statistics: hand-computed values on small rasters, exactextract cross-checks, bad input."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from rasters import write_geotiff
from shapely.geometry import Point, Polygon, box

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.core.metadata import indicator_metadata
from acv_geo.indicators.zonal import ALLOWED_STATS, zonal_indicators

X0, Y0, RES = 700_000.0, 6_600_000.0, 10.0
NODATA = -9999.0


def _pix(col0, row0, col1, row1):
    """Box from pixel-edge coordinates (columns/rows may be fractional)."""
    return box(X0 + col0 * RES, Y0 - row1 * RES, X0 + col1 * RES, Y0 - row0 * RES)


@pytest.fixture()
def grid(tmp_path):
    """10x10 pixels of 10 m in Lambert-93, value = 10*row + col, one nodata pixel at (2, 2)."""
    arr = np.arange(100, dtype="float32").reshape(10, 10)
    arr[2, 2] = NODATA
    path = tmp_path / "grid.tif"
    write_geotiff(path, arr, transform=from_origin(X0, Y0, RES, RES), nodata=NODATA, crs="EPSG:2154", dtype="float32")
    return path


@pytest.fixture()
def zones():
    geoms = [
        _pix(0, 0, 1.5, 1),  # A: pixel (0,0) whole + half of (0,1)
        _pix(2, 2, 4, 4),  # B: 4 pixels, (2,2) is nodata
        _pix(5.5, 5.5, 6.5, 6.5),  # C: a quarter of pixels 55, 56, 65, 66
        Polygon(),  # D: no zone
        _pix(50, 50, 51, 51),  # E: outside the raster
    ]
    idx = pd.Index(["74225", "01004", "38053", "97101", "34003"], name="insee_com")
    return gpd.GeoDataFrame(
        {"zone_reason": [None, None, None, "no polygon for this city", None]}, geometry=geoms, crs=2154, index=idx
    )


def test_hand_computed_partial_coverage(grid, zones):
    out = zonal_indicators(
        zones,
        grid,
        stats=["count", "mean", "min", "max", "std", "sum", "coverage_pct"],
        threshold=30,
        name="g",
        unit="m",
    )
    assert list(out.index) == list(zones.index) and out.index.name == "insee_com"
    assert list(out.columns) == [
        "g_count",
        "g_mean",
        "g_min",
        "g_max",
        "g_std",
        "g_sum",
        "g_coverage_pct",
        "g_below_30_pct",
        "g_reason",
    ]
    a, b, c, d, e = (out.loc[k] for k in zones.index)
    # A: values 0 (cov 1) and 1 (cov 0.5)
    assert a["g_count"] == pytest.approx(1.5)
    assert a["g_mean"] == pytest.approx(0.5 / 1.5)
    assert (a["g_min"], a["g_max"]) == (0, 1)
    assert a["g_sum"] == pytest.approx(0.5)
    assert a["g_below_30_pct"] == pytest.approx(100.0)
    assert pd.isna(a["g_reason"])
    # B: (2,2) nodata masked; 23, 32, 33 whole
    assert b["g_count"] == pytest.approx(3.0)
    assert b["g_mean"] == pytest.approx(88 / 3)
    assert (b["g_min"], b["g_max"]) == (23, 33)
    assert b["g_below_30_pct"] == pytest.approx(100 / 3)
    assert b["g_coverage_pct"] == pytest.approx(75.0)
    assert "75.0% of the zone" in b["g_reason"]
    # C: quarter of 55, 56, 65, 66
    assert c["g_count"] == pytest.approx(1.0)
    assert c["g_mean"] == pytest.approx(60.5)
    assert c["g_std"] == pytest.approx(math.sqrt(25.25))
    # D, E: not measured: NaN everywhere (the pixel count too), with reasons
    for row in (d, e):
        assert np.isnan(row["g_count"])
        assert np.isnan(row["g_mean"]) and np.isnan(row["g_min"]) and np.isnan(row["g_below_30_pct"])
    assert d["g_reason"] == "no zone geometry: no polygon for this city"
    assert e["g_reason"] == "zone outside the raster"
    meta = indicator_metadata(out).set_index("column")["unit"]
    assert (meta["g_mean"], meta["g_count"], meta["g_below_30_pct"]) == ("m", "pixels", "%")


def test_equals_exactextract_directly(grid, zones):
    from exactextract import exact_extract

    ok = zones.iloc[[0, 1, 2]]
    ref = exact_extract(
        rasterio.open(grid), ok, ["count", "mean", "min", "max", "stdev", "median", "quantile(q=0.25)"], output="pandas"
    )
    out = zonal_indicators(ok, grid, stats="count,mean,min,max,std,median,p25", name="g")
    np.testing.assert_allclose(out["g_count"], ref["count"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["g_mean"], ref["mean"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["g_std"], ref["stdev"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(out["g_median"], ref["median"])
    np.testing.assert_array_equal(out["g_p25"], ref["quantile_25"])


def test_open_dataset_accepted_and_left_open(grid, zones):
    with rasterio.open(grid) as ds:
        out = zonal_indicators(zones, ds, name="g")
        assert not ds.closed
    assert out.loc["01004", "g_mean"] == pytest.approx(88 / 3)


def test_zones_in_another_crs_are_reprojected(grid, zones):
    z4326 = zones.iloc[[0, 1, 2]].to_crs(4326)
    out = zonal_indicators(z4326, grid, name="g")
    assert out.attrs["acv_geo_zonal"]["zones_reprojected_from"] == "EPSG:4326"
    assert out.loc["74225", "g_mean"] == pytest.approx(1 / 3, abs=1e-6)
    assert out.loc["38053", "g_mean"] == pytest.approx(60.5, abs=1e-6)


def test_raster_in_geographic_crs(tmp_path):
    """Zones in Lambert-93 on a raster in EPSG:4326: the zones move, the raster does not."""
    path = tmp_path / "geo.tif"
    arr = np.array([[1, 2], [3, 4]], dtype="int16")
    write_geotiff(path, arr, transform=from_origin(5.0, 46.0, 0.01, 0.01), nodata=-1, crs="EPSG:4326", dtype="int16")
    z = gpd.GeoDataFrame(
        geometry=[box(5.0, 45.99, 5.01, 46.0)], crs=4326, index=pd.Index(["01004"], name="insee_com")
    ).to_crs(2154)
    out = zonal_indicators(z, path, name="v")
    # the upper-left pixel (value 1), up to the curvature of the reprojected edges
    assert out.loc["01004", "v_mean"] == pytest.approx(1.0, abs=0.01)
    assert out.loc["01004", "v_count"] == pytest.approx(1.0, abs=0.01)


CITIES_IN_DEM = ["01004", "38053", "38563", "73065", "74225"]


@pytest.fixture(scope="module")
def communes():
    return gpd.read_file(acv_geo.get_path("acv_communes_polygons")).set_index("insee_com")


def test_dem_equals_exactextract_on_real_communes(communes):
    from exactextract import exact_extract

    dem = acv_geo.get_path("dem_n45e005")
    z = communes.loc[CITIES_IN_DEM]
    ref = exact_extract(
        str(dem),
        z.reset_index(),
        ["count", "mean", "min", "max", "quantile(q=0.9)"],
        include_cols=["insee_com"],
        output="pandas",
    ).set_index("insee_com")
    out = zonal_indicators(z, dem, stats=["count", "mean", "min", "max", "p90"], name="dem", unit="m")
    assert list(out.index) == CITIES_IN_DEM
    np.testing.assert_allclose(out["dem_mean"], ref.loc[CITIES_IN_DEM, "mean"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["dem_count"], ref.loc[CITIES_IN_DEM, "count"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(out["dem_min"], ref.loc[CITIES_IN_DEM, "min"])
    np.testing.assert_array_equal(out["dem_p90"], ref.loc[CITIES_IN_DEM, "quantile_90"])
    # real values: Chambéry lies lower on average than Voiron's commune, all fully covered
    assert out.loc["73065", "dem_mean"] == pytest.approx(309.28, abs=0.01)
    assert out["dem_reason"].isna().all()


def test_dem_out_of_raster_city(communes):
    z = communes.loc[["34003", "73065", "97416"]]  # Agde, Chambéry, Saint-Pierre (Réunion)
    out = zonal_indicators(z, acv_geo.get_path("dem_n45e005"), name="dem", threshold=5)
    assert list(out.index) == ["34003", "73065", "97416"]
    assert np.isnan(out.loc["34003", "dem_count"]) and np.isnan(out.loc["34003", "dem_mean"])
    assert out.loc["34003", "dem_reason"] == "zone outside the raster"
    assert np.isnan(out.loc["97416", "dem_count"])
    assert out.loc["73065", "dem_below_5_pct"] == 0.0


def test_no_overlap_warns_and_returns_nan(grid):
    z = gpd.GeoDataFrame(geometry=[_pix(100, 100, 101, 101)], crs=2154, index=pd.Index(["34003"], name="insee_com"))
    with pytest.warns(UserWarning, match="overlaps none of the 1 zones"):
        out = zonal_indicators(z, grid, name="g")
    assert np.isnan(out.loc["34003", "g_count"]) and np.isnan(out.loc["34003", "g_max"])
    assert "overlaps none" in out.attrs["acv_geo_zonal"]["warnings"][0]


def test_categorical_fractions(tmp_path):
    # 4x4 classes: left half 1, right half 2, bottom-right pixel 3, one nodata (0) top-left
    arr = np.array([[0, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 3]], dtype="uint8")
    path = tmp_path / "lc.tif"
    write_geotiff(path, arr, transform=from_origin(X0, Y0, RES, RES), nodata=0, crs="EPSG:2154", dtype="uint8")
    z = gpd.GeoDataFrame(
        geometry=[_pix(0, 0, 4, 4), _pix(1.5, 0, 2.5, 1), _pix(9, 9, 10, 10)],
        crs=2154,
        index=pd.Index(["a", "b", "c"], name="insee_com"),
    )
    out = zonal_indicators(z, path, categorical=True, name="lc")
    assert list(out.columns) == [
        "lc_count",
        "lc_majority",
        "lc_class_1_pct",
        "lc_class_2_pct",
        "lc_class_3_pct",
        "lc_reason",
    ]
    # a: 15 valid pixels: 7 of class 1, 7 of class 2, 1 of class 3
    assert out.loc["a", "lc_count"] == 15
    assert out.loc["a", "lc_class_1_pct"] == pytest.approx(700 / 15)
    assert out.loc["a", "lc_class_3_pct"] == pytest.approx(100 / 15)
    # b: half of pixel (0,1)=1 and half of (0,2)=2
    assert out.loc["b", "lc_class_1_pct"] == pytest.approx(50.0)
    assert out.loc["b", "lc_class_3_pct"] == 0.0
    # c: outside: NaN shares
    assert np.isnan(out.loc["c", "lc_class_1_pct"]) and np.isnan(out.loc["c", "lc_count"])


def test_nan_pixels_masked_and_missing_nodata_reported(tmp_path):
    arr = np.array([[np.nan, 4.0], [2.0, 6.0]], dtype="float32")
    path = tmp_path / "nonodata.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="float32",
        crs="EPSG:2154",
        transform=from_origin(X0, Y0, RES, RES),
    ) as ds:
        ds.write(arr, 1)
    z = gpd.GeoDataFrame(geometry=[_pix(0, 0, 2, 2)], crs=2154, index=pd.Index(["x"], name="insee_com"))
    with pytest.warns(UserWarning, match="has no nodata value"):
        out = zonal_indicators(z, path, name="v")
    assert out.loc["x", "v_count"] == 3 and out.loc["x", "v_mean"] == pytest.approx(4.0)
    assert out.attrs["acv_geo_zonal"]["nodata"] is None
    assert "no nodata" in out.attrs["acv_geo_zonal"]["warnings"][0]


def test_bad_input(tmp_path, grid, zones):
    fake = tmp_path / "notraster.tif"
    fake.write_text("insee_com,value\n01004,3\n")
    with pytest.raises(InputError, match=r"notraster\.tif: not a raster"):
        zonal_indicators(zones, fake)
    nocrs = tmp_path / "nocrs.tif"
    with rasterio.open(
        nocrs, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8", transform=from_origin(0, 2, 1, 1)
    ) as ds:
        ds.write(np.ones((2, 2), dtype="uint8"), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match=r"nocrs\.tif: raster has no CRS"):
            zonal_indicators(zones, nocrs)
    with pytest.raises(ValueError, match=r"unknown zonal statistic\(s\) \['average'\]; allowed: count, sum, mean"):
        zonal_indicators(zones, grid, stats=["mean", "average"])
    with pytest.raises(ValueError, match="percentile 100.0 is outside"):
        zonal_indicators(zones, grid, percentiles=[100])
    with pytest.raises(ValueError, match="band 2 asked, the raster has 1"):
        zonal_indicators(zones, grid, band=2)
    with pytest.raises(InputError, match="zones have no CRS"):
        zonal_indicators(zones.set_crs(None, allow_override=True), grid)
    pts = gpd.GeoDataFrame(geometry=[Point(X0 + 5, Y0 - 5)], crs=2154, index=pd.Index(["01004"], name="insee_com"))
    with pytest.raises(InputError, match="zone '01004' is a Point, not a polygon"):
        zonal_indicators(pts, grid)
    with pytest.raises(FileNotFoundError, match="missing.tif"):
        zonal_indicators(zones, tmp_path / "missing.tif")
    assert "coverage_pct" in ALLOWED_STATS


def test_inputs_not_mutated(grid, zones):
    before = zones.copy()
    zonal_indicators(zones.to_crs(4326), grid)
    zonal_indicators(zones, grid)
    pd.testing.assert_frame_equal(zones, before)


def test_invalid_geometry_repaired(grid):
    bowtie = Polygon([(X0, Y0), (X0 + 20, Y0 - 20), (X0 + 20, Y0), (X0, Y0 - 20), (X0, Y0)])
    z = gpd.GeoDataFrame(geometry=[bowtie], crs=2154, index=pd.Index(["x"], name="insee_com"))
    out = zonal_indicators(z, grid, name="g")
    assert out.attrs["acv_geo_zonal"]["invalid_geometries_repaired"] == 1
    # two triangles, each half of a 2x2-pixel block: coverage 0.5 per pixel on 4... exact area 200 m² = 2 px
    assert out.loc["x", "g_count"] == pytest.approx(2.0)


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_chunked_categorical_equals_one_call(tmp_path, engine):
    """A class absent from a spatial chunk is 0 there (not NaN), and classes keep their order."""
    if engine == "dask":
        pytest.importorskip("dask_geopandas")
    from acv_geo.pipeline.engine import map_zones

    arr = np.array([[0, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 3]], dtype="uint8")
    path = tmp_path / "lc.tif"
    write_geotiff(path, arr, transform=from_origin(X0, Y0, RES, RES), nodata=0, crs="EPSG:2154", dtype="uint8")
    # left zone: class 1 only; right zone: classes 2 and 3; far zone: off the raster (NaN shares)
    z = gpd.GeoDataFrame(
        {"territory": "metropole"},
        geometry=[_pix(0, 1, 2, 4), _pix(2, 0, 4, 4), _pix(40, 40, 41, 41)],
        crs=2154,
        index=pd.Index(["a", "b", "c"], name="insee_com"),
    )
    one = zonal_indicators(z, path, categorical=True, name="lc")
    chunked = map_zones(
        zonal_indicators, z, path, engine=engine, chunk_size=1, n_workers=1, categorical=True, name="lc"
    )
    assert list(chunked.columns) == [
        "lc_count",
        "lc_majority",
        "lc_class_1_pct",
        "lc_class_2_pct",
        "lc_class_3_pct",
        "lc_reason",
    ]
    assert chunked.loc["a", "lc_class_2_pct"] == 0.0 and chunked.loc["a", "lc_class_1_pct"] == 100.0
    assert chunked.loc["b", "lc_class_1_pct"] == 0.0 and chunked.loc["b", "lc_class_3_pct"] == 12.5
    assert np.isnan(chunked.loc["c", "lc_class_1_pct"]) and np.isnan(chunked.loc["c", "lc_class_3_pct"])
    pd.testing.assert_frame_equal(chunked, one)
    assert indicator_metadata(chunked)["column"].tolist() == list(chunked.columns)


def test_default_name_columns_are_scored(grid, zones):
    """With the column prefix made of the file name, the role still marks the threshold shares as scored."""
    from acv_geo.core.metadata import scored_columns

    out = zonal_indicators(zones, grid, threshold=30, role="risk")
    assert "grid_below_30_pct" in out.columns
    assert scored_columns(out, "risk") == ["grid_below_30_pct"]
    plain = zonal_indicators(zones, grid, role="nature")
    assert scored_columns(plain, "nature") == ["grid_mean"]


def test_rounding_slivers_of_neighbouring_pixels_do_not_count():
    """A zone on pixel edges of a geographic raster: same min/max alone or with far zones (another window)."""
    dem = acv_geo.get_path("dem_n45e005")
    with rasterio.open(dem) as ds:
        t, crs = ds.transform, ds.crs
    corners = [(t * (470, 201), t * (471, 200)), (t * (440, 240), t * (500, 180))]
    geoms = [box(*a, *b) for a, b in corners]
    both = gpd.GeoDataFrame(geometry=geoms, crs=crs, index=pd.Index(["px", "big"], name="insee_com"))
    together = zonal_indicators(both, dem, name="dem")
    alone = zonal_indicators(both.iloc[[0]], dem, name="dem")
    assert together.loc["px", "dem_min"] == together.loc["px", "dem_max"] == alone.loc["px", "dem_min"] == 427
    assert together.loc["px", "dem_count"] == pytest.approx(1.0, abs=1e-9)
