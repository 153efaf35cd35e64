"""Spatial chunking and the local / dask engines give the same table as one direct call."""

from __future__ import annotations

import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from acv_geo.engine import map_zones, spatial_chunks
from acv_geo.metadata import attach_metadata, indicator_metadata


def zone_area(zones):
    """Area (m²) and a per-chunk-dependent category column: 'wide' only where a zone is wide."""
    area = zones.geometry.area.to_numpy()
    out = pd.DataFrame({"area_m2": area}, index=zones.index)
    wide = area > 2.5
    if wide.any():
        out["wide_count"] = wide.astype(int)
    return attach_metadata(out, [{"column": "area_m2", "unit": "m2", "source": "test", "date": "", "description": "a"}])


@pytest.fixture
def zones():
    z = gpd.GeoDataFrame(
        {"territory": ["metropole"] * 50 + ["reunion"] * 7},
        geometry=[box(i, 0, i + 1 + i % 3, 1) for i in range(57)],
        index=pd.Index([f"{i:05d}" for i in range(57)], name="insee_com"),
        crs=2154,
    )
    z.loc["00003", "geometry"] = Polygon()  # a zone without geometry is kept
    return z.sample(frac=1, random_state=1)


def test_chunks_cover_every_zone_once_and_never_mix_territories(zones):
    chunks = spatial_chunks(zones, chunk_size=10)
    allpos = np.sort(np.concatenate(chunks))
    assert allpos.tolist() == list(range(len(zones)))
    assert [len(c) for c in chunks] == [10, 10, 10, 10, 10, 7]
    for c in chunks:
        assert zones["territory"].iloc[c].nunique() == 1


def test_chunks_are_spatially_compact():
    z = gpd.GeoDataFrame(geometry=[box(x, y, x + 1, y + 1) for x in range(8) for y in range(8)], crs=2154)
    chunks = spatial_chunks(z.sample(frac=1, random_state=0), chunk_size=16)
    for c in chunks:  # a Hilbert run of 16 cells on an 8×8 grid is a 4×4 block
        b = z.sample(frac=1, random_state=0).iloc[c].total_bounds
        assert (b[2] - b[0]) * (b[3] - b[1]) == 16


def test_local_engine_equals_direct_call(zones):
    direct = zone_area(zones)
    chunked = map_zones(zone_area, zones, chunk_size=10, fill_values={"wide_count": 0})
    assert chunked.index.equals(zones.index)
    pd.testing.assert_frame_equal(chunked[["area_m2"]], direct[["area_m2"]])
    assert (chunked["wide_count"] == (direct["area_m2"] > 2.5).astype(int)).all()
    assert indicator_metadata(chunked)["column"].tolist() == ["area_m2"]


def test_dask_engine_equals_local(zones):
    pytest.importorskip("dask_geopandas")
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    local = map_zones(zone_area, zones, chunk_size=10, fill_values={"wide_count": 0})
    dask = map_zones(zone_area, zones, chunk_size=10, engine="dask", n_workers=2, fill_values={"wide_count": 0})
    pd.testing.assert_frame_equal(dask, local)


def test_bad_options(zones):
    with pytest.raises(ValueError, match=r"unknown engine 'spark'; expected one of \['local', 'dask'\]"):
        map_zones(zone_area, zones, engine="spark")
    with pytest.raises(ValueError, match="chunk_size must be a whole number ≥ 1, got 0"):
        map_zones(zone_area, zones, chunk_size=0)


# ------------------------------------------------------------------ threads for vectorised shapely calls
def test_threaded_equals_the_direct_call():
    import shapely

    from acv_geo.engine import threaded

    a = shapely.box(np.arange(1000.0), 0, np.arange(1000.0) + 1.5, 1)
    b = shapely.box(np.arange(1000.0) + 0.5, 0.25, np.arange(1000.0) + 3, 2)
    direct = shapely.area(shapely.intersection(a, b))
    for threads in (1, 2, 3, 7):
        got = shapely.area(threaded(shapely.intersection, a, b, threads=threads, min_size=1))
        np.testing.assert_array_equal(got, direct)  # same pairs, same order
    assert direct[0] == pytest.approx(0.75)  # [0.5, 1.5] × [0.25, 1]


def test_thread_count_env_and_nested_threads(monkeypatch):
    import threading

    from acv_geo.engine import thread_count

    monkeypatch.setenv("ACV_GEO_THREADS", "2")
    assert thread_count() == 2
    monkeypatch.setenv("ACV_GEO_THREADS", "0")
    with pytest.raises(ValueError, match=r"ACV_GEO_THREADS must be a whole number ≥ 1, got '0'"):
        thread_count()
    monkeypatch.delenv("ACV_GEO_THREADS")
    assert thread_count() >= 1
    seen = []
    t = threading.Thread(target=lambda: seen.append(thread_count()))  # a worker thread: no nesting
    t.start()
    t.join()
    assert seen == [1]
