"""Execution engines: run a per-zone indicator function over spatial chunks of zones.

The indicator functions (:func:`acv_geo.overlay_indicators`, :func:`acv_geo.zonal_indicators`)
compute each city's values from its own zone only, and read only the part of a layer or raster
that their zones cover (bbox/mask reads, windowed raster reads). So a large set of zones (all
~35,000 communes) can be cut into **spatially compact chunks** — zones sorted by territory, then by
the Hilbert distance of their centre — and each chunk processed on its own:

- ``engine="local"``: chunks one after the other in this process. Peak memory is bounded by one
  chunk and the part of the layer its bounding box covers, not by the whole national layer. The
  GEOS work inside a chunk (exact intersection tests, clipping, validity) is split over threads,
  one per core (:func:`threaded`, :func:`thread_count`; ``ACV_GEO_THREADS`` sets the number).
- ``engine="dask"``: the chunks become the partitions of a ``dask_geopandas.GeoDataFrame`` and run
  on a ``dask.distributed`` cluster — a local one (``n_workers`` single-threaded processes) by
  default, or any existing cluster given its scheduler address (:func:`dask_client` keeps one
  cluster for several calls). Partitions travel as WKB columns and are rebuilt on the workers.
  Workers need acv-geo installed and the layer and raster paths readable. Install with
  ``pip install acv-geo[dask]``.

Both engines give the same table as calling the function once on all zones: rows are put back in
the input order and columns unified. A function whose columns depend on the categories it meets
(one column per land-cover class found) declares those column families in its result's
``attrs[CATEGORY_COLUMNS]``; a class absent from a chunk then gets 0 there (NaN where the zone has
no data), and each family keeps its columns sorted by value, as in one direct call.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.metadata import merge_metadata
from acv_geo.core.parallel import CATEGORY_COLUMNS, thread_count, threaded

__all__ = ["ENGINES", "dask_client", "map_zones", "spatial_chunks", "thread_count", "threaded"]

log = logging.getLogger("acv_geo")

ENGINES = ("local", "dask")


def spatial_chunks(zones, *, chunk_size: int = 2000) -> list[np.ndarray]:
    """Cut zones into spatially compact chunks of at most ``chunk_size`` zones.

    Zones are grouped by ``territory`` (when the column exists) so that no chunk mixes the mainland
    and an overseas territory, then ordered by the Hilbert distance of their bounding-box centre
    (within the territory's extent) and cut into consecutive runs.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Zones, any CRS.
    chunk_size : int, default 2000
        Maximum number of zones per chunk (≥ 1).

    Returns
    -------
    list of numpy.ndarray
        Positional indices into ``zones``, one array per chunk; together they cover every row once.

    Raises
    ------
    ValueError
        If ``chunk_size`` < 1.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> z = gpd.GeoDataFrame(geometry=[box(i, 0, i + 1, 1) for i in range(5)], crs=2154)
    >>> [c.tolist() for c in spatial_chunks(z, chunk_size=2)]
    [[0, 1], [2, 3], [4]]
    """
    import geopandas as gpd
    import shapely

    _check_chunk_size(chunk_size)
    n = len(zones)
    if n == 0:
        return []
    groups = zones["territory"].to_numpy() if "territory" in zones.columns else np.zeros(n)
    chunks: list[np.ndarray] = []
    for g in pd.unique(groups):
        pos = np.flatnonzero(groups == g)
        sub = zones.geometry.iloc[pos]
        empty = (sub.isna() | sub.is_empty).to_numpy()
        order = np.zeros(len(pos), dtype=np.int64)
        if (~empty).any():
            # centre points: hilbert_distance on points is well defined for any geometry type
            b = sub[~empty].bounds
            cx = ((b["minx"] + b["maxx"]) / 2).to_numpy()
            cy = ((b["miny"] + b["maxy"]) / 2).to_numpy()
            centres = gpd.GeoSeries(shapely.points(cx, cy))
            order[~empty] = centres.hilbert_distance(level=16).to_numpy()
        order[empty] = np.iinfo(np.int64).max  # zones without geometry go last, still present
        pos = pos[np.argsort(order, kind="stable")]
        k = math.ceil(len(pos) / chunk_size)
        chunks.extend(np.array_split(pos, k))
    return chunks


def _check_chunk_size(chunk_size: Any) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a whole number ≥ 1, got {chunk_size!r}")


def _families(parts: list[pd.DataFrame]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for p in parts:
        for prefix, suffix in p.attrs.get(CATEGORY_COLUMNS, []):
            if (prefix, suffix) not in found:
                found.append((prefix, suffix))
    return found


def _member(column: str, families: list[tuple[str, str]]) -> tuple[str, str] | None:
    for prefix, suffix in families:
        if column.startswith(prefix) and column.endswith(suffix) and len(column) > len(prefix) + len(suffix):
            return prefix, suffix
    return None


def _category_key(column: str, family: tuple[str, str]) -> tuple:
    value = column[len(family[0]) : len(column) - len(family[1])]
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def _column_order(parts: list[pd.DataFrame], families: list[tuple[str, str]]) -> list[str]:
    """Union of the chunks' columns, each category family sorted by value and kept in its place."""
    columns: list[str] = []
    for p in parts:
        columns.extend(c for c in p.columns if c not in columns and _member(c, families) is None)
    for fam in families:
        members = sorted(
            {c for p in parts for c in p.columns if _member(c, [fam]) == fam}, key=lambda c: _category_key(c, fam)
        )
        if not members:
            continue
        # place the family after the column that precedes it in the first chunk that has it
        anchor = None
        for p in parts:
            cols = list(p.columns)
            first = next((i for i, c in enumerate(cols) if _member(c, [fam]) == fam), None)
            if first is not None:
                before = [c for c in cols[:first] if c in columns]
                anchor = before[-1] if before else None
                break
        at = 0 if anchor is None else columns.index(anchor) + 1
        columns[at:at] = members
    return columns


def _assemble(parts: list[pd.DataFrame], zones) -> pd.DataFrame:
    columns = _column_order(parts, _families(parts))
    out = pd.concat([p.reindex(columns=columns) for p in parts])
    out = out.reindex(zones.index)
    out.index.name = zones.index.name
    out.attrs = {}
    merge_metadata(out, *parts)
    for key, value in parts[0].attrs.items():
        if key != "acv_geo_metadata":
            out.attrs.setdefault(key, value)
    return out


def _fill_missing_columns(parts: list[pd.DataFrame], fill: dict[str, Any]) -> list[pd.DataFrame]:
    """Give every chunk the union of columns.

    A per-category column that a chunk lacks (the category occurs in none of its zones) is 0 where
    the chunk's other columns of that family have a value and NaN where they are NaN — exactly what
    one call on all zones gives. Other missing columns get ``fill[column]``, else NaN.
    """
    families = _families(parts)
    allcols = list(dict.fromkeys(c for p in parts for c in p.columns))
    fixed = []
    for p in parts:
        missing = [c for c in allcols if c not in p.columns]
        if missing:
            p = p.copy()
            for c in missing:
                fam = _member(c, families)
                sibling = next((x for x in p.columns if fam is not None and _member(x, [fam]) == fam), None)
                if sibling is not None:
                    p[c] = np.where(p[sibling].notna(), 0.0, np.nan)
                else:
                    p[c] = fill.get(c, np.nan)
        fixed.append(p)
    return fixed


def map_zones(
    func: Callable[..., pd.DataFrame],
    zones,
    *args: Any,
    engine: str = "local",
    chunk_size: int = 2000,
    scheduler: Any = None,
    n_workers: int | None = None,
    fill_values: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Run ``func(zones_chunk, *args, **kwargs)`` over spatial chunks and reassemble the result.

    Parameters
    ----------
    func : callable
        A per-zone indicator function returning a DataFrame indexed like its zones argument
        (such as :func:`acv_geo.overlay_indicators` or :func:`acv_geo.zonal_indicators`).
    zones : geopandas.GeoDataFrame
        All zones.
    *args, **kwargs
        Passed to ``func`` (pass layers and rasters as *paths*, so each chunk reads only its part).
    engine : {"local", "dask"}, default "local"
        See the module docstring.
    chunk_size : int, default 2000
        Most zones per chunk. The Dask engine cuts slightly smaller chunks when that makes their
        number a multiple of the cluster's worker threads, so that no worker idles at the end.
    scheduler : str or distributed.Client, optional
        Address of an existing Dask scheduler (``"tcp://host:8786"``) or a client to reuse (see
        :func:`dask_client`); default a local cluster started and closed by this call.
    n_workers : int, optional
        Worker processes of that local Dask cluster (default: the cores this process may use).
    fill_values : dict, optional
        Value for a column that a chunk did not produce (e.g. a category absent from the chunk's
        area): ``{column: value}``; columns not listed get NaN.
    progress : callable, optional
        ``progress(done, total)`` after each chunk (local engine).

    Returns
    -------
    pandas.DataFrame
        Indexed exactly like ``zones`` (same order), metadata merged.

    Raises
    ------
    ValueError
        Unknown engine or bad chunk size.
    ImportError
        ``engine="dask"`` without the ``dask`` extra installed (the message says what to install).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
    _check_chunk_size(chunk_size)
    if len(zones) == 0:
        return func(zones, *args, **kwargs)
    if engine == "local":
        chunks = spatial_chunks(zones, chunk_size=chunk_size)
        parts = []
        for i, idx in enumerate(chunks, 1):
            parts.append(func(zones.iloc[idx], *args, **kwargs))
            if progress is not None:
                progress(i, len(chunks))
    else:
        parts = _run_dask(func, zones, chunk_size, args, kwargs, scheduler=scheduler, n_workers=n_workers)
    parts = _fill_missing_columns(parts, fill_values or {})
    return _assemble(parts, zones)


def _import_dask():
    try:
        import dask
        import dask_geopandas
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"engine='dask' needs dask-geopandas and distributed ({exc}); install them with pip install 'acv-geo[dask]'"
        ) from None
    return dask, dask_geopandas, distributed


@contextlib.contextmanager
def dask_client(scheduler: Any = None, *, n_workers: int | None = None) -> Iterator[Any]:
    """A ``dask.distributed`` client for one or many :func:`map_zones` calls.

    Parameters
    ----------
    scheduler : str or distributed.Client, optional
        Address of an existing scheduler (``"tcp://host:8786"``): connect to it. A ``Client``:
        use it as it is (left open). Default: start a local cluster of single-threaded worker
        processes, closed on exit.
    n_workers : int, optional
        Worker processes of the local cluster (default: the cores this process may use).

    Yields
    ------
    distributed.Client

    Examples
    --------
    One cluster for several steps (each :func:`map_zones` call would otherwise start its own)::

        with dask_client(n_workers=4) as client:
            a = map_zones(overlay_indicators, zones, "ppr.gpkg", engine="dask", scheduler=client)
            b = map_zones(zonal_indicators, zones, "landcover.tif", engine="dask", scheduler=client)
    """
    _, _, distributed = _import_dask()
    if n_workers is not None and (not isinstance(n_workers, (int, np.integer)) or n_workers < 1):
        raise ValueError(f"n_workers must be a whole number ≥ 1, got {n_workers!r}")
    if n_workers is not None and scheduler is not None:
        raise ValueError(
            "n_workers sizes a local cluster; with a scheduler address or client the cluster is yours: drop n_workers"
        )
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    cluster = None
    if scheduler is None:
        import dask

        # no dashboard, so no use for the workers' statistical profiler: it samples every
        # thread's stack each 10 ms and costs the tasks several per cent
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            cluster = distributed.LocalCluster(
                n_workers=n_workers or thread_count(),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                # each worker imports the geo stack while it starts (see dask_setup below), not
                # during its first task
                preload=[__name__],
            )
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def dask_setup(worker: Any = None) -> None:
    """Import the geo stack in a Dask worker as it starts (its ``preload`` hook).

    The local clusters of :func:`dask_client` preload this module, so the workers' first tasks do
    not each wait for geopandas, shapely, pyogrio, rasterio and exactextract to import (about half
    a second on a small machine). A package that is not installed is skipped: the task that needs
    it reports it.
    """
    import importlib

    modules = (
        "geopandas",
        "shapely",
        "pyogrio",
        "rasterio",
        "exactextract",
        "acv_geo.indicators.overlay",
        "acv_geo.indicators.zonal",
    )
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _pack(part) -> dict[str, Any]:
    """A chunk of zones as plain columns, geometries as WKB (much cheaper to ship than pickled shapes)."""
    import shapely

    geo = {
        c: (part[c].crs.to_wkt() if part[c].crs is not None else None)
        for c in part.columns
        if str(part[c].dtype) == "geometry"
    }
    # other columns keep their own array (categories, nullable and string dtypes survive as they are)
    columns = {c: (shapely.to_wkb(part[c].values) if c in geo else part[c].array) for c in part.columns}
    return {
        "columns": columns,
        "order": list(part.columns),
        "geo": geo,
        "active": part.geometry.name,
        "index": part.index,
        "attrs": dict(part.attrs),
    }


def _unpack(packed: dict[str, Any]):
    """The GeoDataFrame of :func:`_pack`, rebuilt on a worker."""
    import geopandas as gpd
    import shapely

    index = packed["index"]
    data = {}
    for c in packed["order"]:
        v = packed["columns"][c]
        if c in packed["geo"]:
            data[c] = gpd.GeoSeries(shapely.from_wkb(v), index=index, crs=packed["geo"][c])
        else:
            data[c] = pd.Series(v, index=index, name=c, copy=False)
    out = gpd.GeoDataFrame(data, index=index, geometry=packed["active"], crs=packed["geo"][packed["active"]])
    out.attrs.update(packed["attrs"])
    return out


def _balanced_chunk_size(n_zones: int, chunk_size: int, slots: int) -> int:
    """The chunk size that cuts ``n_zones`` into a multiple of ``slots`` equal chunks of at most ``chunk_size``.

    With 7 chunks on 2 workers, one worker runs 4 and the other waits during the last one; 8 slightly
    smaller chunks keep both busy to the end.

    Examples
    --------
    >>> _balanced_chunk_size(34738, 5000, 2)  # 8 chunks instead of 7
    4343
    >>> _balanced_chunk_size(100, 5000, 4)
    25
    >>> _balanced_chunk_size(3, 5000, 4)  # never below one zone per chunk
    1
    """
    slots = max(1, slots)
    rounds = math.ceil(n_zones / (slots * chunk_size))
    return max(1, math.ceil(n_zones / (rounds * slots)))


def _run_dask(func, zones, chunk_size, args, kwargs, *, scheduler, n_workers) -> list[pd.DataFrame]:
    import uuid

    dask, dask_geopandas, _ = _import_dask()
    import dask.dataframe as dd

    with dask_client(scheduler, n_workers=n_workers) as client:
        # as many equal chunks as keep every worker thread busy until the end
        slots = sum(client.nthreads().values())
        chunks = spatial_chunks(zones, chunk_size=_balanced_chunk_size(len(zones), chunk_size, slots))
        # A dask-geopandas GeoDataFrame whose partitions are exactly our spatial chunks, each shipped as
        # WKB columns and rebuilt on its worker; named explicitly, so dask does not hash the geometries.
        run = uuid.uuid4().hex
        pieces = [
            dask.delayed(_unpack, pure=True)(dask.delayed(_pack(zones.iloc[idx]), name=f"acv-geo-zones-{run}-{i}"))
            for i, idx in enumerate(chunks)
        ]
        ddf = dask_geopandas.from_dask_dataframe(dd.from_delayed(pieces, meta=zones.iloc[:0], verify_meta=False))
        tasks = [dask.delayed(func)(part, *args, **kwargs) for part in ddf.to_delayed(optimize_graph=False)]
        return list(client.compute(tasks, sync=True))
