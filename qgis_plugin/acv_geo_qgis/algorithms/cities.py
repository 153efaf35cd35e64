"""``acvgeo:loadcities``: the ACV cities with their open-data status (``acv-geo cities``)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
)

from .. import layers
from .base import AcvGeoAlgorithm

_TABLES = "ACV lists (*.csv *.xlsx *.xls *.ods *.json *.geojson *.js *.gpkg *.shp *.fgb *.parquet);;All files (*.*)"
_OBS = "ODATER exports (*.csv *.xlsx);;All files (*.*)"


class LoadCitiesAlgorithm(AcvGeoAlgorithm):
    """Read the ACV list (embedded, or a CDC/ANCT export) → point layer keyed by insee_com."""

    SOURCE = "SOURCE"
    OBSERVATORY = "OBSERVATORY"
    OPENDATA = "OPENDATA"
    OUTPUT = "OUTPUT"
    N_CITIES = "N_CITIES"
    N_OPENDATA = "N_OPENDATA"
    N_REPAIRS = "N_REPAIRS"

    NAME = "loadcities"
    DISPLAY = "Load ACV cities (with open-data status)"
    COMMAND = "cities"
    HELP = (
        "<p>Loads the towns of the Action Cœur de Ville programme as a point layer (EPSG:4326, true positions, "
        "overseas towns included), one feature per town keyed by <b>insee_com</b>.</p>"
        "<p><b>ACV list</b>: empty for the embedded ANCT list (244 towns), or a Caisse des Dépôts / ANCT export "
        "(CSV, Excel, JSON/GeoJSON, GeoPackage…). Broken exports are repaired and every repair is listed in the "
        "log; what cannot be repaired stops with a message naming the row and column.</p>"
        "<p><b>Open-data status</b> (opendata, opendata_com, opendata_epci, opendata_level): kept from the CDC "
        "export when it has it; otherwise derived from the OpenDataFrance observatory.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(
            QgsProcessingParameterFile(
                self.SOURCE,
                self.tr("ACV list (CDC or ANCT export; empty: embedded ANCT list)"),
                optional=True,
                fileFilter=_TABLES,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.OBSERVATORY,
                self.tr("OpenDataFrance observatory export (empty: embedded ODATER 2022-12-31)"),
                optional=True,
                fileFilter=_OBS,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.OPENDATA,
                self.tr("Derive the open-data status from the observatory when the list has none"),
                defaultValue=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("ACV cities"), QgsProcessing.TypeVectorPoint)
        )
        self.addOutput(QgsProcessingOutputNumber(self.N_CITIES, self.tr("Number of cities")))
        self.addOutput(QgsProcessingOutputNumber(self.N_OPENDATA, self.tr("Cities publishing open data")))
        self.addOutput(QgsProcessingOutputNumber(self.N_REPAIRS, self.tr("Repairs made while reading")))

    def process(self, parameters, context, feedback, tmp):
        args = ["cities", "--out", str(tmp / "cities.gpkg")]
        source = self.parameterAsFile(parameters, self.SOURCE, context)
        observatory = self.parameterAsFile(parameters, self.OBSERVATORY, context)
        if source:
            args += ["--source", source]
        if not self.parameterAsBoolean(parameters, self.OPENDATA, context):
            args.append("--no-opendata")
        elif observatory:
            args += ["--observatory", observatory]
        run = self.core(args, feedback, tmp)
        dest = layers.copy_to_sink(self, parameters, self.OUTPUT, context, tmp / "cities.gpkg", "cities", feedback)
        layers.style_on_load(context, dest, layers.style_opendata)
        return {
            self.OUTPUT: dest,
            self.N_CITIES: run.result.get("n_cities"),
            self.N_OPENDATA: run.result.get("n_opendata"),
            self.N_REPAIRS: run.result.get("n_repairs"),
        }
