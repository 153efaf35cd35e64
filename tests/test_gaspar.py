"""GASPAR readers and indicators on small files written in the published formats (offline).

Two shapes of the national archive files.georisques.fr/GASPAR/gaspar.zip are written here: the
lower-case headers of the exports up to 2024 (``catnat_gaspar.csv``, ``risq_gaspar.csv``…) and the
dated files of 2025-2026 (``catnat_gaspar_2026-09-21.csv`` with ``code_commune``/``date_debut``,
``ddrm_risq_gaspar_<date>.csv``, the upper-case ``pprn_gaspar_<date>.csv`` whose header repeats
``CODE RISQUE 2``). Every expected value below is read off the rows by hand; the CatNat counts and
the known risks are also cross-checked against ``catnat_indicators`` and ``known_risks_indicators``.
"""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.core.metadata import indicator_metadata
from acv_geo.indicators.gaspar import (
    PPRN_FAMILIES,
    azi_indicators,
    catnat_gaspar_indicators,
    dicrim_indicators,
    gaspar_indicators,
    pprn_indicators,
    risq_indicators,
    tri_indicators,
)
from acv_geo.indicators.tables import RISK_FAMILIES, catnat_indicators, known_risks_indicators
from acv_geo.read.gaspar import GASPAR_TABLES, read_gaspar
from acv_geo.sources.cache import source_path
from acv_geo.sources.catalogue import load_catalogue
from acv_geo.sources.fetching import fetch

# 26198 (Montélimar) is in none of the files below: GASPAR does not know it in these extracts.
CODES = ["38053", "01004", "2A004", "2B033", "26198"]


def _acv():
    """The 244 ACV towns indexed by INSEE code (the embedded list, as test_tables reads it)."""
    return pd.read_csv(acv_geo.get_path("acv_communes"), dtype=str).set_index("insee_com")


def _cities(*codes):
    codes = codes or CODES
    return pd.DataFrame({"name": list(codes)}, index=pd.Index(list(codes), name="insee_com"))


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


# --------------------------------------------------------------------------------------------
# the files, as published up to 2024

CATNAT_2024 = (
    "cod_nat_catnat;cod_commune;lib_commune;num_risque_jo;lib_risque_jo;dat_deb;dat_fin;dat_pub_arrete;dat_pub_jo;"
    "dat_maj\n"
    # one decree recognising a flood and a landslide in Ambérieu (code written without its leading zero)
    "INTE8300001A;1004;AMBERIEU EN BUGEY;ICB;Inondations et/ou Coulées de Boue;1983-05-01 00:00:00;"
    "1983-05-31 00:00:00;1983-09-06 00:00:00;1983-09-11 00:00:00;2020-01-01 00:00:00\n"
    "INTE8300001A;1004;AMBERIEU EN BUGEY;MVT;Mouvement de Terrain;1983-05-01 00:00:00;1983-05-31 00:00:00;"
    "1983-09-06 00:00:00;1983-09-11 00:00:00;2020-01-01 00:00:00\n"
    # two drought decrees, dates day first
    "INTE1900001A;01004;AMBERIEU EN BUGEY;SEC;Sécheresse;01/07/2018;31/12/2018;18/06/2019;17/07/2019;\n"
    "INTE2300001A;01004;AMBERIEU EN BUGEY;SEC;Sécheresse;01/01/2022;30/09/2022;03/04/2023;03/05/2023;\n"
    # Ajaccio: one decree, waves and flood (both in the flood group: counted once)
    "INTE1800001A;2A004;AJACCIO;CMV;Chocs Mécaniques liés à l'action des Vagues;2018-10-29;2018-10-30;2018-11-26;"
    "2018-12-07;\n"
    "INTE1800001A;2A004;AJACCIO;ICB;Inondations et/ou Coulées de Boue;2018-10-29;2018-10-30;2018-11-26;2018-12-07;\n"
    # Bastia (lower-case Corsican code): a storm known by its label only, an unknown label
    "INTE2000001A;2b033;BASTIA;;Tempête;2020-01-01;2020-01-02;2020-02-01;2020-02-05;\n"
    "INTE2000002A;2B033;BASTIA;XXX;Phénomène inconnu;2020-02-02;2020-02-03;2020-03-01;2020-03-05;\n"
)

RISQ_2024 = (
    "cod_commune;lib_commune;num_risque;lib_risque\n"
    "1004;Ambérieu-en-Bugey;11;Inondation\n"
    "1004;Ambérieu-en-Bugey;12;Mouvement de terrain\n"
    "1004;Ambérieu-en-Bugey;13;Séisme\n"
    "1004;Ambérieu-en-Bugey;113;Par une crue torrentielle ou à montée rapide de cours d'eau\n"
    "1004;Ambérieu-en-Bugey;124;Glissement de terrain\n"
    "2B033;Bastia;11;Inondation\n"
    "2B033;Bastia;13;Séisme\n"
    "2B033;Bastia;16;Feu de forêt\n"
    "2B033;Bastia;18;Radon\n"
    "2B033;Bastia;21;Risque industriel\n"
    "2B033;Bastia;24;Transport de marchandises dangereuses\n"
    "2B033;Bastia;117;Par submersion marine\n"
    "38053;Bourgoin-Jallieu;11;Inondation\n"
    "2A004;Ajaccio;16;Feu de forêt\n"
)

PPRN_2024 = (
    "cod_nat_pprn;lib_bassin_risques;num_risque;lib_risque;cod_commune;lib_commune;cod_ppr;dat_prescription;"
    "dat_approbation;dat_annulation;dat_deprescription\n"
    "01DDT19970011;Albarine;140;Inondation;1004;Ambérieu;Plan de Prévention des Risques Naturels Inondation;"
    "1996-10-01 00:00:00;1997-01-10 00:00:00;;\n"
    # one multi-risk plan prescribed, two rows
    "01DDT20150002;Bugey;181;Glissement de terrain;1004;Ambérieu;Plan de Prévention des Risques Naturels "
    "Multirisques;2015-03-02 00:00:00;;;\n"
    "01DDT20150002;Bugey;140;Inondation;1004;Ambérieu;Plan de Prévention des Risques Naturels Multirisques;"
    "2015-03-02 00:00:00;;;\n"
    # no risk label: the plan type says clay shrink-swell; approval date day first
    "38DDT20100003;Bourbre;;;38053;Bourgoin-Jallieu;Plan de Prévention des Risques Naturels Retrait Gonflement "
    "Argile;2010-01-01;15/06/2012;;\n"
    # approved then annulled: lapsed, not counted
    "38DDT19990001;Bourbre;140;Inondation;38053;Bourgoin-Jallieu;Plan de Prévention des Risques Naturels "
    "Inondation;1999-01-01;2001-01-01;2008-05-05;\n"
    "2ADDTM20050001;;;Feu de forêt;2A004;Ajaccio;Plan de Prévention des Risques Naturels Incendie de Forêt;"
    "2005-01-01;2011-06-10;;\n"
    "2ADDTM20190002;;;Recul du trait de côte et de falaises;2A004;Ajaccio;;2019-01-01;;;\n"
    # no date at all: status unknown, not counted, reported
    "2BDDTM20000001;;;Séisme;2B033;Bastia;;;;;\n"
)

AZI_2024 = (
    "cod_nat_azi;lib_azi;lib_bassin_risque;list_risques;cod_commune;lib_commune;dat_program_deb;dat_program_fin;"
    "dat_etu_deb;dat_etu_fin;dat_info_deb;dat_info_fin;dat_realisation;dat_diffusion;dat_pub_net\n"
    "01DDT20050001;AZI de l'Albarine;Albarine;Inondation;1004;Ambérieu;;;;;;;2005-01-01 00:00:00;"
    "2006-02-01 00:00:00;\n"
    "01DDT19950002;Atlas des zones inondables de l'Ain;Ain;Inondation;1004;Ambérieu;;;;;;;;01/02/1996;\n"
    "01DDT20050001;AZI de l'Albarine;Albarine;Inondation;1004;Ambérieu;;;;;;;2005-01-01 00:00:00;"
    "2006-02-01 00:00:00;\n"
    "38DDT20000001;AZI de la Bourbre;Bourbre;Inondation;38053;Bourgoin-Jallieu;;;;;;;;;\n"
)

TRI_2024 = (
    "cod_nat_tri;lib_tri;cod_commune;lib_commune\n"
    "FRDTRI001;TRI de Lyon;38053;Bourgoin-Jallieu\n"
    "FRETRI002;TRI d'Ajaccio;2A004;Ajaccio\n"
)

DICRIM_2024 = (
    "cod_commune;lib_commune;dat_publi_dicrim\n"
    "1004;Ambérieu-en-Bugey;2012-03-01 00:00:00\n"
    "1004;Ambérieu-en-Bugey;15/06/2019\n"
    "2B033;Bastia;\n"
)


@pytest.fixture
def folder_2024(tmp_path):
    d = tmp_path / "gaspar"
    for name, text in (
        ("catnat", CATNAT_2024),
        ("risq", RISQ_2024),
        ("pprn", PPRN_2024),
        ("azi", AZI_2024),
        ("tri", TRI_2024),
        ("dicrim", DICRIM_2024),
    ):
        _write(d / f"{name}_gaspar.csv", text)
    return d


# --------------------------------------------------------------------------------------------
# the files, as published since 2025

PPRN_2026_HEADER = (
    "CODE MODELE;LIBELLE MODELE;CODE PROECEDURE;LIBELLE PROCEDURE;LIBELLE ORGANISME;BASSIN RISQUE;"
    "BASSINS HYDROGRAPHIQUES;COURS EAU;CODE INSEE REGION;NOM REGION;CODE INSEE DEPARTEMENT;NOM DEPARTEMENT;"
    "CODE INSEE COMMUNE;NOM COMMUNE;CODE RISQUE 1;LIBELLE RISQUE 1;CODE RISQUE 2;LIBELLE RISQUE 2;CODE RISQUE 2;"
    "LIBELLE RISQUE 3;PROCEDURE REVISANTE;CODES REVISES;PROCEDURE REVISEE;CODES REVISANTS;PROGRAMMATION_DEBUT;"
    "PROGRAMMATION_FIN;MONTAGE_DEBUT;MONTAGE_FIN;PRESCRIPTION;ETUDES_HYDR_DEBUT;ETUDES_HYDR_FIN;CARTE_ALEAS_DEBUT;"
    "CARTE_ALEAS_FIN;CARTE_ENJEUX_DEBUT;CARTE_ENJEUX_FIN;ZONAGE_REGL_DEBUT;ZONAGE_REGL_FIN;REG_ET_NOTE_PRES_DEBUT;"
    "REG_ET_NOTE_PRES_FIN;CONCERTATION_DEBUT;CONCERTATION_FIN;CONSULTATION_DEBUT;CONSULTATION_FIN;"
    "CONSULT_SERV_DEBUT;CONSULT_SERV_FIN;ENQUETE_PUBL_DEBUT;ENQUETE_PUBL_FIN;ANNEX_PLU;PROROGATION;APPLIC_ANTIC;"
    "DEPRESCRIPTION;APPROBATION;ANNULATION;ABROGATION;LIBELLE ETAT;DATE ETAT;LIBELLE SOUS-ETAT;DATE SOUS-ETAT;"
    "DATE DERNIERE MISE A JOUR"
)
_P = PPRN_2026_HEADER.split(";")


def _pprn_row(**cells):
    """One line of the 2026 PPRN table; ``risk3`` is the second 'CODE RISQUE 2' column (index 18)."""
    row = [""] * len(_P)
    for key, value in cells.items():
        i = 18 if key == "risk3" else _P.index(key)
        row[i] = value
    return ";".join(row)


def _pprn_2026():
    rows = [
        _pprn_row(
            **{
                "CODE MODELE": "PPRN-I",
                "CODE PROECEDURE": "01DDT20000001",
                "LIBELLE PROCEDURE": "PPRI Albarine",
                "CODE INSEE COMMUNE": "1004",
                "CODE RISQUE 1": "10",
                "LIBELLE RISQUE 1": "Risque naturel",
                "CODE RISQUE 2": "11",
                "LIBELLE RISQUE 2": "Inondation",
                "risk3": "113",
                "LIBELLE RISQUE 3": "Inondation - Par une crue torrentielle ou à montée rapide de cours d'eau",
                "PRESCRIPTION": "2000-01-01",
                "APPROBATION": "2004-06-30 00:00:00",
                "LIBELLE ETAT": "Opposable",
                "LIBELLE SOUS-ETAT": "Approuvé",
            }
        ),
        _pprn_row(
            **{
                "CODE MODELE": "PPRN-Multi",
                "CODE PROECEDURE": "01DDT20200002",
                "CODE INSEE COMMUNE": "01004",
                "CODE RISQUE 2": "12",
                "LIBELLE RISQUE 2": "Mouvement de terrain",
                "risk3": "124",
                "LIBELLE RISQUE 3": "Mouvement de terrain - Glissement de terrain",
                "PRESCRIPTION": "2020-03-01",
                "LIBELLE ETAT": "Prescrit",
                "LIBELLE SOUS-ETAT": "Prescrit",
            }
        ),
        _pprn_row(
            **{
                "CODE MODELE": "PPRN-Multi",
                "CODE PROECEDURE": "01DDT20200002",
                "CODE INSEE COMMUNE": "01004",
                "CODE RISQUE 2": "11",
                "LIBELLE RISQUE 2": "Inondation",
                "PRESCRIPTION": "2020-03-01",
                "LIBELLE ETAT": "Prescrit",
                "LIBELLE SOUS-ETAT": "Prescrit",
            }
        ),
        # opposable by anticipated application: prescribed, not approved
        _pprn_row(
            **{
                "CODE MODELE": "PPRN-IF",
                "CODE PROECEDURE": "2ADDTM20100001",
                "CODE INSEE COMMUNE": "2A004",
                "CODE RISQUE 2": "16",
                "LIBELLE RISQUE 2": "Feu de forêt",
                "PRESCRIPTION": "2010-01-01",
                "APPLIC_ANTIC": "2012-05-01",
                "LIBELLE ETAT": "Opposable",
                "LIBELLE SOUS-ETAT": "Anticipé",
            }
        ),
        # repealed: lapsed
        _pprn_row(
            **{
                "CODE MODELE": "PPRN-I",
                "CODE PROECEDURE": "2ADDTM19990001",
                "CODE INSEE COMMUNE": "2A004",
                "CODE RISQUE 2": "11",
                "LIBELLE RISQUE 2": "Inondation",
                "risk3": "117",
                "LIBELLE RISQUE 3": "Inondation - Par submersion marine",
                "APPROBATION": "2002-01-01",
                "ABROGATION": "2018-11-30",
                "LIBELLE ETAT": "Caduque",
                "LIBELLE SOUS-ETAT": "Abrogé",
            }
        ),
        # labels empty: the codes say avalanche (14) -- Bastia is a test commune, not a ski resort
        _pprn_row(
            **{
                "CODE MODELE": "PPRN-Multi",
                "CODE PROECEDURE": "2BDDTM20210001",
                "CODE INSEE COMMUNE": "2B033",
                "CODE RISQUE 2": "14",
                "risk3": "140",
                "APPROBATION": "2023-09-01",
                "LIBELLE ETAT": "Opposable",
            }
        ),
    ]
    return PPRN_2026_HEADER + "\n" + "\n".join(rows) + "\n"


CATNAT_2026 = (
    "id_gaspar;code_commune;libelle_commune;num_risque_jo;lib_risque_jo;date_debut;date_fin;date_signature_arrete;"
    "date_publication_jo;date_modification\n"
    "A1;1004;Ambérieu;ICB;Inondations et/ou Coulées de Boue;2016-05-30 02:00:00;2016-06-04 02:00:00;"
    "2016-06-08 02:00:00;2016-06-09 02:00:00;2022-05-24 02:00:00.000\n"
    # the same row twice (the 2025 export carried such duplicates): counted once
    "A1;1004;Ambérieu;ICB;Inondations et/ou Coulées de Boue;2016-05-30 02:00:00;2016-06-04 02:00:00;"
    "2016-06-08 02:00:00;2016-06-09 02:00:00;2022-05-24 02:00:00.000\n"
    "A2;1004;Ambérieu;SEC;Sécheresse;2025-07-01 12:00:00;2025-09-30 12:00:00;2026-04-01 12:00:00;"
    "2026-04-05 12:00:00;2026-04-05 12:00:00.000\n"
)


@pytest.fixture
def zip_2026(tmp_path):
    members = {
        "gaspar/catnat_gaspar_2026-09-21.csv": CATNAT_2026.encode(),
        "gaspar/pprn_gaspar_2026-09-21.csv": _pprn_2026().encode(),
        "gaspar/ddrm_risq_gaspar_2026-09-21.csv": RISQ_2024.encode("cp1252"),  # not UTF-8: decoded, reported
        "gaspar/dicrim_gaspar_2026-09-21.csv": ("\ufeff" + DICRIM_2024).encode(),  # with a byte-order mark
        "gaspar/azi_gaspar_2026-09-21.csv": AZI_2024.encode(),
    }
    return _zip(tmp_path / "gaspar.zip", members)


# --------------------------------------------------------------------------------------------
# read_gaspar


def test_read_catnat_codes_dates_and_canonical_names(folder_2024):
    df = read_gaspar(folder_2024, "catnat")
    assert list(df.columns[:10]) == [
        "insee_com",
        "decree_id",
        "commune_name",
        "peril_code",
        "peril_label",
        "event_start",
        "event_end",
        "decree_date",
        "jo_date",
        "updated_on",
    ]
    assert df["insee_com"].tolist() == ["01004"] * 4 + ["2A004"] * 2 + ["2B033"] * 2
    # yyyy-mm-dd hh:mm:ss, dd/mm/yyyy and yyyy-mm-dd are all read; empty is NaT
    assert df["event_start"].dt.strftime("%Y-%m-%d").tolist()[:5] == [
        "1983-05-01",
        "1983-05-01",
        "2018-07-01",
        "2022-01-01",
        "2018-10-29",
    ]
    assert df["jo_date"].isna().sum() == 0 and df["updated_on"].isna().sum() == 6
    rep = acv_geo.repair_report(df).set_index("kind")
    assert rep.loc["INSEE code repaired", "codes"] == "1004→01004, 1004→01004, 2b033→2B033"


def test_read_the_same_table_from_folder_zip_and_csv(folder_2024, tmp_path):
    archive = _zip(tmp_path / "g.zip", {f"x/{p.name}": p.read_bytes() for p in folder_2024.iterdir()})
    single = _write(tmp_path / "only" / "my_extract.csv", PPRN_2024)  # not named like GASPAR: read as asked
    a = read_gaspar(folder_2024, "pprn")
    pd.testing.assert_frame_equal(a, read_gaspar(archive, "pprn"))
    pd.testing.assert_frame_equal(a, read_gaspar(single, "pprn"))
    # a CSV named like another GASPAR table stands for its folder (what source_path('gaspar') returns)
    pd.testing.assert_frame_equal(a, read_gaspar(folder_2024 / "risq_gaspar.csv", "pprn"))


def test_read_2026_shapes_bom_cp1252_and_repeated_header(zip_2026):
    cat = read_gaspar(zip_2026, "catnat")
    assert cat["decree_id"].tolist() == ["A1", "A1", "A2"]
    assert cat["event_start"].dt.year.tolist() == [2016, 2016, 2025]
    risq = read_gaspar(zip_2026, "risq")  # ddrm_risq_gaspar_<date>.csv
    assert risq.loc[risq["risk_code"] == "13", "risk_label"].tolist() == ["Séisme", "Séisme"]
    rep = acv_geo.repair_report(risq)
    assert rep.loc[rep["kind"] == "encoding", "detail"].tolist() == [
        "file is not UTF-8; decoded as Windows-1252 (Latin-1)"
    ]
    assert rep["file"].iloc[0].endswith("gaspar.zip!gaspar/ddrm_risq_gaspar_2026-09-21.csv")
    dicrim = read_gaspar(zip_2026, "dicrim")
    assert dicrim["published_on"].dt.year.tolist()[:2] == [2012, 2019]
    pprn = read_gaspar(zip_2026, "pprn")
    assert pprn["risk_code_3"].fillna("").tolist() == ["113", "124", "", "", "117", "140"]
    assert pprn["procedure_id"].iloc[0] == "01DDT20000001"
    assert "header repaired" in set(acv_geo.repair_report(pprn)["kind"])


def test_invalid_date_is_reported_with_its_line(tmp_path):
    p = _write(
        tmp_path / "d" / "dicrim_gaspar.csv", "cod_commune;dat_publi_dicrim\n1004;2012-03-01\n38053;32/13/2020\n"
    )
    df = read_gaspar(p, "dicrim")
    assert df["published_on"].isna().tolist() == [False, True]
    rep = acv_geo.repair_report(df).set_index("kind")
    assert rep.loc["invalid date", "codes"] == "line 3: '32/13/2020'"


def test_errors_name_the_file_the_line_and_the_fix(tmp_path, zip_2026):
    comma = _write(
        tmp_path / "a" / "catnat_gaspar.csv", "cod_commune,lib_risque_jo,dat_deb\n1004,Sécheresse,2018-07-01\n"
    )
    with pytest.raises(
        InputError,
        match=r"catnat_gaspar\.csv, line 1: the columns are separated by ',', expected "
        r"';' \(GASPAR tables are ';'-separated\); the header reads 'cod_commune,",
    ):
        read_gaspar(comma, "catnat")
    empty = _write(tmp_path / "b" / "dicrim_gaspar.csv", "")
    with pytest.raises(
        InputError,
        match=r"dicrim_gaspar\.csv: the file is empty \(no header line\); a GASPAR dicrim "
        r"table starts with a header such as 'cod_commune;lib_commune;dat_publi_dicrim'",
    ):
        read_gaspar(empty, "dicrim")
    bom_only = _write(tmp_path / "b2" / "dicrim_gaspar.csv", "\ufeff\n")
    with pytest.raises(InputError, match=r"the file is empty"):
        read_gaspar(bom_only, "dicrim")
    no_date = _write(tmp_path / "c" / "dicrim_gaspar.csv", "cod_commune;lib_commune\n1004;A\n")
    with pytest.raises(
        InputError,
        match=r"dicrim_gaspar\.csv, line 1: not the GASPAR dicrim table as published: "
        r"missing column\(s\) 'dat_publi_dicrim' or 'date_publication_dicrim' or "
        r"'date_publication'; headers found: \['cod_commune', 'lib_commune'\]",
    ):
        read_gaspar(no_date, "dicrim")
    no_code = _write(tmp_path / "e" / "azi_gaspar.csv", "cod_nat_azi;lib_azi;commune\nA;B;1004\n")
    with pytest.raises(
        InputError,
        match=r"missing column\(s\) 'cod_commune' or 'code_commune' or 'code_insee'; "
        r"headers found: \['cod_nat_azi', 'lib_azi', 'commune'\]",
    ):
        read_gaspar(no_code, "azi")
    with pytest.raises(
        InputError,
        match=r"gaspar\.zip: no GASPAR tri table in this zip archive: looked for "
        r"tri_gaspar\*\.csv; files found: gaspar/catnat_gaspar_2026-09-21\.csv, .*"
        r"holds no TRI table",
    ):
        read_gaspar(zip_2026, "tri")
    folder = _write(tmp_path / "f" / "azi_gaspar.csv", AZI_2024).parent
    with pytest.raises(
        InputError,
        match=r"no GASPAR pprn table in this folder: looked for pprn_gaspar\*\.csv; files "
        r"found: azi_gaspar\.csv; download the archive again \(acv-geo fetch gaspar",
    ):
        read_gaspar(folder, "pprn")
    with pytest.raises(ValueError, match=r"table must be one of risq, pprn, azi, tri, dicrim, catnat, got 'ppr'"):
        read_gaspar(folder, "ppr")
    with pytest.raises(FileNotFoundError, match=r"nowhere: GASPAR source not found"):
        read_gaspar(tmp_path / "nowhere", "azi")


# --------------------------------------------------------------------------------------------
# per-city indicators: exact values


def test_index_is_the_cities_index_in_order(folder_2024):
    cities = _cities(*reversed(CODES))
    for func in (
        risq_indicators,
        pprn_indicators,
        azi_indicators,
        tri_indicators,
        dicrim_indicators,
        catnat_gaspar_indicators,
    ):
        out = func(cities, folder_2024)
        assert list(out.index) == list(reversed(CODES)), func.__name__
        assert out.index.name == "insee_com"
        assert indicator_metadata(out)["column"].tolist() == list(out.columns), func.__name__


def test_a_city_gaspar_does_not_know_gets_na_and_the_reason(folder_2024):
    out = dicrim_indicators(_cities(), folder_2024)
    assert out.loc["26198", "dicrim_published"] is pd.NA and out.loc["26198", "dicrim_year"] is pd.NA
    assert out.loc["26198", "dicrim_reason"] == (
        "INSEE code not in GASPAR (dicrim_gaspar.csv, risq_gaspar.csv, catnat_gaspar.csv): GASPAR claims national "
        "coverage, so the commune was probably created or merged after this extract; no value is guessed"
    )
    assert out["dicrim_reason"].isna().tolist() == [True, True, True, True, False]


def test_a_single_file_knows_only_its_own_communes(tmp_path):
    p = _write(tmp_path / "x" / "dicrim_export.csv", DICRIM_2024)  # not named like GASPAR: only this file
    out = dicrim_indicators(_cities(), p)
    assert out["dicrim_published"].tolist() == [pd.NA, True, pd.NA, True, pd.NA]
    assert out.loc["38053", "dicrim_reason"].startswith(
        "INSEE code not in dicrim_export.csv (commune created or merged since the extract, or outside the file)"
    )


def test_dicrim_published_and_year(folder_2024):
    out = dicrim_indicators(_cities(), folder_2024)
    assert str(out["dicrim_published"].dtype) == "boolean" and str(out["dicrim_year"].dtype) == "Int64"
    # 38053 and 2A004 are known to GASPAR (risq, catnat) without a DICRIM; Bastia's has no date
    assert out["dicrim_published"].tolist() == [False, True, False, True, pd.NA]
    assert out["dicrim_year"].tolist() == [pd.NA, 2019, pd.NA, pd.NA, pd.NA]


def test_azi_counts_names(folder_2024):
    out = azi_indicators(_cities(), folder_2024)
    assert str(out["azi_count"].dtype) == "Int64" and str(out["azi_listed"].dtype) == "boolean"
    assert out["azi_count"].tolist() == [1, 2, 0, 0, pd.NA]  # the repeated Albarine row counts once
    assert out["azi_listed"].tolist() == [True, True, False, False, pd.NA]
    assert out["azi_names"].tolist() == [
        "AZI de la Bourbre",
        "AZI de l'Albarine; Atlas des zones inondables de l'Ain",
        pd.NA,
        pd.NA,
        pd.NA,
    ]
    assert out["azi_reason"].notna().tolist() == [False, False, False, False, True]


def test_tri_listed_names(folder_2024):
    out = tri_indicators(_cities(), folder_2024)
    assert out["tri_listed"].tolist() == [True, False, True, False, pd.NA]
    assert out["tri_names"].tolist() == ["TRI de Lyon", pd.NA, "TRI d'Ajaccio", pd.NA, pd.NA]


def test_pprn_2024_dates_decide(folder_2024):
    out = pprn_indicators(_cities(), folder_2024).loc[["38053", "01004", "2A004", "2B033"]]
    expected = {  # 38053, 01004, 2A004, 2B033
        "pprn_flood_approved_count": [0, 1, 0, 0],  # Bourgoin's flood plan was annulled
        "pprn_flood_prescribed_count": [0, 1, 0, 0],
        "pprn_ground_movement_approved_count": [1, 0, 0, 0],  # clay shrink-swell is also ground movement
        "pprn_ground_movement_prescribed_count": [0, 1, 1, 0],  # Ajaccio: cliff retreat
        "pprn_clay_approved_count": [1, 0, 0, 0],
        "pprn_clay_prescribed_count": [0, 0, 0, 0],
        "pprn_forest_fire_approved_count": [0, 0, 1, 0],
        "pprn_coastal_prescribed_count": [0, 0, 1, 0],
        "pprn_earthquake_approved_count": [0, 0, 0, 0],  # Bastia's plan has no date: not counted
        "pprn_other_approved_count": [0, 0, 0, 0],  # « Plan de Prévention … » is not a wind risk
        "pprn_count": [1, 2, 2, 0],
        "pprn_approved_last_year": [2012, 1997, 2011, pd.NA],
    }
    for col, values in expected.items():
        assert out[col].tolist() == values, col
    for fam in PPRN_FAMILIES:
        assert str(out[f"pprn_{fam}_approved_count"].dtype) == "Int64"
    assert out["pprn_reason"].isna().all()
    rep = acv_geo.repair_report(out).set_index("kind")
    assert rep.loc["PPRN without status", "codes"] == "line 9: 2BDDTM20000001"


def test_pprn_2026_states_and_codes(zip_2026):
    out = pprn_indicators(_cities(), zip_2026)
    row = out.loc["01004"]
    assert (row["pprn_flood_approved_count"], row["pprn_flood_prescribed_count"]) == (1, 1)
    assert (row["pprn_ground_movement_approved_count"], row["pprn_ground_movement_prescribed_count"]) == (0, 1)
    assert (row["pprn_count"], row["pprn_approved_last_year"]) == (2, 2004)
    aja = out.loc["2A004"]  # anticipated application: prescribed; the repealed submersion plan: not counted
    assert (aja["pprn_forest_fire_prescribed_count"], aja["pprn_forest_fire_approved_count"]) == (1, 0)
    assert (aja["pprn_coastal_approved_count"], aja["pprn_flood_approved_count"], aja["pprn_count"]) == (0, 0, 1)
    assert aja["pprn_approved_last_year"] is pd.NA
    bastia = out.loc["2B033"]  # no label: code 14 of RISK_FAMILIES is avalanche; approved by its date
    assert (bastia["pprn_avalanche_approved_count"], bastia["pprn_approved_last_year"]) == (1, 2023)
    assert out.loc["38053", "pprn_count"] == 0  # known to GASPAR (ddrm_risq), no plan
    assert out.loc["26198", "pprn_count"] is pd.NA


def test_risq_matches_known_risks_on_the_embedded_rows(tmp_path):
    """risq_indicators on a file holding the embedded DDRM rows equals known_risks_indicators."""
    ddrm = pd.read_csv(acv_geo.get_path("ddrm_risks"), dtype=str).set_index("insee_com")
    labels = dict(pd.read_csv(acv_geo.get_path("ddrm_risk_codes"), dtype=str).itertuples(index=False, name=None))
    cities = _acv()
    lines = ["cod_commune;lib_commune;num_risque;lib_risque"]
    for code in cities.index:
        if code in ddrm.index:
            for risk in ddrm.loc[code, "risk_codes"].split(","):
                lines.append(f"{code.lstrip('0')};x;{risk};{labels[risk]}")
    path = _write(tmp_path / "g" / "risq_gaspar.csv", "\n".join(lines) + "\n")
    got = risq_indicators(cities, path)
    want = known_risks_indicators(cities)
    cols = [f"risk_{f}_known" for f in RISK_FAMILIES] + ["risks_known_count", "risks_known"]
    pd.testing.assert_frame_equal(got[cols], want[cols])
    assert got["risks_known_count"].isna().sum() == 8  # the 8 towns absent from the DDRM list (Drôme…)


def test_risq_exact_values(folder_2024):
    out = risq_indicators(_cities(), folder_2024)
    bastia = out.loc["2B033"]
    assert [f for f in RISK_FAMILIES if bastia[f"risk_{f}_known"]] == [
        "flood",
        "earthquake",
        "forest_fire",
        "coastal",
        "radon",
    ]
    assert bastia["risks_known_count"] == 5
    assert bastia["risks_known"] == (
        "Inondation; Séisme; Feu de forêt; Radon; Risque industriel; Transport de marchandises dangereuses"
    )
    assert out.loc["26198", "risks_known_count"] is pd.NA
    assert out.loc["26198", "risks_known_reason"].startswith("INSEE code not in GASPAR (risq_gaspar.csv, catnat")


# --------------------------------------------------------------------------------------------
# CatNat: exact values, and the same counts as catnat_indicators on the same decrees


def test_catnat_exact_values(folder_2024):
    out = catnat_gaspar_indicators(_cities(), folder_2024)
    expected = {  # 38053, 01004, 2A004, 2B033, 26198
        "catnat_flood_count": [0, 1, 1, 0, pd.NA],
        "catnat_flood_first_year": [pd.NA, 1983, 2018, pd.NA, pd.NA],
        "catnat_drought_count": [0, 2, 0, 0, pd.NA],
        "catnat_drought_first_year": [pd.NA, 2018, pd.NA, pd.NA, pd.NA],
        "catnat_drought_last_year": [pd.NA, 2022, pd.NA, pd.NA, pd.NA],
        "catnat_ground_movement_count": [0, 1, 0, 0, pd.NA],
        "catnat_storm_count": [0, 0, 0, 1, pd.NA],
        "catnat_other_count": [0, 0, 0, 1, pd.NA],
        "catnat_total_count": [0, 3, 1, 2, pd.NA],  # Ambérieu's 1983 decree is flood and landslide: once
    }
    for col, values in expected.items():
        assert out[col].tolist() == values, col
    assert list(out.columns) == list(catnat_indicators(_cities("01004")).columns)
    assert out.loc["26198", "catnat_reason"].startswith("INSEE code not in GASPAR (catnat_gaspar.csv, risq_gaspar")
    rep = acv_geo.repair_report(out).set_index("kind")
    assert rep.loc["unknown peril", "codes"] == "Phénomène inconnu ×1"
    meta = indicator_metadata(out).set_index("column")
    assert meta.loc["catnat_total_count", "source"] == "Géorisques GASPAR catnat_gaspar.csv · Licence Ouverte"
    assert meta.loc["catnat_total_count", "scored"] == "yes"


def _ccr_of(gaspar_csv: str) -> pd.DataFrame:
    """The same decrees in the CCR format read by catnat_indicators."""
    g = pd.read_csv(io.StringIO(gaspar_csv), sep=";", dtype=str, keep_default_na=False)
    day = lambda s: pd.to_datetime(s.str.slice(0, 10), format="mixed", dayfirst=True).dt.strftime("%Y-%m-%d")  # noqa: E731
    return pd.DataFrame(
        {
            "insee": g["cod_commune"],
            "nom_commune": g["lib_commune"],
            "debut_evenement": day(g["dat_deb"]),
            "fin_evenement": day(g["dat_fin"]),
            "date_arrete": day(g["dat_pub_arrete"]),
            "date_parution_jo": day(g["dat_pub_jo"]),
            "nom_peril": g["lib_risque_jo"],
            "code_peril": g["num_risque_jo"].replace({"": "TMP"}),
            "franchise": "Simple",
            "code_nor": g["cod_nat_catnat"],
            "decision": "Reconnue",
        }
    )


def test_catnat_equals_catnat_indicators_on_the_same_decrees(tmp_path):
    gaspar = _write(tmp_path / "g" / "catnat_gaspar.csv", CATNAT_2024)
    ccr = _ccr_of(CATNAT_2024)
    cities = _cities()
    got = catnat_gaspar_indicators(cities, gaspar)
    want = catnat_indicators(cities, ccr)  # coverage 'listed': 38053 and 26198 are NA in both
    pd.testing.assert_frame_equal(got.drop(columns="catnat_reason"), want.drop(columns="catnat_reason"))
    for year in (1990, 2019, 2021):
        got = catnat_gaspar_indicators(cities, gaspar, start=year)
        want = catnat_indicators(cities, ccr, since=year)
        pd.testing.assert_frame_equal(got.drop(columns="catnat_reason"), want.drop(columns="catnat_reason"))


def test_catnat_equals_catnat_indicators_on_the_embedded_acv_decrees(tmp_path):
    """The 3,695 recognised CCR rows of the 244 towns, written the GASPAR way, count the same."""
    ccr = pd.read_csv(acv_geo.get_path("catnat"), dtype=str, keep_default_na=False)
    rec = ccr[ccr["decision"].str.startswith("Reconnue")].reset_index(drop=True)
    even = rec.index % 2 == 0

    def when(col):  # alternate yyyy-mm-dd hh:mm:ss and dd/mm/yyyy
        d = pd.to_datetime(rec[col])
        return d.dt.strftime("%Y-%m-%d 00:00:00").where(even, d.dt.strftime("%d/%m/%Y"))

    gaspar = pd.DataFrame(
        {
            "cod_nat_catnat": rec["code_nor"],
            "cod_commune": rec["insee"].str.lstrip("0"),
            "lib_commune": rec["nom_commune"],
            "num_risque_jo": rec["code_peril"].where(even, ""),  # half the rows known by their label only
            "lib_risque_jo": rec["nom_peril"],
            "dat_deb": when("debut_evenement"),
            "dat_fin": when("fin_evenement"),
            "dat_pub_arrete": when("date_arrete"),
            "dat_pub_jo": when("date_parution_jo"),
            "dat_maj": "",
        }
    )
    path = tmp_path / "g" / "catnat_gaspar.csv"
    path.parent.mkdir()
    gaspar.to_csv(path, sep=";", index=False)
    cities = _acv()
    got = catnat_gaspar_indicators(cities, path)
    want = catnat_indicators(cities)
    assert len(rec) == 3695
    pd.testing.assert_frame_equal(got.drop(columns="catnat_reason"), want.drop(columns="catnat_reason"))
    assert got.loc["01004", "catnat_drought_count"] == 5  # as in the example of catnat_indicators
    kinds = set(acv_geo.repair_report(got)["kind"])
    assert "unknown peril" not in kinds and "INSEE code repaired" in kinds
    got = catnat_gaspar_indicators(cities, path, start=1995, end="2024-12-31")
    want = catnat_indicators(cities, since=1995)
    pd.testing.assert_frame_equal(got.drop(columns="catnat_reason"), want.drop(columns="catnat_reason"))


@pytest.mark.parametrize(
    "label, code, group",
    [
        ("Inondations et/ou Coulées de Boue", "", "flood"),
        ("Inondations et coulées de boue", "", "flood"),
        ("Inondations Remontée Nappe", "", "flood"),
        ("Chocs Mécaniques liés à l'action des Vagues", "", "flood"),
        ("Choc M\ufffdcaniques li\ufffds \ufffd l'action des Vagues", "", "flood"),  # mis-decoded export
        ("Sécheresse", "", "drought"),
        ("Sécheressse", "", "drought"),  # misspelt in some exports
        ("S\ufffdcheresse", "", "drought"),
        (
            "Mouvements de terrain différentiels consécutifs à la sécheresse et à la réhydratation des sols",
            "",
            "drought",
        ),
        ("Mouvement de Terrain", "", "ground_movement"),
        ("Glissement de Terrain", "", "ground_movement"),
        ("Lave Torrentielle", "", "ground_movement"),
        ("Avalanche", "", "ground_movement"),
        ("Séisme", "", "earthquake"),
        ("Secousse Sismique", "", "earthquake"),
        ("Tempête", "", "storm"),
        ("Vents Cycloniques", "", "storm"),
        ("Grêle", "", "storm"),
        ("Poids de la Neige", "", "storm"),
        ("Divers", "", "other"),
        ("", "SEC", "drought"),  # no label: the code, when it is a CCR code
        ("Phénomène inconnu", "MVT", "ground_movement"),
    ],
)
def test_catnat_labels_map_to_the_ccr_groups(tmp_path, label, code, group):
    text = (
        "cod_nat_catnat;cod_commune;num_risque_jo;lib_risque_jo;dat_deb;dat_pub_arrete\n"
        f"INTE1;01004;{code};{label};2001-01-01;2001-02-01\n"
    )
    out = catnat_gaspar_indicators(_cities("01004"), _write(tmp_path / "g" / "catnat_gaspar.csv", text))
    assert out.loc["01004", f"catnat_{group}_count"] == 1
    assert out.loc["01004", "catnat_total_count"] == 1


def test_catnat_2026_export(zip_2026):
    out = catnat_gaspar_indicators(_cities("01004"), zip_2026)
    row = out.loc["01004"]
    assert (row["catnat_flood_count"], row["catnat_drought_count"], row["catnat_total_count"]) == (1, 1, 2)
    assert (row["catnat_drought_first_year"], row["catnat_flood_last_year"]) == (2025, 2016)
    assert (
        acv_geo.repair_report(out).set_index("kind").loc["duplicate row", "detail"] == "1 identical rows counted once"
    )
    only = catnat_gaspar_indicators(_cities("01004"), zip_2026, start=2020, end=2025)
    assert (only.loc["01004", "catnat_flood_count"], only.loc["01004", "catnat_total_count"]) == (0, 1)


def test_catnat_period_checked(folder_2024):
    with pytest.raises(ValueError, match=r"start \(2020\) is after end \(2010\)"):
        catnat_gaspar_indicators(_cities(), folder_2024, start=2020, end=2010)
    with pytest.raises(ValueError, match=r"start must be a year \(1995\) or a date"):
        catnat_gaspar_indicators(_cities(), folder_2024, start="soon")
    with pytest.raises(ValueError, match=r"end must be a year such as 1995 or a date, got 95"):
        catnat_gaspar_indicators(_cities(), folder_2024, end=95)


# --------------------------------------------------------------------------------------------
# all tables at once


def test_gaspar_indicators_concatenates_with_metadata(folder_2024):
    cities = _cities()
    out = gaspar_indicators(cities, folder_2024)
    assert list(out.index) == CODES
    parts = [
        risq_indicators(cities, folder_2024),
        pprn_indicators(cities, folder_2024),
        azi_indicators(cities, folder_2024),
        tri_indicators(cities, folder_2024),
        dicrim_indicators(cities, folder_2024),
        catnat_gaspar_indicators(cities, folder_2024),
    ]
    pd.testing.assert_frame_equal(out, pd.concat(parts, axis=1))
    meta = indicator_metadata(out)
    assert meta["column"].tolist() == list(out.columns)
    assert (meta["source"].str.startswith("Géorisques GASPAR ")).all()
    assert meta.set_index("column").loc["dicrim_published", "role"] == "context"
    files = set(acv_geo.repair_report(out)["file"].map(lambda f: Path(f).name))
    assert files == {"catnat_gaspar.csv", "risq_gaspar.csv", "pprn_gaspar.csv", "azi_gaspar.csv", "dicrim_gaspar.csv"}


def test_gaspar_indicators_without_a_tri_table(zip_2026, caplog):
    with caplog.at_level(logging.WARNING, logger="acv_geo.indicators.gaspar"):
        out = gaspar_indicators(_cities(), zip_2026, tables=("tri", "azi"))
    assert list(out.columns) == [
        "tri_listed",
        "tri_names",
        "tri_reason",
        "azi_count",
        "azi_listed",
        "azi_names",
        "azi_reason",
    ]
    assert out["tri_listed"].isna().all()
    assert out["tri_reason"].str.startswith("no tri table in this GASPAR extract").all()
    assert "no GASPAR tri table" in caplog.text
    assert out["azi_count"].tolist() == [1, 2, 0, 0, pd.NA]


def test_gaspar_indicators_options(folder_2024, tmp_path):
    with pytest.raises(ValueError, match=r"tables must be some of risq, pprn, azi, tri, dicrim, catnat, got \['ppr'\]"):
        gaspar_indicators(_cities(), folder_2024, tables=["ppr"])
    with pytest.raises(ValueError, match=r"got \[\]"):
        gaspar_indicators(_cities(), folder_2024, tables=[])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty: none of the GASPAR tables tri was found"):
        gaspar_indicators(_cities(), tmp_path / "empty", tables="tri")
    with pytest.raises(InputError, match=r"cities are not indexed by insee_com"):
        gaspar_indicators(pd.DataFrame({"insee_com": ["01004"]}), folder_2024)
    assert GASPAR_TABLES == ("risq", "pprn", "azi", "tri", "dicrim", "catnat")


# --------------------------------------------------------------------------------------------
# `acv-geo fetch gaspar` with the shipped catalogue entry, against a local server


def test_several_editions_the_newest_is_read_and_reported(tmp_path):
    d = tmp_path / "g"
    _write(d / "dicrim_gaspar_2025-12-01.csv", "cod_commune;dat_publi_dicrim\n1004;2012-03-01\n")
    _write(d / "sub" / "dicrim_gaspar_2026-09-21.csv", "cod_commune;dat_publi_dicrim\n1004;2020-03-01\n")
    out = dicrim_indicators(_cities("01004"), d)
    assert out.loc["01004", "dicrim_year"] == 2020
    rep = acv_geo.repair_report(out).set_index("kind")
    assert rep.loc["several files", "codes"] == "dicrim_gaspar_2025-12-01.csv, sub/dicrim_gaspar_2026-09-21.csv"
    assert indicator_metadata(out).set_index("column").loc["dicrim_year", "date"] == "2026-09-21"


def test_fetch_gaspar_then_read_it(server, tmp_path, zip_2026, monkeypatch):
    server.files["/GASPAR/gaspar.zip"] = zip_2026.read_bytes()
    entry = dict(load_catalogue()["gaspar"], url=f"{server.base}/GASPAR/gaspar.zip")
    cat = {"sources": {"gaspar": entry}}
    cache = tmp_path / "cache"
    src = fetch("gaspar", cache_dir=cache, catalogue=cat, progress=False)["gaspar"]
    assert sorted(src.layers) == ["azi", "catnat", "dicrim", "pprn", "risq"]
    assert src.path.name == "ddrm_risq_gaspar_2026-09-21.csv"
    first = source_path("gaspar", cache_dir=cache, catalogue=cat)
    assert source_path("gaspar/pprn", cache_dir=cache, catalogue=cat).name == "pprn_gaspar_2026-09-21.csv"
    direct = gaspar_indicators(_cities(), zip_2026, tables=("pprn", "dicrim", "catnat"))
    fetched = gaspar_indicators(_cities(), first, tables=("pprn", "dicrim", "catnat"))
    pd.testing.assert_frame_equal(
        direct.drop(columns=["pprn_reason", "dicrim_reason", "catnat_reason"]),
        fetched.drop(columns=["pprn_reason", "dicrim_reason", "catnat_reason"]),
    )
    # the catalogue name stands for the fetched archive (default cache)
    monkeypatch.setenv("ACV_GEO_CACHE_DIR", str(cache))
    pd.testing.assert_frame_equal(read_gaspar("gaspar", "azi"), read_gaspar(zip_2026, "azi"))
    monkeypatch.setenv("ACV_GEO_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(FileNotFoundError, match=r"source 'gaspar' is not in the cache .*; run `acv-geo fetch gaspar`"):
        read_gaspar("gaspar", "azi")


def test_diagnose_config_names_gaspar_like_any_table(folder_2024, tmp_path):
    """[tables] gaspar = <archive>: its plans, atlases and DICRIM reach every town of the diagnostic."""
    from acv_geo.core.errors import InputError
    from acv_geo.pipeline.config import load_config

    cfg = load_config(
        {
            "tables": {"catnat": False, "gaspar": str(folder_2024)},
            "clusters": {"permutations": 9, "join_counts": False, "morans_i": False, "weights": "knn:1"},
            "maps": {"enabled": False},
        }
    )
    assert [t.kind for t in cfg.tables][-1] == "gaspar" and cfg.tables[-1].columns == ("pprn", "azi", "tri", "dicrim")
    cities = acv_geo.read_acv().loc[["38053", "01004", "2A004"]]
    res = acv_geo.diagnose(cities, config=cfg, out_dir=tmp_path / "out", quiet=True)
    direct = gaspar_indicators(cities, folder_2024, tables=("pprn", "azi", "tri", "dicrim"))
    pd.testing.assert_frame_equal(pd.DataFrame(res.cities[direct.columns]), direct, check_freq=False)
    meta = res.metadata.set_index("column")
    assert meta.loc["azi_count", "role"] == "risk" and meta.loc["azi_count", "label_fr"] != "azi_count"
    with pytest.raises(
        InputError,
        match=r"tables\.gaspar_tables\[0\]: 'catnat' writes the same columns as the "
        r"embedded table 'catnat'; set `catnat = false` to use GASPAR's",
    ):
        load_config({"tables": {"gaspar": str(folder_2024), "gaspar_tables": ["catnat"]}})
    with pytest.raises(InputError, match=r"tables\.gaspar_tables\[0\]: 'ppr' is not a GASPAR table; use risq, "):
        load_config({"tables": {"gaspar": str(folder_2024), "gaspar_tables": ["ppr"]}})


def test_the_fetched_catnat_table_reaches_diagnose_and_the_cli(folder_2024, tmp_path, capsys):
    """`acv-geo fetch catnat` gives GASPAR's table: `[tables] catnat = FILE` and `tables --catnat FILE` read it."""
    from acv_geo.cli import main
    from acv_geo.pipeline.config import load_config
    from acv_geo.read.gaspar import is_gaspar_catnat

    path = folder_2024 / "catnat_gaspar.csv"
    assert is_gaspar_catnat(path) and is_gaspar_catnat(folder_2024)
    assert not is_gaspar_catnat(acv_geo.get_path("catnat"))
    cities = acv_geo.read_acv().loc[["38053", "01004", "2A004"]]
    cfg = load_config(
        {
            "tables": {"catnat": str(path), "catnat_since": 2000},
            "clusters": {"permutations": 9, "join_counts": False, "morans_i": False, "weights": "knn:1"},
            "maps": {"enabled": False},
        }
    )
    res = acv_geo.diagnose(cities, config=cfg, out_dir=tmp_path / "out", quiet=True)
    direct = catnat_gaspar_indicators(cities, path, start=2000)
    pd.testing.assert_frame_equal(pd.DataFrame(res.cities[direct.columns]), direct, check_freq=False)
    out = tmp_path / "t.csv"
    assert main(["tables", "--catnat", str(path), "--since", "2000", "--out", str(out)]) == 0
    got = pd.read_csv(out, dtype={"insee_com": str}).set_index("insee_com")
    assert got.loc["38053", "catnat_total_count"] == direct.loc["38053", "catnat_total_count"]
