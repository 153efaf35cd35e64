"""Spatial chunking and the local / dask engines give the same table as one direct call."""

from __future__ import annotations

import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from acv_geo.core.metadata import attach_metadata, indicator_metadata
from acv_geo.pipeline.engine import map_zones, spatial_chunks


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


@pytest.mark.slow
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

    from acv_geo.core.parallel import threaded

    a = shapely.box(np.arange(1000.0), 0, np.arange(1000.0) + 1.5, 1)
    b = shapely.box(np.arange(1000.0) + 0.5, 0.25, np.arange(1000.0) + 3, 2)
    direct = shapely.area(shapely.intersection(a, b))
    for threads in (1, 2, 3, 7):
        got = shapely.area(threaded(shapely.intersection, a, b, threads=threads, min_size=1))
        np.testing.assert_array_equal(got, direct)  # same pairs, same order
    assert direct[0] == pytest.approx(0.75)  # [0.5, 1.5] × [0.25, 1]


def test_thread_count_env_and_nested_threads(monkeypatch):
    import threading

    from acv_geo.core.parallel import thread_count

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


# ------------------------------------------------------------------ Dask transport and shared clients
def test_pack_unpack_round_trip_keeps_everything():
    from shapely.geometry import Point

    from acv_geo.pipeline.engine import _pack, _unpack

    z = gpd.GeoDataFrame(
        {
            "territory": pd.Categorical(
                ["metropole", "reunion", "metropole"], categories=["guyane", "metropole", "reunion"]
            ),
            "zone_reason": pd.array([None, "no polygon", None], dtype="string"),
            "n": [1, 2, 3],
            "city_point": gpd.GeoSeries([Point(1, 2), None, Point(3, 4)], crs=4326),
        },
        geometry=[box(0, 0, 1, 1), Polygon(), None],
        index=pd.Index(["01004", "97411", "2A004"], name="insee_com"),
        crs=2154,
    )
    z.attrs["note"] = "kept"
    back = _unpack(_pack(z))
    pd.testing.assert_frame_equal(back, z)
    assert back.crs == z.crs and back["city_point"].crs == z["city_point"].crs
    assert back.geometry.name == "geometry" and back.attrs["note"] == "kept"


def test_one_dask_client_for_several_calls(zones):
    pytest.importorskip("dask_geopandas")
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    from acv_geo.pipeline.engine import dask_client

    local = map_zones(zone_area, zones, chunk_size=10, fill_values={"wide_count": 0})
    with dask_client(n_workers=1) as client:
        # the workers imported the geo stack as they started (preload), before any task
        assert set(client.run(lambda: "geopandas" in sys.modules and "exactextract" in sys.modules).values()) == {True}
        a = map_zones(zone_area, zones, chunk_size=10, engine="dask", scheduler=client, fill_values={"wide_count": 0})
        b = map_zones(zone_area, zones, chunk_size=25, engine="dask", scheduler=client, fill_values={"wide_count": 0})
        assert client.status == "running"  # map_zones leaves a given client open
        assert len(client.scheduler_info()["workers"]) == 1
    assert client.status == "closed"
    pd.testing.assert_frame_equal(a, local)
    pd.testing.assert_frame_equal(b, local)
    with pytest.raises(ValueError, match="n_workers must be a whole number ≥ 1, got 0"):
        with dask_client(n_workers=0):
            pass
    with pytest.raises(ValueError, match="n_workers sizes a local cluster; with a scheduler address or client"):
        with dask_client("tcp://127.0.0.1:1", n_workers=2):
            pass


def chunk_size_of(zones):
    """Each zone gets the size of the chunk it was computed in."""
    return pd.DataFrame({"chunk_n": len(zones)}, index=zones.index)


def test_existing_cluster_by_address_and_balanced_chunks(zones):
    """A scheduler address connects to that cluster; chunks come in a multiple of its worker threads."""
    pytest.importorskip("dask_geopandas")
    distributed = pytest.importorskip("distributed")
    import logging

    local = map_zones(chunk_size_of, zones, chunk_size=25)
    # local: 50 mainland zones in 2 chunks of 25, the 7 in Réunion in one
    assert local["chunk_n"].groupby(zones["territory"]).unique().map(sorted).to_dict() == {
        "metropole": [25],
        "reunion": [7],
    }
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None, silence_logs=logging.ERROR
    ) as cluster:
        out = map_zones(chunk_size_of, zones, chunk_size=25, engine="dask", scheduler=cluster.scheduler_address)
        area = map_zones(
            zone_area,
            zones,
            chunk_size=25,
            engine="dask",
            scheduler=cluster.scheduler_address,
            fill_values={"wide_count": 0},
        )
    # 2 threads: 57 zones / (2 rounds × 2 threads) → chunks of at most 15: the mainland in 4 (13, 13, 12, 12)
    assert out.index.equals(zones.index)
    sizes = out["chunk_n"].groupby(zones["territory"]).value_counts().to_dict()
    assert sizes == {("metropole", 13): 26, ("metropole", 12): 24, ("reunion", 7): 7}
    pd.testing.assert_frame_equal(area, map_zones(zone_area, zones, chunk_size=25, fill_values={"wide_count": 0}))
