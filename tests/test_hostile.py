"""Hostile inputs and faults, built here (no binary fixtures): each gives the exact message or the exact repair.

Classes: city lists, vector layers, rasters, per-commune tables, configuration, output folders (permission,
full disk, read-only, the user's own files, interrupted runs) and downloads (a local server on 127.0.0.1:
traversal in catalogue names and archive members, links, absolute paths, zip bomb, truncated transfer, bad
checksum, an HTML page instead of data, a corrupt archive). No input town is ever dropped, no number is
claimed that was not measured, nothing is written outside the output or cache folder.
"""

from __future__ import annotations

import errno
import io
import json
import os
import stat
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from rasters import write_geotiff

import acv_geo
from acv_geo import InputError
from acv_geo.cli import main
from acv_geo.indicators.overlay import overlay_indicators
from acv_geo.indicators.tables import catnat_indicators, radon_indicators
from acv_geo.indicators.zonal import zonal_indicators
from acv_geo.sources.catalogue import load_catalogue
from acv_geo.sources.errors import FetchError
from acv_geo.sources.fetching import fetch
from acv_geo.zones import make_zones

CITIES = None  # read once per module


@pytest.fixture(scope="module")
def cities():
    return acv_geo.read_acv()


@pytest.fixture(scope="module")
def herault(cities):
    return make_zones(cities.loc[["34003", "34032", "34301", "01004"]])


def _csv(tmp_path: Path, text: str, name: str = "list.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


# =============================================================================================
# city lists


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "the file is empty (0 bytes)"),
        ("insee_com;lib_com\n", "the file has a header but no row; export the dataset again"),
        (
            "insee_com|lib_com|x\n01004|Ambérieu|1\n",
            "line 1: no column separator found (expected ';' or ','; the header reads 'insee_com|lib_com|x'); export "
            "the file as CSV with ';' or ',' between columns",
        ),
        (
            "insee_com;lib_com\n1234567;Nowhere\n",
            "line 2, column 'insee_com': '1234567' is not an INSEE commune code (5 characters such as '01053' or "
            "'2A004'); correct or remove the row",
        ),
        (
            "insee_com;lib_com\n01004;Ambérieu\n01004;Autre nom\n",
            "line 2, line 3: INSEE code 01004 appears more than once with different values; keep one row per commune",
        ),
        (
            "<!DOCTYPE html><html><body>Portail</body></html>\n",
            "this is a web page (HTML), not a city list; download the data file itself (not the page that links to it)",
        ),
        ('[{"insee_com": "01004"', "invalid JSON at line 1, column 23"),
    ],
)
def test_city_list_refused_with_the_fix(tmp_path, content, message):
    path = _csv(tmp_path, content, "list.json" if content.startswith("[") else "list.csv")
    with pytest.raises(InputError) as info:
        acv_geo.read_acv(path, observatory=None)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_corrupt_spreadsheet(tmp_path):
    path = tmp_path / "list.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError, match=r"list\.xlsx: cannot read the spreadsheet .*; export it as CSV"):
        acv_geo.read_acv(path, observatory=None)


@pytest.mark.parametrize(
    "raw, kind",
    [
        ("1004", "INSEE code repaired"),
        (" 01004\u200b", "invisible characters removed"),
        ("01004\u00a0", "invisible characters removed"),
    ],
)
def test_city_code_repairs_are_reported(tmp_path, raw, kind):
    path = _csv(tmp_path, f"insee_com;lib_com\n{raw};Ambérieu\n")
    out = acv_geo.read_acv(path, observatory=None)
    assert out.index.tolist() == ["01004"]
    rep = acv_geo.repair_report(out)
    assert kind in rep["kind"].tolist()


def test_exact_duplicate_rows_one_kept_and_reported(tmp_path):
    path = _csv(tmp_path, "insee_com;lib_com\n01004;Ambérieu\n01004;Ambérieu\n01053;Bourg\n")
    out = acv_geo.read_acv(path, observatory=None)
    assert out.index.tolist() == ["01004", "01053"]
    rep = acv_geo.repair_report(out).set_index("kind")
    assert rep.loc["duplicate row removed", "codes"] == "01004"


def test_windows_1252_list_is_decoded_and_reported(tmp_path):
    path = _csv(tmp_path, "insee_com;lib_com\n01004;Ambérieu-en-Bugey\n", encoding="cp1252")
    out = acv_geo.read_acv(path, observatory=None)
    assert out.loc["01004", "commune"] == "Ambérieu-en-Bugey"
    assert any("cp1252" in d or "Windows" in d for d in acv_geo.repair_report(out)["detail"])


def _with_positions(tmp_path, rows):
    text = "insee_com;lib_com;latitude;longitude\n" + "".join(f"{c};{n};{lat};{lon}\n" for c, n, lat, lon in rows)
    return _csv(tmp_path, text)


def test_swapped_positions_keep_every_town_and_report_it(tmp_path):
    """Two towns' coordinates swapped: no KeyError; both kept, the EPCI check says where they are wrong."""
    path = _with_positions(
        tmp_path,
        [
            ("01004", "Ambérieu", 43.3124, 3.4758),
            ("34003", "Agde", 45.9584, 5.3578),
            ("01053", "Bourg", 46.2052, 5.2255),
        ],
    )
    out = acv_geo.read_acv(path, observatory=None)
    assert out.index.tolist() == ["01004", "34003", "01053"]
    assert out.loc[["01004", "34003", "01053"], "epci_check"].tolist() == [
        "city point outside its EPCI polygon",
        "city point outside its EPCI polygon",
        "ok",
    ]


def test_every_town_placed_at_paris(tmp_path):
    path = _with_positions(tmp_path, [(c, c, 48.8566, 2.3522) for c in ("01004", "34003", "80001")])
    out = acv_geo.read_acv(path, observatory=None)
    assert len(out) == 3 and (out["epci_check"] == "city point outside its EPCI polygon").all()


def test_cities_csv_has_one_geometry_column(tmp_path):
    out = tmp_path / "c.csv"
    assert main(["cities", "--out", str(out)]) == 0
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header.count("geometry") == 1 and "" not in header
    table = pd.read_csv(out, dtype=str)
    assert table.loc[0, "geometry"] == "POINT (1.8322 50.1086)" and len(table) == 244


# =============================================================================================
# vector layers


def _layer(tmp_path, geoms, crs, name="layer.gpkg", **cols):
    path = tmp_path / name
    gpd.GeoDataFrame(cols or {"v": ["a"] * len(geoms)}, geometry=geoms, crs=crs).to_file(path)
    return path


def test_lambert93_declared_as_degrees_is_refused(tmp_path, herault):
    path = _layer(tmp_path, [shapely.box(750662, 6252724, 791000, 6290000)], 4326)
    with pytest.raises(InputError) as info:
        overlay_indicators(herault, path)
    assert str(info.value) == (
        f"{path}: its coordinates (750662, 6252724 … 791000, 6290000) are impossible in EPSG:4326 (WGS 84), which "
        "counts degrees (longitude −180…180, latitude −90…90); they were made in another CRS (metres such as "
        "Lambert-93, EPSG:2154?): assign the CRS they were made in (ogr2ogr -a_srs EPSG:2154 …, or QGIS "
        "'Assign projection'), then run again"
    )


def test_degrees_declared_as_lambert93_are_refused(tmp_path, herault):
    path = _layer(tmp_path, [shapely.box(3.4, 43.2, 3.6, 43.4)], 2154)
    with pytest.raises(
        InputError,
        match=r"its coordinates \(3\.4, 43\.2 … 3\.6, 43\.4\) lie far outside the area "
        r"where EPSG:2154 \(RGF93 v1 / Lambert-93\) is used",
    ):
        overlay_indicators(herault, path)


def test_wrong_crs_refused_in_diagnose_too(tmp_path):
    path = _layer(tmp_path, [shapely.box(750662, 6252724, 791000, 6290000)], 4326)
    config = tmp_path / "c.toml"
    config.write_text(f'[[layers]]\nname = "bad"\nsource = "{path}"\n\n[maps]\nenabled = false\n', encoding="utf-8")
    with pytest.raises(InputError, match="are impossible in EPSG:4326"):
        acv_geo.diagnose(config=config, out_dir=tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()


def test_a_geodataframe_with_impossible_coordinates(herault):
    gdf = gpd.GeoDataFrame(geometry=[shapely.box(700000, 6200000, 701000, 6201000)], crs=4326)
    with pytest.raises(InputError, match=r"^the layer GeoDataFrame: its coordinates"):
        overlay_indicators(herault, gdf)


def test_layer_without_crs(tmp_path, herault):
    path = tmp_path / "noprj.shp"
    with pytest.warns(UserWarning):
        gpd.GeoDataFrame({"v": ["a"]}, geometry=[shapely.box(760000, 6245000, 761000, 6246000)]).to_file(path)
    with pytest.raises(InputError, match=r"noprj\.shp: the layer has no CRS \(missing \.prj or SRS\)"):
        overlay_indicators(herault, path)


def _agde_xy(herault) -> tuple[float, float]:
    """A point inside Agde's commune, in Lambert-93."""
    p = herault.loc[["34003"]].to_crs(2154).geometry.iloc[0].representative_point()
    return p.x, p.y


def test_category_values_merged_only_with_a_warning(herault):
    values = ["Aléa fort", "Alea fort", "ALÉA FORT", "東京", "🌊"]
    x, y = _agde_xy(herault)
    gdf = gpd.GeoDataFrame(
        {"c": values}, crs=2154, geometry=[shapely.box(x + 10 * i, y, x + 10 * i + 5, y + 5) for i in range(5)]
    )
    with pytest.warns(UserWarning) as caught:
        out = overlay_indicators(herault, gdf, category="c", name="r")
    messages = [str(w.message) for w in caught]
    assert (
        "the layer GeoDataFrame: field 'c': values 'ALÉA FORT', 'Alea fort', 'Aléa fort' differ only in accents, "
        "case or punctuation and are measured together as 'alea_fort'; if they are different categories, rename "
        "them in the layer"
    ) in messages
    assert sum("has no Latin letter or digit" in m for m in messages) == 2
    counts = [c for c in out.columns if c.endswith("_count") and c != "r_count"]
    assert len(counts) == 3  # alea_fort, and one group for each of the two non-Latin values
    assert out.loc["34003", "r_alea_fort_count"] == 3


def test_unknown_category_field(tmp_path, herault):
    path = _layer(tmp_path, [shapely.box(760000, 6245000, 761000, 6246000)], 2154, ALEA=["fort"])
    with pytest.raises(InputError, match=r"no field named 'NOPE' to use as category; available fields: ALEA"):
        overlay_indicators(herault, path, category="NOPE")


def test_text_file_as_a_layer(tmp_path, herault):
    path = tmp_path / "notes.gpkg"
    path.write_text("not a layer", encoding="utf-8")
    with pytest.raises(InputError, match=r"notes\.gpkg: not a vector file GDAL/OGR can read"):
        overlay_indicators(herault, path)


def test_missing_layer_file(tmp_path, herault):
    with pytest.raises(FileNotFoundError, match=r"nothere\.gpkg: no such file; give the path of a vector layer"):
        overlay_indicators(herault, tmp_path / "nothere.gpkg")


def test_invalid_polygon_is_repaired_and_measured(herault):
    x, y = _agde_xy(herault)
    bowtie = shapely.Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    out = overlay_indicators(herault, gpd.GeoDataFrame(geometry=[bowtie], crs=2154), name="b")
    assert out.loc["34003", "b_area_m2"] == pytest.approx(5000, rel=1e-6)  # two triangles of 2,500 m²


# =============================================================================================
# rasters


def _raster(path: Path, data: np.ndarray, crs: str, origin: tuple[float, float], size: float, nodata=-9999.0):
    from rasterio.transform import from_origin

    write_geotiff(
        path,
        data.astype("float32"),
        transform=from_origin(*origin, size, size),
        nodata=nodata,
        crs=crs,
        dtype="float32",
    )
    return path


def test_all_nodata_raster_gives_missing_values_with_the_reason(tmp_path, herault):
    path = _raster(tmp_path / "nd.tif", np.full((100, 100), -9999.0), "EPSG:2154", (720000, 6300000), 500)
    out = zonal_indicators(herault, path, stats="count,mean,min", name="nd")
    assert out.loc["34003", "nd_count"] == 0 and np.isnan(out.loc["34003", "nd_mean"])
    assert out.loc["34003", "nd_reason"] == "only nodata pixels in the zone"
    assert out.loc["01004", "nd_reason"] == "zone outside the raster"


def test_raster_with_impossible_extent(tmp_path, herault):
    path = _raster(tmp_path / "w.tif", np.ones((10, 10)), "EPSG:4326", (700000, 6300000), 25)
    with pytest.raises(InputError) as info:
        zonal_indicators(herault, path)
    assert str(info.value).startswith(f"{path}: its coordinates (700000, 6299750 … 700250, 6300000) are impossible")
    assert "gdal_edit.py -a_srs EPSG:2154 FILE" in str(info.value)


def test_not_a_raster(tmp_path, herault):
    path = tmp_path / "x.tif"
    path.write_text("text", encoding="utf-8")
    with pytest.raises(InputError, match=r"x\.tif: not a raster GDAL can read"):
        zonal_indicators(herault, path)


@pytest.mark.parametrize(
    "stats, message",
    [
        ("count,foo", "unknown zonal statistic(s) ['foo']"),
        ("p101", "p101"),
    ],
)
def test_bad_statistics(herault, stats, message):
    with pytest.raises(ValueError) as info:
        zonal_indicators(herault, acv_geo.get_path("dem_n45e005"), stats=stats)
    assert message in str(info.value)


def test_zonal_cli_without_count_statistic(tmp_path, capsys):
    out = tmp_path / "z.csv"
    assert main(["zonal", "--raster", str(acv_geo.get_path("dem_n45e005")), "--stats", "mean", "--out", str(out)]) == 0
    assert "7 cities with data, 237 without" in capsys.readouterr().out


# =============================================================================================
# per-commune tables

CATNAT_HEADER = "insee,code_peril,date_arrete,debut_evenement,code_nor,decision\n"


def _cities_frame(*codes):
    return pd.DataFrame(index=pd.Index(list(codes), name="insee_com"))


def test_catnat_invalid_and_empty_dates_reported_not_counted(tmp_path):
    path = _csv(
        tmp_path,
        CATNAT_HEADER
        + "01004,ICB,15/01/2021,10/12/2020,INTE2101,Reconnue\n"
        + "01004,ICB,16/01/2021,32/13/2020,INTE2102,Reconnue\n"
        + "01004,ICB,17/01/2021,,INTE2103,Reconnue\n",
        "catnat.csv",
    )
    out = catnat_indicators(_cities_frame("01004"), path)
    assert out.loc["01004", "catnat_flood_count"] == 1
    assert out.loc["01004", "catnat_flood_first_year"] == 2020
    rep = acv_geo.repair_report(out).set_index("kind")
    assert rep.loc["invalid date", "codes"] == "line 3: '32/13/2020'"
    assert rep.loc["missing date", "codes"] == "line 4: nan"


def test_catnat_partial_file_leaves_other_towns_unknown(tmp_path):
    path = _csv(tmp_path, CATNAT_HEADER + "01004,ICB,15/01/2021,10/12/2020,INTE2101,Reconnue\n", "part.csv")
    out = catnat_indicators(_cities_frame("01004", "80001"), path)
    assert out.loc["80001", "catnat_total_count"] is pd.NA
    assert out.loc["80001", "catnat_reason"].startswith("not listed in part.csv")
    assert out.loc["01004", "catnat_total_count"] == 1 and pd.isna(out.loc["01004", "catnat_reason"])


def test_catnat_bad_coverage():
    with pytest.raises(ValueError, match=r"coverage: \['99X'\] are not department codes"):
        catnat_indicators(_cities_frame("01004"), acv_geo.get_path("catnat"), coverage=["99X"])


@pytest.mark.parametrize("value", ["#VALEUR!", "4"])
def test_radon_invalid_class_reason_names_it(tmp_path, value):
    path = _csv(tmp_path, f"insee_com;classe_potentiel\n01004;{value}\n01053;2\n", "radon.csv")
    out = radon_indicators(_cities_frame("01004", "01053", "80001"), path)
    assert out["radon_class"].tolist()[1] == 2
    assert out.loc["01004", "radon_reason"] == (
        f"the radon table gives no valid class for this commune ({value!r} is not 1, 2 or 3); see the repairs"
    )
    assert out.loc["80001", "radon_reason"].startswith("INSEE code not in the radon table")


@pytest.mark.parametrize(
    "content, message",
    [
        ("<html><body>Erreur 404</body></html>", r"this is a web page \(HTML\), not a CSV table"),
        ("", "the radon table file is empty"),
    ],
)
def test_radon_table_refused(tmp_path, content, message):
    path = _csv(tmp_path, content, "radon.csv")
    with pytest.raises(InputError, match=message):
        radon_indicators(_cities_frame("01004"), path)


def test_corrupt_table_workbook(tmp_path):
    path = tmp_path / "radon.xlsx"
    path.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(
        InputError,
        match=r"radon\.xlsx: cannot read the radon table \(BadZipFile: .*\); check that it "
        r"is a valid \.xlsx file",
    ):
        radon_indicators(_cities_frame("01004"), path)


def test_catnat_without_decision_column(tmp_path):
    path = _csv(tmp_path, "insee,code_peril,date_arrete,debut_evenement\n01004,ICB,2020-01-01,2019-12-01\n", "c.csv")
    with pytest.raises(InputError, match=r"no 'decision' column to tell recognised decrees from refusals"):
        catnat_indicators(_cities_frame("01004"), path)


# =============================================================================================
# configuration


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[clusters]\npermutation = 99\n", "clusters.permutation: unknown key 'permutation'"),
        ("[clusters]\nalpha = 2\n", "clusters.alpha: expected a number between 0 and 1 (e.g. 0.05), got 2"),
        ("[clusters\n", "c.toml"),
    ],
)
def test_bad_config(tmp_path, toml, message):
    path = _csv(tmp_path, toml, "c.toml")
    with pytest.raises(InputError) as info:
        acv_geo.load_config(path)
    assert message in str(info.value)


def test_cli_permutations_do_not_hide_an_invalid_config(tmp_path, capsys):
    path = _csv(tmp_path, "[clusters]\npermutations = -5\n", "c.toml")
    assert main(["diagnose", "--config", str(path), "--permutations", "99", "--out", str(tmp_path / "o")]) == 2
    assert "clusters.permutations" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# =============================================================================================
# output folders

SMALL = "[tables]\nradon = true\ncatnat = false\n\n[clusters]\npermutations = 99\n\n[maps]\nenabled = false\n"


@pytest.fixture
def small_config(tmp_path):
    return _csv(tmp_path, SMALL, "small.toml")


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_user_files_in_a_previous_output_are_protected(tmp_path, small_config):
    out = tmp_path / "diag"
    acv_geo.diagnose(config=small_config, out_dir=out, quiet=True)
    (out / "mes_notes.txt").write_text("à garder", encoding="utf-8")
    with pytest.raises(InputError) as info:
        acv_geo.diagnose(config=small_config, out_dir=out, quiet=True)
    assert str(info.value) == (
        f"{out}: holds files acv-geo diagnose did not write (mes_notes.txt); they would be deleted with the previous "
        "outputs: move them out, or pass overwrite=True (CLI --overwrite) to delete them"
    )
    assert (out / "mes_notes.txt").exists()
    acv_geo.diagnose(config=small_config, out_dir=out, quiet=True, overwrite=True)
    assert not (out / "mes_notes.txt").exists() and (out / "report.html").exists()


def test_output_is_a_file(tmp_path, small_config):
    f = tmp_path / "diag"
    f.write_text("x", encoding="utf-8")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        acv_geo.diagnose(config=small_config, out_dir=f, quiet=True)


def test_no_permission_is_reported_before_computing(tmp_path, small_config, monkeypatch):
    import acv_geo.outputs.folder as folder
    import acv_geo.pipeline.run as pl

    calls = []
    monkeypatch.setattr(folder.os, "access", lambda path, mode: calls.append(path) and False)
    monkeypatch.setattr(pl, "_read_cities", lambda *a, **k: pytest.fail("computed before checking the folder"))
    with pytest.raises(
        InputError,
        match=rf"^{tmp_path}: no permission to write there, so {tmp_path / 'diag'} "
        r"cannot be written; choose a folder you may write to",
    ):
        acv_geo.diagnose(config=small_config, out_dir=tmp_path / "diag", quiet=True)


def test_full_disk_is_reported_before_computing(tmp_path, small_config, monkeypatch):
    import acv_geo.outputs.folder as folder
    import acv_geo.pipeline.run as pl

    monkeypatch.setattr(folder.shutil, "disk_usage", lambda p: type("U", (), {"free": 1_000_000})())
    monkeypatch.setattr(pl, "_read_cities", lambda *a, **k: pytest.fail("computed before checking the space"))
    with pytest.raises(
        InputError,
        match=rf"^{tmp_path}: only 1 MB free; the diagnostic of 244 cities needs about "
        r"66 MB: free some space or choose a folder on another disk",
    ):
        acv_geo.diagnose(config=small_config, out_dir=tmp_path / "diag", quiet=True)


@pytest.mark.parametrize(
    "err, text",
    [
        (errno.ENOSPC, "the disk is full; free some space or choose a folder on another disk"),
        (errno.EROFS, "the file system is read-only; choose a folder on a writable disk"),
        (errno.EACCES, "permission denied; choose a folder you may write to, or change its permissions"),
    ],
)
def test_os_error_while_writing_keeps_the_previous_outputs(tmp_path, small_config, monkeypatch, err, text):
    import acv_geo.pipeline.run as pl

    out = tmp_path / "diag"
    acv_geo.diagnose(config=small_config, out_dir=out, quiet=True)
    before = _tree(out)

    def failing(tmp, *a, **k):
        raise OSError(err, os.strerror(err), str(tmp / "cities.gpkg"))

    monkeypatch.setattr(pl, "_write_tables", failing)
    with pytest.raises(InputError) as info:
        acv_geo.diagnose(config=small_config, out_dir=out, quiet=True)
    assert text in str(info.value) and str(info.value).endswith(f"(nothing was changed in {out})")
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diag", "small.toml"]


def test_driver_failure_on_a_full_disk_is_named(tmp_path, monkeypatch):
    import acv_geo.outputs.writers as wr

    def failing(*a, **k):
        raise RuntimeError("Failed to commit transaction")

    monkeypatch.setattr(wr, "_write", failing)
    monkeypatch.setattr(wr.shutil, "disk_usage", lambda p: type("U", (), {"free": 0})())
    with pytest.raises(OSError) as info:
        wr.write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.gpkg")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "t.gpkg")


def test_cli_reports_an_os_error_without_traceback(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    assert main(["cities", "--out", str(blocker / "c.csv")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "acv-geo: error: " in err and "a part of the path is a file" in err


def test_interrupted_swap_is_restored_at_the_next_start(tmp_path, small_config, caplog):
    out = tmp_path / "diag"
    acv_geo.diagnose(config=small_config, out_dir=out, quiet=True)
    before = _tree(out)
    hidden = tmp_path / ".diag.old-12345678"
    os.replace(out, hidden)  # killed between the two renames
    stale = tmp_path / ".diag.tmp-abcdef"
    stale.mkdir()
    bad = _csv(tmp_path, "[clusters]\npermutation = 1\n", "bad.toml")
    with pytest.raises(InputError):  # a later run that fails validation still restores the outputs first
        acv_geo.diagnose(config=bad, out_dir=out, quiet=True)
    assert _tree(out) == before
    assert not hidden.exists() and not stale.exists()
    assert "restored the previous outputs" in caplog.text


def test_output_folder_permissions_follow_the_umask(tmp_path, small_config):
    out = tmp_path / "diag"
    acv_geo.diagnose(config=small_config, out_dir=out, quiet=True)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask


# =============================================================================================
# downloads (local server on 127.0.0.1)


def _entry(url, fmt="csv", layers=None, **extra):
    e = {
        "title": "t",
        "publisher": "tests",
        "url": url,
        "doc": "https://example.invalid/doc",
        "format": fmt,
        "licence": "Licence Ouverte",
        "layers": layers or [{"name": "table", "fields": ["insee_com"]}],
        "verified": True,
    }
    e.update(extra)
    return e


def _outside(tmp_path: Path) -> list[str]:
    """What exists in tmp_path besides the cache: must stay empty."""
    return sorted(p.name for p in tmp_path.iterdir() if p.name != "cache")


@pytest.mark.parametrize(
    "filename, why",
    [
        ("../../evil.csv", "'..' in path"),
        ("../", "'..' in path"),
        ("/tmp/evil.csv", "absolute path"),
        ("sub/evil.csv", "a folder separator in a file name"),
        ("..", "'..' in path"),
    ],
)
def test_catalogue_file_names_cannot_leave_the_cache(tmp_path, server, filename, why):
    cat = {"sources": {"radon": _entry(f"{server.base}/r.csv", filename=filename)}}
    with pytest.raises(ValueError) as info:
        load_catalogue(cat)
    assert str(info.value) == (
        f"catalogue mapping: source 'radon': file name {filename!r} refused ({why}); give a "
        "plain file name such as 'data.zip'"
    )
    assert _outside(tmp_path) == []


def test_address_ending_in_dots_gets_a_safe_name(tmp_path, server):
    server.files["/a/.."] = b"insee_com\n01004\n"
    server.files["/a"] = b"insee_com\n01004\n"
    cat = {"sources": {"r": _entry(f"{server.base}/a/..")}}
    src = fetch("r", cache_dir=tmp_path / "cache", catalogue=cat, progress=False)["r"]
    assert src.path.parent == tmp_path / "cache" / "r" / "files" and src.path.name == "r.csv"
    assert _outside(tmp_path) == []


def _zip(members: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


ZIP_LAYERS = [{"name": "table", "member": "*.csv", "fields": ["insee_com"]}]


@pytest.mark.parametrize(
    "archive, why",
    [
        (_zip({"../evil.csv": b"insee_com\n"}), "'..' in path"),
        (_zip({"/abs/evil.csv": b"insee_com\n"}), "absolute path"),
        (_zip({"ok.csv": b"insee_com\n"}, symlink="link.csv"), "symbolic link"),
    ],
)
def test_archive_members_cannot_leave_the_cache(tmp_path, server, archive, why):
    server.files["/a.zip"] = archive
    cat = {"sources": {"a": _entry(f"{server.base}/a.zip", "zip", ZIP_LAYERS)}}
    with pytest.raises(FetchError, match=rf"refused \({why}\); nothing was extracted"):
        fetch("a", cache_dir=tmp_path / "cache", catalogue=cat, progress=False)
    assert _outside(tmp_path) == []
    assert not (tmp_path / "cache" / "a" / "files").exists()


def test_zip_bomb_refused(tmp_path, server):
    server.files["/b.zip"] = _zip({"big.csv": b"0" * 50_000_000})
    cat = {"sources": {"b": _entry(f"{server.base}/b.zip", "zip", ZIP_LAYERS)}}
    with pytest.raises(
        FetchError,
        match=r"archive member 'big\.csv' expands \d+ times \(limit 1000\); refused as a "
        r"possible zip bomb",
    ):
        fetch("b", cache_dir=tmp_path / "cache", catalogue=cat, progress=False)


def test_corrupt_archive_member(tmp_path, server):
    data = bytearray(_zip({"ok.csv": b"insee_com\n" + b"01004\n" * 20000}))
    i = data.find(b"ok.csv", 30) + 40  # inside the compressed data of the member
    data[i] ^= 0xFF
    server.files["/c.zip"] = bytes(data)
    cat = {"sources": {"c": _entry(f"{server.base}/c.zip", "zip", ZIP_LAYERS)}}
    with pytest.raises(FetchError, match=r"archive member 'ok\.csv' is corrupt .*fetch it again with --force"):
        fetch("c", cache_dir=tmp_path / "cache", catalogue=cat, progress=False)


def test_html_page_instead_of_data(tmp_path, server):
    server.files["/data.csv"] = b"<!DOCTYPE html><html><body>Connexion requise</body></html>"
    cat = {"sources": {"d": _entry(f"{server.base}/data.csv")}}
    with pytest.raises(FetchError) as info:
        fetch("d", cache_dir=tmp_path / "cache", catalogue=cat, progress=False)
    assert str(info.value) == (
        f"d: {server.base}/data.csv answered a web page (HTML) instead of the csv data (the "
        "address may have moved, or need a login); nothing was written. Open the address in a "
        "browser, or see https://example.invalid/doc"
    )
    assert not list((tmp_path / "cache" / "d").glob("*.part"))


def test_bad_checksum_leaves_the_cache_unchanged(tmp_path, server):
    server.files["/r.csv"] = b"insee_com\n01004\n"
    cat = {"sources": {"r": _entry(f"{server.base}/r.csv", sha256="0" * 64)}}
    with pytest.raises(
        FetchError,
        match=r"checksum mismatch .* the download was discarded and the cache left "
        r"unchanged",
    ):
        fetch("r", cache_dir=tmp_path / "cache", catalogue=cat, progress=False)
    assert not (tmp_path / "cache" / "r" / "files").exists()


def test_truncated_transfer_is_kept_for_resume(tmp_path, server):
    server.files["/t.csv"] = b"insee_com\n" + b"01004\n" * 100_000
    server.modes["/t.csv"] = "interrupt_once"
    cat = {"sources": {"t": _entry(f"{server.base}/t.csv")}}
    with pytest.raises(FetchError, match=r"was interrupted after .*run the same command again to resume"):
        fetch("t", cache_dir=tmp_path / "cache", catalogue=cat, progress=False)
    src = fetch("t", cache_dir=tmp_path / "cache", catalogue=cat, progress=False)["t"]
    assert src.status == "resumed" and src.size == len(server.files["/t.csv"])
    assert _outside(tmp_path) == []


def test_http_error_names_the_address(tmp_path, server):
    server.modes["/gone.csv"] = 404
    cat = {"sources": {"g": _entry(f"{server.base}/gone.csv")}}
    with pytest.raises(FetchError, match=r"g: the server answered HTTP 404 .* nothing was written"):
        fetch("g", cache_dir=tmp_path / "cache", catalogue=cat, progress=False)


def test_cli_fetch_reports_without_traceback(tmp_path, server, capsys):
    server.files["/data.csv"] = b"<html>x</html>"
    cat = tmp_path / "cat.json"
    cat.write_text(json.dumps({"sources": {"d": _entry(f"{server.base}/data.csv")}}), encoding="utf-8")
    assert main(["fetch", "d", "--cache", str(tmp_path / "cache"), "--catalogue", str(cat), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "answered a web page (HTML)" in err and "Traceback" not in err
