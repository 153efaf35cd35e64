"""``acv-geo diagnose``: every indicator, clusters, maps and the HTML report in one folder."""

from __future__ import annotations

import argparse

from acv_geo.cli._common import add_engine_args, add_national_args, check_engine_args


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``diagnose`` subcommand."""
    p = sub.add_parser(
        "diagnose",
        help="run the whole diagnostic (indicators, clusters, maps, report) into a folder",
        description="Run the whole acv-geo diagnostic on the ACV cities and write cities.gpkg, "
        "indicators.csv/.parquet, indicators.metadata.csv, clusters.json, maps/*.png and report.html into "
        "--out, atomically (a failed run leaves the previous outputs intact). Without --config it runs on "
        "the embedded real data, offline.",
    )
    p.add_argument(
        "--config", metavar="FILE", help="TOML config (default: the embedded default; see examples/diagnose.toml)"
    )
    p.add_argument(
        "--cities", metavar="FILE", help="ACV city list (CDC or ANCT export) instead of the embedded ANCT list"
    )
    p.add_argument(
        "--permutations", metavar="N", type=int, help="override clusters.permutations (e.g. 99 for a quick run)"
    )
    add_national_args(p)
    add_engine_args(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument("--lang", choices=["fr", "en"], default="fr", help="language of the report (default: fr)")
    p.add_argument(
        "--services",
        metavar="LIST",
        default="",
        help="web services to query for every town: nature,georisques (answers cached; see docs/services.md)",
    )
    p.add_argument(
        "--services-offline",
        action="store_true",
        help="use only the cached service answers (fill the cache with acv-geo fetch --towns)",
    )
    p.add_argument(
        "--cache", metavar="DIR", help="cache folder of the services (default: $ACV_GEO_CACHE_DIR or the user cache)"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a previous output folder even if it holds files of yours (they are deleted)",
    )
    p.add_argument("--out", metavar="DIR", required=True, help="output folder (created if needed)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``acv-geo diagnose``."""
    from acv_geo.cli import _events
    from acv_geo.pipeline.config import load_config
    from acv_geo.pipeline.run import diagnose

    check_engine_args(args)
    overrides = {"clusters": {"permutations": args.permutations}} if args.permutations is not None else None
    load_config(args.config)  # the file itself must be valid, even where --permutations overrides it
    cfg = load_config(args.config, overrides=overrides)
    callback = _events.progress_callback()
    result = diagnose(
        args.cities,
        config=cfg,
        out_dir=args.out,
        progress=callback or not args.quiet,
        scope=args.scope,
        communes=args.communes,
        engine=args.engine,
        chunk_size=args.chunk_size,
        scheduler=args.scheduler,
        workers=args.workers,
        overwrite=args.overwrite,
        lang=args.lang,
        services=[x.strip() for x in args.services.split(",") if x.strip()],
        services_offline=args.services_offline,
        cache=args.cache,
    )
    if callback is not None:
        for line in result.summary(with_warnings=False).splitlines():
            _events.emit("info", message=line.strip())
        for w in result.warnings:
            _events.emit("warning", message=w)
        _events.result(
            n_cities=len(result.cities),
            out_dir=str(result.out_dir),
            report=str(result.out_dir / "report.html"),
            files=[str(f) for f in result.files],
        )
    elif not args.quiet:
        print(result.summary())
    return 0
