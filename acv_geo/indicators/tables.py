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

import functools
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.codes import codes_in, insee_department, slugify
from acv_geo.core.datasets import get_path
from acv_geo.core.errors import InputError
from acv_geo.core.metadata import ROLES
from acv_geo.indicators.common import (
    absent_reasons,
    blank_absent,
    city_codes,
    code_key,
    ddrm_labels,
    finish_indicators,
    int_array,
    known_risks_metadata,
    metadata_rows,
    stripped_text,
)
from acv_geo.read.repairs import REPAIRS, add_repair
from acv_geo.read.tables import INSEE_COLUMN_NAMES, find_column, normalise_codes, parse_dates, read_table, row_lines

__all__ = [
    "CATNAT_GROUPS",
    "CATNAT_GROUP_ORDER",
    "RISK_FAMILIES",
    "SEISMIC_LABELS",
    "catnat_indicators",
    "join_commune_table",
    "known_risks_indicators",
    "radon_indicators",
    "seismic_indicators",
]

log = logging.getLogger(__name__)

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

# --------------------------------------------------------------------------------------------
# helpers


@functools.lru_cache(maxsize=4)
def _embedded(dataset: str) -> pd.DataFrame:
    """An embedded table as text (radon, catnat, seismic_zones, ddrm_risks); read once, never modify it."""
    return pd.read_csv(get_path(dataset), dtype=str, keep_default_na=False, na_values=[""])


def _read_input(
    table: str | os.PathLike | pd.DataFrame | None, dataset: str, what: str
) -> tuple[pd.DataFrame, str, list[dict[str, Any]]]:
    """The table given, else the embedded ``dataset``: (its rows, its label, the repairs made reading it)."""
    if table is None:
        return _embedded(dataset).copy(), str(get_path(dataset)), []
    df, label = read_table(table, what=what)
    return df, label, list(df.attrs.pop(REPAIRS, []))


@dataclass(frozen=True)
class _Drop:
    """Rows left out of a table: the repair's kind, column and detail."""

    kind: str
    column: str
    detail: str


def _drop_reported(
    df: pd.DataFrame, mask: np.ndarray, drop: _Drop, repairs: list[dict[str, Any]], label: str
) -> pd.DataFrame:
    """Drop the rows of ``mask`` and report them with their line numbers and values."""
    if mask.any():
        where = "line" if label.lower().endswith((".csv", ".txt")) else "row"
        rows = [f"{where} {n}: {v!r}" for n, v in zip(df["_line"][mask], df[drop.column][mask], strict=True)]
        add_repair(repairs, drop.kind, drop.column, rows, drop.detail, label)
    return df.loc[~mask]


def _reason_missing(idx: pd.Index, present: pd.Index | set, what: str) -> pd.Series:
    reason = (
        f"INSEE code not in the {what} (commune created or merged since the table was made, or outside its coverage)"
    )
    return pd.Series(absent_reasons(~codes_in(idx, present), reason), index=idx)


# --------------------------------------------------------------------------------------------
# radon

_RADON_SOURCE = "IRSN « potentiel radon de ma commune » (embedded) · Licence Ouverte"
_RADON_META = {
    "radon_class": (
        "class 1-3",
        "IRSN radon potential class of the commune: 1 low, 2 low with "
        "factors that can ease radon transfer to buildings, 3 significant",
    ),
    "radon_reason": ("", "Why the radon class is missing"),
}


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
    idx = city_codes(cities)
    df, label, repairs = _read_input(table, "radon", "radon table")
    source = _RADON_SOURCE if table is None else f"IRSN radon potential ({Path(label).name})"
    code_col = find_column(df, ("insee_com", *INSEE_COLUMN_NAMES), label, "INSEE code")
    class_col = find_column(
        df, ("classe_potentiel", "classe", "potentiel", "radon_class", "classe_radon"), label, "radon class"
    )
    df = normalise_codes(df, code_col, label, repairs)
    df, invalid = _valid_radon_classes(df, class_col, label, repairs)
    _report_radon_duplicates(df, code_col, label, repairs)
    classes = df.groupby("insee_com")["radon_class"].max()
    out = pd.DataFrame(index=idx.copy())
    out["radon_class"] = int_array(classes.reindex(idx))
    out["radon_reason"] = _radon_reasons(idx, classes.index, invalid)
    meta = metadata_rows(_RADON_META, source, "2018 (arrêté du 27 juin 2018)")
    return finish_indicators(out, meta, repairs, scored=["radon_class"])


def _valid_radon_classes(
    df: pd.DataFrame, class_col: str, label: str, repairs: list[dict[str, Any]]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows of class 1, 2 or 3 (``radon_class``); the codes of the others with their value (reported)."""
    cls = pd.to_numeric(df[class_col], errors="coerce")
    bad = ~cls.isin([1, 2, 3])
    if bad.any():
        rows = [f"{c}: {v!r}" for c, v in zip(df.loc[bad, "insee_com"], df.loc[bad, class_col], strict=True)]
        add_repair(
            repairs,
            "invalid radon class",
            class_col,
            rows,
            "classes that are not 1, 2 or 3 (e.g. '#VALEUR!' spreadsheet errors) were left out",
            label,
        )
    invalid = dict(zip(df.loc[bad, "insee_com"], df.loc[bad, class_col], strict=True))
    return df.loc[~bad].assign(radon_class=cls[~bad].astype(int)), invalid


def _report_radon_duplicates(df: pd.DataFrame, code_col: str, label: str, repairs: list[dict[str, Any]]) -> None:
    """Report the codes listed several times (their highest class is kept)."""
    dup = df["insee_com"].duplicated(keep=False)
    if not dup.any():
        return
    g = df.loc[dup].groupby("insee_com")["radon_class"].agg(["min", "max", "size"])
    conflicting = g[g["min"] != g["max"]]
    add_repair(
        repairs,
        "duplicate INSEE code",
        code_col,
        list(g.index),
        f"{int(g['size'].sum() - len(g))} duplicate rows dropped; {len(conflicting)} codes had "
        "different classes and keep the highest one",
        label,
    )


def _radon_reasons(idx: pd.Index, classed: pd.Index, invalid: dict[str, Any]) -> pd.Series:
    """Why a city has no class: not in the table, or only with an invalid class."""
    reason = _reason_missing(idx, classed, "radon table")
    for code in idx[reason.notna().to_numpy()]:
        if code in invalid:
            reason[code] = (
                f"the radon table gives no valid class for this commune ({invalid[code]!r} is not 1, 2 "
                "or 3); see the repairs"
            )
    return reason


# --------------------------------------------------------------------------------------------
# CatNat

_CATNAT_SOURCE = "CCR / Journal officiel CatNat decrees (embedded ACV extract) · Licence Ouverte"
_OUTSIDE_EMBEDDED_CATNAT = (
    "not an ACV commune: the embedded CatNat extract covers the 244 ACV communes; "
    "pass the full CCR decree file as decrees="
)


def catnat_indicators(
    cities: pd.DataFrame,
    decrees: str | os.PathLike | pd.DataFrame | None = None,
    *,
    since: int | None = None,
    recognised_only: bool = True,
    coverage: str | Sequence[str] | None = None,
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
    coverage : {"listed", "national"} or list of department codes, optional
        Where the decree table is complete, so that a commune it does not list had no decree (0):
        ``"national"`` (the full CCR/GASPAR file), department codes (``["34", "2A"]``), or
        ``"listed"``: only the communes it lists — every other city gets ``<NA>`` and a reason.
        Default: ``"listed"`` (the embedded extract lists the 244 ACV communes).

    Rows whose event start date (or, without NOR code, decree date) is empty or not a date
    (``32/13/2020``) are left out and reported with their line numbers (:func:`acv_geo.read.tables.parse_dates`).

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
    idx = city_codes(cities)
    _check_catnat_options(since, recognised_only)
    deps = _coverage_departments(coverage)
    df, label, repairs = _read_input(decrees, "catnat", "CatNat decree table")
    source = _CATNAT_SOURCE if decrees is None else f"CatNat decrees ({Path(label).name})"
    cols = _catnat_columns(df, label, recognised_only)
    df = _decree_rows(df, cols, label, repairs)
    listed = set(df["insee_com"])
    df = _counted_decrees(_dated_decrees(df, cols, label, repairs), cols, recognised_only, since)
    out, meta = _catnat_counts(df, idx, recognised_only, since)
    if decrees is None:
        _embedded_catnat_reasons(out, idx, listed)
    else:
        _catnat_coverage_reasons(out, idx, listed, deps, label)
    meta["catnat_reason"] = ("", "Why the CatNat counts are missing")
    rows = metadata_rows(meta, source, "1982-08-15 … 2024-05-24" if decrees is None else "")
    return finish_indicators(out, rows, repairs, scored=["catnat_total_count"])


def _check_catnat_options(since: Any, recognised_only: Any) -> None:
    if since is not None and (
        isinstance(since, bool) or not isinstance(since, (int, np.integer)) or not 1800 <= since <= 2200
    ):
        raise ValueError(f"since must be a year such as 1995, got {since!r}")
    if not isinstance(recognised_only, bool):
        raise ValueError(f"recognised_only must be True or False, got {recognised_only!r}")


@dataclass(frozen=True)
class _CatnatColumns:
    """The columns of a CatNat decree table (``nor`` and ``decision`` may be missing)."""

    code: str
    peril: str
    decree_date: str
    start: str
    nor: str | None
    decision: str | None


def _catnat_columns(df: pd.DataFrame, label: str, recognised_only: bool) -> _CatnatColumns:
    slugs = {slugify(c): c for c in df.columns}
    cols = _CatnatColumns(
        code=find_column(df, ("insee", *INSEE_COLUMN_NAMES), label, "INSEE code"),
        peril=find_column(df, ("code_peril", "cod_peril", "peril_code"), label, "peril code (code_peril)"),
        decree_date=find_column(df, ("date_arrete", "dat_arrete", "arrete"), label, "decree date (date_arrete)"),
        start=find_column(
            df, ("debut_evenement", "dat_deb", "date_debut", "debut"), label, "event start date (debut_evenement)"
        ),
        nor=next((slugs[c] for c in ("code_nor", "nor", "num_nor") if c in slugs), None),
        decision=next((slugs[c] for c in ("decision", "decision_arrete") if c in slugs), None),
    )
    if recognised_only and cols.decision is None:
        raise InputError(
            f"{label}: no 'decision' column to tell recognised decrees from refusals; pass "
            "recognised_only=False to count every decree"
        )
    return cols


def _decree_rows(df: pd.DataFrame, cols: _CatnatColumns, label: str, repairs: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows numbered as in the file (``_line``), identical rows once, INSEE codes normalised."""
    n_dup = int(df.duplicated().sum())
    df = df.assign(_line=row_lines(df, label))
    if n_dup:
        add_repair(repairs, "duplicate row", "", None, f"{n_dup} identical rows counted once", label)
        df = df[~df.drop(columns="_line").duplicated().to_numpy()]
    return normalise_codes(df, cols.code, label, repairs)


def _dated_decrees(df: pd.DataFrame, cols: _CatnatColumns, label: str, repairs: list[dict[str, Any]]) -> pd.DataFrame:
    """The dated rows with their peril group (``_group``), start year (``_start``) and decree key (``_key``)."""
    df, decree_dates = _drop_undated(df, cols, label, repairs)
    nor = stripped_text(df[cols.nor]) if cols.nor is not None else pd.Series("", index=df.index)
    decree_day = decree_dates.reindex(df.index).dt.strftime("%Y-%m-%d").fillna("")
    return df.assign(
        _group=_peril_groups(df, cols.peril, label, repairs).to_numpy(),
        _start=df["_start_date"].dt.year.astype("Float64").to_numpy(),
        _key=np.where(nor != "", "nor:" + nor, "date:" + decree_day),
    )


def _drop_undated(
    df: pd.DataFrame, cols: _CatnatColumns, label: str, repairs: list[dict[str, Any]]
) -> tuple[pd.DataFrame, pd.Series]:
    """The rows with an event start date (``_start_date``) and a valid decree date or none; their decree dates.

    The rows left out are reported.
    """
    start, bad_start = parse_dates(df[cols.start])
    df = df.assign(_start_date=start.to_numpy())
    empty_start = df["_start_date"].isna().to_numpy() & ~bad_start
    why = "event start dates that are not calendar dates (dd/mm/yyyy or yyyy-mm-dd): rows left out"
    df = _drop_reported(df, bad_start, _Drop("invalid date", cols.start, why), repairs, label)
    why = "rows without an event start date: left out (the event cannot be dated)"
    df = _drop_reported(df, empty_start[~bad_start], _Drop("missing date", cols.start, why), repairs, label)
    decree_dates, bad_decree = parse_dates(df[cols.decree_date])
    why = "decree dates that are not calendar dates: rows left out"
    df = _drop_reported(df, bad_decree, _Drop("invalid date", cols.decree_date, why), repairs, label)
    return df, decree_dates[~bad_decree]


def _peril_groups(df: pd.DataFrame, peril_col: str, label: str, repairs: list[dict[str, Any]]) -> pd.Series:
    """The group of each row's peril code (:data:`CATNAT_GROUPS`; unknown codes: ``other``, reported)."""
    peril = stripped_text(df[peril_col]).map(str.upper)
    group = peril.map(CATNAT_GROUPS)
    unknown = group.isna()
    if not unknown.any():
        return group
    vc = peril[unknown].value_counts()
    add_repair(
        repairs,
        "unknown peril code",
        peril_col,
        [f"{k} ×{v}" for k, v in vc.items()],
        "peril codes not in acv_geo.indicators.tables.CATNAT_GROUPS counted in group 'other'",
        label,
    )
    return group.fillna("other")


def _counted_decrees(df: pd.DataFrame, cols: _CatnatColumns, recognised_only: bool, since: int | None) -> pd.DataFrame:
    """The rows counted: recognised decrees only if asked, events from ``since`` on."""
    if recognised_only:
        dec = df[cols.decision].astype(object).where(df[cols.decision].notna(), "").map(lambda v: slugify(str(v)))
        df = df[dec.str.startswith("reconnue").to_numpy()]
    if since is not None:
        df = df[(df["_start"] >= since).fillna(False).to_numpy()]
    return df


def _catnat_counts(
    df: pd.DataFrame, idx: pd.Index, recognised_only: bool, since: int | None
) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    """Distinct decrees, first and last year per city and group, then the total; and their metadata."""
    columns: dict[str, Any] = {}
    meta: dict[str, tuple[str, str]] = {}
    what = "recognised " if recognised_only else ""
    after = f" for events from {since} on" if since is not None else ""
    for g in CATNAT_GROUP_ORDER:
        sub = df[df["_group"] == g]
        agg = sub.groupby("insee_com").agg(n=("_key", "nunique"), first=("_start", "min"), last=("_start", "max"))
        agg = agg.reindex(idx)
        columns[f"catnat_{g}_count"] = int_array(agg["n"].fillna(0))
        columns[f"catnat_{g}_first_year"] = int_array(agg["first"])
        columns[f"catnat_{g}_last_year"] = int_array(agg["last"])
        meta.update(_catnat_group_meta(g, what, after))
    total = df.groupby("insee_com")["_key"].nunique().reindex(idx).fillna(0)
    columns["catnat_total_count"] = int_array(total)
    meta["catnat_total_count"] = ("decrees", f"Distinct {what}CatNat decrees, all perils{after}")
    return pd.DataFrame(columns, index=idx.copy()), meta


def _catnat_group_meta(group: str, what: str, after: str) -> dict[str, tuple[str, str]]:
    words = group.replace("_", " ")
    codes = ", ".join(sorted(k for k, v in CATNAT_GROUPS.items() if v == group)) or "any other code"
    return {
        f"catnat_{group}_count": ("decrees", f"Distinct {what}CatNat decrees for {words} ({codes}){after}"),
        f"catnat_{group}_first_year": ("year", f"Year the earliest such {words} event began"),
        f"catnat_{group}_last_year": ("year", f"Year the latest such {words} event began"),
    }


def _coverage_departments(coverage: Any) -> set[str] | None:
    """None for "listed", the set of all departments' marker for "national", else the department codes."""
    if coverage is None or coverage == "listed":
        return None
    if coverage == "national":
        return {"*"}
    if isinstance(coverage, str) or not all(isinstance(d, str) for d in coverage):
        raise ValueError(f"coverage must be 'listed', 'national' or a list of department codes, got {coverage!r}")
    deps = {d.strip().upper().zfill(2) for d in coverage}
    bad = sorted(d for d in deps if not re.fullmatch(r"\d{2}|2A|2B|97[1-6]", d))
    if bad:
        raise ValueError(f"coverage: {bad} are not department codes (01..95, 2A, 2B, 971..976)")
    return deps


def _embedded_catnat_reasons(out: pd.DataFrame, idx: pd.Index, listed: set) -> None:
    """``catnat_reason``: the cities outside the embedded ACV extract get no counts and say why."""
    blank_absent(out, ~codes_in(idx, listed), "catnat_reason", _OUTSIDE_EMBEDDED_CATNAT)
    out["catnat_reason"] = out["catnat_reason"].to_numpy()  # as object values: the column type is inferred


def _catnat_coverage_reasons(out: pd.DataFrame, idx: pd.Index, listed: set, deps: set[str] | None, label: str) -> None:
    """``catnat_reason``: cities the table does not list get 0 where it is complete (coverage), else NA and why."""
    out["catnat_reason"] = np.full(len(idx), pd.NA, dtype=object)
    absent = ~codes_in(idx, listed) & ~_covered(idx, deps)
    if not absent.any():
        return
    where = "" if deps is None else f" (its coverage: departments {', '.join(sorted(deps))})"
    reason = (
        f"not listed in {Path(label).name}{where}: a commune the table does not list has no value; if the table "
        "lists every decree of a territory, say so with coverage='national' or the department codes "
        "(CLI --catnat-coverage)"
    )
    blank_absent(out, absent, "catnat_reason", reason)


def _covered(idx: pd.Index, deps: set[str] | None) -> np.ndarray:
    """The cities where the table lists every decree (``deps``, ``{"*"}`` for all of France)."""
    if deps is None:
        return np.zeros(len(idx), dtype=bool)
    if "*" in deps:
        return np.ones(len(idx), dtype=bool)
    return np.array([insee_department(c) in deps for c in idx], dtype=bool)


# --------------------------------------------------------------------------------------------
# any table


def join_commune_table(
    cities: pd.DataFrame,
    table: str | os.PathLike | pd.DataFrame,
    *,
    insee_column: str | None = None,
    columns: Sequence[str] | None = None,
    prefix: str | None = None,
    role: str = "context",
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
        :data:`acv_geo.read.tables.INSEE_COLUMN_NAMES`, e.g. ``insee_com``, ``code_insee``, ``CODGEO``, ``DEPCOM``).
        Codes are normalised (:func:`acv_geo.normalize_insee`).
    columns : sequence of str, optional
        Columns to keep (default: all but the code column).
    prefix : str, optional
        Prefix of the output columns (``prefix_column``) and of the reason column
        (``prefix_reason``; ``join_reason`` without prefix).
    role : {"context", "risk", "nature"}, default "context"
        What the table measures: with ``risk`` or ``nature`` its numeric columns enter that
        sub-score of :func:`acv_geo.exposure_profile` (higher = more exposure / more nature);
        ``context`` columns are shown, never scored.

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
    if role not in ROLES or role == "opendata":
        raise ValueError(f"role must be 'risk', 'nature' or 'context'; got {role!r}")
    idx = city_codes(cities)
    df, label = read_table(table, what="commune table")
    code_col = find_column(df, INSEE_COLUMN_NAMES, label, "INSEE code", insee_column)
    keep = _kept_columns(df, columns, code_col, label)
    pre = _column_prefix(prefix)
    repairs: list = list(df.attrs.pop(REPAIRS, []))
    values = _table_values(normalise_codes(df, code_col, label, repairs), keep, code_col, label, repairs)
    joined = values.reindex(idx)
    out = pd.DataFrame({f"{pre}{c}": joined[c] for c in keep}, index=idx.copy())
    reason_col = f"{pre}reason" if pre else "join_reason"
    what = "table" if label == "<DataFrame>" else f"table {Path(label).name}"
    out[reason_col] = _reason_missing(idx, values.index, what).to_numpy()
    numeric = [f"{pre}{c}" for c in keep if pd.api.types.is_numeric_dtype(out[f"{pre}{c}"])]
    meta = _join_metadata(keep, pre, reason_col, Path(label).name, code_col)
    return finish_indicators(out, meta, repairs, role=role, scored=numeric)


def _kept_columns(df: pd.DataFrame, columns: Sequence[str] | None, code_col: str, label: str) -> list[str]:
    """The columns asked for (all by default), without the code column."""
    if columns is None:
        return [c for c in df.columns if c != code_col]
    if isinstance(columns, str):
        columns = [columns]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{label}: column(s) {missing} not found; the table has {list(df.columns)}")
    return [c for c in columns if c != code_col]


def _column_prefix(prefix: str | None) -> str:
    """``prefix_`` (``""`` without a prefix)."""
    if prefix is None:
        return ""
    if not isinstance(prefix, str) or not prefix.strip():
        raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
    return prefix if prefix.endswith("_") else f"{prefix}_"


def _table_values(
    df: pd.DataFrame, keep: list[str], code_col: str, label: str, repairs: list[dict[str, Any]]
) -> pd.DataFrame:
    """The kept columns indexed by INSEE code, first row of each code (later ones reported), numbers parsed."""
    dup = df["insee_com"].duplicated(keep="first")
    if dup.any():
        add_repair(
            repairs,
            "duplicate INSEE code",
            code_col,
            sorted(set(df.loc[dup, "insee_com"])),
            f"{int(dup.sum())} later rows of codes listed several times were ignored (first row kept)",
            label,
        )
        df = df.loc[~dup]
    table_idx = pd.Index(df["insee_com"], name="insee_com")
    df = df[keep].set_axis(table_idx, axis=0)
    return pd.DataFrame({c: _maybe_numeric(df[c]) for c in keep}, index=table_idx)


def _join_metadata(keep: list[str], pre: str, reason_col: str, name: str, code_col: str) -> list[dict[str, str]]:
    rows = [
        {
            "column": f"{pre}{c}",
            "unit": "",
            "source": name,
            "date": "",
            "description": f"Column {c!r} of {name}, joined by INSEE code ({code_col})",
        }
        for c in keep
    ]
    return rows + metadata_rows({reason_col: ("", "Why the joined values are missing")}, "acv-geo", "")


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
    num = pd.to_numeric(
        values.astype(object)
        .where(values.notna(), None)
        .map(lambda s: None if s is None else str(s).strip().replace(",", ".")),
        errors="coerce",
    )
    if (num.dropna() % 1 == 0).all() and not text.str.contains(r"[.,eE]").any():
        return num.astype("Int64")
    return num.astype("Float64")


# --------------------------------------------------------------------------------------------
# national risk baseline: seismic zone and risks known per commune

#: Seismic zones of the décret n° 2010-1255 (article R563-4 of the code de l'environnement).
SEISMIC_LABELS: dict[int, str] = {1: "very low", 2: "low", 3: "moderate", 4: "medium", 5: "strong"}

#: Families of natural risks and the GASPAR risk codes that belong to them (a code can serve two families:
#: 117 marine submersion is a flood and a coastal risk; 127 differential settlement is clay shrink-swell).
RISK_FAMILIES: dict[str, tuple[str, ...]] = {
    "flood": ("11", "112", "113", "114", "115", "116", "117"),
    "ground_movement": ("12", "121", "122", "123", "124", "125", "126", "127"),
    "clay": ("127",),
    "earthquake": ("13",),
    "avalanche": ("14",),
    "volcano": ("15",),
    "forest_fire": ("16",),
    "storm": ("17", "171", "172", "174", "175", "176"),
    "coastal": ("117", "125", "126"),
    "radon": ("18",),
}

_NOT_IN_2018 = (
    "commune created or merged after the table's commune list (2018 codes), or absent from the source; "
    "no value is guessed"
)

_SEISMIC_SOURCE = "Décret n° 2010-1255 (zonage sismique de la France), data.gouv.fr · Licence Ouverte"
_SEISMIC_META = {
    "seismic_zone": (
        "zone 1-5",
        "Seismic zone of the commune (décret 2010-1255): 1 very low, 2 low, 3 moderate, "
        "4 medium, 5 strong; Mayotte: zone 3 for the whole department by the décret",
    ),
    "seismic_label": ("", "Name of the seismic zone"),
    "seismic_reason": ("", "Why the seismic zone is missing"),
}
_DDRM_SOURCE = "Géorisques GASPAR, dossiers départementaux des risques majeurs (DDRM) · Licence Ouverte"


def seismic_indicators(cities: pd.DataFrame) -> pd.DataFrame:
    """Seismic zone (1 very low … 5 strong) of every city, from the national zoning of 2010.

    Mayotte's communes are not in the communal file: the décret puts the whole department in zone 3,
    which is applied to them (and said in the metadata). Any other town absent from the file gets
    ``<NA>`` and a reason (a commune created or merged after 2018): never a guessed value.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: ``seismic_zone`` (``Int64`` 1-5), ``seismic_label`` and ``seismic_reason``.

    Examples
    --------
    >>> idx = pd.Index(["73065", "97105", "28085", "97611"], name="insee_com")
    >>> seismic_indicators(pd.DataFrame(index=idx))["seismic_zone"].tolist()
    [4, 5, 1, 3]
    """
    idx = city_codes(cities)
    zones = pd.to_numeric(_embedded("seismic_zones").set_index("insee_com")["zone_sismique"], errors="coerce")
    values = zones.reindex(idx)
    mayotte = np.asarray(idx.astype(str).str.startswith("976"), dtype=bool)
    values[mayotte & values.isna().to_numpy()] = 3
    out = pd.DataFrame(index=idx.copy())
    out["seismic_zone"] = int_array(values)
    out["seismic_label"] = pd.array(
        [None if pd.isna(v) else SEISMIC_LABELS.get(int(v)) for v in values], dtype="string"
    )
    out["seismic_reason"] = absent_reasons(values.isna().to_numpy(), f"not in the seismic zoning file: {_NOT_IN_2018}")
    return finish_indicators(
        out, metadata_rows(_SEISMIC_META, _SEISMIC_SOURCE, "2010-10-22"), [], scored=["seismic_zone"]
    )


def known_risks_indicators(cities: pd.DataFrame) -> pd.DataFrame:
    """Natural risks known in each city by the State's departmental risk files (GASPAR DDRM).

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: ``risk_<family>_known`` (``boolean``) for each family of
        :data:`RISK_FAMILIES`, ``risks_known_count`` (how many of those families), ``risks_known``
        (their GASPAR labels) and ``risks_known_reason``. A town absent from the list (Drôme and
        Puy-de-Dôme are missing from the source; communes merged since) is ``<NA>`` with the reason.

    Examples
    --------
    >>> idx = pd.Index(["01004"], name="insee_com")
    >>> out = known_risks_indicators(pd.DataFrame(index=idx))
    >>> bool(out.loc["01004", "risk_flood_known"]), bool(out.loc["01004", "risk_earthquake_known"])
    (True, True)
    """
    idx = city_codes(cities)
    codes = _embedded("ddrm_risks").set_index("insee_com")["risk_codes"].reindex(idx)
    sets = [None if pd.isna(v) else {c.strip() for c in str(v).split(",") if c.strip()} for v in codes]
    unknown = [s is None for s in sets]
    labels = ddrm_labels()
    out = pd.DataFrame(index=idx.copy())
    for fam, fam_codes in RISK_FAMILIES.items():
        out[f"risk_{fam}_known"] = pd.array(
            [None if s is None else bool(s & set(fam_codes)) for s in sets], dtype="boolean"
        )
    fams = [f"risk_{f}_known" for f in RISK_FAMILIES]
    out["risks_known_count"] = out[fams].astype("Int64").sum(axis=1, min_count=1).astype("Int64")
    out.loc[unknown, "risks_known_count"] = pd.NA
    out["risks_known"] = pd.array([None if s is None else _main_risks(s, labels) for s in sets], dtype="string")
    why = f"not in the GASPAR DDRM list: {_NOT_IN_2018} (Drôme and Puy-de-Dôme are missing from the source)"
    out["risks_known_reason"] = absent_reasons(unknown, why)
    meta = {
        **known_risks_metadata(RISK_FAMILIES, labels),
        "risks_known_reason": ("", "Why the known risks are missing"),
    }
    return finish_indicators(out, metadata_rows(meta, _DDRM_SOURCE, "2026-10-05"), [], scored=["risks_known_count"])


def _main_risks(codes: set[str], labels: dict[str, str]) -> str:
    """The labels of the main (two-digit) risks among ``codes``, in code order."""
    return "; ".join(labels.get(c, c) for c in sorted(codes, key=code_key) if c in labels and len(c) == 2)
