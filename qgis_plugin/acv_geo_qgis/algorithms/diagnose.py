"""``acvgeo:diagnose``: the whole diagnostic into a folder (``acv-geo diagnose``)."""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingOutputHtml,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
)

from .. import layers
from ..translation import user_language
from . import params
from .base import AcvGeoAlgorithm


class DiagnoseAlgorithm(AcvGeoAlgorithm):
    """Cities → every indicator, clusters, maps and report.html, written atomically into a folder."""

    CONFIG = "CONFIG"
    PERMUTATIONS = "PERMUTATIONS"
    SERVICES = "SERVICES"
    SERVICES_OFFLINE = "SERVICES_OFFLINE"
    SERVICE_NAMES = ("nature", "georisques")  # acv-geo diagnose --services
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    OUTPUT_CITIES = "OUTPUT_CITIES"
    REPORT = "REPORT"
    N_CITIES = "N_CITIES"
    WARNINGS = "WARNINGS"

    NAME = "diagnose"
    DISPLAY = "Full diagnostic (indicators, clusters, maps, report)"
    COMMAND = "diagnose"
    HELP = (
        "<p>Runs the whole acv-geo diagnostic and writes, into the output folder: <b>cities.gpkg</b> (every city "
        "with its open-data status, every indicator and its cluster label; layer <i>epci</i>), "
        "<b>indicators.csv</b> and <b>.parquet</b>, <b>indicators.metadata.csv</b>, <b>clusters.json</b>, "
        "<b>maps/*.png</b> and <b>report.html</b>.</p><p>Without a <b>configuration</b> it runs on the embedded "
        "real data. <b>Permutations</b> overrides the configuration's (99 for a quick look, 9,999 for "
        "publication).</p><p><b>Web services</b> (online, answers kept in the cache, so a second run works "
        "offline): the protected and inventoried nature of every town (ZNIEFF, Natura 2000, parks, reserves; IGN "
        "API Carto) and its risks per commune (clay, prevention plans, flood atlases, CatNat; Géorisques API).</p>"
        "<p>The folder is replaced atomically: a failed or cancelled run leaves the previous outputs intact.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(
            QgsProcessingParameterFile(
                self.CONFIG,
                self.tr("Configuration (TOML; empty: the embedded default)"),
                extension="toml",
                optional=True,
            )
        )
        params.add_cities(self)
        self.addParameter(
            QgsProcessingParameterNumber(
                self.PERMUTATIONS,
                self.tr("Permutations of the cluster tests (0: the configuration's)"),
                QgsProcessingParameterNumber.Integer,
                defaultValue=0,
                minValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.SERVICES,
                self.tr("Web services (online)"),
                options=[self.tr("Protected nature (IGN API Carto)"), self.tr("Risks per commune (Géorisques API)")],
                allowMultiple=True,
                optional=True,
                defaultValue=[],
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.SERVICES_OFFLINE,
                self.tr("Web services: use only the answers already in the cache"),
                defaultValue=False,
            )
        )
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputVectorLayer(self.OUTPUT_CITIES, self.tr("Cities with every indicator")))
        self.addOutput(QgsProcessingOutputHtml(self.REPORT, self.tr("Diagnostic report")))
        self.addOutput(QgsProcessingOutputNumber(self.N_CITIES, self.tr("Cities")))
        self.addOutput(QgsProcessingOutputString(self.WARNINGS, self.tr("Warnings of the run (one per line)")))

    def process(self, parameters, context, feedback, tmp):
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        args = ["diagnose", "--out", folder, "--lang", "fr" if user_language() == "fr" else "en"]
        config = self.parameterAsFile(parameters, self.CONFIG, context)
        if config:
            args += ["--config", config]
        permutations = self.parameterAsInt(parameters, self.PERMUTATIONS, context)
        if permutations > 0:
            args += ["--permutations", str(permutations)]
        services = [self.SERVICE_NAMES[i] for i in self.parameterAsEnums(parameters, self.SERVICES, context)]
        if services:
            args += ["--services", ",".join(services)]
            if self.parameterAsBoolean(parameters, self.SERVICES_OFFLINE, context):
                args += ["--services-offline"]
        run = self.core(args + params.cities_args(self, parameters, context, feedback, tmp), feedback, tmp)
        out = Path(run.result.get("out_dir") or folder)
        if not out.is_absolute():
            out = tmp / out
        layer = f"{out / 'cities.gpkg'}|layername=cities"
        details = QgsProcessingContext.LayerDetails(
            self.tr("ACV diagnostic (cities)"), context.project(), self.OUTPUT_CITIES
        )
        context.addLayerToLoadOnCompletion(layer, details)
        layers.style_on_load(context, layer, layers.style_opendata)
        # the run's warnings (capped neighbours, national scope…) came as `warning` events, also shown in the log
        return {
            self.OUTPUT_FOLDER: str(out),
            self.OUTPUT_CITIES: layer,
            self.REPORT: str(out / "report.html"),
            self.N_CITIES: run.result.get("n_cities"),
            self.WARNINGS: "\n".join(run.warnings),
        }
