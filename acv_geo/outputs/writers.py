"""Atomic writers: every output file is written to a temporary file, then renamed.

A run that fails or is interrupted leaves either the previous file or nothing, never half a file.
"""

from __future__ import annotations

import datetime as _dt
import errno
import logging
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.files import atomic_path, write_json_atomic
from acv_geo.core.labels import CITY_METADATA, label_metadata
from acv_geo.core.metadata import METADATA_COLUMNS, indicator_metadata

log = logging.getLogger("acv_geo")

__all__ = ["FORMATS", "atomic_path", "json_ready", "write_json", "write_table"]

FORMATS = {".gpkg": "GeoPackage", ".geojson": "GeoJSON", ".csv": "CSV", ".parquet": "Parquet"}


#: Column names whose whole-number float values are written as integers (counts, years, ranks, classes).
INTEGER_SUFFIXES = ("_count", "_year", "_class", "_zone", "rank", "_n_indicators")


def _integers(out: pd.DataFrame) -> pd.DataFrame:
    """Float columns of counts, years, ranks and classes holding whole numbers (or NA) as nullable ``Int64``."""
    for c in out.columns:
        if isinstance(c, str) and c.endswith(INTEGER_SUFFIXES) and pd.api.types.is_float_dtype(out[c].dtype):
            values = out[c].to_numpy(dtype="float64", na_value=np.nan)
            finite = values[~np.isnan(values)]
            if np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53):
                missing = np.isnan(values)
                out[c] = pd.arrays.IntegerArray(np.where(missing, 0, values).astype("int64"), missing)
    return out


def _to_writable(df: pd.DataFrame) -> pd.DataFrame:
    """Index into a column, counts as integers, attrs dropped (drivers do not understand them)."""
    out = df.reset_index() if df.index.name is not None and df.index.name not in df.columns else df
    out = _integers(out.copy())
    for c in out.columns:
        if out[c].dtype == object and out[c].isna().any():  # pd.NA would be written as the text "<NA>"
            out[c] = out[c].where(out[c].notna(), None)
    out.attrs = {}
    return out


def _every_column(meta: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One labelled row per written column, in their order (the city's own columns described too)."""
    known = {r["column"]: r for r in meta.to_dict("records")}
    for c in columns:
        if c not in known:
            unit, _fr, _en, desc = CITY_METADATA.get(c, ("", "", "", ""))
            known[c] = {"column": c, "unit": unit, "description": desc, "source": "", "date": "", "role": "context"}
    rows = [known[c] for c in columns]
    return label_metadata(pd.DataFrame(rows, columns=METADATA_COLUMNS).fillna(""))


def write_table(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    metadata: bool = True,
) -> Path:
    """Write a (Geo)DataFrame atomically, in the format given by the file extension.

    ``.gpkg`` (GeoPackage 1.3, readable by QGIS 3.22), ``.geojson``, ``.csv`` (UTF-8, geometry as
    WKT if any) or ``.parquet`` (GeoParquet if geometry). The index (``insee_com``) becomes a
    column. With ``metadata=True`` and indicator metadata attached, a
    ``<stem>.metadata.csv`` is written beside it, also atomically.

    Parameters
    ----------
    df : pandas.DataFrame or geopandas.GeoDataFrame
        Table to write.
    path : str or path-like
        Destination; its extension chooses the format.
    layer : str, optional
        Layer name inside a GeoPackage (default: file stem). Other layers of an existing
        GeoPackage are kept.
    metadata : bool, default True
        Write the indicator metadata sidecar when there is any.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        If the extension is not one of ``.gpkg, .geojson, .csv, .parquet``, or GeoJSON is asked
        for a table without geometry.
    """
    import geopandas as gpd

    path = Path(path)
    ext = path.suffix.lower()
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; give a file name such as {path / 'cities.gpkg'}")
    if ext not in FORMATS:
        raise ValueError(f"{path}: unknown output format {ext or '(no extension)'!r}; use one of {', '.join(FORMATS)}")
    out = _to_writable(df)
    is_geo = isinstance(out, gpd.GeoDataFrame) and out.geometry.name in out.columns
    try:
        _write(out, path, ext, is_geo, layer)
    except OSError:
        raise
    except Exception as exc:  # drivers report a full disk as their own error ("Failed to commit transaction")
        if shutil.disk_usage(path.resolve().parent).free < 5_000_000:
            raise OSError(errno.ENOSPC, "No space left on device", str(path)) from exc
        raise
    meta = indicator_metadata(df)
    if metadata and len(meta):
        meta = _every_column(meta, [c for c in out.columns if not (is_geo and c == out.geometry.name)])
        with atomic_path(path.with_name(f"{path.stem}.metadata.csv")) as tmp:
            meta.to_csv(tmp, index=False, encoding="utf-8")
    return path


def _write(out: pd.DataFrame, path: Path, ext: str, is_geo: bool, layer: str | None) -> None:
    """Write ``out`` atomically to ``path`` in the format of ``ext``."""
    with atomic_path(path) as tmp:
        if ext == ".gpkg":
            if path.exists():
                shutil.copyfile(path, tmp)
            _write_gpkg(out if is_geo else pd.DataFrame(out), tmp, layer or path.stem)
        elif ext == ".geojson":
            if not is_geo:
                raise ValueError(f"{path}: GeoJSON needs geometry; write .csv or .parquet instead")
            out.to_crs(4326).to_file(tmp, driver="GeoJSON")
        elif ext == ".csv":
            if is_geo:  # one geometry column, as WKT text, with the geometry's own name
                name = out.geometry.name
                wkt = out.geometry.to_wkt()
                out = pd.DataFrame(out.drop(columns=[name]))
                out[name] = wkt.to_numpy()
            out.to_csv(tmp, index=False, encoding="utf-8")
        else:
            if is_geo:
                out.to_parquet(tmp)
            else:
                pd.DataFrame(out).to_parquet(tmp, index=False)


def _write_gpkg(df: pd.DataFrame, path: Path, layer: str) -> None:
    """Write a (Geo)DataFrame as a GeoPackage layer with pyogrio, through Arrow where GDAL can (≥ 3.8).

    The Arrow path writes the same layer (fields, subtypes, geometry type, values) ×3 faster on
    35,000 towns; with an older GDAL (or no pyarrow) the rows are written one by one as before.
    """
    import pyogrio

    try:
        pyogrio.write_dataframe(df, path, layer=layer, driver="GPKG", VERSION="1.3", use_arrow=True)
        return
    except (ImportError, RuntimeError) as exc:
        if "arrow" not in str(exc).lower() and "GDAL" not in str(exc):
            raise
        # refused before anything is written (GDAL or pyarrow too old)
        log.debug("%s: no Arrow write (%s); writing row by row", path, exc)
    pyogrio.write_dataframe(df, path, layer=layer, driver="GPKG", VERSION="1.3")


def _json_value(o: Any) -> Any:
    """A JSON value for one object ``json`` cannot write as it is (numpy scalars, paths, dates, NA…)."""
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o) if math.isfinite(float(o)) else None
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return json_ready(o.tolist())
    if isinstance(o, (Path, _dt.date)):
        return str(o)
    if o is pd.NA or o is pd.NaT:
        return None
    if isinstance(o, (set, frozenset)):
        return [json_ready(v) for v in o]
    return str(o)


def json_ready(obj: Any) -> Any:
    """``obj`` as plain JSON values: dicts with text keys, lists, text, numbers, booleans and ``None``.

    Numpy numbers become Python numbers, ``NaN`` and infinities (not JSON) become ``None``, as do
    ``pd.NA`` and ``pd.NaT``; paths and dates become text, tuples and sets lists, any other object its text.

    Parameters
    ----------
    obj : object
        A value, possibly nested in dicts and lists.

    Returns
    -------
    object
        The same structure, ready for :func:`json.dumps` (strict JSON).

    Examples
    --------
    >>> import numpy as np
    >>> json_ready({"n": np.int64(3), "p": [0.5, float("nan")], 1: (np.float32(np.inf), True)})
    {'n': 3, 'p': [0.5, None], '1': [None, True]}
    """
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, float):  # numpy's float64 too
        return float(obj) if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (str, int)):
        return obj
    return _json_value(obj)


def write_json(data: Any, path: str | os.PathLike, **dump_options: Any) -> Path:
    r"""Write ``data`` as UTF-8 JSON (:func:`json_ready` first), atomically.

    Parameters
    ----------
    data : object
        What to write.
    path : str or path-like
        Destination; its folder must exist.
    **dump_options
        Options of :func:`json.dump` (default ``indent=2``, ``ensure_ascii=False``).

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> out = write_json({"p_sim": np.float64("nan"), "bb": np.int64(4)}, path)
    >>> out.read_text(encoding="utf-8")
    '{\n  "p_sim": null,\n  "bb": 4\n}\n'
    """
    write_json_atomic(path, json_ready(data), **dump_options)
    return Path(path)
