"""The embedded national risk baseline: seismic zone and risks known per commune, for every town."""

from __future__ import annotations

import pandas as pd
import pytest

import acv_geo
from acv_geo.indicators.tables import RISK_FAMILIES, known_risks_indicators, seismic_indicators


@pytest.fixture(scope="module")
def cities():
    return acv_geo.read_acv()


def test_every_town_has_a_seismic_zone_or_a_reason(cities):
    out = seismic_indicators(cities)
    assert list(out.index) == list(cities.index)
    assert (out["seismic_zone"].notna() | out["seismic_reason"].notna()).all()
    assert out["seismic_zone"].notna().all()  # the 244 ACV towns are all in the zoning (Mayotte by the décret)
    assert out["seismic_zone"].value_counts().to_dict() == {1: 92, 2: 82, 3: 55, 4: 10, 5: 5}


@pytest.mark.parametrize(
    "code, zone",
    [
        ("73065", 4),  # Chambéry, Alps
        ("65440", 4),  # Tarbes, Pyrenees
        ("97105", 5),  # Basse-Terre, Guadeloupe
        ("97209", 5),  # Fort-de-France, Martinique
        ("28085", 1),  # Chartres, Paris basin
        ("45208", 1),  # Montargis, Paris basin
        ("97611", 3),  # Mamoudzou: Mayotte, zone 3 by the décret (not in the communal file)
    ],
)
def test_seismic_spot_values(code, zone):
    out = seismic_indicators(pd.DataFrame(index=pd.Index([code], name="insee_com")))
    assert out.loc[code, "seismic_zone"] == zone


def test_a_code_not_in_the_zoning_is_unknown_not_guessed():
    out = seismic_indicators(pd.DataFrame(index=pd.Index(["99999"], name="insee_com")))
    assert out.loc["99999", "seismic_zone"] is pd.NA
    assert out.loc["99999", "seismic_reason"].startswith("not in the seismic zoning file: commune created or merged")


def test_known_risks_of_every_town_or_a_reason(cities):
    out = known_risks_indicators(cities)
    assert list(out.index) == list(cities.index)
    missing = sorted(out.index[out["risks_known_count"].isna()])
    # Drôme (26) and Puy-de-Dôme (63) are absent from the source, and one town of the Oise
    assert missing == ["26057", "26198", "26281", "26362", "60612", "63178", "63300", "63430"]
    assert out.loc[missing, "risks_known_reason"].str.contains("Drôme and Puy-de-Dôme").all()
    assert out.loc[missing, [f"risk_{f}_known" for f in RISK_FAMILIES]].isna().all().all()


def test_known_risks_hand_read_from_the_gaspar_row():
    # 01004 (Ambérieu-en-Bugey): codes 11, 12, 13, 113, 124 in the DDRM file
    out = known_risks_indicators(pd.DataFrame(index=pd.Index(["01004"], name="insee_com")))
    row = out.loc["01004"]
    assert bool(row["risk_flood_known"]) and bool(row["risk_ground_movement_known"])
    assert bool(row["risk_earthquake_known"])
    assert not bool(row["risk_clay_known"]) and not bool(row["risk_forest_fire_known"])
    assert row["risks_known_count"] == 3
    assert row["risks_known"] == "Inondation; Mouvement de terrain; Séisme"


def test_the_diagnostic_shows_them_in_every_fiche(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        "[tables]\nradon = false\ncatnat = false\n\n[clusters]\npermutations = 99\n\n[maps]\nenabled = false\n",
        encoding="utf-8",
    )
    res = acv_geo.diagnose(config=config, out_dir=tmp_path / "d", quiet=True)
    html = (tmp_path / "d" / "report.html").read_text(encoding="utf-8")
    assert html.count("<h3>Risques connus</h3>") == 244
    assert "Zone sismique : <b>zone 4 (moyenne)</b>" in html
    assert res.cities.loc["73065", "seismic_zone"] == 4
    meta = res.metadata.set_index("column")
    assert "2010-1255" in meta.loc["seismic_zone", "source"] and meta.loc["risks_known", "date"] == "2026-10-05"
    # nationally comparable: they feed the risk sub-score of every town
    n = res.cities["risk_n_indicators"]
    known = res.cities["risks_known_count"].notna()
    assert (n[known] == 2).all() and (n[~known] == 1).all()


def test_cli_tables_seismic_and_known_risks_equal_the_functions(tmp_path, cities):
    from acv_geo.cli import main

    out = tmp_path / "t.csv"
    assert main(["tables", "--seismic", "--known-risks", "--out", str(out)]) == 0
    got = pd.read_csv(out, dtype={"insee_com": str}).set_index("insee_com")
    assert got["seismic_zone"].tolist() == seismic_indicators(cities)["seismic_zone"].astype(int).tolist()
    known = known_risks_indicators(cities)
    assert got["risks_known_count"].isna().sum() == 8
    assert got["risks_known_count"].dropna().astype(int).tolist() == known["risks_known_count"].dropna().tolist()
