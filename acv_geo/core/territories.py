"""Territories of France that host ACV towns, and the projected CRS of each.

One concept lives here: *which territory does an INSEE code belong to, and in which
projected CRS are its areas and distances measured*. Every module that measures
anything asks this module; none hard-codes an EPSG code.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

__all__ = [
    "TERRITORIES",
    "Territory",
    "local_crs",
    "territory_at",
    "territory_of",
    "territory_of_areas",
    "territory_of_department",
    "check_extent",
]


@dataclass(frozen=True)
class Territory:
    """A territory with its own projected CRS.

    Attributes
    ----------
    name : str
        Stable lowercase identifier (``"metropole"``, ``"guadeloupe"``, ...).
    label : str
        Human-readable French name.
    epsg : int
        EPSG code of the official projected CRS used for areas and distances.
    departments : tuple of str
        INSEE department codes that belong to the territory (empty for the mainland,
        which is "every department not listed elsewhere").
    bounds : tuple of float
        ``(min_lon, min_lat, max_lon, max_lat)`` in WGS84 covering the territory, used to
        detect positions that are not in it (map insets, swapped coordinates).
    """

    name: str
    label: str
    epsg: int
    departments: tuple[str, ...]
    bounds: tuple[float, float, float, float]


TERRITORIES: dict[str, Territory] = {
    t.name: t
    for t in (
        # Mainland and Corsica: RGF93 v1 / Lambert-93.
        Territory("metropole", "France métropolitaine", 2154, (), (-5.3, 41.2, 9.7, 51.2)),
        # Antilles: RGAF09 / UTM zone 20N.
        Territory("guadeloupe", "Guadeloupe", 5490, ("971",), (-61.9, 15.8, -60.9, 16.6)),
        Territory("martinique", "Martinique", 5490, ("972",), (-61.3, 14.3, -60.8, 14.9)),
        # Guyane: RGFG95 / UTM zone 22N.
        Territory("guyane", "Guyane", 2972, ("973",), (-54.7, 2.0, -51.5, 5.9)),
        # Réunion: RGR92 / UTM zone 40S.
        Territory("reunion", "La Réunion", 2975, ("974",), (55.2, -21.45, 55.9, -20.85)),
        # Mayotte: RGM04 / UTM zone 38S.
        Territory("mayotte", "Mayotte", 4471, ("976",), (44.9, -13.1, 45.35, -12.6)),
    )
}

_DEP_TO_TERRITORY = {dep: t.name for t in TERRITORIES.values() for dep in t.departments}


def territory_of_department(dep: str) -> str:
    """Territory name of an INSEE department code.

    Parameters
    ----------
    dep : str
        Department code as text (``"01"``, ``"2A"``, ``"971"``).

    Returns
    -------
    str
        One of the keys of :data:`TERRITORIES`.

    Examples
    --------
    >>> territory_of_department("974")
    'reunion'
    >>> territory_of_department("2B")
    'metropole'
    """
    return _DEP_TO_TERRITORY.get(str(dep), "metropole")


def territory_of(insee_com: str) -> str:
    """Territory name of a 5-character INSEE commune code.

    Parameters
    ----------
    insee_com : str
        INSEE commune code as text, already normalised (``"01053"``, ``"2A004"``, ``"97105"``).

    Returns
    -------
    str
        One of the keys of :data:`TERRITORIES`.

    Raises
    ------
    ValueError
        If the code is not a 5-character string.

    Examples
    --------
    >>> territory_of("97105")
    'guadeloupe'
    >>> territory_of("2A004")
    'metropole'
    """
    code = str(insee_com)
    if len(code) != 5:
        raise ValueError(
            f"INSEE commune code {insee_com!r} is not 5 characters long; normalise it first (acv_geo.normalize_insee)."
        )
    if code.startswith("97"):
        return territory_of_department(code[:3])
    return "metropole"


def territory_at(lon: ArrayLike, lat: ArrayLike) -> np.ndarray[Any, np.dtype[np.object_]]:
    """Territory of positions given in longitude/latitude (WGS84), for places without an INSEE code.

    A position inside the box of an overseas territory (:attr:`Territory.bounds`) belongs to it,
    one inside the mainland's box (Corsica included) to the mainland; a position in none of them
    (another overseas collectivity, projected coordinates read as degrees, NaN) gets ``None``:
    acv-geo has no CRS to measure it in. Use a point inside each area
    (``shapely.point_on_surface``), not its centroid, which may fall outside.

    Parameters
    ----------
    lon, lat : array-like of float
        Longitudes and latitudes (same length).

    Returns
    -------
    numpy.ndarray
        Territory names (object dtype), one per position; ``None`` outside every territory.

    Examples
    --------
    >>> territory_at([2.35, 55.45, -61.55, -56.2, 700000.0], [48.85, -21.1, 16.25, 46.8, 6600000.0]).tolist()
    ['metropole', 'reunion', 'guadeloupe', None, None]
    """
    import numpy as np

    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    out = np.full(x.shape, None, dtype=object)
    # overseas boxes after the mainland's: none of them overlaps it, the order only makes that explicit
    for name in ("metropole", *(n for n in TERRITORIES if n != "metropole")):
        x0, y0, x1, y1 = TERRITORIES[name].bounds
        out[(x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)] = name
    return out


def territory_of_areas(
    points: np.ndarray[Any, Any], labels: Sequence[Any], *, source: str, what: str, key: str, fix: str = ""
) -> np.ndarray[Any, np.dtype[np.object_]]:
    """:func:`territory_at` for points inside areas (lon/lat), refusing the areas outside every territory.

    Parameters
    ----------
    points : numpy.ndarray of shapely.Point
        One point inside each area, in longitude/latitude.
    labels : sequence
        The areas' identifiers, for the message.
    source, what, key : str
        Where the areas come from, what they are and what identifies them, for the message
        (``"polygons"``, ``"polygon"``, ``"row"``).
    fix : str, optional
        A remedy to add to the usual ones.

    Returns
    -------
    numpy.ndarray
        Territory names, one per point.

    Raises
    ------
    acv_geo.InputError
        If a point lies outside every territory: the message names up to five areas and their position.

    Examples
    --------
    >>> import shapely
    >>> pts = shapely.points([[2.35, 48.85], [55.45, -21.1]])
    >>> territory_of_areas(pts, ["75056", "97411"], source="demo", what="commune", key="INSEE").tolist()
    ['metropole', 'reunion']
    """
    import shapely

    from acv_geo.core.errors import InputError

    x, y = shapely.get_x(points), shapely.get_y(points)
    terr = territory_at(x, y)
    outside = [i for i, t in enumerate(terr) if t is None]
    if outside:
        where = ", ".join(f"{labels[i]} ({x[i]:.4f}, {y[i]:.4f})" for i in outside[:5])
        raise InputError(
            f"{source}: {len(outside)} {what}(s) lie outside mainland France and the five overseas departments "
            f"({key} and a point inside, lon/lat: {where}); acv-geo has no CRS to measure them in: remove them"
            + (f", check the layer's CRS, or {fix}" if fix else ", or check the layer's CRS")
        )
    return terr


def local_crs(territory: str) -> int:
    """EPSG code of the projected CRS in which a territory's areas and distances are measured.

    Parameters
    ----------
    territory : str
        A territory name: ``metropole``, ``guadeloupe``, ``martinique``, ``guyane``,
        ``reunion`` or ``mayotte``.

    Returns
    -------
    int
        2154, 5490, 5490, 2972, 2975 or 4471.

    Raises
    ------
    ValueError
        If ``territory`` is not a known name.

    Examples
    --------
    >>> local_crs("metropole")
    2154
    >>> local_crs("mayotte")
    4471
    """
    try:
        return TERRITORIES[territory].epsg
    except KeyError:
        raise ValueError(f"unknown territory {territory!r}; expected one of {sorted(TERRITORIES)}") from None


@functools.lru_cache(maxsize=64)
def _area_of_use_bounds(wkt: str) -> tuple[float, float, float, float] | None:
    """Bounds, in the CRS itself, of the area where the CRS ``wkt`` is used (cached: building a transformer is slow)."""
    import math

    import pyproj

    crs = pyproj.CRS.from_wkt(wkt)
    area = crs.area_of_use
    if area is None:
        return None
    tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    try:
        bounds = tr.transform_bounds(area.west, area.south, area.east, area.north, densify_pts=21)
    except pyproj.exceptions.ProjError:
        return None
    return bounds if all(math.isfinite(v) for v in bounds) else None


def check_extent(bounds: Sequence[float], crs: Any, *, source: str, raster: bool = False) -> None:
    """Refuse data whose extent is impossible in its declared CRS (coordinates made in another CRS).

    A layer holding Lambert-93 metres but declaring EPSG:4326 would otherwise overlap nothing and
    give 0 % everywhere. Checked at the door of every vector and raster reader.

    Parameters
    ----------
    bounds : sequence of float
        ``(minx, miny, maxx, maxy)`` in the declared CRS; empty or non-finite bounds are not checked.
    crs : pyproj.CRS or anything pyproj accepts
        The declared CRS.
    source : str
        The file or layer, for the message.
    raster : bool, default False
        The message's fix is for a raster (``gdal_edit.py -a_srs``) instead of a vector layer.

    Raises
    ------
    acv_geo.InputError
        Degrees outside ±180/±90 for a geographic CRS, or an extent far outside the area where a
        projected CRS is used (more than its own size away).

    Examples
    --------
    >>> check_extent((3.2, 43.2, 3.6, 43.5), 4326, source="ok.gpkg")
    >>> check_extent((750662, 6252724, 791000, 6290000), 4326, source="bad.gpkg")
    Traceback (most recent call last):
    ...
    acv_geo.core.errors.InputError: bad.gpkg: its coordinates (750662, 6252724 … 791000, 6290000) are impossible in
    EPSG:4326 (WGS 84), which counts degrees ...: assign the CRS they were made in ...
    """
    import math

    import pyproj

    from acv_geo.core.errors import InputError

    try:
        b = [float(v) for v in bounds]
    except (TypeError, ValueError):
        return
    if len(b) != 4 or not all(math.isfinite(v) for v in b):
        return
    crs = pyproj.CRS.from_user_input(crs)
    name = f"{crs.to_string() if crs.to_epsg() is None else f'EPSG:{crs.to_epsg()}'} ({crs.name})"
    num = [f"{v:.0f}" if abs(v) >= 1000 else f"{v:.6g}" for v in b]
    shown = f"({num[0]}, {num[1]} … {num[2]}, {num[3]})"
    tool = "gdal_edit.py -a_srs EPSG:2154 FILE" if raster else "ogr2ogr -a_srs EPSG:2154 …"
    fix = f"assign the CRS they were made in ({tool}, or QGIS 'Assign projection'), then run again"
    if crs.is_geographic:
        if b[0] < -180.5 or b[2] > 360.5 or b[1] < -90.5 or b[3] > 90.5:
            raise InputError(
                f"{source}: its coordinates {shown} are impossible in {name}, which counts degrees "
                "(longitude −180…180, latitude −90…90); they were made in another CRS (metres such as "
                f"Lambert-93, EPSG:2154?): {fix}"
            )
        return
    area = crs.area_of_use
    use = _area_of_use_bounds(crs.to_wkt())
    if area is None or use is None:
        return
    x0, y0, x1, y1 = use
    w, h = x1 - x0, y1 - y0
    if b[2] < x0 - w or b[0] > x1 + w or b[3] < y0 - h or b[1] > y1 + h:
        raise InputError(
            f"{source}: its coordinates {shown} lie far outside the area where {name} is used "
            f"({area.name.rstrip('.')}); they were made in another CRS: {fix}"
        )
