"""GASPAR (Géorisques) per-commune indicators: risks known, PPRN, flood atlases, TRI, DICRIM and CatNat decrees.

The tables are read by :func:`acv_geo.read.gaspar.read_gaspar` (folder, zip or one CSV of
``https://files.georisques.fr/GASPAR/gaspar.zip``; the headers accepted and their sources are listed there);
the ``*_indicators`` functions turn them into per-city indicators indexed exactly like ``cities``
(``insee_com``, same order, one row per city).

Coverage
--------
GASPAR claims national coverage. Within one extract, a commune GASPAR knows (listed in its risk table
``risq``/``ddrm_risq`` or in its CatNat table) but absent from, say, the DICRIM table has no DICRIM
recorded: ``False`` / ``0``. A city GASPAR does not know at all (a commune created or merged after the
extract) gets ``<NA>`` and a ``*_reason`` naming the files read: no value is guessed. When a single
CSV that is not named like a GASPAR table is given, only that file is known, so every city it does not
list gets ``<NA>`` and the reason.

Repairs are in ``attrs["acv_geo_repairs"]`` (:func:`acv_geo.repair_report`).
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.codes import codes_in, slugify
from acv_geo.core.errors import InputError
from acv_geo.core.metadata import merge_metadata
from acv_geo.indicators.common import (
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
from acv_geo.indicators.tables import CATNAT_GROUPS, RISK_FAMILIES, catnat_indicators
from acv_geo.read.gaspar import (
    GASPAR_COLUMNS,
    GASPAR_DATES,
    GASPAR_LICENCE,
    GASPAR_TABLES,
    GASPAR_URL,
    GasparExtract,
    GasparTable,
    MissingGasparTable,
)
from acv_geo.read.repairs import REPAIRS, add_repair
from acv_geo.read.tables import parse_dates

__all__ = [
    "PPRN_FAMILIES",
    "azi_indicators",
    "catnat_gaspar_indicators",
    "dicrim_indicators",
    "gaspar_indicators",
    "pprn_indicators",
    "risq_indicators",
    "tri_indicators",
]

log = logging.getLogger(__name__)

#: Hazard families of the PPRN counts, in output order.
PPRN_FAMILIES: tuple[str, ...] = (
    "flood",
    "ground_movement",
    "clay",
    "forest_fire",
    "avalanche",
    "coastal",
    "earthquake",
    "other",
)

# --------------------------------------------------------------------------------------------
# shared pieces of the indicators


@dataclass(frozen=True)
class _Ctx:
    """What an indicator needs besides the table: the cities, the communes GASPAR knows, the wording."""

    idx: pd.Index
    known: set[str]
    absent_reason: str
    source: str
    date: str


@dataclass(frozen=True)
class _Output:
    """How a table's indicators end: their reason column, its wording (``what``), their role and scored columns."""

    reason_col: str
    what: str
    role: str = "risk"
    scored: tuple[str, ...] = ()


_RISQ = _Output("risks_known_reason", "known-risk", scored=("risks_known_count",))
_PPRN = _Output("pprn_reason", "PPRN")
_AZI = _Output("azi_reason", "flood-atlas")
_TRI = _Output("tri_reason", "TRI")
_DICRIM = _Output("dicrim_reason", "DICRIM", role="context")
_CATNAT = _Output("catnat_reason", "CatNat", scored=("catnat_total_count",))


def _context(idx: pd.Index, extract: GasparExtract, table: str) -> tuple[GasparTable, _Ctx]:
    t = extract.table(table)
    known, files = extract.known(table)
    if extract.single is not None:
        reason = (
            f"INSEE code not in {t.name} (commune created or merged since the extract, or outside the file); "
            f"give the whole GASPAR archive so that a commune GASPAR knows counts as none when this table does "
            "not list it"
        )
    else:
        reason = (
            f"INSEE code not in GASPAR ({', '.join(files)}): GASPAR claims national coverage, so the commune was "
            "probably created or merged after this extract; no value is guessed"
        )
    source = f"Géorisques GASPAR {t.name} · {GASPAR_LICENCE}"
    return t, _Ctx(idx, known, reason, source, t.date)


def _rows(t: GasparTable, ctx: _Ctx) -> pd.DataFrame:
    """The rows of the cities asked for (the others cannot change the result)."""
    return t.df[t.df["insee_com"].isin(ctx.idx)]


def _finish(
    out: pd.DataFrame, ctx: _Ctx, output: _Output, meta: dict[str, tuple[str, str]], repairs: list
) -> pd.DataFrame:
    """NA and the reason for the cities GASPAR does not know; metadata and repairs attached."""
    blank_absent(out, ~codes_in(ctx.idx, ctx.known), output.reason_col, ctx.absent_reason)
    meta = {**meta, output.reason_col: ("", f"Why the {output.what} values are missing")}
    rows = metadata_rows(meta, ctx.source, ctx.date)
    return finish_indicators(out, rows, repairs, role=output.role, scored=output.scored)


def _bool(values: Iterable[Any]) -> Any:
    return pd.array([None if v is None or v is pd.NA else bool(v) for v in values], dtype="boolean")


def _names(df: pd.DataFrame, key: pd.Series, name_col: str | None, idx: pd.Index) -> Any:
    """'; '-joined sorted distinct names per city (``<NA>`` without any)."""
    names = df[name_col] if name_col is not None else key
    names = names.astype(object).where(names.notna(), None).map(lambda v: None if v is None else str(v).strip())
    sub = pd.DataFrame({"insee_com": df["insee_com"].to_numpy(), "n": names.to_numpy()}).dropna()
    sub = sub[sub["n"] != ""]
    joined = sub.groupby("insee_com")["n"].agg(lambda s: "; ".join(sorted(set(s))))
    return pd.array(joined.reindex(idx).to_numpy(dtype=object), dtype="string")


def _column_text(df: pd.DataFrame, column: str) -> pd.Series:
    """The column as stripped text (:func:`~acv_geo.indicators.common.stripped_text`), ``""`` if absent."""
    return stripped_text(df[column]) if column in df.columns else pd.Series("", index=df.index)


def _key(df: pd.DataFrame, id_col: str | None, name_col: str | None) -> pd.Series:
    """Identifier of each row's document: its code, else its name, else its line."""
    key = pd.Series("", index=df.index, dtype=object)
    for col in (name_col, id_col):  # the code wins over the name
        if col is not None and col in df.columns:
            text = stripped_text(df[col])
            key = text.where(text != "", key)
    return key.where(key != "", "line " + df["_line"].astype(str))


# --------------------------------------------------------------------------------------------
# risq (DDRM): risks known per commune


@dataclass(frozen=True)
class _Rule:
    family: str
    words: tuple[str, ...]  # all of them in the slug


# PPRN / risk labels -> families (slugs of the labels; several families may match)
_FAMILY_RULES: tuple[_Rule, ...] = (
    _Rule("flood", ("inond",)),
    _Rule("flood", ("crue",)),
    _Rule("flood", ("ruissel",)),
    _Rule("flood", ("coulee", "boue")),
    _Rule("flood", ("nappe",)),
    _Rule("flood", ("submersion",)),
    _Rule("flood", ("lave", "torrent")),
    _Rule("coastal", ("submersion",)),
    _Rule("coastal", ("trait_de_cote",)),
    _Rule("coastal", ("falaise",)),
    _Rule("coastal", ("dunaire",)),
    _Rule("coastal", ("littoral",)),
    _Rule("coastal", ("erosion", "cot")),
    _Rule("ground_movement", ("mouvement", "terrain")),
    _Rule("ground_movement", ("glissement",)),
    _Rule("ground_movement", ("eboulement",)),
    _Rule("ground_movement", ("chute",)),
    _Rule("ground_movement", ("effondrement",)),
    _Rule("ground_movement", ("affaissement",)),
    _Rule("ground_movement", ("cavite",)),
    _Rule("ground_movement", ("tassement",)),
    _Rule("ground_movement", ("trait_de_cote",)),
    _Rule("ground_movement", ("falaise",)),
    _Rule("ground_movement", ("dunaire",)),
    _Rule("ground_movement", ("argile",)),
    _Rule("ground_movement", ("retrait", "gonflement")),
    _Rule("clay", ("argile",)),
    _Rule("clay", ("retrait", "gonflement")),
    _Rule("clay", ("tassement", "differentiel")),
    _Rule("clay", ("secheresse",)),
    _Rule("earthquake", ("seisme",)),
    _Rule("earthquake", ("sismi",)),
    _Rule("avalanche", ("avalanche",)),
    _Rule("forest_fire", ("feu",)),
    _Rule("forest_fire", ("incendie",)),
    _Rule("volcano", ("volcan",)),
    _Rule("storm", ("cyclon",)),
    _Rule("storm", ("ouragan",)),
    _Rule("storm", ("tempete",)),
    _Rule("storm", ("atmospher",)),
    _Rule("storm", ("grele",)),
    _Rule("storm", ("foudre",)),
    _Rule("storm", ("neige",)),
    _Rule("radon", ("radon",)),
)


def _label_families(label: Any) -> set[str]:
    """Families of a GASPAR risk label (``set()`` for technological, mining or unknown labels)."""
    if label is None or label is pd.NA or (isinstance(label, float) and np.isnan(label)):
        return set()
    slug = slugify(str(label))
    if "minier" in slug or "mine" in slug.split("_"):
        return set()  # mining risks (31x, 32, 33, 34) are not natural-risk families
    return {r.family for r in _FAMILY_RULES if all(w in slug for w in r.words)}


_CODE_FAMILIES: dict[str, set[str]] = {}
for _fam, _codes in RISK_FAMILIES.items():
    for _c in _codes:
        _CODE_FAMILIES.setdefault(_c, set()).add(_fam)


def risq_indicators(cities: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    r"""Natural risks known in each city by the departmental risk files (GASPAR ``risq`` / ``ddrm_risq``).

    The same columns as :func:`acv_geo.indicators.tables.known_risks_indicators` (which reads the embedded
    2026-10-05 extract), computed from the GASPAR file given.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    source : str or path-like
        GASPAR folder, zip or ``risq`` CSV (see :func:`acv_geo.read_gaspar`).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: ``risk_<family>_known`` (``boolean``) for each family of
        :data:`acv_geo.indicators.tables.RISK_FAMILIES` (a risk code known to ``data/ddrm_risk_codes_gaspar.csv`` is
        placed by its code, another by its label), ``risks_known_count`` (``Int64``, how many
        families), ``risks_known`` (labels of the main risks, i.e. two-digit codes) and
        ``risks_known_reason``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "risq_gaspar.csv").write_text("cod_commune;lib_commune;num_risque;lib_risque\n"
    ...                                             "1004;Ambérieu;11;Inondation\n1004;Ambérieu;13;Séisme\n")
    >>> out = risq_indicators(pd.DataFrame(index=pd.Index(["01004"], name="insee_com")), folder)
    >>> out.loc["01004", "risks_known"], int(out.loc["01004", "risks_known_count"])
    ('Inondation; Séisme', 2)
    """
    idx = city_codes(cities)
    t, ctx = _context(idx, GasparExtract(source), "risq")
    return _risq(t, ctx)


def _risq(t: GasparTable, ctx: _Ctx) -> pd.DataFrame:
    repairs = list(t.repairs)
    labels = ddrm_labels()
    rows = _risq_rows(_rows(t, ctx), labels, t, repairs)
    by_city = {code_: g for code_, g in rows.groupby("insee_com")}
    city_fams = [set().union(*by_city[c]["fams"]) if c in by_city else set() for c in ctx.idx]
    out = pd.DataFrame(index=ctx.idx.copy())
    for fam in RISK_FAMILIES:
        out[f"risk_{fam}_known"] = _bool(fam in s for s in city_fams)
    out["risks_known_count"] = pd.array([len(s & set(RISK_FAMILIES)) for s in city_fams], dtype="Int64")
    out["risks_known"] = pd.array([_main_risks(by_city.get(c)) for c in ctx.idx], dtype="string")
    return _finish(out, ctx, _RISQ, known_risks_metadata(RISK_FAMILIES, labels), repairs)


def _risq_rows(df: pd.DataFrame, labels: dict[str, str], t: GasparTable, repairs: list) -> pd.DataFrame:
    """Per row: the city, the risk families, the label of a main risk (else None) and the sort key."""
    code, label = _column_text(df, "risk_code"), _column_text(df, "risk_label")
    main = [
        (labels.get(c) or lab) if (c in labels and len(c) == 2) or (c not in labels and lab and not c) else None
        for c, lab in zip(code, label, strict=True)
    ]
    keys = [(code_key(c) if c else (10**6, lab)) for c, lab in zip(code, label, strict=True)]
    fams = _risk_families(code, label, labels, t, repairs)
    return pd.DataFrame({"insee_com": df["insee_com"].to_numpy(), "fams": fams, "main": main, "key": keys})


def _risk_families(
    code: pd.Series, label: pd.Series, labels: dict[str, str], t: GasparTable, repairs: list
) -> list[set[str]]:
    """The families of each risk: by its code if GASPAR lists it, else by its label (unplaced ones reported)."""
    fams: list[set[str]] = []
    unplaced: list[str] = []
    for c, lab in zip(code, label, strict=True):
        if c in labels:
            fams.append(set(_CODE_FAMILIES.get(c, set())))
        else:
            f = _label_families(lab) & set(RISK_FAMILIES)
            fams.append(f)
            if not f and c not in labels:
                unplaced.append(f"{c} {lab}".strip())
    if unplaced:
        vc = pd.Series(unplaced).value_counts()
        add_repair(
            repairs,
            "unknown risk",
            "num_risque",
            [f"{k} ×{v}" for k, v in vc.items()],
            "risk codes not in data/ddrm_risk_codes_gaspar.csv whose label names no natural-risk family: "
            "listed, in no family",
            t.label,
        )
    return fams


def _main_risks(rows: pd.DataFrame | None) -> str | None:
    """The labels of a city's main risks, in code order (None for a city the table does not list)."""
    if rows is None:
        return None
    rows = rows.dropna(subset=["main"]).sort_values("key")
    return "; ".join(dict.fromkeys(rows["main"]))


# --------------------------------------------------------------------------------------------
# PPRN


_PPRN_STATUS_ORDER = {"lapsed": 3, "approved": 2, "prescribed": 1, "unknown": 0}


def _pprn_status(df: pd.DataFrame) -> pd.Series:
    """Approved / prescribed / lapsed / unknown, per row (state and sub-state first, else the dates)."""
    n = len(df)
    blank = pd.Series([""] * n, index=df.index, dtype=object)
    state = stripped_text(df["state"]).map(slugify) if "state" in df.columns else blank
    sub = stripped_text(df["substate"]).map(slugify) if "substate" in df.columns else blank

    def has(col: str) -> np.ndarray:
        return df[col].notna().to_numpy() if col in df.columns else np.zeros(n, dtype=bool)

    state_says = [  # first match wins
        (state.str.startswith("caduc") | sub.str.startswith(("deprescri", "abrog", "annul")), "lapsed"),
        (sub.str.startswith("approuv"), "approved"),
        (sub.str.startswith("anticip"), "prescribed"),  # opposable by anticipated application, not approved
        (state.str.startswith("opposable"), "approved"),
        (state.str.startswith("prescri") | sub.str.startswith("prescri"), "prescribed"),
    ]
    dates_say = [  # older exports: no state column
        (has("deprescribed_on") | has("cancelled_on") | has("repealed_on"), "lapsed"),
        (has("approved_on"), "approved"),
        (has("prescribed_on") | has("anticipated_on"), "prescribed"),
    ]
    by_state = np.select([np.asarray(c, dtype=bool) for c, _ in state_says], [v for _, v in state_says], "")
    by_dates = np.select([np.asarray(c, dtype=bool) for c, _ in dates_say], [v for _, v in dates_say], "unknown")
    return pd.Series(np.where(by_state != "", by_state, by_dates), index=df.index)


def _pprn_families(df: pd.DataFrame) -> list[set[str]]:
    """Hazard families of each row: risk labels, else the plan type, else the new codes; else 'other'."""
    label_cols = [c for c in ("risk_label", "risk_label_1", "risk_label_2", "risk_label_3") if c in df.columns]
    code_cols = [c for c in ("risk_code_3", "risk_code_2") if c in df.columns]
    model = ["model_label"] if "model_label" in df.columns else []
    wanted = set(PPRN_FAMILIES)
    cache: dict[tuple, set[str]] = {}

    def families(labels: tuple, model_label: tuple, codes: tuple) -> set[str]:
        f: set[str] = set().union(*(_label_families(v) for v in labels)) if labels else set()
        if not f and model_label:
            f = _label_families(model_label[0])
        if not f:
            for code in codes:
                code = "" if pd.isna(code) else str(code).strip()
                f |= _CODE_FAMILIES.get(code, set()) or _CODE_FAMILIES.get(code[:2], set())
        return {x if x in wanted else "other" for x in f} or {"other"}

    columns = [df[c].astype(object).where(df[c].notna(), None).tolist() for c in (*label_cols, *model, *code_cols)]
    n_lab, n_mod = len(label_cols), len(model)
    out: list[set[str]] = []
    for values in zip(*columns, strict=True) if columns else [()] * len(df):
        if values not in cache:
            cache[values] = families(values[:n_lab], values[n_lab : n_lab + n_mod], values[n_lab + n_mod :])
        out.append(cache[values])
    return out


def pprn_indicators(cities: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    r"""Natural-risk prevention plans (PPRN) per city, by hazard family and status (GASPAR ``pprn``).

    A plan is counted once per city, family and status however many rows it has (keyed by its
    national code ``cod_nat_pprn`` / ``CODE PROECEDURE``). Its families come from its risk labels
    (``lib_risque``; ``LIBELLE RISQUE 1-3``), else from its type (``cod_ppr``/``LIBELLE MODELE``, e.g.
    « … Retrait Gonflement Argile »), else from the recent risk codes (``CODE RISQUE 2/3``, placed with
    :data:`acv_geo.indicators.tables.RISK_FAMILIES`); a multi-risk plan counts in each of its families. As in
    :data:`~acv_geo.indicators.tables.RISK_FAMILIES`, marine submersion is ``flood`` and ``coastal``, dune and
    cliff retreat ``ground_movement`` and ``coastal``, clay shrink-swell / differential settlement /
    drought ``clay`` and ``ground_movement``; volcanic, atmospheric and unknown risks are ``other``.

    Status: *approved* — state ``Opposable`` with sub-state ``Approuvé`` or an approval date; *prescribed*
    — state ``Prescrit``, or ``Opposable`` by anticipated application (``Anticipé``), not yet approved.
    Lapsed plans (``Caduque``: deprescribed, repealed, annulled) are not counted. Without a state column
    (older exports), the dates decide: an annulment, deprescription or repeal date makes a
    plan lapsed, else an approval date approved, else a prescription or anticipated-application date
    prescribed.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    source : str or path-like
        GASPAR folder, zip or ``pprn`` CSV (see :func:`acv_geo.read_gaspar`).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: ``pprn_<family>_approved_count`` and ``pprn_<family>_prescribed_count``
        (``Int64``) for each family of :data:`PPRN_FAMILIES`, ``pprn_count`` (distinct approved or
        prescribed plans), ``pprn_approved_last_year`` (``Int64``, year of the latest approval of an
        approved plan) and ``pprn_reason``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "pprn_gaspar.csv").write_text(
    ...     "cod_nat_pprn;num_risque;lib_risque;cod_commune;dat_prescription;dat_approbation\n"
    ...     "01DDT19970011;140;Inondation;1004;1996-10-01;1997-01-10\n")
    >>> out = pprn_indicators(pd.DataFrame(index=pd.Index(["01004"], name="insee_com")), folder)
    >>> int(out.loc["01004", "pprn_flood_approved_count"]), int(out.loc["01004", "pprn_approved_last_year"])
    (1, 1997)
    """
    idx = city_codes(cities)
    t, ctx = _context(idx, GasparExtract(source), "pprn")
    return _pprn(t, ctx)


_PPRN_META = {
    "pprn_count": (
        "plans",
        "Distinct PPRN approved or prescribed for the commune, all hazards (lapsed plans "
        "— deprescribed, repealed, annulled — not counted)",
    ),
    "pprn_approved_last_year": (
        "year",
        "Year of the latest approval among the commune's approved PPRN (<NA> without an approved plan)",
    ),
}


def _pprn(t: GasparTable, ctx: _Ctx) -> pd.DataFrame:
    repairs = list(t.repairs)
    plans = _pprn_plans(_pprn_rows(_rows(t, ctx), t, repairs))
    out, meta = _pprn_counts(plans, ctx.idx)
    return _finish(out, ctx, _PPRN, meta, repairs)


def _pprn_rows(df: pd.DataFrame, t: GasparTable, repairs: list) -> pd.DataFrame:
    """Per row: the city, the plan's key, status (and its rank), families and approval year; anomalies reported."""
    if "procedure_id" not in df.columns and len(df):
        add_repair(
            repairs,
            "no plan code",
            "",
            None,
            "the table has no plan code column: plans were told apart by their name, else by their line",
            t.label,
        )
    status = _pprn_status(df)
    key = _key(
        df,
        "procedure_id" if "procedure_id" in df.columns else None,
        "procedure_name" if "procedure_name" in df.columns else None,
    )
    approved_on = df["approved_on"] if "approved_on" in df.columns else pd.Series(pd.NaT, index=df.index)
    rows = pd.DataFrame(
        {
            "insee_com": df["insee_com"].to_numpy(),
            "key": key.to_numpy(),
            "status": status.to_numpy(),
            "rank": status.map(_PPRN_STATUS_ORDER).to_numpy(),
            "fams": _pprn_families(df),
            "year": pd.to_datetime(approved_on).dt.year.to_numpy(dtype=float, na_value=np.nan),
        }
    )
    unknown = rows["status"] == "unknown"
    if unknown.any():
        lines = [f"line {n}: {k}" for n, k in zip(df["_line"][unknown.to_numpy()], rows["key"][unknown], strict=True)]
        detail = "plans with neither a state nor a prescription or approval date: not counted"
        add_repair(repairs, "PPRN without status", "", lines, detail, t.label)
    return rows


def _pprn_plans(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per city and plan: its highest status (lapsed wins), all its families, its latest approval year."""
    plans = rows.groupby(["insee_com", "key"], sort=False).agg(
        rank=("rank", "max"), fams=("fams", lambda s: set().union(*s)), year=("year", "max")
    )
    plans["status"] = plans["rank"].map({v: k for k, v in _PPRN_STATUS_ORDER.items()})
    return plans.reset_index()


def _pprn_counts(plans: pd.DataFrame, idx: pd.Index) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    """Plans per city by family and status, all live plans, the latest approval; and their metadata."""
    out = pd.DataFrame(index=idx.copy())
    meta: dict[str, tuple[str, str]] = {}
    for fam in PPRN_FAMILIES:
        has = plans["fams"].map(lambda s, f=fam: f in s)
        for st, word in (("approved", "approved"), ("prescribed", "prescribed (not yet approved)")):
            n = plans[has & (plans["status"] == st)].groupby("insee_com")["key"].nunique()
            col = f"pprn_{fam}_{st}_count"
            out[col] = int_array(n.reindex(idx).fillna(0))
            meta[col] = (
                "plans",
                f"Natural-risk prevention plans (PPRN) {word} for {fam.replace('_', ' ')} covering the commune",
            )
    live = plans[plans["status"].isin(["approved", "prescribed"])]
    out["pprn_count"] = int_array(live.groupby("insee_com")["key"].nunique().reindex(idx).fillna(0))
    last = plans[plans["status"] == "approved"].groupby("insee_com")["year"].max()
    out["pprn_approved_last_year"] = int_array(last.reindex(idx))
    return out, {**meta, **_PPRN_META}


# --------------------------------------------------------------------------------------------
# AZI, TRI, DICRIM


def azi_indicators(cities: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    r"""Flood atlases (atlas des zones inondables, AZI) covering each city (GASPAR ``azi``).

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    source : str or path-like
        GASPAR folder, zip or ``azi`` CSV (see :func:`acv_geo.read_gaspar`).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: ``azi_count`` (``Int64``, distinct atlases by ``cod_nat_azi``),
        ``azi_listed`` (``boolean``), ``azi_names`` (``lib_azi``, ``"; "``-separated, sorted) and
        ``azi_reason``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "azi_gaspar.csv").write_text("cod_nat_azi;lib_azi;cod_commune;lib_commune\n"
    ...                                            "01DDT20050001;AZI de l'Albarine;1004;Ambérieu\n")
    >>> out = azi_indicators(pd.DataFrame(index=pd.Index(["01004"], name="insee_com")), folder)
    >>> int(out.loc["01004", "azi_count"]), out.loc["01004", "azi_names"]
    (1, "AZI de l'Albarine")
    """
    idx = city_codes(cities)
    t, ctx = _context(idx, GasparExtract(source), "azi")
    return _azi(t, ctx)


def _azi(t: GasparTable, ctx: _Ctx) -> pd.DataFrame:
    df = _rows(t, ctx)
    id_col = "atlas_id" if "atlas_id" in df.columns else None
    name_col = "atlas_name" if "atlas_name" in df.columns else None
    key = _key(df, id_col, name_col)
    n = pd.DataFrame({"insee_com": df["insee_com"].to_numpy(), "key": key.to_numpy()}).groupby("insee_com")["key"]
    count = n.nunique().reindex(ctx.idx).fillna(0)
    out = pd.DataFrame(index=ctx.idx.copy())
    out["azi_count"] = int_array(count)
    out["azi_listed"] = _bool(count.to_numpy() > 0)
    out["azi_names"] = _names(df, key, name_col, ctx.idx)
    meta = {
        "azi_count": ("atlases", "Flood atlases (AZI) covering the commune (distinct atlas codes)"),
        "azi_listed": ("bool", "The commune is covered by at least one flood atlas (AZI)"),
        "azi_names": ("", "Names of the flood atlases covering the commune, '; '-separated"),
    }
    return _finish(out, ctx, _AZI, meta, list(t.repairs))


def tri_indicators(cities: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    r"""Territories at significant flood risk (TRI, Floods Directive) each city belongs to (GASPAR ``tri``).

    The national GASPAR archive of 2024-2026 seems to hold no TRI table; give the TRI table file
    itself (``tri_gaspar.csv``), or see the ``tri`` flood surfaces of ``acv-geo fetch``.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    source : str or path-like
        GASPAR folder, zip or ``tri`` CSV (see :func:`acv_geo.read_gaspar`).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: ``tri_listed`` (``boolean``), ``tri_names`` (``"; "``-separated, sorted)
        and ``tri_reason``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "tri_gaspar.csv").write_text("cod_nat_tri;lib_tri;cod_commune\nFRD_TRI_LYON;Lyon;69123\n")
    >>> out = tri_indicators(pd.DataFrame(index=pd.Index(["69123"], name="insee_com")), folder)
    >>> bool(out.loc["69123", "tri_listed"]), out.loc["69123", "tri_names"]
    (True, 'Lyon')
    """
    idx = city_codes(cities)
    t, ctx = _context(idx, GasparExtract(source), "tri")
    return _tri(t, ctx)


def _tri(t: GasparTable, ctx: _Ctx) -> pd.DataFrame:
    df = _rows(t, ctx)
    id_col = "tri_id" if "tri_id" in df.columns else None
    name_col = "tri_name" if "tri_name" in df.columns else None
    key = _key(df, id_col, name_col)
    listed = set(df["insee_com"])
    out = pd.DataFrame(index=ctx.idx.copy())
    out["tri_listed"] = _bool(c in listed for c in ctx.idx)
    out["tri_names"] = _names(df, key, name_col, ctx.idx)
    meta = {
        "tri_listed": ("bool", "The commune belongs to a territory at significant flood risk (TRI, Floods Directive)"),
        "tri_names": ("", "Names of the TRI the commune belongs to, '; '-separated"),
    }
    return _finish(out, ctx, _TRI, meta, list(t.repairs))


def dicrim_indicators(cities: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    r"""Whether each city published its DICRIM (communal information document on major risks), and when.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    source : str or path-like
        GASPAR folder, zip or ``dicrim`` CSV (see :func:`acv_geo.read_gaspar`).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: ``dicrim_published`` (``boolean``: listed in the DICRIM table),
        ``dicrim_year`` (``Int64``, year of the latest publication ``dat_publi_dicrim``; ``<NA>`` if
        none or undated) and ``dicrim_reason``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "dicrim_gaspar.csv").write_text("cod_commune;lib_commune;dat_publi_dicrim\n1004;A;01/03/2012\n")
    >>> out = dicrim_indicators(pd.DataFrame(index=pd.Index(["01004", "38053"], name="insee_com")), folder)
    >>> out["dicrim_year"].tolist(), out["dicrim_reason"].isna().tolist()
    ([2012, <NA>], [True, False])
    """
    idx = city_codes(cities)
    t, ctx = _context(idx, GasparExtract(source), "dicrim")
    return _dicrim(t, ctx)


def _dicrim(t: GasparTable, ctx: _Ctx) -> pd.DataFrame:
    df = _rows(t, ctx)
    listed = set(df["insee_com"])
    published = pd.to_datetime(df["published_on"]) if "published_on" in df.columns else pd.Series(pd.NaT)
    years = pd.Series(published.dt.year.to_numpy(dtype=float, na_value=np.nan), index=df.index)
    last = years.groupby(df["insee_com"]).max()
    out = pd.DataFrame(index=ctx.idx.copy())
    out["dicrim_published"] = _bool(c in listed for c in ctx.idx)
    out["dicrim_year"] = int_array(last.reindex(ctx.idx))
    meta = {
        "dicrim_published": (
            "bool",
            "The commune's DICRIM (document d'information communal sur les risques majeurs) is recorded in GASPAR",
        ),
        "dicrim_year": ("year", "Year of the latest DICRIM publication recorded (<NA> if none or undated)"),
    }
    return _finish(out, ctx, _DICRIM, meta, list(t.repairs))


# --------------------------------------------------------------------------------------------
# CatNat


# slugged GASPAR lib_risque_jo -> CCR code_peril of acv_geo.indicators.tables.CATNAT_GROUPS (first rule that matches);
# 'cheres' also catches 'Sécheressse' and the mis-decoded 'S�cheresse'
_PERIL_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("cheres",), "SEC"),
    (("nappe",), "IRN"),
    (("choc", "vague"), "CMV"),
    (("raz", "maree"), "RAZ"),
    (("submersion",), "SUB"),
    (("lave", "torrent"), "LAV"),
    (("inond",), "ICB"),
    (("coulee", "boue"), "COB"),
    (("mouvement", "terrain"), "MVT"),
    (("glissement",), "GLT"),
    (("eboulement",), "ECB"),
    (("chute", "bloc"), "ECB"),
    (("effondrement",), "EFA"),
    (("affaissement",), "EFA"),
    (("avalanche",), "AVA"),
    (("seisme",), "SEI"),
    (("sismique",), "SEI"),
    (("tempete",), "TMP"),
    (("cyclon",), "VCY"),
    (("grele",), "GRL"),
    (("neige",), "PDN"),
    (("divers",), "DIV"),
)


def _peril_code(label: str, code: str) -> str | None:
    """CCR peril code of a GASPAR CatNat row: from its label, else its code if CCR's, else None."""
    slug = slugify(label) if label else ""
    for words, ccr in _PERIL_RULES:
        if slug and all(w in slug for w in words):
            return ccr
    code = code.strip().upper()
    return code if code in CATNAT_GROUPS else None


def _bound(value: Any, name: str, *, end: bool) -> pd.Timestamp | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a year or a date, got {value!r}")
    if isinstance(value, (int, np.integer)):
        if not 1800 <= int(value) <= 2200:
            raise ValueError(f"{name} must be a year such as 1995 or a date, got {value!r}")
        return pd.Timestamp(int(value), 12, 31) if end else pd.Timestamp(int(value), 1, 1)
    if isinstance(value, (_dt.date, pd.Timestamp)):
        return pd.Timestamp(value).normalize()
    if isinstance(value, str):
        parsed, bad = parse_dates(pd.Series([value]))
        if not bad[0] and pd.notna(parsed.iloc[0]):
            return pd.Timestamp(parsed.iloc[0])
    raise ValueError(f"{name} must be a year (1995) or a date ('1995-01-01', '01/01/1995'), got {value!r}")


def catnat_gaspar_indicators(
    cities: pd.DataFrame,
    source: str | os.PathLike,
    *,
    start: int | str | _dt.date | None = None,
    end: int | str | _dt.date | None = None,
) -> pd.DataFrame:
    r"""CatNat decrees per city and peril group from GASPAR ``catnat``: the columns of ``catnat_indicators``.

    The counting is :func:`acv_geo.indicators.tables.catnat_indicators` itself, run on the GASPAR rows: a decree
    (``cod_nat_catnat`` / ``id_gaspar``, else its date) counts once per city and group, the groups are
    :data:`acv_geo.indicators.tables.CATNAT_GROUPS`, the years are those the events began (``dat_deb`` /
    ``date_debut``). GASPAR's labels (``lib_risque_jo``) are mapped to the CCR peril codes: « Inondations
    et/ou Coulées de Boue » → ICB, « Inondations Remontée Nappe » → IRN, « Chocs Mécaniques liés à
    l'action des Vagues » → CMV (``flood``); « Sécheresse » → SEC (``drought``); « Mouvement de
    Terrain » → MVT, « Glissement de Terrain » → GLT, « Lave Torrentielle » → LAV, « Avalanche » → AVA
    (``ground_movement``); « Séisme » / « Secousse Sismique » → SEI; « Tempête » → TMP, « Vents
    Cycloniques » → VCY, « Grêle » → GRL, « Poids de la Neige » → PDN (``storm``); a label not
    recognised uses ``num_risque_jo`` when it is a CCR code, else counts in ``other`` (reported).
    GASPAR lists the recognitions only, so every row counts.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    source : str or path-like
        GASPAR folder, zip or ``catnat`` CSV (see :func:`acv_geo.read_gaspar`).
    start, end : int, str or date, optional
        Keep the events that began from ``start`` to ``end`` (inclusive): a year (``1995`` means from
        1995-01-01, or to 1995-12-31 for ``end``) or a date. ``start=1995`` counts like
        ``catnat_indicators(..., since=1995)``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: ``catnat_<group>_count``, ``catnat_<group>_first_year``,
        ``catnat_<group>_last_year`` for each group of :data:`acv_geo.indicators.tables.CATNAT_GROUP_ORDER`
        (``Int64``), ``catnat_total_count`` and ``catnat_reason``. A city GASPAR knows without a decree
        has 0.

    Raises
    ------
    ValueError
        If ``start``/``end`` are not years or dates, or ``start`` is after ``end``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "catnat_gaspar.csv").write_text(
    ...     "cod_nat_catnat;cod_commune;lib_commune;num_risque_jo;lib_risque_jo;dat_deb;dat_fin;dat_pub_arrete\n"
    ...     "INTE1;1004;A;SEC;Sécheresse;2018-07-01 00:00:00;2018-12-31 00:00:00;2019-06-01 00:00:00\n")
    >>> out = catnat_gaspar_indicators(pd.DataFrame(index=pd.Index(["01004"], name="insee_com")), folder)
    >>> int(out.loc["01004", "catnat_drought_count"]), int(out.loc["01004", "catnat_drought_last_year"])
    (1, 2018)
    """
    idx = city_codes(cities)
    lo, hi = _bound(start, "start", end=False), _bound(end, "end", end=True)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"start ({start!r}) is after end ({end!r})")
    t, ctx = _context(idx, GasparExtract(source), "catnat")
    return _catnat(t, ctx, lo, hi, cities)


def _identified_decrees(
    df: pd.DataFrame, t: GasparTable, repairs: list[dict[str, Any]]
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The rows once each, dated and with a decree code or date (the others reported); their code and date."""
    key_cols = [c for c in df.columns if c not in ("_line",)]
    dup = df.duplicated(subset=key_cols).to_numpy()
    if dup.any():
        add_repair(repairs, "duplicate row", "", None, f"{int(dup.sum())} identical rows counted once", t.label)
        df = df[~dup]
    no_start = df["event_start"].isna().to_numpy()
    if no_start.any():
        rows = [f"line {n}" for n in df["_line"][no_start]]
        add_repair(
            repairs,
            "missing date",
            "event start",
            rows,
            "rows without a (valid) event start date: left out (the event cannot be dated)",
            t.label,
        )
        df = df[~no_start]
    decree_id = _column_text(df, "decree_id")
    decree_date = df["decree_date"] if "decree_date" in df.columns else pd.Series(pd.NaT, index=df.index)
    no_key = ((decree_id == "") & decree_date.isna()).to_numpy()
    if no_key.any():
        add_repair(
            repairs,
            "decree not identified",
            "",
            [f"line {n}" for n in df["_line"][no_key]],
            "rows with neither a decree code nor a decree date: left out (the decree cannot be told apart)",
            t.label,
        )
        df, decree_id, decree_date = df[~no_key], decree_id[~no_key], decree_date[~no_key]
    return df, decree_id, decree_date


def _ccr_perils(df: pd.DataFrame, t: GasparTable, repairs: list[dict[str, Any]]) -> list[str | None]:
    """The CCR peril code of each row (None where the label is not recognised, reported)."""
    label, code = _column_text(df, "peril_label"), _column_text(df, "peril_code")
    pairs = {pair: _peril_code(*pair) for pair in set(zip(label, code, strict=True))}
    peril = [pairs[pair] for pair in zip(label, code, strict=True)]
    unknown = [f"{lab or c}" for p, lab, c in zip(peril, label, code, strict=True) if p is None]
    if unknown:
        vc = pd.Series(unknown).value_counts()
        add_repair(
            repairs,
            "unknown peril",
            "lib_risque_jo",
            [f"{k} ×{v}" for k, v in vc.items()],
            "CatNat labels not mapped to a CCR peril code (acv_geo.indicators.tables.CATNAT_GROUPS): "
            "counted in group 'other'",
            t.label,
        )
    return peril


def _catnat_meta(
    counts: pd.DataFrame, out: pd.DataFrame, lo: pd.Timestamp | None, hi: pd.Timestamp | None
) -> dict[str, tuple[str, str]]:
    period = ""
    if lo is not None or hi is not None:
        period = (
            f" for events from {lo.date() if lo is not None else 'the start'} to "
            f"{hi.date() if hi is not None else 'the end'}"
        )
    descr = {m["column"]: m for m in counts.attrs.get("acv_geo_metadata", [])}
    return {
        c: (
            descr[c]["unit"],
            descr[c]["description"].replace("Distinct CatNat", "Distinct recognised CatNat")
            + (period if c.endswith("_count") else ""),
        )
        for c in out.columns
    }


def _catnat(
    t: GasparTable, ctx: _Ctx, lo: pd.Timestamp | None, hi: pd.Timestamp | None, cities: pd.DataFrame
) -> pd.DataFrame:
    repairs = list(t.repairs)
    df, decree_id, decree_date = _identified_decrees(_rows(t, ctx), t, repairs)
    peril = _ccr_perils(df, t, repairs)
    start = pd.to_datetime(df["event_start"])
    keep = np.ones(len(df), dtype=bool)
    if lo is not None:
        keep &= (start >= lo).to_numpy()
    if hi is not None:
        keep &= (start <= hi).to_numpy()
    ccr = pd.DataFrame(
        {
            "insee": df["insee_com"].to_numpy(),
            "code_peril": [p or "DIV" for p in peril],
            "debut_evenement": start.dt.strftime("%Y-%m-%d").to_numpy(),
            "date_arrete": pd.to_datetime(decree_date).dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
            "code_nor": decree_id.to_numpy(),
        }
    )[keep]
    counts = catnat_indicators(cities, ccr, recognised_only=False, coverage="national")
    out = pd.DataFrame({c: counts[c] for c in counts.columns if c != "catnat_reason"}, index=ctx.idx.copy())
    meta = _catnat_meta(counts, out, lo, hi)
    return _finish(out, ctx, _CATNAT, meta, repairs)


# --------------------------------------------------------------------------------------------
# all of them


_WORKERS: dict[str, Callable[..., pd.DataFrame]] = {
    "risq": _risq,
    "pprn": _pprn,
    "azi": _azi,
    "tri": _tri,
    "dicrim": _dicrim,
}


def gaspar_indicators(
    cities: pd.DataFrame,
    source: str | os.PathLike,
    *,
    tables: Sequence[str] = GASPAR_TABLES,
) -> pd.DataFrame:
    r"""Every GASPAR indicator of the tables asked for, side by side (each table read once).

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    source : str or path-like
        The GASPAR folder or zip (``acv-geo fetch gaspar``), see :func:`acv_geo.read_gaspar`.
    tables : sequence of str, default all of :data:`GASPAR_TABLES`
        Which tables: ``risq`` (:func:`risq_indicators`), ``pprn`` (:func:`pprn_indicators`), ``azi``,
        ``tri``, ``dicrim``, ``catnat`` (:func:`catnat_gaspar_indicators`, all years). A table the
        archive lacks (the national archive holds no TRI table) gives ``<NA>`` columns with a reason
        saying so, and a warning.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: the columns of each function in the order of ``tables``, metadata of
        every column, repairs of every file.

    Raises
    ------
    ValueError
        If ``tables`` names an unknown table or is empty.
    InputError
        If the source holds none of the tables.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "dicrim_gaspar.csv").write_text("cod_commune;dat_publi_dicrim\n1004;2012-03-01\n")
    >>> _ = (folder / "azi_gaspar.csv").write_text("cod_nat_azi;lib_azi;cod_commune\nA1;AZI Albarine;1004\n")
    >>> out = gaspar_indicators(pd.DataFrame(index=pd.Index(["01004"], name="insee_com")), folder,
    ...                         tables=("azi", "dicrim"))
    >>> list(out.columns)
    ['azi_count', 'azi_listed', 'azi_names', 'azi_reason', 'dicrim_published', 'dicrim_year', 'dicrim_reason']
    """
    idx = city_codes(cities)
    if isinstance(tables, str):
        tables = (tables,)
    tables = tuple(tables)
    bad = [t for t in tables if t not in GASPAR_TABLES]
    if bad or not tables:
        raise ValueError(f"tables must be some of {', '.join(GASPAR_TABLES)}, got {list(tables)!r}")
    extract = GasparExtract(source)
    parts: list[pd.DataFrame] = []
    missing: list[str] = []
    for table in dict.fromkeys(tables):
        try:
            t, ctx = _context(idx, extract, table)
        except MissingGasparTable as exc:
            missing.append(table)
            log.warning("%s", exc)
            parts.append(_missing_part(table, idx, extract, str(exc)))
            continue
        parts.append(_catnat(t, ctx, None, None, cities) if table == "catnat" else _WORKERS[table](t, ctx))
    if len(missing) == len(parts):
        raise InputError(
            f"{extract.path}: none of the GASPAR tables {', '.join(tables)} was found; give the folder or zip of "
            f"{GASPAR_URL} (acv-geo fetch gaspar)"
        )
    out = pd.concat(parts, axis=1)
    out.index = idx.copy()
    merge_metadata(out, *parts)
    out.attrs[REPAIRS] = [r for p in parts for r in p.attrs.get(REPAIRS, [])]
    return out


def _missing_part(table: str, idx: pd.Index, extract: GasparExtract, why: str) -> pd.DataFrame:
    """The columns of a table the archive lacks: all <NA>, the reason says so."""
    cols = ["_line", "insee_com", *GASPAR_COLUMNS[table]]
    empty = pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c in GASPAR_DATES[table] else object) for c in cols})
    t = GasparTable(empty, str(extract.path), f"{table}_gaspar.csv", "", [])
    ctx = _Ctx(
        idx, set(), f"no {table} table in this GASPAR extract ({why})", f"Géorisques GASPAR · {GASPAR_LICENCE}", ""
    )
    if table == "catnat":
        return _catnat(t, ctx, None, None, pd.DataFrame(index=idx))
    return _WORKERS[table](t, ctx)
