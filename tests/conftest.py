"""Shared fixtures.

``qgis_app``: a real QGIS (Debian's python3-qgis) started once per session, with Processing
initialised, for cross-checks against QGIS's own algorithms and for the plugin tests. Tests that
use it are skipped when ``qgis.core`` does not import (core tests still pass without QGIS).
``shared_data``: the project's ``../shared/data`` folder (tests may read it; the product may not).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present")
    return SHARED


@pytest.fixture(scope="session")
def qgis_app():
    """Start QGIS headless once; yield the QgsApplication (Processing initialised)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if "XDG_RUNTIME_DIR" not in os.environ:
        d = tempfile.mkdtemp(prefix="xdg-")
        os.chmod(d, 0o700)
        os.environ["XDG_RUNTIME_DIR"] = d
    try:
        from qgis.core import QgsApplication
    except ImportError:
        pytest.skip("qgis.core is not importable (install python3-qgis; see scripts/test.sh)")
    plugins = "/usr/share/qgis/python/plugins"
    if plugins not in sys.path:
        sys.path.insert(0, plugins)
    app = QgsApplication.instance()
    if app is None:
        QgsApplication.setPrefixPath("/usr", True)
        app = QgsApplication([], False)
        app.initQgis()
        from processing.core.Processing import Processing

        Processing.initialize()
    yield app
    # No exitQgis(): layer references still alive at exit would segfault (see docs/qgis.md).
