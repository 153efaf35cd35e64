"""The ACV Geo Processing algorithms (each a thin adapter over one acv-geo core function)."""

from __future__ import annotations

from .clusters import ClustersAlgorithm
from .diagnose import DiagnoseAlgorithm
from .load_cities import LoadCitiesAlgorithm
from .overlay import OverlayIndicatorsAlgorithm
from .zonal import ZonalIndicatorsAlgorithm

#: Algorithm classes offered by the provider, in menu order.
ALGORITHMS = (
    LoadCitiesAlgorithm,
    OverlayIndicatorsAlgorithm,
    ZonalIndicatorsAlgorithm,
    ClustersAlgorithm,
    DiagnoseAlgorithm,
)

__all__ = [
    "ALGORITHMS",
    "ClustersAlgorithm",
    "DiagnoseAlgorithm",
    "LoadCitiesAlgorithm",
    "OverlayIndicatorsAlgorithm",
    "ZonalIndicatorsAlgorithm",
]
