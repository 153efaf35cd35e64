"""HTTP download of one source: resumable, checked, and refusing web pages where data was expected.

The transfer goes to a ``.part`` file, with a ``.part.json`` beside it holding the address, ETag and
Last-Modified; an interrupted transfer keeps both, and the next call resumes it with an HTTP
``Range`` request (``If-Range``). A server that cannot resume restarts the download from zero. Only
the standard library is used for the network (:mod:`urllib`).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import re
import urllib.error
import urllib.request
from http.client import HTTPResponse
from pathlib import Path
from typing import Any

from acv_geo.core.files import write_json_atomic
from acv_geo.core.progress import Progress, ProgressArg
from acv_geo.sources.catalogue import Target
from acv_geo.sources.errors import FetchError, human_size

__all__ = ["CHUNK", "download", "part_meta_path", "refuse_web_page", "remove_files", "sha256_file", "user_agent"]

log = logging.getLogger("acv_geo")

#: Bytes read at a time from the network and from files.
CHUNK = 1 << 20


class _Restart(Exception):
    """The server cannot resume the partial download: start again from zero (the message says why)."""


def user_agent() -> str:
    """The ``User-Agent`` header acv-geo sends to every server.

    Examples
    --------
    >>> user_agent().startswith("acv-geo/")
    True
    """
    from acv_geo import __version__

    return f"acv-geo/{__version__} (+https://github.com/acv-geo; python-urllib)"


def part_meta_path(part: Path) -> Path:
    """The ``.part.json`` file that records what a ``.part`` download is a part of.

    Examples
    --------
    >>> import pathlib
    >>> part_meta_path(pathlib.Path("c/radon.csv.part")).as_posix()
    'c/radon.csv.part.part.json'
    """
    return part.with_name(part.name + ".part.json")


def remove_files(*paths: Path) -> None:
    """Delete the files that exist among ``paths``."""
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, in hexadecimal.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a"; _ = p.write_bytes(b"")
    >>> sha256_file(p)[:16]
    'e3b0c44298fc1c14'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def download(target: Target, part: Path, *, timeout: float, progress: ProgressArg) -> dict[str, Any]:
    """Download ``target.url`` into ``part``, resuming a previous ``.part`` with HTTP Range.

    Parameters
    ----------
    target : Target
        What to download (its ``url`` must be set).
    part : pathlib.Path
        The ``.part`` file; its folder exists.
    timeout : float
        Seconds for connecting and for each read.
    progress : bool, None or callable
        As :class:`acv_geo.core.progress.Progress` takes it (bytes of this download).

    Returns
    -------
    dict
        ``url``, ``final_url``, ``etag``, ``last_modified``, ``content_type``, ``resumed``.

    Raises
    ------
    FetchError
        HTTP error, network failure, interrupted transfer (``part`` is kept for a resume), or a web
        page instead of data (``part`` is removed).
    """
    url = target.url
    if url is None:
        raise ValueError(f"{target.label}: no download address")
    meta_path = part_meta_path(part)
    prev = _read_part_meta(meta_path)
    offset = part.stat().st_size if part.exists() else 0
    if offset and prev.get("url") != url:
        remove_files(part, meta_path)
        offset = 0
    for _attempt in (1, 2):
        try:
            return _transfer(target, part, offset, prev, timeout=timeout, progress=progress)
        except _Restart as why:
            log.info("%s: %s; restarting", target.label, why)
            remove_files(part, meta_path)
            offset = 0
    raise FetchError(f"{target.label}: {url} answers inconsistent byte ranges; try again later")


def _read_part_meta(meta_path: Path) -> dict[str, Any]:
    if meta_path.exists():
        with contextlib.suppress(json.JSONDecodeError, OSError):
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            return meta if isinstance(meta, dict) else {}
    return {}


def _open(target: Target, part: Path, offset: int, prev: dict[str, Any], timeout: float) -> HTTPResponse:
    """The server's answer to a GET (with ``Range`` from ``offset`` if it is not 0)."""
    url = str(target.url)
    headers = {"User-Agent": user_agent(), "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        validator = prev.get("etag") or prev.get("last_modified")
        if validator:
            headers["If-Range"] = validator
    request = urllib.request.Request(url, headers=headers)
    try:
        resp: HTTPResponse = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http/https, catalogue)
        return resp
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            raise _Restart("server refused to resume (HTTP 416)") from None
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


def _write_mode(target: Target, resp: HTTPResponse, offset: int) -> tuple[str, int | None]:
    """``"ab"`` and the full size when the server resumes at ``offset``, else ``"wb"`` and the length."""
    if resp.status == 206 and offset:
        start, total = _content_range(resp.headers.get("Content-Range"))
        if start != offset:
            raise _Restart(f"server resumed at {start} instead of {offset}")
        return "ab", total
    if offset:
        log.info("%s: server ignored the Range request; restarting from zero", target.label)
    length = resp.headers.get("Content-Length")
    return "wb", int(length) if length and length.isdigit() else None


def _transfer(
    target: Target, part: Path, offset: int, prev: dict[str, Any], *, timeout: float, progress: ProgressArg
) -> dict[str, Any]:
    url = str(target.url)
    with _open(target, part, offset, prev, timeout) as resp:
        mode, total = _write_mode(target, resp, offset)
        offset = offset if mode == "ab" else 0
        info: dict[str, Any] = {
            "url": url,
            "final_url": resp.geturl(),
            "etag": resp.headers.get("ETag"),
            "last_modified": resp.headers.get("Last-Modified"),
            "content_type": resp.headers.get("Content-Type"),
        }
        write_json_atomic(part_meta_path(part), info)
        _copy_body(target, resp, part, mode=mode, total=total, offset=offset, progress=progress)
    size = part.stat().st_size
    if total is not None and size != total:
        raise FetchError(
            f"{target.label}: the transfer from {url} was interrupted after {human_size(size)} of "
            f"{human_size(total)} (connection closed early); the partial download is kept in {part}: run the "
            "same command again to resume"
        )
    info["resumed"] = mode == "ab"
    refuse_web_page(target, part, info)
    return info


def _copy_body(
    target: Target, resp: HTTPResponse, part: Path, *, mode: str, total: int | None, offset: int, progress: ProgressArg
) -> None:
    """Append (``ab``) or write (``wb``) the answer's body to ``part``, reporting the bytes received."""
    if offset:
        log.info("%s: resuming after %s", target.label, human_size(offset))
    bar = Progress(total, progress, desc=target.label, unit="B", initial=offset)
    message = target.label if bar.callback is not None else ""
    try:
        with open(part, mode) as fh:
            for chunk in iter(lambda: resp.read(CHUNK), b""):
                fh.write(chunk)
                bar.update(len(chunk), message)
    except (TimeoutError, http.client.IncompleteRead, ConnectionError, OSError) as exc:
        got = part.stat().st_size if part.exists() else 0
        raise FetchError(
            f"{target.label}: the transfer from {target.url} was interrupted after {human_size(got)} ({exc!r}); "
            f"the partial download is kept in {part}: run the same command again to resume"
        ) from None
    bar.close()


def refuse_web_page(target: Target, part: Path, info: dict[str, Any]) -> None:
    """An HTML page where data was expected (a portal's error or login page) is refused, not parsed.

    Raises
    ------
    FetchError
        If ``part`` begins like an HTML page or was served as ``text/html``; ``part`` is removed.
    """
    with open(part, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    ctype = str(info.get("content_type") or "").lower()
    if head.startswith((b"<!doctype html", b"<html")) or "text/html" in ctype:
        remove_files(part, part_meta_path(part))
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
