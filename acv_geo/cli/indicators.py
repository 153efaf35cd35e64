"""``acv-geo indicators``: overlay a risk or nature layer on the cities' zones."""

from __future__ import annotations

import argparse

from acv_geo.cli import _events
from acv_geo.cli._common import add_engine_args, add_scope_args, load_zones, run_engine, zone_layer


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``indicators`` subcommand."""
    p = sub.add_parser(
        "indicators",
        help="measure a vector layer (risk zones, protected areas...) in each city's zone",
        description="For every ACV city (or every commune, or every EPCI with --scope), measure the area, "
        "share, length, count and distance of a vector layer's features (GeoPackage, Shapefile, GeoJSON, "
        "FlatGeobuf, GeoParquet) in its commune, EPCI or a buffer, in the territory's projected CRS; write "
        "one row per city (per EPCI with --scope all-epci).",
    )
    p.add_argument("--layer", metavar="FILE", required=True, help="vector layer to measure")
    p.add_argument("--layer-name", metavar="L", help="layer inside a multi-layer file (GeoPackage)")
    p.add_argument("--category", metavar="FIELD", help="field whose values split the measures")
    from acv_geo.indicators.presets import list_presets

    p.add_argument(
        "--preset",
        metavar="P",
        help=f"layer preset setting category, labels and source: {', '.join(list_presets())}",
    )
    p.add_argument("--name", metavar="N", help="column prefix (default: preset name or file stem)")
    p.add_argument(
        "--no-distances",
        action="store_true",
        help="skip the nearest-feature distances (*_dist_m): faster when only areas, lengths and counts are needed",
    )
    p.add_argument(
        "--coverage",
        metavar="national|DEP,DEP",
        help="where the layer has data: 'national' or department codes (e.g. 34,30); default: the "
        "departments its features fall in. Zones outside get no value and a reason, never 0",
    )
    add_scope_args(p)
    add_engine_args(p)
    p.add_argument("--date", metavar="D", help="date or vintage of the layer, for the metadata")
    p.add_argument("--source", metavar="S", help="publisher and licence of the layer, for the metadata")
    p.add_argument("--out", metavar="FILE", required=True, help="output file; format from extension")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo indicators``."""
    from acv_geo.indicators.overlay import overlay_indicators, overlay_report
    from acv_geo.outputs.writers import write_table

    _events.progress(0.02, "building the zones")
    cities, zones = load_zones(args)
    _events.progress(0.1, "measuring")
    kind = str(zones["zone_kind"].iloc[0]) if len(zones) else (args.zone or "commune")
    unit = "zones" if args.zones else "EPCIs" if args.scope == "all-epci" else "cities"
    df = run_engine(
        overlay_indicators,
        zones,
        args.layer,
        args=args,
        category=args.category,
        name=args.name,
        layer_name=args.layer_name,
        preset=args.preset,
        date=args.date,
        source=args.source,
        distances=not args.no_distances,
        coverage=args.coverage,
    )
    _events.progress(0.9, "writing")
    write_table(zone_layer(zones, cities, df) if args.geometry else df, args.out, layer="indicators")
    rep = overlay_report(df)
    reason = df.columns[-1]
    n_missing = int(df[reason].notna().sum())
    _events.result(
        n_zones=len(df), n_missing=n_missing, n_repaired=int(rep["n_repaired"]), main_column=rep["main_column"]
    )
    print(
        f"acv-geo: {len(df)} {unit} × {len(df.columns) - 1} indicators of {rep['layer']} "
        f"({kind} zones) written to {args.out}; {rep['n_repaired']} invalid geometries repaired, "
        f"{n_missing} {unit} with a missing value (see {reason})"
    )
    return 0
