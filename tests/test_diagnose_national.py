"""acv-geo diagnose --scope all-communes: every French commune, spatial chunks, ACV pages in the report."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

import acv_geo
from acv_geo.cli import main
from acv_geo.core.errors import InputError

CONFIG = {
    "zones": {"kinds": ["buffer:1000"]},
    "layers": [{"name": "pac", "source": "herault_pac_risques", "preset": "pac_risques"}],
    "tables": {"radon": True, "catnat": False},
    "clusters": {"permutations": 99, "join_counts": False, "morans_i": False},
    "maps": {"enabled": False},
}


@pytest.mark.slow
def test_national_scope_every_commune_chunked(tmp_path):
    res = acv_geo.diagnose(config=CONFIG, out_dir=tmp_path / "nat", scope="all-communes", chunk_size=6000, quiet=True)
    allc = acv_geo.read_all_communes()
    got = gpd.read_file(tmp_path / "nat" / "cities.gpkg", layer="cities").set_index("insee_com")
    assert list(got.index) == list(allc.index)  # 34,867 communes, in order, none lost
    # chunked overlay = direct overlay on the Hérault communes (same zones)
    sub = allc[allc["code_dep"] == "34"]
    direct = acv_geo.overlay_indicators(
        acv_geo.make_zones(sub, kind="buffer", radius=1000),
        acv_geo.get_path("herault_pac_risques"),
        preset="pac_risques",
        name="pac_b1000",
    )
    pd.testing.assert_series_equal(
        got.loc[sub.index, "pac_b1000_area_m2"], direct["pac_b1000_area_m2"], check_names=False
    )
    # radon for every commune that IRSN classifies
    assert got["radon_class"].notna().sum() > 34_000
    html = (tmp_path / "nat" / "report.html").read_text(encoding="utf-8")
    assert "portée nationale : 34,867 communes" in html  # the warning, in the French report
    assert html.count("<section class='fiche'") == 244  # one page per ACV town, not 34,867
    assert "id='c34301'" in html and "id='c34002'" not in html  # Sète has a page; Agonès (not ACV) none
    assert any("national scope" in w for w in res.warnings)


def test_national_scope_needs_polygons_for_commune_zones(tmp_path):
    cfg = {**CONFIG, "zones": {"kinds": ["commune"]}}
    with pytest.raises(InputError, match="scope 'all-communes' with commune zones needs a national commune polygon"):
        acv_geo.diagnose(config=cfg, out_dir=tmp_path / "x", scope="all-communes", quiet=True)
    assert not (tmp_path / "x").exists()


def test_cli_scope_and_bad_engine(tmp_path, capsys):
    assert main(["diagnose", "--scope", "all-communes", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "needs a national commune polygon layer" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"unknown engine 'spark'; expected one of \['local', 'dask'\]"):
        acv_geo.diagnose(out_dir=tmp_path / "p", engine="spark", quiet=True)
    with pytest.raises(ValueError, match="workers must be a whole number ≥ 1, got 0"):
        acv_geo.diagnose(out_dir=tmp_path / "p", engine="dask", workers=0, quiet=True)
    with pytest.raises(ValueError, match="with scheduler= the cluster is yours: drop workers"):
        acv_geo.diagnose(out_dir=tmp_path / "p", engine="dask", workers=2, scheduler="tcp://127.0.0.1:1", quiet=True)
    assert not (tmp_path / "p").exists()
