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
import sys

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: Modules of :mod:`acv_geo.cli` that provide a subcommand, in help order.
SUBCOMMANDS = ["cities", "zonal", "tables", "indicators", "clusters", "fetch", "diagnose"]


def build_parser() -> argparse.ArgumentParser:
    """Build the ``acv-geo`` argument parser with every subcommand registered.

    Returns
    -------
    argparse.ArgumentParser
        The parser.
    """
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="acv-geo",
        description="Risk, biodiversity and open-data diagnostics for the Action Cœur de Ville towns.",
    )
    parser.add_argument("--version", action="version", version=f"acv-geo {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every repair and step")
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
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="acv-geo: %(levelname)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        print(f"acv-geo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("acv-geo: interrupted; no partial output was left behind", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
