"""The ``acvgeo`` Processing provider."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

ICON = Path(__file__).resolve().parent / "icon.svg"


def algorithm_classes() -> list[type]:
    """Every algorithm class of the provider (imported lazily: they need the geo stack at run time only)."""
    from .algorithms import ALGORITHMS

    return list(ALGORITHMS)


class AcvGeoProvider(QgsProcessingProvider):
    """Provider "ACV Geo" (id ``acvgeo``).

    Parameters
    ----------
    unavailable : dict, optional
        Algorithm name -> packages it lacks; those algorithms are not offered.
    """

    def __init__(self, unavailable: dict[str, list[str]] | None = None) -> None:
        super().__init__()
        self.unavailable = dict(unavailable or {})

    def id(self) -> str:
        return "acvgeo"

    def name(self) -> str:
        return "ACV Geo"

    def longName(self) -> str:  # noqa: N802
        try:
            import acv_geo

            return f"ACV Geo (acv-geo {acv_geo.__version__})"
        except Exception:  # noqa: BLE001
            return "ACV Geo"

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def svgIconPath(self) -> str:  # noqa: N802
        return str(ICON)

    def loadAlgorithms(self) -> None:  # noqa: N802
        # Algorithms whose optional packages are missing are left out (the plugin said so once).
        for cls in algorithm_classes():
            if cls.NAME not in self.unavailable:
                self.addAlgorithm(cls())
