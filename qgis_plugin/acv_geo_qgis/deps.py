"""Check, at load time, that QGIS's Python can import what the algorithms need.

Nothing here imports the geo stack at module level: the check imports each package inside a
``try`` and records the error, so a missing package gives one readable message (what to install
and how) instead of a traceback, and the provider registers only the algorithms that can run.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from dataclasses import dataclass, field

#: Packages every algorithm needs (import name -> pip name).
REQUIRED: dict[str, str] = {
    "numpy": "numpy",
    "pandas": "pandas",
    "shapely": "shapely",
    "pyproj": "pyproj",
    "pyogrio": "pyogrio",
    "geopandas": "geopandas",
}

#: Packages only some algorithms need (import name -> (pip name, algorithm names)).
OPTIONAL: dict[str, tuple[str, tuple[str, ...]]] = {
    "rasterio": ("rasterio", ("zonalindicators", "diagnose")),
    "exactextract": ("exactextract", ("zonalindicators", "diagnose")),
    "libpysal": ("libpysal", ("clusters", "diagnose")),
    "esda": ("esda", ("clusters", "diagnose")),
    "matplotlib": ("matplotlib", ("diagnose",)),
}

TITLE = "ACV Geo"
_notified = False


@dataclass(frozen=True)
class DependencyReport:
    """What failed to import.

    Attributes
    ----------
    missing : dict
        Required import name -> error text. Non-empty means no algorithm can run.
    missing_optional : dict
        Optional import name -> error text.
    core_error : str or None
        Why ``acv_geo`` itself did not import (when the required packages did).
    """

    missing: dict[str, str] = field(default_factory=dict)
    missing_optional: dict[str, str] = field(default_factory=dict)
    core_error: str | None = None

    @property
    def ok(self) -> bool:
        """True when every algorithm can run."""
        return not (self.missing or self.missing_optional or self.core_error)

    @property
    def usable(self) -> bool:
        """True when at least the required packages and the core import."""
        return not self.missing and self.core_error is None

    @property
    def unavailable_algorithms(self) -> dict[str, list[str]]:
        """Algorithm name -> optional packages it lacks."""
        out: dict[str, list[str]] = {}
        for mod in self.missing_optional:
            for alg in OPTIONAL[mod][1]:
                out.setdefault(alg, []).append(mod)
        return out


def _try_import(name: str) -> str | None:
    try:
        importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any failure (ImportError, ABI errors…) means unusable
        return f"{type(exc).__name__}: {exc}"
    return None


def check() -> DependencyReport:
    """Import every dependency and the core; report what fails.

    Returns
    -------
    DependencyReport
    """
    missing = {m: err for m in REQUIRED if (err := _try_import(m)) is not None}
    optional = {m: err for m in OPTIONAL if (err := _try_import(m)) is not None}
    core_error = None
    if not missing:
        core_error = _try_import("acv_geo.io")
    return DependencyReport(missing, optional, core_error)


def _numpy_pin() -> str:
    """``"numpy<2" `` when QGIS's own numpy is numpy 1 (a numpy 2 would break QGIS's modules)."""
    try:
        import numpy
    except Exception:  # noqa: BLE001
        return ""
    return '"numpy<2" ' if numpy.__version__.split(".")[0] == "1" else ""


def install_command(packages: list[str]) -> str:
    """The pip command line to run with QGIS's Python."""
    pins = _numpy_pin()
    return f"python -m pip install {pins}" + " ".join(packages)


def message(report: DependencyReport) -> str:
    """One message saying what is missing, what it disables and how to install it.

    Parameters
    ----------
    report : DependencyReport

    Returns
    -------
    str
        Empty when nothing is missing.
    """
    if report.ok:
        return ""
    lines: list[str] = []
    if report.missing:
        pkgs = [REQUIRED[m] for m in report.missing]
        pkgs += [OPTIONAL[m][0] for m in report.missing_optional]
        lines.append(
            "ACV Geo cannot run: QGIS's Python cannot import "
            + ", ".join(f"{m} ({e})" for m, e in report.missing.items())
            + ". The ACV Geo algorithms are not available until it is installed."
        )
    elif report.core_error:
        pkgs = []
        lines.append(
            f"ACV Geo cannot run: its core library acv_geo does not import ({report.core_error}). "
            "Reinstall the plugin from its zip (it bundles acv_geo), or `python -m pip install acv-geo`."
        )
    else:
        pkgs = [OPTIONAL[m][0] for m in report.missing_optional]
    if report.missing_optional and not report.missing:
        algs = report.unavailable_algorithms
        lines.append(
            "ACV Geo: some algorithms are disabled because QGIS's Python cannot import "
            + "; ".join(f"{m} ({e})" for m, e in report.missing_optional.items())
            + ". Disabled: "
            + ", ".join(f"acvgeo:{a} (needs {', '.join(ms)})" for a, ms in sorted(algs.items()))
            + "."
        )
    if pkgs:
        cmd = install_command(pkgs)
        lines.append(
            "To install: on Windows, close QGIS, open the 'OSGeo4W Shell' (Start menu, QGIS folder) and run "
            f"`{cmd}`; on Linux or macOS run `{cmd.replace('python ', _python() + ' ', 1)}` with the Python "
            "QGIS uses (add --user, or use your distribution's packages). Then restart QGIS."
        )
    return "\n".join(lines)


def _python() -> str:
    """The interpreter QGIS embeds, as a command (QGIS's sys.executable is QGIS itself)."""
    if platform.system() == "Windows":
        return "python"
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def notify(report: DependencyReport, iface=None) -> str:
    """Tell the user, once per QGIS session: message log, message bar (desktop), stderr (qgis_process).

    Parameters
    ----------
    report : DependencyReport
    iface : QgisInterface, optional

    Returns
    -------
    str
        The message (empty when nothing is missing).
    """
    global _notified
    text = message(report)
    if not text or _notified:
        return text
    _notified = True
    from qgis.core import Qgis, QgsApplication, QgsMessageLog

    level = Qgis.Critical if not report.usable else Qgis.Warning
    QgsMessageLog.logMessage(text, TITLE, level)
    if iface is not None:
        try:
            iface.messageBar().pushMessage(TITLE, text.replace("\n", " "), level=level, duration=0)
        except Exception:  # noqa: BLE001 - a broken message bar must not break loading
            pass
    elif QgsApplication.platform() == "external" and not os.environ.get("ACV_GEO_QUIET"):
        # A script or test that started QGIS itself sees no message log: say it on stderr.
        # (qgis_process already prints warnings and errors of the message log on stderr.)
        print(text, file=sys.stderr)
    return text
