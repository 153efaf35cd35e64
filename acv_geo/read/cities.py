# mypy: ignore-errors
# (being reworked; remove this line once mypy passes on the module)
"""Readers of the ACV city lists, commune and EPCI polygons, with their repairs.

Real exports of the ACV datasets are messy: INSEE codes exported as numbers lose their leading
zero, SIRENs come as floats, the Caisse des Dépôts export puts the *region* code in ``Code_DEP``,
repeats two columns, writes positions as ``"lat, lon"`` text, and the ANCT web map places the 16
overseas towns in map insets inside mainland France. The readers repair what can be repaired,
**report every repair** (``gdf.attrs["acv_geo_repairs"]``, see :func:`repair_report`, and one log
record per repair) and raise :class:`~acv_geo.core.errors.InputError` naming the file, the row, the
column and the fix for what cannot. No city is ever dropped silently.
"""

from __future__ import annotations

import functools
import io as _io
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.codes import clean_text, insee_department, normalize_insee, normalize_siren, slugify
from acv_geo.core.datasets import get_path
from acv_geo.core.errors import InputError
from acv_geo.core.files import FALSE_WORDS, TRUE_WORDS, RepairLog, decode_text
from acv_geo.core.territories import TERRITORIES, check_extent, territory_of, territory_of_areas

__all__ = [
    "CITY_COLUMNS",
    "read_acv",
    "read_all_communes",
    "read_communes",
    "read_epci",
    "read_polygons",
    "repair_report",
]

log = logging.getLogger("acv_geo")

_REPAIRS = "acv_geo_repairs"

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
    "position_source",
    "epci_check",
]

# canonical column -> slugified header names that mean it (CDC labels and field names, ANCT, data.gouv)
_ALIASES: dict[str, tuple[str, ...]] = {
    "insee_com": (
        "insee_com", "code_insee_commune", "code_insee", "insee", "codgeo", "code_commune_insee",
        "code_commune", "com", "insee_commune", "code_insee_com",
    ),
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



# --------------------------------------------------------------------------------------------
# repair report


def repair_report(gdf: pd.DataFrame) -> pd.DataFrame:
    """The repairs made while reading a table.

    Parameters
    ----------
    gdf : pandas.DataFrame
        A table returned by :func:`read_acv`, :func:`read_communes` or :func:`read_epci`.

    Returns
    -------
    pandas.DataFrame
        One row per repair: ``kind, column, count, codes, detail, file`` (empty if none).

    Examples
    --------
    >>> import acv_geo
    >>> rep = acv_geo.repair_report(acv_geo.read_acv())
    >>> "overseas map-inset position" in set(rep["kind"])
    True
    """
    return pd.DataFrame(gdf.attrs.get(_REPAIRS, []), columns=["kind", "column", "count", "codes", "detail", "file"])


# --------------------------------------------------------------------------------------------
# reference tables (embedded)


@functools.lru_cache(maxsize=1)
def _reference_communes() -> pd.DataFrame:
    """Every French commune: name, codes, EPCI, commune SIREN and a representative point."""
    df = pd.read_csv(get_path("communes_france"), dtype=str, keep_default_na=False, na_values=[""])
    df["lon"] = df["lon"].astype(float)
    df["lat"] = df["lat"].astype(float)
    return df.set_index("insee_com")


@functools.lru_cache(maxsize=1)
def _departements() -> pd.DataFrame:
    return pd.read_csv(get_path("departements"), dtype=str).set_index("code_dep")


# --------------------------------------------------------------------------------------------
# low-level file reading


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file; check the path (current folder: {os.getcwd()})")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file; give the path of the exported file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); export the dataset again")


def _read_csv_text(path: Path, text: str) -> pd.DataFrame:
    if not text.strip():
        raise InputError(f"{path}: the file has no content (only blank lines); export the dataset again")
    header = text.lstrip("\ufeff").splitlines()[0]
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    sep = max(counts, key=counts.get)
    if counts[sep] == 0:
        raise InputError(
            f"{path}: line 1: no column separator found (expected ';' or ','; the header reads "
            f"{header[:80]!r}); export the file as CSV with ';' or ',' between columns"
        )
    try:
        df = pd.read_csv(_io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        where = f"line {m.group(1)}" if m else "a line"
        raise InputError(
            f"{path}: {where} has a different number of fields than the header ({exc}); check the "
            f"separator ({sep!r} detected) and quoting"
        ) from None
    df.attrs["_rows"] = [f"line {i + 2}" for i in range(len(df))]
    return df


def _records_frame(path: Path, records: list, what: str) -> pd.DataFrame:
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
    df.attrs["_rows"] = [f"record {i + 1}" for i in range(len(df))]
    return df


def _geojson_frame(path: Path, obj: dict) -> pd.DataFrame:
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
    df.attrs["_rows"] = [f"feature {i + 1}" for i in range(len(df))]
    return df


def _read_raw(path: Path, encoding: str | None, report: RepairLog) -> pd.DataFrame:
    _check_file(path)
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xls", ".ods"):
        try:
            df = pd.read_excel(path, dtype=str)
        except Exception as exc:  # noqa: BLE001 - any reader failure is reported as bad input
            raise InputError(f"{path}: cannot read the spreadsheet ({exc}); export it as CSV") from None
        df.attrs["_rows"] = [f"row {i + 2}" for i in range(len(df))]
        return df
    if ext in (".gpkg", ".shp", ".fgb", ".gml", ".sqlite", ".parquet"):
        import geopandas as gpd

        try:
            g = gpd.read_parquet(path) if ext == ".parquet" else gpd.read_file(path)
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{path}: cannot read the layer ({exc})") from None
        df = pd.DataFrame(g.drop(columns=g.geometry.name))
        pts = g.geometry.to_crs(4326) if g.crs is not None else g.geometry
        if len(g) and (pts.geom_type == "Point").all():
            df["_geom_lon"], df["_geom_lat"] = pts.x.values, pts.y.values
        df.attrs["_rows"] = [f"feature {i + 1}" for i in range(len(df))]
        return df
    text = decode_text(path, path.read_bytes(), encoding, report)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:15].lower().startswith(("<!doctype html", "<html")):
        raise InputError(f"{path}: this is a web page (HTML), not a city list; download the data file itself "
                         "(not the page that links to it)")
    if ext == ".js" or re.match(r"^(var|let|const)\s+\w+\s*=", stripped):
        start = stripped.find("{")
        end = stripped.rfind("}")
        if start < 0 or end < 0:
            raise InputError(f"{path}: not a GeoJSON wrapped in a JavaScript variable (no '{{' found)")
        stripped = stripped[start : end + 1]
    if stripped.startswith(("{", "[")):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        if isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
            return _geojson_frame(path, obj)
        if isinstance(obj, dict):
            for key in ("results", "records", "data"):
                if isinstance(obj.get(key), list):
                    return _records_frame(path, obj[key], "JSON")
            raise InputError(f"{path}: JSON object without a list of records or features; export as JSON or GeoJSON")
        return _records_frame(path, obj, "JSON array")
    if ext in (".json", ".geojson"):
        raise InputError(f"{path}: the file is not valid JSON (it does not start with '{{' or '['); export again")
    return _read_csv_text(path, text)


# --------------------------------------------------------------------------------------------
# normalisation


def _canonical_columns(df: pd.DataFrame, path: Path, report: RepairLog) -> pd.DataFrame:
    rows = df.attrs.get("_rows")
    groups: dict[str, list[str]] = {}
    for col in df.columns:
        base = re.sub(r"\.\d+$", "", str(col))  # pandas renames a repeated header 'X' to 'X.1'
        slug = slugify(base)
        canon = base if base.startswith("_geom") else _SLUG_TO_CANON.get(slug)
        if canon is None:
            canon = f"extra_{slug}"
        groups.setdefault(canon, []).append(col)
    out = pd.DataFrame(index=df.index)
    for canon, cols in groups.items():
        series = df[cols[0]].map(clean_text)
        raw = df[cols[0]]
        marks = (raw.notna() & series.notna()
                 & (raw.astype(str).str.strip(" ") != series.astype(str))).to_numpy(dtype=bool)
        if marks.any():
            report.add("invisible characters removed", canon, [str(v) for v in series[marks]],
                       "zero-width or non-breaking spaces, tabs or control characters removed from the cells")
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
        out[canon] = series.astype(object).where(~blank, None)
    out.attrs["_rows"] = rows
    return out


def _row_labels(df: pd.DataFrame, mask: pd.Series) -> str:
    rows = df.attrs.get("_rows") or [f"row {i + 1}" for i in range(len(df))]
    idx = np.flatnonzero(np.asarray(mask))
    labels = [rows[i] for i in idx[:10]]
    return ", ".join(labels) + (f" … ({len(idx)} in all)" if len(idx) > 10 else "")


def _parse_oui_non(values: pd.Series, df: pd.DataFrame, path: Path, column: str) -> pd.Series:
    def parse(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return pd.NA
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        s = str(v).strip().lower()
        if s == "":
            return pd.NA
        if s in TRUE_WORDS:
            return True
        if s in FALSE_WORDS:
            return False
        return "?"

    parsed = values.map(parse)
    bad = parsed.astype(object).eq("?")
    if bad.any():
        first = values[bad].iloc[0]
        raise InputError(
            f"{path}: {_row_labels(df, bad)}, column {column!r}: value {first!r} is not OUI/NON; "
            "use OUI, NON or leave the cell empty"
        )
    return parsed.astype("boolean")


def _parse_latlon_text(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    def split(v: object) -> tuple[float, float]:
        if isinstance(v, dict):  # geo_point_2d as {"lat":..,"lon":..}
            return float(v.get("lat", np.nan)), float(v.get("lon", np.nan))
        if isinstance(v, (list, tuple)) and len(v) == 2:
            return float(v[0]), float(v[1])
        if not isinstance(v, str):
            return np.nan, np.nan
        parts = re.split(r"[,;\s]+", v.strip().strip("[]()"))
        parts = [p for p in parts if p]
        if len(parts) != 2:
            return np.nan, np.nan
        try:
            return float(parts[0]), float(parts[1])
        except ValueError:
            return np.nan, np.nan

    pairs = values.map(split)
    return pairs.map(lambda p: p[0]).astype(float), pairs.map(lambda p: p[1]).astype(float)


def _in_bounds(lon: np.ndarray, lat: np.ndarray, territories: np.ndarray) -> np.ndarray:
    ok = np.zeros(len(lon), dtype=bool)
    for name, terr in TERRITORIES.items():
        sel = territories == name
        x0, y0, x1, y1 = terr.bounds
        ok[sel] = (lon[sel] >= x0) & (lon[sel] <= x1) & (lat[sel] >= y0) & (lat[sel] <= y1)
    return ok


def _positions(
    df: pd.DataFrame, path: Path, report: RepairLog, ref: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, list]:
    n = len(df)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    source = np.array(["file"] * n, dtype=object)
    if "_geom_lon" in df:
        lon = pd.to_numeric(df["_geom_lon"], errors="coerce").to_numpy(float, copy=True)
        lat = pd.to_numeric(df["_geom_lat"], errors="coerce").to_numpy(float, copy=True)
    if "lat" in df and "lon" in df:
        flat = pd.to_numeric(df["lat"].astype(str).str.replace(",", "."), errors="coerce").to_numpy(float)
        flon = pd.to_numeric(df["lon"].astype(str).str.replace(",", "."), errors="coerce").to_numpy(float)
        take = np.isnan(lon)
        lon[take], lat[take] = flon[take], flat[take]
    if "centroid" in df:
        clat, clon = _parse_latlon_text(df["centroid"])
        take = np.isnan(lon)
        if take.any() and df["centroid"].notna().any():
            report.add(
                "centroid text parsed", "centroid", None,
                "positions read from the 'centroid' text column (\"lat, lon\" order)",
            )
        lon[take], lat[take] = clon.to_numpy()[take], clat.to_numpy()[take]
    codes = df["insee_com"].to_numpy()
    terr = df["territory"].to_numpy()
    ref_lon = ref["lon"].reindex(codes).to_numpy(float)
    ref_lat = ref["lat"].reindex(codes).to_numpy(float)

    missing = np.isnan(lon) | np.isnan(lat)
    if missing.any():
        has_ref = missing & ~np.isnan(ref_lon)
        lon[has_ref], lat[has_ref] = ref_lon[has_ref], ref_lat[has_ref]
        source[has_ref] = "commune polygon (no position in file)"
        if has_ref.any():
            report.add(
                "position from commune polygon", "geometry", list(codes[has_ref]),
                "no position in the file: representative point of the commune polygon (IGN ADMIN EXPRESS 2025)",
            )
    ok = _in_bounds(lon, lat, terr)
    bad = ~ok & ~np.isnan(lon)
    if bad.any():
        swapped = bad & _in_bounds(lat, lon, terr)
        if swapped.any():
            lon[swapped], lat[swapped] = lat[swapped].copy(), lon[swapped].copy()
            source[swapped] = "file (latitude/longitude swapped)"
            report.add("swapped coordinates", "geometry", list(codes[swapped]),
                       "latitude and longitude were swapped in the file; swapped back")
            bad &= ~swapped
        overseas = bad & (terr != "metropole") & ~np.isnan(ref_lon)
        if overseas.any():
            lon[overseas], lat[overseas] = ref_lon[overseas], ref_lat[overseas]
            source[overseas] = "commune polygon (file had a map-inset position)"
            report.add(
                "overseas map-inset position", "geometry", list(codes[overseas]),
                "overseas towns placed in map insets inside mainland France; replaced by the representative "
                "point of the commune polygon (true position)",
            )
            bad &= ~overseas
        fixable = bad & ~np.isnan(ref_lon)
        if fixable.any():
            lon[fixable], lat[fixable] = ref_lon[fixable], ref_lat[fixable]
            source[fixable] = "commune polygon (file position outside the territory)"
            report.add(
                "position outside its territory", "geometry", list(codes[fixable]),
                "position outside France/its territory in the file; replaced by the commune polygon's "
                "representative point",
            )
            bad &= ~fixable
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{path}: {_row_labels(df, pd.Series(bad))}: position ({lat[i]:.5f}, {lon[i]:.5f}) of "
                f"{codes[i]} is outside {TERRITORIES[terr[i]].label} and the commune is not in the "
                "reference; correct the coordinates (lat, lon in WGS84) or the INSEE code"
            )
    still = np.isnan(lon) | np.isnan(lat)
    if still.any():
        raise InputError(
            f"{path}: {_row_labels(df, pd.Series(still))}: no position and INSEE code "
            f"{codes[still][0]} is not a 2025 commune; give lat/lon or correct the code"
        )
    return lon, lat, list(source)


def _normalise_cities(df: pd.DataFrame, path: Path, report: RepairLog) -> pd.DataFrame:
    if len(df) == 0:
        raise InputError(f"{path}: the file has a header but no row; export the dataset again")
    if "insee_com" not in df:
        cols = [c for c in df.columns if not str(c).startswith("_")]
        hint = ""
        if len(cols) == 1 and any(s in str(cols[0]) for s in (";", ",", "|", "\t")):
            hint = " (the whole header is one column: wrong separator?)"
        raise InputError(
            f"{path}: missing required column with the INSEE commune code{hint}; columns found: "
            f"{[str(c) for c in cols][:25]}; expected one of 'Code INSEE Commune', 'insee_com', "
            "'code_insee', 'insee', 'codgeo'"
        )
    raw = df["insee_com"]
    codes = normalize_insee(raw)
    bad = codes.isna()
    if bad.any():
        value = raw[bad].iloc[0]
        raise InputError(
            f"{path}: {_row_labels(df, bad)}, column 'insee_com': {value!r} is not an INSEE commune "
            "code (5 characters such as '01053' or '2A004'); correct or remove the row"
        )
    fixed = codes.astype(str) != raw.astype(str).str.strip()
    if fixed.any():
        report.add(
            "INSEE code repaired", "insee_com", list(codes[fixed]),
            "codes exported as numbers lost their leading zero or case (e.g. 1053 → 01053); restored",
        )
    df = df.copy()
    df["insee_com"] = codes.astype(str)
    dup = df["insee_com"].duplicated(keep=False)
    if dup.any():
        payload = df.drop(columns=[c for c in df.columns if c.startswith("_")])
        exact = payload.duplicated(keep="first")
        conflicting = dup & ~payload.duplicated(keep=False)
        if conflicting.any():
            code = df.loc[conflicting, "insee_com"].iloc[0]
            raise InputError(
                f"{path}: {_row_labels(df, df['insee_com'].eq(code))}: INSEE code {code} appears more "
                "than once with different values; keep one row per commune"
            )
        report.add(
            "duplicate row removed", "insee_com", list(df.loc[exact, "insee_com"]),
            "identical rows repeated in the file; one kept",
        )
        keep = ~exact.to_numpy()
        rows = [r for r, k in zip(df.attrs.get("_rows", []), keep, strict=False) if k]
        df = df[keep]
        df.attrs["_rows"] = rows
    return df


def _finish_cities(df: pd.DataFrame, path: Path, report: RepairLog) -> pd.DataFrame:
    ref = _reference_communes()
    deps = _departements()
    codes = df["insee_com"]
    out = pd.DataFrame(index=pd.Index(codes.to_numpy(), name="insee_com"))
    out["territory"] = [territory_of(c) for c in codes]
    dep = codes.map(insee_department)
    out["code_dep"] = dep.to_numpy()
    if "code_dep_raw" in df:
        raw = df["code_dep_raw"].astype("string").str.strip().str.zfill(2).to_numpy()
        given = pd.Series(raw, index=out.index)
        differs = given.notna() & (given != out["code_dep"])
        if differs.any():
            region_codes = out["code_dep"].map(deps["code_reg"])
            holds_region = differs & (given == region_codes)
            if holds_region.any():
                report.add(
                    "Code_DEP holds the region code", "code_dep", list(out.index[holds_region]),
                    "the file's department column holds the region code (e.g. Landes → 75); the "
                    "department was derived from the INSEE code",
                )
            other = differs & ~holds_region
            if other.any():
                report.add(
                    "department code corrected", "code_dep", list(out.index[other]),
                    "the file's department code disagrees with the INSEE code; derived from the INSEE code",
                )
    out["code_reg"] = out["code_dep"].map(deps["code_reg"])
    if "code_reg" in df:
        given_reg = pd.Series(df["code_reg"].to_numpy(), index=out.index).astype("string").str.zfill(2)
        out["code_reg"] = out["code_reg"].fillna(given_reg)

    def text(col: str) -> pd.Series:
        return pd.Series(df[col].to_numpy(), index=out.index, dtype=object) if col in df else pd.Series(
            None, index=out.index, dtype=object
        )

    in_ref = out.index.isin(ref.index)
    out["commune"] = text("commune").fillna(pd.Series(ref["nom_com"].reindex(out.index).to_numpy(), index=out.index))
    out["departement"] = text("departement").fillna(out["code_dep"].map(deps["departement"]))
    out["region"] = text("region").fillna(out["code_reg"].map(deps["region"]))

    ref_epci = pd.Series(ref["siren_epci"].reindex(out.index).to_numpy(), index=out.index, dtype=object)
    if "siren_epci" in df:
        siren = normalize_siren(text("siren_epci"))
        fixed = siren.notna() & (siren != text("siren_epci").astype(str).str.strip())
        if fixed.any():
            report.add("SIREN repaired", "siren_epci", list(out.index[fixed]),
                       "SIRENs exported as numbers (e.g. 200070993.0) restored to 9-character text")
        missing = siren.isna()
        if missing.any():
            siren = siren.where(~missing, ref_epci)
            report.add("EPCI SIREN from reference", "siren_epci", list(out.index[missing & ref_epci.notna()]),
                       "missing EPCI SIREN taken from the commune reference (IGN 2025 / DGCL)")
        differs = siren.notna() & ref_epci.notna() & (siren != ref_epci)
        if differs.any():
            report.add(
                "EPCI SIREN differs from reference", "siren_epci", list(out.index[differs]),
                "the file's EPCI SIREN is not the one of the commune reference (IGN 2025 / DGCL 2023); "
                "the file's value is kept",
            )
    else:
        siren = ref_epci
        report.add("EPCI SIREN from reference", "siren_epci", None,
                   "the file has no EPCI SIREN column: taken from the commune reference (IGN 2025 / DGCL)")
    out["siren_epci"] = siren
    epci_names = _epci_names()
    out["epci"] = text("epci").fillna(out["siren_epci"].map(epci_names))
    pop = pd.to_numeric(text("population"), errors="coerce")
    ref_pop = pd.to_numeric(pd.Series(ref["population_municipale"].reindex(out.index).to_numpy(), index=out.index))
    out["population"] = pop.fillna(ref_pop).round().astype("Int64")
    out["id_acv"] = text("id_acv")
    out["lib_acv"] = text("lib_acv")

    # open-data flags as published in the file (CDC dataset)
    if "opendata_raw" in df:
        flag = _parse_oui_non(text("opendata_raw"), df, path, "Opendata_COM_EPCI")
        has_com = text("siren_com_opendata").notna() | text("url_portail_com").notna() | text(
            "url_datagouv_com").notna()
        has_epci = text("siren_epci_opendata").notna() | text("url_portail_epci").notna() | text(
            "url_datagouv_epci").notna()
        out["opendata"] = flag
        out["opendata_com"] = pd.array(np.where(flag.isna(), None, flag.fillna(False) & has_com), dtype="boolean")
        out["opendata_epci"] = pd.array(np.where(flag.isna(), None, flag.fillna(False) & has_epci), dtype="boolean")
        unexplained = flag.fillna(False) & ~has_com & ~has_epci
        if unexplained.any():
            report.add(
                "OUI without publisher", "opendata", list(out.index[unexplained]),
                "flag OUI but no commune or EPCI portal named: opendata_com/opendata_epci left False",
            )
        for col in ("url_portail_com", "url_datagouv_com", "url_portail_epci", "url_datagouv_epci", "techno_epci",
                    "themes_epci"):
            out[col] = text(col)
        out["techno_com"] = pd.Series(None, index=out.index, dtype=object)
        out["opendata_source"] = f"file: {path.name}"
        out["opendata_level"] = _level(out)
    lon, lat, source = _positions(df.assign(territory=out["territory"].to_numpy()), path, report, ref)
    out["position_source"] = source
    out["_lon"], out["_lat"] = lon, lat
    if (~in_ref).any():
        report.add(
            "commune not in 2025 reference", "insee_com", list(out.index[~in_ref]),
            "code absent from the 2025 commune list (merged or renamed commune?): kept, with the file's data",
        )
    return out


def _level(out: pd.DataFrame) -> pd.Series:
    com = out["opendata_com"].fillna(False).astype(bool)
    epci = out["opendata_epci"].fillna(False).astype(bool)
    level = np.where(com, "commune", np.where(epci, "epci", "none"))
    level = pd.Series(level, index=out.index, dtype=object)
    return level.where(out["opendata"].notna(), None)


@functools.lru_cache(maxsize=1)
def _epci_names() -> pd.Series:
    import pyogrio

    df = pyogrio.read_dataframe(get_path("epci"), columns=["siren_epci", "nom_epci"], read_geometry=False)
    return df.set_index("siren_epci")["nom_epci"]


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


# --------------------------------------------------------------------------------------------
# public readers


def read_acv(
    source: str | os.PathLike | None = None,
    *,
    observatory: str | os.PathLike | None = "odater_2022",
    previous: str | os.PathLike | None = "odater_2020",
    epci: Any = None,
    encoding: str | None = None,
):
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
        (:func:`repair_report`).

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
    raw = _read_raw(path, encoding, report)
    df = _canonical_columns(raw, path, report)
    df = _normalise_cities(df, path, report)
    out = _finish_cities(df, path, report)
    if "date_signature" in df:
        out["date_signature"] = df["date_signature"].to_numpy()
    geom = gpd.points_from_xy(out.pop("_lon"), out.pop("_lat"), crs=4326)
    cities = gpd.GeoDataFrame(out, geometry=geom, crs=4326)
    if epci is None:
        epci = read_epci()
    cities["epci_check"] = _check_epci(cities, epci, report)
    if "opendata" not in cities and observatory is not None:
        from acv_geo.read.opendata import opendata_status

        cities = opendata_status(cities, observatory=observatory, previous=previous)
        for entry in cities.attrs.get(_REPAIRS, []):
            report.rows.append(entry)
    for col in CITY_COLUMNS:
        if col not in cities:
            cities[col] = pd.array([pd.NA] * len(cities), dtype="boolean") if col.startswith(
                "opendata_c") or col in ("opendata", "opendata_epci") else None
    extra = [c for c in cities.columns if c not in CITY_COLUMNS and c != "geometry"]
    cities = cities[CITY_COLUMNS + extra + ["geometry"]]
    cities.attrs[_REPAIRS] = list(report.rows)
    return cities


def _read_layer(path: Path, layer: str | None, what: str):
    import geopandas as gpd
    import pyogrio

    _check_file(path)
    try:
        gdf = gpd.read_parquet(path) if path.suffix.lower() == ".parquet" else gpd.read_file(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise InputError(f"{path}: cannot read {what} ({exc}); give a GeoPackage, Shapefile, GeoJSON, "
                         "FlatGeobuf or GeoParquet file") from None
    if gdf.crs is not None and len(gdf):
        check_extent(gdf.total_bounds, gdf.crs, source=str(path))
    return gdf


def _finish_polygons(gdf, path: Path, key: str, key_aliases: tuple[str, ...], report: RepairLog, what: str):
    import shapely

    if len(gdf) == 0:
        raise InputError(f"{path}: the {what} layer has no feature")
    if gdf.crs is None:
        raise InputError(f"{path}: the {what} layer has no CRS; assign one (e.g. ogr2ogr -a_srs EPSG:2154)")
    cols = {slugify(c): c for c in gdf.columns if c != gdf.geometry.name}
    found = next((cols[a] for a in key_aliases if a in cols), None)
    if found is None:
        raise InputError(
            f"{path}: no {key} column among {list(cols.values())[:25]}; expected one of {list(key_aliases)}"
        )
    norm = normalize_insee if key == "insee_com" else normalize_siren
    codes = norm(gdf[found])
    if codes.isna().any():
        i = int(np.flatnonzero(codes.isna().to_numpy())[0])
        raise InputError(f"{path}: feature {i + 1}, column {found!r}: {gdf[found].iloc[i]!r} is not a valid {key}")
    gdf = gdf.drop(columns=[found]).assign(**{key: codes.astype(str).to_numpy()})
    dup = gdf[key].duplicated()
    if dup.any():
        raise InputError(f"{path}: {key} {gdf.loc[dup, key].iloc[0]} appears in more than one feature; "
                         "dissolve the layer by that code first")
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    if empty.any():
        report.add("feature without geometry", "geometry", list(gdf.loc[empty, key]),
                   "features without geometry kept with an empty geometry")
    invalid = ~empty & ~gdf.geometry.is_valid
    if invalid.any():
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = shapely.make_valid(gdf.geometry[invalid].to_numpy())
        report.add("invalid geometry repaired", "geometry", list(gdf.loc[invalid, key]),
                   f"{int(invalid.sum())} invalid polygons repaired with make_valid")
    gdf = gdf.set_index(key)
    if gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    gdf.attrs[_REPAIRS] = list(report.rows)
    return gdf


def read_communes(source: str | os.PathLike | None = None, *, layer: str | None = None, codes=None):
    """Read commune polygons indexed by INSEE code.

    Parameters
    ----------
    source : str or path-like, optional
        ``None`` for the embedded polygons of the 244 ACV communes (IGN ADMIN EXPRESS COG 2025), or
        any OGR-readable polygon layer (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet) with
        an INSEE column (``insee_com``, ``INSEE_COM``, ``code_insee``, ``codgeo``…).
    layer : str, optional
        Layer name in a multi-layer file.
    codes : iterable of str, optional
        Keep only these INSEE codes (normalised first); codes not found are reported.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``insee_com``, EPSG:4326 polygons, the layer's attributes plus ``territory``.

    Raises
    ------
    acv_geo.InputError
        Missing INSEE column, layer without CRS, duplicate codes, empty layer.

    Examples
    --------
    >>> import acv_geo
    >>> com = acv_geo.read_communes()
    >>> len(com), com.loc["2A004", "territory"]
    (244, 'metropole')
    """
    path = Path(source) if source is not None else get_path("acv_communes_polygons")
    report = RepairLog(str(path) if source is not None else "embedded ACV commune polygons")
    gdf = _read_layer(path, layer, "commune")
    gdf = _finish_polygons(gdf, path, "insee_com", _ALIASES["insee_com"], report, "commune")
    if codes is not None:
        wanted = [normalize_insee(c) for c in codes]
        missing = [c for c in wanted if c not in gdf.index]
        if missing:
            report.add("commune not found", "insee_com", missing, "codes asked for but absent from the layer")
        gdf = gdf.loc[[c for c in wanted if c in gdf.index]]
    gdf["territory"] = [territory_of(c) for c in gdf.index]
    gdf.attrs[_REPAIRS] = list(report.rows)
    return gdf


def read_epci(source: str | os.PathLike | None = None, *, layer: str | None = None):
    """Read EPCI polygons indexed by SIREN.

    Parameters
    ----------
    source : str or path-like, optional
        ``None`` for the embedded 1,255 EPCI à fiscalité propre of 2025 (IGN ADMIN EXPRESS COG CARTO,
        mainland and overseas at true positions), or any OGR-readable polygon layer with a SIREN
        column (``siren_epci``, ``SIREN``, ``CODE_SIREN``…).
    layer : str, optional
        Layer name in a multi-layer file.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``siren_epci`` (9-character text), EPSG:4326 polygons, the layer's attributes plus
        ``territory``.

    Raises
    ------
    acv_geo.InputError
        Missing SIREN column, layer without CRS, duplicate SIRENs, empty layer.

    Examples
    --------
    >>> import acv_geo
    >>> epci = acv_geo.read_epci()
    >>> len(epci), epci.loc["245701362", "nom_epci"]
    (1255, 'CA Portes de France-Thionville')
    """
    import shapely

    path = Path(source) if source is not None else get_path("epci")
    report = RepairLog(str(path) if source is not None else "embedded EPCI polygons")
    gdf = _read_layer(path, layer, "EPCI")
    aliases = ("siren_epci", "siren", "code_siren", "epci_siren", "code_epci", "siren_groupement")
    gdf = _finish_polygons(gdf, path, "siren_epci", aliases, report, "EPCI")
    # territory from the polygon's position (an EPCI SIREN does not say where it is)
    pts = shapely.point_on_surface(gdf.geometry.to_numpy())
    terr = territory_of_areas(pts, gdf.index, source=report.path, what="EPCI polygon", key="SIREN")
    gdf["territory"] = terr
    gdf.attrs[_REPAIRS] = list(report.rows)
    return gdf


def read_all_communes(*, observatory: str | os.PathLike | None = "odater_2022", previous=None):
    """Every French commune (34,867, COG 2025) as points, shaped like :func:`read_acv`.

    Use it to compare the ACV towns with all communes: the indicator and cluster functions take it
    as ``cities`` (commune zones then need a national commune polygon layer, e.g.
    ``acv_geo.read_communes("COMMUNE.shp")`` from IGN ADMIN EXPRESS, see ``acv-geo fetch``).

    Parameters
    ----------
    observatory : str or path-like or None, default ``"odater_2022"``
        Observatory export for the open-data columns (see :func:`acv_geo.opendata_status`);
        ``None`` leaves them NA.
    previous : str or path-like or None, default None
        Earlier export for the change columns.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``insee_com``; EPSG:4326 representative points (inside each commune polygon);
        columns ``commune, siren_epci, epci, region, departement, code_dep, code_reg, territory,
        population, siren_com, acv`` (True for the 244 ACV towns) and the open-data columns.

    Examples
    --------
    >>> import acv_geo
    >>> allc = acv_geo.read_all_communes()
    >>> len(allc), int(allc["acv"].sum()), allc.loc["2B033", "territory"]
    (34867, 244, 'metropole')
    """
    import geopandas as gpd

    ref = _reference_communes()
    deps = _departements()
    out = pd.DataFrame(index=ref.index.copy())
    out.index.name = "insee_com"
    out["commune"] = ref["nom_com"]
    out["siren_epci"] = ref["siren_epci"]
    out["epci"] = out["siren_epci"].map(_epci_names())
    out["code_dep"] = ref["insee_dep"]
    out["code_reg"] = ref["insee_reg"]
    out["departement"] = out["code_dep"].map(deps["departement"])
    out["region"] = out["code_reg"].map(deps.drop_duplicates("code_reg").set_index("code_reg")["region"])
    out["territory"] = [territory_of(c) for c in out.index]
    out["population"] = pd.to_numeric(ref["population_municipale"]).round().astype("Int64")
    out["siren_com"] = ref["siren_com"]
    acv = pd.read_csv(get_path("acv_communes"), dtype=str)["insee_com"]
    out["acv"] = out.index.isin(set(acv))
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(ref["lon"], ref["lat"]), crs=4326)
    if observatory is not None:
        from acv_geo.read.opendata import opendata_status

        gdf = opendata_status(gdf, observatory=observatory, previous=previous)
    return gdf


def read_polygons(source: str | os.PathLike, *, key: str | None = None, layer: str | None = None):
    """Read a polygon layer whose every polygon is a zone: communes, EPCIs, or any areas.

    Parameters
    ----------
    source : str or path-like
        Any OGR-readable polygon layer (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet).
    key : str, optional
        Field identifying each polygon (unique values), kept as the index. Default: an INSEE column
        (``insee_com``, ``code_insee``…: read as communes, see :func:`read_communes`), else a SIREN
        column (read as EPCIs, see :func:`read_epci`).
    layer : str, optional
        Layer name in a multi-layer file.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, str)
        The polygons (index ``insee_com``, ``siren_epci`` or ``key``) and their kind for
        :func:`acv_geo.polygon_zones`: ``"commune"``, ``"epci"`` or ``"polygon"``.

    Raises
    ------
    acv_geo.InputError
        No identifying field (the message lists the fields), a missing or non-unique ``key``, a layer
        without CRS or without feature.

    Examples
    --------
    >>> import acv_geo
    >>> polygons, kind = read_polygons(acv_geo.get_path("acv_communes_polygons"))
    >>> len(polygons), polygons.index.name, kind
    (244, 'insee_com', 'commune')
    """
    import pyogrio

    path = Path(source)
    _check_file(path)
    if key is None:
        try:
            fields = [slugify(f) for f in pyogrio.read_info(path, layer=layer)["fields"]]
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise InputError(f"{path}: cannot read the polygon layer ({exc}); give a GeoPackage, Shapefile, "
                             "GeoJSON or FlatGeobuf file") from None
        if any(a in fields for a in _ALIASES["insee_com"]):
            return read_communes(path, layer=layer), "commune"
        if any(a in fields for a in ("siren_epci", "siren", "code_siren", "epci_siren", "code_epci")):
            return read_epci(path, layer=layer), "epci"
        raise InputError(f"{path}: no INSEE or SIREN field among {fields[:25]}; name the field that identifies "
                         "each polygon (CLI --zones-id FIELD, Python key=)")
    gdf = _read_layer(path, layer, "polygon")
    if key not in gdf.columns:
        raise InputError(f"{path}: no field {key!r}; fields: {[c for c in gdf.columns if c != 'geometry'][:25]}")
    if len(gdf) == 0:
        raise InputError(f"{path}: the polygon layer has no feature")
    if gdf.crs is None:
        raise InputError(f"{path}: the polygon layer has no CRS; assign one (e.g. ogr2ogr -a_srs EPSG:2154)")
    ids = gdf[key].astype(str)
    if gdf[key].isna().any() or ids.duplicated().any():
        bad = ids[gdf[key].isna() | ids.duplicated(keep=False)].unique().tolist()[:5]
        raise InputError(f"{path}: field {key!r} must identify each polygon once; empty or repeated values {bad}")
    return gdf.drop(columns=[key]).set_index(pd.Index(ids.to_numpy(), name=key)), "polygon"
