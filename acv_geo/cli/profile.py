"""``acv-geo profile``: exposure profile (risk, nature, open-data sub-scores) and ranking of the cities."""

from __future__ import annotations

import argparse

from acv_geo.cli import _events


def _weights(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        try:
            out[key.strip()] = float(value) if sep else float("nan")
        except ValueError:
            out[key.strip()] = float("nan")
        if out[key.strip()] != out[key.strip()]:
            raise argparse.ArgumentTypeError(f"expected NAME=NUMBER pairs such as risk=1,nature=0.5, got {part!r}")
    return out


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``profile`` subcommand."""
    p = sub.add_parser(
        "profile",
        help="exposure profile and ranking of the cities from indicator tables",
        description="Risk, nature and open-data sub-scores (mean percentile ranks of the indicator columns), "
        "their weighted composite and the rank of every city (see acv_geo.exposure_profile). Indicator tables "
        "are outputs of `acv-geo tables`, `indicators` or `zonal` (keyed by insee_com).",
    )
    p.add_argument(
        "--table",
        metavar="FILE",
        action="append",
        default=[],
        help="indicator table keyed by insee_com (.gpkg, .csv, .parquet; repeatable)",
    )
    p.add_argument(
        "--weights",
        type=_weights,
        metavar="risk=W,nature=W,opendata=W",
        help="weights of the sub-scores (default: acv_geo.indicators.profile.DEFAULT_WEIGHTS)",
    )
    p.add_argument("--cities", metavar="FILE", help="cities file (default: embedded ACV list)")
    p.add_argument(
        "--out",
        metavar="FILE",
        required=True,
        help="output file, cities sorted by rank (.gpkg, .geojson: with the city points)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo profile``."""
    import geopandas as gpd

    from acv_geo.indicators.profile import exposure_profile, rank_candidates
    from acv_geo.outputs.writers import write_table
    from acv_geo.read.cities import read_acv
    from acv_geo.read.tables import read_keyed_table

    _events.progress(0.05, "reading the cities")
    cities = read_acv(args.cities)
    tables = []
    for i, path in enumerate(args.table):
        _events.progress(0.1 + 0.5 * i / max(len(args.table), 1), f"reading {path}")
        t = read_keyed_table(path)
        geom = getattr(t, "_geometry_column_name", None)
        drop = [c for c in t.columns if c == geom or c in cities.columns]
        tables.append(t.drop(columns=drop).reindex(cities.index))
    _events.progress(0.7, "computing the profile")
    prof = exposure_profile(cities, *tables, weights=args.weights)
    ranked = rank_candidates(prof)
    base = cities[[c for c in ("commune", "territory", "opendata") if c in cities.columns]]
    out = gpd.GeoDataFrame(
        base.join(ranked, how="right"), geometry=cities.geometry.reindex(ranked.index).to_numpy(), crs=cities.crs
    )
    out = out[[c for c in out.columns if c != "geometry"] + ["geometry"]]
    out.index.name = "insee_com"
    out.attrs = dict(prof.attrs)
    _events.progress(0.9, "writing")
    write_table(out, args.out, layer="profile")
    used = prof.attrs.get("acv_geo_profile", {}).get("columns", {})
    n_ranked = int(prof["rank"].notna().sum())
    _events.result(n_cities=len(out), n_ranked=n_ranked, columns=used)
    print(
        f"acv-geo: profile of {len(out)} cities ({n_ranked} ranked) written to {args.out}; columns used: "
        + "; ".join(f"{k}: {', '.join(v) or '-'}" for k, v in used.items())
    )
    return 0
