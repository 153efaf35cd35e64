"""``acv-geo fetch``: download the official national layers into the local cache."""

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
        "address (several GB).",
    )
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="catalogue name, or NAME:DEP (e.g. pprn:34)")
    p.add_argument("--cache", metavar="DIR", help="cache folder (default: $ACV_GEO_CACHE_DIR or the user cache)")
    p.add_argument("--force", action="store_true", help="download again even if cached")
    p.add_argument("--offline", action="store_true", help="use only the cache; list the sources missing from it")
    p.add_argument("--list", action="store_true", help="list the catalogue (and what is cached), then exit")
    p.add_argument("--catalogue", metavar="FILE", help="replacement catalogue JSON (default: the shipped one)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _txt(value: object) -> str:
    """Text of a table cell; empty for None/NaN."""
    return value if isinstance(value, str) else ""


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo fetch``."""
    from ..fetching import FetchError, fetch, list_sources
    from . import _events

    if args.list:
        table = list_sources(cache_dir=args.cache, catalogue=args.catalogue)
        width = max(len(n) for n in table.index)
        print(f"{'source':<{width}}  {'preset':<14} {'format':<7} {'verified':<8} {'cached':<12} title")
        for name, row in table.iterrows():
            if _txt(row["url_department"]):
                dep = f" (also per department: {name}:DEP)" if _txt(row["url"]) else f" (per department: {name}:DEP)"
            else:
                dep = "" if _txt(row["url"]) else " [no direct address: download it by hand]"
            verified = "yes" if row["verified"] else "no"
            print(f"{name:<{width}}  {_txt(row['preset']) or '-':<14} {row['format']:<7} {verified:<8} "
                  f"{_txt(row['cached']) or '-':<12} {row['title']}{dep}")
        return 0
    try:
        result = fetch(
            args.sources or None,
            cache_dir=args.cache,
            force=args.force,
            offline=args.offline,
            progress=not (args.quiet or _events.enabled()),
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
    _events.result(cache_dir=str(result.cache_dir),
                   sources=[{"name": s.name, "status": s.status, "path": str(s.path), "layer": s.layer}
                            for s in result.sources])
    return 0
