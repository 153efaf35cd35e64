"""Global join counts with 9,999 permutations on the embedded default, vs esda.Join_Counts called directly.

Run: .venv/bin/python benchmarks/bench_joincounts.py [--permutations N] [--repeats R] [--out PATH]
(with a venv where acv_geo is installed as a copy, not editable, prefix PYTHONPATH=. to time this tree)
Writes benchmarks/results/joincounts.json. The embedded default's cluster settings (variable
``opendata`` of the 244 ACV towns, ``knn:6`` weights per territory, 9,999 permutations, seed
20250401, as `acv-geo diagnose` runs them); both sides get the same graph, values and seed. Runs
are interleaved (esda, acv-geo, esda, acv-geo, ...) so that a slower phase of the shared machine
hits both alike; medians, min and max are reported. The results of every run are checked to be
identical to esda's.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
from timing import summary

HERE = Path(__file__).resolve().parent


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--permutations", type=int, default=None, help="default: the embedded default's (9,999)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "joincounts.json")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import esda
    import libpysal
    import pandas as pd
    import scipy

    import acv_geo
    from acv_geo.pipeline.config import ClusterSpec
    from acv_geo.stats.clusters import join_counts
    from acv_geo.stats.weights import spatial_weights

    spec = ClusterSpec()
    variable = spec.variables[0]
    P = args.permutations if args.permutations is not None else spec.permutations
    S = spec.seed
    cities = acv_geo.read_acv()
    w = spatial_weights(cities, spec.weights)
    g = w.graph
    y = cities[variable].astype("Float64").reindex(list(g.unique_ids)).to_numpy(dtype="float64", na_value=np.nan)
    assert not np.isnan(y).any()

    def direct():
        state = np.random.get_state()
        np.random.seed(S)  # what acv_geo's global tests do: seed NumPy's generator, restore it after
        try:
            return esda.Join_Counts(y, g, permutations=P)
        finally:
            np.random.set_state(state)

    def ours():
        return join_counts(cities, variable, weights=w, permutations=P, seed=S)

    # warm-up (imports, caches) on a tiny run
    join_counts(cities, variable, weights=w, permutations=9, seed=S)
    esda.Join_Counts(y, g, permutations=9)
    t_esda: list[float] = []
    t_ours: list[float] = []
    identical = []
    for _ in range(args.repeats):
        jc, t = timed(direct)
        t_esda.append(t)
        res, t = timed(ours)
        t_ours.append(t)
        sim_ww = np.asarray(jc.sim_autocurr_pos, dtype=float) - np.asarray(jc.sim_bb, dtype=float)
        identical.append(
            (res.joins, res.bb, res.bw, res.ww, res.chi2, res.chi2_p, res.chi2_dof)
            == (jc.J, jc.bb, jc.bw, jc.ww, jc.chi2, jc.chi2_p, jc.chi2_dof)
            and (res.mean_bb_sim, res.mean_bw_sim, res.mean_ww_sim) == (jc.mean_bb, jc.mean_bw, sim_ww.mean())
            and (res.p_sim_bb, res.p_sim_bw, res.p_sim_chi2) == (jc.p_sim_bb, jc.p_sim_bw, jc.p_sim_chi2)
        )
    s_esda, s_ours = summary(t_esda), summary(t_ours)
    result = {
        "what": "Global join counts of the open-data status of the 244 ACV towns (embedded default), "
        f"{spec.weights} weights built per territory, {P:,} permutations: esda.Join_Counts called directly "
        "vs acv_geo.join_counts (all permutations counted at once with NumPy, same permutations drawn "
        "from the same seed), interleaved runs",
        "n_units": int(g.n),
        "n_black": int(y.sum()),
        "n_edges": int(g.n_edges),
        "weights": spec.weights,
        "variable": variable,
        "permutations": P,
        "seed": S,
        "repeats": args.repeats,
        "seconds": {"esda_Join_Counts_direct": s_esda, "acv_geo_join_counts": s_ours},
        "ratio_esda_over_acv_geo_median": round(s_esda["median"] / s_ours["median"], 1),
        "identical_to_esda_every_run": all(identical),
        "observed": {"bb": res.bb, "bw": res.bw, "ww": res.ww, "p_sim_bb": res.p_sim_bb, "p_sim_bw": res.p_sim_bw},
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
            "esda": esda.__version__,
            "libpysal": libpysal.__version__,
        },
        "acv_geo_imported_from": str(Path(acv_geo.__file__).resolve().parent),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
