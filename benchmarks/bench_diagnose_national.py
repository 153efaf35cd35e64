"""`acv-geo diagnose --scope all-communes`: every French commune, all steps, 9,999 permutations (issue #18).

    python benchmarks/bench_diagnose_national.py [--repeats 1] [--communes PATH]

Runs the CLI's main job on every commune (``--scope all-communes --communes`` the national commune
polygons of ``../shared/data/boundaries/communes_cog2025.gpkg``) in a fresh process, as
``bench_diagnose.py`` runs it: wall time of the process, per-step timings, CPU time of the process and of
its children, peak resident and proportional memory of the process tree (sampled every 50 ms). This tree
only (the implementation before issue #18 needs more than 3 GB and minutes: its figures are in
docs/performance.md's history). Writes benchmarks/results/diagnose_national.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

from bench_diagnose import ROOT, _git, _run, _summary, _versions

OUT = ROOT / "benchmarks" / "results" / "diagnose_national.json"
COMMUNES = ROOT.parent / "shared" / "data" / "boundaries" / "communes_cog2025.gpkg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--communes", type=Path, default=COMMUNES)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if not args.communes.is_file():
        raise SystemExit(f"{args.communes} not found (national commune polygons, ../shared/data)")
    extra = ("--scope", "all-communes", "--communes", str(args.communes))
    runs = []
    with tempfile.TemporaryDirectory() as d:
        for k in range(args.repeats):
            res = _run(ROOT, Path(d) / f"run-{k}", None, extra)
            print(f"run {k + 1}: {res['wall_s']:.1f} s, peak PSS {res['peak_tree_pss_mib']:.0f} MiB", flush=True)
            runs.append(res)
    steps: dict[str, list[float]] = {}
    for r in runs:
        for s, v in r["timings"].items():
            steps.setdefault(s, []).append(v)
    result = {
        "benchmark": "acv-geo diagnose on every French commune (34,867 communes, default config: 3 layers, "
        "1 raster, 4 tables, LISA + join counts + Moran's I with 9,999 permutations, maps, report)",
        "command": "acv-geo diagnose --quiet --out DIR --scope all-communes --communes communes_cog2025.gpkg",
        "repeats": args.repeats,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": _versions(),
        "commit": _git(ROOT, "rev-parse", "HEAD"),
        "wall_s": _summary([r["wall_s"] for r in runs]),
        "steps_s": {s: _summary(v) for s, v in steps.items()},
        "cpu_self_s": _summary([r["cpu_self_s"] for r in runs]),
        "cpu_children_s": _summary([r["cpu_children_s"] for r in runs]),
        "peak_tree_pss_mib": _summary([r["peak_tree_pss_mib"] for r in runs]),
        "peak_tree_rss_mib": _summary([r["peak_tree_rss_mib"] for r in runs]),
        "maxrss_self_mib": _summary([r["maxrss_self_mib"] for r in runs]),
        "target": {"wall_s": 30.0, "peak_mb": 1500},
        "median_wall_s": statistics.median(r["wall_s"] for r in runs),
    }
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
