"""The ACV Geo Processing algorithms: each a thin adapter that runs one ``acv-geo`` command."""

from __future__ import annotations

from .cities import LoadCitiesAlgorithm
from .clusters import ClustersAlgorithm
from .diagnose import DiagnoseAlgorithm
from .fetch import FetchAlgorithm
from .globaltests import GlobalTestsAlgorithm
from .install import InstallEnvironmentAlgorithm
from .overlay import OverlayIndicatorsAlgorithm
from .profile import ProfileAlgorithm
from .tables import TablesAlgorithm
from .weights import WeightsAlgorithm
from .zonal import ZonalIndicatorsAlgorithm

#: Algorithm classes offered by the provider, in menu order.
ALGORITHMS = (
    InstallEnvironmentAlgorithm,
    LoadCitiesAlgorithm,
    OverlayIndicatorsAlgorithm,
    ZonalIndicatorsAlgorithm,
    TablesAlgorithm,
    ProfileAlgorithm,
    ClustersAlgorithm,
    GlobalTestsAlgorithm,
    WeightsAlgorithm,
    DiagnoseAlgorithm,
    FetchAlgorithm,
)

__all__ = ["ALGORITHMS"]
