"""GASPAR (Géorisques) per-commune tables: risks known, PPRN, flood atlases, TRI, DICRIM and CatNat decrees.

GASPAR (« Gestion ASsistée des Procédures Administratives relatives aux Risques », DGPR) is published
as one national archive, ``https://files.georisques.fr/GASPAR/gaspar.zip`` (Licence Ouverte), updated
weekly, holding one ``;``-separated CSV per table. :func:`read_gaspar` reads one table from the
extracted folder, the zip itself or a single CSV; the ``*_indicators`` functions turn the tables into
per-city indicators indexed exactly like ``cities`` (``insee_com``, same order, one row per city).

Coverage
--------
GASPAR claims national coverage. Within one extract, a commune GASPAR knows (listed in its risk table
``risq``/``ddrm_risq`` or in its CatNat table) but absent from, say, the DICRIM table has no DICRIM
recorded: ``False`` / ``0``. A city GASPAR does not know at all (a commune created or merged after the
extract) gets ``<NA>`` and a ``*_reason`` naming the files read: no value is guessed. When a single
CSV that is not named like a GASPAR table is given, only that file is known, so every city it does not
list gets ``<NA>`` and the reason.

Headers relied on, and where they were found
--------------------------------------------
GASPAR changed its export around 2025-2026 (the exact date was not found): files are now dated
(``catnat_gaspar_2026-09-21.csv``), the risk table became ``ddrm_risq_gaspar_<date>.csv``, the CatNat
columns were renamed and the PPRN table took upper-case headers with spaces. Both shapes are accepted;
headers are matched case- and accent-insensitively (:func:`acv_geo.core.codes.slugify`). Sources: public code
reading the real files, found with the project's code search; the data.gouv.fr page « Base nationale de
Gestion ASsistée des Procédures Administratives relatives aux Risques (GASPAR) » and the publisher's
data dictionary were not in the searchable corpus:

* ``catnat_gaspar.csv`` (to 2024): ``cod_nat_catnat;cod_commune;lib_commune;num_risque_jo;
  lib_risque_jo;dat_deb;dat_fin;dat_pub_arrete;dat_pub_jo;dat_maj``, dates ``YYYY-MM-DD HH:MM:SS`` —
  several independent repositories (a column description of the file with a link to data.gouv.fr;
  test fixtures copying the header; R and miller scripts parsing ``%Y-%m-%d %H:%M:%S``).
  ``catnat_gaspar_<date>.csv`` (2025-2026): ``id_gaspar;code_commune;libelle_commune;num_risque_jo;
  lib_risque_jo;date_debut;date_fin;date_signature_arrete;date_publication_jo;date_modification``
  (a Go test fixture of the 2026 archive, and an ETL flow reading ``code_commune``, ``id_gaspar``,
  ``date_publication_jo``, ``date_signature_arrete``).
* ``risq_gaspar.csv`` / ``ddrm_risq_gaspar_<date>.csv``: ``cod_commune;lib_commune;num_risque;
  lib_risque`` (a column description of risq_gaspar.csv; a 2026 TypeScript reader of
  ``ddrm_risq_gaspar_*``). The codes are those of ``data/ddrm_risk_codes_gaspar.csv``.
* ``pprn_gaspar.csv`` (to 2024): ``cod_nat_pprn, lib_bassin_risques, num_risque, lib_risque,
  cod_commune, lib_commune, cod_ppr, dat_prescription, dat_approbation, dat_modification,
  dat_annulation, dat_deprescription, dat_appli_ant, dat_annexion_plu…`` (SQL and R scripts reading the
  file; the order of the columns and the full list were **not** confirmed). Its ``num_risque`` uses
  another numbering than the DDRM codes (140 flood, 131 torrential lava…), so only the labels are used.
  ``pprn_gaspar_<date>.csv`` (2025-2026): ``CODE MODELE;LIBELLE MODELE;CODE PROECEDURE`` (sic) ``;
  LIBELLE PROCEDURE;…;CODE INSEE COMMUNE;NOM COMMUNE;CODE RISQUE 1;LIBELLE RISQUE 1;CODE RISQUE 2;
  LIBELLE RISQUE 2;CODE RISQUE 2`` (sic, the third risk code) ``;LIBELLE RISQUE 3;…;PRESCRIPTION;…;
  APPLIC_ANTIC;DEPRESCRIPTION;APPROBATION;ANNULATION;ABROGATION;LIBELLE ETAT;DATE ETAT;
  LIBELLE SOUS-ETAT;DATE SOUS-ETAT;DATE DERNIERE MISE A JOUR`` (fixture ``pprn_gaspar.csv`` and
  ``schema.py`` of the GASPAR PPRN adapter of ``warp-oss-org/civix``, 2026-05; a TypeScript and a
  Python reader of the 2026 archive). States
  ``Opposable``/``Prescrit``/``Caduque``, sub-states ``Approuvé``/``Anticipé``/``Prescrit``/
  ``Déprescrit``/``Abrogé``.
* ``azi_gaspar.csv``: ``cod_nat_azi;lib_azi;lib_bassin_risque;list_risques;cod_commune;lib_commune;
  dat_program_deb;dat_program_fin;dat_etu_deb;dat_etu_fin;dat_info_deb;dat_info_fin;dat_realisation;
  dat_diffusion;dat_pub_net`` (an SQL model selecting every column of the file). The 2025-2026 names
  are **not** confirmed: ``id_gaspar``, ``libelle``, ``code_commune`` are accepted as well.
* ``dicrim_gaspar.csv``: ``cod_commune``, ``lib_commune``, ``dat_publi_dicrim`` (readers of the 2024
  and 2026 archives); ``cod_nat_dicrim`` from an older schema (a Tryton « portrait » module mapping
  the GASPAR tables, 2013).
* ``tri_gaspar.csv``: **not found** in any public reader; the national archive of 2024-2026 seems to
  hold no TRI table (readers list catnat, risq/ddrm_risq, pprn, pprm, pprt, azi, dicrim, tim). The
  plausible names are accepted: ``cod_commune``/``code_commune``/``code_insee``,
  ``cod_nat_tri``/``code_national_tri``/``id_tri``, ``lib_tri``/``libelle_tri`` (the older GASPAR schema
  and the Géorisques API ``/gaspar/tri``).

INSEE codes that lost their leading zero (``1001``) are restored (``01001``); Corsican codes
(``2A004``) are kept. Dates may be ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS``, ``DD/MM/YYYY`` or empty
(:func:`acv_geo.indicators.tables.parse_dates`; the time of day is ignored). Files are UTF-8 (a byte-order mark
is accepted); a Windows-1252 file is decoded as such and the repair logged. Repairs are in
``attrs["acv_geo_repairs"]`` (:func:`acv_geo.repair_report`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import fnmatch
import functools
import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.codes import slugify
from acv_geo.core.datasets import get_path
from acv_geo.core.errors import InputError
from acv_geo.core.metadata import assign_role, attach_metadata, merge_metadata
from acv_geo.indicators.tables import (
    CATNAT_GROUPS,
    RISK_FAMILIES,
    _city_codes,
    _code_key,
    _int,
    _lines,
    _meta,
    _normalise_codes,
    _repair,
    catnat_indicators,
    parse_dates,
    read_table,
)

__all__ = [
    "GASPAR_TABLES",
    "PPRN_FAMILIES",
    "azi_indicators",
    "catnat_gaspar_indicators",
    "is_gaspar_catnat",
    "dicrim_indicators",
    "gaspar_indicators",
    "pprn_indicators",
    "read_gaspar",
    "risq_indicators",
    "tri_indicators",
]

log = logging.getLogger(__name__)

_REPAIRS = "acv_geo_repairs"
_URL = "https://files.georisques.fr/GASPAR/gaspar.zip"
_LICENCE = "Licence Ouverte"

#: The GASPAR tables read by :func:`read_gaspar`.
GASPAR_TABLES: tuple[str, ...] = ("risq", "pprn", "azi", "tri", "dicrim", "catnat")

#: File names of each table (case-insensitive patterns; dated names in the recent exports).
GASPAR_FILES: dict[str, tuple[str, ...]] = {
    "risq": ("risq_gaspar*.csv", "ddrm_risq_gaspar*.csv"),
    "pprn": ("pprn_gaspar*.csv",),
    "azi": ("azi_gaspar*.csv",),
    "tri": ("tri_gaspar*.csv",),
    "dicrim": ("dicrim_gaspar*.csv",),
    "catnat": ("catnat_gaspar*.csv",),
}

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

# canonical column -> published headers accepted (matched by slug), first found wins
_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "risq": {
        "insee_com": ("cod_commune", "code_commune", "code_insee", "CODE INSEE COMMUNE", "insee_com"),
        "risk_code": ("num_risque", "code_risque", "num_risque_gaspar"),
        "risk_label": ("lib_risque", "libelle_risque", "lib_risque_long", "libelle_risque_long"),
    },
    "catnat": {
        "insee_com": ("cod_commune", "code_commune", "code_insee", "CODE INSEE COMMUNE", "insee_com"),
        "decree_id": ("cod_nat_catnat", "id_gaspar", "code_national_catnat"),
        "commune_name": ("lib_commune", "libelle_commune", "nom_commune"),
        "peril_code": ("num_risque_jo", "code_risque_jo", "cod_risque_jo"),
        "peril_label": ("lib_risque_jo", "libelle_risque_jo"),
        "event_start": ("dat_deb", "date_debut", "date_debut_evt", "date_debut_evenement"),
        "event_end": ("dat_fin", "date_fin", "date_fin_evt", "date_fin_evenement"),
        "decree_date": ("dat_pub_arrete", "date_signature_arrete", "date_publication_arrete", "dat_arrete"),
        "jo_date": ("dat_pub_jo", "date_publication_jo"),
        "updated_on": ("dat_maj", "date_modification", "date_maj"),
    },
    "pprn": {
        "insee_com": ("cod_commune", "CODE INSEE COMMUNE", "code_commune", "code_insee"),
        "procedure_id": ("cod_nat_pprn", "CODE PROECEDURE", "CODE PROCEDURE", "id_gaspar", "code_national_pprn"),
        "procedure_name": ("lib_pprn", "LIBELLE PROCEDURE", "lib_procedure", "libelle_pprn"),
        "model_code": ("CODE MODELE",),
        "model_label": ("cod_ppr", "LIBELLE MODELE", "lib_ppr", "typ_pprn"),
        "risk_code": ("num_risque",),
        "risk_label": ("lib_risque", "list_lib_risque_long", "lib_risque_long", "libelle_risque"),
        "risk_code_1": ("CODE RISQUE 1",),
        "risk_label_1": ("LIBELLE RISQUE 1",),
        "risk_code_2": ("CODE RISQUE 2",),
        "risk_label_2": ("LIBELLE RISQUE 2",),
        "risk_code_3": ("CODE RISQUE 3",),
        "risk_label_3": ("LIBELLE RISQUE 3",),
        "state": ("LIBELLE ETAT", "lib_etat", "etat"),
        "substate": ("LIBELLE SOUS-ETAT", "lib_sous_etat"),
        "prescribed_on": ("dat_prescription", "PRESCRIPTION", "date_prescription"),
        "anticipated_on": ("dat_appli_ant", "APPLIC_ANTIC", "date_application_anticipee"),
        "approved_on": ("dat_approbation", "APPROBATION", "date_approbation"),
        "deprescribed_on": ("dat_deprescription", "DEPRESCRIPTION", "date_deprescription"),
        "cancelled_on": ("dat_annulation", "ANNULATION", "date_annulation"),
        "repealed_on": ("dat_abrogation", "ABROGATION", "dat_abrog", "date_abrogation"),
    },
    "azi": {
        "insee_com": ("cod_commune", "code_commune", "code_insee", "CODE INSEE COMMUNE"),
        "atlas_id": ("cod_nat_azi", "id_gaspar", "code_national_azi"),
        "atlas_name": ("lib_azi", "libelle", "libelle_azi", "nom_azi"),
        "basin": ("lib_bassin_risque", "lib_bassin_risques", "libelle_bassin_risques"),
        "risks": ("list_risques", "liste_libelle_risque", "list_lib_risque_long"),
        "released_on": ("dat_diffusion", "date_diffusion"),
        "made_on": ("dat_realisation", "date_realisation"),
    },
    "tri": {
        "insee_com": ("cod_commune", "code_commune", "code_insee", "CODE INSEE COMMUNE"),
        "tri_id": ("cod_nat_tri", "code_national_tri", "id_tri", "id_gaspar"),
        "tri_name": ("lib_tri", "libelle_tri", "nom_tri", "libelle"),
        "approved_on": ("dat_arrete_approb", "date_arrete_approbation", "dat_arrete_approbation"),
    },
    "dicrim": {
        "insee_com": ("cod_commune", "code_commune", "code_insee", "CODE INSEE COMMUNE"),
        "dicrim_id": ("cod_nat_dicrim", "id_gaspar"),
        "published_on": ("dat_publi_dicrim", "date_publication_dicrim", "date_publication", "dat_publication"),
    },
}

# groups of canonical columns: at least one of each group must be present
_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "risq": (("insee_com",), ("risk_code", "risk_label")),
    "catnat": (("insee_com",), ("peril_label", "peril_code"), ("event_start",), ("decree_id", "decree_date")),
    "pprn": (
        ("insee_com",),
        ("risk_label", "risk_label_2", "risk_label_3", "risk_code_2", "risk_code_3", "model_label"),
        ("state", "approved_on", "prescribed_on"),
    ),
    "azi": (("insee_com",), ("atlas_id", "atlas_name")),
    "tri": (("insee_com",), ("tri_id", "tri_name")),
    "dicrim": (("insee_com",), ("published_on",)),
}

_DATES: dict[str, tuple[str, ...]] = {
    "risq": (),
    "catnat": ("event_start", "event_end", "decree_date", "jo_date", "updated_on"),
    "pprn": ("prescribed_on", "anticipated_on", "approved_on", "deprescribed_on", "cancelled_on", "repealed_on"),
    "azi": ("released_on", "made_on"),
    "tri": ("approved_on",),
    "dicrim": ("published_on",),
}

_HEADER_EXAMPLE = {
    "risq": "cod_commune;lib_commune;num_risque;lib_risque",
    "catnat": "cod_nat_catnat;cod_commune;lib_commune;num_risque_jo;lib_risque_jo;dat_deb;dat_fin;…",
    "pprn": "CODE MODELE;LIBELLE MODELE;CODE PROECEDURE;…;CODE INSEE COMMUNE;…",
    "azi": "cod_nat_azi;lib_azi;lib_bassin_risque;list_risques;cod_commune;lib_commune;…",
    "tri": "cod_nat_tri;lib_tri;…;cod_commune;lib_commune;…",
    "dicrim": "cod_commune;lib_commune;dat_publi_dicrim",
}

#: The GASPAR tables that list (nearly) every commune: they tell which communes GASPAR knows.
_UNIVERSE_TABLES = ("risq", "catnat")


class _MissingTable(InputError):
    """The archive or folder has no file for the requested table."""


# --------------------------------------------------------------------------------------------
# locating and parsing the files


def _table_of_name(name: str) -> str | None:
    low = name.lower()
    for table in GASPAR_TABLES:
        if any(fnmatch.fnmatch(low, pat) for pat in GASPAR_FILES[table]):
            return table
    return None


def _file_date(name: str) -> str:
    m = re.search(r"(\d{4}-\d{2}-\d{2})", name)
    return m.group(1) if m else ""


def _pick(names: list[str], table: str, where: str, repairs: list) -> str:
    """The newest of several files of one table (by the date in the name, then the name)."""
    names = sorted(names, key=lambda n: (_file_date(Path(n).name), n))
    if len(names) > 1:
        _repair(
            repairs,
            "several files",
            "",
            names,
            f"{len(names)} files hold the {table} table; the newest, {names[-1]}, was read",
            where,
        )
    return names[-1]


@dataclass
class _Table:
    """One parsed GASPAR table (canonical columns, ``_line`` = the CSV line of each row)."""

    df: pd.DataFrame
    label: str
    name: str
    date: str
    repairs: list


class _Extract:
    """A GASPAR extract: a folder, a zip, or a CSV file (with its folder when named like a GASPAR table)."""

    def __init__(self, source: Any) -> None:
        if not isinstance(source, (str, os.PathLike)):
            raise InputError(f"GASPAR source must be a folder, a .zip or a .csv path, not {type(source).__name__}")
        path = Path(source).expanduser()
        if not path.exists() and str(source).strip().lower() == "gaspar":
            from acv_geo.sources.cache import source_info  # the catalogue name: the fetched, extracted archive

            path = source_info("gaspar").manifest.parent / "files"
        if not path.exists():
            raise FileNotFoundError(
                f"{path}: GASPAR source not found; give the extracted folder, gaspar.zip or a *_gaspar.csv "
                f"file (`acv-geo fetch gaspar` downloads {_URL})"
            )
        self.path = path
        self.explicit: dict[str, Path] = {}
        self.single: Path | None = None
        self.zip: Path | None = None
        self.folder: Path | None = None
        self._cache: dict[str, _Table] = {}
        self._picked: dict[str, list] = {}  # repairs made while choosing among several files, per table
        self._located: dict[str, str | None] = {}
        if path.is_dir():
            self.folder = path
        elif path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
            self.zip = path
        else:
            table = _table_of_name(path.name)
            if table is None:
                self.single = path
            else:
                self.folder = path.parent
                self.explicit[table] = path

    # -- where a table is
    def _names(self) -> list[str]:
        if self.zip is not None:
            try:
                with zipfile.ZipFile(self.zip) as zf:
                    return [i.filename for i in zf.infolist() if not i.is_dir()]
            except zipfile.BadZipFile as exc:
                raise InputError(
                    f"{self.zip}: not a readable zip archive ({exc}); download it again (acv-geo fetch gaspar --force)"
                ) from None
        assert self.folder is not None
        return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if p.is_file())

    def locate(self, table: str) -> str | None:
        """Member name (zip), path (folder/file) of the table, or None."""
        if table in self.explicit:
            return str(self.explicit[table])
        if self.single is not None:
            return str(self.single)
        if table not in self._located:
            names = [n for n in self._names() if _table_of_name(PurePosixPath(n).name) == table]
            picked = _pick(names, table, str(self.path), self._picked.setdefault(table, [])) if names else None
            if picked is not None and self.zip is None:
                assert self.folder is not None  # no zip: a folder, as _names() above asserted
                picked = str(self.folder / picked)
            self._located[table] = picked
        return self._located[table]

    def missing(self, table: str) -> _MissingTable:
        names = self._names()
        shown = ", ".join(names[:15]) + (f", … ({len(names)} files)" if len(names) > 15 else "") or "none"
        kind = "zip archive" if self.zip is not None else "folder"
        hint = (
            "the national archive of 2024-2026 holds no TRI table; give the TRI table file itself"
            if table == "tri"
            else "download the archive again (acv-geo fetch gaspar --force)"
        )
        return _MissingTable(
            f"{self.path}: no GASPAR {table} table in this {kind}: looked for "
            f"{' or '.join(GASPAR_FILES[table])}; files found: {shown}; {hint}"
        )

    def table(self, table: str) -> _Table:
        """The parsed table (read once)."""
        if table not in self._cache:
            where = self.locate(table)
            if where is None:
                raise self.missing(table)
            if self.zip is not None:
                with zipfile.ZipFile(self.zip) as zf:
                    raw = zf.read(where)
                label, name = f"{self.zip}!{where}", PurePosixPath(where).name
            else:
                raw, label, name = Path(where).read_bytes(), where, Path(where).name
            repairs = list(self._picked.get(table, []))
            df = _parse(raw, label, name, table, repairs)
            self._cache[table] = _Table(df, label, name, _file_date(name), repairs)
        return self._cache[table]

    def known(self, table: str) -> tuple[set[str], list[str]]:
        """INSEE codes GASPAR knows (its risk and CatNat tables, and ``table``) and the files read."""
        own = self.table(table)
        codes = set(own.df["insee_com"].unique())
        files = [own.name]
        if self.single is None:
            for other in _UNIVERSE_TABLES:
                if other == table or self.locate(other) is None:
                    continue
                t = self.table(other)
                codes |= set(t.df["insee_com"].unique())
                files.append(t.name)
        return codes, files


def _parse(raw: bytes, label: str, name: str, table: str, repairs: list) -> pd.DataFrame:
    """Bytes of one GASPAR CSV -> canonical DataFrame (checks, decoding, codes and dates)."""
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    if not body.strip():
        raise InputError(
            f"{label}: the file is empty (no header line); a GASPAR {table} table starts with a header such as "
            f"{_HEADER_EXAMPLE[table]!r}; download the archive again (acv-geo fetch gaspar --force)"
        )
    first = body.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        header = first.decode("utf-8")
    except UnicodeDecodeError:
        header = first.decode("cp1252", errors="replace")
    if ";" not in header:
        found = [s for s in (",", "\t", "|") if s in header]
        how = f"separated by {found[0]!r}" if found else "not separated by ';'"
        raise InputError(
            f"{label}, line 1: the columns are {how}, expected ';' (GASPAR tables are ';'-separated); the header "
            f"reads {header[:120]!r}; use the file as published in {_URL}, or save it again with ';' between columns"
        )
    n_cols = len(next(csv.reader([header], delimiter=";")))
    df = _read_with_read_table(raw, label, name, table)
    if len(df.columns) != n_cols:
        raise InputError(
            f"{label}: the header has {n_cols} ';'-separated columns but the file was read as {len(df.columns)}; "
            "check that every line has the same number of ';' as the header"
        )
    for row in df.attrs.pop(_REPAIRS, []):  # e.g. "decoded as Windows-1252", logged by the decoder
        repairs.append({**row, "file": label})
    return _canonical(df, label, table, repairs)


def _read_with_read_table(raw: bytes, label: str, name: str, table: str) -> pd.DataFrame:
    what = f"GASPAR {table} table"
    if Path(label).is_file():
        df, _ = read_table(label, what=what)
        return df
    with tempfile.TemporaryDirectory(prefix="acv_geo_gaspar_") as tmp:
        path = Path(tmp) / (Path(name).name if name.lower().endswith(".csv") else "table.csv")
        path.write_bytes(raw)
        try:
            df, _ = read_table(path, what=what)
        except InputError as exc:
            raise InputError(str(exc).replace(str(path), label)) from None
    return df


def _canonical(df: pd.DataFrame, label: str, table: str, repairs: list) -> pd.DataFrame:
    spec = _COLUMNS[table]
    df = df.astype(object)  # plain Python cells: the per-cell steps below are much faster than on Arrow strings
    slugs: dict[str, str] = {}
    for c in df.columns:
        slugs.setdefault(slugify(c), c)
    if table == "pprn" and "code_risque_2_1" in slugs and "code_risque_3" not in slugs:
        # the 2025-2026 export repeats the header 'CODE RISQUE 2' for the third risk code
        slugs["code_risque_3"] = slugs.pop("code_risque_2_1")
        _repair(
            repairs,
            "header repaired",
            "CODE RISQUE 2",
            None,
            "the header 'CODE RISQUE 2' appears twice; the second one (before 'LIBELLE RISQUE 3') was read "
            "as 'CODE RISQUE 3'",
            label,
        )
    found: dict[str, str] = {}
    for canon, names in spec.items():
        hit = next((slugs[slugify(n)] for n in names if slugify(n) in slugs), None)
        if hit is not None:
            found[canon] = hit
    missing = [g for g in _REQUIRED[table] if not any(c in found for c in g)]
    if missing:
        expected = "; ".join(" or ".join(repr(n) for c in g for n in spec[c][:3]) for g in missing)
        raise InputError(
            f"{label}, line 1: not the GASPAR {table} table as published: missing column(s) {expected}; headers "
            f"found: {list(df.columns)}; expected a header such as {_HEADER_EXAMPLE[table]!r} (the {table} table "
            f"of {_URL})"
        )
    df = df.assign(_line=_lines(df, label))
    code_col = found["insee_com"]
    # as a category, each distinct code is normalised once (a national table repeats every code many times)
    df = _normalise_codes(df.assign(**{code_col: df[code_col].astype("category")}), code_col, label, repairs)
    renamed = {v: k for k, v in found.items() if k != "insee_com"}
    others = [c for c in df.columns if c not in found.values() and c not in ("insee_com", "_line")]
    out = pd.DataFrame({"_line": df["_line"].to_numpy(), "insee_com": df["insee_com"].to_numpy()}, index=df.index)
    for src, canon in renamed.items():
        out[canon] = df[src].to_numpy()
    for c in others:
        out[c] = df[c].to_numpy()
    for canon in _DATES[table]:
        if canon not in out.columns:
            continue
        dates, bad = parse_dates(out[canon])
        if bad.any():
            rows = [f"line {n}: {v!r}" for n, v in zip(out["_line"][bad], out[canon][bad], strict=True)]
            _repair(
                repairs,
                "invalid date",
                found[canon],
                rows,
                "dates that are not calendar dates (yyyy-mm-dd, yyyy-mm-dd hh:mm:ss or dd/mm/yyyy) were read as "
                "missing",
                label,
            )
        out[canon] = dates.to_numpy()
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# read_gaspar


def read_gaspar(source: str | os.PathLike, table: str) -> pd.DataFrame:
    r"""Read one GASPAR table as published, with canonical column names.

    Parameters
    ----------
    source : str or path-like
        The extracted GASPAR folder (``acv-geo fetch gaspar``), the ``gaspar.zip`` archive, or one CSV
        (``pprn_gaspar.csv``, ``catnat_gaspar_2026-09-21.csv``…). A CSV named like another GASPAR table
        stands for its folder (so :func:`acv_geo.source_path` of ``"gaspar"`` works for every table);
        a CSV named otherwise is read as the requested table. ``"gaspar"`` names the fetched archive.
    table : {"risq", "pprn", "azi", "tri", "dicrim", "catnat"}
        The table. ``risq`` is ``risq_gaspar.csv`` or, in the recent exports, ``ddrm_risq_gaspar_<date>.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per usable row of the file: ``insee_com`` (normalised INSEE code), the recognised
        columns under canonical names (e.g. for ``catnat``: ``decree_id, commune_name, peril_code,
        peril_label, event_start, event_end, decree_date, jo_date, updated_on``; dates as
        ``datetime64``, ``NaT`` when empty or invalid) then the other columns as published. Rows
        without a usable INSEE code are left out. Repairs in ``attrs["acv_geo_repairs"]``.

    Raises
    ------
    ValueError
        If ``table`` is not a GASPAR table name.
    FileNotFoundError
        If ``source`` does not exist.
    InputError
        If the archive or folder lacks the table (the message names the file names looked for), if
        the file is empty, not ``;``-separated, or lacks a required header (the message lists the
        headers found and the ones expected).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "dicrim_gaspar.csv").write_text("cod_commune;lib_commune;dat_publi_dicrim\n"
    ...                                                "1004;Ambérieu-en-Bugey;2012-03-01 00:00:00\n")
    >>> df = read_gaspar(folder, "dicrim")
    >>> df["insee_com"].tolist(), str(df["published_on"].iloc[0].date())
    (['01004'], '2012-03-01')
    """
    table = _check_table(table)
    t = _Extract(source).table(table)
    out = t.df.drop(columns="_line")
    out.attrs[_REPAIRS] = list(t.repairs)
    return out


def _check_table(table: Any) -> str:
    if not isinstance(table, str) or table not in GASPAR_TABLES:
        raise ValueError(f"table must be one of {', '.join(GASPAR_TABLES)}, got {table!r}")
    return table


# --------------------------------------------------------------------------------------------
# shared pieces of the indicators


@dataclass
class _Ctx:
    """What an indicator needs besides the table: the cities, the communes GASPAR knows, the wording."""

    idx: pd.Index
    known: set[str]
    absent_reason: str
    source: str
    date: str


def _context(idx: pd.Index, extract: _Extract, table: str) -> tuple[_Table, _Ctx]:
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
    source = f"Géorisques GASPAR {t.name} · {_LICENCE}"
    return t, _Ctx(idx, known, reason, source, t.date)


def _rows(t: _Table, ctx: _Ctx) -> pd.DataFrame:
    """The rows of the cities asked for (the others cannot change the result)."""
    return t.df[t.df["insee_com"].isin(ctx.idx)]


def _finish(
    out: pd.DataFrame,
    ctx: _Ctx,
    reason_col: str,
    meta: dict[str, tuple[str, str]],
    repairs: list,
    what: str,
    *,
    role: str = "risk",
    scored: Sequence[str] = (),
) -> pd.DataFrame:
    """NA and the reason for the cities GASPAR does not know; metadata and repairs attached."""
    unknown = ~ctx.idx.isin(list(ctx.known))
    cols = [c for c in out.columns if c != reason_col]
    out.loc[unknown, cols] = pd.NA
    # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
    out[reason_col] = pd.array(np.where(unknown, ctx.absent_reason, None), dtype="string")  # type: ignore[call-overload]
    meta = {**meta, reason_col: ("", f"Why the {what} values are missing")}
    attach_metadata(out, _meta(meta, ctx.source, ctx.date))
    assign_role(out, role, scored=scored)
    out.attrs[_REPAIRS] = repairs
    return out


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


def _text(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").map(lambda v: str(v).strip())


def _key(df: pd.DataFrame, id_col: str | None, name_col: str | None) -> pd.Series:
    """Identifier of each row's document: its code, else its name, else its line."""
    key = pd.Series("", index=df.index, dtype=object)
    for col in (name_col, id_col):  # the code wins over the name
        if col is not None and col in df.columns:
            text = _text(df[col])
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


@functools.lru_cache(maxsize=1)
def _ddrm_labels() -> dict[str, str]:
    return dict(pd.read_csv(get_path("ddrm_risk_codes"), dtype=str).itertuples(index=False, name=None))


def risq_indicators(cities: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    r"""Natural risks known in each city by the departmental risk files (GASPAR ``risq`` / ``ddrm_risq``).

    The same columns as :func:`acv_geo.indicators.tables.known_risks_indicators` (which reads the embedded
    2026-10-05 extract), computed from the GASPAR file given.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    source : str or path-like
        GASPAR folder, zip or ``risq`` CSV (see :func:`read_gaspar`).

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
    idx = _city_codes(cities)
    t, ctx = _context(idx, _Extract(source), "risq")
    return _risq(t, ctx)


def _risq(t: _Table, ctx: _Ctx) -> pd.DataFrame:
    df, repairs = _rows(t, ctx), list(t.repairs)
    labels = _ddrm_labels()
    code = _text(df["risk_code"]) if "risk_code" in df.columns else pd.Series("", index=df.index)
    label = _text(df["risk_label"]) if "risk_label" in df.columns else pd.Series("", index=df.index)
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
        _repair(
            repairs,
            "unknown risk",
            "num_risque",
            [f"{k} ×{v}" for k, v in vc.items()],
            "risk codes not in data/ddrm_risk_codes_gaspar.csv whose label names no natural-risk family: "
            "listed, in no family",
            t.label,
        )
    main = [
        (labels.get(c) or lab) if (c in labels and len(c) == 2) or (c not in labels and lab and not c) else None
        for c, lab in zip(code, label, strict=True)
    ]
    keys = [(_code_key(c) if c else (10**6, lab)) for c, lab in zip(code, label, strict=True)]
    rows = pd.DataFrame({"insee_com": df["insee_com"].to_numpy(), "fams": fams, "main": main, "key": keys})
    by_city = {code_: g for code_, g in rows.groupby("insee_com")}
    out = pd.DataFrame(index=ctx.idx.copy())
    meta: dict[str, tuple[str, str]] = {}
    city_fams = [set().union(*by_city[c]["fams"]) if c in by_city else set() for c in ctx.idx]
    for fam, fam_codes in RISK_FAMILIES.items():
        col = f"risk_{fam}_known"
        out[col] = _bool(fam in s for s in city_fams)
        names = ", ".join(f"{c} {labels.get(c, '')}".strip() for c in fam_codes)
        meta[col] = (
            "bool",
            f"The departmental risk file (DDRM) lists a {fam.replace('_', ' ')} risk for the commune "
            f"(GASPAR codes {names})",
        )
    out["risks_known_count"] = pd.array([len(s & set(RISK_FAMILIES)) for s in city_fams], dtype="Int64")
    texts: list[str | None] = []
    for c in ctx.idx:
        g = by_city.get(c)
        if g is None:
            texts.append(None)
            continue
        g = g.dropna(subset=["main"]).sort_values("key")
        texts.append("; ".join(dict.fromkeys(g["main"])))
    out["risks_known"] = pd.array(texts, dtype="string")
    meta["risks_known_count"] = ("families", f"Number of natural risk families known ({', '.join(RISK_FAMILIES)})")
    meta["risks_known"] = ("", "Main risks known for the commune (GASPAR labels)")
    return _finish(out, ctx, "risks_known_reason", meta, repairs, "known-risk", scored=["risks_known_count"])


# --------------------------------------------------------------------------------------------
# PPRN


_PPRN_STATUS_ORDER = {"lapsed": 3, "approved": 2, "prescribed": 1, "unknown": 0}


def _pprn_status(df: pd.DataFrame) -> pd.Series:
    """Approved / prescribed / lapsed / unknown, per row (state and sub-state first, else the dates)."""
    n = len(df)
    blank = pd.Series([""] * n, index=df.index, dtype=object)
    state = _text(df["state"]).map(slugify) if "state" in df.columns else blank
    sub = _text(df["substate"]).map(slugify) if "substate" in df.columns else blank

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
        GASPAR folder, zip or ``pprn`` CSV (see :func:`read_gaspar`).

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
    idx = _city_codes(cities)
    t, ctx = _context(idx, _Extract(source), "pprn")
    return _pprn(t, ctx)


def _pprn(t: _Table, ctx: _Ctx) -> pd.DataFrame:
    df, repairs = _rows(t, ctx), list(t.repairs)
    status = _pprn_status(df)
    key = _key(
        df,
        "procedure_id" if "procedure_id" in df.columns else None,
        "procedure_name" if "procedure_name" in df.columns else None,
    )
    if "procedure_id" not in df.columns and len(df):
        _repair(
            repairs,
            "no plan code",
            "",
            None,
            "the table has no plan code column: plans were told apart by their name, else by their line",
            t.label,
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
        _repair(
            repairs,
            "PPRN without status",
            "",
            lines,
            "plans with neither a state nor a prescription or approval date: not counted",
            t.label,
        )
    plans = rows.groupby(["insee_com", "key"], sort=False).agg(
        rank=("rank", "max"), fams=("fams", lambda s: set().union(*s)), year=("year", "max")
    )
    plans["status"] = plans["rank"].map({v: k for k, v in _PPRN_STATUS_ORDER.items()})
    plans = plans.reset_index()
    out = pd.DataFrame(index=ctx.idx.copy())
    meta: dict[str, tuple[str, str]] = {}
    for fam in PPRN_FAMILIES:
        has = plans["fams"].map(lambda s, f=fam: f in s)
        for st, word in (("approved", "approved"), ("prescribed", "prescribed (not yet approved)")):
            n = plans[has & (plans["status"] == st)].groupby("insee_com")["key"].nunique()
            col = f"pprn_{fam}_{st}_count"
            out[col] = _int(n.reindex(ctx.idx).fillna(0))
            meta[col] = (
                "plans",
                f"Natural-risk prevention plans (PPRN) {word} for {fam.replace('_', ' ')} covering the commune",
            )
    live = plans[plans["status"].isin(["approved", "prescribed"])]
    out["pprn_count"] = _int(live.groupby("insee_com")["key"].nunique().reindex(ctx.idx).fillna(0))
    last = plans[plans["status"] == "approved"].groupby("insee_com")["year"].max()
    out["pprn_approved_last_year"] = _int(last.reindex(ctx.idx))
    meta["pprn_count"] = (
        "plans",
        "Distinct PPRN approved or prescribed for the commune, all hazards (lapsed plans "
        "— deprescribed, repealed, annulled — not counted)",
    )
    meta["pprn_approved_last_year"] = (
        "year",
        "Year of the latest approval among the commune's approved PPRN (<NA> without an approved plan)",
    )
    return _finish(out, ctx, "pprn_reason", meta, repairs, "PPRN")


# --------------------------------------------------------------------------------------------
# AZI, TRI, DICRIM


def azi_indicators(cities: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    r"""Flood atlases (atlas des zones inondables, AZI) covering each city (GASPAR ``azi``).

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    source : str or path-like
        GASPAR folder, zip or ``azi`` CSV (see :func:`read_gaspar`).

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
    idx = _city_codes(cities)
    t, ctx = _context(idx, _Extract(source), "azi")
    return _azi(t, ctx)


def _azi(t: _Table, ctx: _Ctx) -> pd.DataFrame:
    df = _rows(t, ctx)
    id_col = "atlas_id" if "atlas_id" in df.columns else None
    name_col = "atlas_name" if "atlas_name" in df.columns else None
    key = _key(df, id_col, name_col)
    n = pd.DataFrame({"insee_com": df["insee_com"].to_numpy(), "key": key.to_numpy()}).groupby("insee_com")["key"]
    count = n.nunique().reindex(ctx.idx).fillna(0)
    out = pd.DataFrame(index=ctx.idx.copy())
    out["azi_count"] = _int(count)
    out["azi_listed"] = _bool(count.to_numpy() > 0)
    out["azi_names"] = _names(df, key, name_col, ctx.idx)
    meta = {
        "azi_count": ("atlases", "Flood atlases (AZI) covering the commune (distinct atlas codes)"),
        "azi_listed": ("bool", "The commune is covered by at least one flood atlas (AZI)"),
        "azi_names": ("", "Names of the flood atlases covering the commune, '; '-separated"),
    }
    return _finish(out, ctx, "azi_reason", meta, list(t.repairs), "flood-atlas")


def tri_indicators(cities: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    r"""Territories at significant flood risk (TRI, Floods Directive) each city belongs to (GASPAR ``tri``).

    The national GASPAR archive of 2024-2026 seems to hold no TRI table; give the TRI table file
    itself (``tri_gaspar.csv``), or see the ``tri`` flood surfaces of ``acv-geo fetch``.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    source : str or path-like
        GASPAR folder, zip or ``tri`` CSV (see :func:`read_gaspar`).

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
    idx = _city_codes(cities)
    t, ctx = _context(idx, _Extract(source), "tri")
    return _tri(t, ctx)


def _tri(t: _Table, ctx: _Ctx) -> pd.DataFrame:
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
    return _finish(out, ctx, "tri_reason", meta, list(t.repairs), "TRI")


def dicrim_indicators(cities: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    r"""Whether each city published its DICRIM (communal information document on major risks), and when.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``.
    source : str or path-like
        GASPAR folder, zip or ``dicrim`` CSV (see :func:`read_gaspar`).

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
    idx = _city_codes(cities)
    t, ctx = _context(idx, _Extract(source), "dicrim")
    return _dicrim(t, ctx)


def _dicrim(t: _Table, ctx: _Ctx) -> pd.DataFrame:
    df = _rows(t, ctx)
    listed = set(df["insee_com"])
    published = pd.to_datetime(df["published_on"]) if "published_on" in df.columns else pd.Series(pd.NaT)
    years = pd.Series(published.dt.year.to_numpy(dtype=float, na_value=np.nan), index=df.index)
    last = years.groupby(df["insee_com"]).max()
    out = pd.DataFrame(index=ctx.idx.copy())
    out["dicrim_published"] = _bool(c in listed for c in ctx.idx)
    out["dicrim_year"] = _int(last.reindex(ctx.idx))
    meta = {
        "dicrim_published": (
            "bool",
            "The commune's DICRIM (document d'information communal sur les risques majeurs) is recorded in GASPAR",
        ),
        "dicrim_year": ("year", "Year of the latest DICRIM publication recorded (<NA> if none or undated)"),
    }
    return _finish(out, ctx, "dicrim_reason", meta, list(t.repairs), "DICRIM", role="context")


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


def is_gaspar_catnat(source: str | os.PathLike) -> bool:
    r"""True when ``source`` is a GASPAR archive (zip or folder) or GASPAR's CatNat table (``lib_risque_jo``).

    :func:`acv_geo.indicators.tables.catnat_indicators` reads the CCR decree file (``code_peril``); a GASPAR
    CatNat table is read by :func:`catnat_gaspar_indicators` instead, with the same counting.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "catnat_gaspar.csv"
    >>> _ = f.write_text("cod_commune;lib_risque_jo;dat_deb\n")
    >>> is_gaspar_catnat(f), is_gaspar_catnat(f.parent / "ccr.csv")
    (True, False)
    """
    p = Path(source)
    if p.is_dir() or p.suffix.lower() == ".zip":
        return True
    try:
        with open(p, "rb") as fh:
            head = fh.readline(8192)
    except OSError:
        return False
    return b"lib_risque_jo" in head.lower()


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
        GASPAR folder, zip or ``catnat`` CSV (see :func:`read_gaspar`).
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
    idx = _city_codes(cities)
    lo, hi = _bound(start, "start", end=False), _bound(end, "end", end=True)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"start ({start!r}) is after end ({end!r})")
    t, ctx = _context(idx, _Extract(source), "catnat")
    return _catnat(t, ctx, lo, hi, cities)


def _catnat(
    t: _Table, ctx: _Ctx, lo: pd.Timestamp | None, hi: pd.Timestamp | None, cities: pd.DataFrame
) -> pd.DataFrame:
    df, repairs = _rows(t, ctx), list(t.repairs)
    key_cols = [c for c in df.columns if c not in ("_line",)]
    dup = df.duplicated(subset=key_cols).to_numpy()
    if dup.any():
        _repair(repairs, "duplicate row", "", None, f"{int(dup.sum())} identical rows counted once", t.label)
        df = df[~dup]
    no_start = df["event_start"].isna().to_numpy()
    if no_start.any():
        rows = [f"line {n}" for n in df["_line"][no_start]]
        _repair(
            repairs,
            "missing date",
            "event start",
            rows,
            "rows without a (valid) event start date: left out (the event cannot be dated)",
            t.label,
        )
        df = df[~no_start]
    decree_id = _text(df["decree_id"]) if "decree_id" in df.columns else pd.Series("", index=df.index)
    decree_date = df["decree_date"] if "decree_date" in df.columns else pd.Series(pd.NaT, index=df.index)
    no_key = ((decree_id == "") & decree_date.isna()).to_numpy()
    if no_key.any():
        _repair(
            repairs,
            "decree not identified",
            "",
            [f"line {n}" for n in df["_line"][no_key]],
            "rows with neither a decree code nor a decree date: left out (the decree cannot be told apart)",
            t.label,
        )
        df, decree_id, decree_date = df[~no_key], decree_id[~no_key], decree_date[~no_key]
    label = _text(df["peril_label"]) if "peril_label" in df.columns else pd.Series("", index=df.index)
    code = _text(df["peril_code"]) if "peril_code" in df.columns else pd.Series("", index=df.index)
    pairs = {pair: _peril_code(*pair) for pair in set(zip(label, code, strict=True))}
    peril = [pairs[pair] for pair in zip(label, code, strict=True)]
    unknown = [f"{lab or c}" for p, lab, c in zip(peril, label, code, strict=True) if p is None]
    if unknown:
        vc = pd.Series(unknown).value_counts()
        _repair(
            repairs,
            "unknown peril",
            "lib_risque_jo",
            [f"{k} ×{v}" for k, v in vc.items()],
            "CatNat labels not mapped to a CCR peril code (acv_geo.indicators.tables.CATNAT_GROUPS): "
            "counted in group 'other'",
            t.label,
        )
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
    period = ""
    if lo is not None or hi is not None:
        period = (
            f" for events from {lo.date() if lo is not None else 'the start'} to "
            f"{hi.date() if hi is not None else 'the end'}"
        )
    descr = {m["column"]: m for m in counts.attrs.get("acv_geo_metadata", [])}
    meta = {
        c: (
            descr[c]["unit"],
            descr[c]["description"].replace("Distinct CatNat", "Distinct recognised CatNat")
            + (period if c.endswith("_count") else ""),
        )
        for c in out.columns
    }
    return _finish(out, ctx, "catnat_reason", meta, repairs, "CatNat", scored=["catnat_total_count"])


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
        The GASPAR folder or zip (``acv-geo fetch gaspar``), see :func:`read_gaspar`.
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
    idx = _city_codes(cities)
    if isinstance(tables, str):
        tables = (tables,)
    tables = tuple(tables)
    bad = [t for t in tables if t not in GASPAR_TABLES]
    if bad or not tables:
        raise ValueError(f"tables must be some of {', '.join(GASPAR_TABLES)}, got {list(tables)!r}")
    extract = _Extract(source)
    parts: list[pd.DataFrame] = []
    missing: list[str] = []
    for table in dict.fromkeys(tables):
        try:
            t, ctx = _context(idx, extract, table)
        except _MissingTable as exc:
            missing.append(table)
            log.warning("%s", exc)
            parts.append(_missing_part(table, idx, extract, str(exc)))
            continue
        parts.append(_catnat(t, ctx, None, None, cities) if table == "catnat" else _WORKERS[table](t, ctx))
    if len(missing) == len(parts):
        raise InputError(
            f"{extract.path}: none of the GASPAR tables {', '.join(tables)} was found; give the folder or zip of "
            f"{_URL} (acv-geo fetch gaspar)"
        )
    out = pd.concat(parts, axis=1)
    out.index = idx.copy()
    merge_metadata(out, *parts)
    out.attrs[_REPAIRS] = [r for p in parts for r in p.attrs.get(_REPAIRS, [])]
    return out


def _missing_part(table: str, idx: pd.Index, extract: _Extract, why: str) -> pd.DataFrame:
    """The columns of a table the archive lacks: all <NA>, the reason says so."""
    cols = ["_line", "insee_com", *_COLUMNS[table]]
    empty = pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c in _DATES[table] else object) for c in cols})
    t = _Table(empty, str(extract.path), f"{table}_gaspar.csv", "", [])
    ctx = _Ctx(idx, set(), f"no {table} table in this GASPAR extract ({why})", f"Géorisques GASPAR · {_LICENCE}", "")
    if table == "catnat":
        return _catnat(t, ctx, None, None, pd.DataFrame(index=idx))
    return _WORKERS[table](t, ctx)
