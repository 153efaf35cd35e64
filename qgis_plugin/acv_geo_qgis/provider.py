"""The ``acvgeo`` Processing provider."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .translation import tr

ICON = Path(__file__).resolve().parent / "icon.svg"


class AcvGeoProvider(QgsProcessingProvider):
    """Provider "ACV Geo" (id ``acvgeo``): every algorithm, including *Install acv-geo*."""

    def id(self) -> str:
        return "acvgeo"

    def name(self) -> str:
        return "ACV Geo"

    def longName(self) -> str:  # noqa: N802
        return tr("ACV Geo (analyses run by acv-geo in its own Python process)")

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def svgIconPath(self) -> str:  # noqa: N802
        return str(ICON)

    def loadAlgorithms(self) -> None:  # noqa: N802
        from .algorithms import ALGORITHMS

        for cls in ALGORITHMS:
            self.addAlgorithm(cls())
