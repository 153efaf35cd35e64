"""Open-data status of communes and EPCIs from the OpenDataFrance observatory (ODATER).

The rule
--------
A commune (or EPCI) **publishes open data** when its SIREN is listed in the observatory export:
ODATER lists every local authority that has an open-data portal or publishes on data.gouv.fr.
A city counts as publishing (``opendata``) when the commune itself publishes
(``opendata_com``) **or** its EPCI does (``opendata_epci``) — the rule behind the Caisse des
Dépôts dataset, whose "OUI" means either. ``opendata_level`` says which: ``"commune"`` (the
commune publishes, whatever its EPCI does), ``"epci"`` (only through the EPCI) or ``"none"``.
The commune's SIREN comes from the DGCL 2023 membership list (embedded ``communes_france``).
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.codes import clean_text, normalize_siren
from acv_geo.core.datasets import DATASETS, get_path
from acv_geo.core.errors import InputError
from acv_geo.core.files import RepairLog, decode_text, sniff_separator
from acv_geo.read.reference import reference_communes
from acv_geo.read.repairs import REPAIRS

__all__ = ["opendata_status", "read_observatory", "OBSERVATORY_COLUMNS", "STATUS_COLUMNS"]

#: Columns of :func:`read_observatory`, indexed by ``siren``.
OBSERVATORY_COLUMNS = ["nom", "type", "url_portail", "url_datagouv", "techno", "themes"]

#: Columns :func:`opendata_status` gives every town (besides ``opendata_reason`` and, with a previous
#: observatory, ``opendata_<year>`` and ``opendata_change``), in order.
STATUS_COLUMNS = (
    "opendata",
    "opendata_com",
    "opendata_epci",
    "opendata_level",
    "url_portail_com",
    "url_datagouv_com",
    "url_portail_epci",
    "url_datagouv_epci",
    "techno_com",
    "techno_epci",
    "themes_epci",
    "opendata_source",
)

_DATAGOUV_ORG = "https://www.data.gouv.fr/fr/organizations/{}/"
_DATAGOUV_ID = re.compile(r"^[0-9a-f]{24}$")


def _datagouv_url(i: object) -> str | None:
    """Organisation page of a data.gouv.fr id; None if the id is not 24 hex characters."""
    return _DATAGOUV_ORG.format(i) if isinstance(i, str) and _DATAGOUV_ID.match(i) else None


_LABELS = {"odater_2022": "ODATER 2022-12-31 (OpenDataFrance)", "odater_2020": "ODATER v2 2020-10-21 (OpenDataFrance)"}


def _resolve(source: str | os.PathLike[str]) -> tuple[Path, str]:
    if isinstance(source, str) and source in DATASETS:
        return get_path(source), _LABELS.get(source, source)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no such observatory file; give an ODATER export (CSV of 2022 or the 2020 workbook) "
            "or an embedded name: 'odater_2022', 'odater_2020'"
        )
    return path, f"observatory file {path.name}"


_COMMA = re.compile(r"\s*,\s*")


def _join_unique_by(keys: pd.Series, values: pd.Series, index: pd.Index) -> list[str | None]:
    """The distinct comma-separated items of ``values`` joined per ``keys``, for each key of ``index``.

    One pass over the rows, no groupby.
    """
    items: dict[object, list[str]] = {}
    missing = values.isna().to_numpy()
    for k, v, na in zip(keys.to_numpy(), values.to_numpy(dtype=object), missing, strict=True):
        if na:
            continue
        seen = items.setdefault(k, [])
        for part in _COMMA.split(str(v)):
            if part and part not in seen:
                seen.append(part)
    return [", ".join(items.get(k, ())) or None for k in index]


def _agg_like_groupby(raw: pd.DataFrame, key: str, how: dict[str, str]) -> pd.DataFrame:
    """``raw.groupby(key, sort=True).agg(...)`` where ``"join"`` joins the distinct comma-separated items.

    The same frame as with a Python aggregation per group (``tests/test_perf_equivalence.py``),
    without calling it once per group: the ``"first"`` columns are aggregated by pandas, the joined ones
    in one pass over the rows.
    """
    firsts = [c for c, h in how.items() if h != "join"]
    g = raw.groupby(key, sort=True)
    out = g[firsts].first() if firsts else pd.DataFrame(index=g.size().index)
    for c, h in how.items():
        if h == "join":
            joined = pd.Series(_join_unique_by(raw[key], raw[c], out.index), index=out.index, dtype=object)
            out[c] = joined.infer_objects() if len(joined) else joined
    return out[list(how)]


def _from_csv(path: Path) -> pd.DataFrame:
    decoding = RepairLog(str(path))
    text = decode_text(path, path.read_bytes(), None, decoding)
    raw = pd.read_csv(io.StringIO(text), dtype=str, sep=sniff_separator(text) or ",")
    cols = {c.strip().lower().replace("-", "_"): c for c in raw.columns}
    if "siren" not in cols:
        raise InputError(
            f"{path}: no 'siren' column among {list(raw.columns)}; expected the ODATER export columns "
            "siren, nom, url_platform, id_datagouv, techno_platform"
        )

    def col(*names: str) -> pd.Series:
        for n in names:
            if n in cols:
                return raw[cols[n]].map(clean_text)
        return pd.Series(None, index=raw.index, dtype=object)

    ids = col("id_datagouv")
    url_dg = col("url_datagouv").fillna(ids.map(_datagouv_url))
    out = pd.DataFrame(
        {
            "siren_raw": raw[cols["siren"]],
            "nom": col("nom"),
            "type": col("type"),
            "url_portail": col("url_platform", "url_ptf", "url_portail"),
            "url_datagouv": url_dg,
            "techno": col("techno_platform", "techno"),
            "themes": col("themes", "thematiques"),
            "bad_datagouv_id": ids.notna() & ids.map(_datagouv_url).isna(),
        }
    )
    out.attrs["repairs"] = [r["detail"] for r in decoding.rows]  # e.g. "decoded as Windows-1252"
    return out


def _from_workbook(path: Path) -> pd.DataFrame:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str)
    except Exception as exc:  # noqa: BLE001 - any reader failure is bad input
        raise InputError(f"{path}: cannot read the workbook ({exc})") from None
    return _from_sheets(sheets, path)


#: The two sheets of the ODATER v2 workbook that are read, and their Parquet copies embedded beside it.
WORKBOOK_SHEETS = {"Copie Organisations": "organisations", "Copie Plateformes": "plateformes"}


def sheet_copy_path(workbook: Path, sheet: str) -> Path:
    """Path of the Parquet copy of one sheet of ``workbook`` (``odater_v2_2020_organisations.parquet``...)."""
    return workbook.with_name(f"{workbook.stem}_{WORKBOOK_SHEETS[sheet]}.parquet")


def _from_sheet_copies(path: Path) -> pd.DataFrame:
    """The workbook read from its Parquet sheet copies (``scripts/build_data.py``): the same frame, 50× faster."""
    sheets = {name: pd.read_parquet(sheet_copy_path(path, name)) for name in WORKBOOK_SHEETS}
    return _from_sheets(sheets, path)


def _organisations(sheets: dict[str, pd.DataFrame], path: Path) -> pd.DataFrame:
    """The organisations sheet of the ODATER v2 workbook (lower-case headers)."""
    names = {k.strip(): k for k in sheets}
    orgs_key = names.get("Copie Organisations") or next(
        (k for k, d in sheets.items() if "siren" in [str(c).strip().lower() for c in d.columns]), None
    )
    if orgs_key is None:
        raise InputError(
            f"{path}: no sheet with a 'siren' column (sheets: {list(sheets)}); expected the ODATER v2 "
            "workbook with sheet 'Copie Organisations'"
        )
    org = sheets[orgs_key]
    org.columns = [str(c).strip().lower() for c in org.columns]
    return org


def _hosted(plat: pd.DataFrame) -> pd.DataFrame:
    """(siren, techno, themes) of every organisation a platform of the workbook hosts."""
    listed = plat.dropna(subset=["organisations"])
    records: Iterable[tuple[Any, Any, Any]]
    if listed.columns.is_unique:  # the columns as arrays (a row Series per portal costs more than the rest)
        themes = listed["thématique"] if "thématique" in listed.columns else pd.Series(None, index=listed.index)
        records = zip(
            listed["organisations"].to_numpy(dtype=object),
            listed["techno"].to_numpy(dtype=object),
            themes.to_numpy(dtype=object),
            strict=True,
        )
    else:
        records = ((p["organisations"], p.get("techno"), p.get("thématique")) for _, p in listed.iterrows())
    rows = []
    for orgs, techno, theme in records:
        for s in re.split(r"[,;\s]+", str(orgs)):
            siren = normalize_siren(s)
            if siren:
                rows.append((siren, techno, theme))
    return pd.DataFrame(rows, columns=["siren", "techno", "themes"])


def _from_sheets(sheets: dict[str, pd.DataFrame], path: Path) -> pd.DataFrame:
    org = _organisations(sheets, path)

    def get(c: str) -> pd.Series:
        return org[c].map(clean_text) if c in org else pd.Series(None, index=org.index, dtype=object)

    out = pd.DataFrame(
        {
            "siren_raw": org["siren"],
            "nom": get("nom"),
            "type": get("type"),
            "url_portail": get("url-ptf"),
            "url_datagouv": get("url-datagouv").fillna(get("id-datagouv").map(_datagouv_url)),
            "techno": pd.Series(None, index=org.index, dtype=object),
            "themes": pd.Series(None, index=org.index, dtype=object),
        }
    )
    plat_key = {k.strip(): k for k in sheets}.get("Copie Plateformes")
    if plat_key is not None:
        plat = sheets[plat_key]
        plat.columns = [str(c).strip().lower() for c in plat.columns]
        if {"organisations", "techno"} <= set(plat.columns):
            agg = _agg_like_groupby(_hosted(plat), "siren", {"techno": "join", "themes": "join"})
            key = normalize_siren(out["siren_raw"])
            out["techno"] = key.map(agg["techno"])
            out["themes"] = key.map(agg["themes"])
    return out


def _siren_repairs(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows with a valid SIREN, and what was repaired or left out (as sentences)."""
    raw["siren"] = normalize_siren(raw["siren_raw"])
    repairs = list(raw.attrs.get("repairs", []))
    bad = raw["siren"].isna()
    if bad.any():
        lines = list(np.flatnonzero(bad)[:5] + 2)
        repairs.append(f"{int(bad.sum())} rows without a valid SIREN ignored (lines {lines})")
    fixed = ~bad & (raw["siren"] != raw["siren_raw"].astype(str))
    if fixed.any():
        repairs.append(f"{int(fixed.sum())} SIRENs repaired (invisible characters or numeric export)")
    if "bad_datagouv_id" in raw and raw["bad_datagouv_id"].any():
        bad_ids = raw.loc[raw["bad_datagouv_id"], "siren"].tolist()
        repairs.append(
            f"{len(bad_ids)} data.gouv.fr ids are not 24 hexadecimal characters (truncated in the export): "
            f"no data.gouv URL built for SIRENs {bad_ids[:10]}"
        )
    raw = raw[~bad]
    dups = raw["siren"].duplicated(keep=False)
    if dups.any():
        repairs.append(f"SIRENs listed twice, merged: {sorted(set(raw.loc[dups, 'siren']))}")
    return raw, repairs


@functools.lru_cache(maxsize=8)
def _read_observatory_cached(path: str, mtime: float, label: str, copies: bool = False) -> pd.DataFrame:
    p = Path(path)
    if p.stat().st_size == 0:
        raise InputError(f"{p}: the observatory file is empty")
    if copies:
        raw = _from_sheet_copies(p)
    else:
        raw = _from_workbook(p) if p.suffix.lower() in (".xlsx", ".xls", ".ods") else _from_csv(p)
    raw, repairs = _siren_repairs(raw)
    merged = _agg_like_groupby(
        raw,
        "siren",
        {
            "nom": "first",
            "type": "first",
            "url_portail": "join",
            "url_datagouv": "first",
            "techno": "join",
            "themes": "join",
        },
    )
    merged = merged[OBSERVATORY_COLUMNS]
    merged.attrs = {"source": label, "repairs": repairs}
    return merged


def read_observatory(source: str | os.PathLike[str] = "odater_2022") -> pd.DataFrame:
    """Read an OpenDataFrance observatory (ODATER) export.

    Parameters
    ----------
    source : str or path-like, default ``"odater_2022"``
        ``"odater_2022"`` / ``"odater_2020"`` for the embedded exports, or the path of an export: the
        2022 CSV (``siren, nom, url_platform, id_datagouv, techno_platform``) or the 2020 v2 workbook
        (sheets "Copie Organisations" and "Copie Plateformes", whose platforms give technology and
        themes of the organisations they host).

    Returns
    -------
    pandas.DataFrame
        One row per publishing organisation, index ``siren`` (9-character text), columns
        :data:`OBSERVATORY_COLUMNS`. ``attrs["source"]`` names the export, ``attrs["repairs"]`` lists
        what was repaired (SIRENs with invisible characters, SIRENs listed twice).

    Raises
    ------
    FileNotFoundError, acv_geo.InputError
        Missing file, no SIREN column, unreadable workbook.

    Examples
    --------
    >>> import acv_geo
    >>> obs = acv_geo.read_observatory()
    >>> len(obs), "187609110" in obs.index  # the SIREN with a U+200E prefix is repaired
    (1060, True)
    """
    path, label = _resolve(source)
    # an embedded workbook is read from its Parquet sheet copies when they are there (same frame)
    copies = (
        isinstance(source, str)
        and source in DATASETS
        and path.suffix.lower() == ".xlsx"
        and all(sheet_copy_path(path, name).is_file() for name in WORKBOOK_SHEETS)
    )
    return _read_observatory_cached(str(path), path.stat().st_mtime, label, copies).copy()


def _commune_sirens(cities: pd.DataFrame) -> pd.Series:
    ref = reference_communes()["siren_com"]
    sirens = pd.Series(ref.reindex(cities.index).to_numpy(), index=cities.index, dtype=object)
    if "siren_com" in cities:
        sirens = normalize_siren(cities["siren_com"]).fillna(sirens)
    return sirens


def _listed(sirens: pd.Series, listed: pd.Index, *, unknown: object) -> pd.arrays.BooleanArray:
    """Whether each SIREN is ``listed`` (``unknown`` where the SIREN is missing)."""
    # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
    flags = np.where(sirens.isna(), unknown, sirens.isin(listed))  # type: ignore[call-overload]
    return pd.array(flags, dtype="boolean")


def _level(out: pd.DataFrame) -> pd.Series:
    c = out["opendata_com"].fillna(False).astype(bool)
    e = out["opendata_epci"].astype(bool)
    level = pd.Series(np.where(c, "commune", np.where(e, "epci", "none")), index=out.index, dtype=object)
    return level.where(out["opendata"].notna(), None)


def _urls(out: pd.DataFrame, obs: pd.DataFrame, siren_com: pd.Series, siren_epci: pd.Series) -> None:
    for target, key, column in (
        ("url_portail_com", siren_com, "url_portail"),
        ("url_datagouv_com", siren_com, "url_datagouv"),
        ("techno_com", siren_com, "techno"),
        ("url_portail_epci", siren_epci, "url_portail"),
        ("url_datagouv_epci", siren_epci, "url_datagouv"),
        ("techno_epci", siren_epci, "techno"),
        ("themes_epci", siren_epci, "themes"),
    ):
        out[target] = key.map(obs[column]).astype(object)


def _changes(
    out: pd.DataFrame,
    obs: pd.DataFrame,
    previous: str | os.PathLike[str],
    siren_com: pd.Series,
    siren_epci: pd.Series,
) -> None:
    """The status in the ``previous`` export (``opendata_<year>``…) and ``opendata_change``."""
    prev = read_observatory(previous)
    if out["themes_epci"].isna().all() or obs["themes"].isna().all():
        out["themes_epci"] = out["themes_epci"].fillna(siren_epci.map(prev["themes"]))
    m = re.search(r"(20\d\d)", prev.attrs["source"])
    suffix = m.group(1) if m else "prev"
    out[f"opendata_com_{suffix}"] = _listed(siren_com, prev.index, unknown=None)
    out[f"opendata_epci_{suffix}"] = _listed(siren_epci, prev.index, unknown=False)
    before = out[f"opendata_com_{suffix}"] | out[f"opendata_epci_{suffix}"]
    out[f"opendata_{suffix}"] = before
    now = out["opendata"]
    change = np.select(
        [
            now.fillna(False) & before.fillna(False),
            now.fillna(False) & ~before.fillna(True),
            ~now.fillna(True) & before.fillna(False),
            ~now.fillna(True) & ~before.fillna(True),
        ],
        ["kept", "new", "stopped", "never"],
        default=None,  # type: ignore[arg-type]  # numpy's stubs leave None out; an object array is meant
    )
    out["opendata_change"] = pd.Series(change, index=out.index, dtype=object)


def opendata_status(
    cities: pd.DataFrame,
    observatory: str | os.PathLike[str] = "odater_2022",
    *,
    previous: str | os.PathLike[str] | None = "odater_2020",
) -> pd.DataFrame:
    """Derive whether each city and its EPCI publish open data, from an observatory export.

    See the module docstring for the rule. The input is not modified.

    Parameters
    ----------
    cities : pandas.DataFrame or geopandas.GeoDataFrame
        Indexed by ``insee_com``, with a ``siren_epci`` column (as from :func:`acv_geo.read_acv`);
        an optional ``siren_com`` column overrides the commune SIRENs of the DGCL list.
    observatory : str or path-like, default ``"odater_2022"``
        ODATER export (see :func:`read_observatory`).
    previous : str or path-like or None, default ``"odater_2020"``
        An earlier export: adds ``opendata_com_2020``-style columns (suffix from the export's year,
        ``_prev`` if unknown) and ``opendata_change`` (``"new"``, ``"kept"``, ``"stopped"``,
        ``"never"``). ``None`` skips it.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        A copy of ``cities`` with ``opendata, opendata_com, opendata_epci`` (nullable booleans),
        ``opendata_level``, ``url_portail_com, url_datagouv_com, url_portail_epci,
        url_datagouv_epci, techno_com, techno_epci, themes_epci``, ``opendata_source`` and
        ``opendata_reason`` (why a value is NA). Same index, same order.

    Raises
    ------
    acv_geo.InputError
        If ``cities`` has no ``siren_epci`` column or is not indexed by INSEE code.

    Examples
    --------
    >>> import acv_geo
    >>> st = acv_geo.opendata_status(acv_geo.read_acv(observatory=None))
    >>> row = st.loc["38053"]
    >>> bool(row["opendata_com"]), bool(row["opendata_epci"]), row["opendata_level"]
    (False, True, 'epci')
    """
    if "siren_epci" not in cities.columns:
        raise InputError("cities has no 'siren_epci' column; read them with acv_geo.read_acv() or add the EPCI SIREN")
    if cities.index.name != "insee_com":
        raise InputError("cities must be indexed by 'insee_com' (use .set_index('insee_com'))")
    obs = read_observatory(observatory)
    out = cities.copy()
    siren_com = _commune_sirens(cities)
    siren_epci = normalize_siren(cities["siren_epci"].astype(object))
    out["opendata_com"] = _listed(siren_com, obs.index, unknown=None)
    out["opendata_epci"] = _listed(siren_epci, obs.index, unknown=False)
    out["opendata"] = out["opendata_com"] | out["opendata_epci"]
    out["opendata_level"] = _level(out)
    _urls(out, obs, siren_com, siren_epci)
    out["opendata_source"] = obs.attrs["source"]
    reason = pd.Series(None, index=out.index, dtype=object)
    reason[siren_com.isna()] = "commune SIREN unknown (commune not in the DGCL 2023 list)"
    out["opendata_reason"] = reason
    if previous is not None:
        _changes(out, obs, previous, siren_com, siren_epci)
    repairs = [
        {
            "kind": "observatory repair",
            "column": "siren",
            "count": 1,
            "codes": "",
            "detail": r,
            "file": obs.attrs["source"],
        }
        for r in obs.attrs.get("repairs", [])
    ]
    out.attrs[REPAIRS] = list(cities.attrs.get(REPAIRS, [])) + repairs
    return out
