"""Raster files for the indicators: opening them with clear errors, and the pixel window zones need.

:func:`open_raster` turns a path or an open ``rasterio`` dataset into a dataset (checking that the
file is a raster GDAL reads and that it lies in a French territory), :func:`check_grid` refuses
what zonal statistics cannot place (a band the raster lacks, no CRS, a rotated grid), and
:func:`raster_window` is the smallest pixel window holding a set of geometries.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from acv_geo.core.errors import InputError
from acv_geo.core.territories import check_extent

__all__ = ["check_grid", "open_raster", "raster_window"]


def open_raster(raster: Any) -> tuple[Any, bool, str]:
    """Open a raster given as a path, or take an open ``rasterio`` dataset as it is.

    Parameters
    ----------
    raster : str, path-like or rasterio dataset
        A file GDAL can read, or an open dataset (left open by the caller).

    Returns
    -------
    tuple
        ``(dataset, must_close, label)``: ``must_close`` is True when this function opened the
        file (the caller closes it), ``label`` names the raster in messages.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    InputError
        Not a raster GDAL can read, a raster lying outside every French territory, a closed
        dataset, or something that is neither a path nor a dataset.

    Examples
    --------
    >>> from acv_geo import get_path
    >>> ds, must_close, label = open_raster(get_path("dem_n45e005"))
    >>> ds.count, must_close, label.endswith(".tif")
    (1, True, True)
    >>> ds.close()
    """
    import rasterio

    if isinstance(raster, (str, os.PathLike)):
        return _open_path(Path(raster))
    if isinstance(raster, rasterio.io.DatasetReaderBase):
        if raster.closed:
            raise InputError(f"{raster.name}: the rasterio dataset is closed; pass an open dataset or a path")
        return raster, False, str(raster.name)
    raise InputError(f"raster must be a file path or an open rasterio dataset, not {type(raster).__name__}")


def _open_path(path: Path) -> tuple[Any, bool, str]:
    import rasterio
    from rasterio.errors import RasterioIOError

    if not path.exists():
        raise FileNotFoundError(f"{path}: raster file not found")
    try:
        ds = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputError(
            f"{path}: not a raster GDAL can read ({exc}); give a GeoTIFF or another GDAL raster "
            "format (DEM, land cover, hazard grid)"
        ) from None
    if ds.crs is not None:
        try:
            check_extent(ds.bounds, ds.crs.to_wkt(), source=str(path), raster=True)
        except InputError:
            ds.close()
            raise
    return ds, True, str(path)


def check_grid(ds: Any, label: str, band: int) -> None:
    """Refuse a raster zones cannot be placed on: missing band, no CRS, rotated grid.

    Parameters
    ----------
    ds : rasterio dataset
        The open raster.
    label : str
        Its name in messages (as :func:`open_raster` gives it).
    band : int
        The 1-based band asked for.

    Raises
    ------
    ValueError
        The raster has fewer than ``band`` bands.
    InputError
        The raster has no CRS, or its grid is rotated.

    Examples
    --------
    >>> from acv_geo import get_path
    >>> ds, _, label = open_raster(get_path("dem_n45e005"))
    >>> check_grid(ds, label, 1)
    >>> check_grid(ds, "dem.tif", 2)
    Traceback (most recent call last):
    ...
    ValueError: dem.tif: band 2 asked, the raster has 1 band(s)
    >>> ds.close()
    """
    if band > ds.count:
        raise ValueError(f"{label}: band {band} asked, the raster has {ds.count} band(s)")
    if ds.crs is None:
        raise InputError(
            f"{label}: raster has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:2154 {Path(label).name}) "
            "so zones can be placed on it"
        )
    gt = ds.transform
    if gt.b != 0 or gt.d != 0:
        raise InputError(f"{label}: rotated raster grids are not supported; warp it to a north-up grid first")


def raster_window(ds: Any, geoms: np.ndarray) -> Any | None:
    """Smallest pixel window of ``ds`` holding every geometry's bounds, one pixel of margin around.

    Parameters
    ----------
    ds : rasterio dataset
        The raster.
    geoms : numpy.ndarray of shapely geometries
        Geometries in the raster's CRS.

    Returns
    -------
    rasterio.windows.Window or None
        None when no geometry overlaps the raster.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> from acv_geo import get_path
    >>> ds, _, _ = open_raster(get_path("dem_n45e005"))
    >>> raster_window(ds, np.array([shapely.box(5.90, 45.55, 5.95, 45.60)]))
    Window(col_off=448, row_off=199, width=28, height=28)
    >>> raster_window(ds, np.array([shapely.box(3.0, 43.0, 3.1, 43.1)])) is None
    True
    >>> ds.close()
    """
    import shapely
    from rasterio.windows import Window, from_bounds

    b = shapely.bounds(geoms)
    left, bottom, right, top = ds.bounds
    xmin, ymin = np.nanmin(b[:, 0]), np.nanmin(b[:, 1])
    xmax, ymax = np.nanmax(b[:, 2]), np.nanmax(b[:, 3])
    xmin, ymin, xmax, ymax = max(xmin, left), max(ymin, bottom), min(xmax, right), min(ymax, top)
    if xmin >= xmax or ymin >= ymax:
        return None
    win = from_bounds(xmin, ymin, xmax, ymax, transform=ds.transform)
    col0 = max(int(math.floor(win.col_off)) - 1, 0)
    row0 = max(int(math.floor(win.row_off)) - 1, 0)
    col1 = min(int(math.ceil(win.col_off + win.width)) + 1, ds.width)
    row1 = min(int(math.ceil(win.row_off + win.height)) + 1, ds.height)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)
