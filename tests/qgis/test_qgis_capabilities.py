"""Every other capability of the toolbox against the core, cancel, French, and nothing foreign in QGIS.

Same approach as test_qgis_plugin.py: ``processing.run("acvgeo:...")`` runs the core in a child
process; the output read back through QGIS is compared with the core function run here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

import pytest
from test_qgis_plugin import Feedback, assert_same, qgis_error, read_layer, run

import acv_geo
from acv_geo.indicators.overlay import overlay_indicators
from acv_geo.indicators.profile import exposure_profile, rank_candidates
from acv_geo.indicators.tables import catnat_indicators, known_risks_indicators, radon_indicators, seismic_indicators
from acv_geo.stats.clusters import join_counts, morans_i
from acv_geo.stats.weights import spatial_weights
from acv_geo.zones import polygon_zones

pytestmark = pytest.mark.qgis

FOREIGN = (
    "numpy",
    "pandas",
    "shapely",
    "pyproj",
    "geopandas",
    "pyogrio",
    "rasterio",
    "fiona",
    "exactextract",
    "libpysal",
    "esda",
    "acv_geo",
)


@pytest.fixture(scope="module")
def cities():
    return acv_geo.read_acv()


def test_tables_equal_core(acvgeo_plugin, cities, tmp_path):
    res = run("acvgeo:tables", {"OUTPUT": str(tmp_path / "t.gpkg")})
    out, types, layer, geoms = read_layer(res["OUTPUT"])
    radon = radon_indicators(cities)
    catnat = catnat_indicators(cities)
    assert list(out.index) == list(cities.index)
    assert_same(out, radon, list(radon.columns))
    assert_same(out, catnat, list(catnat.columns))
    assert layer.crs().authid() == "EPSG:4326" and geoms[0].asPoint().x() == pytest.approx(cities.geometry.x.iloc[0])
    from qgis.PyQt.QtCore import QVariant

    # counts and classes are integer fields
    assert types["catnat_total_count"] in (QVariant.Int, QVariant.LongLong)
    assert types["radon_class"] in (QVariant.Int, QVariant.LongLong)


def test_tables_nothing_to_join(acvgeo_plugin):
    msg = qgis_error(
        "acvgeo:tables", {"RADON": False, "CATNAT": False, "SEISMIC": False, "KNOWN_RISKS": False, "OUTPUT": "memory:"}
    )
    assert msg == "Nothing to join: tick radon, CatNat, the seismic zone or the known risks, or give a table."


def test_profile_equals_core(acvgeo_plugin, cities, tmp_path):
    tables = run("acvgeo:tables", {"OUTPUT": str(tmp_path / "t.gpkg")})["OUTPUT"]
    res = run(
        "acvgeo:profile",
        {
            "TABLES": [tables],
            "WEIGHT_RISK": 1,
            "WEIGHT_NATURE": 0,
            "WEIGHT_OPENDATA": 1,
            "OUTPUT": str(tmp_path / "p.gpkg"),
        },
    )
    out, *_ = read_layer(res["OUTPUT"])
    expected = exposure_profile(
        cities,
        radon_indicators(cities),
        catnat_indicators(cities),
        seismic_indicators(cities),
        known_risks_indicators(cities),
        weights={"risk": 1, "nature": 0, "opendata": 1},
    )
    expected = rank_candidates(expected)
    assert list(out.index) == list(expected.index)
    assert_same(out, expected, ["risk_score", "opendata_score", "exposure_score", "rank"], rtol=1e-9)
    # the output is sorted by rank, best first
    ranks = [r for r in read_layer(res["OUTPUT"])[0]["rank"] if r is not None]
    assert ranks == sorted(ranks) and ranks[0] == 1


def test_global_tests_equal_core(acvgeo_plugin, cities, tmp_path):
    html, js = tmp_path / "g.html", tmp_path / "g.json"
    res = run(
        "acvgeo:globaltests",
        {"PERMUTATIONS": 199, "SEED": 5, "WEIGHTS_KIND": 0, "K": 5, "OUTPUT_HTML": str(html), "OUTPUT_JSON": str(js)},
    )
    moran = morans_i(cities, "opendata", weights="knn:5", permutations=199, seed=5)
    jc = join_counts(cities, "opendata", weights="knn:5", permutations=199, seed=5)
    assert res["MORAN_I"] == pytest.approx(moran.I, rel=1e-12)
    assert res["MORAN_P"] == pytest.approx(moran.p_sim)
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert doc["join_counts"]["bb"] == jc.bb and doc["join_counts"]["p_sim_bb"] == pytest.approx(jc.p_sim_bb)
    page = html.read_text(encoding="utf-8")
    assert "Moran&#x27;s I (global)" in page and f"{moran.I:.6g}" in page and "Join counts (global)" in page


def test_weights_export_equals_core(acvgeo_plugin, cities, tmp_path):
    out = tmp_path / "w.gal"
    res = run("acvgeo:weights", {"WEIGHTS_KIND": 1, "DISTANCE": 30000, "OUTPUT": str(out)})
    core = tmp_path / "core.gal"
    with pytest.warns(UserWarning):
        spatial_weights(cities, "distance:30000").to_gal(core)
    assert out.read_text() == core.read_text()
    assert res["N_ISLANDS"] == len(spatial_weights(cities, "distance:30000").islands) > 0


def test_overlay_on_every_polygon_of_a_user_layer(acvgeo_plugin, tmp_path):
    """A non-ACV commune layer (any INSEE field) gives one row per polygon."""
    communes = acv_geo.read_communes().iloc[:5].reset_index().rename(columns={"insee_com": "CODE_INSEE"})
    src = tmp_path / "mine.gpkg"
    communes.to_file(src, layer="mine")
    res = run(
        "acvgeo:overlayindicators",
        {
            "INPUT": str(acv_geo.get_path("reperes_crues_34")),
            "PREFIX": "marks",
            "ZONE_KIND": 3,
            "ZONES": f"{src}|layername=mine",
            "OUTPUT": str(tmp_path / "o.gpkg"),
        },
    )
    out, *_ = read_layer(res["OUTPUT"])
    polygons, kind = acv_geo.read_polygons(src)
    expected = overlay_indicators(
        polygon_zones(polygons, kind=kind), acv_geo.get_path("reperes_crues_34"), name="marks"
    )
    assert list(out.index) == list(communes["CODE_INSEE"]) == list(expected.index)
    assert_same(out, expected, list(expected.columns), rtol=1e-9)


def test_overlay_on_every_epci(acvgeo_plugin, tmp_path):
    res = run(
        "acvgeo:overlayindicators",
        {
            "INPUT": str(acv_geo.get_path("ppr_scie_76")),
            "PREFIX": "ppr",
            "ZONE_KIND": 4,
            "OUTPUT": str(tmp_path / "o.gpkg"),
        },
    )
    out, *_ = read_layer(res["OUTPUT"], key="siren_epci")
    expected = overlay_indicators(
        polygon_zones(acv_geo.read_epci(), kind="epci"), acv_geo.get_path("ppr_scie_76"), name="ppr"
    )
    assert len(out) == 1255 and list(out.index) == list(expected.index)
    assert_same(out, expected, ["ppr_area_m2", "ppr_pct", "ppr_count"], rtol=1e-9)
    assert (out["ppr_count"] > 0).sum() >= 1


def test_fetch_offline_gives_core_message(acvgeo_plugin, tmp_path):
    msg = qgis_error("acvgeo:fetch", {"SOURCES": [0], "CACHE": str(tmp_path), "OFFLINE": True})
    assert "cdc_acv_opendata_csv" in msg and "offline" in msg


@pytest.mark.slow
def test_no_geo_stack_in_qgis_process_after_every_algorithm():
    """Run in a fresh QGIS Python: every algorithm, then not one foreign module or library is loaded."""
    import subprocess

    script = Path(__file__).parent / "drivers" / "no_foreign_stack.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(ACV_GEO_PYTHON=sys.executable, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(["/usr/bin/python3", str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failed"] == [], report
    assert report["ran"] >= 8
    assert report["modules"] == [] and report["libraries"] == []


# ---------------------------------------------------------------------------------------------
# cancel


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_cancel_stops_the_child_within_two_seconds_and_keeps_the_previous_outputs(acvgeo_plugin, tmp_path):
    from qgis.core import QgsProcessingException

    folder = tmp_path / "diag"
    run("acvgeo:diagnose", {"PERMUTATIONS": 99, "OUTPUT_FOLDER": str(folder)})
    before = _digest(folder)
    assert "report.html" in before

    fb = Feedback()
    pids: list[int] = []
    original = fb.pushDebugInfo

    def debug(text):
        m = re.match(r"acv-geo process (\d+) started", text)
        if m:
            pids.append(int(m.group(1)))
        original(text)

    fb.pushDebugInfo = debug
    cancelled_at: list[float] = []

    def cancel():
        time.sleep(2.0)
        cancelled_at.append(time.monotonic())
        fb.cancel()

    threading.Thread(target=cancel, daemon=True).start()
    with pytest.raises(QgsProcessingException, match="Cancelled: the acv-geo process was stopped"):
        run("acvgeo:diagnose", {"PERMUTATIONS": 9999, "OUTPUT_FOLDER": str(folder)}, fb)
    stopped = time.monotonic() - cancelled_at[0]
    assert stopped < 2.0, stopped
    assert pids, "the runner did not report its child"
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)
    assert _digest(folder) == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".diag")]


# ---------------------------------------------------------------------------------------------
# French


def test_french_dialog_strings(acvgeo_plugin):
    from acv_geo_qgis import translation
    from qgis.core import QgsApplication, QgsSettings

    settings = QgsSettings()
    old = settings.value("locale/userLocale", "")
    settings.setValue("locale/userLocale", "fr_FR")
    try:
        translation.uninstall_translator()
        assert translation.install_translator().endswith("acv_geo_qgis_fr.qm")
        alg = QgsApplication.processingRegistry().algorithmById("acvgeo:zonalindicators").createInstance()
        alg.initAlgorithm()
        assert alg.displayName() == "Indicateurs zonaux (statistiques raster dans chaque zone)"
        names = {p.name(): p.description() for p in alg.parameterDefinitions()}
        assert names["STATS"] == "Statistiques" and names["ZONE_KIND"] == "Zones"
        assert names["RADIUS"] == "Rayon du tampon (mètres)"
        assert alg.group() == "Diagnostics ACV"
        assert "Résume un raster" in alg.shortHelpString()
    finally:
        translation.uninstall_translator()
        settings.setValue("locale/userLocale", old)
    english = QgsApplication.processingRegistry().algorithmById("acvgeo:zonalindicators").createInstance()
    assert english.displayName() == "Zonal indicators (raster statistics in each zone)"


def test_every_display_string_has_a_french_translation():
    import subprocess

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, str(root / "scripts" / "build_translations.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_graduated_style_classes_measured_values_and_shows_no_data_apart(acvgeo_plugin, dem_copy, tmp_path):
    """QGIS's own classification counts NULL as 0; the style uses the measured values only."""
    from acv_geo_qgis import layers
    from qgis.core import QgsVectorLayer

    from acv_geo.indicators.zonal import zonal_indicators
    from acv_geo.zones import make_zones

    res = run("acvgeo:zonalindicators", {"INPUT_RASTER": str(dem_copy), "OUTPUT": str(tmp_path / "z.gpkg")})
    layer = QgsVectorLayer(res["OUTPUT"], "z", "ogr")
    renderer = layers.style_numeric(("_mean",))(layer)  # keep it: the rules belong to it
    rules = renderer.rootRule().children()
    means = zonal_indicators(make_zones(acv_geo.read_acv()), str(dem_copy), name="dem")["dem_mean"].dropna()
    assert len(means) == 7 and [r.label() for r in rules][-1] == "No data"
    assert rules[-1].filterExpression() == '"dem_mean" IS NULL'
    assert rules[0].label().startswith(f"{means.min():.4g} – ") and rules[-2].label().endswith(f" – {means.max():.4g}")
    assert len(rules) == 6  # five quantile classes of the 7 measured towns, then "no data"


def test_environment_status_install_upgrade_and_own_python(acvgeo_plugin, tmp_path, monkeypatch):
    """No environment → not ready (install message); a marker of another wheel → upgrade; same wheel → ready."""
    from acv_geo_qgis import environment

    monkeypatch.delenv("ACV_GEO_PYTHON", raising=False)
    monkeypatch.setattr(environment, "env_dir", lambda: tmp_path / "env")
    monkeypatch.setattr(environment, "WHEELS", tmp_path / "wheels")
    (tmp_path / "wheels").mkdir()
    wheel = tmp_path / "wheels" / "acv_geo-0.2.0-py3-none-any.whl"
    wheel.write_bytes(b"new wheel")
    st = environment.status()
    assert (st.ready, st.python) == (False, None)
    assert st.message.startswith("acv-geo is not installed yet. Run 'Install acv-geo'")
    python = environment.env_python()
    python.parent.mkdir(parents=True)
    python.write_text("")
    (tmp_path / "env" / environment.MARKER).write_text(json.dumps({"version": "0.1.0", "sha256": "old"}))
    st = environment.status()
    assert (st.ready, st.upgrade, st.python) == (True, True, str(python))
    assert "newer acv-geo (0.2.0) than its environment (0.1.0)" in st.message
    sha = hashlib.sha256(b"new wheel").hexdigest()
    (tmp_path / "env" / environment.MARKER).write_text(json.dumps({"version": "0.2.0", "sha256": sha}))
    assert environment.status() == environment.Status(str(python), True, False, "")
    # an interpreter of the user's own takes precedence; a wrong one is named
    monkeypatch.setenv("ACV_GEO_PYTHON", sys.executable)
    assert environment.status() == environment.Status(sys.executable, True, False, "")
    monkeypatch.setenv("ACV_GEO_PYTHON", str(tmp_path / "nope" / "python"))
    assert "does not exist" in environment.status().message


def test_child_environment_drops_qgis_variables(monkeypatch):
    from acv_geo_qgis import environment

    monkeypatch.setenv("PROJ_LIB", "/usr/share/proj")
    monkeypatch.setenv("PYTHONPATH", "/usr/share/qgis/python")
    env = environment.clean_environ()
    assert "PROJ_LIB" not in env and "PYTHONPATH" not in env
    assert env["PYTHONIOENCODING"] == "utf-8" and env["PYTHONUNBUFFERED"] == "1"


def test_field_aliases_are_the_core_labels_in_the_users_language(acvgeo_plugin, tmp_path):
    """The output's fields show the core's human labels (metadata sidecar), in French for a French QGIS."""
    from acv_geo_qgis import layers
    from qgis.core import QgsSettings, QgsVectorLayer

    settings = QgsSettings()
    old = settings.value("locale/userLocale", "")
    try:
        for locale, radon, count, code in (
            ("fr_FR", "Potentiel radon (classe)", "Arrêtés CatNat, total : nombre", "Code INSEE de la commune"),
            ("en_GB", "Radon potential (class)", "CatNat decrees, total: count", "INSEE commune code"),
        ):
            settings.setValue("locale/userLocale", locale)
            layers._ALIASES.clear()
            res = run("acvgeo:tables", {"OUTPUT": str(tmp_path / f"t_{locale}.gpkg")})
            (aliases,) = layers._ALIASES.values()  # read from the child's sidecar before its folder went away
            assert aliases["radon_class"] == radon and aliases["catnat_total_count"] == count
            layer = QgsVectorLayer(res["OUTPUT"], "t", "ogr")
            layers._Styler(lambda lyr: None, aliases).postProcessLayer(layer, None, None)
            fields = layer.fields()
            assert layer.attributeDisplayName(fields.indexFromName("radon_class")) == radon
            assert layer.attributeDisplayName(fields.indexFromName("catnat_total_count")) == count
            assert layer.attributeDisplayName(fields.indexFromName("insee_com")) == code
    finally:
        settings.setValue("locale/userLocale", old)
