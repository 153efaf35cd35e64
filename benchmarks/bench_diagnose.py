"""Time `acv-geo diagnose` on the embedded default and measure its peak memory.

    python benchmarks/bench_diagnose.py

Runs, each in a fresh process: the CLI with the embedded default (9,999 permutations, the README's
main command), the same with 99 permutations (the peer: what the permutation tests cost), and
`import acv_geo` alone (start-up cost). Writes benchmarks/results/diagnose.json.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "diagnose.json"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from acv_geo.cli import main
code = main(sys.argv[1:])
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"code": code, "wall_s": wall, "peak_mib": peak}), file=sys.stderr)
"""


def _run(args: list[str]) -> dict:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, cwd=ROOT)
    outer = time.perf_counter() - t0
    last = [line for line in p.stderr.splitlines() if line.startswith("{")]
    if p.returncode != 0 or not last:
        raise SystemExit(f"run failed: {args}\n{p.stdout}\n{p.stderr}")
    res = json.loads(last[-1])
    res["process_s"] = outer
    return res


def _import_time() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import acv_geo"], check=True, cwd=ROOT)
    return time.perf_counter() - t0


def _steps(tmp: Path) -> dict:
    code = (
        "import json, sys; from acv_geo.pipeline import diagnose; "
        f"r = diagnose(out_dir={str(tmp / 'steps')!r}, quiet=True); "
        "print(json.dumps(r.timings))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        full = _run(["diagnose", "--quiet", "--out", str(tmp / "full")])
        quick = _run(["diagnose", "--quiet", "--permutations", "99", "--out", str(tmp / "quick")])
        rerun = _run(["diagnose", "--quiet", "--out", str(tmp / "full")])  # replaces a previous output
        steps = _steps(tmp)
        n_files = sum(1 for p in (tmp / "full").rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in (tmp / "full").rglob("*") if p.is_file())
    imp = _import_time()
    result = {
        "benchmark": "acv-geo diagnose on the embedded default (244 cities, 3 layers, 1 raster, 2 tables, "
                     "LISA + join counts + Moran's I with 9,999 permutations, maps, report)",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "diagnose_default": full,
        "diagnose_99_permutations": quick,
        "diagnose_rerun_over_previous_output": rerun,
        "ratio_default_vs_99_permutations": full["wall_s"] / quick["wall_s"],
        "import_acv_geo_process_s": imp,
        "steps_s_default": steps,
        "output_files": n_files,
        "output_mib": size / 2**20,
        "target": "well under 60 s on a 2-core machine",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"diagnose (default, 9,999 permutations): {full['wall_s']:.1f} s, peak {full['peak_mib']:.0f} MiB")
    print(f"diagnose (99 permutations):             {quick['wall_s']:.1f} s, peak {quick['peak_mib']:.0f} MiB")
    print(f"rerun over previous output:             {rerun['wall_s']:.1f} s")
    print(f"ratio default / 99 permutations:        {result['ratio_default_vs_99_permutations']:.2f}")
    print("slowest steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(steps.items(), key=lambda kv: -kv[1])[:4]))
    print(f"{n_files} files, {size / 2**20:.1f} MiB → {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
