"""Indicators from live web services: IGN API Carto (module Nature) and the Géorisques API v1.

For every city zone (:func:`acv_geo.zones.make_zones`) :func:`nature_layers` asks API Carto for the
protected and inventoried natural areas that intersect it (Natura 2000, ZNIEFF, parks, reserves);
:func:`nature_indicators` turns the answers into the share of each zone they cover, their number and
their names. For every commune :func:`georisques_indicators` asks the Géorisques API v1 for its
seismic zone, clay shrink-swell exposure (at the city point), radon class and the numbers of PPRN,
flood atlases (AZI), TRI, DICRIM and CatNat decrees. :func:`fetch_services` fills the cache for the
ACV towns (``acv-geo fetch --towns``).

The questions go through :class:`acv_geo.sources.services.ServiceClient` (cache on disk, rate limit,
retries, pagination) and, for zones, :func:`acv_geo.sources.service_zones.query_zone` (simplified or
split into tiles). A town whose question got an answer without any feature gets 0; a town without an
answer (service error, not cached in offline mode) gets NA and a ``*_reason`` saying why, never 0.
The services' request and response schemas, and what could not be verified, are in
``docs/services.md``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError
from acv_geo.core.metadata import attach_metadata
from acv_geo.core.progress import Progress, ProgressArg
from acv_geo.sources.service_zones import CODE_FIELDS, NAME_FIELDS, URL_FIELDS, first_value, polygonal, query_zone
from acv_geo.sources.services import (
    GEORISQUES_ENDPOINTS,
    NATURE_LAYERS,
    SERVICES,
    Answer,
    GeorisquesEndpoint,
    NatureLayer,
    ServiceClient,
    ServiceError,
    ServiceOptions,
    as_int,
    services_cache_dir,
    utc_now,
)

__all__ = ["fetch_services", "georisques_indicators", "nature_indicators", "nature_layers"]

log = logging.getLogger("acv_geo")

_REPORT = "acv_geo_services"
_COUNTED = ("risks", "pprn", "azi", "tri", "tri_zonage", "dicrim", "catnat")
#: Columns marked as entering the risk sub-score of :func:`acv_geo.exposure_profile` (metadata ``scored``).
_GR_SCORED = ("seismic_zone", "rga_class", "radon_class", "risks_count", "catnat_count")
#: More records than this for one commune means the commune filter was not applied.
_MAX_PER_COMMUNE = 2000
_SEISMIC_LABELS = {1: "very low", 2: "low", 3: "moderate", 4: "medium", 5: "strong"}
_RGA_NONE = "no exposure mapped at the city point (a priori nil)"


# --------------------------------------------------------------------------------------------
# checks shared by the indicator functions


def _layers(layers: str | Iterable[str] | None) -> list[NatureLayer]:
    if layers is None:
        return list(NATURE_LAYERS.values())
    names = [layers] if isinstance(layers, str) else list(layers)
    out = []
    for n in names:
        key = str(n).strip().lower().replace("-", "_")
        if key not in NATURE_LAYERS:
            raise ValueError(f"unknown nature layer {n!r}; layers are: {', '.join(NATURE_LAYERS)}")
        out.append(NATURE_LAYERS[key])
    if not out:
        raise ValueError(f"no nature layer given; layers are: {', '.join(NATURE_LAYERS)}")
    return out


def _endpoints(endpoints: str | Iterable[str] | None) -> list[GeorisquesEndpoint]:
    if endpoints is None:
        return list(GEORISQUES_ENDPOINTS.values())
    names = [endpoints] if isinstance(endpoints, str) else list(endpoints)
    bad = [e for e in names if e not in GEORISQUES_ENDPOINTS]
    if bad or not names:
        raise ValueError(f"unknown Géorisques endpoint(s) {bad}; endpoints are: {', '.join(GEORISQUES_ENDPOINTS)}")
    return [GEORISQUES_ENDPOINTS[e] for e in names]


def _check_errors(errors: str) -> None:
    if errors not in ("reason", "raise"):
        raise ValueError(f"errors must be 'reason' (NA and a reason per town) or 'raise', got {errors!r}")


def _check_zones(zones: Any) -> Any:
    """The zones in EPSG:4326 (the services' CRS), after the one zone check of :func:`acv_geo.zones.check_zones`."""
    from acv_geo.zones import check_zones

    return check_zones(zones, columns=(), crs="EPSG:4326")


def _city_index(cities: Any) -> pd.Index:
    if not isinstance(cities, pd.DataFrame):
        raise InputError(
            f"cities must be a DataFrame indexed by insee_com (got {type(cities).__name__}); "
            "read them with acv_geo.read_acv()"
        )
    if not cities.index.is_unique:
        dup = cities.index[cities.index.duplicated()].unique().tolist()[:5]
        raise InputError(f"cities: index (insee_com) has duplicated codes {dup}; keep one row per city")
    return cities.index


def _date_span(dates: Iterable[str]) -> str:
    days = sorted({str(d)[:10] for d in dates if d})
    if not days:
        return ""
    return days[0] if len(days) == 1 else f"{days[0]} … {days[-1]}"


def _meta(column: str, unit: str, source: str, date: str, description: str, role: str, scored: bool) -> dict[str, str]:
    return {
        "column": column,
        "unit": unit,
        "source": source,
        "date": date,
        "description": description,
        "role": role,
        "scored": "yes" if scored else "",
    }


# --------------------------------------------------------------------------------------------
# nature


class _NatureAsker:
    """Asks API Carto about zones, once per (endpoint, geometry), recording answers or reasons."""

    def __init__(self, client: ServiceClient, *, max_chars: int, max_depth: int, errors: str) -> None:
        self.client, self.max_chars, self.max_depth, self.errors = client, max_chars, max_depth, errors
        self.memo: dict[tuple[str, bytes], tuple[list[str], str]] = {}

    def ask(self, res: dict[str, dict[Any, Any]], lay: NatureLayer, zid: Any, geom: Any, zreason: Any) -> None:
        """Record in ``res`` the features and answer for zone ``zid``, or why it has none."""
        if geom is None or geom.is_empty:
            why = zreason if isinstance(zreason, str) and zreason else "the zone is empty"
            res["reasons"][zid] = f"no zone ({why})"
            return
        memo_key = (lay.endpoint, geom.wkb)
        try:
            if memo_key not in self.memo:
                feats, dates = query_zone(
                    self.client, lay.endpoint, geom, max_chars=self.max_chars, max_depth=self.max_depth
                )
                for k, f in feats.items():
                    res["features"].setdefault(k, f)
                self.memo[memo_key] = (sorted(feats), min(dates) if dates else utc_now())
            keys, date = self.memo[memo_key]
            res["answers"][zid] = {"keys": keys, "date": date}
        except ServiceError as exc:
            if self.errors == "raise":
                raise
            res["reasons"][zid] = f"{self.client.title} ({lay.endpoint}) gave no answer: {exc.reason}"


def _collect_nature(
    zones: Any, layers: list[NatureLayer], asker: _NatureAsker, progress: ProgressArg
) -> dict[str, dict[str, dict[Any, Any]]]:
    """Per layer: ``features`` (key -> GeoJSON feature), ``answers`` (zone -> keys, date), ``reasons``."""
    out: dict[str, dict[str, dict[Any, Any]]] = {
        lay.name: {"features": {}, "answers": {}, "reasons": {}} for lay in layers
    }
    reasons = zones["zone_reason"].to_numpy() if "zone_reason" in zones.columns else [None] * len(zones)
    steps = Progress(len(zones) * len(layers), progress, desc="nature")
    for zid, geom, zreason in zip(zones.index, zones.geometry, reasons, strict=True):
        for lay in layers:
            asker.ask(out[lay.name], lay, zid, geom, zreason)
            steps.update(1, f"nature {lay.name} {zid}")
    steps.close()
    return out


def _ask_nature(
    zones: Any,
    layers: str | Iterable[str] | None,
    options: ServiceOptions,
    client: ServiceClient | None,
    *,
    max_geom_chars: int,
    max_split_depth: int,
    errors: str,
    progress: ProgressArg,
) -> tuple[list[NatureLayer], ServiceClient, dict[str, dict[str, dict[Any, Any]]]]:
    """The layers asked, the client used and what it collected (:func:`_collect_nature`)."""
    lays = _layers(layers)
    cl = options.client("nature", client)
    asker = _NatureAsker(cl, max_chars=int(max_geom_chars), max_depth=int(max_split_depth), errors=errors)
    return lays, cl, _collect_nature(zones, lays, asker, progress)


def _features_frame(features: Mapping[str, dict[str, Any]], layer: NatureLayer) -> Any:
    import geopandas as gpd
    import shapely
    from shapely.geometry import shape

    rows, geoms = [], []
    for key, f in features.items():
        g = f.get("geometry")
        if not g:
            log.info("nature: %s feature %s has no geometry; left out", layer.name, key)
            continue
        try:
            geom = shape(g)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            log.warning("nature: %s feature %s has an unreadable geometry (%s); left out", layer.name, key, exc)
            continue
        if not geom.is_valid:
            valid = shapely.make_valid(geom)
            geom = polygonal(valid) if geom.geom_type in ("Polygon", "MultiPolygon") else valid
        props = f.get("properties") or {}
        rows.append(
            {
                "feature_id": key,
                "site_code": first_value(props, CODE_FIELDS),
                "site_name": first_value(props, NAME_FIELDS),
                "url": first_value(props, URL_FIELDS),
                "layer": layer.name,
            }
        )
        geoms.append(geom)
    cols = ["feature_id", "site_code", "site_name", "url", "layer"]
    frame = pd.DataFrame(rows, columns=cols).astype(object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


def nature_layers(
    zones: Any,
    *,
    layers: str | Iterable[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    offline: bool = False,
    refresh: bool = False,
    rate: float | None = None,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    max_geom_chars: int = 6000,
    max_split_depth: int = 4,
    errors: str = "reason",
    progress: ProgressArg = None,
    client: ServiceClient | None = None,
) -> dict[str, Any]:
    """The natural areas API Carto (module Nature) returns for every zone, one GeoDataFrame per layer.

    Each zone (EPSG:4326) is sent as the ``geom`` parameter of ``GET <base>/<endpoint>``; every page
    (``_start``/``_limit``) is read; a zone whose GeoJSON would exceed ``max_geom_chars`` once
    URL-encoded is first replaced by a simplified outline that covers it, and a zone the service
    refuses as too large (HTTP 413/414), or still too long simplified, is split into 4 tiles (up to
    ``max_split_depth`` times) whose answers are merged by feature id.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Result of :func:`acv_geo.make_zones` (or :func:`acv_geo.polygon_zones`).
    layers : str or list of str, optional
        Layer names of :data:`acv_geo.sources.services.NATURE_LAYERS` (default: all nine).
    cache : path, optional
        acv-geo cache folder (default ``ACV_GEO_CACHE_DIR`` or the user cache).
    base_url : str, optional
        Replacement base URL (default ``ACV_GEO_NATURE_URL`` or ``https://apicarto.ign.fr/api/nature``).
    offline : bool, default False
        Use only the cache: a zone whose answer is not cached gets a reason.
    refresh : bool, default False
        Ask again even when an answer is cached.
    rate, timeout, retries, backoff
        See :class:`acv_geo.sources.services.ServiceClient` (default rate: 3 requests per second).
    max_geom_chars : int, default 6000
        Longest URL-encoded ``geom`` parameter sent.
    max_split_depth : int, default 4
        Most successive splits of one zone into 4 tiles.
    errors : {"reason", "raise"}, default "reason"
        ``reason``: a zone without answer is recorded with a reason; ``raise``: the first
        :class:`~acv_geo.sources.services.ServiceError` is raised.
    progress : bool or callable, optional
        ``True``: a progress bar on stderr; a callable ``progress(fraction, message)``: called after
        each question (:mod:`acv_geo.core.progress`).
    client : ServiceClient, optional
        A client to use instead of building one from the arguments above.

    Returns
    -------
    dict
        Layer name -> GeoDataFrame (EPSG:4326) of the distinct features returned for any zone:
        ``feature_id`` (the service's id), ``site_code`` (``sitecode`` or ``id_mnhn``), ``site_name``,
        ``url`` (INPN sheet), ``layer``. ``attrs["acv_geo_services"]`` holds, per zone, the ids of the
        features answered and the query date (``answers``) or why there is no answer (``reasons``).

    Raises
    ------
    ValueError
        Unknown layer or bad option.
    ServiceError
        With ``errors="raise"``, the first question without usable answer.

    Examples
    --------
    >>> import acv_geo, tempfile
    >>> zones = acv_geo.make_zones(acv_geo.read_acv().loc[["34003"]])
    >>> gdfs = nature_layers(zones, layers="pn", cache=tempfile.mkdtemp(), offline=True)
    >>> len(gdfs["pn"]), gdfs["pn"].attrs["acv_geo_services"]["reasons"]["34003"][:40]
    (0, 'IGN API Carto, module Nature (pn) gave n')
    """
    _check_errors(errors)
    zones = _check_zones(zones)
    options = ServiceOptions(
        base_url=base_url, cache=cache, offline=offline, refresh=refresh, rate=rate, timeout=timeout, retries=retries,
        backoff=backoff,
    )  # fmt: skip
    lays, cl, collected = _ask_nature(
        zones, layers, options, client, max_geom_chars=max_geom_chars, max_split_depth=max_split_depth,
        errors=errors, progress=progress,
    )  # fmt: skip
    out = {}
    for lay in lays:
        res = collected[lay.name]
        gdf = _features_frame(res["features"], lay)
        gdf.attrs[_REPORT] = {
            "service": "nature",
            "layer": lay.name,
            "endpoint": lay.endpoint,
            "url": f"{cl.base_url}/{lay.endpoint}",
            "answers": res["answers"],
            "reasons": res["reasons"],
            "stats": dict(cl.stats),
        }
        out[lay.name] = gdf
    return out


@contextlib.contextmanager
def _quiet_overlay() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _overlay_shares(zones_in: Any, answered: list[Any], gdf: Any) -> tuple[pd.Series, pd.Series]:
    """Share (%) and area (m²) of each answered zone the layer's features cover (overlaps dissolved)."""
    from acv_geo.indicators.overlay import overlay_indicators

    if not (answered and len(gdf)):
        nothing = pd.Series(0.0, index=pd.Index(answered))
        return nothing, nothing
    with _quiet_overlay():
        ov = overlay_indicators(
            zones_in.loc[answered], gdf, name="svc", coverage="national", distances=False, source="API Carto", date=""
        )
    ov_pct = ov["svc_pct"] if "svc_pct" in ov.columns else pd.Series(0.0, index=ov.index)
    ov_area = ov["svc_area_m2"] if "svc_area_m2" in ov.columns else pd.Series(0.0, index=ov.index)
    return ov_pct, ov_area


def _nature_values(res: dict[str, dict[Any, Any]], gdf: Any, idx: pd.Index, zones_in: Any) -> dict[str, Any]:
    """Column suffix -> values for every city of ``idx``: pct, area_m2, count, names, codes, reason."""
    import shapely

    ov_pct, ov_area = _overlay_shares(zones_in, [c for c in idx if c in res["answers"]], gdf)
    by_key = {
        k: (g, c, nm)
        for k, g, c, nm in zip(gdf["feature_id"], gdf.geometry, gdf["site_code"], gdf["site_name"], strict=True)
    }
    geoms = dict(zip(zones_in.index, zones_in.geometry, strict=True))
    n = len(idx)
    pct, area = np.full(n, np.nan), np.full(n, np.nan)
    count = pd.array([pd.NA] * n, dtype="Int64")
    names, codes, reasons = (np.full(n, None, dtype=object) for _ in range(3))
    for i, code in enumerate(idx):
        if code not in res["answers"]:
            reasons[i] = res["reasons"].get(code, "no zone for this city in the zones given")
            continue
        hits = [by_key[k] for k in res["answers"][code]["keys"] if k in by_key]
        hits = [h for h in hits if shapely.intersects(geoms[code], h[0])]
        count[i] = len(hits)
        names[i] = "; ".join(sorted({str(h[2]) for h in hits if h[2] is not None}))
        codes[i] = "; ".join(sorted({str(h[1]) for h in hits if h[1] is not None}))
        pct[i] = float(ov_pct.get(code, 0.0)) if len(hits) else 0.0
        area[i] = float(ov_area.get(code, 0.0)) if len(hits) else 0.0
        if not np.isfinite(pct[i]):
            reasons[i] = "the zone has no area: share undefined"
    return {"pct": pct, "area_m2": area, "count": count, "names": names, "codes": codes, "reason": reasons}


def _nature_meta(p: str, lay: NatureLayer, kind: str, source: str, date: str, what: str) -> list[dict[str, str]]:
    crs = "in the territory's projected CRS"
    described = (
        ("pct", "%", f"Share of the {kind} zone's area covered by {what} (overlaps dissolved), {crs}"),
        ("area_m2", "m2", f"Area of the {kind} zone covered by {what} (overlaps dissolved), {crs}"),
        ("count", "count", f"Number of {what} intersecting the {kind} zone (boundary included)"),
        ("names", "", f"Names of the {what} intersecting the {kind} zone, '; '-joined"),
        ("codes", "", f"Site codes (sitecode / id_mnhn) of the {what} intersecting the {kind} zone, '; '-joined"),
        (
            "reason",
            "",
            f"Why the {lay.name} values are missing (no answer from the service, no zone); empty "
            "when the service answered",
        ),
    )
    return [_meta(f"{p}_{col}", unit, source, date, desc, "nature", col == "pct") for col, unit, desc in described]


def nature_indicators(
    cities: Any,
    zones: Any = None,
    *,
    layers: str | Iterable[str] | None = None,
    prefix: str = "",
    cache: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    offline: bool = False,
    refresh: bool = False,
    rate: float | None = None,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    max_geom_chars: int = 6000,
    max_split_depth: int = 4,
    errors: str = "reason",
    progress: ProgressArg = None,
    client: ServiceClient | None = None,
) -> pd.DataFrame:
    """Share of each city zone covered by protected and inventoried natural areas, from API Carto.

    For each layer of :data:`acv_geo.sources.services.NATURE_LAYERS` and each zone, measured in the
    territory's projected CRS by :func:`acv_geo.overlay_indicators` (overlapping sites dissolved): the
    area and share of the zone the sites returned by API Carto cover, their number and names. A zone
    whose question got an answer without any site gets 0 (and empty names); a zone without answer gets
    NA and a reason.

    Parameters
    ----------
    cities : pandas.DataFrame or geopandas.GeoDataFrame
        Cities indexed by ``insee_com`` (as :func:`acv_geo.read_acv` returns); the output has their
        index, in their order.
    zones : geopandas.GeoDataFrame, optional
        Zones indexed like ``cities`` (default: ``acv_geo.make_zones(cities)``, commune polygons).
        A city without zone row gets NA and a reason.
    layers : str or list of str, optional
        Layers (default all, :data:`acv_geo.sources.services.NATURE_LAYERS`).
    prefix : str, default ""
        Prepended to every column name (``"svc_"`` -> ``svc_znieff1_pct``).
    cache, base_url, offline, refresh, rate, timeout, retries, backoff, max_geom_chars, max_split_depth, errors, \
progress, client
        As in :func:`nature_layers`.

    Returns
    -------
    pandas.DataFrame
        Indexed exactly like ``cities``. Per layer: ``<layer>_pct`` (% of the zone's area),
        ``<layer>_area_m2``, ``<layer>_count`` (``Int64``, sites intersecting the zone, boundary
        included), ``<layer>_names`` and ``<layer>_codes`` (``"; "``-joined, sorted), ``<layer>_reason``
        (why the values are NA). Metadata on every column (:func:`acv_geo.indicator_metadata`; the date
        is the date of the queries) and ``attrs["acv_geo_services"]`` (per-town query dates, request
        counts).

    Examples
    --------
    >>> import acv_geo, tempfile
    >>> cities = acv_geo.read_acv().loc[["34003"]]
    >>> df = nature_indicators(cities, layers="znieff1", cache=tempfile.mkdtemp(), offline=True)
    >>> df.loc["34003", "znieff1_reason"][:42]
    'IGN API Carto, module Nature (znieff1) gav'
    >>> bool(pd.isna(df.loc["34003", "znieff1_pct"]))
    True
    """
    from acv_geo.zones import make_zones

    _check_errors(errors)
    idx = _city_index(cities)
    zones = _check_zones(make_zones(cities) if zones is None else zones)
    zones_in = zones.loc[[c for c in idx if c in zones.index]]
    options = ServiceOptions(
        base_url=base_url, cache=cache, offline=offline, refresh=refresh, rate=rate, timeout=timeout, retries=retries,
        backoff=backoff,
    )  # fmt: skip
    lays, cl, collected = _ask_nature(
        zones_in, layers, options, client, max_geom_chars=max_geom_chars, max_split_depth=max_split_depth,
        errors=errors, progress=progress,
    )  # fmt: skip
    kind = str(zones_in["zone_kind"].iloc[0]) if "zone_kind" in zones_in.columns and len(zones_in) else "zone"
    columns: dict[str, Any] = {}
    meta: list[dict[str, str]] = []
    report: dict[str, Any] = {"service": "nature", "base_url": cl.base_url, "layers": {}}
    for lay in lays:
        res = collected[lay.name]
        gdf = _features_frame(res["features"], lay)
        p, url = f"{prefix}{lay.name}", f"{cl.base_url}/{lay.endpoint}"
        columns.update({f"{p}_{k}": v for k, v in _nature_values(res, gdf, idx, zones_in).items()})
        date = _date_span(a["date"] for a in res["answers"].values())
        source, what = f"{cl.title} ({url}), data INPN/MNHN", f"{lay.label} returned by {cl.title}"
        meta += _nature_meta(p, lay, kind, source, date, what)
        report["layers"][lay.name] = {
            "endpoint": lay.endpoint,
            "url": url,
            "n_features": len(gdf),
            "n_answered": len(res["answers"]),
            "n_without_answer": len(idx) - len(res["answers"]),
            "dates": {c: a["date"] for c, a in res["answers"].items()},
        }
    out = pd.DataFrame(columns, index=idx.copy())
    out.index.name = idx.name or "insee_com"
    for c in [c for c in out.columns if c.endswith(("_names", "_codes", "_reason"))]:
        out[c] = out[c].astype(object)
    attach_metadata(out, meta)
    report["stats"] = dict(cl.stats)
    report["missing_zones"] = [c for c in idx if c not in zones.index]
    out.attrs[_REPORT] = report
    return out


# --------------------------------------------------------------------------------------------
# Géorisques


def _city_points(cities: Any) -> dict[Any, tuple[float, float] | None]:
    import geopandas as gpd

    if not isinstance(cities, gpd.GeoDataFrame) or cities.crs is None:
        return dict.fromkeys(cities.index)
    pts = cities.geometry.to_crs(4326) if not cities.crs.equals("EPSG:4326") else cities.geometry
    out: dict[Any, tuple[float, float] | None] = {}
    for code, p in zip(cities.index, pts, strict=True):
        ok = p is not None and not p.is_empty and p.geom_type == "Point"
        out[code] = (round(p.x, 6), round(p.y, 6)) if ok else None
    return out


def _records_for(items: list[Any], code: str) -> list[Any]:
    """The distinct records of a commune: those whose ``code_insee``/``codeInsee`` is ``code`` when they have one."""
    seen, out = set(), []
    for r in items:
        if not isinstance(r, dict):
            continue
        rc = r.get("code_insee", r.get("codeInsee"))
        if rc not in (None, "") and str(rc) != str(code):
            continue
        key = json.dumps(r, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _parse_seismic(rows: list[Any]) -> tuple[int | None, str | None]:
    for r in rows:
        zone = as_int(r.get("code_zone"))
        label = r.get("zone_sismicite")
        if zone is None and isinstance(label, str):
            m = re.match(r"\s*(\d)", label)
            zone = int(m.group(1)) if m else None
        if zone is not None and 1 <= zone <= 5:
            text = label if isinstance(label, str) and label.strip() else _SEISMIC_LABELS[zone]
            return zone, text
    return None, None


def _parse_rga(items: list[Any]) -> tuple[int | None, str | None, bool]:
    """(class, label, answered-without-class) of an ``rga`` answer."""
    if not items:
        return 0, _RGA_NONE, True
    obj = items[0]
    if isinstance(obj, dict) and isinstance(obj.get("data"), list):
        if not obj["data"]:
            return 0, _RGA_NONE, True
        obj = obj["data"][0]
    if not isinstance(obj, dict):
        return None, None, False
    code = as_int(obj.get("codeExposition", obj.get("code_exposition")))
    label = obj.get("exposition")
    if code is None:
        if not any(v not in (None, "") for v in obj.values()):
            return 0, _RGA_NONE, True
        return None, None, False
    return code, (str(label) if label not in (None, "") else None), False


class _GeorisquesTable:
    """The values, reasons and query dates gathered per endpoint and commune."""

    def __init__(self, eps: list[GeorisquesEndpoint]) -> None:
        self.values: dict[str, dict[Any, Any]] = {}
        self.reasons: dict[str, dict[Any, str]] = {e.key: {} for e in eps}
        self.dates: dict[str, dict[Any, str]] = {e.key: {} for e in eps}

    def ask(self, cl: ServiceClient, ep: GeorisquesEndpoint, code: Any, point: Any, errors: str) -> None:
        """Ask ``ep`` about commune ``code`` and record the values of its answer, or why there is none."""
        if ep.by == "latlon" and point is None:
            self.reasons[ep.key][code] = "no city point: this endpoint is queried at a point"
            return
        params = {"latlon": f"{point[0]:.6f},{point[1]:.6f}"} if ep.by == "latlon" else {ep.by: str(code)}
        try:
            ans = cl.query(ep.path, params, paging=ep.paging)
        except ServiceError as exc:
            if errors == "raise":
                raise
            self.reasons[ep.key][code] = f"{cl.title} ({ep.path}) gave no answer: {exc.reason}"
            return
        self.dates[ep.key][code] = ans.date
        _georisques_values(ep.key, code, ans, self.values, self.reasons[ep.key])


def georisques_indicators(
    cities: Any,
    *,
    endpoints: str | Iterable[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    offline: bool = False,
    refresh: bool = False,
    rate: float | None = None,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    page_size: int | None = None,
    errors: str = "reason",
    progress: ProgressArg = None,
    client: ServiceClient | None = None,
) -> pd.DataFrame:
    """Seismic zone, clay exposure, radon class and counts of risk procedures per commune, from Géorisques.

    For each city (its INSEE code, and its point for the point endpoints ``rga`` and ``tri_zonage``)
    the Géorisques API v1 endpoints of :data:`acv_geo.sources.services.GEORISQUES_ENDPOINTS` are
    queried, every page read, and the answers kept in the cache.

    Parameters
    ----------
    cities : pandas.DataFrame or geopandas.GeoDataFrame
        Cities indexed by ``insee_com``; point geometry for ``rga`` and ``tri_zonage`` (a city
        without point gets NA and a reason for them).
    endpoints : str or list of str, optional
        Keys of :data:`acv_geo.sources.services.GEORISQUES_ENDPOINTS` (default: all).
    cache, base_url, offline, refresh, rate, timeout, retries, backoff, errors, progress, client
        As in :func:`nature_layers` (default base URL ``ACV_GEO_GEORISQUES_URL`` or
        ``https://georisques.gouv.fr/api/v1``; default rate 2 requests per second).
    page_size : int, optional
        Records per page (default 100).

    Returns
    -------
    pandas.DataFrame
        Indexed exactly like ``cities``:

        - ``georisques_seismic_zone`` (``Int64`` 1-5), ``georisques_seismic_label``;
        - ``georisques_rga_class`` (``Int64``: 1 low, 2 medium, 3 high; 0 when the API answers
          without class: no exposure mapped at the city point), ``georisques_rga_label``;
        - ``georisques_radon_class`` (``Int64`` 1-3);
        - ``georisques_risks`` (risk names of GASPAR, ``"; "``-joined) and ``georisques_risks_count``;
        - ``georisques_<k>_count`` (``Int64``) for ``pprn, azi, tri, tri_zonage, dicrim, catnat``:
          records of the commune (``tri_zonage``: TRI flood zones at the city point);
        - ``georisques_<k>_reason`` for every endpoint: why its values are NA (no answer, nothing
          in the answer for a class); empty when the answer was used.

        Metadata on every column, dated by the query dates; ``attrs["acv_geo_services"]``.

    Examples
    --------
    >>> import acv_geo, tempfile
    >>> df = georisques_indicators(acv_geo.read_acv().loc[["34003"]], endpoints="radon",
    ...                            cache=tempfile.mkdtemp(), offline=True)
    >>> list(df.columns)
    ['georisques_radon_class', 'georisques_radon_reason']
    """
    _check_errors(errors)
    idx = _city_index(cities)
    eps = _endpoints(endpoints)
    options = ServiceOptions(
        base_url=base_url, cache=cache, offline=offline, refresh=refresh, rate=rate, timeout=timeout, retries=retries,
        backoff=backoff, page_size=page_size,
    )  # fmt: skip
    cl = options.client("georisques", client)
    points = _city_points(cities)
    steps = Progress(len(idx) * len(eps), progress, desc="georisques")
    table = _GeorisquesTable(eps)
    for code in idx:
        for ep in eps:
            table.ask(cl, ep, code, points.get(code), errors)
            steps.update(1, f"georisques {ep.key} {code}")
    steps.close()
    return _georisques_frame(idx, eps, table, cl)


def _georisques_values(key: str, code: Any, ans: Answer, values: dict[str, Any], reasons: dict[Any, str]) -> None:
    text = str(code)
    put = values.setdefault
    if key == "rga":
        cls, label, empty = _parse_rga(ans.items)
        if empty and text.startswith("97"):  # an empty answer means "not mapped", and overseas nothing is
            cls = label = None
            reasons[code] = (
                "the clay shrink-swell exposure map (BRGM) covers mainland France and Corsica only: not measured"
            )
        elif cls is None:
            reasons[code] = "the rga answer holds no exposure class (codeExposition)"
        put("rga_class", {})[code] = cls
        put("rga_label", {})[code] = label
        return
    rows = ans.items if key == "tri_zonage" else _records_for(ans.items, text)
    if key == "seismic":
        zone, zlabel = _parse_seismic(rows)
        if zone is None:
            reasons[code] = f"Géorisques answered without a seismic zone for INSEE {text}"
        put("seismic_zone", {})[code] = zone
        put("seismic_label", {})[code] = zlabel
    elif key == "radon":
        classes = (as_int(r.get("classe_potentiel")) for r in rows)
        radon = next((c for c in classes if c is not None and 1 <= c <= 3), None)
        if radon is None:
            reasons[code] = f"Géorisques answered without a radon class for INSEE {text}"
        put("radon_class", {})[code] = radon
    if key == "risks":
        names: list[str] = []
        for r in rows:
            for d in r.get("risques_detail") or []:
                lab = d.get("libelle_risque_long") if isinstance(d, dict) else None
                if lab and str(lab) not in names:
                    names.append(str(lab))
        put("risks", {})[code] = "; ".join(names)
        put("risks_count", {})[code] = len(names)
    elif key in _COUNTED:
        if len(rows) > _MAX_PER_COMMUNE:
            reasons[code] = (
                f"{len(rows)} records for one commune: the commune filter was not applied (parameter "
                "renamed?); not counted"
            )
            put(f"{key}_count", {})[code] = None
        else:
            put(f"{key}_count", {})[code] = len(rows)


_GR_COLUMNS: dict[str, list[tuple[str, str, str, str]]] = {
    # endpoint -> (column, dtype, unit, description)
    "seismic": [
        ("seismic_zone", "Int64", "zone 1-5", "Seismic zone of the commune (1 very low … 5 strong)"),
        ("seismic_label", "object", "", "Label of the seismic zone as Géorisques gives it"),
    ],
    "rga": [
        (
            "rga_class",
            "Int64",
            "class 0-3",
            "Clay shrink-swell exposure at the city point (1 low, 2 medium, 3 high; 0: no exposure mapped there)",
        ),
        ("rga_label", "object", "", "Label of the clay shrink-swell exposure at the city point"),
    ],
    "radon": [("radon_class", "Int64", "class 1-3", "Radon potential class of the commune (1 low … 3 significant)")],
    "risks": [
        ("risks", "object", "", "Risks listed for the commune in GASPAR, '; '-joined"),
        ("risks_count", "Int64", "count", "Number of distinct risks listed for the commune in GASPAR"),
    ],
    "pprn": [("pprn_count", "Int64", "count", "Number of natural risk prevention plans (PPRN) of the commune")],
    "azi": [("azi_count", "Int64", "count", "Number of flood atlases (AZI) covering the commune")],
    "tri": [("tri_count", "Int64", "count", "Number of territories at significant flood risk (TRI) of the commune")],
    "tri_zonage": [
        ("tri_zonage_count", "Int64", "count", "Number of TRI flood-zone records at the city point (all scenarios)")
    ],
    "dicrim": [("dicrim_count", "Int64", "count", "Number of DICRIM (communal risk information) records")],
    "catnat": [("catnat_count", "Int64", "count", "Number of natural disaster (CatNat) decrees of the commune")],
}


def _georisques_frame(
    idx: pd.Index, eps: list[GeorisquesEndpoint], table: _GeorisquesTable, cl: ServiceClient
) -> pd.DataFrame:
    columns: dict[str, Any] = {}
    meta: list[dict[str, str]] = []
    for ep in eps:
        source = f"{cl.title} ({cl.base_url}/{ep.path}), MTE/DGPR and BRGM"
        date = _date_span(table.dates[ep.key].values())
        for col, dtype, unit, desc in _GR_COLUMNS[ep.key]:
            vals = table.values.get(col, {})
            cname = f"georisques_{col}"
            if dtype == "Int64":
                columns[cname] = pd.array([vals.get(c) for c in idx], dtype="Int64")
            else:
                columns[cname] = np.array([vals.get(c) for c in idx], dtype=object)
            meta.append(_meta(cname, unit, source, date, desc, "risk", col in _GR_SCORED))
        rname = f"georisques_{ep.key}_reason"
        columns[rname] = np.array([table.reasons[ep.key].get(c) for c in idx], dtype=object)
        why = (
            f"Why the {ep.label} value is missing (no answer from Géorisques, no point, nothing in the answer); "
            "empty when the answer was used"
        )
        meta.append(_meta(rname, "", source, date, why, "risk", False))
    out = pd.DataFrame(columns, index=idx.copy())
    out.index.name = idx.name or "insee_com"
    for c in out.columns:
        if not str(out[c].dtype).startswith("Int"):
            out[c] = out[c].astype(object)
    attach_metadata(out, meta)
    out.attrs[_REPORT] = {
        "service": "georisques",
        "base_url": cl.base_url,
        "stats": dict(cl.stats),
        "dates": {k: dict(v) for k, v in table.dates.items()},
    }
    return out


# --------------------------------------------------------------------------------------------
# filling the cache for the ACV towns


def _check_services(services: str | Iterable[str], base_urls: Mapping[str, str] | None) -> list[str]:
    names = [services] if isinstance(services, str) else list(services)
    bad = [s for s in names if s not in SERVICES]
    if bad or not names:
        raise ValueError(f"unknown service(s) {bad}; services are: {', '.join(SERVICES)}")
    unknown = [k for k in (base_urls or {}) if k not in SERVICES]
    if unknown:
        raise ValueError(f"base URL given for unknown service(s) {unknown}; services are: {', '.join(SERVICES)}")
    return names


def _summary(df: pd.DataFrame, name: str, cache: str | os.PathLike[str] | None) -> dict[str, Any]:
    """What :func:`fetch_services` reports for one service, from its indicator table."""
    rcols = [c for c in df.columns if c.endswith("_reason")]
    first: dict[str, str] = {}
    for code, row in df[rcols].iterrows():
        texts = [v for v in row if isinstance(v, str) and "gave no answer" in v]
        if texts:
            first[str(code)] = texts[0]
    rep = df.attrs.get(_REPORT, {})
    return {
        "towns": len(df),
        "answered": len(df) - len(first),
        "without_answer": len(first),
        "reasons": first,
        "stats": rep.get("stats", {}),
        "cache_dir": str(services_cache_dir(name, cache)),
        "base_url": rep.get("base_url"),
    }


def _share(progress: ProgressArg, i: int, n: int) -> ProgressArg:
    """``progress`` for the ``i``-th of ``n`` services: the fraction over all services."""
    if not callable(progress) or isinstance(progress, bool):
        return progress
    report: Callable[[float, str], Any] = progress
    return lambda frac, msg: report((i + frac) / n, msg)


def fetch_services(
    cities: Any = None,
    *,
    services: str | Iterable[str] = ("nature", "georisques"),
    zone: str = "commune",
    cache: str | os.PathLike[str] | None = None,
    base_urls: Mapping[str, str] | None = None,
    offline: bool = False,
    refresh: bool = False,
    rate: float | None = None,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    progress: ProgressArg = None,
) -> dict[str, dict[str, Any]]:
    """Query the services for every town and keep the answers in the cache (``acv-geo fetch --towns``).

    Parameters
    ----------
    cities : pandas.DataFrame, optional
        Towns (default: the 244 ACV towns, :func:`acv_geo.read_acv`).
    services : str or list of str, default both
        ``"nature"`` and/or ``"georisques"``.
    zone : str, default "commune"
        Zone of each town for the nature layers: ``"commune"``, ``"epci"`` or ``"buffer:METRES"``.
    cache : path, optional
        acv-geo cache folder.
    base_urls : mapping, optional
        Service name -> replacement base URL.
    offline, refresh, rate, timeout, retries, backoff, progress
        As in :func:`nature_layers` (a callable ``progress`` gets the fraction over all services).

    Returns
    -------
    dict
        Service -> ``{"towns", "answered", "without_answer", "reasons" (town -> first reason),
        "stats" (questions, from_cache, queried, http_requests, failed), "cache_dir", "base_url"}``.

    Examples
    --------
    >>> import acv_geo, tempfile
    >>> r = fetch_services(acv_geo.read_acv().loc[["34003"]], services="georisques", cache=tempfile.mkdtemp(),
    ...                    offline=True)
    >>> r["georisques"]["towns"], r["georisques"]["without_answer"]
    (1, 1)
    """
    from acv_geo.read.cities import read_acv
    from acv_geo.zones import make_zones, parse_zone_spec

    names = _check_services(services, base_urls)
    kind, radius = parse_zone_spec(zone)
    if cities is None:
        cities = read_acv()
    results: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(names):
        common: dict[str, Any] = {
            "cache": cache, "base_url": (base_urls or {}).get(name), "offline": offline, "refresh": refresh,
            "rate": rate, "timeout": timeout, "retries": retries, "backoff": backoff,
            "progress": _share(progress, i, len(names)),
        }  # fmt: skip
        if name == "nature":
            df = nature_indicators(cities, make_zones(cities, kind=kind, radius=radius), **common)
        else:
            df = georisques_indicators(cities, **common)
        results[name] = _summary(df, name, cache)
    return results
