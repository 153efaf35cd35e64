"""Benchmark: cost of running the analysis outside QGIS's process, per algorithm.

For each case, three ways to get the same output, measured interleaved (A B C A B C …) in one run:
- ``core``: the acv-geo function called in this Python process (the floor);
- ``cli``: ``python -m acv_geo --json …`` in a child process (what the plugin starts: interpreter
  start-up, imports, reading, computing, writing a GeoPackage);
- ``qgis``: ``processing.run("acvgeo:…")`` in a headless QGIS, the plugin's whole path (exporting the
  input layers, the child process, copying the output into the sink).

Also times *Install acv-geo* in a fresh profile when ``--setup`` is given (needs the package index).
Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_qgis.py [--repeats 5] [--setup]``.
Writes ``benchmarks/results/qgis.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import acv_geo
from acv_geo.indicators.overlay import overlay_indicators
from acv_geo.indicators.zonal import zonal_indicators
from acv_geo.zones import make_zones

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "qgis.json"


def _qgis():
    sys.path.insert(0, "/usr/share/qgis/python/plugins")
    sys.path.insert(0, str(ROOT / "qgis_plugin"))
    from qgis.core import QgsApplication

    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    import acv_geo_qgis
    import processing

    os.environ["ACV_GEO_PYTHON"] = sys.executable
    plugin = acv_geo_qgis.classFactory(None)
    plugin.initProcessing()
    return app, plugin, processing


def cases(tmp: Path):
    pac = str(acv_geo.get_path("herault_pac_risques"))
    dem = str(acv_geo.get_path("dem_n45e005"))

    def core_cities():
        acv_geo.read_acv()

    def core_overlay():
        overlay_indicators(make_zones(acv_geo.read_acv()), pac, preset="pac_risques")

    def core_zonal():
        zonal_indicators(make_zones(acv_geo.read_acv()), dem)

    return [
        (
            "loadcities",
            core_cities,
            ["cities", "--out", str(tmp / "c.gpkg")],
            ("acvgeo:loadcities", {"OUTPUT": "memory:"}),
        ),
        (
            "overlayindicators",
            core_overlay,
            ["indicators", "--layer", pac, "--preset", "pac_risques", "--geometry", "--out", str(tmp / "o.gpkg")],
            ("acvgeo:overlayindicators", {"INPUT": pac, "PRESET": 5, "OUTPUT": "memory:"}),
        ),
        (
            "zonalindicators",
            core_zonal,
            ["zonal", "--raster", dem, "--geometry", "--out", str(tmp / "z.gpkg")],
            ("acvgeo:zonalindicators", {"INPUT_RASTER": dem, "OUTPUT": "memory:"}),
        ),
    ]


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def setup_seconds(tmp: Path) -> float:
    """Time acvgeo:installenv in a fresh profile with qgis_process (the plugin zip as users get it)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_plugin

    zip_path = build_plugin.build(tmp / "acv_geo_qgis.zip")
    plugins, home = tmp / "plugins", tmp / "home"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(plugins)
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QGIS_", "PYTHON", "ACV_GEO_"))}
    env.update(HOME=str(home), QGIS_PLUGINPATH=str(plugins), QT_QPA_PLATFORM="offscreen")
    qp = "/usr/bin/qgis_process.bin"
    subprocess.run([qp, "plugins", "enable", "acv_geo_qgis"], env=env, check=True, capture_output=True)
    t0 = time.perf_counter()
    subprocess.run([qp, "run", "acvgeo:installenv"], env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--setup", action="store_true", help="also time Install acv-geo (uses the package index)")
    args = ap.parse_args(argv)
    _app, _plugin, processing = _qgis()
    results = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, core, cli, (alg, params) in cases(tmp):
            samples = {"core": [], "cli": [], "qgis": []}
            core()  # warm the imports of this process once
            for _ in range(args.repeats):
                samples["core"].append(timed(core))
                samples["cli"].append(
                    timed(
                        lambda cli=cli: subprocess.run(
                            [sys.executable, "-m", "acv_geo", "--json", *cli], check=True, capture_output=True, cwd=tmp
                        )
                    )
                )
                samples["qgis"].append(timed(lambda alg=alg, params=params: processing.run(alg, dict(params))))
            row = {"algorithm": name, "repeats": args.repeats}
            for k, v in samples.items():
                row[k] = {"median": statistics.median(v), "min": min(v), "max": max(v)}
            row["overhead_s"] = row["qgis"]["median"] - row["core"]["median"]
            results.append(row)
            print(
                f"{name}: core {row['core']['median']:.2f} s, cli {row['cli']['median']:.2f} s, "
                f"QGIS {row['qgis']['median']:.2f} s (overhead {row['overhead_s']:.2f} s)"
            )
        setup = setup_seconds(tmp / "setup") if args.setup else None
    import numpy
    import pandas

    doc = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "pandas": pandas.__version__,
            "acv_geo": acv_geo.__version__,
        },
        "date": time.strftime("%Y-%m-%d"),
        "results": results,
        "setup_seconds": setup,
    }
    OUT.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}" + (f"; Install acv-geo took {setup:.0f} s" if setup else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
