"""The plugin zip (scripts/build_plugin.py): layout, bundled core and data, reproducibility. No QGIS needed."""

from __future__ import annotations

import configparser
import importlib.util
import zipfile
from pathlib import Path

import acv_geo
from acv_geo.datasets import DATASETS

ROOT = Path(__file__).resolve().parents[1]


def _build_module():
    spec = importlib.util.spec_from_file_location("build_plugin", ROOT / "scripts" / "build_plugin.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_zip_layout_and_bundled_core(tmp_path):
    path = _build_module().build(tmp_path / "acv_geo_qgis.zip")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        meta = zf.read("acv_geo_qgis/metadata.txt").decode("utf-8")
    assert {n.split("/")[0] for n in names} == {"acv_geo_qgis"}
    required_files = (
        "__init__.py", "plugin.py", "provider.py", "convert.py", "deps.py", "icon.png", "icon.svg",
        "styles/clusters.qml", "algorithms/clusters.py", "ext/acv_geo/__init__.py", "ext/acv_geo/io.py",
        "ext/acv_geo/zones.py", "ext/acv_geo/overlay.py", "ext/acv_geo/zonal.py", "ext/acv_geo/clusters.py",
    )
    for required in required_files:
        assert f"acv_geo_qgis/{required}" in names, required
    for ds in DATASETS.values():
        assert f"acv_geo_qgis/ext/acv_geo/_data/{ds.filename}" in names, ds.filename
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".aux.xml"))]
    cfg = configparser.ConfigParser()
    cfg.read_string(meta)
    general = cfg["general"]
    assert general["version"] == acv_geo.__version__
    assert general["qgisMinimumVersion"] == "3.22" and general["hasProcessingProvider"] == "yes"
    for dep in ("geopandas", "shapely", "pyproj", "pyogrio", "rasterio", "exactextract", "libpysal", "esda",
                "OSGeo4W Shell", "pip install"):
        assert dep in general["about"], dep


def test_zip_is_reproducible(tmp_path):
    mod = _build_module()
    a = mod.build(tmp_path / "a.zip").read_bytes()
    b = mod.build(tmp_path / "b.zip").read_bytes()
    assert a == b
