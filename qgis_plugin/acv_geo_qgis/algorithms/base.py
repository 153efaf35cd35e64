"""Shared behaviour of the ACV Geo algorithms: names, help, translation, the child process.

Each algorithm declares its parameters and turns them into the arguments of ONE ``acv-geo``
command (:meth:`AcvGeoAlgorithm.process`); the command runs in a separate Python process
(:mod:`..runner`), in a temporary folder that holds the layers handed to it and its outputs until
they are copied into the Processing outputs.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtGui import QIcon

from .. import layers, runner
from ..translation import tr

ICON = Path(__file__).resolve().parents[1] / "icon.svg"
CHOICES = json.loads((Path(__file__).resolve().parents[1] / "choices.json").read_text(encoding="utf-8"))
DOCS_URL = "https://github.com/acv-geo/acv-geo/blob/main/docs/qgis.md"


class AcvGeoAlgorithm(QgsProcessingAlgorithm):
    """Base class: naming, help, icon, and :meth:`core` to run the acv-geo command."""

    #: Stable lowercase algorithm id (without the ``acvgeo:`` prefix).
    NAME = ""
    #: Display name (English source text, translated by :meth:`tr`).
    DISPLAY = ""
    #: Short help (HTML allowed).
    HELP = ""
    #: The acv-geo command this algorithm runs (for the help text).
    COMMAND = ""
    GROUP = "ACV diagnostics"
    GROUP_ID = "acvdiagnostics"

    def tr(self, string: str) -> str:
        return tr(string)

    def createInstance(self):  # noqa: N802
        return type(self)()

    def name(self) -> str:
        return self.NAME

    def displayName(self) -> str:  # noqa: N802
        return self.tr(self.DISPLAY)

    def group(self) -> str:
        return self.tr(self.GROUP)

    def groupId(self) -> str:  # noqa: N802
        return self.GROUP_ID

    def shortHelpString(self) -> str:  # noqa: N802
        cmd = (
            self.tr("<p><i>Runs <code>acv-geo {}</code> in its own Python process.</i></p>").format(self.COMMAND)
            if self.COMMAND
            else ""
        )
        return self.tr(self.HELP) + cmd

    def helpUrl(self) -> str:  # noqa: N802
        return f"{DOCS_URL}#{self.NAME}"

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def process(self, parameters, context, feedback, tmp: Path) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        self.labels: dict[str, str] = {}
        with tempfile.TemporaryDirectory(prefix="acvgeo-") as tmp:
            return self.process(parameters, context, feedback, Path(tmp))

    def export(self, source, path: Path, context, feedback, label: str, *, require: bool = True) -> str:
        """Hand a layer to the core as a GeoPackage; the core's messages will name it ``label``."""
        if layers.has_geometry(source) and not source.sourceCrs().isValid():
            raise QgsProcessingException(
                self.tr(
                    "{}: the layer has no CRS, so acv-geo cannot tell where it lies. "
                    "In QGIS: set the layer's CRS (Layer Properties › Source › Assigned "
                    "CRS) or run Vector general › Assign projection, then run again."
                ).format(label)
            )
        out = layers.export_source(source, path, context, feedback, label, require=require)
        self.labels[out] = label
        return out

    def core(self, args: list[str], feedback, tmp: Path) -> runner.CoreRun:
        """Run ``acv-geo --json ARGS`` in the temporary folder; return what it reported."""
        return runner.run_core(args, feedback, cwd=str(tmp), labels=getattr(self, "labels", {}))
