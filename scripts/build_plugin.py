#!/usr/bin/env python3
"""Build the installable QGIS plugin zip: dist/acv_geo_qgis.zip.

The zip's top folder is ``acv_geo_qgis/`` (QGIS installs a plugin zip into a folder of that
name). The plugin never imports the core: it carries the acv-geo **wheel** (with the embedded data)
in ``acv_geo_qgis/wheels/``, from which *Install acv-geo* creates the plugin's own Python
environment (its dependencies come from the package index). The French translation
``i18n/acv_geo_qgis_fr.qm`` is shipped as compiled.

The version written into the zipped metadata.txt is ``acv_geo.__version__`` (one source of truth).
The zip is reproducible: sorted entries, fixed timestamps, no __pycache__.

Usage: python scripts/build_plugin.py [--out dist/acv_geo_qgis.zip]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "qgis_plugin" / "acv_geo_qgis"
CORE = ROOT / "acv_geo"
NAME = "acv_geo_qgis"
_EPOCH = (2020, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", "ext", "wheels"}
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


def build_wheel(folder: Path) -> Path:
    """Build the acv-geo wheel (data included) into ``folder``; return it."""
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", str(folder)]
    try:
        import hatchling  # noqa: F401 - present: build without an isolated environment (offline, faster)

        cmd.append("--no-build-isolation")
    except ImportError:
        pass
    subprocess.run([*cmd, str(ROOT)], check=True)
    wheels = sorted(folder.glob("acv_geo-*.whl"))
    if not wheels:
        sys.exit(f"build_plugin: pip wheel wrote no acv_geo wheel in {folder}")
    return wheels[-1]


def entries(wheel: Path | None = None) -> list[tuple[str, Path | bytes]]:
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
    if wheel is not None:
        items.append((f"{NAME}/wheels/{wheel.name}", wheel))
    return sorted(items, key=lambda t: t[0])


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def build(out: Path) -> Path:
    """Write the zip atomically to ``out``; return it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".acv_geo_qgis-", suffix=".zip", dir=out.parent)
    os.close(fd)
    try:
        with (
            tempfile.TemporaryDirectory() as wheels,
            zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        ):
            dirs: set[str] = set()
            for name, src in entries(build_wheel(Path(wheels))):
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
        os.chmod(tmp, 0o666 & ~_umask())
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
