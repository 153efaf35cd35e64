"""The plugin zip, installed into a throwaway QGIS profile, run by ``qgis_process`` (real QGIS).

``/usr/bin/qgis_process.bin`` is called directly (Debian's ``qgis_process`` wrapper passes an option
3.22 rejects). The plugin comes from the built zip, with its bundled core: PYTHONPATH holds only
the venv's site-packages (the editable install's .pth is not processed there), so the log must show
``acv_geo`` imported from the plugin's ``ext/`` folder. The overlay run also guards the
RTLD_DEEPBIND fix: without it, shapely's GEOS clashes with QGIS's and the process aborts.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sysconfig
import zipfile
from pathlib import Path

import pytest

import acv_geo
from acv_geo.overlay import list_presets, overlay_indicators
from acv_geo.zonal import zonal_indicators
from acv_geo.zones import make_zones

pytestmark = pytest.mark.qgis

ROOT = Path(__file__).resolve().parents[2]
QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")


def _build_module():
    spec = importlib.util.spec_from_file_location("build_plugin", ROOT / "scripts" / "build_plugin.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def qgis_process(tmp_path_factory):
    """A function running qgis_process.bin with the plugin installed from the zip and enabled."""
    if not QGIS_PROCESS.exists():
        pytest.skip(f"{QGIS_PROCESS} not installed")
    pytest.importorskip("qgis.core")
    base = tmp_path_factory.mktemp("qgis_process")
    zip_path = _build_module().build(base / "acv_geo_qgis.zip")
    plugins = base / "plugins"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(plugins)
    home = base / "home"
    home.mkdir()
    xdg = base / "xdg"
    xdg.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QGIS_", "PYTHON"))}
    env.update(
        HOME=str(home),
        QGIS_PLUGINPATH=str(plugins),
        PYTHONPATH=sysconfig.get_paths()["purelib"],
        QT_QPA_PLATFORM="offscreen",
        XDG_RUNTIME_DIR=str(xdg),
    )

    def call(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(QGIS_PROCESS), *args], env=env, cwd=base, capture_output=True, text=True,
                              timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"qgis_process {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return proc

    enabled = call("plugins", "enable", "acv_geo_qgis")
    assert "acv_geo_qgis" in enabled.stdout
    ini = home / ".local/share/QGIS/QGIS3/profiles/default/QGIS/QGIS3.ini"
    assert "acv_geo_qgis=true" in ini.read_text()
    call.plugins = plugins
    call.base = base
    return call


def _run_json(qgis_process, alg: str, **params) -> dict:
    proc = qgis_process("--json", "run", alg, "--", *[f"{k}={v}" for k, v in params.items()])
    return json.loads(proc.stdout)


def _close(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)


def test_algorithms_listed(qgis_process):
    out = qgis_process("list").stdout
    for alg in ("loadcities", "overlayindicators", "zonalindicators", "clusters"):
        assert f"acvgeo:{alg}" in out


def test_loadcities_uses_the_bundled_core(qgis_process, tmp_path):
    import geopandas as gpd

    res = _run_json(qgis_process, "acvgeo:loadcities", OUTPUT=tmp_path / "c.gpkg")
    bundled = qgis_process.plugins / "acv_geo_qgis" / "ext" / "acv_geo"
    assert f"Core: acv-geo {acv_geo.__version__} ({bundled})" in res["log"]["info"]
    assert res["results"]["N_CITIES"] == 244 and res["results"]["N_OPENDATA"] == 111
    out = gpd.read_file(res["results"]["OUTPUT"]).set_index("insee_com")
    core = acv_geo.read_acv()
    assert list(out.index) == list(core.index)
    assert out.crs.to_epsg() == 4326
    assert (out["commune"] == core["commune"]).all()
    assert (out["population"].to_numpy() == core["population"].to_numpy(dtype="int64")).all()
    assert out["opendata"].astype(bool).tolist() == core["opendata"].astype(bool).tolist()
    assert out.geometry.geom_equals_exact(core.geometry, tolerance=1e-12).all()


def test_overlay_in_qgis_process_equals_core(qgis_process, tmp_path):
    import geopandas as gpd

    path = acv_geo.get_path("herault_pac_risques")
    preset = ["(none)", *list_presets()].index("pac_risques")
    res = _run_json(qgis_process, "acvgeo:overlayindicators", INPUT=path, PRESET=preset, OUTPUT=tmp_path / "o.gpkg")
    out = gpd.read_file(res["results"]["OUTPUT"]).set_index("insee_com")
    core = overlay_indicators(make_zones(acv_geo.read_acv()), path, preset="pac_risques")
    assert list(out.index) == list(core.index)
    for col in core.columns:
        if col.endswith("_reason"):
            continue
        assert all(_close(a, b) for a, b in zip(out[col], core[col], strict=True)), col
    assert out.loc["34032", "pac_risques_inondation_pct"] > 99


def test_zonal_in_qgis_process_equals_core(qgis_process, dem_copy, tmp_path):
    import geopandas as gpd

    res = _run_json(qgis_process, "acvgeo:zonalindicators", INPUT_RASTER=dem_copy, THRESHOLDS="300,500",
                    ZONE_KIND=2, RADIUS=800, OUTPUT=tmp_path / "z.gpkg")
    out = gpd.read_file(res["results"]["OUTPUT"]).set_index("insee_com")
    core = zonal_indicators(make_zones(acv_geo.read_acv(), kind="buffer", radius=800), str(dem_copy),
                            threshold=[300, 500])
    assert list(out.index) == list(core.index)
    for col in ("dem_count", "dem_mean", "dem_min", "dem_max", "dem_below_300_pct", "dem_below_500_pct"):
        assert all(_close(a, b) for a, b in zip(out[col], core[col], strict=True)), col
    assert out.loc["73065", "dem_count"] > 0


def test_clusters_in_qgis_process(qgis_process, tmp_path):
    import geopandas as gpd

    from acv_geo.clusters import local_clusters

    res = _run_json(qgis_process, "acvgeo:clusters", PERMUTATIONS=199, SEED=11, OUTPUT=tmp_path / "cl.gpkg")
    out = gpd.read_file(res["results"]["OUTPUT"]).set_index("insee_com")
    core = local_clusters(acv_geo.read_acv(), "opendata", permutations=199, seed=11).to_frame()
    assert out["label"].tolist() == core["label"].tolist()
    assert all(_close(a, b) for a, b in zip(out["p_sim"], core["p_sim"], strict=True))


def test_bad_field_fails_with_core_message(qgis_process, tmp_path):
    proc = qgis_process("run", "acvgeo:overlayindicators", "--", f"INPUT={acv_geo.get_path('herault_pac_risques')}",
                        "CATEGORY=NOPE", f"OUTPUT={tmp_path / 'o.gpkg'}", check=False)
    assert proc.returncode != 0
    assert "no field named 'NOPE' to use as category; available fields: fid, ID, COMMUNE" in proc.stdout + proc.stderr
    assert not (tmp_path / "o.gpkg").exists()
