"""``acv-geo clusters``: spatial clusters of open-data coverage, or of any indicator."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``clusters`` subcommand."""
    p = sub.add_parser(
        "clusters",
        help="find spatial clusters (LISA, Gi*, join counts) of open data or any indicator",
        description="Local cluster statistics with FDR-adjusted labels, one row per city (or EPCI), "
        "plus global join counts / Moran's I written as JSON beside the table (<stem>.json). "
        "Weights never link two territories.",
    )
    p.add_argument("--variable", default="opendata", help="column to analyse (default: opendata)")
    p.add_argument("--level", default="commune", choices=["commune", "epci"])
    p.add_argument("--weights", default="knn:6", metavar="SPEC", help="knn:K, distance:METERS, queen or rook")
    p.add_argument("--method", default="lisa", choices=["lisa", "gi_star", "join_count"])
    p.add_argument("--permutations", type=int, default=9999)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument(
        "--alternative", default="two-sided", choices=["two-sided", "greater", "lesser", "directed", "folded"]
    )
    p.add_argument("--no-fdr", action="store_true", help="label with raw p_sim instead of BH-adjusted p_fdr")
    p.add_argument("--weights-out", metavar="FILE", help="also write the weights (.gal or .csv)")
    p.add_argument(
        "--cities",
        metavar="FILE",
        help="table of cities with an insee_com column and the variable (.gpkg, .geojson, .parquet, .csv, "
        "e.g. the output of `acv-geo cities`); default: the embedded ACV cities",
    )
    p.add_argument("--all-communes", action="store_true", help="analyse every French commune (34,867)")
    p.add_argument("--polygons", metavar="FILE", help="commune polygons (insee_com) for queen/rook")
    p.add_argument("--map", metavar="FILE.png", help="also draw the cluster map")
    p.add_argument("--html", metavar="FILE.html", help="also write the global results (Moran's I, join counts) "
                   "and the label counts as a readable HTML page")
    p.add_argument("--geometry", action="store_true",
                   help="rows carry the commune polygons (commune level) instead of the city points")
    p.add_argument("--n-jobs", type=int, default=1, help="processes for the permutations (default 1)")
    p.add_argument("--out", metavar="FILE", required=True, help="output table; format from extension")
    p.set_defaults(func=run)


def _read_cities(path: str):
    import geopandas as gpd
    import pandas as pd

    from acv_geo.cli._common import read_keyed_table
    from acv_geo.core.errors import InputError
    from acv_geo.core.territories import territory_of

    src = Path(path)
    df = read_keyed_table(path)
    if not isinstance(df, gpd.GeoDataFrame) or df.geometry.name not in df.columns:
        from acv_geo.stats.clusters import france_communes

        ref = france_communes(opendata=False)
        missing = [c for c in df.index if c not in ref.index]
        if missing:
            raise InputError(f"{src}: unknown INSEE codes {', '.join(missing[:10])}; fix column 'insee_com'")
        df = gpd.GeoDataFrame(pd.DataFrame(df), geometry=ref.geometry.reindex(df.index).to_numpy(), crs=4326)
    if "territory" not in df.columns:
        df["territory"] = [territory_of(c) for c in df.index]
    return df


def summary_html(summary: dict, args: argparse.Namespace) -> str:
    """The global tests and label counts as a small self-contained HTML page."""
    from html import escape

    def table(title: str, doc: dict) -> str:
        rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(_fmt(v))}</td></tr>" for k, v in doc.items()
                       if not isinstance(v, (list, dict)))
        return f"<h2>{escape(title)}</h2><table>{rows}</table>"

    local = summary["local"]
    counts = local.get("counts", {})
    title = f"{args.variable}: spatial autocorrelation ({args.weights}, {args.level})"
    parts = [f"<h1>{escape(title)}</h1>"]
    if "morans_i" in summary:
        parts.append(table("Moran's I (global)", summary["morans_i"]))
    if "join_counts" in summary:
        parts.append(table("Join counts (global)", summary["join_counts"]))
    parts.append("<h2>Local labels (" + escape(args.method) + ")</h2><table>" + "".join(
        f"<tr><th>{escape(str(k))}</th><td>{v}</td></tr>" for k, v in counts.items()) + "</table>")
    style = "body{font-family:sans-serif;margin:1.5em}th{text-align:left;padding-right:1em}td{text-align:right}"
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(args.variable)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def _fmt(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo clusters``."""
    import geopandas as gpd
    import pandas as pd

    from acv_geo.cli import _events
    from acv_geo.core.files import atomic_path
    from acv_geo.outputs.writers import write_table
    from acv_geo.stats.clusters import france_communes, join_counts, local_clusters, morans_i

    out = Path(args.out)
    if args.weights_out and Path(args.weights_out).suffix.lower() not in (".gal", ".csv"):
        raise ValueError(f"{args.weights_out}: --weights-out must end with .gal or .csv")
    if args.all_communes:
        cities = france_communes(polygons=args.polygons)
    elif args.cities:
        cities = _read_cities(args.cities)
    else:
        from acv_geo.read.cities import read_acv

        cities = read_acv()
    common = dict(weights=args.weights, level=args.level, polygons=args.polygons if not args.all_communes else None)
    res = local_clusters(
        cities, args.variable, method=args.method, permutations=args.permutations, seed=args.seed,
        alpha=args.alpha, alternative=args.alternative, fdr=not args.no_fdr, n_jobs=args.n_jobs, **common,
    )
    frame = res.to_frame()
    if args.level == "epci":
        from acv_geo.read.communes import read_epci

        geoms = read_epci()
    elif args.geometry:
        from acv_geo.read.communes import read_communes
        from acv_geo.zones import make_zones

        geoms = make_zones(cities, kind="commune", communes=read_communes(args.polygons) if args.polygons else None)
    else:
        geoms = cities
    geo = geoms.geometry.reindex(frame.index)
    names = geoms if args.level == "epci" else cities
    label = next((c for c in ("nom_epci", "commune") if c in names.columns), None)
    named = frame if label is None or label in frame.columns else pd.concat(
        [names[[label]].reindex(frame.index), frame], axis=1)
    table = gpd.GeoDataFrame(named, geometry=geo.to_numpy(), crs=geoms.crs)
    table.attrs = frame.attrs
    write_table(table, out, layer="clusters")
    weights = res.weights_result
    summary = {"local": res.to_dict()}
    glob_perm = args.permutations
    w_arg = weights if weights is not None else args.weights
    common["weights"] = w_arg
    summary["morans_i"] = morans_i(cities, args.variable, permutations=glob_perm, seed=args.seed, **common).to_dict()
    vals = frame["value"].dropna()
    if set(vals.unique().tolist()) <= {0.0, 1.0}:
        summary["join_counts"] = join_counts(
            cities, args.variable, permutations=glob_perm, seed=args.seed, **common
        ).to_dict()
    json_path = out.with_name(f"{out.stem}.json")
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    if args.weights_out and weights is not None:
        wpath = Path(args.weights_out)
        if wpath.suffix.lower() == ".gal":
            weights.to_gal(wpath)
        elif wpath.suffix.lower() == ".csv":
            weights.to_csv(wpath)
        else:
            raise ValueError(f"{wpath}: --weights-out must end with .gal or .csv")
    if args.map:
        from acv_geo.outputs.maps import cluster_map

        cluster_map(
            frame, geoms, args.map,
            title=f"{args.method} clusters of {args.variable} ({args.level}, {res.weights})",
            source_note="ANCT ACV list 2025; OpenDataFrance ODATER; IGN ADMIN EXPRESS",
        )
    if args.html:
        with atomic_path(args.html) as tmp:
            tmp.write_text(summary_html(summary, args), encoding="utf-8")
    counts = ", ".join(f"{k}: {v}" for k, v in res.counts.items())
    significant = int((~frame["label"].isin(["not significant", "isolated", "NA"])).sum())
    _events.result(n_units=int(res.n), n_significant=significant, counts=dict(res.counts), summary=str(json_path))
    print(f"acv-geo: {res.n} rows written to {out} and global results to {json_path} ({counts})")
    return 0
