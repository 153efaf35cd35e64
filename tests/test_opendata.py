"""Open-data status from the OpenDataFrance observatory."""

from __future__ import annotations

import pandas as pd
import pytest

import acv_geo
from acv_geo.core.errors import InputError


@pytest.fixture(scope="module")
def bare():
    return acv_geo.read_acv(observatory=None)


def test_bare_cities_have_na_status(bare):
    assert bare["opendata"].isna().all()


def test_observatory_2022_repairs():
    obs = acv_geo.read_observatory("odater_2022")
    assert len(obs) == 1060 and obs.index.name == "siren"
    assert "187609110" in obs.index  # had an invisible U+200E prefix
    assert obs.loc["214001927", "url_datagouv"] is None  # 23-character id in the export: no URL built
    assert any("not 24 hexadecimal" in r for r in obs.attrs["repairs"])
    assert obs.loc["200069110", "techno"] == "OpenDataSoft, DataGouv"


def test_observatory_2020_workbook_themes_and_duplicate():
    obs = acv_geo.read_observatory("odater_2020")
    assert len(obs) == 762  # 763 rows, SIREN 200066876 listed twice
    assert any("200066876" in r for r in obs.attrs["repairs"])
    # Grand Chambéry is hosted by the platform "Data Grand Chambéry" (OpenDataSoft, Généraliste)
    assert obs.loc["200069110", ["techno", "themes"]].tolist() == ["OpenDataSoft", "Généraliste"]


def test_status_rule_on_real_towns(bare):
    st = acv_geo.opendata_status(bare, observatory="odater_2022", previous="odater_2020")
    assert st.index.equals(bare.index)
    # Mont-de-Marsan publishes itself (SIREN 214001927), Bourgoin-Jallieu through CAPI (243800604)
    assert st.loc["40192", ["opendata_com", "opendata_level"]].tolist() == [True, "commune"]
    assert st.loc["38053", ["opendata_com", "opendata_epci", "opendata_level"]].tolist() == [False, True, "epci"]
    assert st["opendata"].notna()["48095"] and not bool(st["opendata"]["48095"])  # Mende: known, and no
    assert st.loc["38053", "url_datagouv_epci"] == "https://www.data.gouv.fr/fr/organizations/5c516739634f4121096513af/"
    assert set(st["opendata_change"].dropna()) <= {"new", "kept", "stopped", "never"}
    assert st["opendata_change"].value_counts().to_dict() == {"never": 133, "kept": 96, "new": 15}
    assert not bare["opendata"].notna().any()  # input not mutated


def test_status_with_user_csv(bare, tmp_path):
    path = tmp_path / "obs.csv"
    path.write_text(
        '"siren","nom","url_platform","id_datagouv","techno_platform"\n243800604,"CAPI",https://data.capi.fr,,"CKAN"\n',
        encoding="utf-8",
    )
    st = acv_geo.opendata_status(bare.loc[["38053", "40192"]], observatory=path, previous=None)
    assert st["opendata"].tolist() == [True, False]
    assert st.loc["38053", "techno_epci"] == "CKAN"
    assert "opendata_change" not in st


def test_status_bad_input(bare, tmp_path):
    with pytest.raises(InputError, match="cities has no 'siren_epci' column"):
        acv_geo.opendata_status(pd.DataFrame(index=pd.Index(["38053"], name="insee_com")))
    with pytest.raises(FileNotFoundError, match=r"missing\.csv: no such observatory file"):
        acv_geo.opendata_status(bare, observatory=tmp_path / "missing.csv")
    (tmp_path / "x.csv").write_text("id,name\n1,a\n")
    with pytest.raises(InputError, match=r"x\.csv: no 'siren' column among \['id', 'name'\]"):
        acv_geo.opendata_status(bare, observatory=tmp_path / "x.csv")


@pytest.mark.parametrize("sep", [";", ","])
def test_observatory_csv_with_either_separator(tmp_path, sep):
    """The separator is sniffed (core.files.sniff_separator): ';' and ',' exports read the same."""
    rows = [
        ["siren", "nom", "url_platform", "id_datagouv", "techno_platform"],
        ["210100046", "Ambérieu-en-Bugey", "https://data.example/a", "0123456789abcdef01234567", "ckan"],
        ["\u200e240100883", "CC de la Plaine de l'Ain", "https://data.example/b", "bad-id", "opendatasoft"],
    ]
    path = tmp_path / "odater.csv"
    path.write_bytes(("\n".join(sep.join(r) for r in rows) + "\n").encode("cp1252", errors="ignore"))
    obs = acv_geo.read_observatory(path)
    assert obs.index.tolist() == ["210100046", "240100883"]
    assert obs.loc["210100046", "url_datagouv"] == "https://www.data.gouv.fr/fr/organizations/0123456789abcdef01234567/"
    assert obs.loc["240100883", "techno"] == "opendatasoft"
    assert any("Windows-1252" in r for r in obs.attrs["repairs"])
