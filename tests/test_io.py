"""Loaders: the embedded default, the real CDC records and every repair / bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.read.cities import CITY_COLUMNS

SAMPLE = "cdc_acv_opendata_sample5.json"

# The 20-field label header of the CDC CSV export, with its two repeated columns.
CDC_HEADER = [
    "Code INSEE Commune",
    "COMMUNE_ACV",
    "EPCI",
    "Opendata_COM_EPCI",
    "REGION",
    "DEPARTEMENT",
    "Code_DEP",
    "nom_COM_avec_portail_OPENDATA",
    "siren_COM_avec_portail_OPENDATA",
    "url_portail_COM",
    "url_datagouv_COM",
    "siren_epci_avec_portail_OPENDATA",
    "nom_epci_avec_portail_OPENDATA",
    "url_portail_epci",
    "url_datagouv_epci",
    "Techno_ptf_epci",
    "Thématiques_epci",
    "Techno_ptf_epci",
    "Thématiques_epci",
    "centroid",
]


@pytest.fixture(scope="module")
def cities():
    return acv_geo.read_acv()


@pytest.fixture(scope="module")
def sample_records(shared_data):
    return json.loads((shared_data / "acv" / SAMPLE).read_text(encoding="utf-8"))


def _cdc_csv(records, path, *, sep=";", bom=True, encoding="utf-8", mutate=None):
    rows = []
    for r in records:
        row = [r.get(h, "") for h in CDC_HEADER]
        rows.append(row)
    if mutate:
        mutate(rows)
    text = (
        "\n".join(
            sep.join(f'"{v}"' if sep in str(v) or "," in str(v) else str(v) for v in row) for row in [CDC_HEADER, *rows]
        )
        + "\n"
    )
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


# ---------------------------------------------------------------- embedded default


def test_default_has_244_unique_cities(cities):
    assert len(cities) == 244
    assert cities.index.name == "insee_com"
    assert cities.index.is_unique
    assert all(isinstance(c, str) and len(c) == 5 for c in cities.index)
    assert cities.crs.to_epsg() == 4326
    assert list(cities.columns[: len(CITY_COLUMNS)]) == CITY_COLUMNS


def test_corsica_codes_intact(cities):
    assert {"2A004", "2B033"} <= set(cities.index)
    assert cities.loc["2A004", "commune"] == "Ajaccio"
    assert cities.loc["2B033", "code_dep"] == "2B"


def test_overseas_towns_at_true_positions(cities, shared_data):
    import geopandas as gpd

    overseas = cities[cities["territory"] != "metropole"]
    assert len(overseas) == 16
    assert overseas["territory"].value_counts().to_dict() == {
        "reunion": 5,
        "mayotte": 4,
        "guadeloupe": 3,
        "guyane": 2,
        "martinique": 2,
    }
    # each point lies inside its own commune polygon (independent source: the shared national layer)
    poly = gpd.read_file(
        shared_data / "boundaries" / "communes_cog2025.gpkg",
        where="insee_com IN ({})".format(",".join(f"'{c}'" for c in overseas.index)),
    ).set_index("insee_com")
    assert shapely.covers(poly.geometry.reindex(overseas.index).values, overseas.geometry.values).all()
    # the ANCT file had Basse-Terre in a map inset at (-4.42, 45.06): repaired and reported
    assert overseas.loc["97105"].geometry.x < -61
    rep = acv_geo.repair_report(cities)
    inset = rep[rep["kind"] == "overseas map-inset position"]
    assert int(inset["count"].iloc[0]) == 16
    assert (cities.loc[overseas.index, "position_source"].str.contains("map-inset")).all()


def test_every_city_joined_to_its_epci(cities):
    epci = acv_geo.read_epci()
    assert cities["siren_epci"].isin(epci.index).all()
    assert (cities["epci_check"] == "ok").all()
    # Thionville: the IGN commune layer carries SIREN 992367730 that exists in no EPCI layer
    assert cities.loc["57672", "siren_epci"] == "245701362"
    assert cities["epci"].notna().all()


def test_local_crs_per_territory(cities):
    expected = {
        "metropole": 2154,
        "guadeloupe": 5490,
        "martinique": 5490,
        "guyane": 2972,
        "reunion": 2975,
        "mayotte": 4471,
    }
    for terr, epsg in expected.items():
        assert acv_geo.local_crs(terr) == epsg
    with pytest.raises(ValueError, match=r"unknown territory 'corse'; expected one of \['guadeloupe'"):
        acv_geo.local_crs("corse")


def test_default_opendata_status_counts(cities):
    # derived from ODATER 2022: counted independently from the raw files below
    obs = pd.read_csv(acv_geo.get_path("odater_2022"), dtype=str)
    listed = {s.replace("\u200e", "").strip() for s in obs["siren"]}
    ref = pd.read_csv(acv_geo.get_path("communes_france"), dtype=str).set_index("insee_com")
    com = ref.loc[cities.index, "siren_com"].isin(listed).to_numpy()
    epci = cities["siren_epci"].isin(listed).to_numpy()
    assert cities["opendata_com"].to_numpy(dtype=bool).tolist() == com.tolist()
    assert cities["opendata_epci"].to_numpy(dtype=bool).tolist() == epci.tolist()
    assert int(cities["opendata"].sum()) == int((com | epci).sum()) == 111
    assert cities["opendata_level"].value_counts().to_dict() == {"none": 133, "epci": 66, "commune": 45}


# ---------------------------------------------------------------- the 5 real CDC records


def test_cdc_json_sample(shared_data):
    c = acv_geo.read_acv(shared_data / "acv" / SAMPLE)
    assert list(c.index) == ["40192", "71076", "26057", "48095", "38053"]
    assert c["code_dep"].tolist() == ["40", "71", "26", "48", "38"]
    assert c["departement"].tolist() == ["Landes", "Saône-et-Loire", "Drôme", "Lozère", "Isère"]
    assert c["opendata"].tolist() == [True, True, False, False, True]
    assert c["opendata_com"].tolist() == [True, False, False, False, False]
    assert c["opendata_epci"].tolist() == [False, True, False, False, True]
    assert c["opendata_level"].tolist() == ["commune", "epci", "none", "none", "epci"]
    assert c.loc["38053", "themes_epci"] == "Transport"
    # centroid "lat, lon" text
    assert c.loc["40192"].geometry.x == pytest.approx(-0.490479989)
    assert c.loc["40192"].geometry.y == pytest.approx(43.899526468)
    rep = acv_geo.repair_report(c)
    row = rep[rep["kind"] == "Code_DEP holds the region code"].iloc[0]
    assert row["count"] == 5 and row["codes"] == "40192, 71076, 26057, 48095, 38053"
    assert (c["siren_epci"] == ["244000808", "247100589", "200068781", "244800405", "243800604"]).all()


def test_cdc_csv_label_headers_bom_duplicated_columns(sample_records, tmp_path):
    path = _cdc_csv(sample_records, tmp_path / "cdc.csv")
    c = acv_geo.read_acv(path)
    assert c["opendata"].tolist() == [True, True, False, False, True]
    assert c.loc["71076", "techno_epci"] == "Spécifique"
    rep = acv_geo.repair_report(c)
    dup = rep[rep["kind"] == "duplicated column"]
    assert set(dup["column"]) == {"techno_epci", "themes_epci"}


def test_cdc_csv_comma_without_bom(sample_records, tmp_path):
    path = _cdc_csv(sample_records, tmp_path / "cdc.csv", sep=",", bom=False)
    c = acv_geo.read_acv(path)
    assert c["code_dep"].tolist() == ["40", "71", "26", "48", "38"]
    assert c.loc["48095"].geometry.y == pytest.approx(44.529242351)


def test_cdc_geojson_export(sample_records, tmp_path):
    feats = []
    for r in sample_records:
        lat, lon = (float(v) for v in r["centroid"].split(","))
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {k: v for k, v in r.items() if k != "centroid"},
            }
        )
    path = tmp_path / "cdc.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    c = acv_geo.read_acv(path)
    assert c.loc["26057"].geometry.x == pytest.approx(5.050588092)
    assert c["opendata"].tolist() == [True, True, False, False, True]


def test_opendatasoft_records_json(sample_records, tmp_path):
    recs = [{"datasetid": "x", "recordid": str(i), "fields": r} for i, r in enumerate(sample_records)]
    path = tmp_path / "ods.json"
    path.write_text(json.dumps(recs), encoding="utf-8")
    assert acv_geo.read_acv(path)["opendata_epci"].tolist() == [False, True, False, False, True]


# ---------------------------------------------------------------- repairs


def test_repairs_codes_sirens_flags(sample_records, tmp_path):
    def mutate(rows):
        rows[0][0] = "40192.0"  # INSEE exported as a float
        rows[1][8] = ""
        rows[2][3] = ""  # blank flag -> NA
        rows[4][11] = "243800604.0"  # SIREN exported as number

    path = _cdc_csv(sample_records, tmp_path / "cdc.csv", mutate=mutate)
    c = acv_geo.read_acv(path)
    assert c.index[0] == "40192"
    assert c.loc["26057", "opendata"] is pd.NA
    assert c.loc["26057", "opendata_level"] is None
    rep = acv_geo.repair_report(c)
    assert rep.loc[rep["kind"] == "INSEE code repaired", "codes"].item() == "40192"


def test_lost_leading_zero_and_corsica_case(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("insee_com;lib_com\n1004;Ambérieu-en-Bugey\n2a004;Ajaccio\n", encoding="utf-8")
    c = acv_geo.read_acv(path)
    assert list(c.index) == ["01004", "2A004"]
    assert c.loc["01004", "code_dep"] == "01"
    rep = acv_geo.repair_report(c)
    assert rep.loc[rep["kind"] == "INSEE code repaired", "codes"].item() == "01004, 2A004"
    # no position in the file: commune polygon's representative point, reported
    assert rep.loc[rep["kind"] == "position from commune polygon", "count"].item() == 2
    assert c["opendata"].notna().all()  # derived from the embedded observatory


def test_swapped_coordinates_repaired(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("insee_com,lat,lon\n38053,5.2739,45.6024\n", encoding="utf-8")
    c = acv_geo.read_acv(path)
    assert c.geometry.iloc[0].x == pytest.approx(5.2739)
    assert "swapped coordinates" in set(acv_geo.repair_report(c)["kind"])


def test_exact_duplicate_rows_reported_not_lost(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("insee_com;lib_com\n38053;Bourgoin-Jallieu\n38053;Bourgoin-Jallieu\n40192;Mont\n")
    c = acv_geo.read_acv(path)
    assert list(c.index) == ["38053", "40192"]
    rep = acv_geo.repair_report(c)
    assert rep.loc[rep["kind"] == "duplicate row removed", "codes"].item() == "38053"


def test_windows_1252_file_is_decoded_and_reported(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes("insee_com;lib_com\n38053;Bourgoin-Jallieu Isère\n".encode("cp1252"))
    c = acv_geo.read_acv(path)
    assert c.loc["38053", "commune"] == "Bourgoin-Jallieu Isère"
    assert "encoding" in set(acv_geo.repair_report(c)["kind"])


def test_anct_webmap_js(shared_data):
    c = acv_geo.read_acv(shared_data / "acv" / "anct_coeurdeville_2025-04.js")
    assert len(c) >= 244
    assert {"2A004", "97105"} <= set(c.index)
    assert c.loc["97105"].geometry.x < -61  # inset position replaced


# ---------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.csv: no such file"):
        acv_geo.read_acv(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(InputError, match=r"e\.csv: the file is empty \(0 bytes\)"):
        acv_geo.read_acv(tmp_path / "e.csv")


def test_header_only(tmp_path):
    (tmp_path / "h.csv").write_text("insee_com;lib_com\n")
    with pytest.raises(InputError, match=r"h\.csv: the file has a header but no row"):
        acv_geo.read_acv(tmp_path / "h.csv")


def test_missing_required_column(tmp_path):
    (tmp_path / "m.csv").write_text("commune;population\nAgde;29103\n")
    with pytest.raises(
        InputError,
        match=r"missing required column with the INSEE commune code; columns found: "
        r"\['commune', 'population'\]",
    ):
        acv_geo.read_acv(tmp_path / "m.csv")


def test_wrong_separator(tmp_path):
    (tmp_path / "w.csv").write_text("insee_com|lib_com\n34003|Agde\n")
    with pytest.raises(InputError, match=r"w\.csv: line 1: no column separator found \(expected ';' or ','"):
        acv_geo.read_acv(tmp_path / "w.csv")


def test_unknown_encoding(tmp_path):
    (tmp_path / "u.csv").write_bytes(b"insee_com;lib_com\n34003;Ag\x81de\n")
    with pytest.raises(InputError, match=r"u\.csv: unknown text encoding \(not UTF-8: byte 0x81 on line 2"):
        acv_geo.read_acv(tmp_path / "u.csv")


def test_bad_insee_code_names_row(tmp_path):
    (tmp_path / "b.csv").write_text("insee_com;lib_com\n34003;Agde\nAGDE;Agde\n")
    with pytest.raises(InputError, match=r"b\.csv: line 3, column 'insee_com': 'AGDE' is not an INSEE commune code"):
        acv_geo.read_acv(tmp_path / "b.csv")


def test_conflicting_duplicates(tmp_path):
    (tmp_path / "d.csv").write_text("insee_com;lib_com\n34003;Agde\n34003;Sète\n")
    with pytest.raises(InputError, match=r"d\.csv: line 2, line 3: INSEE code 34003 appears more than once"):
        acv_geo.read_acv(tmp_path / "d.csv")


def test_bad_oui_non(tmp_path, sample_records):
    def mutate(rows):
        rows[3][3] = "PEUT-ÊTRE"

    path = _cdc_csv(sample_records, tmp_path / "cdc.csv", mutate=mutate)
    with pytest.raises(InputError, match=r"line 5, column 'Opendata_COM_EPCI': value 'PEUT-ÊTRE' is not OUI/NON"):
        acv_geo.read_acv(path)


def test_point_outside_france_unknown_commune(tmp_path):
    (tmp_path / "o.csv").write_text("insee_com;lat;lon\n99999;40.0;-30.0\n")
    with pytest.raises(
        InputError,
        match=r"o\.csv: line 2: position \(40\.00000, -30\.00000\) of 99999 is outside "
        r"France métropolitaine",
    ):
        acv_geo.read_acv(tmp_path / "o.csv")


def test_point_outside_france_known_commune_is_repaired(tmp_path):
    (tmp_path / "o.csv").write_text("insee_com;lat;lon\n34003;0.0;0.0\n")
    c = acv_geo.read_acv(tmp_path / "o.csv")
    assert 3.3 < c.geometry.iloc[0].x < 3.6
    assert "position outside its territory" in set(acv_geo.repair_report(c)["kind"])


def test_invalid_json(tmp_path):
    (tmp_path / "j.json").write_text('[{"Code INSEE Commune": "34003",}]')
    with pytest.raises(InputError, match=r"j\.json: invalid JSON at line 1"):
        acv_geo.read_acv(tmp_path / "j.json")


# ---------------------------------------------------------------- polygons


def test_read_communes_default_and_codes():
    com = acv_geo.read_communes()
    assert len(com) == 244 and com.index.name == "insee_com" and com.crs.to_epsg() == 4326
    assert com.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    sub = acv_geo.read_communes(codes=["1004", "34003", "99999"])
    assert list(sub.index) == ["01004", "34003"]
    assert "commune not found" in set(acv_geo.repair_report(sub)["kind"])


def test_read_communes_user_file_repairs_invalid_polygon(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Polygon

    bowtie = Polygon([(700000, 6600000), (701000, 6601000), (701000, 6600000), (700000, 6601000)])
    gdf = gpd.GeoDataFrame({"INSEE_COM": ["34003"]}, geometry=[bowtie], crs=2154)
    gdf.to_file(tmp_path / "c.gpkg")
    com = acv_geo.read_communes(tmp_path / "c.gpkg")
    assert com.index.tolist() == ["34003"]
    assert com.geometry.is_valid.all()
    assert com.to_crs(2154).area.iloc[0] == pytest.approx(500_000, rel=1e-6)  # two 250,000 m² triangles
    assert "invalid geometry repaired" in set(acv_geo.repair_report(com)["kind"])


def test_read_communes_without_crs(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    gpd.GeoDataFrame({"insee_com": ["34003"]}, geometry=[box(0, 0, 1, 1)]).to_file(tmp_path / "n.geojson")
    (tmp_path / "n.shp").unlink(missing_ok=True)
    gpd.GeoDataFrame({"insee_com": ["34003"]}, geometry=[box(0, 0, 1, 1)]).to_file(tmp_path / "n.shp")
    with pytest.raises(InputError, match=r"n\.shp: the commune layer has no CRS; assign one"):
        acv_geo.read_communes(tmp_path / "n.shp")


def test_read_epci_territories():
    epci = acv_geo.read_epci()
    assert len(epci) == 1255 and epci.index.name == "siren_epci"
    counts = epci["territory"].value_counts().to_dict()
    assert counts == {"metropole": 1232, "guadeloupe": 6, "reunion": 5, "mayotte": 5, "guyane": 4, "martinique": 3}


def test_read_epci_missing_siren_column(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    square = box(760000, 6245000, 761000, 6246000)
    gpd.GeoDataFrame({"nom": ["x"]}, geometry=[square], crs=2154).to_file(tmp_path / "e.gpkg")
    with pytest.raises(InputError, match=r"e\.gpkg: no siren_epci column among \['nom'\]"):
        acv_geo.read_epci(tmp_path / "e.gpkg")


def test_points_never_lost_against_polygons(cities):
    com = acv_geo.read_communes()
    assert set(com.index) == set(cities.index)
    inside = shapely.covers(com.geometry.reindex(cities.index).values, cities.geometry.values)
    # every ANCT point (and every repaired overseas point) is inside its commune polygon
    assert np.asarray(inside).sum() >= 240


def test_read_all_communes_national_scope(cities):
    allc = acv_geo.read_all_communes()
    assert len(allc) == 34867 and allc.index.is_unique and allc.crs.to_epsg() == 4326
    assert int(allc["acv"].sum()) == 244
    # the same status rule gives the same answer for the ACV towns as read_acv()
    sub = allc.loc[cities.index]
    assert sub["opendata"].tolist() == cities["opendata"].tolist()
    # 4 island communes belong to no EPCI; 7 communes have no SIREN in DGCL 2023 -> NA with a reason
    assert int(allc["siren_epci"].isna().sum()) == 4
    na = allc["opendata_com"].isna()
    assert int(na.sum()) == 7 and allc.loc[na, "opendata_reason"].str.startswith("commune SIREN unknown").all()
    assert allc["territory"].value_counts()["reunion"] == 24
