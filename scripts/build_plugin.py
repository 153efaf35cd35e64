#!/usr/bin/env python3
"""Build the installable QGIS plugin zip: dist/acv_geo_qgis.zip.

The zip's top folder is ``acv_geo_qgis/`` (QGIS installs a plugin zip into a folder of that
name). It bundles the core library: ``acv_geo/`` is copied to ``acv_geo_qgis/ext/acv_geo/`` with
the embedded data in ``ext/acv_geo/_data/`` (where ``acv_geo.datasets.data_dir`` looks in an
installed package). The plugin's ``__init__`` adds ``ext/`` to ``sys.path`` only when ``acv_geo``
is not importable otherwise, so an ``acv_geo`` pip-installed in QGIS's Python wins. The third-party
dependencies (geopandas, rasterio…) are NOT bundled: they carry compiled libraries specific to each
platform and Python; the plugin tells the user how to install them.

The version written into the zipped metadata.txt is ``acv_geo.__version__`` (one source of truth).
The zip is reproducible: sorted entries, fixed timestamps, no __pycache__.

Usage: python scripts/build_plugin.py [--out dist/acv_geo_qgis.zip]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "qgis_plugin" / "acv_geo_qgis"
CORE = ROOT / "acv_geo"
DATA = ROOT / "data"
NAME = "acv_geo_qgis"
_EPOCH = (2020, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", "ext"}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".aux.xml", ".orig", ".rej", "~")


def _version() -> str:
    text = (CORE / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not m:
        sys.exit(f"build_plugin: no __version__ in {CORE / '__init__.py'}")
    return m.group(1)


def _files(folder: Path, skip_dirs: set[str] = _SKIP_DIRS) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and not d.startswith("."))
        for f in sorted(filenames):
            if f.startswith(".") or f.endswith(_SKIP_SUFFIXES):
                continue
            out.append(Path(dirpath) / f)
    return out


def entries() -> list[tuple[str, Path | bytes]]:
    """(name inside the zip, source file or bytes), sorted by name."""
    version = _version()
    items: list[tuple[str, Path | bytes]] = []
    for f in _files(PLUGIN):
        rel = f.relative_to(PLUGIN).as_posix()
        if rel == "metadata.txt":
            text = f.read_text(encoding="utf-8")
            text = re.sub(r"^version=.*$", f"version={version}", text, flags=re.M)
            items.append((f"{NAME}/metadata.txt", text.encode("utf-8")))
        else:
            items.append((f"{NAME}/{rel}", f))
    for f in _files(CORE, {"__pycache__"}):
        items.append((f"{NAME}/ext/acv_geo/{f.relative_to(CORE).as_posix()}", f))
    for f in _files(DATA, {"__pycache__"}):
        items.append((f"{NAME}/ext/acv_geo/_data/{f.relative_to(DATA).as_posix()}", f))
    return sorted(items, key=lambda t: t[0])


def build(out: Path) -> Path:
    """Write the zip atomically to ``out``; return it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".acv_geo_qgis-", suffix=".zip", dir=out.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            dirs: set[str] = set()
            for name, src in entries():
                parts = name.split("/")[:-1]
                for i in range(1, len(parts) + 1):
                    d = "/".join(parts[:i]) + "/"
                    if d not in dirs:
                        dirs.add(d)
                        info = zipfile.ZipInfo(d, _EPOCH)
                        info.external_attr = (0o40755 << 16) | 0x10
                        zf.writestr(info, b"")
                data = src if isinstance(src, bytes) else src.read_bytes()
                info = zipfile.ZipInfo(name, _EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o100644 << 16
                zf.writestr(info, data)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "dist" / f"{NAME}.zip", help="zip to write")
    args = ap.parse_args(argv)
    path = build(args.out)
    with zipfile.ZipFile(path) as zf:
        n = len([i for i in zf.infolist() if not i.is_dir()])
    print(f"build_plugin: wrote {path} ({n} files, {path.stat().st_size / 1e6:.1f} MB, version {_version()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
