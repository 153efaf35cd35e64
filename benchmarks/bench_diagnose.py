"""`acv-geo diagnose` on the embedded default: the previous implementation and this one, in one interleaved run.

    python benchmarks/bench_diagnose.py [--repeats 5] [--old 1fbf7ba] [--permutations N]

"old" is a git worktree of commit ``--old`` (default 1fbf7ba, before issue #18), checked out in
``/tmp/acv-old`` if it is not there yet; "new" is this checkout. Each run is a fresh process running the
CLI's main job (``acv-geo diagnose --quiet --out DIR``, 9,999 permutations) with ``PYTHONPATH`` and the
working folder set to its tree, so that each imports its own ``acv_geo`` and reads its own ``data/``.
Runs are interleaved (old, new, old, new, …) after one warm-up pair (not counted: it compiles the
bytecode and fills the disk cache), so that a slower phase of the shared machine hits both alike; medians
with min-max are reported.

Recorded per run: wall time of the process (start to exit, measured outside), the time of the
``diagnose`` call itself, the interpreter start and imports before it, the per-step timings of
``DiagnoseResult.timings`` (their sum, and what is outside them), peak memory (largest resident and
proportional set size of the process and all its descendants, the map workers included, sampled every
50 ms from /proc in one more run of each tree after the timed ones: reading ``smaps_rollup`` that often takes
CPU from the run it measures; and ``getrusage`` maxima), the output size. Versions of the libraries are recorded.
Writes benchmarks/results/diagnose.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from timing import summary as _summary

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "diagnose.json"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import acv_geo
try:
    import acv_geo.pipeline.run as P  # acv-geo 0.2 layout
except ImportError:
    import acv_geo.pipeline as P  # 0.1: the module acv_geo.pipeline
from acv_geo.cli import main
t_import = time.perf_counter() - t0
seen = {}
inner = P.diagnose


def timed(*args, **kwargs):
    t = time.perf_counter()
    result = inner(*args, **kwargs)
    seen["call_s"] = time.perf_counter() - t
    seen["timings"] = dict(result.timings)
    return result


P.diagnose = timed
code = main(sys.argv[1:])
total = time.perf_counter() - t0
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "acv_geo": acv_geo.__file__, "import_s": t_import, "in_process_s": total,
                  "call_s": seen.get("call_s"), "timings": seen.get("timings", {}),
                  "cpu_self_s": me.ru_utime + me.ru_stime, "cpu_children_s": kids.ru_utime + kids.ru_stime,
                  "maxrss_self_mib": me.ru_maxrss / 1024, "maxrss_largest_child_mib": kids.ru_maxrss / 1024}),
      file=sys.stderr)
"""


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(children.get(p, []))
    return out


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of ``pid`` and its descendants; PSS shares the pages forked workers share."""
    rss = pss = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss, pss


def _run(tree: Path, out: Path, permutations: int | None, extra: tuple[str, ...] = (), *, memory: bool = True) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed package: compiled once (warm-up), then cached
    env.pop("ACV_GEO_MAP_WORKERS", None)
    args = ["diagnose", "--quiet", "--out", str(out), *extra]
    if permutations is not None:
        args += ["--permutations", str(permutations)]
    peak = {"rss": 0, "pss": 0}
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, pss = _memory(p.pid)
            peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
            done.wait(0.05)

    th = threading.Thread(target=sample, daemon=True)
    if memory:  # reading /proc/*/smaps_rollup 20 times a second takes CPU from the run: not in timed runs
        th.start()
    stdout, stderr = p.communicate()
    wall = time.perf_counter() - t0
    done.set()
    if memory:
        th.join()
    last = [line for line in stderr.splitlines() if line.startswith("{")]
    if p.returncode != 0 or not last:
        raise SystemExit(f"run failed in {tree}: {args}\n{stdout}\n{stderr}")
    res = json.loads(last[-1])
    if not str(res["acv_geo"]).startswith(str(tree)):
        raise SystemExit(f"{tree}: imported acv_geo from {res['acv_geo']}")
    steps = res["timings"]
    res.update(
        wall_s=wall,
        steps_sum_s=sum(steps.values()),
        outside_steps_in_call_s=res["call_s"] - sum(steps.values()),
        start_and_imports_s=wall - res["in_process_s"] + res["import_s"],
        peak_tree_rss_mib=peak["rss"] / 2**20,
        peak_tree_pss_mib=peak["pss"] / 2**20,
        report_mib=(out / "report.html").stat().st_size / 2**20,
        maps_mib=sum(f.stat().st_size for f in (out / "maps").glob("*.png")) / 2**20,
        output_files=sum(1 for f in out.rglob("*") if f.is_file()),
    )
    return res


def _git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True, check=True).stdout.strip()


def _versions() -> dict:
    code = (
        "import json, platform, numpy, pandas, esda, libpysal, shapely, geopandas, pyproj, matplotlib, scipy, "
        "pyarrow, PIL; print(json.dumps({'python': platform.python_version(), 'numpy': numpy.__version__, "
        "'pandas': pandas.__version__, 'esda': esda.__version__, 'libpysal': libpysal.__version__, "
        "'shapely': shapely.__version__, 'geopandas': geopandas.__version__, 'pyproj': pyproj.__version__, "
        "'matplotlib': matplotlib.__version__, 'scipy': scipy.__version__, 'pyarrow': pyarrow.__version__, "
        "'pillow': PIL.__version__}))"
    )
    return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--old", default="1fbf7ba", help="commit of the previous implementation")
    ap.add_argument("--old-tree", type=Path, default=Path("/tmp/acv-old"))
    ap.add_argument("--permutations", type=int, default=None, help="default: the embedded default's (9,999)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    old = args.old_tree
    if not (old / "acv_geo").is_dir():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.old], check=True)
    if not _git(old, "rev-parse", "HEAD").startswith(_git(ROOT, "rev-parse", args.old)):
        raise SystemExit(f"{old} is not at {args.old}; remove it (git worktree remove {old}) and run again")
    trees = {"old": old, "new": ROOT}
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for k in range(args.repeats + 1):
            for name, tree in trees.items():
                res = _run(tree, tmp / f"{name}-{k}", args.permutations, memory=False)
                print(
                    f"{'warm-up' if k == 0 else f'run {k}'} {name}: {res['wall_s']:.1f} s "
                    f"(diagnose {res['call_s']:.1f} s)",
                    flush=True,
                )
                if k:
                    runs[name].append(res)
        for name, tree in trees.items():  # memory: one more run of each, sampled every 50 ms
            res = _run(tree, tmp / f"{name}-memory", args.permutations, memory=True)
            print(f"memory run {name}: peak PSS {res['peak_tree_pss_mib']:.0f} MiB", flush=True)
            for r in runs[name]:
                r.update(peak_tree_rss_mib=res["peak_tree_rss_mib"], peak_tree_pss_mib=res["peak_tree_pss_mib"])
    result: dict = {
        "benchmark": "acv-geo diagnose on the embedded default (244 cities, 3 layers, 1 raster, 4 tables, LISA + "
        f"join counts + Moran's I with {args.permutations or 9999:,} permutations, maps, town maps, "
        "report): previous implementation vs this one, interleaved runs in fresh processes",
        "command": "acv-geo diagnose --quiet --out DIR"
        + (f" --permutations {args.permutations}" if args.permutations else ""),
        "repeats": args.repeats,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": _versions(),
        "trees": {
            "old": {"commit": _git(old, "rev-parse", "HEAD")},
            "new": {
                "commit": _git(ROOT, "rev-parse", "HEAD"),
                "uncommitted_changes_in_acv_geo_or_data": bool(
                    _git(ROOT, "status", "--porcelain", "--untracked-files=no", "--", "acv_geo", "data")
                ),
            },
        },
    }
    for name, rs in runs.items():
        steps: dict[str, list[float]] = {}
        for r in rs:
            for s, v in r["timings"].items():
                steps.setdefault(s, []).append(v)
        tables = [sum(v for s, v in r["timings"].items() if s.startswith("table ")) for r in rs]
        result[name] = {
            "wall_s": _summary([r["wall_s"] for r in rs]),
            "diagnose_call_s": _summary([r["call_s"] for r in rs]),
            "start_and_imports_s": _summary([r["start_and_imports_s"] for r in rs]),
            "steps_sum_s": _summary([r["steps_sum_s"] for r in rs]),
            "outside_steps_in_call_s": _summary([r["outside_steps_in_call_s"] for r in rs]),
            "steps_s": {s: _summary(v) for s, v in steps.items()},
            "tables_all_s": _summary(tables),
            "peak_tree_rss_mib": _summary([r["peak_tree_rss_mib"] for r in rs]),
            "peak_tree_pss_mib": _summary([r["peak_tree_pss_mib"] for r in rs]),
            "maxrss_self_mib": _summary([r["maxrss_self_mib"] for r in rs]),
            "cpu_self_s": _summary([r.get("cpu_self_s", float("nan")) for r in rs]),
            "cpu_children_s": _summary([r.get("cpu_children_s", float("nan")) for r in rs]),
            "maxrss_largest_child_mib": _summary([r["maxrss_largest_child_mib"] for r in rs]),
            "report_mib": round(rs[-1]["report_mib"], 3),
            "maps_mib": round(rs[-1]["maps_mib"], 3),
            "output_files": rs[-1]["output_files"],
        }
    result["speedup_wall_median"] = round(result["old"]["wall_s"]["median"] / result["new"]["wall_s"]["median"], 2)
    result["target"] = "≤ 5 s wall for the embedded default with 9,999 permutations on the 2-core machine"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    for name in ("old", "new"):
        r = result[name]
        print(
            f"{name}: wall {r['wall_s']['median']:.1f} s ({r['wall_s']['min']:.1f}-{r['wall_s']['max']:.1f}), "
            f"peak PSS {r['peak_tree_pss_mib']['median']:.0f} MiB, report {r['report_mib']:.1f} MiB"
        )
    print(f"speed-up ×{result['speedup_wall_median']} → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
