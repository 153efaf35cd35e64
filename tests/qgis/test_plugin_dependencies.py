"""A missing Python dependency inside QGIS: the plugin loads and says, once, what to install.

Each case runs in a fresh interpreter where an import is made to fail (``sys.modules[name] =
None``, as when the package is not installed), then loads the plugin as QGIS does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.qgis

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, sys
blocked, use_iface = sys.argv[1].split(","), sys.argv[2] == "iface"
for name in blocked:
    sys.modules[name] = None  # "import name" now raises ImportError
sys.path.insert(0, "/usr/share/qgis/python/plugins")
sys.path.insert(0, sys.argv[3])
from qgis.core import QgsApplication
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
log = []
QgsApplication.messageLog().messageReceived.connect(lambda m, tag, level: log.append([m, tag, int(level)]))
from processing.core.Processing import Processing
Processing.initialize()

class Bar:
    pushed = []
    def pushMessage(self, title, text, level=0, duration=-1):
        self.pushed.append([title, text, int(level)])

class Iface:
    bar = Bar()
    def messageBar(self):
        return self.bar

iface = Iface() if use_iface else None
import acv_geo_qgis
plugin = acv_geo_qgis.classFactory(iface)
plugin.initGui()
plugin.initProcessing()  # QGIS may call both: still one message, one provider
provider = QgsApplication.processingRegistry().providerById("acvgeo")
print("RESULT" + json.dumps({
    "provider": provider is not None,
    "algorithms": sorted(a.name() for a in provider.algorithms()) if provider else [],
    "log": [m for m in log if m[1] == "ACV Geo"],
    "bar": Bar.pushed,
}))
"""


def _load(blocked: str, iface: bool) -> tuple[dict, str]:
    pytest.importorskip("qgis.core")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    args = [sys.executable, "-c", SCRIPT, blocked, "iface" if iface else "none", str(ROOT / "qgis_plugin")]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT"))
    return json.loads(line[len("RESULT"):]), proc.stderr


def test_missing_geopandas_one_message_no_provider():
    res, stderr = _load("geopandas", iface=True)
    assert res["provider"] is False
    assert len(res["log"]) == 1 and len(res["bar"]) == 1
    text, tag, level = res["log"][0]
    assert level == 2  # Qgis.Critical
    assert "cannot import geopandas (ModuleNotFoundError: import of geopandas halted" in text
    assert "OSGeo4W Shell" in text and "-m pip install" in text and "geopandas" in text.split("pip install")[1]
    assert "Traceback" not in stderr and "Traceback" not in text
    assert res["bar"][0][0] == "ACV Geo" and "geopandas" in res["bar"][0][1]


def test_missing_optional_esda_disables_only_clusters():
    res, stderr = _load("esda", iface=False)
    assert res["provider"] is True
    assert res["algorithms"] == ["loadcities", "overlayindicators", "zonalindicators"]
    assert len(res["log"]) == 1 and res["log"][0][2] == 1  # one Qgis.Warning
    text = res["log"][0][0]
    assert "acvgeo:clusters (needs esda)" in text and "pip install" in text and "esda" in text.split("pip install")[1]
    # no message bar in a script: the same message goes to stderr, once
    assert stderr.count("acvgeo:clusters (needs esda)") == 1


def test_everything_installed_no_message():
    res, stderr = _load("nothing_blocked_xyz", iface=True)
    assert res["provider"] is True and len(res["algorithms"]) == 5
    assert res["log"] == [] and res["bar"] == []
