"""``acv-geo zonal``: raster zonal statistics per city zone."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``zonal`` subcommand."""
    p = sub.add_parser(
        "zonal",
        help="raster zonal statistics per city (DEM, land cover, hazard grids)",
        description="Summarise a raster inside each city's zone (commune polygon, EPCI or buffer) with "
        "exact partial-pixel coverage; nodata masked; one row per city.",
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
    p.add_argument(
        "--zone",
        default="commune",
        metavar="KIND",
        help="zone of each city: commune (default), epci, or buffer:METRES around the city point",
    )
    p.add_argument("--cities", metavar="FILE", help="cities file (default: embedded ACV list)")
    p.add_argument("--out", metavar="FILE", required=True, help="output file; format from extension")
    p.set_defaults(func=run)


def _zones(cities, spec: str):
    """Zones of the cities from a ``--zone`` value."""
    try:
        from .. import zones as zones_mod
    except ImportError:  # pragma: no cover - acv_geo.zones ships with the package
        if spec != "commune":
            raise ValueError(f"--zone {spec} needs acv_geo.zones, which is not installed") from None
        from ..io import read_communes

        communes = read_communes(codes=list(cities.index))
        return communes.reindex(cities.index).set_geometry(communes.geometry.name)

    parsed = zones_mod.parse_zone_spec(spec)
    if isinstance(parsed, dict):
        kind, radius = parsed.get("kind"), parsed.get("radius")
    elif isinstance(parsed, tuple):
        kind, radius = parsed[0], (parsed[1] if len(parsed) > 1 else None)
    else:
        kind, radius = parsed.kind, getattr(parsed, "radius", None)
    return zones_mod.make_zones(cities, kind=kind, radius=radius)


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo zonal``."""
    from ..io import read_acv
    from ..writers import write_table
    from ..zonal import _open, zonal_indicators

    ds, _, _ = _open(args.raster)  # fail fast on a bad raster, before building zones
    ds.close()
    cities = read_acv(args.cities)
    zones = _zones(cities, args.zone)
    out = zonal_indicators(
        zones,
        args.raster,
        stats=args.stats,
        categorical=args.categorical,
        threshold=args.threshold,
        band=args.band,
        name=args.name,
        unit=args.unit,
    )
    write_table(out, args.out, layer="zonal")
    count_col = next(c for c in out.columns if c.endswith("_count"))
    n_data = int((out[count_col] > 0).sum())
    print(f"acv-geo: zonal statistics of {args.raster} for {len(out)} cities written to {args.out} "
          f"({n_data} cities with data, {len(out) - n_data} without)")
    return 0
