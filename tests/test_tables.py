"""Per-commune tables: radon, CatNat and any table, on the real embedded data."""

from __future__ import annotations

import pandas as pd
import pytest

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.core.metadata import indicator_metadata
from acv_geo.indicators.tables import CATNAT_GROUPS, catnat_indicators, join_commune_table, radon_indicators


def _cities(*codes):
    return pd.DataFrame({"commune": list(codes)}, index=pd.Index(list(codes), name="insee_com"))


# ------------------------------------------------------------------ radon


def test_radon_known_towns():
    out = radon_indicators(_cities("01004", "29232", "38053", "22278", "73065"))
    assert out["radon_class"].tolist() == [2, 3, 1, 3, 2]
    assert str(out["radon_class"].dtype) == "Int64"
    assert out["radon_reason"].isna().all()
    assert indicator_metadata(out).set_index("column").loc["radon_class", "unit"] == "class 1-3"


def test_radon_all_acv_cities_have_a_class():
    acv = pd.read_csv(acv_geo.get_path("acv_communes"), dtype=str).set_index("insee_com")
    out = radon_indicators(acv)
    assert list(out.index) == list(acv.index)
    assert out["radon_class"].notna().all()
    assert out["radon_class"].value_counts().to_dict() == {1: 153, 3: 55, 2: 36}


def test_radon_missing_city_gets_na_and_reason():
    out = radon_indicators(_cities("01004", "99999"))
    assert out["radon_class"].isna().tolist() == [False, True]
    assert out.loc["99999", "radon_reason"].startswith("INSEE code not in the radon table")


def test_radon_raw_irsn_file_repaired(shared_data):
    raw_path = shared_data / "risks" / "radon_irsn_communes.csv"
    acv = pd.read_csv(acv_geo.get_path("acv_communes"), dtype=str).set_index("insee_com")
    out = radon_indicators(acv, raw_path)
    pd.testing.assert_series_equal(out["radon_class"], radon_indicators(acv)["radon_class"])
    rep = acv_geo.repair_report(out).set_index("kind")
    assert rep.loc["INSEE code repaired", "count"] == 3191
    assert rep.loc["unusable INSEE code", "count"] == 140  # incl. the two '#VALEUR!' rows
    assert rep.loc["duplicate INSEE code", "count"] == 2
    # Ambérieu-en-Bugey is written '1004' in the raw file
    raw = pd.read_csv(raw_path, sep=";", dtype=str)
    assert raw.loc[raw["insee_com"] == "1004", "classe_potentiel"].tolist() == ["2"]


def test_radon_bad_classes_and_duplicates_reported(tmp_path):
    p = tmp_path / "radon.csv"
    p.write_text("nom_comm;insee_com;classe_potentiel\nA;1004;1\nA;01004;3\nB;38053;#VALEUR!\nC;;2\n")
    out = radon_indicators(_cities("01004", "38053"), p)
    assert out.loc["01004", "radon_class"] == 3  # highest class kept
    assert pd.isna(out.loc["38053", "radon_class"])
    kinds = set(acv_geo.repair_report(out)["kind"])
    assert kinds == {"INSEE code repaired", "invalid radon class", "unusable INSEE code", "duplicate INSEE code"}


def test_radon_table_without_class_column(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("insee_com;other\n01004;1\n")
    with pytest.raises(InputError, match=r"r\.csv: cannot find the radon class column among \['insee_com', 'other'\]"):
        radon_indicators(_cities("01004"), p)


# ------------------------------------------------------------------ CatNat


def _expected_catnat(code, *, recognised_only=True, since=None):
    """Independent count: plain python over the CSV rows."""
    rows = pd.read_csv(acv_geo.get_path("catnat"), dtype=str, keep_default_na=False)
    groups = {
        "flood": {"ICB", "IRN", "CMV", "RAZ", "COB"},
        "drought": {"SEC"},
        "ground_movement": {"MVT", "GLT", "EFA", "ECB"},
        "earthquake": {"SEI"},
        "storm": {"TMP", "VCY", "GRL", "PDN"},
        "other": {"DIV"},
    }
    keys = {g: set() for g in groups}
    years = {g: [] for g in groups}
    total = set()
    for _, r in rows[rows["insee"] == code].iterrows():
        if recognised_only and not r["decision"].startswith("Reconnue"):
            continue
        if since is not None and int(r["debut_evenement"][:4]) < since:
            continue
        key = r["code_nor"] if r["code_nor"] else r["date_arrete"]
        g = next(g for g, codes in groups.items() if r["code_peril"] in codes)
        keys[g].add(key)
        years[g].append(int(r["debut_evenement"][:4]))
        total.add(key)
    return {g: (len(keys[g]), min(years[g], default=None), max(years[g], default=None)) for g in groups}, len(total)


@pytest.mark.parametrize("code", ["01004", "73065", "34003", "13004"])
def test_catnat_counts_match_plain_count(code):
    out = catnat_indicators(_cities(code))
    exp, total = _expected_catnat(code)
    for g, (n, first, last) in exp.items():
        assert out.loc[code, f"catnat_{g}_count"] == n, g
        got_first = out.loc[code, f"catnat_{g}_first_year"]
        assert (pd.isna(got_first) and first is None) or got_first == first
        got_last = out.loc[code, f"catnat_{g}_last_year"]
        assert (pd.isna(got_last) and last is None) or got_last == last
    assert out.loc[code, "catnat_total_count"] == total


def test_catnat_exact_values_amberieu():
    # 01004 Ambérieu-en-Bugey: recognised decrees read off the CSV rows by hand
    out = catnat_indicators(_cities("01004")).loc["01004"]
    assert (out["catnat_flood_count"], out["catnat_flood_first_year"], out["catnat_flood_last_year"]) == (4, 1983, 2021)
    assert (out["catnat_drought_count"], out["catnat_drought_first_year"]) == (5, 2003)
    assert out["catnat_ground_movement_count"] == 1
    # the 1983-09-06 decree recognised flood and landslide: counted once in the total
    assert out["catnat_total_count"] == 9


def test_catnat_options():
    all_dec = catnat_indicators(_cities("03185"), recognised_only=False)
    rec = catnat_indicators(_cities("03185"))
    exp_all, tot_all = _expected_catnat("03185", recognised_only=False)
    assert all_dec.loc["03185", "catnat_drought_count"] == exp_all["drought"][0]
    assert all_dec.loc["03185", "catnat_total_count"] == tot_all >= rec.loc["03185", "catnat_total_count"]
    recent = catnat_indicators(_cities("01004"), since=2000)
    exp, tot = _expected_catnat("01004", since=2000)
    assert recent.loc["01004", "catnat_total_count"] == tot
    assert recent.loc["01004", "catnat_flood_first_year"] >= 2000
    with pytest.raises(ValueError, match="since must be a year"):
        catnat_indicators(_cities("01004"), since="2000")


def test_catnat_city_outside_embedded_extract():
    out = catnat_indicators(_cities("01004", "75056"))
    assert pd.isna(out.loc["75056", "catnat_total_count"])
    assert "embedded CatNat extract covers the 244 ACV communes" in out.loc["75056", "catnat_reason"]
    assert out.loc["01004", "catnat_total_count"] == 9


def test_catnat_ccr_format_with_lost_zeros_and_duplicates(tmp_path):
    rows = pd.read_csv(acv_geo.get_path("catnat"), dtype=str)
    sub = rows[rows["insee"].isin(["01004", "73065"])].copy()
    sub["insee"] = sub["insee"].str.lstrip("0")
    sub = pd.concat([sub, sub.iloc[:3]])  # duplicated rows
    p = tmp_path / "ccr.csv"
    sub.to_csv(p, index=False)
    out = catnat_indicators(_cities("01004", "73065", "38053"), p)
    ref = catnat_indicators(_cities("01004", "73065"))
    cols = [c for c in ref.columns if c != "catnat_reason"]
    pd.testing.assert_frame_equal(out.loc[["01004", "73065"], cols], ref[cols])
    # a commune the file does not list is not measured: NA and the reason, never 0…
    assert out.loc["38053", "catnat_total_count"] is pd.NA
    assert out.loc["38053", "catnat_reason"].startswith("not listed in ccr.csv: a commune the table does not list")
    # …unless the file says it is complete: then no row means no decree
    national = catnat_indicators(_cities("01004", "73065", "38053"), p, coverage="national")
    assert national.loc["38053", "catnat_total_count"] == 0 and national["catnat_reason"].isna().all()
    by_dep = catnat_indicators(_cities("01004", "73065", "38053"), p, coverage=["01", "73"])
    assert by_dep.loc["38053", "catnat_total_count"] is pd.NA
    assert "(its coverage: departments 01, 73)" in by_dep.loc["38053", "catnat_reason"]
    rep = acv_geo.repair_report(out).set_index("kind")
    assert rep.loc["duplicate row", "detail"] == "3 identical rows counted once"
    assert rep.loc["INSEE code repaired", "count"] == (sub["insee"] == "1004").sum() - 3


def test_catnat_parquet_full_file(shared_data):
    pytest.importorskip("pyarrow")
    acv = pd.read_csv(acv_geo.get_path("acv_communes"), dtype=str).set_index("insee_com")
    out = catnat_indicators(acv, shared_data / "risks" / "catnat_decrees_ccr_1982-2024.parquet")
    ref = catnat_indicators(acv)
    cols = [c for c in ref.columns if c != "catnat_reason"]
    pd.testing.assert_frame_equal(out[cols], ref[cols])


def test_catnat_peril_mapping_documented():
    assert CATNAT_GROUPS["CMV"] == "flood" and CATNAT_GROUPS["SEC"] == "drought"
    assert CATNAT_GROUPS["GRL"] == "storm" and CATNAT_GROUPS["AVA"] == "ground_movement"


def test_catnat_missing_columns(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("insee,code_peril,date_arrete,debut_evenement\n01004,ICB,2020-01-01,2019-12-01\n")
    with pytest.raises(InputError, match="no 'decision' column.*recognised_only=False"):
        catnat_indicators(_cities("01004"), p)
    out = catnat_indicators(_cities("01004"), p, recognised_only=False)
    assert out.loc["01004", "catnat_flood_count"] == 1


# ------------------------------------------------------------------ any table


def test_join_semicolon_csv_with_numeric_codes(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("CODGEO;taux;label\n1004;1,5;a\n1004;9;dup\n73065;2;b\n", encoding="cp1252")
    out = join_commune_table(_cities("73065", "01004", "38053"), p, prefix="x")
    assert list(out.index) == ["73065", "01004", "38053"]
    assert out["x_taux"].tolist()[:2] == [2.0, 1.5] and pd.isna(out.loc["38053", "x_taux"])
    assert out.loc["01004", "x_label"] == "a"  # first row of a duplicated code kept
    assert out.loc["38053", "x_reason"].startswith("INSEE code not in the table t.csv")
    rep = acv_geo.repair_report(out).set_index("kind")
    assert rep.loc["duplicate INSEE code", "codes"] == "01004"


def test_join_xlsx_and_explicit_column(tmp_path):
    p = tmp_path / "t.xlsx"
    pd.DataFrame({"commune code": ["01004", "2A004"], "n": [1, 2]}).to_excel(p, index=False)
    out = join_commune_table(_cities("2A004", "01004"), p, insee_column="commune code", columns=["n"])
    assert out["n"].tolist() == [2, 1] and list(out.columns) == ["n", "join_reason"]


def test_join_bad_input(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("code,val\n01004,1\n")
    with pytest.raises(InputError, match=r"t\.csv: cannot find the INSEE code column among \['code', 'val'\]"):
        join_commune_table(_cities("01004"), p)
    with pytest.raises(InputError, match=r"t\.csv: no column 'insee'"):
        join_commune_table(_cities("01004"), p, insee_column="insee")
    with pytest.raises(InputError, match=r"column\(s\) \['nope'\] not found"):
        join_commune_table(_cities("01004"), p, insee_column="code", columns=["nope"])
    with pytest.raises(InputError, match=r"unknown commune table format '\.json'"):
        join_commune_table(_cities("01004"), tmp_path / "t.json" if (tmp_path / "t.json").write_text("{}") else p)
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        join_commune_table(_cities("01004"), tmp_path / "absent.csv")


def test_windows_1252_table_is_decoded_and_reported(tmp_path):
    import acv_geo

    path = tmp_path / "t.csv"
    path.write_bytes("insee_com;niveau\n38053;élevé\n".encode("cp1252"))
    cities = pd.DataFrame(index=pd.Index(["38053", "40192"], name="insee_com"))
    out = acv_geo.join_commune_table(cities, path)
    assert out.filter(like="niveau").iloc[0, 0] == "élevé"
    rep = acv_geo.repair_report(out)
    assert "encoding" in set(rep["kind"])


# ------------------------------------------------------------------ shared helpers


def test_tables_and_gaspar_import_no_private_name():
    # the helpers both need live, public, in acv_geo.indicators.common: no module reaches into another's privates
    import ast
    from pathlib import Path

    import acv_geo.indicators.gaspar as gaspar
    import acv_geo.indicators.tables as tables

    for module in (tables, gaspar):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        private = [
            f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("acv_geo")
            for alias in node.names
            if alias.name.startswith("_")
        ]
        assert not private, f"{module.__name__} imports {private}"


def test_no_city_gives_empty_tables_with_every_column():
    import acv_geo

    none = acv_geo.read_acv().iloc[:0]
    some = acv_geo.read_acv().iloc[:3]
    for func, kwargs in [
        (acv_geo.radon_indicators, {}),
        (acv_geo.catnat_indicators, {}),
        (acv_geo.catnat_indicators, {"coverage": ["34"]}),
        (acv_geo.seismic_indicators, {}),
        (acv_geo.known_risks_indicators, {}),
    ]:
        empty = func(none, **kwargs)
        assert len(empty) == 0 and empty.index.name == "insee_com"
        assert list(empty.columns) == list(func(some, **kwargs).columns), func.__name__
