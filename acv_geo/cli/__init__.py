"""Command-line interface: ``acv-geo SUBCOMMAND ...``.

Each subcommand lives in its own module of this package, which defines
``register(subparsers)``; the module adds its parser and sets ``func`` (a callable taking the
parsed ``argparse.Namespace`` and returning an exit code). Add a module name to
:data:`SUBCOMMANDS` to expose a new subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
import traceback

from acv_geo.cli import _events

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: Modules of :mod:`acv_geo.cli` that provide a subcommand, in help order.
SUBCOMMANDS = ["cities", "zonal", "tables", "indicators", "profile", "clusters", "weights", "fetch", "diagnose"]


def build_parser() -> argparse.ArgumentParser:
    """Build the ``acv-geo`` argument parser with every subcommand registered.

    Returns
    -------
    argparse.ArgumentParser
        The parser.
    """
    from acv_geo import __version__

    parser = argparse.ArgumentParser(
        prog="acv-geo",
        description="Risk, biodiversity and open-data diagnostics for the Action Cœur de Ville towns.",
    )
    parser.add_argument("--version", action="version", version=f"acv-geo {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every repair and step")
    parser.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an unexpected error (to report a bug)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="write machine-readable events on stdout, one JSON object per line (progress, log, warnings, "
        "result, error, end; see acv_geo.cli._events): for programs such as the QGIS plugin",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 2 bad input, 1 unexpected failure).

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.json:
        _events.start(args.command)
    else:
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="acv-geo: %(levelname)s: %(message)s",
        )
    try:
        code = _run(args)
        _events.emit("end", code=code)
    finally:
        _events.stop()
    return code


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (a cancel from the QGIS plugin) unwinds like Ctrl-C, so temporary files are removed."""
    raise KeyboardInterrupt


def _run(args: argparse.Namespace) -> int:
    from acv_geo.core.errors import os_error_message

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return int(args.func(args) or 0)
    except OSError as exc:
        if args.debug:
            raise
        _fail(os_error_message(exc) if exc.errno is not None and exc.strerror else str(exc), 2)
        return 2
    except ValueError as exc:
        if args.debug:
            raise
        _fail(f"{exc}", 2)
        return 2
    except KeyboardInterrupt:
        _fail("interrupted; no partial output was left behind", 130)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        _fail(
            f"unexpected {type(exc).__name__}: {exc}. This is a bug of acv-geo: run the same command with "
            "--debug and report the traceback",
            1,
            traceback.format_exc(),
        )
        return 1
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _fail(message: str, code: int, trace: str | None = None) -> None:
    if _events.enabled():
        _events.emit("error", message=message, code=code, **({"traceback": trace} if trace else {}))
    else:
        print(f"acv-geo: {'error: ' if code == 2 else ''}{message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
