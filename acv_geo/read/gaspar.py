"""The GASPAR archive of Géorisques read table by table: folder, zip or one CSV, old and new headers.

GASPAR (« Gestion ASsistée des Procédures Administratives relatives aux Risques », DGPR) is published
as one national archive, ``https://files.georisques.fr/GASPAR/gaspar.zip`` (Licence Ouverte), updated
weekly, holding one ``;``-separated CSV per table. :func:`read_gaspar` reads one table from the
extracted folder, the zip itself or a single CSV, under canonical column names; the indicators built
on them are in :mod:`acv_geo.indicators.gaspar`.

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
(:func:`acv_geo.read.tables.parse_dates`; the time of day is ignored). Files are UTF-8 (a byte-order mark
is accepted); a Windows-1252 file is decoded as such and the repair logged. Repairs are in
``attrs["acv_geo_repairs"]`` (:func:`acv_geo.repair_report`).
"""

from __future__ import annotations

import csv
import fnmatch
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from acv_geo.core.codes import slugify
from acv_geo.core.errors import InputError
from acv_geo.read.repairs import REPAIRS, add_repair
from acv_geo.read.tables import normalise_codes, parse_dates, read_csv_bytes, row_lines

__all__ = [
    "GASPAR_COLUMNS",
    "GASPAR_DATES",
    "GASPAR_FILES",
    "GASPAR_LICENCE",
    "GASPAR_TABLES",
    "GASPAR_URL",
    "GasparExtract",
    "GasparTable",
    "MissingGasparTable",
    "check_table",
    "is_gaspar_catnat",
    "read_gaspar",
    "table_of_name",
]

#: Where GASPAR is published, and its licence.
GASPAR_URL = "https://files.georisques.fr/GASPAR/gaspar.zip"
GASPAR_LICENCE = "Licence Ouverte"

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


#: Canonical column -> published headers accepted (matched by slug), first found wins.
GASPAR_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
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

#: The date columns of each table (canonical names).
GASPAR_DATES: dict[str, tuple[str, ...]] = {
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


class MissingGasparTable(InputError):
    """The archive or folder has no file for the requested table."""


# --------------------------------------------------------------------------------------------
# locating and parsing the files


def table_of_name(name: str) -> str | None:
    """The GASPAR table a file name stands for (:data:`GASPAR_FILES`), or None.

    Examples
    --------
    >>> table_of_name("ddrm_risq_gaspar_2026-10-05.csv"), table_of_name("radon.csv")
    ('risq', None)
    """
    low = name.lower()
    for table in GASPAR_TABLES:
        if any(fnmatch.fnmatch(low, pat) for pat in GASPAR_FILES[table]):
            return table
    return None


def _file_date(name: str) -> str:
    m = re.search(r"(\d{4}-\d{2}-\d{2})", name)
    return m.group(1) if m else ""


def _pick(names: list[str], table: str, where: str, repairs: list[dict[str, Any]]) -> str:
    """The newest of several files of one table (by the date in the name, then the name)."""
    names = sorted(names, key=lambda n: (_file_date(Path(n).name), n))
    if len(names) > 1:
        add_repair(
            repairs,
            "several files",
            "",
            names,
            f"{len(names)} files hold the {table} table; the newest, {names[-1]}, was read",
            where,
        )
    return names[-1]


@dataclass
class GasparTable:
    """One parsed GASPAR table (canonical columns, ``_line`` = the CSV line of each row)."""

    df: pd.DataFrame
    label: str
    name: str
    date: str
    repairs: list[dict[str, Any]]


def _source_path(source: Any) -> Path:
    """The path of a GASPAR source; ``"gaspar"`` is the fetched, extracted archive of the catalogue."""
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"GASPAR source must be a folder, a .zip or a .csv path, not {type(source).__name__}")
    path = Path(source).expanduser()
    if not path.exists() and str(source).strip().lower() == "gaspar":
        from acv_geo.sources.cache import source_info

        path = source_info("gaspar").manifest.parent / "files"
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: GASPAR source not found; give the extracted folder, gaspar.zip or a *_gaspar.csv "
            f"file (`acv-geo fetch gaspar` downloads {GASPAR_URL})"
        )
    return path


class GasparExtract:
    """A GASPAR extract: a folder, a zip, or a CSV file (with its folder when named like a GASPAR table)."""

    def __init__(self, source: Any) -> None:
        path = _source_path(source)
        self.path = path
        self.explicit: dict[str, Path] = {}
        self.single: Path | None = None
        self.zip: Path | None = None
        self.folder: Path | None = None
        self._cache: dict[str, GasparTable] = {}
        self._picked: dict[str, list[dict[str, Any]]] = {}  # repairs made while choosing among several files, per table
        self._located: dict[str, str | None] = {}
        if path.is_dir():
            self.folder = path
        elif path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
            self.zip = path
        else:
            table = table_of_name(path.name)
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
            names = [n for n in self._names() if table_of_name(PurePosixPath(n).name) == table]
            picked = _pick(names, table, str(self.path), self._picked.setdefault(table, [])) if names else None
            if picked is not None and self.zip is None:
                assert self.folder is not None  # no zip: a folder, as _names() above asserted
                picked = str(self.folder / picked)
            self._located[table] = picked
        return self._located[table]

    def missing(self, table: str) -> MissingGasparTable:
        """The error saying the extract has no file for ``table`` (the names looked for, the files found)."""
        names = self._names()
        shown = ", ".join(names[:15]) + (f", … ({len(names)} files)" if len(names) > 15 else "") or "none"
        kind = "zip archive" if self.zip is not None else "folder"
        hint = (
            "the national archive of 2024-2026 holds no TRI table; give the TRI table file itself"
            if table == "tri"
            else "download the archive again (acv-geo fetch gaspar --force)"
        )
        return MissingGasparTable(
            f"{self.path}: no GASPAR {table} table in this {kind}: looked for "
            f"{' or '.join(GASPAR_FILES[table])}; files found: {shown}; {hint}"
        )

    def table(self, table: str) -> GasparTable:
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
            self._cache[table] = GasparTable(df, label, name, _file_date(name), repairs)
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


def _parse(raw: bytes, label: str, name: str, table: str, repairs: list[dict[str, Any]]) -> pd.DataFrame:
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
            f"reads {header[:120]!r}; use the file as published in {GASPAR_URL}, or save it again with ';' between "
            "columns"
        )
    n_cols = len(next(csv.reader([header], delimiter=";")))
    df = read_csv_bytes(raw, label, what=f"GASPAR {table} table")
    if len(df.columns) != n_cols:
        raise InputError(
            f"{label}: the header has {n_cols} ';'-separated columns but the file was read as {len(df.columns)}; "
            "check that every line has the same number of ';' as the header"
        )
    for row in df.attrs.pop(REPAIRS, []):  # e.g. "decoded as Windows-1252", logged by the decoder
        repairs.append({**row, "file": label})
    return _canonical(df, label, table, repairs)


def _header_columns(df: pd.DataFrame, label: str, table: str, repairs: list[dict[str, Any]]) -> dict[str, str]:
    """Canonical column -> the file's column (the headers of :data:`GASPAR_COLUMNS`); required ones checked."""
    spec = GASPAR_COLUMNS[table]
    slugs: dict[str, str] = {}
    for c in df.columns:
        slugs.setdefault(slugify(c), c)
    if table == "pprn" and "code_risque_2_1" in slugs and "code_risque_3" not in slugs:
        # the 2025-2026 export repeats the header 'CODE RISQUE 2' for the third risk code
        slugs["code_risque_3"] = slugs.pop("code_risque_2_1")
        add_repair(
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
            f"of {GASPAR_URL})"
        )
    return found


def _parse_date_columns(
    out: pd.DataFrame, found: dict[str, str], label: str, table: str, repairs: list[dict[str, Any]]
) -> None:
    """The date columns of ``table`` as ``datetime64``; the cells that are not dates reported and missing."""
    for canon in GASPAR_DATES[table]:
        if canon not in out.columns:
            continue
        dates, bad = parse_dates(out[canon])
        if bad.any():
            rows = [f"line {n}: {v!r}" for n, v in zip(out["_line"][bad], out[canon][bad], strict=True)]
            add_repair(
                repairs,
                "invalid date",
                found[canon],
                rows,
                "dates that are not calendar dates (yyyy-mm-dd, yyyy-mm-dd hh:mm:ss or dd/mm/yyyy) were read as "
                "missing",
                label,
            )
        out[canon] = dates.to_numpy()


def _canonical(df: pd.DataFrame, label: str, table: str, repairs: list[dict[str, Any]]) -> pd.DataFrame:
    df = df.astype(object)  # plain Python cells: the per-cell steps below are much faster than on Arrow strings
    found = _header_columns(df, label, table, repairs)
    df = df.assign(_line=row_lines(df, label))
    code_col = found["insee_com"]
    # as a category, each distinct code is normalised once (a national table repeats every code many times)
    df = normalise_codes(df.assign(**{code_col: df[code_col].astype("category")}), code_col, label, repairs)
    renamed = {v: k for k, v in found.items() if k != "insee_com"}
    others = [c for c in df.columns if c not in found.values() and c not in ("insee_com", "_line")]
    out = pd.DataFrame({"_line": df["_line"].to_numpy(), "insee_com": df["insee_com"].to_numpy()}, index=df.index)
    for src, canon in renamed.items():
        out[canon] = df[src].to_numpy()
    for c in others:
        out[c] = df[c].to_numpy()
    _parse_date_columns(out, found, label, table, repairs)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# read_gaspar


def read_gaspar(source: str | os.PathLike[str], table: str) -> pd.DataFrame:
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
    table = check_table(table)
    t = GasparExtract(source).table(table)
    out = t.df.drop(columns="_line")
    out.attrs[REPAIRS] = list(t.repairs)
    return out


def check_table(table: Any) -> str:
    """``table`` if it is a GASPAR table name (:data:`GASPAR_TABLES`).

    Raises
    ------
    ValueError
        If it is not.

    Examples
    --------
    >>> check_table("pprn")
    'pprn'
    """
    if not isinstance(table, str) or table not in GASPAR_TABLES:
        raise ValueError(f"table must be one of {', '.join(GASPAR_TABLES)}, got {table!r}")
    return table


def is_gaspar_catnat(source: str | os.PathLike[str]) -> bool:
    r"""True when ``source`` is a GASPAR archive (zip or folder) or GASPAR's CatNat table (``lib_risque_jo``).

    :func:`acv_geo.indicators.tables.catnat_indicators` reads the CCR decree file (``code_peril``); a GASPAR
    CatNat table is read by :func:`acv_geo.catnat_gaspar_indicators` instead, with the same counting.

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
