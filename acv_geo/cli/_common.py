"""Options shared by the indicator subcommands: which cities, which zones, which engine."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def add_scope_args(p: argparse.ArgumentParser) -> None:
    """``--cities``, ``--scope`` (with ``all-epci``), ``--communes``, ``--epci``, ``--zone``, ``--zones``."""
    p.add_argument("--cities", metavar="FILE", help="cities file (default: embedded ANCT list of ACV towns)")
    p.add_argument(
        "--zones",
        metavar="FILE",
        help="your own polygon layer, each polygon its own zone (one row per polygon): communes keyed by an "
        "INSEE column, EPCIs by a SIREN column, or any polygons with --zones-id",
    )
    p.add_argument("--zones-id", metavar="FIELD", help="field identifying each polygon of --zones (unique values)")
    p.add_argument(
        "--geometry",
        action="store_true",
        help="write each zone's polygon (and its name, territory, kind) with the indicators, for a "
        "map layer (.gpkg, .geojson, .parquet)",
    )
    add_national_args(p, epci_scope=True)
    p.add_argument(
        "--epci",
        metavar="FILE",
        help="EPCI polygon layer for --scope all-epci (default: the embedded 1,255 EPCIs of 2025)",
    )
    p.add_argument(
        "--zone",
        default=None,
        metavar="commune|epci|buffer:METRES",
        help="zone of each city: its commune polygon (default), its EPCI polygon, or a buffer around its point",
    )


def add_national_args(p: argparse.ArgumentParser, *, epci_scope: bool = False) -> None:
    """``--scope`` and ``--communes``; ``epci_scope`` adds ``--scope all-epci`` (one row per EPCI)."""
    p.add_argument(
        "--scope",
        choices=["acv", "all-communes", *(["all-epci"] if epci_scope else [])],
        default="acv",
        help="acv: the ACV towns (default); all-communes: every French commune (34,867)"
        + ("; all-epci: every EPCI, each its own zone (one row per EPCI, indexed by siren_epci)" if epci_scope else ""),
    )
    p.add_argument(
        "--communes",
        metavar="FILE",
        help="commune polygon layer for commune zones (default: embedded ACV polygons; needed with "
        "--scope all-communes, e.g. IGN ADMIN EXPRESS COMMUNE, see `acv-geo fetch admin_express_cog`)",
    )


def add_engine_args(p: argparse.ArgumentParser) -> None:
    """``--engine``, ``--scheduler``, ``--workers``, ``--chunk-size``."""
    p.add_argument(
        "--engine",
        choices=["local", "dask"],
        default="local",
        help="local: this process, zones in spatial chunks (default); dask: chunks on a dask.distributed "
        "cluster (pip install 'acv-geo[dask]')",
    )
    p.add_argument("--scheduler", metavar="ADDRESS", help="existing Dask scheduler (tcp://host:8786)")
    p.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="worker processes of the local Dask cluster (default: one per core)",
    )
    p.add_argument("--chunk-size", type=int, default=5000, metavar="N", help="zones per spatial chunk (5000)")


def check_engine_args(args: argparse.Namespace) -> None:
    """``--scheduler`` and ``--workers`` only mean something with ``--engine dask``."""
    given = [flag for flag, value in (("--scheduler", args.scheduler), ("--workers", args.workers)) if value]
    if args.engine != "dask" and given:
        raise ValueError(f"{' and '.join(given)} only apply to the Dask engine; add --engine dask")
    if args.scheduler and args.workers:
        raise ValueError(
            "--workers sizes the local Dask cluster; with --scheduler the cluster is yours: drop --workers"
        )


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}")
    return int(text)


def load_zones(args: argparse.Namespace):
    """Cities and their zones from the scope options."""
    from acv_geo.read.cities import read_acv
    from acv_geo.read.communes import read_all_communes, read_communes, read_epci
    from acv_geo.zones import make_zones, parse_zone_spec, polygon_zones

    if args.zones:
        return None, own_zones(args)
    if args.zones_id:
        raise ValueError("--zones-id applies to --zones; give --zones FILE too")
    if args.scope == "all-epci":
        given = [
            flag
            for flag, value in (("--cities", args.cities), ("--communes", args.communes), ("--zone", args.zone))
            if value
        ]
        if given:
            raise ValueError(
                f"{' and '.join(given)} do not apply with --scope all-epci: each EPCI polygon is its "
                "own zone; drop them"
            )
        return None, polygon_zones(read_epci(args.epci), kind="epci")
    if getattr(args, "epci", None):
        raise ValueError(
            "--epci only applies with --scope all-epci (city zones use --zone epci and the embedded EPCI polygons)"
        )
    kind, radius = parse_zone_spec(args.zone or "commune")
    if args.scope == "all-communes":
        if args.cities:
            raise ValueError("--cities and --scope all-communes exclude each other; give one of them")
        if kind == "commune" and not args.communes:
            raise ValueError(
                "--scope all-communes with commune zones needs --communes FILE (a national commune polygon "
                "layer such as IGN ADMIN EXPRESS COMMUNE; `acv-geo fetch admin_express_cog` downloads it); "
                "or use --zone epci or --zone buffer:METRES"
            )
        cities = read_all_communes()
    else:
        cities = read_acv(args.cities)
    communes = read_communes(args.communes) if args.communes else None
    return cities, make_zones(cities, kind=kind, radius=radius, communes=communes)


def run_engine(func: Callable[..., Any], zones, *fargs: Any, args: argparse.Namespace, **kwargs: Any):
    """Call ``func(zones, *fargs, **kwargs)`` through the chosen engine (spatial chunks)."""
    from acv_geo.cli import _events
    from acv_geo.pipeline.engine import map_zones

    check_engine_args(args)
    if args.engine == "local" and len(zones) <= args.chunk_size:
        return func(zones, *fargs, **kwargs)

    def progress(done: int, total: int) -> None:
        _events.progress(0.1 + 0.8 * done / max(total, 1), f"chunk {done}/{total}")

    return map_zones(
        func,
        zones,
        *fargs,
        engine=args.engine,
        chunk_size=args.chunk_size,
        scheduler=args.scheduler,
        n_workers=args.workers,
        progress=progress if _events.enabled() else None,
        **kwargs,
    )


def own_zones(args: argparse.Namespace):
    """Zones from ``--zones FILE`` (``--zones-id``): one zone per polygon of the user's layer."""
    from acv_geo.read.communes import read_polygons
    from acv_geo.zones import polygon_zones

    given = [
        flag
        for flag, value in (
            ("--cities", args.cities),
            ("--communes", args.communes),
            ("--zone", args.zone),
            ("--epci", args.epci),
            ("--scope", args.scope != "acv"),
        )
        if value
    ]
    if given:
        raise ValueError(
            f"{' and '.join(given)} do not apply with --zones: each polygon of {args.zones} is its own zone; drop them"
        )
    polygons, kind = read_polygons(args.zones, key=args.zones_id)
    return polygon_zones(polygons, kind=kind)


def zone_layer(zones, cities, table):
    """``table`` with each zone's name, territory, kind, reason and polygon: a map layer."""
    import geopandas as gpd

    keep = [c for c in ("territory", "zone_kind", "zone_reason") if c in zones.columns]
    base = zones[keep].copy()
    if cities is not None and "commune" in cities.columns:
        base.insert(0, "commune", cities["commune"].reindex(zones.index).to_numpy())
    merged = base.join(table.drop(columns=[c for c in table.columns if c in base.columns]))
    out = gpd.GeoDataFrame(merged, geometry=zones.geometry.to_numpy(), crs=zones.crs)
    out.index.name = zones.index.name
    out.attrs = dict(table.attrs)
    return out
