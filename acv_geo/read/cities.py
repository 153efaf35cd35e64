"""Reader of the ACV city lists, with their repairs.

Real exports of the ACV datasets are messy: INSEE codes exported as numbers lose their leading
zero, SIRENs come as floats, the Caisse des Dépôts export puts the *region* code in ``Code_DEP``,
repeats two columns, writes positions as ``"lat, lon"`` text, and the ANCT web map places the 16
overseas towns in map insets inside mainland France. :func:`read_acv` repairs what can be repaired,
**reports every repair** (``gdf.attrs["acv_geo_repairs"]``, see :func:`acv_geo.repair_report`, and one
log record per repair) and raises :class:`~acv_geo.core.errors.InputError` naming the file, the row, the
column and the fix for what cannot. No city is ever dropped silently.

The file is read by :mod:`acv_geo.read.text`, the positions repaired by :mod:`acv_geo.read.positions`,
the missing names and codes filled from :mod:`acv_geo.read.reference`.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from acv_geo.core.codes import clean_text, codes_in, insee_department, normalize_insee, normalize_siren, slugify
from acv_geo.core.datasets import get_path
from acv_geo.core.errors import InputError
from acv_geo.core.files import FALSE_WORDS, TRUE_WORDS, RepairLog
from acv_geo.core.territories import territory_of
from acv_geo.read.communes import INSEE_FIELDS, read_epci
from acv_geo.read.opendata import STATUS_COLUMNS
from acv_geo.read.positions import city_positions
from acv_geo.read.reference import departements, epci_names, reference_communes
from acv_geo.read.repairs import REPAIRS
from acv_geo.read.text import ROWS, RowLabels, read_raw, row_labels

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["CITY_COLUMNS", "read_acv"]

log = logging.getLogger("acv_geo")

#: Normalised columns of :func:`read_acv`, in order (``insee_com`` is the index).
CITY_COLUMNS = [
    "commune",
    "siren_epci",
    "epci",
    "region",
    "departement",
    "code_dep",
    "code_reg",
    "territory",
    "population",
    "id_acv",
    "lib_acv",
    *STATUS_COLUMNS,
    "position_source",
    "epci_check",
]

# canonical column -> slugified header names that mean it (CDC labels and field names, ANCT, data.gouv)
_ALIASES: dict[str, tuple[str, ...]] = {
    "insee_com": INSEE_FIELDS,
    "commune": ("commune", "commune_acv", "lib_com", "nom_commune", "nom_com", "libelle_commune", "nom"),
    "siren_epci": ("siren_epci", "epci_siren", "code_epci"),
    "epci": ("epci", "lib_epci", "nom_epci", "libelle_epci"),
    "region": ("region", "lib_reg", "nom_region", "libelle_region"),
    "departement": ("departement", "lib_dep", "nom_departement", "libelle_departement"),
    "code_dep_raw": ("code_dep", "insee_dep", "dep", "code_departement"),
    "code_reg": ("insee_reg", "code_reg", "code_region", "reg"),
    "population": ("population", "pop", "population_municipale", "pmun"),
    "id_acv": ("id_acv",),
    "lib_acv": ("lib_acv", "convention"),
    "date_signature": ("date_signature",),
    "opendata_raw": ("opendata_com_epci", "opendata"),
    "nom_com_opendata": ("nom_com_avec_portail_opendata",),
    "siren_com_opendata": ("siren_com_avec_portail_opendata",),
    "url_portail_com": ("url_portail_com",),
    "url_datagouv_com": ("url_datagouv_com",),
    "siren_epci_opendata": ("siren_epci_avec_portail_opendata",),
    "nom_epci_opendata": ("nom_epci_avec_portail_opendata",),
    "url_portail_epci": ("url_portail_epci",),
    "url_datagouv_epci": ("url_datagouv_epci",),
    "techno_epci": ("techno_ptf_epci", "techno_epci"),
    "themes_epci": ("thematiques_epci", "themes_epci"),
    "centroid": ("centroid", "geo_point_2d", "geo_point", "coordonnees", "centroide"),
    "lat": ("lat", "latitude", "y"),
    "lon": ("lon", "long", "lng", "longitude", "x"),
}
_SLUG_TO_CANON = {alias: canon for canon, aliases in _ALIASES.items() for alias in aliases}

_BOOLEAN_COLUMNS = ("opendata", "opendata_com", "opendata_epci")


# --------------------------------------------------------------------------------------------
# columns: canonical names, merged duplicates, invisible characters


def _column_groups(df: pd.DataFrame) -> dict[str, list[Any]]:
    """Canonical column -> the file's columns that mean it, in file order."""
    groups: dict[str, list[Any]] = {}
    for col in df.columns:
        base = re.sub(r"\.\d+$", "", str(col))  # pandas renames a repeated header 'X' to 'X.1'
        slug = slugify(base)
        canon = base if base.startswith("_geom") else _SLUG_TO_CANON.get(slug)
        groups.setdefault(canon or f"extra_{slug}", []).append(col)
    return groups


def _merge_columns(df: pd.DataFrame, canon: str, cols: list[Any], report: RepairLog) -> pd.Series:
    """The cleaned values of ``cols`` (first non-empty value of the repeated columns), repairs reported."""
    series = df[cols[0]].map(clean_text)
    raw = df[cols[0]]
    marks = (raw.notna() & series.notna() & (raw.astype(str).str.strip(" ") != series.astype(str))).to_numpy(dtype=bool)
    if marks.any():
        report.add(
            "invisible characters removed",
            canon,
            [str(v) for v in series[marks]],
            "zero-width or non-breaking spaces, tabs or control characters removed from the cells",
        )
    if len(cols) > 1:
        conflicts = 0
        for other in cols[1:]:
            o = df[other].map(clean_text)
            both = series.notna() & o.notna() & (series.astype(str) != "") & (o.astype(str) != "")
            conflicts += int((both & (series.astype(str) != o.astype(str))).sum())
            empty = series.isna() | (series.astype(str) == "")
            series = series.where(~empty, o)
        report.add(
            "duplicated column",
            canon,
            None,
            f"columns {cols} mean the same field and were merged (first non-empty value kept; "
            f"{conflicts} rows had conflicting values)",
        )
    blank = series.map(lambda v: isinstance(v, str) and v == "").astype(bool)
    return series.astype(object).where(~blank, None)


def _canonical_columns(df: pd.DataFrame, report: RepairLog) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    for canon, cols in _column_groups(df).items():
        out[canon] = _merge_columns(df, canon, cols, report)
    out.attrs[ROWS] = df.attrs.get(ROWS)
    return out


def _parse_oui_non(values: pd.Series, df: pd.DataFrame, path: Path, column: str) -> pd.Series:
    """OUI/NON (any word of :data:`~acv_geo.core.files.TRUE_WORDS` / ``FALSE_WORDS``, or booleans) as booleans."""
    cells = values.astype(object)
    missing = cells.isna().to_numpy()
    words = cells.where(~missing, "").astype(str).str.strip().str.lower()
    true = words.isin(TRUE_WORDS).to_numpy()
    empty = missing | (words == "").to_numpy()
    bad = ~(true | words.isin(FALSE_WORDS).to_numpy() | empty)
    if bad.any():
        first = values[bad].iloc[0]
        raise InputError(
            f"{path}: {row_labels(df, bad)}, column {column!r}: value {first!r} is not OUI/NON; "
            "use OUI, NON or leave the cell empty"
        )
    # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
    flags = np.where(empty, None, true)  # type: ignore[call-overload]
    return pd.Series(pd.array(flags, dtype="boolean"), index=values.index)


# --------------------------------------------------------------------------------------------
# rows: INSEE codes and duplicates


def _missing_insee_column(df: pd.DataFrame, path: Path) -> InputError:
    cols = [c for c in df.columns if not str(c).startswith("_")]
    hint = ""
    if len(cols) == 1 and any(s in str(cols[0]) for s in (";", ",", "|", "\t")):
        hint = " (the whole header is one column: wrong separator?)"
    return InputError(
        f"{path}: missing required column with the INSEE commune code{hint}; columns found: "
        f"{[str(c) for c in cols][:25]}; expected one of 'Code INSEE Commune', 'insee_com', "
        "'code_insee', 'insee', 'codgeo'"
    )


def _insee_codes(df: pd.DataFrame, path: Path, report: RepairLog) -> pd.Series:
    raw = df["insee_com"]
    codes = normalize_insee(raw)
    bad = codes.isna()
    if bad.any():
        value = raw[bad].iloc[0]
        raise InputError(
            f"{path}: {row_labels(df, bad)}, column 'insee_com': {value!r} is not an INSEE commune "
            "code (5 characters such as '01053' or '2A004'); correct or remove the row"
        )
    fixed = codes.astype(str) != raw.astype(str).str.strip()
    if fixed.any():
        report.add(
            "INSEE code repaired",
            "insee_com",
            list(codes[fixed]),
            "codes exported as numbers lost their leading zero or case (e.g. 1053 → 01053); restored",
        )
    return codes.astype(str)


def _drop_duplicates(df: pd.DataFrame, path: Path, report: RepairLog) -> pd.DataFrame:
    """One row per commune: identical rows removed (reported), conflicting ones refused."""
    payload = df.drop(columns=[c for c in df.columns if c.startswith("_")])
    exact = payload.duplicated(keep="first")
    conflicting = df["insee_com"].duplicated(keep=False) & ~payload.duplicated(keep=False)
    if conflicting.any():
        code = df.loc[conflicting, "insee_com"].iloc[0]
        raise InputError(
            f"{path}: {row_labels(df, df['insee_com'].eq(code))}: INSEE code {code} appears more "
            "than once with different values; keep one row per commune"
        )
    report.add(
        "duplicate row removed",
        "insee_com",
        list(df.loc[exact, "insee_com"]),
        "identical rows repeated in the file; one kept",
    )
    keep = ~exact.to_numpy()
    rows = [r for r, k in zip(df.attrs.get(ROWS, []), keep, strict=False) if k]
    df = df[keep]
    df.attrs[ROWS] = RowLabels(rows)
    return df


def _normalise_cities(df: pd.DataFrame, path: Path, report: RepairLog) -> pd.DataFrame:
    if len(df) == 0:
        raise InputError(f"{path}: the file has a header but no row; export the dataset again")
    if "insee_com" not in df:
        raise _missing_insee_column(df, path)
    codes = _insee_codes(df, path, report)
    df = df.copy()
    df["insee_com"] = codes
    if df["insee_com"].duplicated(keep=False).any():
        df = _drop_duplicates(df, path, report)
    return df


# --------------------------------------------------------------------------------------------
# the output table: codes, names and EPCI (file first, reference next), open-data flags, positions


class _File:
    """The file's canonical columns, aligned on the output index."""

    def __init__(self, df: pd.DataFrame, index: pd.Index) -> None:
        self.df = df
        self.index = index

    def __contains__(self, col: str) -> bool:
        return col in self.df

    def text(self, col: str) -> pd.Series:
        """The column as objects (all ``None`` when the file lacks it)."""
        if col in self.df:
            return pd.Series(self.df[col].to_numpy(), index=self.index, dtype=object)
        return pd.Series(None, index=self.index, dtype=object)


def _department_codes(out: pd.DataFrame, file: _File, report: RepairLog) -> None:
    """``code_dep`` from the INSEE code (the file's department column checked), ``code_reg`` from it."""
    deps = departements()
    out["code_dep"] = out.index.map(insee_department).to_numpy()
    if "code_dep_raw" in file:
        given = pd.Series(
            file.text("code_dep_raw").astype("string").str.strip().str.zfill(2).to_numpy(), index=out.index
        )
        differs = given.notna() & (given != out["code_dep"])
        holds_region = differs & (given == out["code_dep"].map(deps["code_reg"]))
        if holds_region.any():
            report.add(
                "Code_DEP holds the region code",
                "code_dep",
                list(out.index[holds_region]),
                "the file's department column holds the region code (e.g. Landes → 75); the "
                "department was derived from the INSEE code",
            )
        other = differs & ~holds_region
        if other.any():
            report.add(
                "department code corrected",
                "code_dep",
                list(out.index[other]),
                "the file's department code disagrees with the INSEE code; derived from the INSEE code",
            )
    out["code_reg"] = out["code_dep"].map(deps["code_reg"])
    if "code_reg" in file:
        out["code_reg"] = out["code_reg"].fillna(file.text("code_reg").astype("string").str.zfill(2))


def _epci_sirens(file: _File, ref: pd.DataFrame, report: RepairLog) -> pd.Series:
    """The file's EPCI SIRENs (repaired, missing ones from the reference), else the reference's."""
    index = file.index
    ref_epci = pd.Series(ref["siren_epci"].reindex(index).to_numpy(), index=index, dtype=object)
    if "siren_epci" not in file:
        report.add(
            "EPCI SIREN from reference",
            "siren_epci",
            None,
            "the file has no EPCI SIREN column: taken from the commune reference (IGN 2025 / DGCL)",
        )
        return ref_epci
    given = file.text("siren_epci")
    siren = normalize_siren(given)
    fixed = siren.notna() & (siren != given.astype(str).str.strip())
    if fixed.any():
        report.add(
            "SIREN repaired",
            "siren_epci",
            list(index[fixed]),
            "SIRENs exported as numbers (e.g. 200070993.0) restored to 9-character text",
        )
    missing = siren.isna()
    if missing.any():
        siren = siren.where(~missing, ref_epci)
        report.add(
            "EPCI SIREN from reference",
            "siren_epci",
            list(index[missing & ref_epci.notna()]),
            "missing EPCI SIREN taken from the commune reference (IGN 2025 / DGCL)",
        )
    differs = siren.notna() & ref_epci.notna() & (siren != ref_epci)
    if differs.any():
        report.add(
            "EPCI SIREN differs from reference",
            "siren_epci",
            list(index[differs]),
            "the file's EPCI SIREN is not the one of the commune reference (IGN 2025 / DGCL 2023); "
            "the file's value is kept",
        )
    return siren


def _names_and_counts(out: pd.DataFrame, file: _File, ref: pd.DataFrame, report: RepairLog) -> None:
    deps = departements()
    index = out.index
    out["commune"] = file.text("commune").fillna(pd.Series(ref["nom_com"].reindex(index).to_numpy(), index=index))
    out["departement"] = file.text("departement").fillna(out["code_dep"].map(deps["departement"]))
    out["region"] = file.text("region").fillna(out["code_reg"].map(deps["region"]))
    out["siren_epci"] = _epci_sirens(file, ref, report)
    out["epci"] = file.text("epci").fillna(out["siren_epci"].map(epci_names()))
    pop = pd.to_numeric(file.text("population"), errors="coerce")
    ref_pop = pd.to_numeric(pd.Series(ref["population_municipale"].reindex(index).to_numpy(), index=index))
    out["population"] = pop.fillna(ref_pop).round().astype("Int64")
    out["id_acv"] = file.text("id_acv")
    out["lib_acv"] = file.text("lib_acv")


def _level(out: pd.DataFrame) -> pd.Series:
    com = out["opendata_com"].fillna(False).astype(bool)
    epci = out["opendata_epci"].fillna(False).astype(bool)
    level = pd.Series(np.where(com, "commune", np.where(epci, "epci", "none")), index=out.index, dtype=object)
    return level.where(out["opendata"].notna(), None)


def _file_opendata(out: pd.DataFrame, file: _File, path: Path, report: RepairLog) -> None:
    """The open-data flags as published in the file (the CDC dataset's ``Opendata_COM_EPCI``)."""
    flag = _parse_oui_non(file.text("opendata_raw"), file.df, path, "Opendata_COM_EPCI")

    def named(*cols: str) -> pd.Series:
        return pd.concat([file.text(c).notna() for c in cols], axis=1).any(axis=1)

    has_com = named("siren_com_opendata", "url_portail_com", "url_datagouv_com")
    has_epci = named("siren_epci_opendata", "url_portail_epci", "url_datagouv_epci")
    out["opendata"] = flag
    unknown = flag.isna().to_numpy()
    # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
    out["opendata_com"] = pd.array(
        np.where(unknown, None, flag.fillna(False) & has_com),  # type: ignore[call-overload]
        dtype="boolean",
    )
    out["opendata_epci"] = pd.array(
        np.where(unknown, None, flag.fillna(False) & has_epci),  # type: ignore[call-overload]
        dtype="boolean",
    )
    unexplained = flag.fillna(False) & ~has_com & ~has_epci
    if unexplained.any():
        report.add(
            "OUI without publisher",
            "opendata",
            list(out.index[unexplained]),
            "flag OUI but no commune or EPCI portal named: opendata_com/opendata_epci left False",
        )
    for col in (
        "url_portail_com",
        "url_datagouv_com",
        "url_portail_epci",
        "url_datagouv_epci",
        "techno_epci",
        "themes_epci",
    ):
        out[col] = file.text(col)
    out["techno_com"] = pd.Series(None, index=out.index, dtype=object)
    out["opendata_source"] = f"file: {path.name}"
    out["opendata_level"] = _level(out)


def _finish_cities(df: pd.DataFrame, path: Path, report: RepairLog) -> pd.DataFrame:
    ref = reference_communes()
    codes = df["insee_com"]
    out = pd.DataFrame(index=pd.Index(codes.to_numpy(), name="insee_com"))
    file = _File(df, out.index)
    out["territory"] = [territory_of(c) for c in codes]
    _department_codes(out, file, report)
    _names_and_counts(out, file, ref, report)
    if "opendata_raw" in file:
        _file_opendata(out, file, path, report)
    lon, lat, source = city_positions(df.assign(territory=out["territory"].to_numpy()), path, report, ref)
    out["position_source"] = source
    out["_lon"], out["_lat"] = lon, lat
    in_ref = codes_in(out.index, ref.index)
    if (~in_ref).any():
        report.add(
            "commune not in 2025 reference",
            "insee_com",
            list(out.index[~in_ref]),
            "code absent from the 2025 commune list (merged or renamed commune?): kept, with the file's data",
        )
    return out


def _check_epci(cities: Any, epci: Any, report: RepairLog) -> pd.Series:
    """'ok' when the city point lies in its EPCI polygon, else the reason (reported)."""
    import shapely

    status = pd.Series("ok", index=cities.index, dtype=object)
    known = cities["siren_epci"].isin(epci.index)
    status[cities["siren_epci"].isna()] = "no EPCI (commune outside any EPCI)"
    status[cities["siren_epci"].notna() & ~known] = "EPCI SIREN not in the EPCI layer"
    sel = known.to_numpy()
    if sel.any():
        polys = epci.geometry.reindex(cities.loc[sel, "siren_epci"]).to_numpy()
        inside = shapely.covers(polys, cities.geometry[sel].to_numpy())
        status.iloc[np.flatnonzero(sel)[~inside]] = "city point outside its EPCI polygon"
    bad = status != "ok"
    if bad.any():
        for reason in status[bad].unique():
            report.add("EPCI check failed", "siren_epci", list(status.index[status == reason]), reason)
    return status


def _in_city_columns(cities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Every column of :data:`CITY_COLUMNS` (empty where unknown), in order, then the others."""
    for col in CITY_COLUMNS:
        if col not in cities:
            empty = col.startswith("opendata_c") or col in _BOOLEAN_COLUMNS
            cities[col] = pd.array([pd.NA] * len(cities), dtype="boolean") if empty else None
    extra = [c for c in cities.columns if c not in CITY_COLUMNS and c != "geometry"]
    return cities[CITY_COLUMNS + extra + ["geometry"]]


# --------------------------------------------------------------------------------------------
# public reader


def read_acv(
    source: str | os.PathLike[str] | None = None,
    *,
    observatory: str | os.PathLike[str] | None = "odater_2022",
    previous: str | os.PathLike[str] | None = "odater_2020",
    epci: Any = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read the ACV cities as a GeoDataFrame of points indexed by INSEE code.

    Parameters
    ----------
    source : str or path-like, optional
        ``None`` for the embedded ANCT list of the 244 ACV communes (April 2025), or a path to:
        the Caisse des Dépôts dataset *villes-action-coeur-de-ville-portail-open-data* as CSV
        (``;`` or ``,``, UTF-8 with or without BOM, label or field-name headers), JSON (records,
        or Opendatasoft ``fields`` records) or GeoJSON export; the ANCT list (CSV, or the web map's
        ``coeurdeville.js``); any table or point layer with an INSEE code column.
    observatory : str or path-like or None, default ``"odater_2022"``
        For sources without an open-data flag (the ANCT list): derive it with
        :func:`acv_geo.opendata_status` from this OpenDataFrance export (embedded name or path).
        ``None`` leaves the open-data columns empty (NA). Sources that carry the CDC flag keep it.
    previous : str or path-like or None, default ``"odater_2020"``
        Earlier observatory export for the change columns (``opendata_2020``, ``opendata_change``)
        when ``observatory`` is used.
    epci : geopandas.GeoDataFrame, optional
        EPCI polygons indexed by ``siren_epci`` for the spatial check (default: embedded 2025).
    encoding : str, optional
        Text encoding of a CSV/JSON source; by default UTF-8 (with or without BOM), falling back to
        Windows-1252 with a reported repair.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per city, index ``insee_com`` (5-character text), EPSG:4326 points at true
        positions, columns :data:`CITY_COLUMNS` (plus ``date_signature`` and the observatory change
        columns when available). ``opendata*`` are nullable booleans; ``opendata_level`` is
        ``"commune"``, ``"epci"`` or ``"none"``; ``epci_check`` is ``"ok"`` when the city point lies
        in its EPCI polygon. ``attrs["acv_geo_repairs"]`` lists every repair
        (:func:`acv_geo.repair_report`).

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist.
    acv_geo.InputError
        For unreadable formats, missing INSEE column, bad codes, conflicting duplicates,
        unparseable OUI/NON flags, empty files, positions that cannot be placed.

    Examples
    --------
    >>> import acv_geo
    >>> cities = acv_geo.read_acv()
    >>> len(cities), cities.index.is_unique, cities.crs.to_epsg()
    (244, True, 4326)
    >>> cities.loc["97105", ["commune", "territory"]].tolist()
    ['Basse-Terre', 'guadeloupe']
    """
    import geopandas as gpd

    path = Path(source) if source is not None else get_path("acv_communes")
    report = RepairLog(str(path) if source is not None else "embedded ANCT ACV list")
    df = _canonical_columns(read_raw(path, encoding, report), report)
    df = _normalise_cities(df, path, report)
    out = _finish_cities(df, path, report)
    if "date_signature" in df:
        out["date_signature"] = df["date_signature"].to_numpy()
    geom = gpd.points_from_xy(out.pop("_lon"), out.pop("_lat"), crs=4326)
    cities = gpd.GeoDataFrame(out, geometry=geom, crs=4326)
    cities["epci_check"] = _check_epci(cities, read_epci() if epci is None else epci, report)
    if "opendata" not in cities and observatory is not None:
        from acv_geo.read.opendata import opendata_status

        cities = opendata_status(cities, observatory=observatory, previous=previous)
        report.rows.extend(cities.attrs.get(REPAIRS, []))
    cities = _in_city_columns(cities)
    cities.attrs[REPAIRS] = list(report.rows)
    return cities
