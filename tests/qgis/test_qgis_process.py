"""From the plugin zip to every algorithm, in ``qgis_process`` with a fresh QGIS profile (real QGIS, real pip).

This is what a GIS officer does: install the zip into a new profile, run *Install acv-geo*, run the
algorithms. The module fixture does the first two steps with ``/usr/bin/qgis_process.bin`` (Debian's
wrapper passes an option 3.22 rejects) and a throwaway ``HOME``; the environment is created by the
plugin itself from the wheel inside the zip, its dependencies from the package index (so it holds
the newest releases a user gets, not this test environment's pinned ones). Each algorithm's output is
then compared with the core run here on the same input.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

import acv_geo
from acv_geo.indicators.overlay import list_presets, overlay_indicators
from acv_geo.indicators.zonal import zonal_indicators
from acv_geo.zones import make_zones

pytestmark = [pytest.mark.qgis, pytest.mark.slow]  # builds the plugin's own environment (≈1 min)

ROOT = Path(__file__).resolve().parents[2]
QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")
PROFILE = Path(".local/share/QGIS/QGIS3/profiles/default")


def make_profile(base: Path, plugin_zip: Path, **extra_env: str):
    """A fresh HOME with the plugin installed from the zip and enabled; returns a qgis_process caller."""
    if not QGIS_PROCESS.exists():
        pytest.skip(f"{QGIS_PROCESS} not installed")
    plugins = base / "plugins"
    with zipfile.ZipFile(plugin_zip) as zf:
        zf.extractall(plugins)
    home = base / "home"
    home.mkdir()
    xdg = base / "xdg"
    xdg.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QGIS_", "PYTHON", "ACV_GEO_", "VIRTUAL_ENV"))}
    env.update(
        HOME=str(home), QGIS_PLUGINPATH=str(plugins), QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(xdg), **extra_env
    )

    def call(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(QGIS_PROCESS), *args], env=env, cwd=base, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"qgis_process {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        return proc

    enabled = call("plugins", "enable", "acv_geo_qgis")
    assert "acv_geo_qgis" in enabled.stdout
    call.home, call.plugins, call.base = home, plugins, base
    return call


@pytest.fixture(scope="module")
def installed(tmp_path_factory, plugin_zip):
    """A fresh profile where acvgeo:installenv has built the environment (timed)."""
    call = make_profile(tmp_path_factory.mktemp("qgis_process"), plugin_zip)
    t0 = time.monotonic()
    proc = call("--json", "run", "acvgeo:installenv")
    call.install_seconds = time.monotonic() - t0
    call.install = json.loads(proc.stdout)
    return call


def run_json(call, alg: str, check: bool = True, **params) -> dict:
    proc = call("--json", "run", alg, "--", *[f"{k}={v}" for k, v in params.items()], check=check)
    return json.loads(proc.stdout) if proc.returncode == 0 else {"error": proc.stdout + proc.stderr}


def close(a, b, rel=1e-9) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=1e-6)


# ---------------------------------------------------------------------------------------------
# setup


def test_install_creates_the_environment_from_the_bundled_wheel(installed, plugin_zip, tmp_path):
    env = installed.home / PROFILE / "acv_geo" / "env"
    python = env / "bin" / "python"
    assert python.exists()
    marker = json.loads((env / "acv_geo_env.json").read_text())
    with zipfile.ZipFile(plugin_zip) as zf:
        wheels = [n for n in zf.namelist() if n.startswith("acv_geo_qgis/wheels/") and n.endswith(".whl")]
    assert [f"acv_geo_qgis/wheels/{marker['wheel']}"] == wheels
    assert marker["version"] == acv_geo.__version__
    assert installed.install["results"]["PYTHON"] == str(python)
    # the environment is its own: not this test venv, not QGIS's Python; acv-geo comes from the wheel
    probe = subprocess.run(
        [str(python), "-c", "import acv_geo, numpy, sys; print(acv_geo.__file__, sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert probe.stdout.split()[0].startswith(str(env)) and probe.stdout.split()[1] == str(env)


def test_every_algorithm_is_listed(installed):
    out = installed("list").stdout
    for alg in (
        "installenv",
        "loadcities",
        "overlayindicators",
        "zonalindicators",
        "tables",
        "profile",
        "clusters",
        "globaltests",
        "weights",
        "diagnose",
        "fetch",
    ):
        assert f"acvgeo:{alg}" in out


def test_unreachable_index_gives_the_commands_to_run_by_hand(tmp_path, plugin_zip):
    call = make_profile(
        tmp_path, plugin_zip, PIP_CONFIG_FILE=os.devnull, PIP_FIND_LINKS="", PIP_RETRIES="0", PIP_DEFAULT_TIMEOUT="5"
    )
    proc = call("run", "acvgeo:installenv", "--", "INDEX_URL=http://127.0.0.1:9/simple", check=False, timeout=300)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "The Python package index http://127.0.0.1:9/simple could not be reached" in text
    env = call.home / PROFILE / "acv_geo" / "env"
    wheel = next((call.plugins / "acv_geo_qgis" / "wheels").glob("acv_geo-*.whl"))
    assert f"/usr/bin/python3 -m venv {env}" in text
    assert (
        f"{env}/bin/python -m pip install --disable-pip-version-check --progress-bar off --upgrade "
        f"--index-url http://127.0.0.1:9/simple '{wheel}[fetch]'"
    ) in text
    assert not (env / "acv_geo_env.json").exists()
    # and the algorithms say acv-geo is not installed, in plain words
    msg = run_json(call, "acvgeo:loadcities", check=False, OUTPUT=tmp_path / "c.gpkg")["error"]
    assert "acv-geo is not installed yet. Run 'Install acv-geo'" in msg


# ---------------------------------------------------------------------------------------------
# every algorithm in the installed environment


def test_loadcities(installed, tmp_path):
    import geopandas as gpd

    res = run_json(installed, "acvgeo:loadcities", OUTPUT=tmp_path / "c.gpkg")
    assert res["results"]["N_CITIES"] == 244 and res["results"]["N_OPENDATA"] == 111
    out = gpd.read_file(res["results"]["OUTPUT"]).set_index("insee_com")
    core = acv_geo.read_acv()
    assert list(out.index) == list(core.index)
    assert (out["commune"] == core["commune"]).all()
    assert out.geometry.geom_equals_exact(core.geometry, tolerance=1e-12).all()


def test_overlay(installed, tmp_path):
    import geopandas as gpd

    path = acv_geo.get_path("herault_pac_risques")
    preset = ["(none)", *list_presets()].index("pac_risques")
    res = run_json(installed, "acvgeo:overlayindicators", INPUT=path, PRESET=preset, OUTPUT=tmp_path / "o.gpkg")
    out = gpd.read_file(res["results"]["OUTPUT"]).set_index("insee_com")
    core = overlay_indicators(make_zones(acv_geo.read_acv()), path, preset="pac_risques")
    assert list(out.index) == list(core.index)
    for col in core.columns:
        if not col.endswith("_reason"):
            assert all(close(a, b) for a, b in zip(out[col], core[col], strict=True)), col
    assert out.loc["34032", "pac_risques_inondation_pct"] > 99


def test_zonal(installed, dem_copy, tmp_path):
    import geopandas as gpd

    res = run_json(
        installed,
        "acvgeo:zonalindicators",
        INPUT_RASTER=dem_copy,
        THRESHOLDS="300;500",
        ZONE_KIND=2,
        RADIUS=800,
        OUTPUT=tmp_path / "z.gpkg",
    )
    out = gpd.read_file(res["results"]["OUTPUT"]).set_index("insee_com")
    core = zonal_indicators(
        make_zones(acv_geo.read_acv(), kind="buffer", radius=800), str(dem_copy), threshold=[300, 500], name="dem"
    )
    for col in ("dem_count", "dem_mean", "dem_min", "dem_max", "dem_below_300_pct", "dem_below_500_pct"):
        assert all(close(a, b) for a, b in zip(out[col], core[col], strict=True)), col


def test_tables_profile_clusters_weights(installed, tmp_path):
    import geopandas as gpd

    from acv_geo.indicators.tables import radon_indicators
    from acv_geo.stats.clusters import local_clusters

    cities = acv_geo.read_acv()
    t = run_json(installed, "acvgeo:tables", OUTPUT=tmp_path / "t.gpkg")["results"]["OUTPUT"]
    tables = gpd.read_file(t).set_index("insee_com")
    assert tables["radon_class"].tolist() == radon_indicators(cities)["radon_class"].astype("Int64").tolist()
    p = run_json(installed, "acvgeo:profile", TABLES=t, OUTPUT=tmp_path / "p.gpkg")["results"]["OUTPUT"]
    assert gpd.read_file(p)["rank"].iloc[0] == 1
    res = run_json(installed, "acvgeo:clusters", PERMUTATIONS=199, SEED=11, OUTPUT=tmp_path / "cl.gpkg")
    out = gpd.read_file(res["results"]["OUTPUT"]).set_index("insee_com")
    core = local_clusters(cities, "opendata", permutations=199, seed=11).to_frame()
    assert out["label"].tolist() == core["label"].tolist()
    assert all(close(a, b) for a, b in zip(out["p_sim"], core["p_sim"], strict=True))
    g = run_json(installed, "acvgeo:globaltests", PERMUTATIONS=99, OUTPUT_HTML=tmp_path / "g.html")
    assert 0 < g["results"]["MORAN_I"] < 1
    w = run_json(installed, "acvgeo:weights", OUTPUT=tmp_path / "w.gal")
    assert (tmp_path / "w.gal").read_text().splitlines()[0].split()[-1] == "244"
    assert w["results"]["N_ISLANDS"] == 0


def test_diagnose(installed, tmp_path):
    res = run_json(installed, "acvgeo:diagnose", PERMUTATIONS=99, OUTPUT_FOLDER=tmp_path / "d")
    assert res["results"]["N_CITIES"] == 244
    assert (tmp_path / "d" / "report.html").stat().st_size > 100_000
    assert oct((tmp_path / "d").stat().st_mode & 0o777) == "0o755"


def test_fetch_offline_and_a_bad_input_carry_the_core_message(installed, tmp_path):
    msg = run_json(installed, "acvgeo:fetch", check=False, SOURCES=0, CACHE=tmp_path, OFFLINE="true")["error"]
    assert "cdc_acv_opendata_csv" in msg
    msg = run_json(
        installed,
        "acvgeo:overlayindicators",
        check=False,
        INPUT=acv_geo.get_path("herault_pac_risques"),
        CATEGORY="NOPE",
        OUTPUT=tmp_path / "o.gpkg",
    )["error"]
    assert "layer 'herault_pac_risques': no field named 'NOPE' to use as category; available fields: ID, COMMUNE" in msg
    assert not (tmp_path / "o.gpkg").exists()
