"""Text files and atomic writes, one way for the whole package.

- :class:`RepairLog` collects the repairs made while reading one file (attached to the result, logged).
- :func:`decode_text` turns the bytes of a text file into text (UTF-8, UTF-16 with a byte-order mark,
  else Windows-1252, reported as a repair).
- :func:`sniff_separator` finds the column separator of a CSV text.
- :data:`TRUE_WORDS`, :data:`FALSE_WORDS`, :func:`parse_bool`: the one yes/no vocabulary (French and English).
- :func:`atomic_path`, :func:`write_json_atomic`: every output is written beside its destination, then renamed.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from acv_geo.core.errors import InputError

__all__ = [
    "FALSE_WORDS",
    "SEPARATORS",
    "TRUE_WORDS",
    "RepairLog",
    "atomic_path",
    "decode_text",
    "parse_bool",
    "sniff_separator",
    "write_json_atomic",
]

log = logging.getLogger("acv_geo")

#: Words read as *yes* and *no* (lower-cased, stripped), in French and English.
TRUE_WORDS = frozenset({"oui", "o", "yes", "y", "true", "vrai", "t", "1"})
FALSE_WORDS = frozenset({"non", "n", "no", "false", "faux", "f", "0"})

#: Column separators recognised in CSV files, most likely first.
SEPARATORS = (";", ",", "\t", "|")


def parse_bool(value: Any) -> bool | None:
    """``True``/``False`` for a yes/no word or a boolean, ``None`` for anything else.

    Examples
    --------
    >>> parse_bool(" OUI "), parse_bool("faux"), parse_bool(True), parse_bool("peut-être")
    (True, False, True, None)
    """
    if isinstance(value, bool):
        return value
    if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "b":  # numpy bool
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


class RepairLog:
    """Collects the repairs of one read; attached to the result and logged once per repair.

    Examples
    --------
    >>> log_ = RepairLog("towns.csv")
    >>> log_.add("encoding", "*", None, "decoded as Windows-1252")
    >>> log_.rows[0]["kind"], log_.rows[0]["count"]
    ('encoding', 1)
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []

    def add(self, kind: str, column: str, codes: list[str] | pd.Index | None, detail: str) -> None:
        """Record one repair: its kind, column, the codes of the rows repaired and what was done."""
        codes = [] if codes is None else [str(c) for c in codes]
        entry = {
            "kind": kind,
            "column": column,
            "count": len(codes) if codes else 1,
            "codes": ", ".join(codes[:20]) + (f", … ({len(codes)} in all)" if len(codes) > 20 else ""),
            "detail": detail,
            "file": self.path,
        }
        self.rows.append(entry)
        log.info("%s: %s (%s rows): %s", self.path, kind, entry["count"], detail)


def decode_text(path: str | os.PathLike[str], raw: bytes, encoding: str | None, report: RepairLog) -> str:
    """Text of a file's bytes: ``encoding`` if given, else UTF-16 (BOM), UTF-8, then Windows-1252.

    Raises
    ------
    InputError
        If the bytes are neither UTF-8 nor Windows-1252 (the message names the line), or do not decode
        as the ``encoding`` given.

    Examples
    --------
    >>> rep = RepairLog("a.csv")
    >>> decode_text("a.csv", "Sète;1".encode("cp1252"), None, rep), rep.rows[0]["kind"]
    ('Sète;1', 'encoding')
    """
    if encoding is not None:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(
                f"{path}: cannot decode the file as {encoding!r} ({exc}); give the right encoding"
            ) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        report.add("encoding", "*", None, "decoded as UTF-16 (byte-order mark found)")
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        line = raw[: utf8_error.start].count(b"\n") + 1
        raise InputError(
            f"{path}: unknown text encoding (not UTF-8: byte {raw[utf8_error.start]:#04x} on line {line}; "
            "not Windows-1252 either); re-save the file as UTF-8 or pass encoding='...'"
        ) from None
    report.add("encoding", "*", None, "file is not UTF-8; decoded as Windows-1252 (Latin-1)")
    return text


def sniff_separator(text: str, *, lines: int = 20) -> str | None:
    r"""The column separator of a CSV text (``;``, ``,``, tab or ``|``), or ``None`` if there is none.

    :class:`csv.Sniffer` on the first ``lines`` lines; where it cannot decide, the separator seen most
    often in the header line.

    Examples
    --------
    >>> sniff_separator("insee;nom\n34301;Sète\n"), sniff_separator("a,b\n1,2"), sniff_separator("seul")
    (';', ',', None)
    """
    head_lines = text.lstrip("\ufeff").splitlines()[:lines]
    if not head_lines:
        return None
    try:
        return csv.Sniffer().sniff("\n".join(head_lines), delimiters="".join(SEPARATORS)).delimiter
    except csv.Error:
        counts = {sep: head_lines[0].count(sep) for sep in SEPARATORS}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    Parameters
    ----------
    path : str or path-like
        Final destination. Its folder must exist.

    Yields
    ------
    pathlib.Path
        Where to write. It is removed if the block raises.

    Raises
    ------
    IsADirectoryError
        If ``path`` is an existing folder.
    FileNotFoundError
        If the destination folder does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("ok")
    >>> out.read_text()
    'ok'
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; give a file name such as {path / 'cities.gpkg'}")
    if not path.parent.exists():
        raise FileNotFoundError(f"{path}: folder {path.parent} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # drivers such as GPKG refuse to open an existing empty file
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json_atomic(path: str | os.PathLike[str], data: Any, **dump_options: Any) -> None:
    r"""Write ``data`` as indented UTF-8 JSON to ``path``, atomically (see :func:`atomic_path`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> write_json_atomic(out, {"ville": "Sète"})
    >>> out.read_text(encoding="utf-8")
    '{\n  "ville": "Sète"\n}\n'
    """
    options = {"indent": 2, "ensure_ascii": False, **dump_options}
    with atomic_path(path) as tmp:
        # json.dumps, not json.dump: only a one-shot dump without indent uses the C encoder (×10 on
        # the national clusters.json); the text is the same
        text = json.dumps(data, **options)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.write("\n")
