"""Options shared by the indicator subcommands: which cities, which zones, which engine."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def add_scope_args(p: argparse.ArgumentParser) -> None:
    """``--cities``, ``--scope`` (with ``all-epci``), ``--communes``, ``--epci`` and ``--zone``."""
    p.add_argument("--cities", metavar="FILE", help="cities file (default: embedded ANCT list of ACV towns)")
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
        + ("; all-epci: every EPCI, each its own zone (one row per EPCI, indexed by siren_epci)"
           if epci_scope else ""),
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
    p.add_argument("--workers", type=_positive_int, metavar="N",
                   help="worker processes of the local Dask cluster (default: one per core)")
    p.add_argument("--chunk-size", type=int, default=5000, metavar="N", help="zones per spatial chunk (5000)")


def check_engine_args(args: argparse.Namespace) -> None:
    """``--scheduler`` and ``--workers`` only mean something with ``--engine dask``."""
    given = [flag for flag, value in (("--scheduler", args.scheduler), ("--workers", args.workers)) if value]
    if args.engine != "dask" and given:
        raise ValueError(f"{' and '.join(given)} only apply to the Dask engine; add --engine dask")
    if args.scheduler and args.workers:
        raise ValueError("--workers sizes the local Dask cluster; with --scheduler the cluster is yours: "
                         "drop --workers")


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}")
    return int(text)


def load_zones(args: argparse.Namespace):
    """Cities and their zones from the scope options."""
    from ..io import read_acv, read_all_communes, read_communes, read_epci
    from ..zones import make_zones, parse_zone_spec, polygon_zones

    if args.scope == "all-epci":
        given = [flag for flag, value in (("--cities", args.cities), ("--communes", args.communes),
                                          ("--zone", args.zone)) if value]
        if given:
            raise ValueError(f"{' and '.join(given)} do not apply with --scope all-epci: each EPCI polygon is its "
                             "own zone; drop them")
        return None, polygon_zones(read_epci(args.epci), kind="epci")
    if getattr(args, "epci", None):
        raise ValueError("--epci only applies with --scope all-epci (city zones use --zone epci and the "
                         "embedded EPCI polygons)")
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
    from ..engine import map_zones

    check_engine_args(args)
    if args.engine == "local" and len(zones) <= args.chunk_size:
        return func(zones, *fargs, **kwargs)
    return map_zones(
        func, zones, *fargs, engine=args.engine, chunk_size=args.chunk_size, scheduler=args.scheduler,
        n_workers=args.workers, **kwargs
    )
