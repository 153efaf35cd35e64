"""The output folder of a run, replaced as a whole: checked first, built beside, swapped in at the end.

:func:`check_out_dir` refuses, before anything is computed, a folder that cannot or must not receive the
outputs (a file, a folder of the user's own, no permission, no room). :func:`temporary_folder` makes the
folder the outputs are built in, beside the destination; :func:`write_marker` lists what was written
there (:data:`MARKER`: how a later run recognises its own folder); :func:`swap_in` replaces the
destination by it with two renames; :func:`recover` restores a folder hidden by a run killed between
those two renames.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from acv_geo.core.errors import InputError, os_error_message
from acv_geo.core.files import write_json_atomic

__all__ = ["MARKER", "check_out_dir", "recover", "swap_in", "temporary_folder", "write_marker"]

log = logging.getLogger("acv_geo")

#: File naming what a run wrote in its output folder.
MARKER = ".acv-geo-diagnose.json"


def check_out_dir(out_dir: Path, *, overwrite: bool = False, n_cities: int = 244) -> None:
    """Refuse, before computing, an output folder that cannot or must not receive the diagnostic.

    Parameters
    ----------
    out_dir : pathlib.Path
        The output folder (created at the end if needed).
    overwrite : bool, default False
        Accept a previous output folder holding files the run did not write (they will be deleted).
    n_cities : int, default 244
        Cities of the run (the room needed grows with them).

    Raises
    ------
    NotADirectoryError
        If ``out_dir`` is a file.
    acv_geo.InputError
        A non-empty folder not written by a run, or one holding files of the user (without
        ``overwrite``), no permission to write, not enough room.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> check_out_dir(pathlib.Path(tempfile.mkdtemp()) / "diag")
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(
            f"{out_dir}: is a file, not a folder; give --out a folder name (it is created if needed)"
        )
    if out_dir.is_dir() and any(out_dir.iterdir()):
        marker = out_dir / MARKER
        if not marker.exists():
            raise InputError(
                f"{out_dir}: the folder exists, is not empty and was not written by acv-geo diagnose; its content "
                "would be replaced: give a new or empty folder"
            )
        foreign = _foreign_files(out_dir, marker)
        if foreign and not overwrite:
            shown = ", ".join(foreign[:10]) + (f" … ({len(foreign)} in all)" if len(foreign) > 10 else "")
            raise InputError(
                f"{out_dir}: holds files acv-geo diagnose did not write ({shown}); they would be deleted with the "
                "previous outputs: move them out, or pass overwrite=True (CLI --overwrite) to delete them"
            )
    _check_writable(out_dir, n_cities)


def _foreign_files(out_dir: Path, marker: Path) -> list[str]:
    """Files of a previous output folder that its marker does not list (the user's own)."""
    import json

    try:
        written = set(json.loads(marker.read_text(encoding="utf-8")).get("files", []))
    except (OSError, ValueError):
        written = set()
    written.add(MARKER)
    found = [p.relative_to(out_dir).as_posix() for p in sorted(out_dir.rglob("*")) if p.is_file()]
    return [f for f in found if f not in written and not f.endswith(".metadata.csv")]


def _check_writable(out_dir: Path, n_cities: int) -> None:
    """The folder that will hold the output exists or can be made, is writable, and has room."""
    parent = out_dir.resolve().parent
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(
            f"{existing}: no permission to write there, so {out_dir} cannot be written; choose a "
            "folder you may write to (e.g. in your home folder)"
        )
    need = 60e6 + 25e3 * n_cities  # maps, report and tables of the default diagnostic, measured with margin
    free = shutil.disk_usage(existing).free
    if free < need:
        raise InputError(
            f"{existing}: only {free / 1e6:.0f} MB free; the diagnostic of {n_cities} cities needs about "
            f"{need / 1e6:.0f} MB: free some space or choose a folder on another disk"
        )


def recover(out_dir: Path) -> None:
    """Restore an output folder hidden by a run killed between its two renames; drop stale temporary folders.

    Parameters
    ----------
    out_dir : pathlib.Path
        The output folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / ".diag.old-1234abcd").mkdir()  # the first rename done, not the second
    >>> recover(root / "diag")
    >>> sorted(p.name for p in root.iterdir())
    ['diag']
    """
    parent = out_dir.resolve().parent
    olds = sorted(parent.glob(f".{out_dir.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not out_dir.exists():
        os.replace(olds[-1], out_dir)
        log.warning(
            "%s: restored the previous outputs, hidden by a run that was interrupted while replacing them", out_dir
        )
        olds = olds[:-1]
    if out_dir.exists():
        for p in olds:
            shutil.rmtree(p, ignore_errors=True)
    for p in parent.glob(f".{out_dir.name}.tmp-*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temporary_folder(out_dir: Path) -> Path:
    """A new empty folder beside ``out_dir`` (same file system, so :func:`swap_in` is two renames).

    Its permissions follow the umask like any new folder (``mkdtemp`` alone makes it 0700).

    Raises
    ------
    acv_geo.InputError
        If the parent folder cannot be made or written to.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = temporary_folder(pathlib.Path(tempfile.mkdtemp()) / "diag")
    >>> tmp.name.startswith(".diag.tmp-"), tmp.is_dir()
    (True, True)
    """
    parent = out_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=parent))
    except OSError as exc:
        raise InputError(os_error_message(exc, path=parent)) from None
    tmp.chmod(0o777 & ~_umask())
    return tmp


def write_marker(folder: Path, files: Iterable[str], **fields: Any) -> None:
    """Write :data:`MARKER` in ``folder``: the tool, its version, the date, ``fields`` and the files written.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_marker(d, ["report.html"], cities=3)
    >>> json.loads((d / MARKER).read_text())["files"]
    ['report.html']
    """
    from acv_geo import __version__
    from acv_geo.outputs.writers import json_ready

    marker: dict[str, Any] = {
        "tool": "acv-geo diagnose",
        "version": __version__,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
    }
    marker.update(fields)
    marker["files"] = list(files)
    write_json_atomic(folder / MARKER, json_ready(marker))


def swap_in(tmp: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``tmp`` (both in the same folder): the previous outputs go only once all is there.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "new").mkdir(); (root / "diag").mkdir()
    >>> swap_in(root / "new", root / "diag")
    >>> sorted(p.name for p in root.iterdir())
    ['diag']
    """
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out_dir, old)
        try:
            os.replace(tmp, out_dir)
        except BaseException:
            os.replace(old, out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out_dir)
