"""Per-commune tables read as published: CSV (any separator, UTF-8 or Windows-1252), XLSX/XLS, Parquet.

:func:`read_table` reads the file as text columns; :func:`find_column` finds a column by its usual names
(slugified: case, accents and punctuation ignored); :func:`normalise_codes` repairs the INSEE codes
(lost leading zeros, blanks) and reports the unusable rows; :func:`parse_dates` reads dates as French
tables write them. :func:`read_keyed_table` reads back a table acv-geo wrote (keyed by ``insee_com``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from acv_geo.core.codes import normalize_insee, slugify
from acv_geo.core.errors import InputError
from acv_geo.core.files import RepairLog, decode_text, sniff_separator
from acv_geo.read.repairs import REPAIRS, add_repair

__all__ = [
    "DATE_FORMATS",
    "INSEE_COLUMN_NAMES",
    "find_column",
    "normalise_codes",
    "parse_dates",
    "read_csv_bytes",
    "read_keyed_table",
    "read_table",
    "row_lines",
]

#: Slugified header names recognised as the INSEE commune code column, by priority.
INSEE_COLUMN_NAMES: tuple[str, ...] = (
    "insee_com",
    "code_insee",
    "code_insee_commune",
    "insee",
    "codgeo",
    "code_commune_insee",
    "depcom",
    "com",
    "code_commune",
    "cod_commune",
    "insee_commune",
    "code_insee_com",
    "cog",
    "code_cog",
    "inseecom",
    "num_com",
)

#: Date formats of French open-data tables, tried in this order (day first, as they are published).
DATE_FORMATS: tuple[str, ...] = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d")

_CSV = (".csv", ".txt", ".tsv")


def _read_csv(raw: bytes, label: str, what: str, decoding: RepairLog) -> pd.DataFrame:
    text = decode_text(label, raw, None, decoding)
    if not text.strip():
        raise InputError(f"{label}: the {what} file is empty")
    if text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
        raise InputError(
            f"{label}: this is a web page (HTML), not a CSV table; download the data file "
            "itself (not the page that links to it)"
        )
    sep = sniff_separator(text) or ";"
    return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""])


def _unreadable(label: str, what: str, ext: str, exc: Exception) -> InputError:
    return InputError(
        f"{label}: cannot read the {what} ({type(exc).__name__}: {exc}); check that it is a valid "
        f"{ext} file (open it in a spreadsheet program and save it again)"
    )


def _read_file(path: Path, what: str, decoding: RepairLog) -> pd.DataFrame:
    ext = path.suffix.lower()
    try:
        if ext in _CSV:
            return _read_csv(path.read_bytes(), str(path), what, decoding)
        if ext in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path, dtype=str)
        if ext in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a corrupt .xlsx raises BadZipFile, KeyError…: all bad input
        raise _unreadable(str(path), what, ext, exc) from None
    raise InputError(f"{path}: unknown {what} format {ext or '(no extension)'!r}; give a .csv, .xlsx or .parquet file")


def _clean_headers(df: pd.DataFrame) -> pd.DataFrame:
    df.columns = [str(c).replace("\ufeff", "").strip() for c in df.columns]
    return df


def read_csv_bytes(raw: bytes, label: str, *, what: str = "table") -> pd.DataFrame:
    r"""The bytes of a CSV file (a zip member…) as text columns, exactly as :func:`read_table` reads a CSV.

    Parameters
    ----------
    raw : bytes
        The file's content (any separator, UTF-8, UTF-16 with BOM or Windows-1252).
    label : str
        Where the bytes come from (``archive.zip!member.csv``), for the messages and the repairs.
    what : str, default "table"
        What the table is, for error messages.

    Returns
    -------
    pandas.DataFrame
        Text columns; the decoding repair (a Windows-1252 file) in ``attrs["acv_geo_repairs"]``.

    Raises
    ------
    InputError
        An empty file, a web page, unparseable CSV.

    Examples
    --------
    >>> df = read_csv_bytes("insee;nom\n1004;Ambérieu\n".encode("cp1252"), "a.zip!t.csv")
    >>> df.to_dict("list"), df.attrs["acv_geo_repairs"][0]["kind"]
    ({'insee': ['1004'], 'nom': ['Ambérieu']}, 'encoding')
    """
    decoding = RepairLog(label)
    try:
        df = _read_csv(raw, label, what, decoding)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a CSV the parser refuses is bad input
        raise _unreadable(label, what, ".csv", exc) from None
    df = _clean_headers(df)
    df.attrs[REPAIRS] = decoding.rows
    return df


def read_table(source: str | os.PathLike[str] | pd.DataFrame, *, what: str = "table") -> tuple[pd.DataFrame, str]:
    r"""Read a CSV (any separator, UTF-8 or Latin-1), XLSX/XLS or Parquet file as text columns.

    Parameters
    ----------
    source : str, path-like or pandas.DataFrame
        The file (format from its extension) or a DataFrame (copied).
    what : str, default "table"
        What the table is, for error messages.

    Returns
    -------
    (pandas.DataFrame, str)
        The table and its label (file path, or ``"<DataFrame>"``). For a CSV, the decoding repair (a
        Windows-1252 file) is in ``attrs["acv_geo_repairs"]``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InputError
        If the format is unknown or the file cannot be parsed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "radon.csv"
    >>> _ = p.write_bytes("insee_com;classe\n1004;2\n".encode("cp1252"))
    >>> df, label = read_table(p, what="radon table")
    >>> df.to_dict("list"), df.attrs["acv_geo_repairs"]
    ({'insee_com': ['1004'], 'classe': ['2']}, [])
    """
    if isinstance(source, pd.DataFrame):
        return source.copy(), "<DataFrame>"
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"{what} must be a file path or a DataFrame, not {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path}: {what} file not found")
    decoding = RepairLog(str(path))
    df = _clean_headers(_read_file(path, what, decoding))
    if path.suffix.lower() in _CSV:
        df.attrs[REPAIRS] = decoding.rows  # e.g. "decoded as Windows-1252"
    return df, str(path)


def find_column(df: pd.DataFrame, candidates: Sequence[str], label: str, what: str, given: str | None = None) -> str:
    """The column of ``df`` named ``given``, else the first whose slug is one of ``candidates``.

    Raises
    ------
    InputError
        If there is no such column (the message lists the columns and the names expected).

    Examples
    --------
    >>> df = pd.DataFrame(columns=["Nom", "CODGEO"])
    >>> find_column(df, INSEE_COLUMN_NAMES, "t.csv", "INSEE code"), find_column(df, (), "t.csv", "name", "nom")
    ('CODGEO', 'Nom')
    """
    if given is not None:
        if given in df.columns:
            return given
        slugs: dict[str, str] = {slugify(c): c for c in df.columns}
        if slugify(given) in slugs:
            return slugs[slugify(given)]
        raise InputError(f"{label}: no column {given!r}; the {what} has columns {list(df.columns)}")
    slugs = {}
    for c in df.columns:
        slugs.setdefault(slugify(c), c)
    for cand in candidates:
        if cand in slugs:
            return slugs[cand]
    raise InputError(
        f"{label}: cannot find the {what} column among {list(df.columns)}; name it explicitly "
        f"(e.g. insee_column='...') or rename it to one of {list(candidates[:6])}"
    )


def normalise_codes(df: pd.DataFrame, col: str, label: str, repairs: list[dict[str, Any]]) -> pd.DataFrame:
    """``df`` with a normalised ``insee_com`` column; repaired and unusable codes reported, unusable rows dropped.

    Examples
    --------
    >>> repairs = []
    >>> out = normalise_codes(pd.DataFrame({"code": ["1004", "x"]}), "code", "t.csv", repairs)
    >>> out["insee_com"].tolist(), [r["kind"] for r in repairs]
    (['01004'], ['INSEE code repaired', 'unusable INSEE code'])
    """
    raw = df[col]
    codes = normalize_insee(raw)
    raw_text = raw.astype(object).where(raw.notna(), None).map(lambda v: None if v is None else str(v).strip())
    fixed = codes.notna() & (codes != raw_text)
    if fixed.any():
        examples = [f"{r}→{c}" for r, c in zip(raw_text[fixed], codes[fixed], strict=True)]
        add_repair(
            repairs,
            "INSEE code repaired",
            col,
            examples,
            "codes exported as numbers lost their leading zero (or had blanks); restored to 5 characters",
            label,
        )
    bad = codes.isna()
    if bad.any():
        rows = [f"row {i + 2}: {raw_text.iloc[i]!r}" for i in np.flatnonzero(bad.to_numpy())]
        add_repair(
            repairs,
            "unusable INSEE code",
            col,
            rows,
            "rows without a valid INSEE commune code (empty, foreign or malformed) were left out",
            label,
        )
    out = df.loc[~bad.to_numpy()].copy()
    out["insee_com"] = codes[~bad].astype(str).to_numpy()
    return out


def parse_dates(values: pd.Series) -> tuple[pd.Series, NDArray[Any]]:
    """Dates as French tables write them → (``datetime64`` values, mask of the invalid ones).

    Accepts ``dd/mm/yyyy``, ``yyyy-mm-dd`` (with or without a time), ``dd-mm-yyyy``, ``yyyy/mm/dd``,
    ``dd.mm.yyyy``, ``yyyymmdd`` and datetime values. Empty cells are missing (``NaT``, not invalid);
    a cell that is not a real calendar date (``32/13/2020``) is ``NaT`` and flagged invalid, so the
    caller reports it instead of guessing.

    Parameters
    ----------
    values : pandas.Series
        Cells of a date column.

    Returns
    -------
    tuple of (pandas.Series, numpy.ndarray)
        The dates (same index) and a boolean mask of the non-empty cells that are not dates.

    Examples
    --------
    >>> d, bad = parse_dates(pd.Series(["24/05/2024", "2019-07-01T00:00:00", "32/13/2020", ""]))
    >>> [str(x.date()) if x is not pd.NaT else None for x in d], bad.tolist()
    (['2024-05-24', '2019-07-01', None, None], [False, False, True, False])
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, np.zeros(len(values), dtype=bool)
    text = values.astype(object).where(values.notna(), "").map(lambda v: str(v).strip())
    day = text.str.slice(0, 10)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in DATE_FORMATS:
        todo = out.isna() & (day != "")
        if not todo.any():
            break
        out[todo] = pd.to_datetime(day[todo], format=fmt, errors="coerce")
    return out, ((text != "") & out.isna()).to_numpy()


def row_lines(df: pd.DataFrame, label: str) -> NDArray[Any]:
    """Line numbers of a table's rows as the user sees them (a CSV's header is line 1).

    Examples
    --------
    >>> row_lines(pd.DataFrame({"a": [1, 2]}), "t.csv").tolist(), row_lines(pd.DataFrame({"a": [1]}), "t.xlsx").tolist()
    ([2, 3], [1])
    """
    first = 2 if label.lower().endswith((".csv", ".txt")) else 1
    return np.arange(len(df)) + first


def read_keyed_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    r"""A table or layer keyed by ``insee_com`` (.gpkg, .geojson, .parquet, .csv…) indexed by the codes.

    For the tables acv-geo writes (indicator outputs read back by ``acv-geo clusters`` and ``profile``).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InputError
        If there is no ``insee_com`` column or a code is invalid (the message names the rows).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "radon.csv"
    >>> _ = p.write_text("insee_com,radon_class\n1004,2\n")
    >>> read_keyed_table(p).to_dict("index")
    {'01004': {'radon_class': 2}}
    """
    import geopandas as gpd

    src = Path(path)
    if not src.exists():
        raise FileNotFoundError(f"{src}: file not found")
    if src.suffix.lower() == ".csv":
        df = pd.read_csv(src, dtype={"insee_com": str})
    elif src.suffix.lower() == ".parquet":
        try:
            df = gpd.read_parquet(src)
        except ValueError:
            df = pd.read_parquet(src)
    else:
        df = gpd.read_file(src)
    if "insee_com" not in df.columns:
        raise InputError(f"{src}: no 'insee_com' column; give a table keyed by INSEE commune code")
    codes = normalize_insee(df["insee_com"].astype(object))
    if codes.isna().any():
        rows = ", ".join(str(i + 2) for i in list(codes.index[codes.isna()])[:10])
        raise InputError(f"{src}: column 'insee_com' has invalid codes on rows {rows}; fix or drop them")
    return df.assign(insee_com=codes.to_numpy()).set_index("insee_com")
