"""Zones of analysis around the ACV cities: commune polygon, EPCI polygon or a buffer.

Every indicator that measures something "in the city" (overlay of a risk layer, zonal statistics
of a raster) first asks :func:`make_zones` for one polygon per city, or :func:`polygon_zones` for
one zone per polygon of a layer (every EPCI, every commune, your own areas). The zones are returned in
EPSG:4326 with the city point beside them; measuring functions reproject them, territory by
territory, to :func:`acv_geo.core.territories.local_crs`. A city whose zone cannot be built keeps its
row, with an empty geometry and a ``zone_reason``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError
from acv_geo.core.territories import TERRITORIES, local_crs, territory_of, territory_of_areas

__all__ = [
    "POLYGON_KINDS",
    "ZONE_COLUMNS",
    "ZONE_KINDS",
    "check_zones",
    "make_zones",
    "parse_zone_spec",
    "polygon_zones",
    "zone_report",
]

log = logging.getLogger("acv_geo")

#: Allowed zone kinds.
ZONE_KINDS = ("commune", "epci", "buffer")
#: What the polygons given to :func:`polygon_zones` may be.
POLYGON_KINDS = ("polygon", "commune", "epci")
_REPORT = "acv_geo_zones"
_SPEC_FORMS = "'commune', 'epci' or 'buffer:METERS' (e.g. 'buffer:500')"


def parse_zone_spec(spec: str) -> tuple[str, float | None]:
    """Parse a zone specification as given on the command line.

    Parameters
    ----------
    spec : str
        ``"commune"``, ``"epci"`` or ``"buffer:METERS"`` with a positive radius in metres.

    Returns
    -------
    tuple
        ``(kind, radius)``; ``radius`` is ``None`` unless ``kind == "buffer"``.

    Raises
    ------
    ValueError
        If the specification is not one of the allowed forms.

    Examples
    --------
    >>> parse_zone_spec("buffer:500")
    ('buffer', 500.0)
    >>> parse_zone_spec("commune")
    ('commune', None)
    """
    if not isinstance(spec, str):
        raise ValueError(f"zone specification {spec!r} is not text; use {_SPEC_FORMS}")
    text = spec.strip().lower()
    if text in ("commune", "epci"):
        return text, None
    if text.startswith("buffer:"):
        raw = text.split(":", 1)[1].strip().removesuffix("m")
        try:
            radius = float(raw)
        except ValueError:
            radius = math.nan
        if math.isfinite(radius) and radius > 0:
            return "buffer", radius
        raise ValueError(
            f"zone specification {spec!r}: the buffer radius must be a positive number of metres; use {_SPEC_FORMS}"
        )
    raise ValueError(f"unknown zone specification {spec!r}; use {_SPEC_FORMS}")


def zone_report(zones: pd.DataFrame) -> dict[str, Any]:
    """Report of how zones were built (kind, radius, repaired polygons, cities without zone).

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Result of :func:`make_zones`.

    Returns
    -------
    dict
        Keys ``kind, radius, n_zones, n_repaired, repaired, n_missing, missing, n_not_built``
        (``n_not_built``: cities left out by ``make_zones(..., only=...)``, reason :data:`NOT_BUILT`).
    """
    return dict(zones.attrs.get(_REPORT, {}))


def _check_cities(cities: Any) -> Any:
    import geopandas as gpd

    if not isinstance(cities, gpd.GeoDataFrame):
        raise InputError(
            f"cities must be a GeoDataFrame of points indexed by insee_com (got {type(cities).__name__}); "
            "read them with acv_geo.read_acv()"
        )
    if cities.crs is None:
        raise InputError(
            "cities have no CRS; set it (cities.set_crs(4326) for longitude/latitude) or read them "
            "with acv_geo.read_acv()"
        )
    if not cities.index.is_unique:
        dup = cities.index[cities.index.duplicated()].unique().tolist()[:5]
        raise InputError(f"cities: index (insee_com) has duplicated codes {dup}; keep one row per city")
    return cities


def _territories(cities: Any) -> np.ndarray:
    if "territory" in cities.columns:
        terr = cities["territory"].astype(object).to_numpy()
    else:
        terr = np.array([None] * len(cities), dtype=object)
    out = terr.copy()
    for i, (code, t) in enumerate(zip(cities.index, terr, strict=True)):
        if t is None or (isinstance(t, float) and math.isnan(t)) or t is pd.NA:
            try:
                out[i] = territory_of(str(code))
            except ValueError:
                raise InputError(
                    f"cities: row {code!r} has no 'territory' and its index is not a 5-character INSEE "
                    "code; add a 'territory' column (one of "
                    f"{sorted(TERRITORIES)}) or index the cities by insee_com"
                ) from None
        elif t not in TERRITORIES:
            raise InputError(
                f"cities: row {code!r}, column 'territory' holds {t!r}; expected one of {sorted(TERRITORIES)}"
            )
    return out


def _polygonal(geom: Any) -> Any:
    """Polygonal part of a geometry (make_valid may return collections with lines)."""
    import shapely

    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def _repair(geoms: np.ndarray, labels: list) -> tuple[np.ndarray, list]:
    """make_valid invalid polygons; return the geometries and the labels repaired."""
    import shapely

    geoms = np.asarray(geoms, dtype=object).copy()
    present = ~shapely.is_missing(geoms)
    # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
    invalid = present & ~shapely.is_valid(np.where(present, geoms, None))  # type: ignore[call-overload]
    repaired = []
    for i in np.flatnonzero(invalid):
        geoms[i] = _polygonal(shapely.make_valid(geoms[i]))
        repaired.append(labels[i])
    return geoms, repaired


def _lookup(source: Any, key: str, what: str) -> Any:
    """Source polygons indexed by ``key`` in EPSG:4326."""
    import geopandas as gpd

    if not isinstance(source, gpd.GeoDataFrame):
        raise InputError(f"{what} must be a GeoDataFrame of polygons (got {type(source).__name__})")
    if source.crs is None:
        raise InputError(f"{what} polygons have no CRS; set it with .set_crs(...) before building zones")
    gdf = source
    if gdf.index.name != key:
        if key in gdf.columns:
            gdf = gdf.set_index(key)
        else:
            raise InputError(
                f"{what} polygons have no {key!r} index or column (columns: {list(gdf.columns)}); index them by {key}"
            )
    gdf = gdf[~gdf.index.isna()]
    gdf = gdf[~gdf.index.duplicated()]
    gdf.index = gdf.index.astype(str)
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    return gdf.geometry


def make_zones(
    cities: Any,
    *,
    kind: str = "commune",
    radius: float | None = None,
    communes: Any = None,
    epci: Any = None,
    only: Any = None,
) -> Any:
    """One zone of analysis per city: its commune, its EPCI, or a buffer around its point.

    Parameters
    ----------
    cities : geopandas.GeoDataFrame
        Cities indexed by ``insee_com`` with point geometry (any CRS, usually EPSG:4326), a
        ``territory`` column (derived from the INSEE code if absent) and, for ``kind="epci"``,
        ``siren_epci`` (as :func:`acv_geo.read_acv` returns).
    kind : {"commune", "epci", "buffer"}, default "commune"
        Commune polygon (joined on ``insee_com``), EPCI polygon (joined on ``siren_epci``) or a
        disc of ``radius`` metres around the city point, drawn in the territory's projected CRS.
    radius : float, optional
        Buffer radius in metres; required for ``kind="buffer"``, refused otherwise.
    communes : geopandas.GeoDataFrame, optional
        Commune polygons indexed by (or with a column) ``insee_com``; default: the embedded
        polygons of the 244 ACV communes (:func:`acv_geo.read_communes`).
    epci : geopandas.GeoDataFrame, optional
        EPCI polygons indexed by (or with a column) ``siren_epci``; default: the embedded 1,255
        EPCIs (:func:`acv_geo.read_epci`).
    only : array-like of bool, optional
        The cities whose zone is built (aligned with ``cities``); the others get an empty zone and
        the reason :data:`NOT_BUILT`. For sources that cover part of France only: a layer of one
        department measures a few hundred of the 34,867 communes, whose buffers alone are worth
        building. Default: every city.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed exactly like ``cities``; EPSG:4326 ``geometry`` (the zone polygon, empty when it
        cannot be built), ``territory``, ``zone_kind``, ``city_point`` (EPSG:4326 GeoSeries) and
        ``zone_reason`` (text, ``<NA>`` when the zone exists). ``attrs["acv_geo_zones"]`` reports
        invalid polygons repaired with ``shapely.make_valid`` and cities without zone (see
        :func:`zone_report`).

    Raises
    ------
    ValueError
        If ``kind`` or ``radius`` is not allowed.
    InputError
        If ``cities`` is not a GeoDataFrame with a CRS and unique index, or lacks ``siren_epci``
        for EPCI zones.

    Examples
    --------
    >>> import acv_geo
    >>> zones = make_zones(acv_geo.read_acv(), kind="buffer", radius=500)
    >>> zones.loc["34003", "zone_kind"], zones.crs.to_epsg()
    ('buffer', 4326)
    >>> towns = acv_geo.read_acv()
    >>> part = make_zones(towns, kind="buffer", radius=500, only=towns["code_dep"] == "34")
    >>> int((~part.geometry.is_empty).sum()), part.loc["80001", "zone_reason"] == NOT_BUILT
    (5, True)
    """
    import geopandas as gpd

    _check_kind(kind, radius, communes, epci)
    radius = float(radius) if radius is not None else None
    cities = _check_cities(cities)
    terr = _territories(cities)
    codes = [str(c) for c in cities.index]
    pts = cities.geometry
    if not pts.crs.equals("EPSG:4326"):
        pts = pts.to_crs(4326)
    pts_arr = np.asarray(pts.values, dtype=object)
    todo = _only_mask(only, cities)
    geoms, reasons = _empty_zones(len(codes))
    sub = np.flatnonzero(todo)
    sub_codes = [codes[i] for i in sub]
    if kind == "commune":
        built = _commune_polygons(sub_codes, communes)
    elif kind == "epci":
        built = _epci_polygons(cities.iloc[sub], sub_codes, epci)
    else:
        assert radius is not None  # _check_kind asked for it
        built = _buffers(pts_arr[sub], terr[sub], sub_codes, radius)
    geoms[sub] = built[0]
    for i, reason in zip(sub, built[1], strict=True):
        reasons[i] = reason
    for i in np.flatnonzero(~todo):
        reasons[i] = NOT_BUILT
    geoms, repaired = _repair_all(geoms, codes, kind, reasons)
    zones = gpd.GeoDataFrame(
        {
            "territory": pd.array(terr.astype(str), dtype=object),
            "zone_kind": kind,
            "zone_reason": pd.Series(reasons, index=cities.index, dtype=object).to_numpy(),
        },
        geometry=gpd.GeoSeries(geoms, index=cities.index, crs=4326),
        index=cities.index.copy(),
        crs=4326,
    )
    zones["city_point"] = gpd.GeoSeries(pts_arr, index=cities.index, crs=4326)
    zones.index.name = "insee_com"
    missing = [c for c, r in zip(codes, reasons, strict=True) if r is not pd.NA and r != NOT_BUILT]
    zones.attrs[_REPORT] = _report(kind, radius, int(todo.sum()), repaired, missing, not_built=int((~todo).sum()))
    return zones


#: ``zone_reason`` of a city left out by ``make_zones(..., only=...)``.
NOT_BUILT = "zone not built: no source measures this city on these zones"


def _only_mask(only: Any, cities: Any) -> np.ndarray:
    """``only`` as a boolean array aligned with ``cities`` (every city when None)."""
    if only is None:
        return np.ones(len(cities), dtype=bool)
    if isinstance(only, pd.Series):
        only = only.reindex(cities.index)
    mask = np.asarray(pd.array(only, dtype="boolean").fillna(False), dtype=bool)
    if mask.shape != (len(cities),):
        raise ValueError(f"only= must hold one True/False per city ({len(cities)}), got shape {mask.shape}")
    return mask


def _report(
    kind: str, radius: float | None, n: int, repaired: list, missing: list, not_built: int = 0
) -> dict[str, Any]:
    """What :func:`zone_report` returns."""
    return {
        "kind": kind,
        "radius": radius,
        "n_zones": n - len(missing),
        "n_repaired": len(repaired),
        "repaired": repaired,
        "n_missing": len(missing),
        "missing": missing,
        "n_not_built": not_built,
    }


def _check_kind(kind: str, radius: Any, communes: Any, epci: Any) -> None:
    """Refuse a zone kind, radius or polygon source that do not go together."""
    if kind not in ZONE_KINDS:
        raise ValueError(f"unknown zone kind {kind!r}; expected one of {list(ZONE_KINDS)}")
    if kind == "buffer":
        if radius is None or isinstance(radius, bool):
            raise ValueError("kind='buffer' needs radius=METERS (a positive number), e.g. radius=500")
        try:
            value = float(radius)
        except (TypeError, ValueError):
            raise ValueError(f"radius must be a positive number of metres, got {radius!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"radius must be a positive number of metres, got {value!r}")
    elif radius is not None:
        raise ValueError(f"radius={radius!r} is only allowed with kind='buffer' (got kind={kind!r})")
    if kind != "commune" and communes is not None:
        raise ValueError(f"communes= is only used with kind='commune' (got kind={kind!r})")
    if kind != "epci" and epci is not None:
        raise ValueError(f"epci= is only used with kind='epci' (got kind={kind!r})")


def _empty_zones(n: int) -> tuple[np.ndarray, list[object]]:
    import shapely

    return np.array([shapely.Polygon()] * n, dtype=object), [pd.NA] * n


def _commune_polygons(codes: list[str], communes: Any) -> tuple[np.ndarray, list[object]]:
    """Each city's commune polygon (joined on insee_com), and why it is missing."""
    if communes is None:
        from acv_geo.read.communes import read_communes

        communes = read_communes()
        what = "embedded commune polygons (acv_geo.read_communes())"
    else:
        what = "communes"
    import shapely

    src = _lookup(communes, "insee_com", what)
    geoms, reasons = _empty_zones(len(codes))
    found = np.asarray(src.reindex(pd.Index(codes, dtype=object)).to_numpy(), dtype=object)
    missing = pd.isna(found)
    missing[~missing] = shapely.is_empty(found[~missing].astype(object))
    geoms[~missing] = found[~missing]
    for i in np.flatnonzero(missing):
        reasons[i] = f"no commune polygon for INSEE {codes[i]} in {what}"
    return geoms, reasons


def _epci_polygons(cities: Any, codes: list[str], epci: Any) -> tuple[np.ndarray, list[object]]:
    """Each city's EPCI polygon (joined on siren_epci), and why it is missing."""
    from acv_geo.core.codes import normalize_siren

    if "siren_epci" not in cities.columns:
        raise InputError(
            f"cities have no 'siren_epci' column (columns: {list(cities.columns)}); EPCI zones join "
            "cities to EPCI polygons by SIREN; read the cities with acv_geo.read_acv()"
        )
    if epci is None:
        from acv_geo.read.communes import read_epci

        epci = read_epci()
        what = "embedded EPCI polygons (acv_geo.read_epci())"
    else:
        what = "epci"
    src = _lookup(epci, "siren_epci", what)
    sirens = normalize_siren(cities["siren_epci"].astype(object))
    geoms, reasons = _empty_zones(len(codes))
    for i, (code, siren) in enumerate(zip(codes, sirens, strict=True)):
        if siren is None:
            reasons[i] = f"city {code} has no EPCI SIREN (column siren_epci)"
            continue
        g = src.get(siren)
        if g is None or g.is_empty:
            reasons[i] = f"no EPCI polygon for SIREN {siren} in {what}"
        else:
            geoms[i] = g
    return geoms, reasons


def _buffers(pts: np.ndarray, terr: np.ndarray, codes: list[str], radius: float) -> tuple[np.ndarray, list[object]]:
    """A disc of ``radius`` metres around each city point, drawn in its territory's projected CRS."""
    import geopandas as gpd

    geoms, reasons = _empty_zones(len(codes))
    for t in pd.unique(terr):
        idx = np.flatnonzero(terr == t)
        sub = gpd.GeoSeries(pts[idx], crs=4326)
        ok = ~(sub.isna() | sub.is_empty).to_numpy()
        if ok.any():
            local = sub[ok].to_crs(local_crs(t))
            geoms[idx[ok]] = np.asarray(local.buffer(radius, resolution=32).to_crs(4326).values)
        for i in idx[~ok]:
            reasons[i] = f"city {codes[i]} has no point geometry: cannot draw a {radius:g} m buffer"
    return geoms, reasons


def _repair_all(geoms: np.ndarray, codes: list[str], kind: str, reasons: list[object]) -> tuple[np.ndarray, list]:
    """Invalid polygons repaired; a polygon left empty gets a reason (``reasons`` is completed in place)."""
    import shapely

    geoms, repaired = _repair(geoms, codes)
    geoms = np.array([shapely.Polygon() if g is None else g for g in geoms], dtype=object)
    for i, g in enumerate(geoms):
        if g.is_empty and reasons[i] is pd.NA:
            reasons[i] = f"the {kind} polygon of city {codes[i]} is empty after repair"
    if repaired:
        log.info("zones: %d invalid %s polygons repaired with make_valid: %s", len(repaired), kind, repaired)
    return geoms, repaired


def polygon_zones(polygons: Any, *, kind: str = "polygon") -> Any:
    """One zone per polygon of a layer: every EPCI, every commune, or your own areas.

    :func:`make_zones` gives each *city* a zone; this gives each *polygon* its own row, so the
    indicator functions (:func:`acv_geo.overlay_indicators`, :func:`acv_geo.zonal_indicators`,
    :func:`acv_geo.pipeline.engine.map_zones`) measure, for instance, all 1,255 EPCIs of France.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Polygons in any CRS with a unique index, kept as the zones' index (``siren_epci`` from
        :func:`acv_geo.read_epci`, ``insee_com`` from :func:`acv_geo.read_communes`). A
        ``territory`` column is used where it has a value; elsewhere the territory comes from a
        point inside the polygon (:func:`acv_geo.core.territories.territory_at`). A polygon without
        area and without a given territory is labelled ``metropole``; it is not measured (its
        ``zone_reason`` says why).
    kind : {"polygon", "commune", "epci"}, default "polygon"
        What the polygons are; it names the zones in the indicators' descriptions.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed exactly like ``polygons``; EPSG:4326 ``geometry`` (invalid polygons repaired with
        ``shapely.make_valid``, the areal part only; empty with a ``zone_reason`` when there is
        none), ``territory``, ``zone_kind``, ``zone_reason`` and ``city_point``: a point inside
        each polygon, from which the nearest-feature distances are measured.

    Raises
    ------
    ValueError
        If ``kind`` is not one of :data:`POLYGON_KINDS`.
    InputError
        If ``polygons`` is not a GeoDataFrame with a CRS and a unique index, a ``territory`` value
        is unknown, or a polygon lies outside every territory (the message names the rows).

    Examples
    --------
    >>> import acv_geo
    >>> zones = polygon_zones(acv_geo.read_epci(), kind="epci")
    >>> len(zones), zones.index.name, zones.loc["249740077", "territory"]
    (1255, 'siren_epci', 'reunion')
    """
    import geopandas as gpd

    _check_polygons(polygons, kind)
    geo = polygons.geometry
    if not geo.crs.equals("EPSG:4326"):
        geo = geo.to_crs(4326)
    labels = [str(v) for v in polygons.index]
    geoms, reasons, repaired = _areal_parts(np.asarray(geo.values, dtype=object).copy(), labels)
    points, terr = _inner_points_and_territories(polygons, geoms, labels)
    if repaired:
        log.info("zones: %d invalid %s polygons repaired with make_valid: %s", len(repaired), kind, repaired)
    zones = gpd.GeoDataFrame(
        {
            "territory": pd.array(terr.astype(str), dtype=object),
            "zone_kind": kind,
            "zone_reason": np.array(reasons, dtype=object),
        },
        geometry=gpd.GeoSeries(geoms, index=polygons.index, crs=4326),
        index=polygons.index.copy(),
        crs=4326,
    )
    zones["city_point"] = gpd.GeoSeries(points, index=polygons.index, crs=4326)
    without = [c for c, r in zip(labels, reasons, strict=True) if r is not pd.NA]
    zones.attrs[_REPORT] = _report(kind, None, len(labels), repaired, without)
    return zones


def _check_polygons(polygons: Any, kind: str) -> None:
    import geopandas as gpd

    if kind not in POLYGON_KINDS:
        raise ValueError(f"unknown polygon kind {kind!r}; expected one of {list(POLYGON_KINDS)}")
    if not isinstance(polygons, gpd.GeoDataFrame):
        raise InputError(
            f"polygons must be a GeoDataFrame (got {type(polygons).__name__}); read them with "
            "acv_geo.read_epci(), acv_geo.read_communes() or geopandas.read_file()"
        )
    if polygons.crs is None:
        raise InputError("polygons have no CRS; set it with .set_crs(...) before building zones")
    if not polygons.index.is_unique:
        dup = polygons.index[polygons.index.duplicated()].unique().tolist()[:5]
        raise InputError(
            f"polygons: index {polygons.index.name or ''} has duplicated values {dup}; keep one row per zone"
        )


def _areal_parts(geoms: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[object], list]:
    """Polygons repaired, their areal part only; why a polygon is left empty; the labels repaired."""
    import shapely

    reasons: list[object] = [pd.NA] * len(geoms)
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        reasons[i] = f"polygon {labels[i]} has no geometry"
        geoms[i] = shapely.Polygon()
    geoms, repaired = _repair(geoms, labels)
    for i, g in enumerate(geoms):
        g = _polygonal(g)
        geoms[i] = g
        if g.is_empty and reasons[i] is pd.NA:
            reasons[i] = f"polygon {labels[i]} has no areal part (empty, or only points or lines)"
    return geoms, reasons, repaired


def _inner_points_and_territories(polygons: Any, geoms: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A point inside each polygon; its territory: the column where it has a value, else the point's position."""
    import shapely

    n = len(geoms)
    empty = shapely.is_empty(geoms)
    points = np.array([None] * n, dtype=object)
    if (~empty).any():
        points[~empty] = shapely.point_on_surface(geoms[~empty])
    given = (
        polygons["territory"].astype(object).to_numpy()
        if "territory" in polygons.columns
        else np.array([None] * n, dtype=object)
    )
    terr = np.full(n, "metropole", dtype=object)
    have = np.array(
        [not (v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))) for v in given], dtype=bool
    )
    for i in np.flatnonzero(have):
        if given[i] not in TERRITORIES:
            raise InputError(
                f"polygons: row {labels[i]!r}, column 'territory' holds {given[i]!r}; expected one of "
                f"{sorted(TERRITORIES)} (or leave it empty: the position then decides)"
            )
        terr[i] = given[i]
    guess = np.flatnonzero(~have & ~empty)
    if len(guess):
        terr[guess] = territory_of_areas(
            points[guess],
            [labels[i] for i in guess],
            source="polygons",
            what="polygon",
            key="row",
            fix="give a 'territory' column",
        )
    return points, terr


#: Columns :func:`make_zones` and :func:`polygon_zones` give beside the geometry, needed by overlays.
ZONE_COLUMNS: tuple[str, ...] = ("territory", "city_point")


def check_zones(
    zones: Any,
    *,
    what: str = "zones",
    columns: Sequence[str] = ZONE_COLUMNS,
    unique: bool = True,
    crs: Any = None,
) -> Any:
    """Check that ``zones`` are zones of analysis (as :func:`make_zones` builds them); return them.

    The one check of zones shared by the indicator functions (overlay, zonal statistics, web
    services): a GeoDataFrame (a GeoSeries is turned into one) with a CRS, the ``columns`` asked
    for, a valid ``territory`` when that column is asked for, and one row per zone.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame or geopandas.GeoSeries
        Zones, typically from :func:`make_zones` or :func:`polygon_zones`.
    what : str, default "zones"
        How the error messages name them.
    columns : sequence of str, default :data:`ZONE_COLUMNS`
        Columns the caller needs (``()`` for geometry only).
    unique : bool, default True
        Refuse duplicated index values (one row per zone).
    crs : optional
        Return the zones in this CRS (anything ``GeoDataFrame.to_crs`` takes), reprojected only
        when they are in another one. Default: as given.

    Returns
    -------
    geopandas.GeoDataFrame
        ``zones`` themselves (or a reprojected copy); never modified in place.

    Raises
    ------
    InputError
        Not a GeoDataFrame, no CRS, a column missing, an unknown territory or duplicated codes;
        the message says how to build proper zones.

    Examples
    --------
    >>> import acv_geo
    >>> zones = make_zones(acv_geo.read_acv().loc[["34003"]])
    >>> check_zones(zones) is zones
    True
    >>> try:
    ...     check_zones(zones.drop(columns="city_point"), what="my zones")
    ... except InputError as exc:
    ...     print(exc)
    my zones lack the column(s) ['city_point']; build them with acv_geo.make_zones(cities, kind=...)
    """
    import geopandas as gpd

    if isinstance(zones, gpd.GeoSeries):
        zones = gpd.GeoDataFrame(geometry=zones)
    if not isinstance(zones, gpd.GeoDataFrame):
        raise InputError(
            f"{what} must be the GeoDataFrame returned by acv_geo.make_zones(cities) or acv_geo.polygon_zones("
            f"polygons) (got {type(zones).__name__})"
        )
    missing = [c for c in columns if c not in zones.columns]
    if missing:
        raise InputError(f"{what} lack the column(s) {missing}; build them with acv_geo.make_zones(cities, kind=...)")
    if zones.crs is None:
        raise InputError(
            f"{what} have no CRS; build them with acv_geo.make_zones(cities), or set it "
            f"({what}.set_crs(4326) for longitude/latitude)"
        )
    if unique and not zones.index.is_unique:
        dup = zones.index[zones.index.duplicated()].unique().tolist()[:5]
        raise InputError(
            f"{what}: index ({zones.index.name or 'insee_com'}) has duplicated codes {dup}; keep one row per zone"
        )
    if "territory" in columns:
        bad = sorted({str(t) for t in zones["territory"].astype(object) if t not in TERRITORIES})
        if bad:
            raise InputError(f"{what}: column 'territory' holds {bad}; expected one of {sorted(TERRITORIES)}")
    if crs is not None and not zones.crs.equals(crs):
        zones = zones.to_crs(crs)
    return zones
