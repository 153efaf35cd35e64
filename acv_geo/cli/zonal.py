"""``acv-geo zonal``: raster zonal statistics per city zone."""

from __future__ import annotations

import argparse

from acv_geo.cli import _events
from acv_geo.cli._common import add_engine_args, add_scope_args, load_zones, run_engine, zone_layer


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``zonal`` subcommand."""
    p = sub.add_parser(
        "zonal",
        help="raster zonal statistics per city (DEM, land cover, hazard grids)",
        description="Summarise a raster inside each city's zone (commune polygon, EPCI or buffer) with "
        "exact partial-pixel coverage; nodata masked; one row per city (per EPCI with --scope all-epci).",
    )
    p.add_argument("--raster", metavar="FILE", required=True, help="raster file GDAL can read")
    p.add_argument(
        "--stats",
        metavar="LIST",
        default=None,
        help="comma-separated statistics: count,sum,mean,min,max,std,median,majority,minority,variety,"
        "coverage_pct and percentiles pNN (default count,mean,min,max; count,majority with --categorical)",
    )
    p.add_argument("--categorical", action="store_true", help="add the share of each class (land cover)")
    p.add_argument(
        "--threshold",
        metavar="T",
        type=float,
        action="append",
        help="add the share of the zone below T (repeatable), e.g. --threshold 5 on a DEM",
    )
    p.add_argument("--band", type=int, default=1, help="1-based band number (default 1)")
    p.add_argument("--name", help="column prefix (default: raster file name)")
    p.add_argument("--unit", help="unit of the raster values, for the metadata (e.g. m)")
    add_scope_args(p)
    add_engine_args(p)
    p.add_argument("--out", metavar="FILE", required=True, help="output file; format from extension")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo zonal``."""
    from acv_geo.indicators.raster import open_raster
    from acv_geo.indicators.zonal import zonal_indicators
    from acv_geo.outputs.writers import write_table

    open_raster(args.raster)[0].close()  # fail fast on a bad raster, before building zones
    _events.progress(0.02, "building the zones")
    cities, zones = load_zones(args)
    _events.progress(0.1, "measuring")
    out = run_engine(
        zonal_indicators,
        zones,
        args.raster,
        args=args,
        stats=args.stats,
        categorical=args.categorical,
        threshold=args.threshold,
        band=args.band,
        name=args.name,
        unit=args.unit,
    )
    _events.progress(0.9, "writing")
    write_table(zone_layer(zones, cities, out) if args.geometry else out, args.out, layer="zonal")
    counts = [c for c in out.columns if c.endswith("_count")]
    values = out[[c for c in out.columns if not c.endswith("_reason")]]
    n_data = int((out[counts[0]] > 0).sum()) if counts else int(values.notna().any(axis=1).sum())
    unit = "zones" if args.zones else "EPCIs" if args.scope == "all-epci" else "cities"
    _events.result(n_zones=len(out), n_with_data=n_data)
    print(
        f"acv-geo: zonal statistics of {args.raster} for {len(out)} {unit} written to {args.out} "
        f"({n_data} {unit} with data, {len(out) - n_data} without)"
    )
    return 0
