"""LISA with 9,999 permutations on every French commune (queen contiguity), vs esda called directly.

Also times join counts and Moran's I of the same variable on the same weights (``global_statistics``,
one sequence of draws for both).

Run: .venv/bin/python benchmarks/bench_clusters.py [--permutations N] [--n-jobs J]
Writes benchmarks/results/clusters.json. Both sides use the same graph, seed and n_jobs.

``--step --old DIR [--repeats 7]``: the clusters step of ``acv-geo diagnose`` on the embedded default
(LISA + join counts + Moran's I of ``opendata``, knn:6, 9,999 permutations, seed 12345), in fresh
processes alternating the tree ``DIR`` (e.g. ``git archive`` of the previous commit) and this one
(A B A B ...), after one warm-up pair. Each child reads the cities (not timed: geopandas is loaded
by then, as in a diagnose run), then times importing ``acv_geo.stats.clusters`` and the three
statistics (wall and CPU; join counts and Moran's I by ``global_statistics`` where the tree has it,
as the pipeline calls them), and reports which heavy modules got imported; the process's own wall
time is measured outside. Writes benchmarks/results/clusters_step.json (medians, min-max).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
POLYGONS = HERE.parent.parent / "shared" / "data" / "boundaries" / "communes_cog2025.gpkg"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def peak(fn):
    tracemalloc.start()
    fn()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top / 2**20


STEP_CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import acv_geo
cities = acv_geo.read_acv()
t0, c0 = time.perf_counter(), time.process_time()
from acv_geo.stats import clusters as cl
kw = dict(permutations=9999, seed=12345)
res = cl.local_clusters(cities, "opendata", method="lisa", weights="knn:6", alpha=0.05, **kw)
if hasattr(cl, "global_statistics"):  # one sequence of draws for both (trees since issue #18)
    jc, mi = cl.global_statistics(cities, "opendata", weights=res.weights_result, **kw)
else:
    jc = cl.join_counts(cities, "opendata", weights=res.weights_result, **kw)
    mi = cl.morans_i(cities, "opendata", weights=res.weights_result, **kw)
out = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
       "heavy": sorted(m for m in ("esda", "libpysal", "sklearn", "scipy.stats") if m in sys.modules),
       "digest": [res.counts, res.to_frame()["p_sim"].round(12).tolist()[:5], jc.p_sim_bb, mi.p_sim, mi.I]}
print(json.dumps(out))
"""


def _step_run(tree: Path) -> dict:
    import os
    import resource
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", STEP_CHILD], cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise RuntimeError(out.stderr)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_wall"] = wall
    res["process_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return res


def _summary(values: list[float]) -> dict:
    import statistics

    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def step(old: Path, repeats: int) -> None:
    """The diagnose clusters step, old tree vs this one, alternating fresh processes."""
    new = HERE.parent
    _step_run(old), _step_run(new)  # warm-up: bytecode, disk cache
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    for _ in range(repeats):
        runs["old"].append(_step_run(old))
        runs["new"].append(_step_run(new))
    keys = ("wall", "cpu", "process_wall", "process_cpu")
    result = {
        "what": "clusters step of acv-geo diagnose (embedded default): import acv_geo.stats.clusters, LISA, "
        "join counts and Moran's I of opendata, knn:6, 9,999 permutations, seed 12345; fresh processes, "
        "old and new alternating",
        "repeats": repeats,
        "old_tree": str(old),
        "python": platform.python_version(),
        "seconds": {side: {k: _summary([r[k] for r in rs]) for k in keys} for side, rs in runs.items()},
        "heavy_modules_imported": {side: rs[0]["heavy"] for side, rs in runs.items()},
        "same_results": all(r["digest"] == runs["old"][0]["digest"] for rs in runs.values() for r in rs),
        "raw": {side: [{k: round(r[k], 3) for k in keys} for r in rs] for side, rs in runs.items()},
    }
    out = HERE / "results" / "clusters_step.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "raw"}, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--permutations", type=int, default=9999)
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--step", action="store_true", help="benchmark the diagnose clusters step instead")
    ap.add_argument("--old", type=Path, default=Path("/tmp/acv-before"), help="tree of the previous version")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    if args.step:
        step(args.old, args.repeats)
        return
    warnings.simplefilter("ignore")
    import esda
    import libpysal

    from acv_geo.read.national import france_communes
    from acv_geo.stats.clusters import global_statistics, local_clusters
    from acv_geo.stats.weights import spatial_weights

    communes, t_load = timed(lambda: france_communes(polygons=POLYGONS))
    # communes with a polygon and a known status (NA status would be excluded anyway): same units for both
    units = communes[(communes["geometry_source"] == "polygon") & communes["opendata"].notna().to_numpy()]
    n_dropped = len(communes) - len(units)
    w, t_weights = timed(lambda: spatial_weights(units, "queen"))
    g = w.graph
    y = units["opendata"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    assert not np.isnan(y).any()
    P, S, J = args.permutations, args.seed, args.n_jobs

    def ours(alt):
        return local_clusters(units, "opendata", weights=w, permutations=P, seed=S, alternative=alt, n_jobs=J)

    def direct():
        return esda.Moran_Local(y, g, permutations=P, seed=S, n_jobs=J, keep_simulations=False)

    # warm-up (imports, caches) on a tiny run
    local_clusters(units.iloc[:200], "opendata", weights="knn:6", permutations=9)
    esda_res, t_esda = timed(direct)
    ours_dir, t_ours_dir = timed(lambda: ours("directed"))
    esda_res2, t_esda2 = timed(direct)
    ours_two, t_ours_two = timed(lambda: ours("two-sided"))
    (jc, mi), t_global = timed(lambda: global_statistics(units, "opendata", weights=w, permutations=P, seed=S))
    t_esda_best = min(t_esda, t_esda2)
    frame = ours_dir.to_frame()
    tested = ~np.isnan(frame["p_sim"].to_numpy())
    same_stat = bool(np.array_equal(frame["statistic"].to_numpy()[tested], esda_res.Is[tested]))
    same_p = bool(np.array_equal(frame["p_sim"].to_numpy()[tested].astype("float32"), esda_res.p_sim[tested]))
    mem_esda = peak(direct)
    mem_ours = peak(lambda: ours("two-sided"))
    result = {
        "what": "Local Moran (LISA) of open-data status on every French commune with a polygon, queen contiguity "
        "built per territory, conditional permutations",
        "n_units": int(len(units)),
        "n_communes_left_out_no_polygon_or_status": int(n_dropped),
        "n_edges": int(g.n_edges),
        "n_islands": len(w.islands),
        "n_components": int(w.n_components),
        "permutations": P,
        "n_jobs": J,
        "seed": S,
        "esda_version": esda.__version__,
        "libpysal_version": libpysal.__version__,
        "numba": False if esda.crand.prange is range else True,
        "python": platform.python_version(),
        "seconds": {
            "load_communes_and_status": round(t_load, 2),
            "queen_weights_per_territory": round(t_weights, 2),
            "esda_Moran_Local_direct": [round(t_esda, 2), round(t_esda2, 2)],
            "acv_geo_local_clusters_directed": round(t_ours_dir, 2),
            "acv_geo_local_clusters_two_sided": round(t_ours_two, 2),
            "acv_geo_global_statistics_join_counts_and_morans_i": round(t_global, 2),
        },
        "ratio_directed_vs_esda": round(t_ours_dir / t_esda_best, 3),
        "ratio_two_sided_vs_esda_directed": round(t_ours_two / t_esda_best, 3),
        "target_ratio": 1.1,
        "peak_traced_memory_mib": {"esda_direct": round(mem_esda, 1), "acv_geo_two_sided": round(mem_ours, 1)},
        "identical_to_esda": {"statistic": same_stat, "p_sim_directed": same_p},
        "labels_two_sided_fdr": ours_two.counts,
        "global": {"p_sim_bb": jc.p_sim_bb, "p_sim_chi2": jc.p_sim_chi2, "I": mi.I, "p_sim_I": mi.p_sim},
    }
    out = HERE / "results" / "clusters.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
