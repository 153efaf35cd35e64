"""``acv-geo weights``: the spatial weights of the cities (or their EPCIs), exported as GAL or CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from acv_geo.cli import _events


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``weights`` subcommand."""
    p = sub.add_parser(
        "weights",
        help="build the spatial weights of the cities and export them (.gal, .csv)",
        description="Spatial weights built per territory in its projected CRS, never linking two territories "
        "(acv_geo.spatial_weights): knn:K and distance:METERS on the city points, queen and rook on the commune "
        "(or EPCI) polygons. Written as GeoDa GAL or as a focal,neighbor,weight CSV.",
    )
    p.add_argument("--weights", default="knn:6", metavar="SPEC", help="knn:K, distance:METERS, queen or rook")
    p.add_argument(
        "--level", default="commune", choices=["commune", "epci"], help="units: the cities (default) or their EPCIs"
    )
    p.add_argument("--cities", metavar="FILE", help="cities file (default: embedded ACV list)")
    p.add_argument("--out", metavar="FILE", required=True, help="output file: .gal or .csv")
    p.set_defaults(func=run)


def units(cities, *, level: str, spec: str):
    """The units the weights link: city points or commune polygons, or the cities' EPCI polygons."""
    from acv_geo.read.communes import read_epci
    from acv_geo.stats.weights import parse_weights_spec
    from acv_geo.zones import make_zones, polygon_zones

    kind, _ = parse_weights_spec(spec)
    if level == "epci":
        sirens = cities["siren_epci"].dropna().astype(str).unique()
        epci = read_epci()
        return polygon_zones(epci.loc[[s for s in epci.index if s in set(sirens)]], kind="epci")
    if kind in ("queen", "rook"):
        return make_zones(cities, kind="commune")
    return cities


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo weights``."""
    from acv_geo.read.cities import read_acv
    from acv_geo.stats.weights import spatial_weights

    out = Path(args.out)
    if out.suffix.lower() not in (".gal", ".csv"):
        raise ValueError(f"{out}: --out must end with .gal or .csv")
    _events.progress(0.05, "reading the cities")
    cities = read_acv(args.cities)
    _events.progress(0.3, "building the weights")
    res = spatial_weights(units(cities, level=args.level, spec=args.weights), args.weights)
    _events.progress(0.9, "writing")
    if out.suffix.lower() == ".gal":
        res.to_gal(out)
    else:
        res.to_csv(out)
    n_links = int(res.graph.n_edges) if hasattr(res.graph, "n_edges") else None
    _events.result(
        n_units=int(res.graph.n), n_islands=len(res.islands), n_components=int(res.n_components), n_links=n_links
    )
    print(
        f"acv-geo: {args.weights} weights of {res.graph.n} units ({len(res.islands)} without neighbour, "
        f"{res.n_components} connected components) written to {out}"
    )
    return 0
