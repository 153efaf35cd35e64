"""The plugin zip (scripts/build_plugin.py): layout, bundled wheel and translation, permissions, imports. No QGIS."""

from __future__ import annotations

import configparser
import importlib.util
import zipfile
from pathlib import Path

import acv_geo
from acv_geo.core.datasets import DATASETS

ROOT = Path(__file__).resolve().parents[1]


def _build_module():
    spec = importlib.util.spec_from_file_location("build_plugin", ROOT / "scripts" / "build_plugin.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_zip_layout_wheel_translation_and_permissions(tmp_path):
    path = _build_module().build(tmp_path / "acv_geo_qgis.zip")
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        meta = zf.read("acv_geo_qgis/metadata.txt").decode("utf-8")
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        wheel_name = next(n for n in names if n.startswith("acv_geo_qgis/wheels/") and n.endswith(".whl"))
        wheel_bytes = zf.read(wheel_name)
    assert {n.split("/")[0] for n in names} == {"acv_geo_qgis"}
    required_files = (
        "__init__.py",
        "plugin.py",
        "provider.py",
        "environment.py",
        "runner.py",
        "layers.py",
        "translation.py",
        "choices.json",
        "i18n/acv_geo_qgis_fr.qm",
        "i18n/acv_geo_qgis_fr.ts",
        "icon.png",
        "icon.svg",
        "algorithms/install.py",
        "algorithms/clusters.py",
        "algorithms/fetch.py",
    )
    for required in required_files:
        assert f"acv_geo_qgis/{required}" in names, required
    # no core, no geo stack inside the plugin: the core is the wheel, installed into its own environment
    assert not [n for n in names if "/ext/" in n or n.endswith(".so")]
    assert wheel_name == f"acv_geo_qgis/wheels/acv_geo-{acv_geo.__version__}-py3-none-any.whl"
    wheel = tmp_path / "w.whl"
    wheel.write_bytes(wheel_bytes)
    with zipfile.ZipFile(wheel) as wz:
        inside = wz.namelist()
    for ds in DATASETS.values():
        assert f"acv_geo/_data/{ds.filename}" in inside, ds.filename
    assert "acv_geo/__main__.py" in inside and "acv_geo/cli/_events.py" in inside
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".aux.xml"))]
    assert {m for n, m in modes.items() if n.endswith("/")} == {0o755}
    assert {m for n, m in modes.items() if not n.endswith("/")} == {0o644}
    cfg = configparser.ConfigParser()
    cfg.read_string(meta)
    general = cfg["general"]
    assert general["version"] == acv_geo.__version__
    assert general["qgisMinimumVersion"] == "3.22" and general["hasProcessingProvider"] == "yes"
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
        assert f"({alg}" in general["about"], alg
    assert "Install acv-geo" in general["about"] and "0.1.0" in general["changelog"]


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_plugin_choices_are_the_cores():
    """choices.json (the dialogs' fixed lists) is what scripts/plugin_choices.py derives from the core now."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "plugin_choices.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_plugin_never_imports_the_core_or_the_geo_stack():
    """The plugin's modules import QGIS and the standard library only (the core runs in another process)."""
    import ast

    allowed = {
        "qgis",
        "processing",
        "__future__",
        "json",
        "os",
        "re",
        "sys",
        "time",
        "shlex",
        "shutil",
        "subprocess",
        "tempfile",
        "hashlib",
        "queue",
        "signal",
        "threading",
        "dataclasses",
        "pathlib",
        "html",
        "csv",
    }
    for path in (ROOT / "qgis_plugin" / "acv_geo_qgis").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods = [node.module or ""]
            else:
                continue
            for m in mods:
                assert m.split(".")[0] in allowed, (path.name, m)


def test_zip_is_reproducible(tmp_path):
    mod = _build_module()
    a = mod.build(tmp_path / "a.zip").read_bytes()
    b = mod.build(tmp_path / "b.zip").read_bytes()
    assert a == b
