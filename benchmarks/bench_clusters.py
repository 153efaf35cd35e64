"""LISA with 9,999 permutations on every French commune (queen contiguity), vs esda called directly.

Run: .venv/bin/python benchmarks/bench_clusters.py [--permutations N] [--n-jobs J]
Writes benchmarks/results/clusters.json. Both sides use the same graph, seed and n_jobs.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--permutations", type=int, default=9999)
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=12345)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import esda
    import libpysal

    from acv_geo.read.national import france_communes
    from acv_geo.stats.clusters import local_clusters
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
        },
        "ratio_directed_vs_esda": round(t_ours_dir / t_esda_best, 3),
        "ratio_two_sided_vs_esda_directed": round(t_ours_two / t_esda_best, 3),
        "target_ratio": 1.1,
        "peak_traced_memory_mib": {"esda_direct": round(mem_esda, 1), "acv_geo_two_sided": round(mem_ours, 1)},
        "identical_to_esda": {"statistic": same_stat, "p_sim_directed": same_p},
        "labels_two_sided_fdr": ours_two.counts,
    }
    out = HERE / "results" / "clusters.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
