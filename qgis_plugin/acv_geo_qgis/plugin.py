"""The plugin object QGIS loads: registers the ACV Geo Processing provider."""

from __future__ import annotations

from qgis.core import QgsApplication

from . import deps


class AcvGeoPlugin:
    """Registers the ``acvgeo`` provider (desktop: in initGui; qgis_process: in initProcessing)."""

    def __init__(self, iface=None) -> None:
        self.iface = iface
        self.provider = None
        self.report: deps.DependencyReport | None = None

    def initProcessing(self) -> None:  # noqa: N802 - QGIS API name
        """Check dependencies and register the provider (once)."""
        if self.provider is not None:
            return
        self.report = deps.check()
        deps.notify(self.report, self.iface)
        if not self.report.usable:
            return
        from .provider import AcvGeoProvider

        provider = AcvGeoProvider(unavailable=self.report.unavailable_algorithms)
        registry = QgsApplication.processingRegistry()
        if registry.providerById(provider.id()) is not None:
            # Another copy is registered already; a second addProvider with the same id would delete ours.
            return
        if registry.addProvider(provider):
            self.provider = provider

    def initGui(self) -> None:  # noqa: N802 - QGIS API name
        self.initProcessing()

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
