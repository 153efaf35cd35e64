"""The plugin object QGIS loads: the provider, the *Install acv-geo* menu action, the setup message."""

from __future__ import annotations

from html import escape

from qgis.core import Qgis, QgsApplication, QgsMessageLog

from . import environment
from .translation import tr

INSTALL_ID = "acvgeo:installenv"


class AcvGeoPlugin:
    """Registers the ``acvgeo`` provider (desktop: in initGui; qgis_process: in initProcessing)."""

    def __init__(self, iface=None) -> None:
        self.iface = iface
        self.provider = None
        self.action = None

    def initProcessing(self) -> None:  # noqa: N802 - QGIS API name
        """Register the provider once."""
        if self.provider is not None:
            return
        from .provider import AcvGeoProvider

        provider = AcvGeoProvider()
        registry = QgsApplication.processingRegistry()
        if registry.providerById(provider.id()) is not None:
            return  # another copy is registered; a second addProvider with the same id would delete ours
        if registry.addProvider(provider):
            self.provider = provider

    def initGui(self) -> None:  # noqa: N802 - QGIS API name
        self.initProcessing()
        if self.iface is None:
            return
        from qgis.PyQt.QtGui import QIcon
        from qgis.PyQt.QtWidgets import QAction

        from .provider import ICON

        self.action = QAction(QIcon(str(ICON)), tr("Install acv-geo"), self.iface.mainWindow())
        self.action.triggered.connect(self.open_installer)
        self.iface.addPluginToMenu("ACV Geo", self.action)
        self.notify()

    def open_installer(self) -> None:
        """Open the *Install acv-geo* dialog."""
        import processing

        processing.execAlgorithmDialog(INSTALL_ID, {})

    def notify(self) -> None:
        """Say once, in the message bar and the log, when the environment is missing or outdated."""
        st = environment.status()
        if st.ready and not st.upgrade:
            return
        QgsMessageLog.logMessage(st.message, "ACV Geo", Qgis.Warning)
        if self.iface is None:
            return
        from qgis.PyQt.QtWidgets import QPushButton

        bar = self.iface.messageBar()
        widget = bar.createMessage("ACV Geo", escape(st.message))
        button = QPushButton(tr("Install acv-geo"))
        button.clicked.connect(self.open_installer)
        widget.layout().addWidget(button)
        bar.pushWidget(widget, Qgis.Warning)

    def unload(self) -> None:
        if self.action is not None and self.iface is not None:
            self.iface.removePluginMenu("ACV Geo", self.action)
            self.action = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
