"""Safe extraction of downloaded archives (zip, 7z) and safe file names.

Before anything is extracted every member is checked: absolute paths, ``..`` components, NUL bytes
and symbolic links are refused; too many members, a total expanded size above the limit or a member
compressed more than :data:`MAX_RATIO` times are refused as zip bombs; a zip member that inflates
beyond its declared size is stopped while it is written.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

from acv_geo.sources.errors import FetchError, human_size

__all__ = [
    "MAX_EXTRACTED_BYTES",
    "MAX_MEMBERS",
    "MAX_RATIO",
    "extract_archive",
    "safe_filename",
    "unsafe_member",
]

#: Default limits of archive extraction (a catalogue entry may raise ``max_extracted_bytes``).
MAX_MEMBERS = 200_000
MAX_EXTRACTED_BYTES = 16 * 1024**3
#: Compression ratio above which a large member is treated as a zip bomb.
MAX_RATIO = 1000
_CHUNK = 1 << 20


def safe_filename(name: str, *, what: str) -> str:
    """``name`` if it is a plain file name (one path component), else :class:`FetchError` naming ``what``.

    Every name that comes from outside (a catalogue entry's ``filename``, the last part of a download
    address) goes through here before a path is made of it, so nothing is written outside the cache.

    Examples
    --------
    >>> safe_filename("N_PAC_RISQUES_S_034.zip", what="x")
    'N_PAC_RISQUES_S_034.zip'
    >>> safe_filename("../x.zip", what="entry 'x'")
    Traceback (most recent call last):
    ...
    acv_geo.sources.errors.FetchError: entry 'x': file name '../x.zip' refused ('..' in path); give a plain file name such as 'data.zip'
    """  # noqa: E501 (a doctest output line)
    why = unsafe_member(name)
    if why is None and ("/" in name or "\\" in name):
        why = "a folder separator in a file name"
    if why is None and (name in ("", ".", "..") or name.strip(" .") == ""):
        why = "not a file name"
    if why:
        raise FetchError(f"{what}: file name {name!r} refused ({why}); give a plain file name such as 'data.zip'")
    return name


def unsafe_member(name: str) -> str | None:
    """Why an archive member name is refused, or ``None`` if it is safe.

    Examples
    --------
    >>> unsafe_member("data/a.shp"), unsafe_member("/etc/passwd"), unsafe_member("C:/x")
    (None, 'absolute path', 'absolute path')
    """
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return "absolute path"
    if any(part == ".." for part in norm.split("/")):
        return "'..' in path"
    if "\x00" in norm:
        return "NUL byte in name"
    return None


def extract_archive(fmt: str, archive: Path, dest: Path, *, label: str, max_bytes: int, max_members: int) -> None:
    r"""Check every member of a ``zip`` or ``7z`` archive, then extract it into ``dest``.

    Parameters
    ----------
    fmt : {"zip", "7z"}
        Archive format.
    archive : pathlib.Path
        The downloaded archive.
    dest : pathlib.Path
        Existing folder to extract into.
    label : str
        Source name, for the messages.
    max_bytes, max_members : int
        Limits on the total expanded size and on the number of members.

    Raises
    ------
    FetchError
        Invalid archive, unsafe member, zip bomb, or (7z) ``py7zr`` not installed.

    Examples
    --------
    >>> import io, tempfile, zipfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); z = d / "a.zip"
    >>> with zipfile.ZipFile(z, "w") as zf:
    ...     zf.writestr("dir/a.csv", "x;y\n")
    >>> (d / "out").mkdir(); extract_archive("zip", z, d / "out", label="t", max_bytes=100, max_members=10)
    >>> (d / "out" / "dir" / "a.csv").read_text()
    'x;y\n'
    """
    if fmt == "zip":
        _extract_zip(archive, dest, label=label, max_bytes=max_bytes, max_members=max_members)
    elif fmt == "7z":
        _extract_7z(archive, dest, label=label, max_bytes=max_bytes, max_members=max_members)
    else:
        raise ValueError(f"{label}: {fmt!r} is not an archive format (zip, 7z)")


def _refuse(label: str, name: str, why: str) -> FetchError:
    return FetchError(f"{label}: archive member {name!r} refused ({why}); nothing was extracted")


def _check_count(label: str, n: int, max_members: int) -> None:
    if n > max_members:
        raise FetchError(f"{label}: the archive holds {n} members (limit {max_members}); refused")


def _check_total(label: str, total: int, max_bytes: int) -> None:
    if total > max_bytes:
        raise FetchError(
            f"{label}: the archive would expand to {human_size(total)} (limit {human_size(max_bytes)}); refused"
        )


def _check_zip_members(infos: list[zipfile.ZipInfo], *, label: str, max_bytes: int, max_members: int) -> None:
    """Refuse unsafe names, links, zip bombs and archives above the limits, before anything is written."""
    _check_count(label, len(infos), max_members)
    total = 0
    for info in infos:
        why = unsafe_member(info.filename)
        if why is None and info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
            why = "symbolic link"
        if why:
            raise _refuse(label, info.filename, why)
        total += info.file_size
        if info.file_size > _CHUNK and info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise FetchError(
                f"{label}: archive member {info.filename!r} expands {info.file_size / info.compress_size:.0f}"
                f" times (limit {MAX_RATIO}); refused as a possible zip bomb"
            )
    _check_total(label, total, max_bytes)


def _extract_zip(archive: Path, dest: Path, *, label: str, max_bytes: int, max_members: int) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{label}: the download is not a valid zip archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        _check_zip_members(infos, label=label, max_bytes=max_bytes, max_members=max_members)
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
                raise FetchError(
                    f"{label}: archive member {info.filename!r} is corrupt ({exc}); the download was "
                    "damaged: fetch it again with --force"
                ) from None


def _copy_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, *, label: str, written: int, max_bytes: int
) -> int:
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


def _check_7z_members(sz: Any, *, label: str, max_bytes: int, max_members: int) -> None:
    infos = sz.list()  # documented FileInfo: filename, is_directory, uncompressed
    _check_count(label, len(infos), max_members)
    links = {f.filename for f in (getattr(sz, "files", None) or []) if getattr(f, "is_symlink", False)}
    total = 0
    for f in infos:
        why = unsafe_member(f.filename)
        if why is None and f.filename in links:
            why = "symbolic link"
        if why:
            raise _refuse(label, f.filename, why)
        total += int(getattr(f, "uncompressed", 0) or 0)
    _check_total(label, total, max_bytes)


def _extract_7z(archive: Path, dest: Path, *, label: str, max_bytes: int, max_members: int) -> None:
    try:
        import py7zr
    except ImportError:
        raise FetchError(
            f"{label}: the download is a 7z archive and py7zr is not installed; run `pip install py7zr` and fetch again"
        ) from None
    try:
        with py7zr.SevenZipFile(archive, mode="r") as sz:
            _check_7z_members(sz, label=label, max_bytes=max_bytes, max_members=max_members)
        with py7zr.SevenZipFile(archive, mode="r") as sz:  # list() consumed the reader: reopen
            sz.extractall(path=dest)
    except py7zr.Bad7zFile as exc:
        raise FetchError(f"{label}: the download is not a valid 7z archive ({exc})") from None
