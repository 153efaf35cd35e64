"""``acv-geo fetch``: download the official national layers into the local cache.

With ``--towns`` it also queries the web services (IGN API Carto module Nature, Géorisques API v1)
for the ACV towns and keeps every answer in the same cache, so that later runs need no network.
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``fetch`` subcommand."""
    p = sub.add_parser(
        "fetch",
        help="download official national layers (Géorisques, INPN, IGN, CDC) into the cache",
        description="Download official national layers and tables into the user cache (resumable, "
        "checksummed, archives extracted safely, layers checked against the catalogue's expected "
        "fields). Name sources from the catalogue (see --list); sources published per department "
        "take the department code: pprn:34, tri:85. Without SOURCE: every source with a national "
        "address (several GB). With --towns: query the web services (API Carto Nature, Géorisques) for "
        "the 244 ACV towns and keep their answers in the cache instead.",
    )
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="catalogue name, or NAME:DEP (e.g. pprn:34)")
    p.add_argument("--cache", metavar="DIR", help="cache folder (default: $ACV_GEO_CACHE_DIR or the user cache)")
    p.add_argument("--force", action="store_true", help="download again even if cached")
    p.add_argument("--offline", action="store_true", help="use only the cache; list the sources missing from it")
    p.add_argument("--list", action="store_true", help="list the catalogue (and what is cached), then exit")
    p.add_argument("--catalogue", metavar="FILE", help="replacement catalogue JSON (default: the shipped one)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    g = p.add_argument_group("web services for the ACV towns (docs/services.md)")
    g.add_argument(
        "--towns",
        action="store_true",
        help="query the web services for the 244 ACV towns and cache every answer (with --offline: "
        "check the cache; with --force: ask again)",
    )
    g.add_argument(
        "--services",
        metavar="LIST",
        help="comma-separated services for --towns: nature (IGN API Carto), georisques (Géorisques API "
        "v1); default: both",
    )
    g.add_argument(
        "--zone",
        metavar="commune|epci|buffer:METRES",
        help="zone of each town for the nature layers (default: commune)",
    )
    g.add_argument("--insee", metavar="CODES", help="only these ACV towns (comma-separated INSEE codes)")
    g.add_argument(
        "--services-url",
        metavar="NAME=URL",
        action="append",
        help="another base URL for a service (a mirror, a test server), e.g. "
        "nature=http://127.0.0.1:8000/api/nature; repeatable. Also ACV_GEO_NATURE_URL, ACV_GEO_GEORISQUES_URL",
    )
    g.add_argument(
        "--rate",
        type=float,
        metavar="N",
        help="requests per second per service (default: 3 for nature, 2 for georisques; 0: no limit)",
    )
    p.set_defaults(func=run)


def _txt(value: object) -> str:
    """Text of a table cell; empty for None/NaN."""
    return value if isinstance(value, str) else ""


def _print_list(args: argparse.Namespace) -> None:
    """``acv-geo fetch --list``: the catalogue, one line per source, with what is cached."""
    from acv_geo.sources.cache import list_sources

    table = list_sources(cache_dir=args.cache, catalogue=args.catalogue)
    width = max(len(n) for n in table.index)
    print(f"{'source':<{width}}  {'preset':<14} {'format':<7} {'verified':<8} {'cached':<12} title")
    for name, row in table.iterrows():
        if _txt(row["url_department"]):
            dep = f" (also per department: {name}:DEP)" if _txt(row["url"]) else f" (per department: {name}:DEP)"
        else:
            dep = "" if _txt(row["url"]) else " [no direct address: download it by hand]"
        verified = "yes" if row["verified"] else "no"
        print(
            f"{name:<{width}}  {_txt(row['preset']) or '-':<14} {row['format']:<7} {verified:<8} "
            f"{_txt(row['cached']) or '-':<12} {row['title']}{dep}"
        )


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo fetch``."""
    from acv_geo.cli import _events
    from acv_geo.sources.errors import FetchError
    from acv_geo.sources.fetching import fetch

    if args.list:
        _print_list(args)
        return 0
    given = [
        flag
        for flag, value in (
            ("--services", args.services),
            ("--zone", args.zone),
            ("--insee", args.insee),
            ("--services-url", args.services_url),
            ("--rate", args.rate is not None),
        )
        if value
    ]
    if given and not args.towns:
        raise ValueError(
            "--services, --zone, --insee, --services-url and --rate apply to --towns (the web services "
            f"queried for the ACV towns); add --towns or drop {' and '.join(given)}"
        )
    if args.towns and not args.sources:
        return _run_services(args)
    try:
        result = fetch(
            args.sources or None,
            cache_dir=args.cache,
            force=args.force,
            offline=args.offline,
            progress=_events.progress_callback() or not args.quiet,
            catalogue=args.catalogue,
        )
    except FetchError as exc:
        if _events.enabled():
            _events.emit("error", message=str(exc), code=2)
        else:
            print(f"acv-geo: error: {exc}", file=sys.stderr)
        return 2
    for s in result.sources:
        layer = f" (layer {s.layer})" if s.layer else ""
        print(f"acv-geo: {s.name}: {s.status} -> {s.path}{layer}  sha256 {s.sha256[:12]}…  {s.size} bytes")
    print(f"acv-geo: {len(result)} source(s) ready in {result.cache_dir}")
    _events.result(
        cache_dir=str(result.cache_dir),
        sources=[{"name": s.name, "status": s.status, "path": str(s.path), "layer": s.layer} for s in result.sources],
    )
    if args.towns:
        return _run_services(args)
    return 0


class _StderrProgress:
    """``progress(fraction, message)`` printing one line on stderr at every tenth."""

    def __init__(self) -> None:
        self.decile = -1

    def __call__(self, fraction: float, message: str) -> None:
        decile = int(fraction * 10)
        if decile != self.decile:
            self.decile = decile
            print(f"acv-geo: services {fraction:4.0%} ({message})", file=sys.stderr, flush=True)


def _run_services(args: argparse.Namespace) -> int:
    """``acv-geo fetch --towns``: query the web services for the ACV towns into the cache."""
    from acv_geo.cli import _events
    from acv_geo.indicators.services import fetch_services
    from acv_geo.read.cities import read_acv

    names = [s.strip().lower() for s in (args.services or "nature,georisques").split(",") if s.strip()]
    urls: dict[str, str] = {}
    for item in args.services_url or []:
        name, sep, url = item.partition("=")
        if not sep or not name.strip() or not url.strip():
            raise ValueError(
                f"--services-url {item!r}: expected NAME=URL, e.g. nature=http://127.0.0.1:8000/api/nature"
            )
        urls[name.strip().lower()] = url.strip()
    cities = read_acv()
    if args.insee:
        codes = [c.strip().upper() for c in args.insee.split(",") if c.strip()]
        unknown = [c for c in codes if c not in cities.index]
        if unknown or not codes:
            raise ValueError(
                f"--insee: {', '.join(unknown) or 'nothing given'}: not an ACV town; give INSEE codes of "
                "the 244 ACV towns (see `acv-geo cities`), e.g. --insee 34003,80001"
            )
        cities = cities.loc[list(dict.fromkeys(codes))]
    progress = _events.progress_callback() or (None if args.quiet else _StderrProgress())
    results = fetch_services(
        cities,
        services=names,
        zone=args.zone or "commune",
        cache=args.cache,
        base_urls=urls,
        offline=args.offline,
        refresh=args.force,
        rate=args.rate,
        progress=progress,
    )
    code = 0
    for name, r in results.items():
        st = r["stats"]
        print(
            f"acv-geo: {name}: {r['towns']} towns, {r['answered']} answered ({st.get('from_cache', 0)} answers from "
            f"the cache, {st.get('queried', 0)} queried, {st.get('http_requests', 0)} HTTP requests to "
            f"{r['base_url']}) -> {r['cache_dir']}"
        )
        if r["without_answer"]:
            code = 2
            town, why = next(iter(r["reasons"].items()))
            retry = (
                "When online, run the same command without --offline"
                if args.offline
                else "Run the same command again to retry them (the answers received are cached)"
            )
            msg = f"{name}: {r['without_answer']} town(s) without answer, e.g. {town}: {why}. {retry}"
            if _events.enabled():
                _events.emit("error", message=msg, code=2)
            else:
                print(f"acv-geo: error: {msg}", file=sys.stderr)
    _events.result(services=results)
    return code
