"""acvgeo:diagnose in a real QGIS: the same outputs as acv_geo.diagnose, core errors as QgsProcessingException."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

import acv_geo

pytestmark = pytest.mark.qgis

def test_diagnose_algorithm_equals_core(acvgeo_plugin, tmp_path):
    import processing

    res = processing.run("acvgeo:diagnose", {"PERMUTATIONS": 99, "OUTPUT_FOLDER": str(tmp_path / "qgis")})
    assert res["N_CITIES"] == 244
    assert res["REPORT"].endswith("report.html") and (tmp_path / "qgis" / "report.html").exists()
    assert res["OUTPUT_CITIES"] == f"{tmp_path / 'qgis' / 'cities.gpkg'}|layername=cities"
    got = gpd.read_file(tmp_path / "qgis" / "cities.gpkg", layer="cities").set_index("insee_com")
    assert len(got) == 244 and got.index.is_unique
    cfg = acv_geo.load_config(None, overrides={"clusters": {"permutations": 99}})
    core = acv_geo.diagnose(config=cfg, out_dir=tmp_path / "core", quiet=True).cities
    for col in ("pac_area_m2", "flood_marks_count", "dem_mean", "radon_class", "cluster_opendata_p_sim",
                "cluster_opendata_label"):
        pd.testing.assert_series_equal(got[col].reindex(core.index), core[col], check_dtype=False,
                                       check_names=False)


def test_diagnose_algorithm_bad_config(acvgeo_plugin, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    bad = tmp_path / "bad.toml"
    bad.write_text("[clusters]\npermutation = 99\n", encoding="utf-8")
    with pytest.raises(QgsProcessingException, match=r"bad\.toml: clusters\.permutation: unknown key 'permutation'; "
                                                     r"allowed keys here: variables, method, weights, permutations"):
        processing.run("acvgeo:diagnose", {"CONFIG": str(bad), "OUTPUT_FOLDER": str(tmp_path / "o")})
    assert not (tmp_path / "o").exists()
