"""Startup script for QGIS desktop (``qgis --code desktop_soak.py``): run ACV Geo algorithms from their dialogs.

Driven by test_qgis_desktop.py under Xvfb. Each run opens the algorithm's dialog
(``processing.createAlgorithmDialog``), presses Run (``runAlgorithm``: the dialog path, a
Processing task in a worker thread, as a user's click) and waits for the task to end. Results go to
``$ACV_SOAK_OUT/soak.jsonl``; screenshots of the toolbox and of one dialog to ``$ACV_SOAK_OUT``; then
QGIS quits. A crash shows as a missing "done" line and a non-zero exit code.
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface

OUT = Path(os.environ["ACV_SOAK_OUT"])
DATA = Path(os.environ["ACV_SOAK_DATA"])
LOG = OUT / "soak.jsonl"


def log(**record):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, default=str) + "\n")


def runs():
    pac = str(DATA / "herault_pac_risques.gpkg")
    dem = str(DATA / "copernicus_dem_N45E005.tif")
    cities = str(OUT / "cities.gpkg")
    tables = str(OUT / "tables.gpkg")
    one = [
        ("acvgeo:loadcities", {"OUTPUT": cities}),
        ("acvgeo:overlayindicators", {"INPUT": pac, "PRESET": 5, "CITIES": cities, "OUTPUT": "TEMPORARY_OUTPUT"}),
        ("acvgeo:zonalindicators", {"INPUT_RASTER": dem, "OUTPUT": "TEMPORARY_OUTPUT"}),
        ("acvgeo:tables", {"OUTPUT": tables}),
        ("acvgeo:profile", {"TABLES": [tables], "OUTPUT": "TEMPORARY_OUTPUT"}),
        ("acvgeo:clusters", {"PERMUTATIONS": 99, "OUTPUT": "TEMPORARY_OUTPUT"}),
        ("acvgeo:globaltests", {"PERMUTATIONS": 99, "OUTPUT_HTML": str(OUT / "global.html")}),
        ("acvgeo:weights", {"OUTPUT": str(OUT / "w.gal")}),
        ("acvgeo:diagnose", {"PERMUTATIONS": 99, "OUTPUT_FOLDER": str(OUT / "diagnostic")}),
    ]
    extra = [
        ("acvgeo:overlayindicators", {"INPUT": pac, "ZONE_KIND": 4, "PREFIX": "pac", "OUTPUT": "TEMPORARY_OUTPUT"}),
        ("acvgeo:zonalindicators", {"INPUT_RASTER": dem, "ZONE_KIND": 2, "RADIUS": 2000, "OUTPUT": "TEMPORARY_OUTPUT"}),
    ]
    return one + one + extra  # 20 runs, two full diagnostics


class Soak:
    def __init__(self):
        import processing

        self.processing = processing
        self.todo = list(enumerate(runs()))
        self.dialog = None
        self.t0 = 0.0

    def start(self):
        log(event="start", python=sys.executable, n=len(self.todo))
        QTimer.singleShot(500, self.next)

    def next(self):
        if not self.todo:
            self.finish()
            return
        i, (alg, params) = self.todo.pop(0)
        try:
            self.dialog = self.processing.createAlgorithmDialog(alg, params)
            self.dialog.show()
            if i == 2:
                self.shot(self.dialog, "dialog.png")
            self.t0 = time.monotonic()
            self.current = (i, alg)
            self.dialog.runAlgorithm()  # the Run button
        except Exception:  # noqa: BLE001
            log(event="run", i=i, alg=alg, ok=False, error=traceback.format_exc())
            QTimer.singleShot(100, self.next)
            return
        QTimer.singleShot(500, self.wait)

    def wait(self):
        if QgsApplication.taskManager().countActiveTasks() > 0:
            QTimer.singleShot(300, self.wait)
            return
        i, alg = self.current
        results = self.dialog.results() or {}
        log(
            event="run",
            i=i,
            alg=alg,
            ok=bool(results),
            seconds=round(time.monotonic() - self.t0, 2),
            keys=sorted(results),
        )
        self.dialog.close()
        self.dialog.deleteLater()
        self.dialog = None
        QTimer.singleShot(200, self.next)

    def shot(self, widget, name):
        QgsApplication.processEvents()
        widget.grab().save(str(OUT / name))

    def finish(self):
        from qgis.utils import plugins

        toolbox = getattr(plugins.get("processing"), "toolbox", None)
        if toolbox is not None:
            toolbox.setVisible(True)
            if hasattr(toolbox, "searchBox"):
                toolbox.searchBox.setText("ACV")
        QTimer.singleShot(1500, self.quit)

    def quit(self):
        self.shot(iface.mainWindow(), "toolbox.png")
        geo = ("numpy", "pandas", "shapely", "pyproj", "geopandas", "pyogrio", "rasterio", "fiona", "acv_geo")
        # QGIS itself may load Debian's numpy (/usr/lib/python3); anything from elsewhere is foreign
        modules = sorted(
            m
            for m, mod in list(sys.modules.items())
            if m.split(".")[0] in geo and not str(getattr(mod, "__file__", "") or "/usr/").startswith("/usr/")
        )
        log(event="done", layers=len(QgsProject.instance().mapLayers()), foreign_modules=modules)
        QgsProject.instance().clear()  # temporary outputs: no "layers will be lost" question at exit
        iface.actionExit().trigger()


_soak = Soak()
QTimer.singleShot(3000, _soak.start)
