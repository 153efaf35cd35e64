"""Per-commune tables joined onto the cities by INSEE code: radon, CatNat decrees, any user table.

Every function returns a table indexed exactly like ``cities`` (``insee_com``, same order, one
row per city): a city missing from the table gets ``<NA>`` values and a reason, never dropped.
Repairs made to the input table (codes that lost their leading zero, duplicates, unusable rows)
are reported in ``attrs["acv_geo_repairs"]`` (read them with :func:`acv_geo.repair_report`) and
logged.

CatNat peril groups
-------------------
:data:`CATNAT_GROUPS` maps each CCR ``code_peril`` to a group:

* ``flood``: ICB inondations et/ou coulées de boue, IRN inondations par remontée de nappe,
  CMV chocs mécaniques liés à l'action des vagues, RAZ raz de marée, COB coulée de boue,
  INO/IND/SUB inondation / submersion marine (older labels);
* ``drought``: SEC sécheresse — clay shrink-swell (retrait-gonflement des argiles);
* ``ground_movement``: MVT mouvement de terrain, GLT glissement de terrain, EFA effondrement et/ou
  affaissement, ECB éboulement et/ou chute de blocs, GET/GER glissements/éboulements, LAV lave
  torrentielle, AVA avalanche (snow avalanches are mass movements on slopes);
* ``earthquake``: SEI secousse sismique;
* ``storm``: TMP tempête, VCY vents cycloniques, GRL grêle, PDN poids de la neige (weather
  damage to buildings);
* ``other``: DIV divers and any code not listed (reported).
"""

from __future__ import annotations

import csv
import functools
import io as _io
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .codes import normalize_insee, slugify
from .datasets import get_path
from .errors import InputError
from .io import _decode, _Report
from .metadata import attach_metadata

__all__ = [
    "CATNAT_GROUPS",
    "CATNAT_GROUP_ORDER",
    "catnat_indicators",
    "join_commune_table",
    "radon_indicators",
    "read_table",
]

log = logging.getLogger(__name__)

_REPAIRS = "acv_geo_repairs"

#: CCR ``code_peril`` → peril group (see the module documentation).
CATNAT_GROUPS: dict[str, str] = {
    "ICB": "flood",
    "IRN": "flood",
    "CMV": "flood",
    "RAZ": "flood",
    "COB": "flood",
    "INO": "flood",
    "IND": "flood",
    "SUB": "flood",
    "SEC": "drought",
    "MVT": "ground_movement",
    "GLT": "ground_movement",
    "EFA": "ground_movement",
    "ECB": "ground_movement",
    "GET": "ground_movement",
    "GER": "ground_movement",
    "LAV": "ground_movement",
    "AVA": "ground_movement",
    "SEI": "earthquake",
    "TMP": "storm",
    "VCY": "storm",
    "GRL": "storm",
    "PDN": "storm",
    "DIV": "other",
}
#: Groups in output order.
CATNAT_GROUP_ORDER: tuple[str, ...] = ("flood", "drought", "ground_movement", "earthquake", "storm", "other")

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


# --------------------------------------------------------------------------------------------
# helpers


def _repair(rows: list, kind: str, column: str, codes: Sequence | None, detail: str, file: str) -> None:
    """Append a repair entry in the same form as the readers' report (acv_geo.repair_report)."""
    rep = _Report(file)
    rep.add(kind, column, codes, detail)
    rows.extend(rep.rows)


def _city_codes(cities: Any) -> pd.Index:
    if not isinstance(cities, pd.DataFrame):
        raise InputError(
            f"cities must be a DataFrame indexed by insee_com (e.g. acv_geo.read_acv()), not {type(cities).__name__}"
        )
    idx = cities.index
    if idx.name != "insee_com" and "insee_com" in cities.columns:
        raise InputError(
            "cities are not indexed by insee_com; call cities.set_index('insee_com') first "
            "(acv_geo.read_acv() returns them indexed)"
        )
    return idx


def _sniff_sep(text: str) -> str:
    head = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(head, delimiters=";,\t|").delimiter
    except csv.Error:
        counts = {sep: head.count(sep) for sep in (";", ",", "\t", "|")}
        return max(counts, key=counts.get)


def read_table(source: str | os.PathLike | pd.DataFrame, *, what: str = "table") -> tuple[pd.DataFrame, str]:
    """Read a CSV (any separator, UTF-8 or Latin-1), XLSX/XLS or Parquet file as text columns.

    Parameters
    ----------
    source : str, path-like or pandas.DataFrame
        The file (format from its extension) or a DataFrame (copied).
    what : str, default "table"
        What the table is, for error messages.

    Returns
    -------
    (pandas.DataFrame, str)
        The table and its label (file path, or ``"<DataFrame>"``).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InputError
        If the format is unknown or the file cannot be parsed.
    """
    if isinstance(source, pd.DataFrame):
        return source.copy(), "<DataFrame>"
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"{what} must be a file path or a DataFrame, not {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path}: {what} file not found")
    ext = path.suffix.lower()
    try:
        if ext in (".csv", ".txt", ".tsv"):
            decoding = _Report(str(path))
            text = _decode(path, path.read_bytes(), None, decoding)
            if not text.strip():
                raise InputError(f"{path}: the {what} file is empty")
            sep = _sniff_sep(text)
            df = pd.read_csv(_io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""])
        elif ext in (".xlsx", ".xlsm", ".xls"):
            df = pd.read_excel(path, dtype=str)
        elif ext in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            raise InputError(
                f"{path}: unknown {what} format {ext or '(no extension)'!r}; give a .csv, .xlsx or .parquet file"
            )
    except InputError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc}); check that it is a valid {ext} file") from None
    df.columns = [str(c).replace("\ufeff", "").strip() for c in df.columns]
    if ext in (".csv", ".txt", ".tsv"):
        df.attrs["acv_geo_repairs"] = decoding.rows  # e.g. "decoded as Windows-1252"
    return df, str(path)


def _find_column(df: pd.DataFrame, candidates: Sequence[str], label: str, what: str, given: str | None = None) -> str:
    if given is not None:
        if given in df.columns:
            return given
        slugs = {slugify(c): c for c in df.columns}
        if slugify(given) in slugs:
            return slugs[slugify(given)]
        raise InputError(f"{label}: no column {given!r}; the {what} has columns {list(df.columns)}")
    slugs: dict[str, str] = {}
    for c in df.columns:
        slugs.setdefault(slugify(c), c)
    for cand in candidates:
        if cand in slugs:
            return slugs[cand]
    raise InputError(
        f"{label}: cannot find the {what} column among {list(df.columns)}; name it explicitly "
        f"(e.g. insee_column='...') or rename it to one of {list(candidates[:6])}"
    )


def _normalise_codes(df: pd.DataFrame, col: str, label: str, repairs: list) -> pd.DataFrame:
    """Normalised ``insee_com`` column; repaired and unusable codes reported, unusable rows dropped."""
    raw = df[col]
    codes = normalize_insee(raw)
    raw_text = raw.astype(object).where(raw.notna(), None).map(lambda v: None if v is None else str(v).strip())
    fixed = codes.notna() & (codes != raw_text)
    if fixed.any():
        examples = [f"{r}→{c}" for r, c in zip(raw_text[fixed], codes[fixed], strict=True)]
        _repair(repairs, "INSEE code repaired", col, examples,
                "codes exported as numbers lost their leading zero (or had blanks); restored to 5 characters",
                label)
    bad = codes.isna()
    if bad.any():
        rows = [f"row {i + 2}: {raw_text.iloc[i]!r}" for i in np.flatnonzero(bad.to_numpy())]
        _repair(repairs, "unusable INSEE code", col, rows,
                "rows without a valid INSEE commune code (empty, foreign or malformed) were left out", label)
    out = df.loc[~bad.to_numpy()].copy()
    out["insee_com"] = codes[~bad].astype(str).to_numpy()
    return out


def _reason_missing(idx: pd.Index, present: pd.Index | set, what: str) -> pd.Series:
    missing = ~idx.isin(list(present))
    reasons = np.where(
        missing,
        f"INSEE code not in the {what} (commune created or merged since the table was made, "
        "or outside its coverage)",
        None,
    )
    return pd.Series(pd.array(reasons, dtype="string"), index=idx)


def _meta(columns: dict[str, tuple[str, str]], source: str, date: str) -> list[dict]:
    return [
        {"column": c, "unit": u, "source": source, "date": date, "description": d}
        for c, (u, d) in columns.items()
    ]


# --------------------------------------------------------------------------------------------
# radon


def radon_indicators(cities: pd.DataFrame, table: str | os.PathLike | pd.DataFrame | None = None) -> pd.DataFrame:
    """IRSN radon potential class (1 low, 2 low with aggravating factors, 3 significant) per city.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com`` (e.g. :func:`acv_geo.read_acv`).
    table : str, path-like or pandas.DataFrame, optional
        The IRSN table: default the embedded ``radon`` dataset; also the raw IRSN CSV
        (``;``-separated ``nom_comm;nom_dept;insee_com;classe_potentiel;reg``) whose codes lost
        their leading zero, with duplicate codes and ``#VALEUR!`` classes. Codes are repaired,
        rows without a usable code or a class in 1–3 are left out, and a code listed several
        times keeps its **highest** class (the cautious reading); all reported.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: ``radon_class`` (``Int64``, 1–3) and ``radon_reason`` (why the
        class is missing). Repairs in ``attrs["acv_geo_repairs"]``.

    Raises
    ------
    InputError
        If the table has no INSEE code or class column.

    Examples
    --------
    >>> idx = pd.Index(["01004", "29232"], name="insee_com")
    >>> radon_indicators(pd.DataFrame(index=idx))["radon_class"].tolist()
    [2, 3]
    """
    idx = _city_codes(cities)
    repairs: list = []
    if table is None:
        df, label = _embedded_radon()
        df = df.copy()
        source = "IRSN « potentiel radon de ma commune » (embedded) · Licence Ouverte"
    else:
        df, label = read_table(table, what="radon table")
        repairs.extend(df.attrs.pop("acv_geo_repairs", []))
        source = f"IRSN radon potential ({Path(label).name})"
    code_col = _find_column(df, ("insee_com", *INSEE_COLUMN_NAMES), label, "INSEE code")
    class_col = _find_column(df, ("classe_potentiel", "classe", "potentiel", "radon_class", "classe_radon"),
                             label, "radon class")
    df = _normalise_codes(df, code_col, label, repairs)
    cls = pd.to_numeric(df[class_col], errors="coerce")
    bad = ~cls.isin([1, 2, 3])
    if bad.any():
        rows = [f"{c}: {v!r}" for c, v in zip(df.loc[bad, "insee_com"], df.loc[bad, class_col], strict=True)]
        _repair(repairs, "invalid radon class", class_col, rows,
                "classes that are not 1, 2 or 3 (e.g. '#VALEUR!' spreadsheet errors) were left out", label)
    df = df.loc[~bad].assign(radon_class=cls[~bad].astype(int))
    dup = df["insee_com"].duplicated(keep=False)
    if dup.any():
        g = df.loc[dup].groupby("insee_com")["radon_class"].agg(["min", "max", "size"])
        conflicting = g[g["min"] != g["max"]]
        _repair(repairs, "duplicate INSEE code", code_col, list(g.index),
                f"{int(g['size'].sum() - len(g))} duplicate rows dropped; {len(conflicting)} codes had "
                "different classes and keep the highest one", label)
    classes = df.groupby("insee_com")["radon_class"].max()
    out = pd.DataFrame(index=idx.copy())
    out["radon_class"] = _int(classes.reindex(idx))
    out["radon_reason"] = _reason_missing(idx, classes.index, "radon table")
    attach_metadata(out, _meta({
        "radon_class": ("class 1-3", "IRSN radon potential class of the commune: 1 low, 2 low with "
                        "factors that can ease radon transfer to buildings, 3 significant"),
        "radon_reason": ("", "Why the radon class is missing"),
    }, source, "2018 (arrêté du 27 juin 2018)"))
    out.attrs[_REPAIRS] = repairs
    return out


@functools.lru_cache(maxsize=1)
def _embedded_radon_cached() -> pd.DataFrame:
    return pd.read_csv(get_path("radon"), dtype=str, keep_default_na=False, na_values=[""])


def _embedded_radon() -> tuple[pd.DataFrame, str]:
    return _embedded_radon_cached(), str(get_path("radon"))


# --------------------------------------------------------------------------------------------
# CatNat


@functools.lru_cache(maxsize=1)
def _embedded_catnat() -> pd.DataFrame:
    return pd.read_csv(get_path("catnat"), dtype=str, keep_default_na=False, na_values=[""])


def _int(values: pd.Series) -> Any:
    """Nullable integers from numbers with NaN."""
    return pd.array(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan),
                    dtype="Float64").astype("Int64")


def _year(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.year.astype("Float64")
    text = values.astype(object).where(values.notna(), None).map(lambda v: None if v is None else str(v))
    years = text.str.extract(r"((?:18|19|20)\d{2})", expand=False)
    # dd/mm/yyyy and yyyy-mm-dd both carry a 4-digit year; take it wherever it is
    return pd.to_numeric(years, errors="coerce").astype("Float64")


def catnat_indicators(
    cities: pd.DataFrame,
    decrees: str | os.PathLike | pd.DataFrame | None = None,
    *,
    since: int | None = None,
    recognised_only: bool = True,
) -> pd.DataFrame:
    """Number of CatNat natural-disaster decrees per city and peril group, with first and last year.

    A *decree* is counted once per commune and group however many rows it has: rows are keyed
    by their NOR code (``code_nor``), or by the decree date (``date_arrete``) when the NOR code
    is missing (decrees before 1990). One decree recognising a flood and a mudslide for a
    commune counts once in ``flood``; one decree recognising a flood and a landslide counts once in
    ``flood``, once in ``ground_movement`` and once in ``catnat_total_count`` (distinct decrees,
    so the total can be lower than the sum of the groups). Groups: :data:`CATNAT_GROUPS`.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    decrees : str, path-like or pandas.DataFrame, optional
        Decree × commune rows in the CCR format (``insee, date_arrete, debut_evenement,
        code_peril, code_nor, decision``…), CSV or Parquet; INSEE codes that lost their leading
        zero are repaired. Default: the embedded ``catnat`` dataset (the 244 ACV communes; a city
        outside it gets ``<NA>`` and a reason).
    since : int, optional
        Keep only events that began in this year or later.
    recognised_only : bool, default True
        Count only decrees that recognised the disaster (``decision`` "Reconnue…"); False counts
        every decree, refusals included.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: for each group of :data:`CATNAT_GROUP_ORDER`
        ``catnat_<group>_count`` (``Int64``), ``catnat_<group>_first_year`` and
        ``catnat_<group>_last_year`` (years the events began, ``Int64``, ``<NA>`` without decree),
        then ``catnat_total_count`` and ``catnat_reason``. Repairs in ``attrs["acv_geo_repairs"]``.

    Raises
    ------
    InputError
        If a needed column is missing.
    ValueError
        If ``since`` is not a year.

    Examples
    --------
    >>> idx = pd.Index(["01004"], name="insee_com")
    >>> int(catnat_indicators(pd.DataFrame(index=idx))["catnat_drought_count"].iloc[0])
    5
    """
    idx = _city_codes(cities)
    if since is not None and (isinstance(since, bool) or not isinstance(since, (int, np.integer))
                              or not 1800 <= since <= 2200):
        raise ValueError(f"since must be a year such as 1995, got {since!r}")
    if not isinstance(recognised_only, bool):
        raise ValueError(f"recognised_only must be True or False, got {recognised_only!r}")
    repairs: list = []
    if decrees is None:
        df = _embedded_catnat().copy()
        label = str(get_path("catnat"))
        coverage: set | None = set(df["insee"])
        source = "CCR / Journal officiel CatNat decrees (embedded ACV extract) · Licence Ouverte"
    else:
        df, label = read_table(decrees, what="CatNat decree table")
        repairs.extend(df.attrs.pop("acv_geo_repairs", []))
        coverage = None
        source = f"CatNat decrees ({Path(label).name})"
    code_col = _find_column(df, ("insee", *INSEE_COLUMN_NAMES), label, "INSEE code")
    peril_col = _find_column(df, ("code_peril", "cod_peril", "peril_code"), label, "peril code (code_peril)")
    arrete_col = _find_column(df, ("date_arrete", "dat_arrete", "arrete"), label, "decree date (date_arrete)")
    start_col = _find_column(df, ("debut_evenement", "dat_deb", "date_debut", "debut"), label,
                             "event start date (debut_evenement)")
    nor_slug = {slugify(c): c for c in df.columns}
    nor_col = next((nor_slug[c] for c in ("code_nor", "nor", "num_nor") if c in nor_slug), None)
    dec_col = next((nor_slug[c] for c in ("decision", "decision_arrete") if c in nor_slug), None)
    if recognised_only and dec_col is None:
        raise InputError(
            f"{label}: no 'decision' column to tell recognised decrees from refusals; pass "
            "recognised_only=False to count every decree"
        )

    n_dup = int(df.duplicated().sum())
    if n_dup:
        _repair(repairs, "duplicate row", "", None, f"{n_dup} identical rows counted once", label)
        df = df.drop_duplicates()
    df = _normalise_codes(df, code_col, label, repairs)
    peril = df[peril_col].astype(object).where(df[peril_col].notna(), "").map(lambda v: str(v).strip().upper())
    group = peril.map(CATNAT_GROUPS)
    unknown = group.isna()
    if unknown.any():
        vc = peril[unknown].value_counts()
        _repair(repairs, "unknown peril code", peril_col, [f"{k} ×{v}" for k, v in vc.items()],
                "peril codes not in acv_geo.tables.CATNAT_GROUPS counted in group 'other'", label)
        group = group.fillna("other")
    df = df.assign(_group=group.to_numpy(), _start=_year(df[start_col]).to_numpy())
    if recognised_only:
        dec = df[dec_col].astype(object).where(df[dec_col].notna(), "").map(lambda v: slugify(str(v)))
        df = df[dec.str.startswith("reconnue").to_numpy()]
    if since is not None:
        df = df[(df["_start"] >= since).fillna(False).to_numpy()]
    if nor_col is not None:
        nor = df[nor_col].astype(object).where(df[nor_col].notna(), "").map(lambda v: str(v).strip())
    else:
        nor = pd.Series("", index=df.index)
    arrete = df[arrete_col].astype(object).where(df[arrete_col].notna(), "").map(lambda v: str(v).strip()[:10])
    key = np.where(nor != "", "nor:" + nor, "date:" + arrete)
    df = df.assign(_key=key)

    columns: dict[str, Any] = {}
    meta: dict[str, tuple[str, str]] = {}
    what = "recognised " if recognised_only else ""
    after = f" for events from {since} on" if since is not None else ""
    for g in CATNAT_GROUP_ORDER:
        sub = df[df["_group"] == g]
        agg = sub.groupby("insee_com").agg(n=("_key", "nunique"), first=("_start", "min"), last=("_start", "max"))
        agg = agg.reindex(idx)
        columns[f"catnat_{g}_count"] = _int(agg["n"].fillna(0))
        columns[f"catnat_{g}_first_year"] = _int(agg["first"])
        columns[f"catnat_{g}_last_year"] = _int(agg["last"])
        codes = ", ".join(sorted(k for k, v in CATNAT_GROUPS.items() if v == g)) or "any other code"
        meta[f"catnat_{g}_count"] = ("decrees", f"Distinct {what}CatNat decrees for {g.replace('_', ' ')} "
                                     f"({codes}){after}")
        meta[f"catnat_{g}_first_year"] = ("year", f"Year the earliest such {g.replace('_', ' ')} event began")
        meta[f"catnat_{g}_last_year"] = ("year", f"Year the latest such {g.replace('_', ' ')} event began")
    total = df.groupby("insee_com")["_key"].nunique().reindex(idx).fillna(0)
    columns["catnat_total_count"] = _int(total)
    meta["catnat_total_count"] = ("decrees", f"Distinct {what}CatNat decrees, all perils{after}")
    out = pd.DataFrame(columns, index=idx.copy())
    reason = pd.Series(pd.array([None] * len(idx), dtype="string"), index=idx)
    if coverage is not None:
        outside = ~idx.isin(list(coverage))
        count_cols = [c for c in out.columns if c.startswith("catnat_")]
        out.loc[outside, count_cols] = pd.NA
        reason[outside] = ("not an ACV commune: the embedded CatNat extract covers the 244 ACV communes; "
                           "pass the full CCR decree file as decrees=")
    out["catnat_reason"] = reason.to_numpy()
    meta["catnat_reason"] = ("", "Why the CatNat counts are missing")
    attach_metadata(out, _meta(meta, source, "1982-08-15 … 2024-05-24" if decrees is None else ""))
    out.attrs[_REPAIRS] = repairs
    return out


# --------------------------------------------------------------------------------------------
# any table


def join_commune_table(
    cities: pd.DataFrame,
    table: str | os.PathLike | pd.DataFrame,
    *,
    insee_column: str | None = None,
    columns: Sequence[str] | None = None,
    prefix: str | None = None,
) -> pd.DataFrame:
    """Join any per-commune table (CSV, XLSX, Parquet, DataFrame) onto the cities by INSEE code.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    table : str, path-like or pandas.DataFrame
        The table. CSV separators (``,``, ``;``, tab) and encodings (UTF-8, Latin-1) are detected.
    insee_column : str, optional
        Column holding the INSEE commune code (default: detected among
        :data:`INSEE_COLUMN_NAMES`, e.g. ``insee_com``, ``code_insee``, ``CODGEO``, ``DEPCOM``).
        Codes are normalised (:func:`acv_geo.normalize_insee`).
    columns : sequence of str, optional
        Columns to keep (default: all but the code column).
    prefix : str, optional
        Prefix of the output columns (``prefix_column``) and of the reason column
        (``prefix_reason``; ``join_reason`` without prefix).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``; the table's columns (numbers parsed where every value is a
        number, text otherwise) and a reason column for cities absent from the table. A code
        listed several times keeps its first row (reported). Repairs in
        ``attrs["acv_geo_repairs"]``.

    Raises
    ------
    InputError
        If no INSEE column is found, a requested column is missing, or the file is unreadable.

    Examples
    --------
    >>> t = pd.DataFrame({"CODGEO": [1004, 73065], "pop": [14000, 60000]})
    >>> out = join_commune_table(pd.DataFrame(index=pd.Index(["01004", "38053"], name="insee_com")), t)
    >>> out["pop"].tolist(), out["join_reason"].isna().tolist()
    ([14000, <NA>], [True, False])
    """
    idx = _city_codes(cities)
    df, label = read_table(table, what="commune table")
    code_col = _find_column(df, INSEE_COLUMN_NAMES, label, "INSEE code", insee_column)
    if columns is None:
        keep = [c for c in df.columns if c != code_col]
    else:
        if isinstance(columns, str):
            columns = [columns]
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise InputError(f"{label}: column(s) {missing} not found; the table has {list(df.columns)}")
        keep = [c for c in columns if c != code_col]
    if prefix is not None and (not isinstance(prefix, str) or not prefix.strip()):
        raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
    repairs: list = list(df.attrs.pop("acv_geo_repairs", []))
    df = _normalise_codes(df, code_col, label, repairs)
    dup = df["insee_com"].duplicated(keep="first")
    if dup.any():
        _repair(repairs, "duplicate INSEE code", code_col, sorted(set(df.loc[dup, "insee_com"])),
                f"{int(dup.sum())} later rows of codes listed several times were ignored (first row kept)", label)
        df = df.loc[~dup]
    table_idx = pd.Index(df["insee_com"], name="insee_com")
    df = df[keep].set_axis(table_idx, axis=0)
    df = pd.DataFrame({c: _maybe_numeric(df[c]) for c in keep}, index=table_idx)
    joined = df.reindex(idx)
    pre = "" if prefix is None else (prefix if prefix.endswith("_") else f"{prefix}_")
    out_cols: dict[str, Any] = {f"{pre}{c}": joined[c] for c in keep}
    reason_col = f"{pre}reason" if pre else "join_reason"
    out = pd.DataFrame(out_cols, index=idx.copy())
    what = "table" if label == "<DataFrame>" else f"table {Path(label).name}"
    out[reason_col] = _reason_missing(idx, table_idx, what).to_numpy()
    attach_metadata(out, [
        *({"column": f"{pre}{c}", "unit": "", "source": Path(label).name, "date": "",
           "description": f"Column {c!r} of {Path(label).name}, joined by INSEE code ({code_col})"} for c in keep),
        {"column": reason_col, "unit": "", "source": "acv-geo", "date": "",
         "description": "Why the joined values are missing"},
    ])
    out.attrs[_REPAIRS] = repairs
    return out


_NUM_RE = re.compile(r"^\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?\s*$")


def _maybe_numeric(values: pd.Series) -> pd.Series:
    """Numbers when every non-missing value is one (decimal comma accepted), else the values as given."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    if pd.api.types.is_integer_dtype(values):
        return values.astype("Int64")
    if pd.api.types.is_numeric_dtype(values):
        return values
    nonnull = values.dropna()
    if len(nonnull) == 0:
        return values
    text = nonnull.astype(str)
    if not text.map(lambda s: bool(_NUM_RE.match(s))).all():
        return values.astype("string")
    num = pd.to_numeric(values.astype(object).where(values.notna(), None).map(
        lambda s: None if s is None else str(s).strip().replace(",", ".")), errors="coerce")
    if (num.dropna() % 1 == 0).all() and not text.str.contains(r"[.,eE]").any():
        return num.astype("Int64")
    return num.astype("Float64")
