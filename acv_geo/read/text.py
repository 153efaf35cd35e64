"""Raw reading of a user's file into text columns: CSV, JSON, GeoJSON, spreadsheets, point layers.

A GeoJSON wrapped in a JavaScript variable (the ANCT web map's ``coeurdeville.js``) is read too.
:func:`read_raw` returns the file's columns as published (no renaming, no repair besides the text
decoding) and remembers where each row came from (``line 3``, ``record 2``, ``feature 5``) in
``attrs[ROWS]`` so that errors name the row the user sees (:func:`row_labels`). Point geometries become
the ``_geom_lon``/``_geom_lat`` columns (WGS84).
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError
from acv_geo.core.files import RepairLog, decode_text, sniff_separator

__all__ = [
    "CSV_SEPARATORS",
    "ROWS",
    "RowLabels",
    "check_file",
    "geojson_frame",
    "read_csv_text",
    "read_raw",
    "records_frame",
    "row_labels",
]

#: Key of ``DataFrame.attrs`` holding the user-facing label of each row (``"line 2"``, ``"record 1"``…).
ROWS = "_rows"


class RowLabels(list[str]):
    """The row labels kept in ``attrs[ROWS]``: never changed once made, so pandas need not copy them.

    pandas deep-copies ``attrs`` after every operation on a frame; a copy of a few hundred labels per
    operation cost a third of reading the ACV list.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> RowLabels:
        return self


#: Column separators accepted in a city list.
CSV_SEPARATORS = (";", ",", "\t")

_SPREADSHEETS = (".xlsx", ".xls", ".ods")
_LAYERS = (".gpkg", ".shp", ".fgb", ".gml", ".sqlite", ".parquet")


def check_file(path: Path) -> None:
    """Raise a clear error if ``path`` is missing, a folder or empty.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the message names the current folder).
    InputError
        If ``path`` is a folder or has 0 bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> check_file(pathlib.Path(tempfile.mkdtemp()))
    Traceback (most recent call last):
    ...
    acv_geo.core.errors.InputError: ...: is a folder, not a file; give the path of the exported file
    """
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file; check the path (current folder: {os.getcwd()})")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file; give the path of the exported file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); export the dataset again")


def row_labels(df: pd.DataFrame, mask: Any) -> str:
    """The labels of the rows of ``mask`` (the first ten, then how many in all).

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 3]})
    >>> df.attrs[ROWS] = ["line 2", "line 3", "line 4"]
    >>> row_labels(df, [False, True, True])
    'line 3, line 4'
    """
    rows = df.attrs.get(ROWS) or [f"row {i + 1}" for i in range(len(df))]
    idx = np.flatnonzero(np.asarray(mask))
    labels = [rows[i] for i in idx[:10]]
    return ", ".join(labels) + (f" … ({len(idx)} in all)" if len(idx) > 10 else "")


def read_csv_text(path: Path, text: str) -> pd.DataFrame:
    r"""The CSV ``text`` of ``path`` as text columns (``;``, ``,`` or tab separated).

    The separator is found by :func:`acv_geo.core.files.sniff_separator`.

    Examples
    --------
    >>> df = read_csv_text(Path("a.csv"), "insee;nom\n01004;Ambérieu\n")
    >>> df.to_dict("list"), df.attrs[ROWS]
    ({'insee': ['01004'], 'nom': ['Ambérieu']}, ['line 2'])
    """
    if not text.strip():
        raise InputError(f"{path}: the file has no content (only blank lines); export the dataset again")
    sep = sniff_separator(text)
    if sep not in CSV_SEPARATORS:
        header = text.lstrip("\ufeff").splitlines()[0]
        raise InputError(
            f"{path}: line 1: no column separator found (expected ';' or ','; the header reads "
            f"{header[:80]!r}); export the file as CSV with ';' or ',' between columns"
        )
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        where = f"line {m.group(1)}" if m else "a line"
        raise InputError(
            f"{path}: {where} has a different number of fields than the header ({exc}); check the "
            f"separator ({sep!r} detected) and quoting"
        ) from None
    df.attrs[ROWS] = RowLabels(f"line {i + 2}" for i in range(len(df)))
    return df


def records_frame(path: Path, records: list[Any], what: str) -> pd.DataFrame:
    """A JSON list of records (or of Opendatasoft ``{"fields": …}`` records) as a table.

    Examples
    --------
    >>> records_frame(Path("a.json"), [{"fields": {"insee": "01004"}}], "JSON").to_dict("list")
    {'insee': ['01004']}
    """
    if not records:
        raise InputError(f"{path}: the {what} holds no record; export the dataset again")
    if not all(isinstance(r, dict) for r in records):
        raise InputError(f"{path}: the {what} is not a list of records (objects); export as JSON records")
    if all("fields" in r for r in records):  # Opendatasoft v1 "records" export
        rows = []
        for r in records:
            row = dict(r["fields"])
            if "geometry" in r and r["geometry"] and "geo_point_2d" not in row:
                lon, lat = r["geometry"]["coordinates"][:2]
                row["geo_point_2d"] = f"{lat}, {lon}"
            rows.append(row)
        records = rows
    df = pd.DataFrame.from_records(records)
    df.attrs[ROWS] = RowLabels(f"record {i + 1}" for i in range(len(df)))
    return df


def geojson_frame(path: Path, obj: dict[str, Any]) -> pd.DataFrame:
    """The properties of a GeoJSON FeatureCollection, points as ``_geom_lon``/``_geom_lat``.

    Examples
    --------
    >>> fc = {"features": [{"properties": {"insee": "01004"}, "geometry": {"type": "Point",
    ...                                                                   "coordinates": [5.36, 45.96]}}]}
    >>> geojson_frame(Path("a.geojson"), fc).to_dict("records")
    [{'insee': '01004', '_geom_lon': 5.36, '_geom_lat': 45.96}]
    """
    feats = obj.get("features") or []
    if not feats:
        raise InputError(f"{path}: the GeoJSON FeatureCollection has no feature; export the dataset again")
    rows = []
    for f in feats:
        props = dict(f.get("properties") or {})
        geom = f.get("geometry")
        if geom and geom.get("type") == "Point":
            lon, lat = geom["coordinates"][:2]
            props["_geom_lon"], props["_geom_lat"] = lon, lat
        rows.append(props)
    df = pd.DataFrame.from_records(rows)
    df.attrs[ROWS] = RowLabels(f"feature {i + 1}" for i in range(len(df)))
    return df


def _read_spreadsheet(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_excel(path, dtype=str)
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported as bad input
        raise InputError(f"{path}: cannot read the spreadsheet ({exc}); export it as CSV") from None
    df.attrs[ROWS] = RowLabels(f"row {i + 2}" for i in range(len(df)))
    return df


def _read_point_layer(path: Path) -> pd.DataFrame:
    import geopandas as gpd

    try:
        g = gpd.read_parquet(path) if path.suffix.lower() == ".parquet" else gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: cannot read the layer ({exc})") from None
    df = pd.DataFrame(g.drop(columns=g.geometry.name))
    pts = g.geometry.to_crs(4326) if g.crs is not None else g.geometry
    if len(g) and (pts.geom_type == "Point").all():
        df["_geom_lon"], df["_geom_lat"] = pts.x.values, pts.y.values
    df.attrs[ROWS] = RowLabels(f"feature {i + 1}" for i in range(len(df)))
    return df


def _json_frame(path: Path, text: str) -> pd.DataFrame:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        return geojson_frame(path, obj)
    if isinstance(obj, dict):
        for key in ("results", "records", "data"):
            if isinstance(obj.get(key), list):
                return records_frame(path, obj[key], "JSON")
        raise InputError(f"{path}: JSON object without a list of records or features; export as JSON or GeoJSON")
    return records_frame(path, obj, "JSON array")


def _text_frame(path: Path, text: str) -> pd.DataFrame:
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:15].lower().startswith(("<!doctype html", "<html")):
        raise InputError(
            f"{path}: this is a web page (HTML), not a city list; download the data file itself "
            "(not the page that links to it)"
        )
    ext = path.suffix.lower()
    if ext == ".js" or re.match(r"^(var|let|const)\s+\w+\s*=", stripped):
        start = stripped.find("{")
        end = stripped.rfind("}")
        if start < 0 or end < 0:
            raise InputError(f"{path}: not a GeoJSON wrapped in a JavaScript variable (no '{{' found)")
        stripped = stripped[start : end + 1]
    if stripped.startswith(("{", "[")):
        return _json_frame(path, stripped)
    if ext in (".json", ".geojson"):
        raise InputError(f"{path}: the file is not valid JSON (it does not start with '{{' or '['); export again")
    return read_csv_text(path, text)


def read_raw(path: Path, encoding: str | None, report: RepairLog) -> pd.DataFrame:
    r"""The columns of a city list as published, whatever its format (from its extension and content).

    Parameters
    ----------
    path : pathlib.Path
        CSV (``;``, ``,`` or tab), JSON (records, or Opendatasoft ``fields`` records), GeoJSON, a GeoJSON
        wrapped in a JavaScript variable, XLSX/XLS/ODS, or a point layer (GeoPackage, Shapefile, FlatGeobuf,
        GML, SQLite, GeoParquet).
    encoding : str or None
        Text encoding; ``None`` for UTF-8, else Windows-1252 with a repair (:func:`~acv_geo.core.files.decode_text`).
    report : acv_geo.core.files.RepairLog
        Where the decoding repair goes.

    Returns
    -------
    pandas.DataFrame
        Text columns as published (plus ``_geom_lon``/``_geom_lat`` for points); ``attrs[ROWS]`` the label of
        each row.

    Raises
    ------
    FileNotFoundError, acv_geo.InputError
        Missing, empty or unreadable file, web page, invalid JSON, no column separator.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "villes.json"
    >>> _ = p.write_text('[{"insee": "01004"}]')
    >>> read_raw(p, None, RepairLog(str(p))).attrs[ROWS]
    ['record 1']
    """
    check_file(path)
    ext = path.suffix.lower()
    if ext in _SPREADSHEETS:
        return _read_spreadsheet(path)
    if ext in _LAYERS:
        return _read_point_layer(path)
    return _text_frame(path, decode_text(path, path.read_bytes(), encoding, report))
