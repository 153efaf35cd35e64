"""Run every ACV Geo algorithm in a bare QGIS Python, then report what the process loaded (JSON).

Called by test_qgis_capabilities.py with Debian's /usr/bin/python3 (QGIS's interpreter, no venv):
the plugin must work there and leave no numpy/pandas/shapely/pyproj/GDAL wheel in the process.
"""

import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, "/usr/share/qgis/python/plugins")
sys.path.insert(0, str(ROOT / "qgis_plugin"))

from qgis.core import QgsApplication  # noqa: E402

QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
from processing.core.Processing import Processing  # noqa: E402

Processing.initialize()
import acv_geo_qgis  # noqa: E402
import processing  # noqa: E402

plugin = acv_geo_qgis.classFactory(None)
plugin.initProcessing()
data = ROOT / "data"
tmp = Path(tempfile.mkdtemp(prefix="nofor-"))
cases = [
    ("acvgeo:loadcities", {"OUTPUT": str(tmp / "c.gpkg")}),
    (
        "acvgeo:overlayindicators",
        {
            "INPUT": str(data / "herault_pac_risques.gpkg"),
            "PRESET": 5,
            "CITIES": str(tmp / "c.gpkg"),
            "OUTPUT": "memory:",
        },
    ),
    ("acvgeo:zonalindicators", {"INPUT_RASTER": str(data / "copernicus_dem_N45E005.tif"), "OUTPUT": "memory:"}),
    ("acvgeo:tables", {"OUTPUT": str(tmp / "t.gpkg")}),
    ("acvgeo:profile", {"TABLES": [str(tmp / "t.gpkg")], "OUTPUT": "memory:"}),
    ("acvgeo:clusters", {"PERMUTATIONS": 99, "OUTPUT": "memory:"}),
    ("acvgeo:globaltests", {"PERMUTATIONS": 99, "OUTPUT_HTML": str(tmp / "g.html")}),
    ("acvgeo:weights", {"OUTPUT": str(tmp / "w.gal")}),
    ("acvgeo:diagnose", {"PERMUTATIONS": 99, "OUTPUT_FOLDER": str(tmp / "d")}),
]
failed = []
for alg, params in cases:
    try:
        processing.run(alg, params)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        failed.append(f"{alg}: {exc}")
foreign = (
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
    "sklearn",
    "scipy",
    "matplotlib",
    "acv_geo",
)
modules = sorted(m for m in sys.modules if m.split(".")[0] in foreign)
with open("/proc/self/maps", encoding="utf-8") as f:
    libs = sorted({line.split()[-1] for line in f if re.search(r"(site-packages|\.libs/)", line)})
print(json.dumps({"ran": len(cases), "failed": failed, "modules": modules, "libraries": libs}))
