"""Every French commune, beyond the ACV sample: points, or polygons where a layer gives them.

:func:`france_communes` is :func:`acv_geo.read_all_communes` with commune polygons swapped in (for
contiguity weights); :func:`keyed_polygons` reads any polygon layer keyed by ``insee_com`` or
``siren_epci`` (codes normalised, one polygon per code).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from acv_geo.core.codes import normalize_insee, normalize_siren
from acv_geo.core.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["POLYGON_KEYS", "france_communes", "keyed_polygons"]

#: Keys a polygon layer can be indexed by: INSEE commune codes, EPCI SIREN numbers.
POLYGON_KEYS: tuple[str, ...] = ("insee_com", "siren_epci")


def keyed_polygons(polygons: Any, key: str) -> gpd.GeoDataFrame:
    """Polygons indexed by normalised ``key`` codes, one per code.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or path
        A layer with a ``key`` column or index, or a file geopandas reads.
    key : {"insee_com", "siren_epci"}
        The code of each polygon; normalised with :func:`acv_geo.normalize_insee` or
        :func:`acv_geo.normalize_siren`. Rows without a valid code and repeated codes are dropped.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``key``, a copy.

    Raises
    ------
    FileNotFoundError
        If a path is given that does not exist.
    acv_geo.InputError
        If ``polygons`` is neither a GeoDataFrame nor a path, or has no ``key``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> layer = gpd.GeoDataFrame({"insee_com": ["1001", "01001", "2A004"]},
    ...                          geometry=[shapely.box(0, 0, 1, 1)] * 3, crs=2154)
    >>> keyed_polygons(layer, "insee_com").index.tolist()
    ['01001', '2A004']
    """
    import geopandas as gpd

    if isinstance(polygons, (str, os.PathLike)):
        path = Path(polygons)
        if not path.exists():
            raise FileNotFoundError(f"{path}: polygon file not found")
        polygons = gpd.read_file(path)
    if not isinstance(polygons, gpd.GeoDataFrame):
        raise InputError(f"polygons must be a GeoDataFrame or a file path, got {type(polygons).__name__}")
    if polygons.index.name != key:
        if key not in polygons.columns:
            raise InputError(f"polygons have no {key!r} column or index; give a layer keyed by {key}")
        polygons = polygons.set_index(key)
    norm = normalize_insee if key == "insee_com" else normalize_siren
    idx = norm(pd.Series(polygons.index.astype(object), index=polygons.index))
    polygons = polygons.copy()
    polygons.index = pd.Index(idx.to_numpy(dtype=object), name=key)
    return polygons[polygons.index.notna() & ~polygons.index.duplicated()]


def france_communes(
    *,
    opendata: bool = True,
    observatory: str | os.PathLike[str] = "odater_2022",
    polygons: Any = None,
) -> gpd.GeoDataFrame:
    """Every French commune (34,867), ready for :func:`acv_geo.local_clusters` beyond the ACV sample.

    :func:`acv_geo.read_all_communes` (representative points, open-data status from the
    observatory), with commune polygons swapped in when ``polygons`` is given (for queen/rook).

    Parameters
    ----------
    opendata : bool, default True
        Derive the open-data columns (``opendata``, ``opendata_com``, ``opendata_epci``, ...)
        from ``observatory``; False leaves them NA.
    observatory : str or path-like, default ``"odater_2022"``
        ODATER export passed to :func:`acv_geo.opendata_status`.
    polygons : geopandas.GeoDataFrame or path, optional
        Commune polygons keyed by ``insee_com`` (e.g. IGN ADMIN EXPRESS COG, the
        ``communes_cog2025.gpkg`` file). Communes absent from it keep their point
        (``geometry_source == "point"``); contiguity then names them: drop them or supply their
        polygons.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``insee_com``, EPSG:4326, the columns of :func:`acv_geo.read_all_communes` plus
        ``geometry_source`` (``"point"`` or ``"polygon"``).

    Examples
    --------
    >>> import acv_geo
    >>> allc = france_communes(opendata=False, polygons=acv_geo.get_path("acv_communes_polygons"))
    >>> len(allc), allc["geometry_source"].value_counts().to_dict()
    (34867, {'point': 34623, 'polygon': 244})
    """
    import geopandas as gpd

    from acv_geo.read.communes import read_all_communes

    out = read_all_communes(observatory=observatory if opendata else None)
    out = out.to_crs(4326)
    out["geometry_source"] = "point"
    if polygons is not None:
        polys = keyed_polygons(polygons, "insee_com").to_crs(4326)
        geo = polys.geometry.reindex(out.index)
        has = geo.notna().to_numpy() & ~geo.is_empty.fillna(True).to_numpy()
        new = out.geometry.to_numpy().copy()
        new[has] = geo.to_numpy()[has]
        out = out.set_geometry(gpd.GeoSeries(new, index=out.index, crs=4326))
        out.loc[has, "geometry_source"] = "polygon"
    return out
