"""A zone asked to API Carto (module Nature): its geometry sent whole, simplified, or split into tiles.

A zone (EPSG:4326) is sent as the ``geom`` parameter of a GET. A zone whose GeoJSON would exceed
``max_chars`` once URL-encoded is first replaced by a simplified outline that covers it; a zone the
service refuses as too large (HTTP 413/414), or still too long simplified, is split into 4 tiles (up
to ``max_depth`` times) whose answers are merged by feature key, without duplicates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from acv_geo.sources.services import GeometryTooLarge, ServiceClient, ServiceError

__all__ = ["CODE_FIELDS", "NAME_FIELDS", "URL_FIELDS", "feature_key", "first_value", "polygonal", "query_zone"]

log = logging.getLogger("acv_geo")

#: Properties of a nature feature holding its name, site code and INPN sheet, most specific first.
NAME_FIELDS = ("sitename", "nom", "nom_site")
CODE_FIELDS = ("sitecode", "id_mnhn")
URL_FIELDS = ("url", "url_fiche")


def _round(geom: Any, digits: int = 6) -> Any:
    import shapely

    return shapely.transform(geom, lambda c: np.round(c, digits))


def polygonal(geom: Any) -> Any:
    """The polygonal part of a geometry (an empty polygon if it has none).

    Examples
    --------
    >>> import shapely
    >>> polygonal(shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(5, 5)])).geom_type
    'Polygon'
    """
    import shapely

    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _geom_param(geom: Any) -> str:
    import shapely

    return str(shapely.to_geojson(geom))


def _encoded_len(text: str) -> int:
    return len(urllib.parse.quote_plus(text))


def _shrink(geom: Any, max_chars: int) -> tuple[Any, str] | None:
    """A simplified geometry that covers ``geom`` and fits ``max_chars`` once URL-encoded, or None.

    Douglas-Peucker keeps every vertex within ``tol`` of the simplified outline, so buffering the
    simplified outline by ``tol`` (mitred corners: few vertices) covers the zone: nothing inside the
    zone is missed; features only near its edge come back too and are dropped by the local overlay.
    """
    import shapely

    for tol in (1e-4, 3e-4, 1e-3, 3e-3):
        simple = shapely.simplify(geom, tol, preserve_topology=True)
        cover = polygonal(shapely.buffer(simple, tol * 1.5, quad_segs=1, join_style="mitre", mitre_limit=2.0))
        cover = polygonal(shapely.make_valid(_round(cover)))
        if cover.is_empty:
            continue
        text = _geom_param(cover)
        if _encoded_len(text) <= max_chars:
            return cover, text
    return None


def _quadrants(geom: Any) -> list[Any]:
    import shapely

    x0, y0, x1, y1 = geom.bounds
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    pad = 1e-6
    boxes = [
        shapely.box(x0 - pad, y0 - pad, mx, my),
        shapely.box(mx, y0 - pad, x1 + pad, my),
        shapely.box(x0 - pad, my, mx, y1 + pad),
        shapely.box(mx, my, x1 + pad, y1 + pad),
    ]
    out = []
    for box in boxes:
        piece = polygonal(shapely.intersection(geom, box))
        if not piece.is_empty and piece.area > 0:
            out.append(piece)
    return out


def first_value(props: Mapping[str, Any], names: Sequence[str]) -> str | None:
    """The first non-empty property among ``names``, as text, or None.

    Examples
    --------
    >>> first_value({"sitename": "", "nom": "Étang de Thau"}, NAME_FIELDS)
    'Étang de Thau'
    """
    for n in names:
        v = props.get(n)
        if v not in (None, ""):
            return str(v)
    return None


def feature_key(feature: Mapping[str, Any]) -> str:
    """A key identifying a GeoJSON feature: its id, else its site code and name, else a hash of its geometry.

    Examples
    --------
    >>> feature_key({"id": "znieff1.12"}), feature_key({"properties": {"sitecode": "FR91"}})
    ('znieff1.12', 'FR91|None')
    """
    fid = feature.get("id")
    if fid not in (None, ""):
        return str(fid)
    props = feature.get("properties") or {}
    code = first_value(props, CODE_FIELDS)
    name = first_value(props, NAME_FIELDS)
    if code or name:
        return f"{code}|{name}"
    text = json.dumps(feature.get("geometry"), sort_keys=True)
    return "geom:" + hashlib.sha1(text.encode()).hexdigest()[:16]  # noqa: S324 (identifier, not security)


def query_zone(
    client: ServiceClient, endpoint: str, geom: Any, *, max_chars: int, max_depth: int, depth: int = 0
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Features intersecting ``geom`` (EPSG:4326), by :func:`feature_key`, and the dates of the answers.

    The zone is simplified to fit ``max_chars`` once URL-encoded, or split into 4 tiles (at most
    ``max_depth`` times) when it is still too long or the service refuses it as too large.

    Raises
    ------
    ServiceError
        No usable answer, or the zone is still too large after ``max_depth`` splits.
    """
    geom = polygonal(_round(geom))
    if geom.is_empty:
        return {}, []
    text = _geom_param(geom)
    if _encoded_len(text) > max_chars:
        shrunk = _shrink(geom, max_chars)
        if shrunk is None:
            why = "too many vertices even simplified"
            return _query_tiles(client, endpoint, geom, max_chars=max_chars, max_depth=max_depth, depth=depth, why=why)
        geom, text = shrunk
    try:
        answer = client.query(endpoint, {"geom": text}, paging="wfs")
    except GeometryTooLarge as exc:
        return _query_tiles(
            client, endpoint, geom, max_chars=max_chars, max_depth=max_depth, depth=depth, why=exc.reason
        )
    feats: dict[str, dict[str, Any]] = {}
    for f in answer.items:
        if isinstance(f, dict):
            feats.setdefault(feature_key(f), f)
    return feats, [answer.date]


def _query_tiles(
    client: ServiceClient, endpoint: str, geom: Any, *, max_chars: int, max_depth: int, depth: int, why: str
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    if depth >= max_depth:
        raise ServiceError(
            f"{client.title}: {endpoint}: the zone is still too large after {depth} splits into 4 tiles ({why}); "
            "use smaller zones or raise max_split_depth",
            service=client.service,
            reason=f"zone too large even split {depth} times ({why})",
        )
    log.info("%s: %s: splitting a zone into 4 tiles (%s)", client.service, endpoint, why)
    feats: dict[str, dict[str, Any]] = {}
    dates: list[str] = []
    for tile in _quadrants(geom):
        f, d = query_zone(client, endpoint, tile, max_chars=max_chars, max_depth=max_depth, depth=depth + 1)
        for k, v in f.items():
            feats.setdefault(k, v)
        dates += d
    return feats, dates
