"""``acvgeo:zonalindicators``: raster statistics in each city zone (core: acv_geo.zonal_indicators)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBand,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from . import cities as _cities
from .base import AcvGeoAlgorithm


def raster_path(alg, layer, what: str = "raster layer") -> str:
    """The file (GDAL data source) behind a raster layer, for the core."""
    if layer is None:
        raise QgsProcessingException(f"{what}: no raster layer given")
    provider = layer.providerType()
    if provider != "gdal":
        raise QgsProcessingException(
            f"{what} {layer.name()!r} is served by the {provider!r} provider; acv-geo reads raster files "
            "(GeoTIFF, VRT…): save it to a file first (Raster > Conversion > Translate)"
        )
    return layer.source()


def _numbers(text: str, what: str) -> list[float]:
    out = []
    for part in (text or "").replace(";", ",").split(","):
        if part.strip():
            try:
                out.append(float(part))
            except ValueError:
                raise QgsProcessingException(f"{what}: {part.strip()!r} is not a number (give e.g. '5, 10')") from None
    return out


class ZonalIndicatorsAlgorithm(AcvGeoAlgorithm):
    """City zones × a raster layer → zone polygons with coverage-weighted statistics."""

    INPUT_RASTER = "INPUT_RASTER"
    BAND = "BAND"
    STATS = "STATS"
    THRESHOLDS = "THRESHOLDS"
    CATEGORICAL = "CATEGORICAL"
    PREFIX = "PREFIX"
    OUTPUT = "OUTPUT"

    NAME = "zonalindicators"
    DISPLAY = "Zonal indicators (raster in each city zone)"
    CORE = "acv_geo.zonal_indicators (zones from acv_geo.zones.make_zones)"
    HELP = (
        "<p>Summarises one band of a raster (elevation, land cover, hazard grid…) inside each city's zone "
        "(commune polygon, EPCI polygon or buffer). Pixels count by the <b>exact fraction</b> of them the "
        "zone covers (exactextract); nodata and NaN pixels are masked. The output has one zone polygon "
        "per city, keyed by <b>insee_com</b>, in the same order as the cities.</p>"
        "<p><b>Statistics</b>: comma-separated among count, sum, mean, min, max, std, median, majority, "
        "minority, variety, coverage_pct and percentiles pNN (p10, p90). <b>Thresholds</b> add "
        "<i>name_below_T_pct</i>, the share of the zone's valid area below T (e.g. 5 m for submersion). "
        "<b>Categorical</b> adds the share of each class value. <i>count</i> is a pixel count weighted "
        "by coverage; an empty zone or a zone off the raster gives count 0, NULL statistics and a reason "
        "in <i>name_reason</i>.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        _cities.add_city_parameters(self)
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT_RASTER, self.tr("Raster layer")))
        self.addParameter(
            QgsProcessingParameterBand(
                self.BAND, self.tr("Band"), defaultValue=1, parentLayerParameterName=self.INPUT_RASTER, optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.STATS, self.tr("Statistics (comma-separated)"), defaultValue="count,mean,min,max"
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.THRESHOLDS, self.tr("Thresholds: share of the zone below each value (comma-separated)"),
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(self.CATEGORICAL, self.tr("Categorical raster (share of each class)"),
                                          defaultValue=False)
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.PREFIX, self.tr("Column prefix (empty: the raster file name)"), optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Zonal indicators"), QgsProcessing.TypeVectorPolygon)
        )

    def process(self, parameters, context, feedback):
        from acv_geo.zonal import zonal_indicators
        from acv_geo.zones import make_zones

        layer = self.parameterAsRasterLayer(parameters, self.INPUT_RASTER, context)
        raster = raster_path(self, layer)
        band = self.parameterAsInt(parameters, self.BAND, context) or 1
        stats = self.parameterAsString(parameters, self.STATS, context) or None
        thresholds = _numbers(self.parameterAsString(parameters, self.THRESHOLDS, context), "thresholds")
        categorical = self.parameterAsBoolean(parameters, self.CATEGORICAL, context)
        prefix = (self.parameterAsString(parameters, self.PREFIX, context) or "").strip() or None

        cities = _cities.read_cities(self, parameters, context, feedback, progress=(0.0, 10.0))
        self.check_canceled(feedback)
        zones = make_zones(cities, **_cities.zone_options(self, parameters, context))
        feedback.setProgress(20)
        self.check_canceled(feedback)
        result = zonal_indicators(
            zones, raster, stats=stats, categorical=categorical, name=prefix,
            threshold=thresholds or None, band=band,
        )
        feedback.setProgress(80)
        self.check_canceled(feedback)
        out = _cities.zone_columns(zones, cities).join(result)
        dest = self.write_sink(parameters, context, self.OUTPUT, out, feedback, progress=(80.0, 100.0))
        return {self.OUTPUT: dest}
