"""The web-service client: IGN API Carto (module Nature) and the Géorisques API v1, cached on disk.

:class:`ServiceClient` asks one service a question (an endpoint and its parameters) and keeps every
answer in the acv-geo cache (``<cache>/services/<service>/``, the folder of
:func:`acv_geo.sources.cache.cache_root`: ``ACV_GEO_CACHE_DIR`` or ``cache=``), one gzip'd JSON file per
question keyed by a hash of (service, endpoint, parameters) and written atomically, with the UTC date
of the query: a second run reads the cache and needs no network (``offline=True`` forbids it). The
client paginates, waits between requests (``rate`` requests per second per service), retries with
exponential backoff on HTTP 429, 5xx and timeouts (honouring ``Retry-After``), and reports a
geometry the service refuses as too large (:class:`GeometryTooLarge`) so that the caller splits it
(:mod:`acv_geo.sources.service_zones`). The services, API Carto's nature layers and the Géorisques
endpoints are defined here (:data:`SERVICES`, :data:`NATURE_LAYERS`, :data:`GEORISQUES_ENDPOINTS`).
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
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acv_geo.core.errors import InputError
from acv_geo.core.files import atomic_path
from acv_geo.sources.cache import cache_root
from acv_geo.sources.download import user_agent

__all__ = [
    "GEORISQUES_ENDPOINTS",
    "NATURE_LAYERS",
    "SERVICES",
    "Answer",
    "GeometryTooLarge",
    "GeorisquesEndpoint",
    "NatureLayer",
    "NotCached",
    "Service",
    "ServiceClient",
    "ServiceError",
    "ServiceOptions",
    "Unavailable",
    "as_int",
    "get_service",
    "service_base_url",
    "services_cache_dir",
    "utc_now",
]

log = logging.getLogger("acv_geo")


# --------------------------------------------------------------------------------------------
# services, layers and endpoints


@dataclass(frozen=True)
class Service:
    """A web service.

    Its name, title, default base URL, the environment variable that replaces it, documentation page,
    default polite rate (requests per second) and page size.
    """

    name: str
    title: str
    base_url: str
    env: str
    doc: str
    rate: float
    page_size: int


#: The web services acv-geo queries, by name.
SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service(
            "nature",
            "IGN API Carto, module Nature",
            "https://apicarto.ign.fr/api/nature",
            "ACV_GEO_NATURE_URL",
            "https://apicarto.ign.fr/api/doc/nature",
            3.0,
            1000,
        ),
        Service(
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


@dataclass(frozen=True)
class GeorisquesEndpoint:
    """One Géorisques API v1 endpoint queried per commune.

    Attributes
    ----------
    key : str
        Column stem (``pprn`` -> ``georisques_pprn_count``).
    path : str
        Path under the base URL.
    by : str
        Parameter naming the commune: ``"code_insee"``, ``"codeInsee"``, or ``"latlon"`` (the city point).
    paging : str
        ``"page"`` or ``"none"`` (see :meth:`ServiceClient.query`).
    label : str
        What it answers.
    """

    key: str
    path: str
    by: str
    paging: str
    label: str


#: The Géorisques API v1 endpoints queried per commune, by key.
GEORISQUES_ENDPOINTS: dict[str, GeorisquesEndpoint] = {
    e.key: e
    for e in (
        GeorisquesEndpoint("seismic", "zonage_sismique", "code_insee", "page", "seismic zone of the commune"),
        GeorisquesEndpoint("rga", "rga", "latlon", "none", "clay shrink-swell exposure at the city point"),
        GeorisquesEndpoint("radon", "radon", "code_insee", "page", "radon potential class of the commune"),
        GeorisquesEndpoint("risks", "gaspar/risques", "code_insee", "page", "risks listed for the commune (GASPAR)"),
        GeorisquesEndpoint("pprn", "gaspar/pprn", "codeInsee", "page", "natural risk prevention plans (PPRN)"),
        GeorisquesEndpoint("azi", "gaspar/azi", "code_insee", "page", "flood atlases (AZI)"),
        GeorisquesEndpoint("tri", "gaspar/tri", "code_insee", "page", "territories at significant flood risk (TRI)"),
        GeorisquesEndpoint("tri_zonage", "tri_zonage", "latlon", "page", "TRI flood zones at the city point"),
        GeorisquesEndpoint(
            "dicrim", "gaspar/dicrim", "code_insee", "page", "communal risk information documents (DICRIM)"
        ),
        GeorisquesEndpoint("catnat", "gaspar/catnat", "code_insee", "page", "natural disaster (CatNat) decrees"),
    )
}


def get_service(service: str) -> Service:
    """The :class:`Service` named ``service``; ``ValueError`` listing the services otherwise.

    Examples
    --------
    >>> get_service("nature").rate
    3.0
    """
    try:
        return SERVICES[service]
    except KeyError:
        raise ValueError(f"unknown service {service!r}; services are: {', '.join(SERVICES)}") from None


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
    spec = get_service(service)
    url = base_url or os.environ.get(spec.env) or spec.base_url
    if not re.match(r"^https?://", url):
        raise ValueError(f"{service}: base URL {url!r} must start with http:// or https://")
    return url.rstrip("/")


def services_cache_dir(service: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """Folder holding a service's cached answers: ``<cache>/services/<service>``.

    Parameters
    ----------
    service : {"nature", "georisques"}
        The service.
    cache : path, optional
        acv-geo cache folder (default :func:`acv_geo.sources.cache.cache_root`: ``ACV_GEO_CACHE_DIR`` or the
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
    get_service(service)
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
    reason : str
        Short form for a ``*_reason`` cell.

    Examples
    --------
    >>> ServiceError("Géorisques: HTTP 503", service="georisques", status=503, reason="HTTP 503").reason
    'HTTP 503'
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
        self.reason = reason or message


class GeometryTooLarge(ServiceError):
    """The service refused a geometry as too large (HTTP 413 or 414): the caller splits it into tiles."""


class NotCached(ServiceError):
    """Offline mode and the answer is not in the cache."""


class Unavailable(ServiceError):
    """Too many requests in a row failed: the service is not asked again during this run."""


# --------------------------------------------------------------------------------------------
# small helpers


def utc_now() -> str:
    """The UTC date and time, to the second, in ISO 8601 (the date of a query)."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def as_int(value: Any) -> int | None:
    """An integer read from a JSON value (``3``, ``3.0``, ``" 3 "``), or ``None``.

    Examples
    --------
    >>> as_int(3.0), as_int(" 12 "), as_int(True), as_int("3a")
    (3, 12, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _short(url: str, limit: int = 160) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"


def _describe_params(params: Mapping[str, Any]) -> str:
    parts = []
    for k, v in params.items():
        text = str(v)
        parts.append(f"{k}={text if len(text) <= 40 else text[:37] + '…'}")
    return ", ".join(parts) or "no parameter"


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
class Answer:
    """The answer to one question: records, declared total, UTC date of the query, first URL, origin."""

    items: list[Any]
    total: int | None
    date: str
    url: str
    from_cache: bool
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Retry:
    """A failed attempt worth retrying: what happened, and the wait the server asked for (if any)."""

    last: str
    wait: float | None = None


@dataclass
class _Paging:
    """What the pages read so far of one question gave."""

    items: list[Any] = field(default_factory=list)
    total: int | None = None
    pages: int = 0
    asked: set[int] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)


def _check_client_options(
    timeout: Any, backoff: Any, max_wait: Any, rate: Any, retries: Any, max_pages: Any, max_failures: Any
) -> None:
    for name, value, low in (("timeout", timeout, 0.0), ("backoff", backoff, -1e-12), ("max_wait", max_wait, -1e-12)):
        if not (isinstance(value, (int, float)) and not isinstance(value, bool) and value > low):
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    if rate is not None and not (isinstance(rate, (int, float)) and rate >= 0):
        raise ValueError(f"rate must be a number of requests per second ≥ 0 (0: no limit), got {rate!r}")
    for name, value in (("retries", retries), ("max_pages", max_pages), ("max_failures", max_failures)):
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= (0 if name == "retries" else 1)):
            raise ValueError(f"{name} must be a whole number, got {value!r}")


# --------------------------------------------------------------------------------------------
# HTTP client with rate limit, retries and an on-disk cache


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

    Examples
    --------
    >>> import tempfile
    >>> c = ServiceClient("georisques", cache=tempfile.mkdtemp(), offline=True)
    >>> c.query("radon", {"code_insee": "34003"})
    Traceback (most recent call last):
    ...
    acv_geo.sources.services.NotCached: Géorisques API v1: no cached answer for radon with code_insee=34003 in ...
    """

    def __init__(
        self,
        service: str,
        *,
        base_url: str | None = None,
        cache: str | os.PathLike[str] | None = None,
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
        spec = get_service(service)
        if offline and refresh:
            raise ValueError("offline=True (no network) and refresh=True (ask again) contradict each other")
        _check_client_options(timeout, backoff, max_wait, rate, retries, max_pages, max_failures)
        self.service, self.title, self.doc = service, spec.title, spec.doc
        self.base_url = service_base_url(service, base_url)
        self.cache_dir = services_cache_dir(service, cache)
        self.offline, self.refresh = bool(offline), bool(refresh)
        self.rate = spec.rate if rate is None else float(rate)
        self.timeout, self.retries = float(timeout), retries
        self.backoff, self.max_wait = float(backoff), float(max_wait)
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

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                rec = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            log.warning("%s: cached answer %s is unreadable (%s); asking the service again", self.service, path, exc)
            return None
        return rec if isinstance(rec, dict) and "date" in rec else None

    def _write(self, path: Path, rec: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = gzip.compress(json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), mtime=0)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)

    def _cached_answer(self, endpoint: str, rec: dict[str, Any]) -> Answer:
        """The cached answer, or the cached refusal of a geometry as too large (raised again)."""
        if rec.get("too_large"):
            raise GeometryTooLarge(
                f"{self.title}: {endpoint} refused this geometry as too large (HTTP {rec.get('status')}, "
                f"cached answer of {rec['date']})",
                service=self.service,
                url=rec.get("url"),
                status=rec.get("status"),
                reason="geometry too large for one request",
            )
        extra: dict[str, Any] = {k: rec[k] for k in ("pages", "empty") if k in rec}
        return Answer(list(rec.get("items") or []), rec.get("total"), rec["date"], rec.get("url", ""), True, extra)

    # ---------------------------------------------------------------- questions
    def query(self, endpoint: str, params: Mapping[str, Any], *, paging: str = "page") -> Answer:
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
        Answer
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
            cached = self._read(path)
            if cached is not None:
                self.stats["from_cache"] += 1
                return self._cached_answer(endpoint, cached)
        self._check_may_ask(endpoint, params)
        date = utc_now()
        head = {"service": self.service, "endpoint": endpoint, "params": dict(params)}
        try:
            first, rec = self._ask(endpoint, params, paging)
        except GeometryTooLarge as exc:
            self._write(path, {**head, "url": exc.url, "date": date, "too_large": True, "status": exc.status})
            raise
        except ServiceError as exc:
            self._count_failure(exc)
            raise
        self._failures = 0
        self.stats["queried"] += 1
        rec = {**head, "url": first, "date": date, **rec}
        self._write(path, rec)
        extra: dict[str, Any] = {k: rec[k] for k in ("pages", "empty") if k in rec}
        return Answer(rec["items"], rec["total"], date, first, False, extra)

    def _check_may_ask(self, endpoint: str, params: Mapping[str, Any]) -> None:
        """Raise :class:`NotCached` offline, :class:`Unavailable` after too many failures in a row."""
        url = f"{self.base_url}/{endpoint}"
        fetch_cmd = f"acv-geo fetch --towns --services {self.service}"
        if self.offline:
            self.stats["failed"] += 1
            raise NotCached(
                f"{self.title}: no cached answer for {endpoint} with {_describe_params(params)} in {self.cache_dir} "
                f"(offline mode); when online, run `{fetch_cmd}`",
                service=self.service,
                url=url,
                reason=f"not in the cache (offline mode): run `{fetch_cmd}` when online",
            )
        if self._failures >= self.max_failures:
            self.stats["failed"] += 1
            raise Unavailable(
                f"{self.title}: not asked, {self._failures} questions in a row failed (last: {self._last_failure}); "
                "the service seems down or is refusing us: run again later (answers already received are cached), "
                "or lower the rate",
                service=self.service,
                url=url,
                reason=f"not asked: {self.title} failed {self._failures} times in a row (last: {self._last_failure}); "
                "run again later",
            )

    def _count_failure(self, exc: ServiceError) -> None:
        self.stats["failed"] += 1
        if exc.status is None or exc.status == 429 or exc.status >= 500:
            self._failures += 1
            self._last_failure = exc.reason

    def _ask(self, endpoint: str, params: Mapping[str, Any], paging: str) -> tuple[str, dict[str, Any]]:
        """First URL and the record to cache (``items``, ``total``, ``pages``, ``empty``) of one question."""
        if paging == "none":
            first = self._url(endpoint, params)
            body = self._get(first)
            empty = body in (None, {}, [])
            return first, {"items": [] if empty else [body], "total": None, "pages": 1, "empty": empty}
        read = self._wfs_pages if paging == "wfs" else self._pages
        items, total, pages, first = read(endpoint, params)
        return first, {"items": items, "total": total, "pages": pages}

    def _url(self, endpoint: str, params: Mapping[str, Any]) -> str:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.base_url}/{endpoint}" + (f"?{query}" if query else "")

    def _wfs_pages(self, endpoint: str, params: Mapping[str, Any]) -> tuple[list[Any], int | None, int, str]:
        items: list[Any] = []
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
            declared = as_int(body.get("totalFeatures"))
            total = declared if declared is not None else as_int(body.get("numberMatched"))
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

    def _pages(self, endpoint: str, params: Mapping[str, Any]) -> tuple[list[Any], int | None, int, str]:
        state = _Paging()
        page, first = 1, ""
        while True:
            state.asked.add(page)
            url = self._url(endpoint, {**params, "page": page, "page_size": self.page_size})
            first = first or url
            body = self._get(url)
            state.pages += 1
            if body is None:
                break
            if isinstance(body, list):
                state.items.extend(body)
                break
            if not isinstance(body, dict):
                raise self._malformed(url, "is neither a page of records nor a list", body)
            nxt, done = self._read_page(body, page, state, url)
            if done:
                break
            if state.pages >= self.max_pages or nxt in state.asked:
                raise ServiceError(
                    f"{self.title}: {_short(first)} has more than {state.pages} pages; stopped (pagination does not "
                    "end)",
                    service=self.service,
                    url=_short(first),
                    reason=f"pagination did not end after {state.pages} pages",
                )
            page = nxt
        return state.items, state.total, state.pages, first

    def _read_page(self, body: dict[str, Any], page: int, state: _Paging, url: str) -> tuple[int, bool]:
        """Add one page's records to ``state``; the next page to ask and whether the last was read."""
        if isinstance(body.get("content"), list):  # Spring page: content, totalElements, totalPages, pageNumber
            rows = body["content"]
            state.items.extend(rows)
            state.total = as_int(body.get("totalElements"))
            n_pages, number = as_int(body.get("totalPages")), as_int(body.get("pageNumber"))
            state.seen.add(number if number is not None else page)
            if number is not None and number == page >= 1 and 0 not in state.asked:
                return 0, False  # the parameter counts from 0: page 0 was skipped
            done = (
                not rows
                or (state.total is not None and len(state.items) >= state.total)
                or (n_pages is not None and len(state.seen) >= n_pages)
            )
            return (2 if page == 0 else page + 1), done
        if isinstance(body.get("data"), list):  # {results, page, total_pages, data, next, previous}
            rows = body["data"]
            state.items.extend(rows)
            state.total = total = as_int(body.get("results"))
            n_pages = as_int(body.get("total_pages"))
            done = (
                not rows
                or (n_pages is not None and page >= n_pages)
                or (
                    n_pages is None
                    and (len(rows) < self.page_size or (total is not None and len(state.items) >= total))
                )
            )
            return page + 1, done
        raise self._malformed(url, "has neither 'data' nor 'content'", body)

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

    # ---------------------------------------------------------------- HTTP
    def _get(self, url: str) -> Any:
        """One GET with retries; the parsed JSON, or None for an empty body."""
        request = urllib.request.Request(url, headers={"User-Agent": user_agent(), "Accept": "application/json"})
        last = ""
        for attempt in range(self.retries + 1):
            self._limiter.wait(self.rate)
            self.stats["http_requests"] += 1
            outcome = self._try_get(request, url)
            if not isinstance(outcome, _Retry):
                return outcome
            last = outcome.last
            if attempt < self.retries:
                delay = outcome.wait if outcome.wait is not None else self.backoff * (2**attempt)
                delay = min(max(delay, 0.0), self.max_wait)
                log.info(
                    "%s: %s for %s; retrying in %.1f s (%d/%d)",
                    self.service, last, _short(url, 100), delay, attempt + 1, self.retries,
                )  # fmt: skip
                time.sleep(delay)
        raise self._gave_up(url, last)

    def _try_get(self, request: urllib.request.Request, url: str) -> Any:
        """The parsed answer of one attempt, or a :class:`_Retry` saying why it is worth another."""
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310 (http/https checked)
                body = resp.read()
        except urllib.error.HTTPError as exc:
            return self._http_error(exc, url)
        except (TimeoutError, urllib.error.URLError, http.client.HTTPException, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            timed_out = isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError) or "timed out" in str(reason)
            return _Retry(f"timed out after {self.timeout:g} s" if timed_out else f"connection failed ({reason})")
        return self._parse(body, url)

    def _http_error(self, exc: urllib.error.HTTPError, url: str) -> _Retry:
        """A :class:`_Retry` for HTTP 429 and 5xx; :class:`ServiceError` raised for the other statuses."""
        status, retry_after = exc.code, exc.headers.get("Retry-After") if exc.headers else None
        detail = ""
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
            return _Retry(f"HTTP {status}", _retry_after(retry_after))
        raise ServiceError(
            f"{self.title}: {_short(url)} answered HTTP {status} {exc.reason}"
            + (f" ({detail[:200]})" if detail else "")
            + f"; check the address (base URL {self.base_url}) and the parameters against {self.doc}",
            service=self.service,
            url=_short(url),
            status=status,
            reason=f"HTTP {status} {exc.reason}" + (f": {detail[:120]}" if detail else ""),
        ) from None

    def _parse(self, body: bytes, url: str) -> Any:
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

    def _gave_up(self, url: str, last: str) -> ServiceError:
        final_status = int(last.split()[1]) if last.startswith("HTTP ") else None
        attempts = f"{self.retries + 1} attempt{'s' if self.retries else ''}"
        return ServiceError(
            f"{self.title}: {_short(url)} {last if final_status is None else 'answered ' + last} "
            f"({attempts}); the service may be down or limiting "
            "requests: try again later, lower the rate (--rate), or work from the cache (--offline)",
            service=self.service,
            url=_short(url),
            status=final_status,
            reason=f"{last} after {attempts}",
        )


# --------------------------------------------------------------------------------------------
# the client options the indicator functions forward


@dataclass(frozen=True)
class ServiceOptions:
    """The :class:`ServiceClient` options an indicator function forwards (stated once for all of them).

    Examples
    --------
    >>> import tempfile
    >>> opts = ServiceOptions(cache=tempfile.mkdtemp(), offline=True, rate=0)
    >>> c = opts.client("nature")
    >>> c.offline, c.rate, c.page_size
    (True, 0.0, 1000)
    """

    base_url: str | None = None
    cache: str | os.PathLike[str] | None = None
    offline: bool = False
    refresh: bool = False
    rate: float | None = None
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0
    page_size: int | None = None

    def client(self, service: str, client: ServiceClient | None = None) -> ServiceClient:
        """``client`` if given (it must query ``service``), else a new client with these options."""
        if client is not None:
            if client.service != service:
                raise ValueError(f"client= is a {client.service!r} client; give a {service!r} one")
            return client
        return ServiceClient(
            service, base_url=self.base_url, cache=self.cache, offline=self.offline, refresh=self.refresh,
            rate=self.rate, timeout=self.timeout, retries=self.retries, backoff=self.backoff,
            page_size=self.page_size,
        )  # fmt: skip
