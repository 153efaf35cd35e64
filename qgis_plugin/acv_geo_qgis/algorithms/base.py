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

from qgis.core import QgsProcessingAlgorithm
from qgis.PyQt.QtGui import QIcon

from .. import runner
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
        cmd = self.tr("<p><i>Runs <code>acv-geo {}</code> in its own Python process.</i></p>").format(
            self.COMMAND) if self.COMMAND else ""
        return self.tr(self.HELP) + cmd

    def helpUrl(self) -> str:  # noqa: N802
        return f"{DOCS_URL}#{self.NAME}"

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def process(self, parameters, context, feedback, tmp: Path) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        with tempfile.TemporaryDirectory(prefix="acvgeo-") as tmp:
            return self.process(parameters, context, feedback, Path(tmp))

    def core(self, args: list[str], feedback, tmp: Path) -> runner.CoreRun:
        """Run ``acv-geo --json ARGS`` in the temporary folder; return what it reported."""
        return runner.run_core(args, feedback, cwd=str(tmp))
