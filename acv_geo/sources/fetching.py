"""Download the official national layers and tables into the local cache (``acv-geo fetch``).

:func:`fetch` downloads each source of the catalogue (:mod:`acv_geo.sources.catalogue`) into the
cache (:mod:`acv_geo.sources.cache`): resumable and checksummed (:mod:`acv_geo.sources.download`),
archives extracted safely (:mod:`acv_geo.sources.archives`), every layer checked against the
catalogue (:mod:`acv_geo.sources.layers`), and only then swapped into place with a manifest.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from acv_geo.core.files import write_json_atomic
from acv_geo.core.progress import ProgressArg, check_progress
from acv_geo.sources.archives import MAX_EXTRACTED_BYTES, MAX_MEMBERS, extract_archive
from acv_geo.sources.cache import (
    MANIFEST,
    FetchedSource,
    FetchResult,
    cache_root,
    cached_source,
    manifest_complete,
    read_manifest,
)
from acv_geo.sources.catalogue import ARCHIVES, CatalogueArg, Target, load_catalogue, parse_name
from acv_geo.sources.download import download, part_meta_path, remove_files, sha256_file
from acv_geo.sources.errors import FetchError
from acv_geo.sources.layers import build_layers

__all__ = ["fetch"]

log = logging.getLogger("acv_geo")


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _manifest(target: Target, info: dict[str, Any], size: int, digest: str, layers: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a source just installed."""
    entry = target.entry
    return {
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
        "date": _utc_now(),
        "layers": layers,
    }


def _unpack(target: Target, part: Path, files: Path) -> Path:
    """Extract an archive into ``files`` (return the archive) or move the download there (return it)."""
    entry = target.entry
    if entry["format"] in ARCHIVES:
        extract_archive(
            entry["format"], part, files, label=target.label,
            max_bytes=int(entry.get("max_extracted_bytes", MAX_EXTRACTED_BYTES)),
            max_members=int(entry.get("max_members", MAX_MEMBERS)),
        )  # fmt: skip
        return part
    downloaded = files / target.filename
    os.replace(part, downloaded)
    return downloaded


def _install(target: Target, key_dir: Path, part: Path, info: dict[str, Any], digest: str) -> dict[str, Any]:
    """Extract/check into a staging folder, then swap it into place and write the manifest."""
    size = part.stat().st_size
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=key_dir))
    trash: Path | None = None
    try:
        files = staging / "files"
        files.mkdir()
        downloaded = _unpack(target, part, files)
        manifest = _manifest(target, info, size, digest, build_layers(target, files, downloaded))
        final = key_dir / "files"
        if final.exists():
            trash = key_dir / f".old-{staging.name}"
            os.replace(final, trash)
        os.replace(files, final)
        write_json_atomic(key_dir / MANIFEST, manifest)
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
        remove_files(part, part_meta_path(part))


def _check_sha256(target: Target, part: Path) -> str:
    """SHA-256 of the download; the download is discarded if it differs from the catalogue's pinned one."""
    try:
        digest = sha256_file(part)
        pinned = target.entry.get("sha256") if target.department is None else None
        if pinned and digest != pinned:
            raise FetchError(
                f"{target.label}: checksum mismatch for {target.url}: expected sha256 {pinned} (catalogue entry "
                f"{target.name!r}), got {digest}; the download was discarded and the cache left unchanged"
            )
    except BaseException:
        remove_files(part, part_meta_path(part))
        raise
    return digest


def _fetch_one(target: Target, root: Path, *, force: bool, timeout: float, progress: ProgressArg) -> FetchedSource:
    key_dir = root / target.key
    manifest = read_manifest(key_dir)
    if not force and manifest_complete(manifest, key_dir) and manifest.get("url") == target.url:
        return cached_source(target, key_dir, manifest, "cached")
    if target.url is None:
        raise FetchError(
            f"{target.label}: the catalogue has no confirmed download address for this source "
            f"({target.entry.get('note', '')}). Download it from {target.entry['doc']} and give its path instead"
        )
    if not target.entry.get("verified", False):
        log.warning("%s: download address not verified: %s", target.label, target.entry.get("note", ""))
    key_dir.mkdir(parents=True, exist_ok=True)
    part = key_dir / (target.filename + ".part")
    info = download(target, part, timeout=timeout, progress=progress)
    digest = _check_sha256(target, part)
    manifest = _install(target, key_dir, part, info, digest)
    return cached_source(target, key_dir, manifest, "resumed" if info.get("resumed") else "downloaded")


def _check_options(force: Any, offline: Any, progress: Any, timeout: Any) -> None:
    if not isinstance(force, bool) or not isinstance(offline, bool):
        raise ValueError("force and offline must be True or False")
    check_progress(progress)
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if force and offline:
        raise ValueError("force=True (download again) and offline=True (no network) contradict each other")


def _targets(sources: str | Iterable[str] | None, cat: dict[str, dict[str, Any]], *, offline: bool) -> list[Target]:
    """The targets of the source names given (default: every source with a national address)."""
    if sources is None:
        names = [n for n, e in cat.items() if e.get("url")]
    elif isinstance(sources, str):
        names = [sources]
    else:
        names = list(sources)
    targets = []
    for spec in names:
        target, layer = parse_name(spec, cat)
        if layer is not None:
            raise ValueError(f"source {spec!r}: fetch downloads whole sources; drop '/{layer}'")
        if target.url is None and target.entry.get("url_department") and not offline:
            raise ValueError(f"source {spec!r} is published per department; name one, e.g. '{target.name}:34'")
        targets.append(target)
    return targets


def _from_cache(targets: list[Target], root: Path, *, cache_given: bool) -> FetchResult:
    """Offline: the cached sources, or :class:`FetchError` listing those missing from the cache."""
    found, missing = [], []
    for t in targets:
        key_dir = root / t.key
        manifest = read_manifest(key_dir)
        if manifest_complete(manifest, key_dir):
            found.append(cached_source(t, key_dir, manifest, "cached"))
        else:
            missing.append(t.label)
    if missing:
        raise FetchError(
            f"offline: {len(missing)} source(s) missing from the cache {root}: {', '.join(missing)}. "
            f"When online, run: acv-geo fetch {' '.join(missing)}" + (f" --cache {root}" if cache_given else "")
        )
    return FetchResult(tuple(found), root)


def fetch(
    sources: str | Iterable[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    offline: bool = False,
    progress: ProgressArg = True,
    catalogue: CatalogueArg = None,
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
        Catalogue names (see :func:`acv_geo.list_sources`); ``"NAME:DEP"`` for a department file of
        sources published per department (``"pprn:34"``). Default: every source that has a
        national download address (several GB).
    cache_dir : path, optional
        Cache folder (default :func:`acv_geo.sources.cache.cache_root`).
    force : bool, default False
        Download again even if the source is cached.
    offline : bool, default False
        Use only the cache; raise :class:`FetchError` listing the sources missing from it.
    progress : bool or callable, default True
        ``True``: a progress bar on stderr for each download; ``False``: silent; a callable
        ``progress(fraction, message)``: called as the bytes of each download arrive (``fraction`` of
        that download, ``message`` the source name).
    catalogue : path or mapping, optional
        Replacement catalogue (default: ``ACV_GEO_CATALOGUE`` or the shipped one).
    timeout : float, default 60
        Network timeout in seconds for connecting and for each read.

    Returns
    -------
    FetchResult
        One :class:`~acv_geo.sources.cache.FetchedSource` per source, in the order given.

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
    _check_options(force, offline, progress, timeout)
    targets = _targets(sources, load_catalogue(catalogue), offline=offline)
    root = cache_root(cache_dir)
    if offline:
        return _from_cache(targets, root, cache_given=cache_dir is not None)
    root.mkdir(parents=True, exist_ok=True)
    done = [_fetch_one(t, root, force=force, timeout=float(timeout), progress=progress) for t in targets]
    return FetchResult(tuple(done), root)
