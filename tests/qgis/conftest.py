"""Fixtures of the QGIS plugin tests: the plugin loaded from the source tree, registered once.

The plugin runs the core in a separate interpreter; here it is this test environment's own Python
(``ACV_GEO_PYTHON``), which has acv-geo installed in development mode. The setup tests
(test_qgis_setup.py) build a real environment from the plugin zip instead.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_PARENT = ROOT / "qgis_plugin"


@pytest.fixture(scope="session")
def acvgeo_plugin(qgis_app):
    """The ACV Geo plugin, loaded like QGIS does (classFactory + initProcessing), registered once.

    A second ``addProvider`` with the same id would delete the provider, so an already registered
    ``acvgeo`` provider is reused.
    """
    import os

    from qgis.core import QgsApplication

    os.environ["ACV_GEO_PYTHON"] = sys.executable
    if str(PLUGIN_PARENT) not in sys.path:
        sys.path.insert(0, str(PLUGIN_PARENT))
    import acv_geo_qgis

    registry = QgsApplication.processingRegistry()
    plugin = acv_geo_qgis.classFactory(None)
    existing = registry.providerById("acvgeo")
    if existing is None:
        plugin.initProcessing()
        assert plugin.provider is not None, f"provider not registered: {plugin.report}"
    else:
        plugin.provider = existing
    return plugin


@pytest.fixture(scope="session")
def dem_copy(tmp_path_factory) -> Path:
    """The embedded DEM copied to a temporary folder (QGIS writes .aux.xml beside rasters it opens)."""
    import acv_geo

    d = tmp_path_factory.mktemp("dem")
    dst = d / "dem.tif"
    shutil.copy(acv_geo.get_path("dem_n45e005"), dst)
    return dst


@pytest.fixture(scope="session")
def plugin_zip(tmp_path_factory) -> Path:
    """The plugin zip as users get it (scripts/build_plugin.py: plugin, translation, acv-geo wheel)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_plugin", ROOT / "scripts" / "build_plugin.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build(tmp_path_factory.mktemp("zip") / "acv_geo_qgis.zip")
