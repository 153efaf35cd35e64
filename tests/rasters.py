"""Small GeoTIFFs written for the tests (one band, its size from the array)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio


def write_geotiff(
    path: Path, array: Any, *, transform: Any, nodata: Any, crs: Any = "EPSG:2154", dtype: Any = None
) -> Path:
    """Write the 2-D ``array`` as a one-band GeoTIFF at ``path``; return the path."""
    arr = np.asarray(array)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[1],
        height=arr.shape[0],
        count=1,
        dtype=dtype or arr.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as ds:
        ds.write(arr, 1)
    return Path(path)
