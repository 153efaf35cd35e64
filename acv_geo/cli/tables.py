"""``acv-geo tables``: per-commune tables (radon, CatNat, any table) joined onto the cities."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_EMBEDDED = "embedded"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tables`` subcommand."""
    p = sub.add_parser(
        "tables",
        help="join radon, CatNat and other per-commune tables onto the cities",
        description="Join per-commune tables by INSEE code onto the cities (one row per city, a reason "
        "where a value is missing): IRSN radon class, CatNat decree counts per peril group, any table.",
    )
    p.add_argument(
        "--radon",
        nargs="?",
        const=_EMBEDDED,
        metavar="FILE",
        help="radon class (embedded IRSN table, or the raw IRSN CSV given)",
    )
    p.add_argument(
        "--catnat",
        nargs="?",
        const=_EMBEDDED,
        metavar="FILE",
        help="CatNat decree counts (embedded ACV extract, or the full CCR CSV/Parquet given)",
    )
    p.add_argument("--since", type=int, metavar="YEAR", help="CatNat: only events from this year on")
    p.add_argument(
        "--catnat-coverage",
        metavar="listed|national|DEP,DEP",
        help="CatNat file given: where it lists every decree, so a commune it does not list had none (0): "
        "national, or department codes; default listed (other communes get no value and a reason)",
    )
    p.add_argument(
        "--all-decisions", action="store_true", help="CatNat: count refused decrees too (default: recognised only)"
    )
    p.add_argument("--seismic", action="store_true", help="seismic zone of every commune (décret 2010-1255, embedded)")
    p.add_argument(
        "--known-risks",
        action="store_true",
        help="natural risks known per commune (GASPAR DDRM, embedded): risk_<family>_known, risks_known_count",
    )
    p.add_argument(
        "--table", metavar="FILE", action="append", help="any CSV/XLSX/Parquet with an INSEE column (repeatable)"
    )
    p.add_argument("--insee-column", metavar="C", help="INSEE code column of --table (default: detected)")
    p.add_argument("--prefix", metavar="P", help="prefix of the --table columns")
    p.add_argument("--cities", metavar="FILE", help="cities file (default: embedded ACV list)")
    p.add_argument("--geometry", action="store_true", help="write the city points too, for a map layer")
    p.add_argument("--out", metavar="FILE", required=True, help="output file; format from extension")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo tables``."""
    from acv_geo.cli import _events
    from acv_geo.outputs.writers import write_table
    from acv_geo.read.cities import read_acv

    _check(args)
    _events.progress(0.05, "reading the cities")
    cities = read_acv(args.cities)
    _events.progress(0.3, "joining the tables")
    out = _joined(cities, _parts(args, cities))
    repairs = out.attrs["acv_geo_repairs"]
    _events.progress(0.9, "writing")
    if args.geometry:
        out = _with_points(out, cities)
    write_table(out, args.out, layer="tables")
    _events.result(n_cities=len(out), n_columns=len(out.columns), n_repairs=len(repairs))
    print(
        f"acv-geo: {len(out)} cities × {len(out.columns)} columns written to {args.out} "
        f"({len(repairs)} repairs of the input tables reported; run with -v to see them)"
    )
    return 0


def _check(args: argparse.Namespace) -> None:
    """Refuse a command line that asks for nothing, or for options that apply to nothing."""
    if args.radon is None and args.catnat is None and not args.table and not (args.seismic or args.known_risks):
        raise ValueError("nothing to join: give --radon, --catnat, --seismic, --known-risks and/or --table FILE")
    if args.insee_column and not args.table:
        raise ValueError("--insee-column applies to --table; give --table FILE too")


def _parts(args: argparse.Namespace, cities: pd.DataFrame) -> list[pd.DataFrame]:
    """The indicator tables asked for, in the order of the options' help."""
    from acv_geo.indicators.tables import (
        join_commune_table,
        known_risks_indicators,
        radon_indicators,
        seismic_indicators,
    )

    parts = []
    if args.radon is not None:
        parts.append(radon_indicators(cities, None if args.radon == _EMBEDDED else args.radon))
    if args.catnat is not None:
        parts.append(_catnat_part(args, cities))
    if args.seismic:
        parts.append(seismic_indicators(cities))
    if args.known_risks:
        parts.append(known_risks_indicators(cities))
    for t in args.table or []:
        parts.append(join_commune_table(cities, t, insee_column=args.insee_column, prefix=args.prefix))
    return parts


def _catnat_part(args: argparse.Namespace, cities: pd.DataFrame) -> pd.DataFrame:
    """CatNat counts: from GASPAR's table (``acv-geo fetch catnat``), else from a CCR file or the embedded one."""
    from acv_geo.indicators.gaspar import catnat_gaspar_indicators
    from acv_geo.indicators.tables import catnat_indicators
    from acv_geo.read.gaspar import is_gaspar_catnat

    if args.catnat != _EMBEDDED and is_gaspar_catnat(args.catnat):
        return catnat_gaspar_indicators(cities, args.catnat, start=args.since)
    cov = args.catnat_coverage
    if cov not in (None, "listed", "national"):
        cov = [d for d in cov.split(",") if d.strip()]
    return catnat_indicators(
        cities,
        None if args.catnat == _EMBEDDED else args.catnat,
        since=args.since,
        recognised_only=not args.all_decisions,
        coverage=cov,
    )


def _joined(cities: pd.DataFrame, parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The cities' names and territories, then every part; their metadata and repairs merged."""
    import pandas as pd

    from acv_geo.core.metadata import merge_metadata

    base = cities[[c for c in ("commune", "territory") if c in cities.columns]]
    out = pd.concat([pd.DataFrame(base), *parts], axis=1)
    merge_metadata(out, *parts)
    out.attrs["acv_geo_repairs"] = [r for p in parts for r in p.attrs.get("acv_geo_repairs", [])]
    return out


def _with_points(out: pd.DataFrame, cities: pd.DataFrame) -> pd.DataFrame:
    """``out`` as a GeoDataFrame of the city points (attributes kept), for a map layer."""
    import geopandas as gpd

    attrs = dict(out.attrs)
    out = gpd.GeoDataFrame(out, geometry=cities.geometry.reindex(out.index).to_numpy(), crs=cities.crs)
    out.attrs = attrs
    return out
