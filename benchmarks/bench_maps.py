"""The "drawing maps" step of `acv-geo diagnose`: the previous implementation and this one, interleaved.

    python benchmarks/bench_maps.py [--repeats 5] [--old 4314394] [--new-tree PATH] [--permutations 99]

"old" is the tree of commit ``--old`` (default 4314394, before the maps were drawn on a frame rendered
once per process), unpacked with ``git archive`` into ``--old-tree`` if it is not there yet; "new" is
``--new-tree`` (default: this checkout). Each run is a fresh process running the CLI's main job
(``acv-geo diagnose --quiet --out DIR --permutations N``, default 99: the clusters step does not matter
here) with ``PYTHONPATH`` and the working folder set to its tree, the map workers at their default
(``ACV_GEO_MAP_WORKERS`` unset). The step is timed around ``draw_maps`` inside the run: wall time, and
CPU time of the process and of its children (the map workers, reaped when their pool closes). Runs are
interleaved (old, new, old, new, …) after one warm-up pair (not counted), so that a busier phase of the
shared machine hits both alike; medians with min-max are reported. The maps of the last runs are
compared pixel by pixel. Writes benchmarks/results/maps.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import summary as _summary

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "maps.json"

CHILD = r"""
import json, resource, sys, time
import acv_geo
import acv_geo.pipeline.run as P
from acv_geo.cli import main
seen = {}
inner = P.draw_maps


def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def timed(*args, **kwargs):
    c, t = cpu(), time.perf_counter()
    result = inner(*args, **kwargs)
    seen.update(maps_wall_s=time.perf_counter() - t, maps_cpu_s=cpu() - c, maps=len(result))
    return result


P.draw_maps = timed
code = main(sys.argv[1:])
print(json.dumps({"code": code, "acv_geo": acv_geo.__file__, **seen}), file=sys.stderr)
"""


def _run(tree: Path, out: Path, permutations: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("ACV_GEO_MAP_WORKERS", None)
    args = ["diagnose", "--quiet", "--out", str(out), "--permutations", str(permutations)]
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    last = [line for line in p.stderr.splitlines() if line.startswith("{")]
    if p.returncode != 0 or not last:
        raise SystemExit(f"run failed in {tree}: {args}\n{p.stdout}\n{p.stderr}")
    res = json.loads(last[-1])
    if not str(res["acv_geo"]).startswith(str(tree)) or "maps_wall_s" not in res:
        raise SystemExit(f"{tree}: imported acv_geo from {res['acv_geo']}, or drew no maps")
    res.update(run_wall_s=wall, maps_mib=sum(f.stat().st_size for f in (out / "maps").glob("*.png")) / 2**20)
    return res


def _compare(old: Path, new: Path) -> dict:
    """Pixels of the maps of two runs: how many differ, by how much; and whether the files are the same bytes."""
    import numpy as np
    from PIL import Image

    def rgba(path: Path) -> np.ndarray:
        with Image.open(io.BytesIO(path.read_bytes())) as im:
            return np.asarray(im.convert("RGBA")).astype(int)

    names = sorted(p.name for p in old.glob("*.png"))
    if names != sorted(p.name for p in new.glob("*.png")):
        return {"same_names": False}
    fractions, max_diff, same_bytes = [], 0, 0
    for n in names:
        a, b = rgba(old / n), rgba(new / n)
        if a.shape != b.shape:
            return {"same_names": True, "same_shapes": False, "map": n}
        d = np.abs(a - b).max(axis=2)
        fractions.append(float((d > 0).mean()))
        max_diff = max(max_diff, int(d.max()))
        same_bytes += (old / n).read_bytes() == (new / n).read_bytes()
    return {
        "maps": len(names),
        "identical_files": same_bytes,
        "largest_fraction_of_differing_pixels": max(fractions, default=0.0),
        "largest_channel_difference": max_diff,
    }


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()


def _old_tree(tree: Path, commit: str) -> None:
    """Unpack ``commit`` into ``tree`` (``git archive``: no worktree, nothing written in the repository)."""
    if (tree / "acv_geo").is_dir():
        if (tree / ".commit").read_text().strip() != _git("rev-parse", commit):
            raise SystemExit(f"{tree} is not {commit}; remove it and run again")
        return
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    (tree / ".commit").write_text(_git("rev-parse", commit) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--old", default="4314394", help="commit of the previous implementation")
    ap.add_argument("--old-tree", type=Path, default=Path("/tmp/acv-maps-old"))
    ap.add_argument("--new-tree", type=Path, default=ROOT)
    ap.add_argument("--permutations", type=int, default=99)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    _old_tree(args.old_tree, args.old)
    trees = {"old": args.old_tree.resolve(), "new": args.new_tree.resolve()}
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for k in range(args.repeats + 1):
            for name, tree in trees.items():
                res = _run(tree, tmp / f"{name}-{k}", args.permutations)
                print(
                    f"{'warm-up' if k == 0 else f'run {k}'} {name}: maps {res['maps_wall_s']:.2f} s wall, "
                    f"{res['maps_cpu_s']:.2f} s CPU (run {res['run_wall_s']:.1f} s)",
                    flush=True,
                )
                if k:
                    runs[name].append(res)
        pixels = _compare(tmp / f"old-{args.repeats}" / "maps", tmp / f"new-{args.repeats}" / "maps")
    result: dict = {
        "benchmark": "the 'drawing maps' step of acv-geo diagnose on the embedded default (26 maps of the 244 "
        "cities on the EPCI basemap, insets, legends): previous implementation vs this one, interleaved runs "
        "in fresh processes, map workers at their default",
        "command": f"acv-geo diagnose --quiet --out DIR --permutations {args.permutations} (draw_maps timed inside)",
        "repeats": args.repeats,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_at_end": os.getloadavg()},
        "trees": {"old": {"commit": _git("rev-parse", args.old)}, "new": {"path": str(trees["new"])}},
        "pixels_old_vs_new": pixels,
    }
    for name, rs in runs.items():
        result[name] = {
            "maps_wall_s": _summary([r["maps_wall_s"] for r in rs]),
            "maps_cpu_s": _summary([r["maps_cpu_s"] for r in rs]),
            "run_wall_s": _summary([r["run_wall_s"] for r in rs]),
            "maps": rs[-1]["maps"],
            "maps_mib": round(rs[-1]["maps_mib"], 3),
        }
    for key in ("maps_wall_s", "maps_cpu_s"):
        result[f"speedup_{key}_median"] = round(result["old"][key]["median"] / result["new"][key]["median"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    for name in ("old", "new"):
        r = result[name]
        w, c = r["maps_wall_s"], r["maps_cpu_s"]
        print(
            f"{name}: maps wall {w['median']:.2f} s ({w['min']:.2f}-{w['max']:.2f}), "
            f"CPU {c['median']:.2f} s ({c['min']:.2f}-{c['max']:.2f}), {r['maps_mib']:.2f} MiB"
        )
    print(f"pixels old vs new: {pixels}")
    print(f"speed-up wall ×{result['speedup_maps_wall_s_median']}, CPU ×{result['speedup_maps_cpu_s_median']}")
    print(f"→ {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
