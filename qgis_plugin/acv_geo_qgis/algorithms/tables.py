"""``acvgeo:tables``: per-commune tables joined onto the cities (``acv-geo tables``)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from .. import layers
from . import params
from .base import AcvGeoAlgorithm


class TablesAlgorithm(AcvGeoAlgorithm):
    """Cities × per-commune tables (radon, CatNat, any CSV keyed by INSEE code) → city points."""

    RADON = "RADON"
    SEISMIC = "SEISMIC"
    KNOWN_RISKS = "KNOWN_RISKS"
    CATNAT = "CATNAT"
    SINCE = "SINCE"
    ALL_DECISIONS = "ALL_DECISIONS"
    TABLE = "TABLE"
    INSEE_COLUMN = "INSEE_COLUMN"
    PREFIX = "PREFIX"
    OUTPUT = "OUTPUT"

    NAME = "tables"
    DISPLAY = "Per-commune tables (radon, CatNat, any CSV)"
    COMMAND = "tables"
    HELP = (
        "<p>Joins per-commune tables onto the cities by INSEE code: the IRSN <b>radon</b> class (embedded), the "
        "<b>CatNat</b> natural-disaster decrees (embedded extract: counts per peril, last year), and any "
        "<b>table</b> (CSV, Excel, Parquet) with an INSEE code column. A city a table does not list gets no "
        "value (NULL) and a reason, never 0.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterBoolean(self.RADON, self.tr("Radon class (IRSN)"), defaultValue=True))
        self.addParameter(QgsProcessingParameterBoolean(self.CATNAT, self.tr("CatNat decrees"), defaultValue=True))
        self.addParameter(
            QgsProcessingParameterBoolean(self.SEISMIC, self.tr("Seismic zone (décret 2010-1255)"), defaultValue=True)
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.KNOWN_RISKS, self.tr("Natural risks known per commune (GASPAR DDRM)"), defaultValue=True
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.SINCE,
                self.tr("CatNat: only events from this year on (0: all)"),
                QgsProcessingParameterNumber.Integer,
                defaultValue=0,
                minValue=0,
                maxValue=2100,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.ALL_DECISIONS, self.tr("CatNat: count refused decrees too"), defaultValue=False
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.TABLE,
                self.tr("Other table with an INSEE code column (optional)"),
                optional=True,
                fileFilter="Tables (*.csv *.xlsx *.xls *.parquet);;All files (*.*)",
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.INSEE_COLUMN, self.tr("INSEE code column of that table (empty: detected)"), optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.PREFIX, self.tr("Prefix of that table's columns (optional)"), optional=True
            )
        )
        params.add_cities(self)
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT, self.tr("Cities with the tables"), QgsProcessing.TypeVectorPoint
            )
        )

    def process(self, parameters, context, feedback, tmp):
        args = ["tables", "--geometry", "--out", str(tmp / "out.gpkg")]
        if self.parameterAsBoolean(parameters, self.RADON, context):
            args.append("--radon")
        if self.parameterAsBoolean(parameters, self.CATNAT, context):
            args.append("--catnat")
            since = self.parameterAsInt(parameters, self.SINCE, context)
            if since:
                args += ["--since", str(since)]
            if self.parameterAsBoolean(parameters, self.ALL_DECISIONS, context):
                args.append("--all-decisions")
        for key, flag in ((self.SEISMIC, "--seismic"), (self.KNOWN_RISKS, "--known-risks")):
            if self.parameterAsBoolean(parameters, key, context):
                args.append(flag)
        table = self.parameterAsFile(parameters, self.TABLE, context)
        if table:
            args += ["--table", table]
            for key, opt in ((self.INSEE_COLUMN, "--insee-column"), (self.PREFIX, "--prefix")):
                value = (self.parameterAsString(parameters, key, context) or "").strip()
                if value:
                    args += [opt, value]
        if len(args) == 4:
            raise QgsProcessingException(
                self.tr("Nothing to join: tick radon, CatNat, the seismic zone or the known risks, or give a table.")
            )
        args += params.cities_args(self, parameters, context, feedback, tmp)
        self.core(args, feedback, tmp)
        dest = layers.copy_to_sink(self, parameters, self.OUTPUT, context, tmp / "out.gpkg", "tables", feedback)
        layers.style_on_load(
            context,
            dest,
            lambda layer: (
                layers.style_classes("seismic_zone")(layer)
                or layers.style_classes("radon_class")(layer)
                or layers.style_numeric(("_count",))(layer)
            ),
        )
        return {self.OUTPUT: dest}
