"""``acvgeo:diagnose``: the whole diagnostic into a folder (core: acv_geo.diagnose)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputFolder,
    QgsProcessingOutputHtml,
    QgsProcessingOutputNumber,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
)

from . import cities as _cities
from .base import AcvGeoAlgorithm, _warn

_WARNING = "  warning: "  # prefix of a warning line in DiagnoseResult.summary()


class DiagnoseAlgorithm(AcvGeoAlgorithm):
    """Cities → every indicator, clusters, maps and report.html, written atomically into a folder."""

    CONFIG = "CONFIG"
    PERMUTATIONS = "PERMUTATIONS"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    OUTPUT_CITIES = "OUTPUT_CITIES"
    REPORT = "REPORT"
    N_CITIES = "N_CITIES"

    NAME = "diagnose"
    DISPLAY = "Full diagnostic (indicators, clusters, maps, report)"
    CORE = "acv_geo.diagnose"
    HELP = (
        "<p>Runs the whole acv-geo diagnostic and writes, into the output folder: <b>cities.gpkg</b> (layer "
        "<i>cities</i>: every city with its open-data status, every indicator and its cluster label; layer "
        "<i>epci</i>), <b>indicators.csv</b> and <b>.parquet</b>, <b>indicator_metadata.csv</b> (unit, source "
        "and date of every column), <b>clusters.json</b>, <b>maps/*.png</b> and <b>report.html</b> (national "
        "summary and one page per city, self-contained and printable).</p>"
        "<p>Without a <b>configuration</b> it runs on the embedded real data (risk zones and flood marks of "
        "Hérault, the Scie PPR, a DEM tile, radon, CatNat, open-data clusters). A TOML configuration names "
        "your own layers, rasters and tables (see examples/diagnose.toml). <b>Permutations</b> overrides the "
        "configuration's (99 for a quick look, 9,999 for publication).</p>"
        "<p>The folder is replaced atomically: a failed or cancelled run leaves the previous outputs intact.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(
            QgsProcessingParameterFile(
                self.CONFIG, self.tr("Configuration (TOML; empty: the embedded default)"),
                extension="toml", optional=True,
            )
        )
        _cities.add_city_parameters(self, zones=False, points_only=True)
        self.addParameter(
            QgsProcessingParameterNumber(
                self.PERMUTATIONS, self.tr("Permutations of the cluster tests (0: the configuration's)"),
                QgsProcessingParameterNumber.Integer, defaultValue=0, minValue=0,
            )
        )
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputVectorLayer(self.OUTPUT_CITIES, self.tr("Cities with every indicator")))
        self.addOutput(QgsProcessingOutputHtml(self.REPORT, self.tr("Diagnostic report")))
        self.addOutput(QgsProcessingOutputFolder(self.OUTPUT_FOLDER, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputNumber(self.N_CITIES, self.tr("Cities")))

    def process(self, parameters, context, feedback):
        from acv_geo import diagnose, load_config

        config_path = self.parameterAsFile(parameters, self.CONFIG, context) or None
        permutations = self.parameterAsInt(parameters, self.PERMUTATIONS, context)
        overrides = {"clusters": {"permutations": permutations}} if permutations > 0 else None
        cfg = load_config(config_path, overrides=overrides)
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        cities = None
        if self.parameterAsSource(parameters, _cities.CITIES, context) is not None:
            cities = _cities.read_cities(self, parameters, context, feedback, progress=(0.0, 5.0))
        self.check_canceled(feedback)
        feedback.setProgress(5)
        try:  # no progress callback in the core: 5 % before, 100 % after
            result = diagnose(cities, config=cfg, out_dir=folder, progress=False, quiet=True)
        except NotADirectoryError as exc:  # an OSError, which the base does not translate
            raise QgsProcessingException(str(exc)) from exc
        feedback.setProgress(100)
        for line in result.summary().splitlines():
            if line.startswith(_WARNING):
                _warn(feedback, line[len(_WARNING):])
            else:
                feedback.pushInfo(line)
        layer = f"{result.out_dir / 'cities.gpkg'}|layername=cities"
        # An output that is not a destination parameter is only loaded when asked for. It keeps QGIS's
        # default style: the cluster labels are in cluster_<variable>_label, not in the ``label`` field
        # that styles/clusters.qml categorises on.
        context.addLayerToLoadOnCompletion(
            layer, QgsProcessingContext.LayerDetails(self.tr("ACV diagnostic (cities)"), context.project(),
                                                     self.OUTPUT_CITIES),
        )
        return {
            self.OUTPUT_FOLDER: str(result.out_dir),
            self.OUTPUT_CITIES: layer,
            self.REPORT: str(result.out_dir / "report.html"),
            self.N_CITIES: len(result.cities),
        }
