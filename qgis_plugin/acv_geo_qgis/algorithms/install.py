"""``acvgeo:installenv``: create or upgrade the Python environment that runs acv-geo."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterString,
)

from .. import environment
from .base import AcvGeoAlgorithm


class InstallEnvironmentAlgorithm(AcvGeoAlgorithm):
    """Creates ``<QGIS profile>/acv_geo/env`` from the bundled wheel and the package index."""

    INDEX_URL = "INDEX_URL"
    PYTHON = "PYTHON"

    NAME = "installenv"
    DISPLAY = "Install acv-geo"
    GROUP = "Setup"
    GROUP_ID = "setup"
    HELP = (
        "<p>Creates the Python environment in which ACV Geo runs its analyses, in your QGIS profile folder "
        "(acv_geo/env), from the acv-geo package carried by the plugin and its dependencies from the Python "
        "package index (about 300 MB, a few minutes). QGIS's own Python is not modified, and the analyses run "
        "outside QGIS's process, so they cannot crash QGIS.</p><p>Run it again to repair or upgrade the "
        "environment. Without network access, the log gives the exact commands to run by hand.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        index = QgsProcessingParameterString(
            self.INDEX_URL, self.tr("Package index URL (empty: pip's default)"), optional=True
        )
        index.setFlags(index.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(index)
        self.addOutput(QgsProcessingOutputString(self.PYTHON, self.tr("Python of the environment")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        index_url = (self.parameterAsString(parameters, self.INDEX_URL, context) or "").strip() or None
        try:
            python = environment.install(
                feedback.pushConsoleInfo, feedback.setProgress, feedback.isCanceled, index_url=index_url
            )
        except environment.SetupError as exc:
            raise QgsProcessingException(str(exc)) from exc
        marker = environment.read_marker()
        feedback.pushInfo(
            self.tr("acv-geo {} is ready in {} ({} s)").format(
                marker.get("version", "?"), python, marker.get("seconds", "?")
            )
        )
        return {self.PYTHON: str(python)}
