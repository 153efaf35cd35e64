"""``acvgeo:zonalindicators``: raster statistics in each zone (``acv-geo zonal``)."""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBand,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from .. import layers
from . import params
from .base import CHOICES, AcvGeoAlgorithm

DEFAULT_STATS = ("count", "mean", "min", "max")


def _numbers(text: str | None) -> list[str]:
    """Values of a ';'-separated list (',' accepted too), stripped; the core checks them."""
    return [v.strip() for v in (text or "").replace(",", ";").split(";") if v.strip()]


class ZonalIndicatorsAlgorithm(AcvGeoAlgorithm):
    """Zones × a raster → zone polygons with statistics (exact partial-pixel coverage)."""

    RASTER = "INPUT_RASTER"
    BAND = "BAND"
    STATS = "STATS"
    CATEGORICAL = "CATEGORICAL"
    PERCENTILES = "PERCENTILES"
    THRESHOLDS = "THRESHOLDS"
    UNIT = "UNIT"
    PREFIX = "PREFIX"
    OUTPUT = "OUTPUT"

    NAME = "zonalindicators"
    DISPLAY = "Zonal indicators (raster statistics in each zone)"
    COMMAND = "zonal"
    HELP = (
        "<p>Summarises a raster (elevation, land cover, hazard grid) inside each zone with exact partial-pixel "
        "coverage (exactextract); nodata is masked. <b>Statistics</b>: count, sum, mean, min, max, std, median, "
        "majority, minority, variety, coverage_pct. <b>Categorical</b> adds the share of each class; "
        "<b>thresholds</b> add the share of the zone below each value (e.g. 5 m on a DEM).</p>"
        "<p>A zone outside the raster gets no value (NULL) and a reason, never 0.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(self.RASTER, self.tr("Raster")))
        self.addParameter(QgsProcessingParameterBand(self.BAND, self.tr("Band"), 1, self.RASTER, optional=True))
        stats = CHOICES["zonal_stats"]
        self.addParameter(
            QgsProcessingParameterEnum(
                self.STATS,
                self.tr("Statistics"),
                options=stats,
                allowMultiple=True,
                defaultValue=[stats.index(s) for s in DEFAULT_STATS],
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.PERCENTILES,
                self.tr("Percentiles (numbers from 0 to 100 separated by ';', e.g. 10;90)"),
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.CATEGORICAL, self.tr("Categorical raster (share of each class)"), defaultValue=False
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.THRESHOLDS,
                self.tr("Share of the zone below these values (numbers separated by ';')"),
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(self.UNIT, self.tr("Unit of the values (e.g. m)"), optional=True)
        )
        self.addParameter(
            QgsProcessingParameterString(self.PREFIX, self.tr("Column prefix (empty: the raster name)"), optional=True)
        )
        params.add_cities(self)
        params.add_zones(self)
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Zonal indicators"), QgsProcessing.TypeVectorPolygon)
        )

    def process(self, parameters, context, feedback, tmp):
        raster = self.parameterAsRasterLayer(parameters, self.RASTER, context)
        if raster is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.RASTER))
        path = raster.source().split("|")[0]
        if raster.providerType() != "gdal" or not Path(path).exists():
            raise QgsProcessingException(
                self.tr("The raster must be a file on disk (GeoTIFF…); save this layer to a file first.")
            )
        stats = [CHOICES["zonal_stats"][i] for i in self.parameterAsEnums(parameters, self.STATS, context)]
        stats += [f"p{v.strip()}" for v in _numbers(self.parameterAsString(parameters, self.PERCENTILES, context))]
        args = [
            "zonal",
            "--raster",
            path,
            "--band",
            str(self.parameterAsInt(parameters, self.BAND, context) or 1),
            "--name",
            (self.parameterAsString(parameters, self.PREFIX, context) or "").strip() or raster.name(),
            "--geometry",
            "--out",
            str(tmp / "out.gpkg"),
        ]
        if stats:
            args += ["--stats", ",".join(stats)]
        if self.parameterAsBoolean(parameters, self.CATEGORICAL, context):
            args.append("--categorical")
        for value in _numbers(self.parameterAsString(parameters, self.THRESHOLDS, context)):
            args += ["--threshold", value]
        unit = (self.parameterAsString(parameters, self.UNIT, context) or "").strip()
        if unit:
            args += ["--unit", unit]
        zone_args, _key = params.zones_args(self, parameters, context, feedback, tmp)
        self.core(args + zone_args, feedback, tmp)
        dest = layers.copy_to_sink(self, parameters, self.OUTPUT, context, tmp / "out.gpkg", "zonal", feedback)
        layers.style_on_load(context, dest, layers.style_numeric(("_mean", "_majority", "_pct", "_max")))
        return {self.OUTPUT: dest}
