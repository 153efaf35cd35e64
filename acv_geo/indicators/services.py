"""Live web services: IGN API Carto (module Nature) and the Géorisques API v1, cached on disk.

For every city zone (:func:`acv_geo.zones.make_zones`) :func:`nature_layers` asks API Carto for the
protected and inventoried natural areas that intersect it (Natura 2000, ZNIEFF, parks, reserves);
:func:`nature_indicators` turns the answers into the share of each zone they cover, their number and
their names. For every commune :func:`georisques_indicators` asks the Géorisques API v1 for its
seismic zone, clay shrink-swell exposure (at the city point), radon class and the numbers of PPRN,
flood atlases (AZI), TRI, DICRIM and CatNat decrees.

Every answer is kept in the acv-geo cache (``<cache>/services/<service>/``, the folder of
:func:`acv_geo.sources.fetching.cache_root`: ``ACV_GEO_CACHE_DIR`` or ``cache=``), one gzip'd JSON file per
query keyed by a hash of (service, endpoint, parameters) and written atomically, with the UTC date
of the query: a second run reads the cache and needs no network (``offline=True`` forbids it). The
client paginates, waits between requests (``rate`` requests per second per service), retries with
exponential backoff on HTTP 429, 5xx and timeouts (honouring ``Retry-After``), and splits a zone
too large for one request into tiles whose answers are merged without duplicates.

A town whose question got an answer without any feature gets 0; a town without an answer (service
error, not cached in offline mode) gets NA and a ``*_reason`` saying why, never 0. The services'
request and response schemas, and what could not be verified, are in ``docs/services.md``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import email.utils
import gzip
import hashlib
import http.client
import json
import logging
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError
from acv_geo.core.metadata import attach_metadata

__all__ = [
    "GEORISQUES_ENDPOINTS",
    "NATURE_LAYERS",
    "SERVICES",
    "GeometryTooLarge",
    "NatureLayer",
    "ServiceClient",
    "ServiceError",
    "fetch_services",
    "georisques_indicators",
    "nature_indicators",
    "nature_layers",
    "service_base_url",
    "services_cache_dir",
]

log = logging.getLogger("acv_geo")

_REPORT = "acv_geo_services"


# --------------------------------------------------------------------------------------------
# services and endpoints


@dataclass(frozen=True)
class _Service:
    name: str
    title: str
    base_url: str
    env: str
    doc: str
    rate: float
    page_size: int


#: The web services acv-geo queries: name -> title, default base URL, the environment variable that
#: replaces it, documentation page, default polite rate (requests per second) and page size.
SERVICES: dict[str, _Service] = {
    s.name: s
    for s in (
        _Service(
            "nature",
            "IGN API Carto, module Nature",
            "https://apicarto.ign.fr/api/nature",
            "ACV_GEO_NATURE_URL",
            "https://apicarto.ign.fr/api/doc/nature",
            3.0,
            1000,
        ),
        _Service(
            "georisques",
            "Géorisques API v1",
            "https://georisques.gouv.fr/api/v1",
            "ACV_GEO_GEORISQUES_URL",
            "https://www.georisques.gouv.fr/doc-api",
            2.0,
            100,
        ),
    )
}


@dataclass(frozen=True)
class NatureLayer:
    """One layer of API Carto's module Nature.

    Attributes
    ----------
    name : str
        Column prefix (``znieff1`` -> ``znieff1_pct``).
    endpoint : str
        Path under the service's base URL (``natura-habitat``).
    label : str
        What the layer holds.
    """

    name: str
    endpoint: str
    label: str


#: Every protected or inventoried nature layer of API Carto's module Nature.
NATURE_LAYERS: dict[str, NatureLayer] = {
    lay.name: lay
    for lay in (
        NatureLayer("natura_habitat", "natura-habitat", "Natura 2000 sites under the Habitats directive (SIC/ZSC)"),
        NatureLayer("natura_oiseaux", "natura-oiseaux", "Natura 2000 sites under the Birds directive (ZPS)"),
        NatureLayer("znieff1", "znieff1", "ZNIEFF of type I"),
        NatureLayer("znieff2", "znieff2", "ZNIEFF of type II"),
        NatureLayer("pn", "pn", "national parks"),
        NatureLayer("pnr", "pnr", "regional natural parks"),
        NatureLayer("rnn", "rnn", "national nature reserves (outside Corsica)"),
        NatureLayer("rnc", "rnc", "nature reserves of Corsica"),
        NatureLayer("rncf", "rncf", "national hunting and wildlife reserves"),
    )
}
_NAME_FIELDS = ("sitename", "nom", "nom_site")
_CODE_FIELDS = ("sitecode", "id_mnhn")
_URL_FIELDS = ("url", "url_fiche")


@dataclass(frozen=True)
class _Endpoint:
    key: str
    path: str
    by: str  # "code_insee", "codeInsee" or "latlon"
    paging: str  # "page" or "none"
    label: str


#: The Géorisques API v1 endpoints queried per commune: key -> path, parameter, paging.
GEORISQUES_ENDPOINTS: dict[str, _Endpoint] = {
    e.key: e
    for e in (
        _Endpoint("seismic", "zonage_sismique", "code_insee", "page", "seismic zone of the commune"),
        _Endpoint("rga", "rga", "latlon", "none", "clay shrink-swell exposure at the city point"),
        _Endpoint("radon", "radon", "code_insee", "page", "radon potential class of the commune"),
        _Endpoint("risks", "gaspar/risques", "code_insee", "page", "risks listed for the commune (GASPAR)"),
        _Endpoint("pprn", "gaspar/pprn", "codeInsee", "page", "natural risk prevention plans (PPRN)"),
        _Endpoint("azi", "gaspar/azi", "code_insee", "page", "flood atlases (AZI)"),
        _Endpoint("tri", "gaspar/tri", "code_insee", "page", "territories at significant flood risk (TRI)"),
        _Endpoint("tri_zonage", "tri_zonage", "latlon", "page", "TRI flood zones at the city point"),
        _Endpoint("dicrim", "gaspar/dicrim", "code_insee", "page", "communal risk information documents (DICRIM)"),
        _Endpoint("catnat", "gaspar/catnat", "code_insee", "page", "natural disaster (CatNat) decrees"),
    )
}
_COUNTED = ("risks", "pprn", "azi", "tri", "tri_zonage", "dicrim", "catnat")
#: Columns marked as entering the risk sub-score of :func:`acv_geo.exposure_profile` (metadata ``scored``).
_GR_SCORED = ("seismic_zone", "rga_class", "radon_class", "risks_count", "catnat_count")
#: More records than this for one commune means the commune filter was not applied.
_MAX_PER_COMMUNE = 2000
_SEISMIC_LABELS = {1: "very low", 2: "low", 3: "moderate", 4: "medium", 5: "strong"}
_RGA_NONE = "no exposure mapped at the city point (a priori nil)"


def service_base_url(service: str, base_url: str | None = None) -> str:
    """Base URL of a service: ``base_url`` if given, else its environment variable, else the official one.

    Parameters
    ----------
    service : {"nature", "georisques"}
        The service.
    base_url : str, optional
        Explicit base URL (a mirror, a test server).

    Returns
    -------
    str
        Without the trailing ``/``.

    Examples
    --------
    >>> service_base_url("nature")
    'https://apicarto.ign.fr/api/nature'
    >>> service_base_url("georisques", "http://127.0.0.1:8000/api/v1/")
    'http://127.0.0.1:8000/api/v1'
    """
    spec = _service(service)
    url = base_url or os.environ.get(spec.env) or spec.base_url
    if not re.match(r"^https?://", url):
        raise ValueError(f"{service}: base URL {url!r} must start with http:// or https://")
    return url.rstrip("/")


def _service(service: str) -> _Service:
    try:
        return SERVICES[service]
    except KeyError:
        raise ValueError(f"unknown service {service!r}; services are: {', '.join(SERVICES)}") from None


def services_cache_dir(service: str, cache: str | os.PathLike | None = None) -> Path:
    """Folder holding a service's cached answers: ``<cache>/services/<service>``.

    Parameters
    ----------
    service : {"nature", "georisques"}
        The service.
    cache : path, optional
        acv-geo cache folder (default :func:`acv_geo.sources.fetching.cache_root`: ``ACV_GEO_CACHE_DIR`` or the
        user cache).

    Returns
    -------
    pathlib.Path
        The folder (not created).

    Examples
    --------
    >>> services_cache_dir("nature", "/tmp/acv-cache").as_posix()
    '/tmp/acv-cache/services/nature'
    """
    from acv_geo.sources.fetching import cache_root

    _service(service)
    return cache_root(cache) / "services" / service


# --------------------------------------------------------------------------------------------
# errors


class ServiceError(InputError):
    """A web service gave no usable answer: HTTP error, timeout, malformed answer, or not cached offline.

    The message names the service, the address, the HTTP status when there is one, and what to do.

    Attributes
    ----------
    service : str
        ``"nature"`` or ``"georisques"``.
    url : str or None
        The address queried (its query string shortened).
    status : int or None
        HTTP status of the last answer, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        url: str | None = None,
        status: int | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.service, self.url, self.status = service, url, status
        #: Short form for a ``*_reason`` cell.
        self.reason = reason or message


class GeometryTooLarge(ServiceError):
    """The service refused a geometry as too large (HTTP 413 or 414): the client splits it into tiles."""


class _NotCached(ServiceError):
    """Offline mode and the answer is not in the cache."""


class _Unavailable(ServiceError):
    """Too many requests in a row failed: the service is not asked again during this run."""


# --------------------------------------------------------------------------------------------
# HTTP client with rate limit, retries and an on-disk cache


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _short(url: str, limit: int = 160) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class _RateLimiter:
    """At most ``rate`` calls per second (shared by every client of one base URL in this process)."""

    def __init__(self) -> None:
        self.next = 0.0

    def wait(self, rate: float) -> None:
        if not rate:
            return
        now = time.monotonic()
        if now < self.next:
            time.sleep(self.next - now)
            now = self.next
        self.next = now + 1.0 / rate


_LIMITERS: dict[str, _RateLimiter] = {}


@dataclass
class _Answer:
    items: list
    total: int | None
    date: str
    url: str
    from_cache: bool
    extra: dict = field(default_factory=dict)


class ServiceClient:
    """Queries one web service politely and keeps every answer in the cache.

    Parameters
    ----------
    service : {"nature", "georisques"}
        The service (:data:`SERVICES`).
    base_url : str, optional
        Replacement base URL (default :func:`service_base_url`).
    cache : path, optional
        acv-geo cache folder (default ``ACV_GEO_CACHE_DIR`` or the user cache).
    offline : bool, default False
        Use only the cache; a question not in it raises :class:`ServiceError`.
    refresh : bool, default False
        Ask the service again even when the answer is cached (and replace it).
    rate : float, optional
        Requests per second (default: the service's polite rate, :data:`SERVICES`); 0 for no limit.
    timeout : float, default 30
        Seconds to wait for the connection and for each read.
    retries : int, default 4
        Further attempts after an HTTP 429, 5xx, timeout or connection failure.
    backoff : float, default 1
        First wait in seconds before a retry, doubled at each attempt (``Retry-After`` wins).
    max_wait : float, default 60
        Longest single wait (``Retry-After`` included).
    page_size : int, optional
        Records per page (default: the service's, :data:`SERVICES`).
    max_pages : int, default 200
        Most pages read for one question.
    max_failures : int, default 5
        After this many questions in a row that failed for a network or server reason, the service
        is not asked again during this client's life (the remaining questions get a reason at once).
    """

    def __init__(
        self,
        service: str,
        *,
        base_url: str | None = None,
        cache: str | os.PathLike | None = None,
        offline: bool = False,
        refresh: bool = False,
        rate: float | None = None,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        page_size: int | None = None,
        max_pages: int = 200,
        max_failures: int = 5,
    ) -> None:
        spec = _service(service)
        if offline and refresh:
            raise ValueError("offline=True (no network) and refresh=True (ask again) contradict each other")
        for name, value, low in (
            ("timeout", timeout, 0.0),
            ("backoff", backoff, -1e-12),
            ("max_wait", max_wait, -1e-12),
        ):
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and value > low):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if rate is not None and not (isinstance(rate, (int, float)) and rate >= 0):
            raise ValueError(f"rate must be a number of requests per second ≥ 0 (0: no limit), got {rate!r}")
        for name, value in (("retries", retries), ("max_pages", max_pages), ("max_failures", max_failures)):
            if not (
                isinstance(value, int) and not isinstance(value, bool) and value >= (0 if name == "retries" else 1)
            ):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
        self.service = service
        self.title = spec.title
        self.doc = spec.doc
        self.base_url = service_base_url(service, base_url)
        self.cache_dir = services_cache_dir(service, cache)
        self.offline, self.refresh = bool(offline), bool(refresh)
        self.rate = spec.rate if rate is None else float(rate)
        self.timeout, self.retries, self.backoff, self.max_wait = (
            float(timeout),
            retries,
            float(backoff),
            float(max_wait),
        )
        self.page_size = int(page_size or spec.page_size)
        if self.page_size < 1:
            raise ValueError(f"page_size must be ≥ 1, got {page_size!r}")
        self.max_pages, self.max_failures = max_pages, max_failures
        self._limiter = _LIMITERS.setdefault(self.base_url, _RateLimiter())
        self._failures = 0
        self._last_failure = ""
        self.stats = {"questions": 0, "from_cache": 0, "queried": 0, "http_requests": 0, "failed": 0}

    # ---------------------------------------------------------------- cache
    def _key(self, endpoint: str, params: Mapping[str, Any]) -> str:
        text = json.dumps(
            {"service": self.service, "endpoint": endpoint, "params": dict(params)},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def cache_path(self, endpoint: str, params: Mapping[str, Any]) -> Path:
        """Path of the cached answer to a question (it may not exist).

        Parameters
        ----------
        endpoint : str
            Path under the base URL (``znieff1``, ``gaspar/azi``).
        params : mapping
            Query parameters, without the paging ones.

        Returns
        -------
        pathlib.Path
            ``<cache>/services/<service>/<2 hex>/<sha256>.json.gz``.
        """
        key = self._key(endpoint, params)
        return self.cache_dir / key[:2] / f"{key}.json.gz"

    def _read(self, path: Path) -> dict | None:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                rec = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            log.warning("%s: cached answer %s is unreadable (%s); asking the service again", self.service, path, exc)
            return None
        return rec if isinstance(rec, dict) and "date" in rec else None

    def _write(self, path: Path, rec: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = gzip.compress(json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), mtime=0)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    # ---------------------------------------------------------------- questions
    def query(self, endpoint: str, params: Mapping[str, Any], *, paging: str = "page") -> _Answer:
        """Every record answering one question, from the cache or the service (all pages).

        Parameters
        ----------
        endpoint : str
            Path under the base URL.
        params : mapping
            Query parameters (without paging ones).
        paging : {"wfs", "page", "none"}
            ``wfs``: API Carto's ``_start``/``_limit`` over a GeoJSON FeatureCollection; ``page``:
            Géorisques' ``page``/``page_size`` (``data`` lists, or Spring ``content`` pages); ``none``:
            one JSON object (or an empty answer).

        Returns
        -------
        _Answer
            ``items`` (features or records), ``total`` declared by the service, ``date`` (UTC, of the
            query), ``url`` (first page), ``from_cache``.

        Raises
        ------
        ServiceError
            No usable answer (the message says why and what to do); :class:`GeometryTooLarge` for HTTP
            413/414 (remembered in the cache, so that a later run splits at once).
        """
        if paging not in ("wfs", "page", "none"):
            raise ValueError(f"paging must be 'wfs', 'page' or 'none', got {paging!r}")
        self.stats["questions"] += 1
        path = self.cache_path(endpoint, params)
        if not self.refresh:
            rec = self._read(path)
            if rec is not None:
                self.stats["from_cache"] += 1
                if rec.get("too_large"):
                    raise GeometryTooLarge(
                        f"{self.title}: {endpoint} refused this geometry as too large (HTTP {rec.get('status')}, "
                        f"cached answer of {rec['date']})",
                        service=self.service,
                        url=rec.get("url"),
                        status=rec.get("status"),
                        reason="geometry too large for one request",
                    )
                return _Answer(
                    list(rec.get("items") or []),
                    rec.get("total"),
                    rec["date"],
                    rec.get("url", ""),
                    True,
                    {k: rec[k] for k in ("pages", "empty") if k in rec},
                )
        url = f"{self.base_url}/{endpoint}"
        if self.offline:
            self.stats["failed"] += 1
            raise _NotCached(
                f"{self.title}: no cached answer for {endpoint} with {_describe_params(params)} in {self.cache_dir} "
                f"(offline mode); when online, run `acv-geo fetch --towns --services {self.service}`",
                service=self.service,
                url=url,
                reason=f"not in the cache (offline mode): run `acv-geo fetch --towns --services {self.service}` "
                "when online",
            )
        if self._failures >= self.max_failures:
            self.stats["failed"] += 1
            raise _Unavailable(
                f"{self.title}: not asked, {self._failures} questions in a row failed (last: {self._last_failure}); "
                "the service seems down or is refusing us: run again later (answers already received are cached), "
                "or lower the rate",
                service=self.service,
                url=url,
                reason=f"not asked: {self.title} failed {self._failures} times in a row (last: {self._last_failure}); "
                "run again later",
            )
        date = _now()
        try:
            if paging == "wfs":
                items, total, pages, first = self._wfs_pages(endpoint, params)
                rec = {"items": items, "total": total, "pages": pages}
            elif paging == "page":
                items, total, pages, first = self._pages(endpoint, params)
                rec = {"items": items, "total": total, "pages": pages}
            else:
                first = self._url(endpoint, params)
                body = self._get(first)
                rec = {
                    "items": [] if body in (None, {}, []) else [body],
                    "total": None,
                    "pages": 1,
                    "empty": body in (None, {}, []),
                }
        except GeometryTooLarge as exc:
            self._write(
                path,
                {
                    "service": self.service,
                    "endpoint": endpoint,
                    "params": dict(params),
                    "url": exc.url,
                    "date": date,
                    "too_large": True,
                    "status": exc.status,
                },
            )
            raise
        except ServiceError as exc:
            self.stats["failed"] += 1
            if exc.status is None or exc.status == 429 or exc.status >= 500:
                self._failures += 1
                self._last_failure = exc.reason
            raise
        self._failures = 0
        self.stats["queried"] += 1
        rec = {"service": self.service, "endpoint": endpoint, "params": dict(params), "url": first, "date": date, **rec}
        self._write(path, rec)
        return _Answer(
            rec["items"], rec["total"], date, first, False, {k: rec[k] for k in ("pages", "empty") if k in rec}
        )

    def _url(self, endpoint: str, params: Mapping[str, Any]) -> str:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.base_url}/{endpoint}" + (f"?{query}" if query else "")

    def _wfs_pages(self, endpoint: str, params: Mapping[str, Any]) -> tuple[list, int | None, int, str]:
        items: list = []
        start, pages, total, first = 0, 0, None, ""
        while True:
            url = self._url(endpoint, {**params, "_start": start, "_limit": self.page_size})
            first = first or url
            body = self._get(url)
            if (
                not isinstance(body, dict)
                or not isinstance(body.get("features", []), list)
                or (body.get("type") not in ("FeatureCollection", None))
                or "features" not in body
            ):
                raise self._malformed(url, "is not a GeoJSON FeatureCollection", body)
            feats = body["features"]
            items.extend(feats)
            pages += 1
            declared = _int(body.get("totalFeatures"))
            total = declared if declared is not None else _int(body.get("numberMatched"))
            if not feats or (total is not None and len(items) >= total):
                break
            if total is None and len(feats) < self.page_size:
                break
            if pages >= self.max_pages:
                raise ServiceError(
                    f"{self.title}: {_short(first)} has more than {self.max_pages} pages of {self.page_size} features; "
                    "query a smaller zone",
                    service=self.service,
                    url=_short(first),
                    reason=f"more than {self.max_pages} pages of features",
                )
            start += len(feats)
        return items, total, pages, first

    def _pages(self, endpoint: str, params: Mapping[str, Any]) -> tuple[list, int | None, int, str]:
        items: list = []
        page, pages, total, first = 1, 0, None, ""
        asked: set[int] = set()
        seen: set[int] = set()
        while True:
            asked.add(page)
            url = self._url(endpoint, {**params, "page": page, "page_size": self.page_size})
            first = first or url
            body = self._get(url)
            pages += 1
            if body is None:
                break
            if isinstance(body, list):
                items.extend(body)
                break
            if not isinstance(body, dict):
                raise self._malformed(url, "is neither a page of records nor a list", body)
            if isinstance(body.get("content"), list):  # Spring page: content, totalElements, totalPages, pageNumber
                rows = body["content"]
                items.extend(rows)
                total = _int(body.get("totalElements"))
                n_pages, number = _int(body.get("totalPages")), _int(body.get("pageNumber"))
                seen.add(number if number is not None else page)
                if number is not None and number == page >= 1 and 0 not in asked:
                    nxt, done = 0, False  # the parameter counts from 0: page 0 was skipped
                else:
                    nxt = 2 if page == 0 else page + 1
                    done = (
                        not rows
                        or (total is not None and len(items) >= total)
                        or (n_pages is not None and len(seen) >= n_pages)
                    )
            elif isinstance(body.get("data"), list):  # {results, page, total_pages, data, next, previous}
                rows = body["data"]
                items.extend(rows)
                total = _int(body.get("results"))
                n_pages = _int(body.get("total_pages"))
                nxt = page + 1
                done = (
                    not rows
                    or (n_pages is not None and page >= n_pages)
                    or (n_pages is None and (len(rows) < self.page_size or (total is not None and len(items) >= total)))
                )
            else:
                raise self._malformed(url, "has neither 'data' nor 'content'", body)
            if done:
                break
            if pages >= self.max_pages or nxt in asked:
                raise ServiceError(
                    f"{self.title}: {_short(first)} has more than {pages} pages; stopped (pagination does not end)",
                    service=self.service,
                    url=_short(first),
                    reason=f"pagination did not end after {pages} pages",
                )
            page = nxt
        return items, total, pages, first

    def _malformed(self, url: str, what: str, body: Any) -> ServiceError:
        shown = json.dumps(body, ensure_ascii=False)[:120] if body is not None else "nothing"
        if isinstance(body, dict) and body.get("type") == "error":
            what = f"is an error: {str(body.get('message'))[:200]}"
        return ServiceError(
            f"{self.title}: the answer of {_short(url)} {what} (it begins {shown!r}); the service may have changed: "
            f"see {self.doc}",
            service=self.service,
            url=_short(url),
            reason=f"unexpected answer ({what})",
        )

    def _get(self, url: str) -> Any:
        """One GET with retries; the parsed JSON, or None for an empty body."""
        from acv_geo.sources.fetching import _user_agent

        request = urllib.request.Request(url, headers={"User-Agent": _user_agent(), "Accept": "application/json"})
        last = ""
        for attempt in range(self.retries + 1):
            self._limiter.wait(self.rate)
            self.stats["http_requests"] += 1
            wait, detail = None, ""
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310 (http/https checked)
                    body = resp.read()
            except urllib.error.HTTPError as exc:
                status, retry_after = exc.code, exc.headers.get("Retry-After") if exc.headers else None
                with contextlib.suppress(Exception):
                    detail = exc.read(300).decode("utf-8", "replace").strip()
                exc.close()
                if status in (413, 414):
                    raise GeometryTooLarge(
                        f"{self.title}: {_short(url)} answered HTTP {status} (request too large)",
                        service=self.service,
                        url=_short(url),
                        status=status,
                        reason=f"HTTP {status}: request too large",
                    ) from None
                if status == 429 or status in (500, 502, 503, 504):
                    last = f"HTTP {status}"
                    wait = _retry_after(retry_after)
                else:
                    raise ServiceError(
                        f"{self.title}: {_short(url)} answered HTTP {status} {exc.reason}"
                        + (f" ({detail[:200]})" if detail else "")
                        + f"; check the address (base URL {self.base_url}) and the parameters against {self.doc}",
                        service=self.service,
                        url=_short(url),
                        status=status,
                        reason=f"HTTP {status} {exc.reason}" + (f": {detail[:120]}" if detail else ""),
                    ) from None
            except (TimeoutError, urllib.error.URLError, http.client.HTTPException, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                timed_out = (
                    isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError) or "timed out" in str(reason)
                )
                last = f"timed out after {self.timeout:g} s" if timed_out else f"connection failed ({reason})"
            else:
                text = body.decode("utf-8-sig", "replace").strip()
                if not text:
                    return None
                try:
                    return json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ServiceError(
                        f"{self.title}: the answer of {_short(url)} is not valid JSON ({exc.msg} at character "
                        f"{exc.pos}; it begins {text[:80]!r}); the service may be failing or the base URL "
                        f"({self.base_url}) may point to a web page: check it (documentation {self.doc}) "
                        "or try again later",
                        service=self.service,
                        url=_short(url),
                        status=200,
                        reason=f"answer is not JSON ({exc.msg})",
                    ) from None
            if attempt < self.retries:
                delay = wait if wait is not None else self.backoff * (2**attempt)
                delay = min(max(delay, 0.0), self.max_wait)
                log.info(
                    "%s: %s for %s; retrying in %.1f s (%d/%d)",
                    self.service,
                    last,
                    _short(url, 100),
                    delay,
                    attempt + 1,
                    self.retries,
                )
                time.sleep(delay)
        final_status = int(last.split()[1]) if last.startswith("HTTP ") else None
        raise ServiceError(
            f"{self.title}: {_short(url)} {last if final_status is None else 'answered ' + last} "
            f"({self.retries + 1} attempt{'s' if self.retries else ''}); the service may be down or limiting "
            "requests: try again later, lower the rate (--rate), or work from the cache (--offline)",
            service=self.service,
            url=_short(url),
            status=final_status,
            reason=f"{last} after {self.retries + 1} attempt{'s' if self.retries else ''}",
        )


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    with contextlib.suppress(ValueError):
        return max(float(value), 0.0)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.timezone.utc)
        return max((when - _dt.datetime.now(_dt.timezone.utc)).total_seconds(), 0.0)
    return None


def _describe_params(params: Mapping[str, Any]) -> str:
    parts = []
    for k, v in params.items():
        text = str(v)
        parts.append(f"{k}={text if len(text) <= 40 else text[:37] + '…'}")
    return ", ".join(parts) or "no parameter"


# --------------------------------------------------------------------------------------------
# geometry of the nature questions


def _round(geom: Any, digits: int = 6) -> Any:
    import shapely

    return shapely.transform(geom, lambda c: np.round(c, digits))


def _polygonal(geom: Any) -> Any:
    import shapely

    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _geom_param(geom: Any) -> str:
    import shapely

    return shapely.to_geojson(geom)


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
        cover = _polygonal(shapely.buffer(simple, tol * 1.5, quad_segs=1, join_style="mitre", mitre_limit=2.0))
        cover = _polygonal(shapely.make_valid(_round(cover)))
        if cover.is_empty:
            continue
        text = _geom_param(cover)
        if _encoded_len(text) <= max_chars:
            return cover, text
    return None


def _quadrants(geom: Any) -> list:
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
        piece = _polygonal(shapely.intersection(geom, box))
        if not piece.is_empty and piece.area > 0:
            out.append(piece)
    return out


def _feature_key(feature: Mapping[str, Any]) -> str:
    fid = feature.get("id")
    if fid not in (None, ""):
        return str(fid)
    props = feature.get("properties") or {}
    code = _first(props, _CODE_FIELDS)
    name = _first(props, _NAME_FIELDS)
    if code or name:
        return f"{code}|{name}"
    text = json.dumps(feature.get("geometry"), sort_keys=True)
    return "geom:" + hashlib.sha1(text.encode()).hexdigest()[:16]  # noqa: S324 (identifier, not security)


def _first(props: Mapping[str, Any], names: Sequence[str]) -> str | None:
    for n in names:
        v = props.get(n)
        if v not in (None, ""):
            return str(v)
    return None


def _query_zone(
    client: ServiceClient, endpoint: str, geom: Any, *, max_chars: int, max_depth: int, depth: int = 0
) -> tuple[dict[str, dict], list[str]]:
    """Features intersecting ``geom`` (EPSG:4326), split into tiles when it is too large; by key."""
    geom = _polygonal(_round(geom))
    if geom.is_empty:
        return {}, []
    text = _geom_param(geom)
    if _encoded_len(text) > max_chars:
        shrunk = _shrink(geom, max_chars)
        if shrunk is None:
            return _query_tiles(
                client,
                endpoint,
                geom,
                max_chars=max_chars,
                max_depth=max_depth,
                depth=depth,
                why="too many vertices even simplified",
            )
        geom, text = shrunk
    try:
        answer = client.query(endpoint, {"geom": text}, paging="wfs")
    except GeometryTooLarge as exc:
        return _query_tiles(
            client, endpoint, geom, max_chars=max_chars, max_depth=max_depth, depth=depth, why=exc.reason
        )
    feats: dict[str, dict] = {}
    for f in answer.items:
        if isinstance(f, dict):
            feats.setdefault(_feature_key(f), f)
    return feats, [answer.date]


def _query_tiles(
    client: ServiceClient, endpoint: str, geom: Any, *, max_chars: int, max_depth: int, depth: int, why: str
) -> tuple[dict[str, dict], list[str]]:
    if depth >= max_depth:
        raise ServiceError(
            f"{client.title}: {endpoint}: the zone is still too large after {depth} splits into 4 tiles ({why}); "
            "use smaller zones or raise max_split_depth",
            service=client.service,
            reason=f"zone too large even split {depth} times ({why})",
        )
    log.info("%s: %s: splitting a zone into 4 tiles (%s)", client.service, endpoint, why)
    feats: dict[str, dict] = {}
    dates: list[str] = []
    for tile in _quadrants(geom):
        f, d = _query_zone(client, endpoint, tile, max_chars=max_chars, max_depth=max_depth, depth=depth + 1)
        for k, v in f.items():
            feats.setdefault(k, v)
        dates += d
    return feats, dates


# --------------------------------------------------------------------------------------------
# nature


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


def _check_errors(errors: str) -> None:
    if errors not in ("reason", "raise"):
        raise ValueError(f"errors must be 'reason' (NA and a reason per town) or 'raise', got {errors!r}")


def _check_zones(zones: Any) -> Any:
    import geopandas as gpd

    if not isinstance(zones, gpd.GeoDataFrame):
        raise InputError(
            f"zones must be the GeoDataFrame returned by acv_geo.make_zones(cities) (got {type(zones).__name__})"
        )
    if zones.crs is None:
        raise InputError("zones have no CRS; build them with acv_geo.make_zones(cities)")
    if not zones.index.is_unique:
        dup = zones.index[zones.index.duplicated()].unique().tolist()[:5]
        raise InputError(f"zones: index has duplicated codes {dup}; keep one row per zone")
    return zones if zones.crs.equals("EPSG:4326") else zones.to_crs(4326)


def _date_span(dates: Iterable[str]) -> str:
    days = sorted({str(d)[:10] for d in dates if d})
    if not days:
        return ""
    return days[0] if len(days) == 1 else f"{days[0]} … {days[-1]}"


class _Steps:
    def __init__(self, total: int, progress: Callable[[float, str], None] | None) -> None:
        self.total, self.done, self.progress, self.last = max(total, 1), 0, progress, -1.0

    def step(self, message: str) -> None:
        self.done += 1
        if self.progress is None:
            return
        frac = min(self.done / self.total, 1.0)
        if frac - self.last >= 0.01 or self.done == self.total:
            self.last = frac
            self.progress(frac, message)


def _collect_nature(
    zones: Any,
    layers: list[NatureLayer],
    client: ServiceClient,
    *,
    max_chars: int,
    max_depth: int,
    errors: str,
    progress: Callable[[float, str], None] | None,
) -> dict[str, dict]:
    """Per layer: ``features`` (key -> GeoJSON feature), ``answers`` (zone -> keys, date), ``reasons``."""
    out: dict[str, dict[str, dict]] = {lay.name: {"features": {}, "answers": {}, "reasons": {}} for lay in layers}
    reasons = zones["zone_reason"].to_numpy() if "zone_reason" in zones.columns else [None] * len(zones)
    steps = _Steps(len(zones) * len(layers), progress)
    memo: dict[tuple[str, bytes], tuple[list[str], str]] = {}
    for zid, geom, zreason in zip(zones.index, zones.geometry, reasons, strict=True):
        for lay in layers:
            res = out[lay.name]
            if geom is None or geom.is_empty:
                why = zreason if isinstance(zreason, str) and zreason else "the zone is empty"
                res["reasons"][zid] = f"no zone ({why})"
            else:
                memo_key = (lay.endpoint, geom.wkb)
                try:
                    if memo_key not in memo:
                        feats, dates = _query_zone(client, lay.endpoint, geom, max_chars=max_chars, max_depth=max_depth)
                        for k, f in feats.items():
                            res["features"].setdefault(k, f)
                        memo[memo_key] = (sorted(feats), min(dates) if dates else _now())
                    keys, date = memo[memo_key]
                    res["answers"][zid] = {"keys": keys, "date": date}
                except ServiceError as exc:
                    if errors == "raise":
                        raise
                    res["reasons"][zid] = f"{client.title} ({lay.endpoint}) gave no answer: {exc.reason}"
            steps.step(f"nature {lay.name} {zid}")
    return out


def _features_frame(features: Mapping[str, dict], layer: NatureLayer) -> Any:
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
            geom = (
                _polygonal(shapely.make_valid(geom))
                if geom.geom_type in ("Polygon", "MultiPolygon")
                else shapely.make_valid(geom)
            )
        props = f.get("properties") or {}
        rows.append(
            {
                "feature_id": key,
                "site_code": _first(props, _CODE_FIELDS),
                "site_name": _first(props, _NAME_FIELDS),
                "url": _first(props, _URL_FIELDS),
                "layer": layer.name,
            }
        )
        geoms.append(geom)
    cols = ["feature_id", "site_code", "site_name", "url", "layer"]
    frame = pd.DataFrame(rows, columns=cols).astype(object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


def _client(service: str, client: ServiceClient | None, **kwargs: Any) -> ServiceClient:
    if client is not None:
        if client.service != service:
            raise ValueError(f"client= is a {client.service!r} client; give a {service!r} one")
        return client
    return ServiceClient(service, **kwargs)


def nature_layers(
    zones: Any,
    *,
    layers: str | Iterable[str] | None = None,
    cache: str | os.PathLike | None = None,
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
    progress: Callable[[float, str], None] | None = None,
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
        Layer names of :data:`NATURE_LAYERS` (default: all nine).
    cache : path, optional
        acv-geo cache folder (default ``ACV_GEO_CACHE_DIR`` or the user cache).
    base_url : str, optional
        Replacement base URL (default ``ACV_GEO_NATURE_URL`` or ``https://apicarto.ign.fr/api/nature``).
    offline : bool, default False
        Use only the cache: a zone whose answer is not cached gets a reason.
    refresh : bool, default False
        Ask again even when an answer is cached.
    rate, timeout, retries, backoff
        See :class:`ServiceClient` (default rate: 3 requests per second).
    max_geom_chars : int, default 6000
        Longest URL-encoded ``geom`` parameter sent.
    max_split_depth : int, default 4
        Most successive splits of one zone into 4 tiles.
    errors : {"reason", "raise"}, default "reason"
        ``reason``: a zone without answer is recorded with a reason; ``raise``: the first
        :class:`ServiceError` is raised.
    progress : callable, optional
        ``progress(fraction, message)`` after each question.
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
    """
    _check_errors(errors)
    zones = _check_zones(zones)
    lays = _layers(layers)
    cl = _client(
        "nature",
        client,
        base_url=base_url,
        cache=cache,
        offline=offline,
        refresh=refresh,
        rate=rate,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
    )
    collected = _collect_nature(
        zones, lays, cl, max_chars=int(max_geom_chars), max_depth=int(max_split_depth), errors=errors, progress=progress
    )
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


def nature_indicators(
    cities: Any,
    zones: Any = None,
    *,
    layers: str | Iterable[str] | None = None,
    prefix: str = "",
    cache: str | os.PathLike | None = None,
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
    progress: Callable[[float, str], None] | None = None,
    client: ServiceClient | None = None,
) -> pd.DataFrame:
    """Share of each city zone covered by protected and inventoried natural areas, from API Carto.

    For each layer of :data:`NATURE_LAYERS` and each zone, measured in the territory's projected CRS
    by :func:`acv_geo.overlay_indicators` (overlapping sites dissolved): the area and share of the zone
    the sites returned by API Carto cover, their number and names. A zone whose question got an
    answer without any site gets 0 (and empty names); a zone without answer gets NA and a reason.

    Parameters
    ----------
    cities : pandas.DataFrame or geopandas.GeoDataFrame
        Cities indexed by ``insee_com`` (as :func:`acv_geo.read_acv` returns); the output has their
        index, in their order.
    zones : geopandas.GeoDataFrame, optional
        Zones indexed like ``cities`` (default: ``acv_geo.make_zones(cities)``, commune polygons).
        A city without zone row gets NA and a reason.
    layers : str or list of str, optional
        Layers (default all, :data:`NATURE_LAYERS`).
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
    import shapely

    from acv_geo.indicators.overlay import overlay_indicators
    from acv_geo.zones import make_zones

    _check_errors(errors)
    idx = _city_index(cities)
    if zones is None:
        zones = make_zones(cities)
    zones = _check_zones(zones)
    missing = [c for c in idx if c not in zones.index]
    zones_in = zones.loc[[c for c in idx if c in zones.index]]
    lays = _layers(layers)
    cl = _client(
        "nature",
        client,
        base_url=base_url,
        cache=cache,
        offline=offline,
        refresh=refresh,
        rate=rate,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
    )
    collected = _collect_nature(
        zones_in,
        lays,
        cl,
        max_chars=int(max_geom_chars),
        max_depth=int(max_split_depth),
        errors=errors,
        progress=progress,
    )
    kind = str(zones_in["zone_kind"].iloc[0]) if "zone_kind" in zones_in.columns and len(zones_in) else "zone"
    columns: dict[str, Any] = {}
    meta: list[dict] = []
    report: dict[str, Any] = {"service": "nature", "base_url": cl.base_url, "layers": {}}
    geoms = dict(zip(zones_in.index, zones_in.geometry, strict=True))
    for lay in lays:
        res = collected[lay.name]
        gdf = _features_frame(res["features"], lay)
        n = len(idx)
        pct, area = np.full(n, np.nan), np.full(n, np.nan)
        count = pd.array([pd.NA] * n, dtype="Int64")
        names = np.full(n, None, dtype=object)
        codes = np.full(n, None, dtype=object)
        reasons = np.full(n, None, dtype=object)
        answered = [c for c in idx if c in res["answers"]]
        if answered and len(gdf):
            with _quiet_overlay():
                ov = overlay_indicators(
                    zones_in.loc[answered],
                    gdf,
                    name="svc",
                    coverage="national",
                    distances=False,
                    source="API Carto",
                    date="",
                )
            ov_pct = ov["svc_pct"] if "svc_pct" in ov.columns else pd.Series(0.0, index=ov.index)
            ov_area = ov["svc_area_m2"] if "svc_area_m2" in ov.columns else pd.Series(0.0, index=ov.index)
        else:
            ov_pct = ov_area = pd.Series(0.0, index=pd.Index(answered))
        by_key = {
            k: (g, c, nm)
            for k, g, c, nm in zip(gdf["feature_id"], gdf.geometry, gdf["site_code"], gdf["site_name"], strict=True)
        }
        for i, code in enumerate(idx):
            if code in res["answers"]:
                zone = geoms[code]
                hits = [by_key[k] for k in res["answers"][code]["keys"] if k in by_key]
                hits = [h for h in hits if shapely.intersects(zone, h[0])]
                count[i] = len(hits)
                names[i] = "; ".join(sorted({str(h[2]) for h in hits if h[2] is not None}))
                codes[i] = "; ".join(sorted({str(h[1]) for h in hits if h[1] is not None}))
                pct[i] = float(ov_pct.get(code, 0.0)) if len(hits) else 0.0
                area[i] = float(ov_area.get(code, 0.0)) if len(hits) else 0.0
                if not np.isfinite(pct[i]):
                    reasons[i] = "the zone has no area: share undefined"
            elif code in res["reasons"]:
                reasons[i] = res["reasons"][code]
            else:
                reasons[i] = "no zone for this city in the zones given"
        p = f"{prefix}{lay.name}"
        url = f"{cl.base_url}/{lay.endpoint}"
        date = _date_span(a["date"] for a in res["answers"].values())
        source = f"{cl.title} ({url}), data INPN/MNHN"
        what = f"{lay.label} returned by {cl.title}"
        columns.update(
            {
                f"{p}_pct": pct,
                f"{p}_area_m2": area,
                f"{p}_count": count,
                f"{p}_names": names,
                f"{p}_codes": codes,
                f"{p}_reason": reasons,
            }
        )
        crs = "in the territory's projected CRS"
        for col, unit, desc in (
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
        ):
            meta.append(
                {
                    "column": f"{p}_{col}",
                    "unit": unit,
                    "source": source,
                    "date": date,
                    "description": desc,
                    "role": "nature",
                    "scored": "yes" if col == "pct" else "",
                }
            )
        report["layers"][lay.name] = {
            "endpoint": lay.endpoint,
            "url": url,
            "n_features": len(gdf),
            "n_answered": len(res["answers"]),
            "n_without_answer": n - len(res["answers"]),
            "dates": {c: a["date"] for c, a in res["answers"].items()},
        }
    out = pd.DataFrame(columns, index=idx.copy())
    out.index.name = idx.name or "insee_com"
    for c in [c for c in out.columns if c.endswith(("_names", "_codes", "_reason"))]:
        out[c] = out[c].astype(object)
    attach_metadata(out, meta)
    report["stats"] = dict(cl.stats)
    report["missing_zones"] = missing
    out.attrs[_REPORT] = report
    return out


@contextlib.contextmanager
def _quiet_overlay():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


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


def _records_for(items: list, code: str) -> list:
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


def _parse_seismic(rows: list) -> tuple[int | None, str | None]:
    for r in rows:
        zone = _int(r.get("code_zone"))
        label = r.get("zone_sismicite")
        if zone is None and isinstance(label, str):
            m = re.match(r"\s*(\d)", label)
            zone = int(m.group(1)) if m else None
        if zone is not None and 1 <= zone <= 5:
            text = label if isinstance(label, str) and label.strip() else _SEISMIC_LABELS[zone]
            return zone, text
    return None, None


def _parse_rga(items: list) -> tuple[int | None, str | None, bool]:
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
    code = _int(obj.get("codeExposition", obj.get("code_exposition")))
    label = obj.get("exposition")
    if code is None:
        if not any(v not in (None, "") for v in obj.values()):
            return 0, _RGA_NONE, True
        return None, None, False
    return code, (str(label) if label not in (None, "") else None), False


def georisques_indicators(
    cities: Any,
    *,
    endpoints: str | Iterable[str] | None = None,
    cache: str | os.PathLike | None = None,
    base_url: str | None = None,
    offline: bool = False,
    refresh: bool = False,
    rate: float | None = None,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    page_size: int | None = None,
    errors: str = "reason",
    progress: Callable[[float, str], None] | None = None,
    client: ServiceClient | None = None,
) -> pd.DataFrame:
    """Seismic zone, clay exposure, radon class and counts of risk procedures per commune, from Géorisques.

    For each city (its INSEE code, and its point for the point endpoints ``rga`` and ``tri_zonage``)
    the Géorisques API v1 endpoints of :data:`GEORISQUES_ENDPOINTS` are queried, every page read, and
    the answers kept in the cache.

    Parameters
    ----------
    cities : pandas.DataFrame or geopandas.GeoDataFrame
        Cities indexed by ``insee_com``; point geometry for ``rga`` and ``tri_zonage`` (a city
        without point gets NA and a reason for them).
    endpoints : str or list of str, optional
        Keys of :data:`GEORISQUES_ENDPOINTS` (default: all).
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
    if endpoints is None:
        eps = list(GEORISQUES_ENDPOINTS.values())
    else:
        names = [endpoints] if isinstance(endpoints, str) else list(endpoints)
        bad = [e for e in names if e not in GEORISQUES_ENDPOINTS]
        if bad or not names:
            raise ValueError(f"unknown Géorisques endpoint(s) {bad}; endpoints are: {', '.join(GEORISQUES_ENDPOINTS)}")
        eps = [GEORISQUES_ENDPOINTS[e] for e in names]
    cl = _client(
        "georisques",
        client,
        base_url=base_url,
        cache=cache,
        offline=offline,
        refresh=refresh,
        rate=rate,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        page_size=page_size,
    )
    points = _city_points(cities)
    steps = _Steps(len(idx) * len(eps), progress)
    values: dict[str, dict[Any, Any]] = {}
    reasons: dict[str, dict[Any, str]] = {e.key: {} for e in eps}
    dates: dict[str, dict[Any, str]] = {e.key: {} for e in eps}
    for code in idx:
        for ep in eps:
            key, text = ep.key, str(code)
            params: dict[str, Any]
            if ep.by == "latlon":
                pt = points.get(code)
                if pt is None:
                    reasons[key][code] = "no city point: this endpoint is queried at a point"
                    steps.step(f"georisques {key} {code}")
                    continue
                params = {"latlon": f"{pt[0]:.6f},{pt[1]:.6f}"}
            else:
                params = {ep.by: text}
            try:
                ans = cl.query(ep.path, params, paging=ep.paging)
            except ServiceError as exc:
                if errors == "raise":
                    raise
                reasons[key][code] = f"{cl.title} ({ep.path}) gave no answer: {exc.reason}"
                steps.step(f"georisques {key} {code}")
                continue
            dates[key][code] = ans.date
            _georisques_values(key, code, ans, values, reasons[key])
            steps.step(f"georisques {key} {code}")
    return _georisques_frame(idx, eps, values, reasons, dates, cl)


def _georisques_values(key: str, code: Any, ans: _Answer, values: dict, reasons: dict) -> None:
    text = str(code)
    put = values.setdefault
    if key == "rga":
        cls, label, empty = _parse_rga(ans.items)
        if empty and text.startswith("97"):  # an empty answer means "not mapped", and overseas nothing is
            cls = label = None
            reasons[code] = ("the clay shrink-swell exposure map (BRGM) covers mainland France and Corsica only: "
                             "not measured")
        elif cls is None:
            reasons[code] = "the rga answer holds no exposure class (codeExposition)"
        put("rga_class", {})[code] = cls
        put("rga_label", {})[code] = label
        return
    rows = ans.items if key == "tri_zonage" else _records_for(ans.items, text)
    if key == "seismic":
        zone, label = _parse_seismic(rows)
        if zone is None:
            reasons[code] = f"Géorisques answered without a seismic zone for INSEE {text}"
        put("seismic_zone", {})[code] = zone
        put("seismic_label", {})[code] = label
    elif key == "radon":
        cls = next((c for c in (_int(r.get("classe_potentiel")) for r in rows) if c is not None and 1 <= c <= 3), None)
        if cls is None:
            reasons[code] = f"Géorisques answered without a radon class for INSEE {text}"
        put("radon_class", {})[code] = cls
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
    idx: pd.Index, eps: list[_Endpoint], values: dict, reasons: dict, dates: dict, cl: ServiceClient
) -> pd.DataFrame:
    columns: dict[str, Any] = {}
    meta: list[dict] = []
    for ep in eps:
        url = f"{cl.base_url}/{ep.path}"
        source = f"{cl.title} ({url}), MTE/DGPR and BRGM"
        date = _date_span(dates[ep.key].values())
        for col, dtype, unit, desc in _GR_COLUMNS[ep.key]:
            vals = values.get(col, {})
            cname = f"georisques_{col}"
            if dtype == "Int64":
                columns[cname] = pd.array([vals.get(c) for c in idx], dtype="Int64")
            else:
                columns[cname] = np.array([vals.get(c) for c in idx], dtype=object)
            meta.append(
                {
                    "column": cname,
                    "unit": unit,
                    "source": source,
                    "date": date,
                    "description": desc,
                    "role": "risk",
                    "scored": "yes" if col in _GR_SCORED else "",
                }
            )
        rname = f"georisques_{ep.key}_reason"
        columns[rname] = np.array([reasons[ep.key].get(c) for c in idx], dtype=object)
        meta.append(
            {
                "column": rname,
                "unit": "",
                "source": source,
                "date": date,
                "description": f"Why the {ep.label} value is missing (no answer from Géorisques, no point, "
                "nothing in the answer); empty when the answer was used",
                "role": "risk",
                "scored": "",
            }
        )
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
        "dates": {k: dict(v) for k, v in dates.items()},
    }
    return out


# --------------------------------------------------------------------------------------------
# filling the cache for the ACV towns


def fetch_services(
    cities: Any = None,
    *,
    services: str | Iterable[str] = ("nature", "georisques"),
    zone: str = "commune",
    cache: str | os.PathLike | None = None,
    base_urls: Mapping[str, str] | None = None,
    offline: bool = False,
    refresh: bool = False,
    rate: float | None = None,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    progress: Callable[[float, str], None] | None = None,
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
        As in :func:`nature_layers` (``progress`` gets the fraction over all services).

    Returns
    -------
    dict
        Service -> ``{"towns", "answered", "without_answer", "reasons" (town -> first reason),
        "stats" (questions, from_cache, queried, http_requests, failed), "cache_dir", "base_url"}``.
    """
    from acv_geo.read.cities import read_acv
    from acv_geo.zones import make_zones, parse_zone_spec

    names = [services] if isinstance(services, str) else list(services)
    bad = [s for s in names if s not in SERVICES]
    if bad or not names:
        raise ValueError(f"unknown service(s) {bad}; services are: {', '.join(SERVICES)}")
    base_urls = dict(base_urls or {})
    unknown = [k for k in base_urls if k not in SERVICES]
    if unknown:
        raise ValueError(f"base URL given for unknown service(s) {unknown}; services are: {', '.join(SERVICES)}")
    kind, radius = parse_zone_spec(zone)
    if cities is None:
        cities = read_acv()
    results: dict[str, dict[str, Any]] = {}
    n = len(names)
    for i, name in enumerate(names):

        def sub(frac: float, msg: str, i: int = i) -> None:
            if progress is not None:
                progress((i + frac) / n, msg)

        common: dict[str, Any] = {
            "cache": cache,
            "base_url": base_urls.get(name),
            "offline": offline,
            "refresh": refresh,
            "rate": rate,
            "timeout": timeout,
            "retries": retries,
            "backoff": backoff,
            "progress": sub,
        }
        if name == "nature":
            zones = make_zones(cities, kind=kind, radius=radius)
            df = nature_indicators(cities, zones, **common)
        else:
            df = georisques_indicators(cities, **common)
        rcols = [c for c in df.columns if c.endswith("_reason")]
        first: dict[str, str] = {}
        for code, row in df[rcols].iterrows():
            texts = [v for v in row if isinstance(v, str) and "gave no answer" in v]
            if texts:
                first[str(code)] = texts[0]
        rep = df.attrs.get(_REPORT, {})
        results[name] = {
            "towns": len(df),
            "answered": len(df) - len(first),
            "without_answer": len(first),
            "reasons": first,
            "stats": rep.get("stats", {}),
            "cache_dir": str(services_cache_dir(name, cache)),
            "base_url": rep.get("base_url"),
        }
    return results
