"""``acv-geo cities``: the ACV cities table with open-data status."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``cities`` subcommand."""
    p = sub.add_parser(
        "cities",
        help="write the ACV cities with open-data status",
        description="Read the ACV cities (embedded ANCT list, or a CDC/ANCT file), repair and report "
        "what is wrong, derive open-data status, and write them (.gpkg, .geojson, .csv, .parquet).",
    )
    p.add_argument("--source", metavar="FILE", help="CDC or ANCT export (default: embedded ANCT list)")
    p.add_argument(
        "--observatory",
        metavar="FILE",
        help="ODATER export (2022 CSV or 2020 workbook) to derive open-data status from "
        "(default: embedded ODATER 2022 for sources without status)",
    )
    p.add_argument(
        "--no-opendata",
        action="store_true",
        help="do not derive the open-data status from the observatory (keep the source's, if any)",
    )
    p.add_argument("--out", metavar="FILE", required=True, help="output file; format from extension")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo cities``."""
    from acv_geo.cli import _events
    from acv_geo.outputs.writers import write_table
    from acv_geo.read.cities import read_acv
    from acv_geo.read.repairs import repair_report

    kwargs = {} if args.observatory is None else {"observatory": args.observatory}
    if args.no_opendata:
        kwargs["observatory"] = None
    _events.progress(0.05, "reading the cities")
    cities = read_acv(args.source, **kwargs)
    _events.progress(0.8, "writing the cities")
    write_table(cities, args.out, layer="cities")
    rep = repair_report(cities)
    n_open = int(cities["opendata"].fillna(False).astype(bool).sum())
    _events.result(n_cities=len(cities), n_opendata=n_open, n_repairs=len(rep))
    print(
        f"acv-geo: {len(cities)} cities written to {args.out} "
        f"({n_open} publish open data, directly or through their EPCI; {len(rep)} repairs reported)"
    )
    return 0
