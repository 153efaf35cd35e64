"""acvgeo:diagnose in a real QGIS: the same outputs as acv_geo.diagnose, core errors as QgsProcessingException."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest

import acv_geo
from acv_geo.pipeline.run import OUTPUT_FILES

pytestmark = pytest.mark.qgis

COLUMNS = (
    "pac_area_m2",
    "pac_pct",
    "flood_marks_count",
    "flood_marks_b2000_count",
    "dem_mean",
    "radon_class",
    "catnat_total_count",
    "exposure_score",
    "opendata",
    "cluster_opendata_p_sim",
    "cluster_opendata_p_fdr",
    "cluster_opendata_label",
)
# A small config: one layer, no raster, no map; its own permutations and seed.
SMALL_TOML = """\
[[layers]]
name = "flood_marks"
source = "reperes_crues_34"
zones = ["commune", "buffer:2000"]

[tables]
radon = true
catnat = false

[clusters]
permutations = 199
seed = 7

[maps]
enabled = false
"""


def _run(params, feedback=None, context=None):
    import processing

    return processing.run("acvgeo:diagnose", params, feedback=feedback, context=context)


def _same(got: pd.DataFrame, core: pd.DataFrame, columns) -> None:
    assert list(got.index) == list(core.index)
    for col in columns:
        pd.testing.assert_series_equal(
            got[col], core[col], check_dtype=False, check_names=False, check_index_type=False, obj=col
        )


@pytest.mark.slow
def test_diagnose_algorithm_equals_core(acvgeo_plugin, tmp_path):
    from processing.tools import dataobjects

    context = dataobjects.createContext()
    res = _run({"PERMUTATIONS": 99, "OUTPUT_FOLDER": str(tmp_path / "qgis")}, context=context)
    out = tmp_path / "qgis"
    assert res["N_CITIES"] == 244 and res["OUTPUT_FOLDER"] == str(out)
    assert res["REPORT"] == str(out / "report.html")
    assert res["OUTPUT_CITIES"] == f"{out / 'cities.gpkg'}|layername=cities"
    for name in OUTPUT_FILES:
        assert (out / name).stat().st_size > 0, name
    assert (out / "maps" / "clusters_opendata.png").stat().st_size > 0 and len(list((out / "maps").glob("*.png"))) > 10
    # the cities layer is queued for loading in the project, under the OUTPUT_CITIES output
    details = context.layersToLoadOnCompletion()
    assert res["OUTPUT_CITIES"] in details and details[res["OUTPUT_CITIES"]].outputName == "OUTPUT_CITIES"
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(res["OUTPUT_CITIES"], "cities", "ogr")
    assert layer.isValid() and layer.featureCount() == 244

    got = gpd.read_file(out / "cities.gpkg", layer="cities").set_index("insee_com")
    assert len(got) == 244 and got.index.is_unique
    assert json.loads((out / "clusters.json").read_text(encoding="utf-8"))["settings"]["permutations"] == 99
    # the core with the same settings (maps do not change any value: left out to keep the test fast)
    cfg = acv_geo.load_config(None, overrides={"clusters": {"permutations": 99}, "maps": {"enabled": False}})
    core = acv_geo.diagnose(config=cfg, out_dir=tmp_path / "core", quiet=True).cities
    _same(got, core, COLUMNS)
    assert got["flood_marks_count"].sum() > 0 and got["cluster_opendata_p_sim"].notna().all()


def test_diagnose_algorithm_config_and_cities_layer(acvgeo_plugin, tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(SMALL_TOML, encoding="utf-8")
    everyone = acv_geo.read_acv()
    sub = everyone[everyone["territory"] == "metropole"].iloc[::5]  # 46 mainland towns
    layer = tmp_path / "sub.gpkg"
    sub.reset_index().to_file(layer, layer="sub", driver="GPKG")
    # PERMUTATIONS left at 0: the config's 199 is kept
    res = _run({"CONFIG": str(config), "CITIES": f"{layer}|layername=sub", "OUTPUT_FOLDER": str(tmp_path / "q")})
    assert res["N_CITIES"] == len(sub) == 46
    assert "k is capped" not in res["WARNINGS"]  # 46 mainland towns: 6 neighbours each
    assert not (tmp_path / "q" / "maps").exists()
    settings = json.loads((tmp_path / "q" / "clusters.json").read_text(encoding="utf-8"))["settings"]
    assert (settings["permutations"], settings["seed"]) == (199, 7)
    got = gpd.read_file(tmp_path / "q" / "cities.gpkg", layer="cities").set_index("insee_com")
    assert "dem_mean" not in got.columns and "catnat_total_count" not in got.columns
    core = acv_geo.diagnose(sub, config=config, out_dir=tmp_path / "core", quiet=True).cities
    _same(
        got,
        core,
        (
            "flood_marks_count",
            "flood_marks_b2000_count",
            "radon_class",
            "opendata",
            "cluster_opendata_p_sim",
            "cluster_opendata_label",
        ),
    )


def test_diagnose_algorithm_bad_config(acvgeo_plugin, tmp_path):
    from qgis.core import QgsProcessingException

    bad = tmp_path / "bad.toml"
    bad.write_text("[clusters]\npermutation = 99\n", encoding="utf-8")
    with pytest.raises(acv_geo.InputError) as core:
        acv_geo.load_config(bad)
    message = r"bad\.toml: clusters\.permutation: unknown key 'permutation'; allowed keys here: variables, method, "
    with pytest.raises(QgsProcessingException, match=message) as qgis:
        _run({"CONFIG": str(bad), "OUTPUT_FOLDER": str(tmp_path / "o")})
    assert str(qgis.value) == str(core.value)
    assert not (tmp_path / "o").exists()


def test_diagnose_algorithm_bad_output_folder(acvgeo_plugin, tmp_path):
    from qgis.core import QgsProcessingException

    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(QgsProcessingException, match=r"file\.txt: is a file, not a folder"):
        _run({"PERMUTATIONS": 99, "OUTPUT_FOLDER": str(a_file)})
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(
        QgsProcessingException,
        match=r"mine: the folder exists, is not empty and was not written by "
        r"acv-geo diagnose",
    ):
        _run({"PERMUTATIONS": 99, "OUTPUT_FOLDER": str(foreign)})
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_diagnose_algorithm_cancelled_before_the_run(acvgeo_plugin, tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    feedback.cancel()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        _run({"PERMUTATIONS": 99, "OUTPUT_FOLDER": str(tmp_path / "o")}, feedback=feedback)
    assert not (tmp_path / "o").exists()


def test_diagnose_algorithm_web_services_offline_without_cache(acvgeo_plugin, tmp_path, monkeypatch):
    """The dialog's web-service options reach the core: offline with an empty cache, every town NA + reason."""
    monkeypatch.setenv("ACV_GEO_CACHE_DIR", str(tmp_path / "empty-cache"))
    config = tmp_path / "small.toml"
    config.write_text(SMALL_TOML, encoding="utf-8")
    sub = acv_geo.read_acv().loc[["34301", "11262", "76217"]]
    layer = tmp_path / "sub.gpkg"
    sub.reset_index().to_file(layer, layer="sub", driver="GPKG")
    res = _run(
        {
            "CONFIG": str(config),
            "CITIES": f"{layer}|layername=sub",
            "SERVICES": [0, 1],
            "SERVICES_OFFLINE": True,
            "PERMUTATIONS": 9,
            "OUTPUT_FOLDER": str(tmp_path / "q"),
        }
    )
    assert res["N_CITIES"] == 3
    # the run's warnings, from the core's `warning` events (not from its printed summary)
    assert (
        "clusters: knn:6: territory metropole has only 3 units, so k is capped at 2 there"
        in res["WARNINGS"].splitlines()
    )
    got = gpd.read_file(tmp_path / "q" / "cities.gpkg", layer="cities").set_index("insee_com")
    assert got["znieff1_pct"].isna().all() and got["georisques_rga_class"].isna().all()
    assert got["znieff1_reason"].str.contains("not in the cache").all()
    meta = pd.read_csv(tmp_path / "q" / "indicators.metadata.csv", dtype=str, keep_default_na=False)
    assert meta.set_index("column").loc["znieff1_pct", "label_fr"] == "ZNIEFF de type I : part de la zone (%)"
