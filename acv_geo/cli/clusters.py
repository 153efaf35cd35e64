"""``acv-geo clusters``: spatial clusters of open-data coverage, or of any indicator."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from acv_geo.stats.choices import ALTERNATIVES, LEVELS, METHODS


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
    p.add_argument("--level", default="commune", choices=list(LEVELS))
    p.add_argument("--weights", default="knn:6", metavar="SPEC", help="knn:K, distance:METERS, queen or rook")
    p.add_argument("--method", default="lisa", choices=list(METHODS))
    p.add_argument("--permutations", type=int, default=9999)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--alternative", default="two-sided", choices=list(ALTERNATIVES))
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
    p.add_argument(
        "--html",
        metavar="FILE.html",
        help="also write the global results (Moran's I, join counts) and the label counts as a readable HTML page",
    )
    p.add_argument(
        "--geometry",
        action="store_true",
        help="rows carry the commune polygons (commune level) instead of the city points",
    )
    p.add_argument("--n-jobs", type=int, default=1, help="processes for the permutations (default 1)")
    p.add_argument("--out", metavar="FILE", required=True, help="output table; format from extension")
    p.set_defaults(func=run)


def _read_cities(path: str):
    import geopandas as gpd
    import pandas as pd

    from acv_geo.core.errors import InputError
    from acv_geo.core.territories import territory_of
    from acv_geo.read.tables import read_keyed_table

    src = Path(path)
    df = read_keyed_table(path)
    if not isinstance(df, gpd.GeoDataFrame) or df.geometry.name not in df.columns:
        from acv_geo.read.national import france_communes

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
        rows = "".join(
            f"<tr><th>{escape(str(k))}</th><td>{escape(_fmt(v))}</td></tr>"
            for k, v in doc.items()
            if not isinstance(v, (list, dict))
        )
        return f"<h2>{escape(title)}</h2><table>{rows}</table>"

    local = summary["local"]
    counts = local.get("counts", {})
    title = f"{args.variable}: spatial autocorrelation ({args.weights}, {args.level})"
    parts = [f"<h1>{escape(title)}</h1>"]
    if "morans_i" in summary:
        parts.append(table("Moran's I (global)", summary["morans_i"]))
    if "join_counts" in summary:
        parts.append(table("Join counts (global)", summary["join_counts"]))
    parts.append(
        "<h2>Local labels ("
        + escape(args.method)
        + ")</h2><table>"
        + "".join(f"<tr><th>{escape(str(k))}</th><td>{v}</td></tr>" for k, v in counts.items())
        + "</table>"
    )
    style = "body{font-family:sans-serif;margin:1.5em}th{text-align:left;padding-right:1em}td{text-align:right}"
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(args.variable)}</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )


def _fmt(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _input_cities(args: argparse.Namespace) -> Any:
    """The cities to analyse: every commune, a file, or the embedded ACV towns."""
    if args.all_communes:
        from acv_geo.read.national import france_communes

        return france_communes(polygons=args.polygons)
    if args.cities:
        return _read_cities(args.cities)
    from acv_geo.read.cities import read_acv

    return read_acv()


def _output_table(frame: Any, cities: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """The local results with geometries (EPCI polygons, commune polygons or city points) and names."""
    import geopandas as gpd
    import pandas as pd

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
    named = (
        frame
        if label is None or label in frame.columns
        else pd.concat([names[[label]].reindex(frame.index), frame], axis=1)
    )
    table = gpd.GeoDataFrame(named, geometry=geo.to_numpy(), crs=geoms.crs)
    table.attrs = frame.attrs
    return table, geoms


def _global_tests(cities: Any, res: Any, frame: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The local summary, Moran's I and (yes/no variables) join counts, on the local run's weights."""
    from acv_geo.stats.clusters import join_counts, morans_i

    weights = res.weights_result if res.weights_result is not None else args.weights
    common = dict(
        weights=weights,
        level=args.level,
        polygons=None if args.all_communes else args.polygons,
        permutations=args.permutations,
        seed=args.seed,
    )
    summary = {"local": res.to_dict(), "morans_i": morans_i(cities, args.variable, **common).to_dict()}
    if set(frame["value"].dropna().unique().tolist()) <= {0.0, 1.0}:
        summary["join_counts"] = join_counts(cities, args.variable, **common).to_dict()
    return summary


def _write_extras(args: argparse.Namespace, res: Any, frame: Any, geoms: Any, summary: dict[str, Any]) -> None:
    """The optional outputs: weights (.gal/.csv), cluster map, HTML summary."""
    from acv_geo.core.files import atomic_path

    weights = res.weights_result
    if args.weights_out and weights is not None:
        wpath = Path(args.weights_out)
        if wpath.suffix.lower() == ".gal":
            weights.to_gal(wpath)
        else:
            weights.to_csv(wpath)
    if args.map:
        from acv_geo.outputs.maps import cluster_map

        cluster_map(
            frame,
            geoms,
            args.map,
            title=f"{args.method} clusters of {args.variable} ({args.level}, {res.weights})",
            source_note="ANCT ACV list 2025; OpenDataFrance ODATER; IGN ADMIN EXPRESS",
        )
    if args.html:
        with atomic_path(args.html) as tmp:
            tmp.write_text(summary_html(summary, args), encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo clusters``."""
    from acv_geo.cli import _events
    from acv_geo.core.files import write_json_atomic
    from acv_geo.outputs.writers import write_table
    from acv_geo.stats.clusters import local_clusters

    out = Path(args.out)
    if args.weights_out and Path(args.weights_out).suffix.lower() not in (".gal", ".csv"):
        raise ValueError(f"{args.weights_out}: --weights-out must end with .gal or .csv")
    cities = _input_cities(args)
    res = local_clusters(
        cities,
        args.variable,
        method=args.method,
        weights=args.weights,
        permutations=args.permutations,
        seed=args.seed,
        alpha=args.alpha,
        alternative=args.alternative,
        fdr=not args.no_fdr,
        level=args.level,
        polygons=None if args.all_communes else args.polygons,
        n_jobs=args.n_jobs,
    )
    frame = res.to_frame()
    table, geoms = _output_table(frame, cities, args)
    write_table(table, out, layer="clusters")
    summary = _global_tests(cities, res, frame, args)
    json_path = out.with_name(f"{out.stem}.json")
    write_json_atomic(json_path, summary)
    _write_extras(args, res, frame, geoms, summary)
    counts = ", ".join(f"{k}: {v}" for k, v in res.counts.items())
    significant = int((~frame["label"].isin(["not significant", "isolated", "NA"])).sum())
    _events.result(n_units=int(res.n), n_significant=significant, counts=dict(res.counts), summary=str(json_path))
    print(f"acv-geo: {res.n} rows written to {out} and global results to {json_path} ({counts})")
    return 0
