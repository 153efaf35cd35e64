"""National scale: overlay and zonal indicators for 1×, 4× and 16× the mainland commune count.

Usage: ``python benchmarks/bench_national.py [--factors 1 4 16] [--engines local dask:1 dask:2]``

Inputs (``benchmarks/national_inputs.py``, built from the real IGN 2025 commune polygons in
../shared/data): the mainland communes, each optionally cut into 2×2 or 4×4 pieces (34,7xx, 139 k and
556 k zones); a 30,000-polygon national layer built from real commune shapes; a 250 m land-cover-like
raster over mainland France.

Each case runs in its own process. Peak memory is the largest sum of the resident memory of that
process and all its descendants (Dask workers included), sampled every 50 ms from /proc. Two
baselines per step, each in its own process: the *pure reading time* of the step's inputs (the
zones, and the whole layer with pyogrio or the whole raster band with rasterio), and the *floor*
of the reference algorithm doing only its core work (overlay: GEOS clipping of every intersecting
zone × feature pair on all threads, no dissolve, count or distance; zonal: exactextract on its own,
reading both files). Engines: ``local`` (one process, geometry work on all cores' threads) and
``dask:N`` (a local Dask cluster of N single-threaded worker processes), so scaling with workers
shows as dask:1 → dask:2. Dask times include starting and closing the cluster; that part is also
recorded on its own, with the ratio to local on a cluster already running (as in ``acv-geo
diagnose``, which starts one cluster for all its steps). Results are printed and written to
``benchmarks/results/national.json``; docs/performance.md summarises them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

CHILD = r"""
import json, os, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {bench!r})
import geopandas as gpd, numpy as np, pyogrio, shapely
import acv_geo
from acv_geo.core.parallel import thread_count
from acv_geo.pipeline.engine import map_zones

what, zones_path, layer_path, raster_path, engine, chunk = {args!r}
workers = None
if engine.startswith("dask:"):
    engine, workers = "dask", int(engine.split(":")[1])
t0 = time.perf_counter()
if what.startswith("read"):
    # the pure reading time of the step's inputs: the zones, and the whole layer or raster band
    z = pyogrio.read_dataframe(zones_path)
    if what == "read_overlay":
        l = pyogrio.read_dataframe(layer_path)
    else:
        import rasterio
        with rasterio.open(raster_path) as ds:
            ds.read(1)
    print(json.dumps({{"seconds": time.perf_counter() - t0, "rows": len(z)}}))
    sys.exit(0)
if what == "floor_overlay":
    # the irreducible part: read both, find intersecting pairs, clip every pair with GEOS (no
    # dissolve, no counts, no distances) on all threads
    from acv_geo.core.parallel import threaded
    z = pyogrio.read_dataframe(zones_path).geometry.values.to_numpy()
    parts = shapely.get_parts(pyogrio.read_dataframe(layer_path).geometry.values.to_numpy())
    zi, pj = shapely.STRtree(parts).query(z)
    hit = threaded(shapely.intersects, z[zi], parts[pj])
    total = float(threaded(shapely.intersection, z[zi[hit]], parts[pj[hit]]).size)
    print(json.dumps({{"seconds": time.perf_counter() - t0, "rows": len(z), "check": [total, 0.0]}}))
    sys.exit(0)
if what == "floor_zonal":
    # exactextract on its own, reading both files itself (count and majority)
    from exactextract import exact_extract
    df = exact_extract(raster_path, zones_path, ["count", "majority"], output="pandas")
    print(json.dumps({{"seconds": time.perf_counter() - t0, "rows": len(df),
                       "check": [float(df["count"].sum()), 0.0]}}))
    sys.exit(0)
z = pyogrio.read_dataframe(zones_path).set_index("insee_com")
z.index.name = "insee_com"
z["zone_kind"] = "commune"
z["city_point"] = gpd.GeoSeries(shapely.point_on_surface(z.geometry.values), crs=z.crs)


def step(**engine_args):
    if what == "overlay":
        df = map_zones(acv_geo.overlay_indicators, z, layer_path, chunk_size=chunk, category="ALEA",
                       name="r", **engine_args)
        return df, (float(np.nansum(df["r_area_m2"])), float(np.nansum(df["r_dist_m"])))
    df = map_zones(acv_geo.zonal_indicators, z, raster_path, chunk_size=chunk, categorical=True,
                   stats=["count", "majority"], name="lc", **engine_args)
    return df, (float(np.nansum(df["lc_count"])), float(np.nansum(df.filter(like="_pct").to_numpy())))


startup = 0.0
if engine == "dask":
    # the cluster start-up and shut-down are timed apart too: `acv-geo diagnose` starts one cluster
    # for all its steps
    from acv_geo.pipeline.engine import dask_client
    t1 = time.perf_counter()
    with dask_client(n_workers=workers) as client:
        startup = time.perf_counter() - t1
        df, check = step(engine="dask", scheduler=client)
        t2 = time.perf_counter()
    startup += time.perf_counter() - t2
    seconds = time.perf_counter() - t0
else:
    df, check = step(engine="local")
    seconds = time.perf_counter() - t0
print(json.dumps({{"seconds": seconds, "startup_seconds": startup, "rows": len(df), "check": check,
                   "threads": thread_count()}}))
"""


def _tree_rss(pid: int) -> int:
    """Resident memory (bytes) of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            p = int(entry)
            children.setdefault(int(fields[1]), []).append(p)
            rss[p] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def run(what: str, zones: Path, layer: Path, raster: Path, engine: str, chunk: int) -> dict:
    code = CHILD.format(bench=str(ROOT / "benchmarks"), args=(what, str(zones), str(layer), str(raster), engine, chunk))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    stop.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"{what}/{engine} failed:\n{err[-3000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res["peak_memory_mb"] = round(peak / 2**20, 1)
    return res


def main() -> None:
    import national_inputs as ni

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument(
        "--engines",
        nargs="+",
        default=["local", "dask:1", "dask:2"],
        help="local, or dask:N for a local Dask cluster of N single-threaded worker processes",
    )
    ap.add_argument("--chunk", type=int, default=5000)
    a = ap.parse_args()
    layer = ni.national_layer()
    raster = ni.national_raster()
    results = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "chunk_size": a.chunk,
        "layer_features": 30000,
        "raster": raster.name,
        "cases": [],
    }
    out_path = ROOT / "benchmarks" / "results" / "national.json"
    for factor in a.factors:
        zones = ni.communes(factor)
        for what in ("overlay", "zonal"):
            base = run(f"read_{what}", zones, layer, raster, "local", a.chunk)
            floor = run(f"floor_{what}", zones, layer, raster, "local", a.chunk)
            print(
                f"×{factor} {what}: {base['rows']} zones; pure read {base['seconds']:.2f} s; "
                f"{'GEOS clipping of every pair' if what == 'overlay' else 'exactextract alone'} "
                f"{floor['seconds']:.2f} s"
            )
            local = None
            for engine in a.engines:
                r = run(what, zones, layer, raster, engine, a.chunk)
                row = {
                    "factor": factor,
                    "zones": base["rows"],
                    "step": what,
                    "engine": engine,
                    "seconds": round(r["seconds"], 2),
                    "peak_memory_mb": r["peak_memory_mb"],
                    "read_seconds": round(base["seconds"], 3),
                    "ratio_to_read": round(r["seconds"] / base["seconds"], 2),
                    "floor_seconds": round(floor["seconds"], 2),
                    "ratio_to_floor": round(r["seconds"] / floor["seconds"], 2),
                    "check": r["check"],
                }
                if engine == "local":
                    local = row
                    row["threads"] = r["threads"]
                elif local is not None:
                    row["same_as_local"] = bool(
                        abs(r["check"][0] - local["check"][0]) <= 1e-6 * max(1.0, abs(local["check"][0]))
                    )
                    row["ratio_to_local"] = round(r["seconds"] / local["seconds"], 2)
                    row["startup_seconds"] = round(r["startup_seconds"], 2)
                    # the step on a cluster already running (one cluster serves every step of diagnose)
                    row["ratio_to_local_running"] = round((r["seconds"] - r["startup_seconds"]) / local["seconds"], 2)
                one = next(
                    (
                        c
                        for c in results["cases"]
                        if c["factor"] == factor and c["step"] == what and c["engine"] == "dask:1"
                    ),
                    None,
                )
                if engine.startswith("dask:") and engine != "dask:1" and one is not None:
                    row["speedup_vs_1_worker"] = round(one["seconds"] / r["seconds"], 2)
                results["cases"].append(row)
                print(
                    f"   {what:7s} {engine:7s}: {row['seconds']:7.2f} s, peak {row['peak_memory_mb']:7.0f} MB, "
                    f"×{row['ratio_to_read']} of read, ×{row['ratio_to_floor']} of the floor"
                    + (
                        f", ×{row['ratio_to_local']} of local (×{row['ratio_to_local_running']} on a running "
                        f"cluster, start-up and shut-down {row['startup_seconds']} s), same={row['same_as_local']}"
                        if "ratio_to_local" in row
                        else ""
                    )
                    + (f", ×{row['speedup_vs_1_worker']} faster than 1 worker" if "speedup_vs_1_worker" in row else "")
                )
                out_path.parent.mkdir(parents=True, exist_ok=True)
                out_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written {out_path}")


if __name__ == "__main__":
    main()
