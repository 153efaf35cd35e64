"""Download the official national layers and tables into a local cache (``acv-geo fetch``).

The catalogue of sources is data (``acv_geo/catalogue.json``): for each source its publisher,
official download address, documentation page, format, licence, the layers it must contain with
their expected fields, and the indicator preset it feeds. :func:`fetch` downloads a source into
the user cache (resumable, atomic, checksummed), extracts archives safely, checks the layers
against the catalogue and writes a manifest; :func:`source_path` and :func:`resolve_source` then
give the path of a fetched layer, so a configuration can name a source (``"argiles"``,
``"pprn:34"``) instead of a file.

Only the standard library is used for the network (:mod:`urllib`); 7z archives need ``py7zr``.
The catalogue can be replaced (tests, mirrors) with ``catalogue=`` or the ``ACV_GEO_CATALOGUE``
environment variable (path to a JSON file of the same shape); the cache folder with
``cache_dir=`` or ``ACV_GEO_CACHE_DIR``.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import fnmatch
import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeGuard

__all__ = [
    "FORMATS",
    "FetchError",
    "FetchResult",
    "FetchedSource",
    "cache_root",
    "fetch",
    "list_sources",
    "load_catalogue",
    "resolve_source",
    "source_info",
    "source_path",
]

log = logging.getLogger("acv_geo")

#: Download formats a catalogue entry may declare.
FORMATS = ("zip", "7z", "csv", "json", "geojson", "gpkg", "shp", "parquet")
_ARCHIVES = ("zip", "7z")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_DEP_RE = re.compile(r"^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-6])$")
_CHUNK = 1 << 20
_MANIFEST = "manifest.json"
_PART_META = ".part.json"
#: Default limits of archive extraction (a catalogue entry may raise ``max_extracted_bytes``).
MAX_MEMBERS = 200_000
MAX_EXTRACTED_BYTES = 16 * 1024**3
_MAX_RATIO = 1000  # compression ratio above which a large member is treated as a zip bomb


class FetchError(RuntimeError):
    """A source could not be fetched: network failure, HTTP error, checksum or schema change.

    The message names the source, the address and what to do. Nothing half-written is left in
    the cache, except a ``.part`` file after an interrupted transfer, which the next call resumes.
    """


# --------------------------------------------------------------------------------------------
# catalogue


def _default_catalogue_path() -> Path:
    return Path(__file__).resolve().parent / "catalogue.json"


def load_catalogue(catalogue: str | os.PathLike | Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Load and validate the source catalogue.

    Parameters
    ----------
    catalogue : path or mapping, optional
        A JSON file or an already-loaded mapping with a ``"sources"`` key (or the sources
        mapping itself). Default: the ``ACV_GEO_CATALOGUE`` environment variable if set, else the
        catalogue shipped with acv-geo.

    Returns
    -------
    dict
        Source name -> entry (a copy; the input is not modified).

    Raises
    ------
    ValueError
        If an entry lacks a required key, has an unknown format or a malformed layer.

    Examples
    --------
    >>> cat = load_catalogue()
    >>> cat["radon"]["preset"], cat["catnat"]["format"]
    ('radon', 'zip')
    """
    label: str
    if catalogue is None:
        env = os.environ.get("ACV_GEO_CATALOGUE")
        catalogue = Path(env) if env else _default_catalogue_path()
    if isinstance(catalogue, Mapping):
        data: Any = json.loads(json.dumps(catalogue))  # deep copy, JSON types only
        label = "catalogue mapping"
    else:
        path = Path(catalogue)
        label = str(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: source catalogue not found") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: the source catalogue is not valid JSON ({exc})") from None
    sources = data.get("sources", data) if isinstance(data, dict) else None
    if not isinstance(sources, dict):
        raise ValueError(f"{label}: expected a JSON object with a 'sources' object")
    for name, entry in sources.items():
        _check_entry(name, entry, label)
    return sources


def _check_entry(name: str, entry: Any, label: str) -> None:
    where = f"{label}: source {name!r}"
    if not _NAME_RE.match(name):
        raise ValueError(f"{where}: names are lower-case letters, digits and '_' (e.g. 'pprn')")
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object")
    for key in ("title", "publisher", "doc", "format", "licence", "layers"):
        if key not in entry:
            raise ValueError(f"{where}: missing key {key!r}")
    if "url" not in entry and "url_department" not in entry:
        raise ValueError(f"{where}: give 'url' (null if unknown) or 'url_department'")
    if entry["format"] not in FORMATS:
        raise ValueError(f"{where}: format {entry['format']!r} is not one of {', '.join(FORMATS)}")
    dep_url = entry.get("url_department")
    if dep_url is not None and "{dep}" not in dep_url:
        raise ValueError(f"{where}: 'url_department' must contain '{{dep}}'")
    layers = entry["layers"]
    if not isinstance(layers, list) or not layers:
        raise ValueError(f"{where}: 'layers' must be a non-empty list")
    seen = set()
    for lay in layers:
        if not isinstance(lay, dict) or "name" not in lay or not isinstance(lay.get("fields", []), list):
            raise ValueError(f"{where}: each layer needs a 'name' and a list of 'fields'")
        if lay["name"] in seen:
            raise ValueError(f"{where}: layer {lay['name']!r} is declared twice")
        seen.add(lay["name"])
        if entry["format"] in _ARCHIVES and not lay.get("member"):
            raise ValueError(f"{where}: layer {lay['name']!r} of an archive needs a 'member' file pattern")
    if entry.get("filename") is not None:
        try:
            safe_filename(str(entry["filename"]), what=where)
        except FetchError as exc:
            raise ValueError(str(exc)) from None
    sha = entry.get("sha256")
    if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", str(sha)):
        raise ValueError(f"{where}: 'sha256' must be 64 lower-case hexadecimal digits")


@dataclass(frozen=True)
class _Target:
    """One thing to download: a source, optionally restricted to one department."""

    name: str
    department: str | None
    entry: dict[str, Any]

    @property
    def key(self) -> str:
        return self.name if self.department is None else f"{self.name}_{self.department}"

    @property
    def label(self) -> str:
        return self.name if self.department is None else f"{self.name}:{self.department}"

    @property
    def url(self) -> str | None:
        if self.department is None:
            return self.entry.get("url")
        return self.entry["url_department"].replace("{dep}", self.department)

    @property
    def filename(self) -> str:
        if self.department is None and self.entry.get("filename"):
            return safe_filename(str(self.entry["filename"]), what=f"{self.label}: catalogue entry {self.name!r}")
        url = self.url or ""
        base = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
        if not base or "." not in base or base.strip(".") == "":
            base = f"{self.key}.{self.entry['format']}"
        return safe_filename(base, what=f"{self.label}: download address {url}")


def _parse_name(spec: str, catalogue: Mapping[str, dict[str, Any]]) -> tuple[_Target, str | None]:
    """``NAME``, ``NAME:DEP``, ``NAME/LAYER`` or ``NAME:DEP/LAYER`` -> target and layer."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"source name {spec!r} is not text; valid names: {', '.join(sorted(catalogue))}")
    text = spec.strip()
    layer = None
    if "/" in text:
        text, layer = text.split("/", 1)
    dep = None
    if ":" in text:
        text, dep = text.split(":", 1)
        dep = dep.strip().upper()
        if len(dep) == 1 and dep.isdigit():
            dep = "0" + dep
    name = text.strip().lower()
    if name not in catalogue:
        raise ValueError(f"unknown source {spec!r}; valid names are: {', '.join(sorted(catalogue))}")
    entry = catalogue[name]
    if dep is not None:
        if not _DEP_RE.match(dep):
            raise ValueError(
                f"source {spec!r}: {dep!r} is not a department code (01..95, 2A, 2B, 971..976)"
            )
        if not entry.get("url_department"):
            raise ValueError(f"source {spec!r}: {name} is published nationally only; fetch {name!r}")
    if layer is not None and layer not in [lay["name"] for lay in entry["layers"]]:
        names = ", ".join(lay["name"] for lay in entry["layers"])
        raise ValueError(f"source {spec!r}: {name} has no layer {layer!r}; its layers are: {names}")
    return _Target(name, dep, entry), layer


# --------------------------------------------------------------------------------------------
# cache


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    r"""Folder of the download cache.

    Parameters
    ----------
    cache_dir : path, optional
        Explicit folder. Default: ``ACV_GEO_CACHE_DIR`` if set; else the user cache folder:
        ``$XDG_CACHE_HOME/acv-geo`` or ``~/.cache/acv-geo`` on Linux, ``~/Library/Caches/acv-geo``
        on macOS, ``%LOCALAPPDATA%\acv-geo\Cache`` on Windows.

    Returns
    -------
    pathlib.Path
        The folder (not created).

    Examples
    --------
    >>> cache_root("/tmp/acv-cache").as_posix()
    '/tmp/acv-cache'
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("ACV_GEO_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "acv-geo" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "acv-geo"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / "acv-geo"


def _read_manifest(key_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((key_dir / _MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _manifest_complete(manifest: dict[str, Any] | None, key_dir: Path) -> TypeGuard[dict[str, Any]]:
    if not manifest or not isinstance(manifest.get("layers"), dict):
        return False
    return all((key_dir / lay["path"]).exists() for lay in manifest["layers"].values())


def _write_json_atomic(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class FetchedSource:
    """One fetched source, as recorded in its manifest.

    Attributes
    ----------
    name : str
        Source name as given (``"pprn:34"``).
    status : str
        ``"downloaded"`` (this call), ``"resumed"`` (this call, after an interrupted transfer) or
        ``"cached"`` (already in the cache).
    path : pathlib.Path
        Path of the first layer (the one :func:`source_path` returns by default).
    layer : str or None
        Layer to read inside ``path`` (GeoPackages holding several layers), else None.
    layers : dict
        Layer name -> ``(path, layer)`` for every layer of the source.
    url : str
        Address downloaded.
    sha256 : str
        SHA-256 of the downloaded file.
    size : int
        Size in bytes of the downloaded file.
    date : str
        UTC date and time of the download (ISO 8601).
    preset : str or None
        Indicator preset the source feeds.
    manifest : pathlib.Path
        Path of the manifest JSON.
    """

    name: str
    status: str
    path: Path
    layer: str | None
    layers: dict[str, tuple[Path, str | None]]
    url: str
    sha256: str
    size: int
    date: str
    preset: str | None
    manifest: Path


@dataclass(frozen=True)
class FetchResult:
    """Result of :func:`fetch`: one :class:`FetchedSource` per requested source, in order.

    Attributes
    ----------
    sources : tuple of FetchedSource
        The fetched sources.
    cache_dir : pathlib.Path
        The cache folder used.
    """

    sources: tuple[FetchedSource, ...]
    cache_dir: Path
    _by_name: dict[str, FetchedSource] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({s.name: s for s in self.sources})

    def __getitem__(self, name: str) -> FetchedSource:
        """Fetched source by name."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"{name!r} was not fetched; fetched: {', '.join(self._by_name)}") from None

    def __len__(self) -> int:
        return len(self.sources)

    def to_frame(self) -> Any:
        """One row per source: status, path, layer, url, sha256, size, date, preset.

        Returns
        -------
        pandas.DataFrame
            Indexed by source name.
        """
        import pandas as pd

        rows = [
            {"name": s.name, "status": s.status, "path": str(s.path), "layer": s.layer, "url": s.url,
             "sha256": s.sha256, "size": s.size, "date": s.date, "preset": s.preset}
            for s in self.sources
        ]
        cols = ["name", "status", "path", "layer", "url", "sha256", "size", "date", "preset"]
        return pd.DataFrame(rows, columns=cols).set_index("name")


def _fetched(target: _Target, key_dir: Path, manifest: dict[str, Any], status: str) -> FetchedSource:
    layers = {
        lname: (key_dir / lay["path"], lay.get("layer")) for lname, lay in manifest["layers"].items()
    }
    first = next(iter(layers.values()))
    return FetchedSource(
        name=target.label, status=status, path=first[0], layer=first[1], layers=layers,
        url=manifest["url"], sha256=manifest["sha256"], size=int(manifest["size"]),
        date=manifest["date"], preset=target.entry.get("preset"), manifest=key_dir / _MANIFEST,
    )


# --------------------------------------------------------------------------------------------
# progress


class _Progress:
    """A text progress bar on stderr; redrawn at most every 0.2 s (every 10 % when not a tty)."""

    def __init__(self, label: str, total: int | None, done: int, enabled: bool) -> None:
        self.label, self.total, self.done, self.enabled = label, total, done, enabled
        self.start_done, self.t0, self.last = done, time.monotonic(), 0.0
        self.stream = sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_decile = -1
        if enabled and done:
            self.stream.write(f"acv-geo: {label}: resuming after {_human(done)}\n")

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if now - self.last >= 0.2:
                self.last = now
                self.stream.write("\r" + self._line(now))
                self.stream.flush()
        elif self.total:
            decile = int(10 * self.done / self.total)
            if decile != self.last_decile:
                self.last_decile = decile
                self.stream.write(self._line(now) + "\n")

    def close(self) -> None:
        if self.enabled:
            end = "\n" if self.tty else ""
            if self.tty:
                self.stream.write("\r" + self._line(time.monotonic()) + end)
            self.stream.flush()

    def _line(self, now: float) -> str:
        speed = (self.done - self.start_done) / max(now - self.t0, 1e-6)
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 24)
            return (f"acv-geo: {self.label} [{bar:<24}] {frac:4.0%} {_human(self.done)} / "
                    f"{_human(self.total)}  {_human(speed)}/s")
        return f"acv-geo: {self.label} {_human(self.done)}  {_human(speed)}/s"


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


# --------------------------------------------------------------------------------------------
# download


def _user_agent() -> str:
    from acv_geo import __version__

    return f"acv-geo/{__version__} (+https://github.com/acv-geo; python-urllib)"


def _remove(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _download(target: _Target, part: Path, *, timeout: float, progress: bool) -> dict[str, Any]:
    """Download ``target.url`` into ``part``, resuming a previous ``.part`` with HTTP Range.

    Returns the response metadata (etag, last_modified, final_url, resumed). Leaves ``part``
    in place if the transfer is interrupted; removes nothing else.
    """
    url = target.url
    assert url is not None
    meta_path = part.with_name(part.name + _PART_META)
    prev: dict[str, Any] = {}
    if meta_path.exists():
        with contextlib.suppress(json.JSONDecodeError, OSError):
            prev = json.loads(meta_path.read_text(encoding="utf-8"))
    offset = part.stat().st_size if part.exists() else 0
    if offset and prev.get("url") != url:
        _remove(part, meta_path)
        offset = 0
    for attempt in (1, 2):
        headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            validator = prev.get("etag") or prev.get("last_modified")
            if validator:
                headers["If-Range"] = validator
        request = urllib.request.Request(url, headers=headers)
        try:
            resp = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http/https from the catalogue)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416 and offset and attempt == 1:
                log.info("%s: server refused to resume (HTTP 416); restarting", target.label)
                _remove(part, meta_path)
                offset = 0
                continue
            kept = f" (the partial download {part} is kept for a later resume)" if offset else ""
            raise FetchError(
                f"{target.label}: the server answered HTTP {exc.code} {exc.reason} for {url}; nothing was "
                f"written{kept}. Check the address in the catalogue entry {target.name!r} "
                f"(documentation: {target.entry.get('doc')})"
            ) from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FetchError(
                f"{target.label}: cannot reach {url} ({reason}); check the network connection, or work "
                f"from the cache with --offline"
            ) from None
        with resp:
            status = resp.status
            resumed = False
            total: int | None = None
            if status == 206 and offset:
                start, total = _content_range(resp.headers.get("Content-Range"))
                if start != offset:
                    log.info("%s: server resumed at %s instead of %s; restarting", target.label, start, offset)
                    _remove(part, meta_path)
                    offset = 0
                    if attempt == 1:
                        continue
                    raise FetchError(f"{target.label}: {url} answers inconsistent byte ranges; try again later")
                mode, resumed = "ab", True
            else:
                if offset:
                    log.info("%s: server ignored the Range request; restarting from zero", target.label)
                offset = 0
                mode = "wb"
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
            info = {
                "url": url,
                "final_url": resp.geturl(),
                "etag": resp.headers.get("ETag"),
                "last_modified": resp.headers.get("Last-Modified"),
                "content_type": resp.headers.get("Content-Type"),
            }
            _write_json_atomic(meta_path, info)
            bar = _Progress(target.label, total, offset, progress)
            try:
                with open(part, mode) as fh:
                    while True:
                        chunk = resp.read(_CHUNK)
                        if not chunk:
                            break
                        fh.write(chunk)
                        bar.update(len(chunk))
            except (TimeoutError, http.client.IncompleteRead, ConnectionError, OSError) as exc:
                bar.close()
                got = part.stat().st_size if part.exists() else 0
                raise FetchError(
                    f"{target.label}: the transfer from {url} was interrupted after {_human(got)} ({exc!r}); "
                    f"the partial download is kept in {part}: run the same command again to resume"
                ) from None
            bar.close()
        size = part.stat().st_size
        if total is not None and size != total:
            raise FetchError(
                f"{target.label}: the transfer from {url} was interrupted after {_human(size)} of {_human(total)} "
                f"(connection closed early); the partial download is kept in {part}: run the same command "
                "again to resume"
            )
        info["resumed"] = resumed
        _refuse_web_page(target, part, info)
        return info
    raise FetchError(f"{target.label}: could not download {url}")  # pragma: no cover


def _refuse_web_page(target: _Target, part: Path, info: dict[str, Any]) -> None:
    """An HTML page where data was expected (a portal's error or login page) is refused, not parsed."""
    with open(part, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    ctype = str(info.get("content_type") or "").lower()
    if head.startswith((b"<!doctype html", b"<html")) or "text/html" in ctype:
        _remove(part, part.with_name(part.name + _PART_META))
        raise FetchError(
            f"{target.label}: {target.url} answered a web page (HTML) instead of the {target.entry['format']} data "
            f"(the address may have moved, or need a login); nothing was written. Open the address in a browser, "
            f"or see {target.entry.get('doc')}"
        )


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    m = re.match(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", value or "")
    if not m:
        return None, None
    return int(m.group(1)), (int(m.group(3)) if m.group(3) != "*" else None)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# archives


def safe_filename(name: str, *, what: str) -> str:
    """``name`` if it is a plain file name (one path component), else :class:`FetchError` naming ``what``.

    Every name that comes from outside (a catalogue entry's ``filename``, the last part of a download
    address) goes through here before a path is made of it, so nothing is written outside the cache.

    Examples
    --------
    >>> safe_filename("N_PAC_RISQUES_S_034.zip", what="x")
    'N_PAC_RISQUES_S_034.zip'
    """
    why = _unsafe_member(name) or (
        "a folder separator in a file name" if "/" in name or "\\" in name else
        "not a file name" if name in ("", ".", "..") or name.strip(" .") == "" else None)
    if why:
        raise FetchError(f"{what}: file name {name!r} refused ({why}); give a plain file name such as 'data.zip'")
    return name


def _unsafe_member(name: str) -> str | None:
    """Why an archive member name is refused, or None if it is safe."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return "absolute path"
    if any(part == ".." for part in norm.split("/")):
        return "'..' in path"
    if "\x00" in norm:
        return "NUL byte in name"
    return None


def _extract_zip(archive: Path, dest: Path, *, label: str, max_bytes: int, max_members: int) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{label}: the download is not a valid zip archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise FetchError(f"{label}: the archive holds {len(infos)} members (limit {max_members}); refused")
        total = 0
        for info in infos:
            why = _unsafe_member(info.filename)
            mode = info.external_attr >> 16
            if why is None and info.create_system == 3 and stat.S_ISLNK(mode):
                why = "symbolic link"
            if why:
                raise FetchError(
                    f"{label}: archive member {info.filename!r} refused ({why}); nothing was extracted"
                )
            total += info.file_size
            if info.file_size > _CHUNK and info.compress_size and info.file_size / info.compress_size > _MAX_RATIO:
                raise FetchError(
                    f"{label}: archive member {info.filename!r} expands {info.file_size / info.compress_size:.0f}"
                    f" times (limit {_MAX_RATIO}); refused as a possible zip bomb"
                )
        if total > max_bytes:
            raise FetchError(
                f"{label}: the archive would expand to {_human(total)} (limit {_human(max_bytes)}); refused"
            )
        written = 0
        root = dest.resolve()
        for info in infos:
            target = (dest / info.filename.replace("\\", "/")).resolve()
            if root not in target.parents and target != root:
                raise FetchError(f"{label}: archive member {info.filename!r} leaves the extraction folder")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                written = _copy_member(zf, info, target, label=label, written=written, max_bytes=max_bytes)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise FetchError(f"{label}: archive member {info.filename!r} is corrupt ({exc}); the download was "
                                 "damaged: fetch it again with --force") from None


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, *, label: str, written: int,
                 max_bytes: int) -> int:
    """Copy one member, never more than it declared nor than the limit; return the bytes written so far."""
    with zf.open(info) as src, open(target, "wb") as out:
        remaining = info.file_size
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            remaining -= len(chunk)
            written += len(chunk)
            if remaining < 0 or written > max_bytes:
                raise FetchError(f"{label}: archive member {info.filename!r} is larger than declared; refused")
            out.write(chunk)
    return written


def _extract_7z(archive: Path, dest: Path, *, label: str, max_bytes: int, max_members: int) -> None:
    try:
        import py7zr
    except ImportError:
        raise FetchError(
            f"{label}: the download is a 7z archive and py7zr is not installed; run `pip install py7zr` "
            "and fetch again"
        ) from None
    try:
        with py7zr.SevenZipFile(archive, mode="r") as sz:
            infos = sz.list()  # documented FileInfo: filename, is_directory, uncompressed
            if len(infos) > max_members:
                raise FetchError(f"{label}: the archive holds {len(infos)} members (limit {max_members}); refused")
            links = {f.filename for f in (getattr(sz, "files", None) or []) if getattr(f, "is_symlink", False)}
            total = 0
            for f in infos:
                why = _unsafe_member(f.filename)
                if why is None and f.filename in links:
                    why = "symbolic link"
                if why:
                    raise FetchError(
                        f"{label}: archive member {f.filename!r} refused ({why}); nothing was extracted"
                    )
                total += int(getattr(f, "uncompressed", 0) or 0)
            if total > max_bytes:
                raise FetchError(
                    f"{label}: the archive would expand to {_human(total)} (limit {_human(max_bytes)}); refused"
                )
        with py7zr.SevenZipFile(archive, mode="r") as sz:  # list() consumed the reader: reopen
            sz.extractall(path=dest)
    except py7zr.Bad7zFile as exc:
        raise FetchError(f"{label}: the download is not a valid 7z archive ({exc})") from None


# --------------------------------------------------------------------------------------------
# layers and schema


def _find_members(root: Path, pattern: str) -> list[Path]:
    pat = pattern.lower()
    found = [
        p for p in root.rglob("*")
        if p.is_file() and (fnmatch.fnmatch(p.name.lower(), pat)
                            or fnmatch.fnmatch(p.relative_to(root).as_posix().lower(), pat))
    ]
    return sorted(found)


def _read_fields(path: Path, layer: str | None, sep: str | None) -> list[str]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        raw = path.open("rb").readline()
        try:
            line = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            line = raw.decode("latin-1")
        if sep is None:
            counts = {s: line.count(s) for s in (";", ",", "\t", "|")}
            sep = max(counts, key=lambda s: counts[s])
        return [c.strip() for c in next(csv.reader([line.rstrip("\r\n")], delimiter=sep))]
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FetchError(f"{path.name}: not valid JSON ({exc})") from None
        if isinstance(data, list):
            keys: dict[str, None] = {}
            for rec in data[:100]:
                if isinstance(rec, dict):
                    keys.update(dict.fromkeys(rec))
            return list(keys)
        if isinstance(data, dict) and data.get("type") != "FeatureCollection":
            return list(data)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError / DataLayerError
        raise FetchError(f"{path.name}: cannot be read as a table or layer ({exc})") from None
    return [str(f) for f in info["fields"]]


def _match_fields(expected: Iterable[str], actual: list[str]) -> tuple[dict[str, str], list[str]]:
    """Canonical expected field -> actual field, and the expected fields that are missing."""
    lower = {a.lower().lstrip("\ufeff"): a for a in actual}
    mapping, missing = {}, []
    for spec in expected:
        alts = [s.strip() for s in spec.split("|")]
        hit = next((lower[a.lower()] for a in alts if a.lower() in lower), None)
        if hit is None:
            missing.append(spec)
        else:
            mapping[alts[0]] = hit
    return mapping, missing


def _schema_error(
    target: _Target, lay: dict[str, Any], where: str, missing: list[str], actual: list[str]
) -> FetchError:
    shown = ", ".join(actual[:40]) + (" …" if len(actual) > 40 else "")
    return FetchError(
        f"{target.label}: the source has changed its schema: {where} lacks the expected field(s) "
        f"{', '.join(repr(m) for m in missing)} (catalogue entry {target.name!r}, layer {lay['name']!r}); "
        f"fields found: {shown or 'none'}. Update the catalogue entry or report it "
        f"(documentation: {target.entry.get('doc')})"
    )


def _layer_names(path: Path) -> list[str]:
    import pyogrio

    try:
        return [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception:
        return []


def _build_layers(target: _Target, files: Path, downloaded: Path) -> dict[str, dict[str, Any]]:
    """Locate, check and (when asked) merge every catalogue layer; return manifest records."""
    entry = target.entry
    records: dict[str, dict[str, Any]] = {}
    for lay in entry["layers"]:
        fields = lay.get("fields", [])
        sep = lay.get("sep", entry.get("sep"))
        if entry["format"] in _ARCHIVES:
            members = _find_members(files, lay["member"])
            if not members:
                listing = sorted(p.relative_to(files).as_posix() for p in files.rglob("*") if p.is_file())
                shown = ", ".join(listing[:20]) + (" …" if len(listing) > 20 else "")
                raise FetchError(
                    f"{target.label}: the source has changed: no file matching {lay['member']!r} in the archive "
                    f"(catalogue entry {target.name!r}, layer {lay['name']!r}); files found: {shown or 'none'}"
                )
        else:
            members = [downloaded]
        if len(members) > 1 and not lay.get("merge"):
            raise FetchError(
                f"{target.label}: {len(members)} files match {lay['member']!r} for layer {lay['name']!r} "
                f"(catalogue entry {target.name!r}): {', '.join(m.name for m in members[:10])}; "
                "make the pattern more precise or set \"merge\": true"
            )
        gpkg_layer = lay.get("layer")
        for member in members:
            if gpkg_layer is not None:
                names = _layer_names(member)
                if gpkg_layer not in names:
                    raise FetchError(
                        f"{target.label}: the source has changed its schema: {member.name} has no layer "
                        f"{gpkg_layer!r} (catalogue entry {target.name!r}); layers found: {', '.join(names) or 'none'}"
                    )
            actual = _read_fields(member, gpkg_layer, sep)
            _, missing = _match_fields(fields, actual)
            if missing:
                where = member.name if gpkg_layer is None else f"layer {gpkg_layer!r} of {member.name}"
                raise _schema_error(target, lay, where, missing, actual)
        if lay.get("merge") and len(members) > 1:
            out = files / f"{lay['name']}.gpkg"
            _merge(members, out, lay["name"], fields, lay.get("keep", []))
            path, layer_name = out, lay["name"]
        else:
            path, layer_name = members[0], gpkg_layer
        records[lay["name"]] = {
            "path": path.relative_to(files.parent).as_posix(),
            "layer": layer_name,
            "fields": fields,
            "members": [m.relative_to(files.parent).as_posix() for m in members],
        }
    return records


def _merge(members: list[Path], out: Path, layer: str, fields: list[str], keep: list[str]) -> None:
    """Append the expected (and ``keep``) fields and geometry of every member into one GeoPackage layer."""
    import pyogrio

    canon = [f.split("|")[0].strip() for f in [*fields, *keep]]
    crs = None
    for i, member in enumerate(members):
        gdf = pyogrio.read_dataframe(member)
        mapping, _ = _match_fields([*fields, *keep], [str(c) for c in gdf.columns if c != "geometry"])
        data = {name: (gdf[mapping[name]] if name in mapping else None) for name in canon}
        data["source_file"] = member.name
        keep_df = gdf[["geometry"]].assign(**data)[[*canon, "source_file", "geometry"]]
        if crs is None:
            crs = keep_df.crs
        elif keep_df.crs is not None and crs is not None and keep_df.crs != crs:
            keep_df = keep_df.to_crs(crs)
        pyogrio.write_dataframe(keep_df, out, layer=layer, driver="GPKG", append=i > 0, promote_to_multi=True)


# --------------------------------------------------------------------------------------------
# fetch


def _install(target: _Target, key_dir: Path, part: Path, info: dict[str, Any], digest: str) -> dict[str, Any]:
    """Extract/check into a staging folder, then swap it into place and write the manifest."""
    entry = target.entry
    meta_path = part.with_name(part.name + _PART_META)
    size = part.stat().st_size
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=key_dir))
    trash: Path | None = None
    try:
        files = staging / "files"
        files.mkdir()
        max_bytes = int(entry.get("max_extracted_bytes", MAX_EXTRACTED_BYTES))
        max_members = int(entry.get("max_members", MAX_MEMBERS))
        if entry["format"] == "zip":
            _extract_zip(part, files, label=target.label, max_bytes=max_bytes, max_members=max_members)
            downloaded = part
        elif entry["format"] == "7z":
            _extract_7z(part, files, label=target.label, max_bytes=max_bytes, max_members=max_members)
            downloaded = part
        else:
            downloaded = files / target.filename
            os.replace(part, downloaded)
        layers = _build_layers(target, files, downloaded)
        manifest = {
            "name": target.label,
            "source": target.name,
            "department": target.department,
            "title": entry["title"],
            "publisher": entry["publisher"],
            "licence": entry["licence"],
            "doc": entry["doc"],
            "preset": entry.get("preset"),
            "format": entry["format"],
            "url": info["url"],
            "final_url": info.get("final_url"),
            "etag": info.get("etag"),
            "last_modified": info.get("last_modified"),
            "filename": target.filename,
            "size": size,
            "sha256": digest,
            "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
            "layers": layers,
        }
        final = key_dir / "files"
        if final.exists():
            trash = key_dir / f".old-{staging.name}"
            os.replace(final, trash)
        os.replace(files, final)
        _write_json_atomic(key_dir / _MANIFEST, manifest)
        return manifest
    except BaseException:
        if trash is not None and trash.exists() and not (key_dir / "files").exists():
            os.replace(trash, key_dir / "files")  # put the previous version back
            trash = None
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
        _remove(part, meta_path)


def _fetch_one(target: _Target, root: Path, *, force: bool, timeout: float, progress: bool) -> FetchedSource:
    key_dir = root / target.key
    manifest = _read_manifest(key_dir)
    if not force and _manifest_complete(manifest, key_dir) and manifest.get("url") == target.url:
        return _fetched(target, key_dir, manifest, "cached")
    if target.url is None:
        raise FetchError(
            f"{target.label}: the catalogue has no confirmed download address for this source "
            f"({target.entry.get('note', '')}). Download it from {target.entry['doc']} and give its path instead"
        )
    if not target.entry.get("verified", False):
        log.warning("%s: download address not verified: %s", target.label, target.entry.get("note", ""))
    key_dir.mkdir(parents=True, exist_ok=True)
    part = key_dir / (target.filename + ".part")
    info = _download(target, part, timeout=timeout, progress=progress)
    meta_path = part.with_name(part.name + _PART_META)
    try:
        digest = _sha256(part)
        pinned = target.entry.get("sha256") if target.department is None else None
        if pinned and digest != pinned:
            raise FetchError(
                f"{target.label}: checksum mismatch for {target.url}: expected sha256 {pinned} (catalogue entry "
                f"{target.name!r}), got {digest}; the download was discarded and the cache left unchanged"
            )
    except BaseException:
        _remove(part, meta_path)
        raise
    manifest = _install(target, key_dir, part, info, digest)
    return _fetched(target, key_dir, manifest, "resumed" if info.get("resumed") else "downloaded")


def fetch(
    sources: str | Iterable[str] | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    force: bool = False,
    offline: bool = False,
    progress: bool = True,
    catalogue: str | os.PathLike | Mapping[str, Any] | None = None,
    timeout: float = 60.0,
) -> FetchResult:
    """Download official national layers into the local cache (or check the cache when offline).

    Each source is downloaded once into ``<cache>/<name>/``: the transfer goes to a ``.part``
    file that a later call resumes with an HTTP Range request if it was interrupted; the file is
    checked against the catalogue's pinned SHA-256 (if any), archives are extracted safely into a
    staging folder (no absolute paths, ``..``, links; limits on size and member count), every
    layer is checked against the catalogue's expected fields, and only then is the result moved
    into place with a ``manifest.json`` (URL, ETag, Last-Modified, size, SHA-256, date). A
    source already in the cache is not downloaded again unless ``force=True``.

    Parameters
    ----------
    sources : str or iterable of str, optional
        Catalogue names (see :func:`list_sources`); ``"NAME:DEP"`` for a department file of
        sources published per department (``"pprn:34"``). Default: every source that has a
        national download address (several GB).
    cache_dir : path, optional
        Cache folder (default :func:`cache_root`).
    force : bool, default False
        Download again even if the source is cached.
    offline : bool, default False
        Use only the cache; raise :class:`FetchError` listing the sources missing from it.
    progress : bool, default True
        Draw a progress bar on stderr.
    catalogue : path or mapping, optional
        Replacement catalogue (default: ``ACV_GEO_CATALOGUE`` or the shipped one).
    timeout : float, default 60
        Network timeout in seconds for connecting and for each read.

    Returns
    -------
    FetchResult
        One :class:`FetchedSource` per source, in the order given.

    Raises
    ------
    ValueError
        Unknown source name, bad department code or option.
    FetchError
        HTTP error, network failure, interrupted transfer (``.part`` kept for resume), checksum
        mismatch, unsafe archive, schema change, or (offline) sources missing from the cache.

    Examples
    --------
    >>> import tempfile
    >>> fetch([], cache_dir=tempfile.mkdtemp(), offline=True).sources
    ()
    """
    if not isinstance(force, bool) or not isinstance(offline, bool) or not isinstance(progress, bool):
        raise ValueError("force, offline and progress must be True or False")
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if force and offline:
        raise ValueError("force=True (download again) and offline=True (no network) contradict each other")
    cat = load_catalogue(catalogue)
    if sources is None:
        names = [n for n, e in cat.items() if e.get("url")]
    elif isinstance(sources, str):
        names = [sources]
    else:
        names = list(sources)
    targets = []
    for spec in names:
        target, layer = _parse_name(spec, cat)
        if layer is not None:
            raise ValueError(f"source {spec!r}: fetch downloads whole sources; drop '/{layer}'")
        if target.url is None and target.entry.get("url_department") and not offline:
            raise ValueError(
                f"source {spec!r} is published per department; name one, e.g. '{target.name}:34'"
            )
        targets.append(target)
    root = cache_root(cache_dir)
    if offline:
        found, missing = [], []
        for t in targets:
            key_dir = root / t.key
            manifest = _read_manifest(key_dir)
            if _manifest_complete(manifest, key_dir):
                found.append(_fetched(t, key_dir, manifest, "cached"))
            else:
                missing.append(t.label)
        if missing:
            raise FetchError(
                f"offline: {len(missing)} source(s) missing from the cache {root}: {', '.join(missing)}. "
                f"When online, run: acv-geo fetch {' '.join(missing)}"
                + (f" --cache {root}" if cache_dir is not None else "")
            )
        return FetchResult(tuple(found), root)
    root.mkdir(parents=True, exist_ok=True)
    done = [_fetch_one(t, root, force=force, timeout=float(timeout), progress=progress) for t in targets]
    return FetchResult(tuple(done), root)


# --------------------------------------------------------------------------------------------
# lookups


def list_sources(
    *, cache_dir: str | os.PathLike | None = None, catalogue: str | os.PathLike | Mapping[str, Any] | None = None
) -> Any:
    """The catalogue as a table, with whether each source is in the cache.

    Parameters
    ----------
    cache_dir : path, optional
        Cache folder (default :func:`cache_root`).
    catalogue : path or mapping, optional
        Replacement catalogue.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``name``: ``title, publisher, preset, format, licence, url, url_department,
        doc, verified, note, cached`` (``cached`` lists the cached keys, e.g. ``"pprn_34"``).

    Examples
    --------
    >>> import tempfile
    >>> t = list_sources(cache_dir=tempfile.mkdtemp())
    >>> t.loc["radon", "preset"], bool(t.loc["radon", "verified"]), t.loc["radon", "cached"]
    ('radon', True, '')
    """
    import pandas as pd

    cat = load_catalogue(catalogue)
    root = cache_root(cache_dir)
    rows = []
    for name, e in cat.items():
        keys = []
        if root.is_dir():
            for d in sorted(root.glob(f"{name}*")):
                if (d.name == name or re.fullmatch(rf"{re.escape(name)}_[0-9AB]{{2,3}}", d.name)) and \
                        _manifest_complete(_read_manifest(d), d):
                    keys.append(d.name)
        rows.append({
            "name": name, "title": e["title"], "publisher": e["publisher"], "preset": e.get("preset"),
            "format": e["format"], "licence": e["licence"], "url": e.get("url"),
            "url_department": e.get("url_department"), "doc": e["doc"], "verified": bool(e.get("verified")),
            "note": e.get("note", ""), "cached": ", ".join(keys),
        })
    return pd.DataFrame(rows).set_index("name")


def source_info(
    name: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    catalogue: str | os.PathLike | Mapping[str, Any] | None = None,
) -> FetchedSource:
    """What the cache holds for a fetched source (paths, layer names, checksum, date).

    Parameters
    ----------
    name : str
        ``NAME`` or ``NAME:DEP`` (see :func:`fetch`).
    cache_dir, catalogue
        As in :func:`fetch`.

    Returns
    -------
    FetchedSource
        With ``status="cached"``.

    Raises
    ------
    ValueError
        Unknown source name.
    FileNotFoundError
        If the source was not fetched; the message gives the command to run.
    """
    cat = load_catalogue(catalogue)
    target, _ = _parse_name(name, cat)
    root = cache_root(cache_dir)
    key_dir = root / target.key
    manifest = _read_manifest(key_dir)
    if not _manifest_complete(manifest, key_dir):
        cache_opt = f" --cache {root}" if cache_dir is not None else ""
        raise FileNotFoundError(
            f"source {target.label!r} is not in the cache {root}; run `acv-geo fetch {target.label}{cache_opt}` "
            "when online"
        )
    return _fetched(target, key_dir, manifest, "cached")


def source_path(
    name: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    layer: str | None = None,
    catalogue: str | os.PathLike | Mapping[str, Any] | None = None,
) -> Path:
    """Path of a fetched layer.

    Parameters
    ----------
    name : str
        ``NAME``, ``NAME:DEP``, or with a layer: ``NAME/LAYER`` (``"admin_express_cog/epci"``).
    cache_dir : path, optional
        Cache folder (default :func:`cache_root`).
    layer : str, optional
        Layer of the source (default: its first layer). For GeoPackages holding several layers,
        the layer name to read is :attr:`FetchedSource.layers` of :func:`source_info`.
    catalogue : path or mapping, optional
        Replacement catalogue.

    Returns
    -------
    pathlib.Path
        The file to read.

    Raises
    ------
    ValueError
        Unknown source or layer.
    FileNotFoundError
        If the source was not fetched; the message says to run ``acv-geo fetch NAME``.
    """
    cat = load_catalogue(catalogue)
    target, in_name = _parse_name(name, cat)
    if layer is not None and in_name is not None and layer != in_name:
        raise ValueError(f"source {name!r}: layer given twice ({in_name!r} and layer={layer!r})")
    layer = layer or in_name
    if layer is not None:
        _parse_name(f"{target.label}/{layer}", cat)
    info = source_info(target.label, cache_dir=cache_dir, catalogue=cat)
    if layer is None:
        return info.path
    return info.layers[layer][0]


def resolve_source(
    name_or_path: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    catalogue: str | os.PathLike | Mapping[str, Any] | None = None,
) -> Path:
    """Path of an existing file, or of a fetched catalogue source named instead of a path.

    Parameters
    ----------
    name_or_path : str or path
        An existing file or folder, or a catalogue name (``"argiles"``, ``"pprn:34"``,
        ``"admin_express_cog/epci"``).
    cache_dir, catalogue
        As in :func:`fetch`.

    Returns
    -------
    pathlib.Path
        The path.

    Raises
    ------
    FileNotFoundError
        If it is neither an existing path nor a fetched source; the message says which and
        gives the ``acv-geo fetch`` command for a catalogue name.

    Examples
    --------
    >>> import acv_geo
    >>> resolve_source(acv_geo.get_path("radon")).name
    'radon_communes.csv'
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    text = str(name_or_path)
    cat = load_catalogue(catalogue)
    base = text.split("/", 1)[0].split(":", 1)[0].strip().lower()
    if base in cat:
        return source_path(text, cache_dir=cache_dir, catalogue=cat)
    raise FileNotFoundError(
        f"{text}: no such file, and not a catalogue source name (known sources: {', '.join(sorted(cat))}); "
        "give an existing path, or a source name and run `acv-geo fetch NAME` first"
    )
