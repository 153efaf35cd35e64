"""``acvgeo:overlayindicators``: a vector layer measured in each zone (``acv-geo indicators``)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterString,
)

from .. import layers
from ..translation import noop
from . import params
from .base import CHOICES, AcvGeoAlgorithm

_NO_PRESET = noop("(none)")


class OverlayIndicatorsAlgorithm(AcvGeoAlgorithm):
    """Zones × a vector layer → zone polygons with area/share/length/count/distance indicators."""

    INPUT = "INPUT"
    CATEGORY = "CATEGORY"
    PRESET = "PRESET"
    PREFIX = "PREFIX"
    DISTANCES = "DISTANCES"
    COVERAGE = "COVERAGE"
    OUTPUT = "OUTPUT"

    NAME = "overlayindicators"
    DISPLAY = "Overlay indicators (vector layer in each zone)"
    COMMAND = "indicators"
    HELP = (
        "<p>Measures a vector layer (risk zones, protected areas, flood marks…) in each zone — the commune or "
        "EPCI of each city, a buffer around it, each polygon of your own layer, or every EPCI — in the "
        "territory's projected CRS (Lambert-93 in mainland France, the local CRS overseas): area and share of "
        "the zone (<i>_area_m2</i>, <i>_pct</i>), length (<i>_length_m</i>), count (<i>_count</i>) and distance "
        "to the nearest feature (<i>_dist_m</i>).</p><p>A <b>category field</b> or a <b>preset</b> adds the same "
        "measures per value. Only the selected features are used when 'Selected features only' is ticked. "
        "<i>_reason</i> says why a value is missing.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                self.INPUT, self.tr("Layer to measure"), [QgsProcessing.TypeVectorAnyGeometry]
            )
        )
        self.addParameter(
            QgsProcessingParameterField(
                self.CATEGORY, self.tr("Category field (optional)"), parentLayerParameterName=self.INPUT, optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.PRESET,
                self.tr("Layer preset (category field, labels, source)"),
                options=[self.tr(_NO_PRESET), *CHOICES["presets"]],
                defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.PREFIX, self.tr("Column prefix (empty: preset name, else the layer name)"), optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.DISTANCES, self.tr("Distances to the nearest feature"), defaultValue=True
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.COVERAGE,
                self.tr(
                    "Coverage of the layer: department codes (e.g. 34,30) or national; empty: the "
                    "departments its features fall in. Outside: no value, never 0"
                ),
                optional=True,
            )
        )
        params.add_cities(self)
        params.add_zones(self)
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT, self.tr("Overlay indicators"), QgsProcessing.TypeVectorPolygon
            )
        )

    def process(self, parameters, context, feedback, tmp):
        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        layer = self.parameterAsVectorLayer(parameters, self.INPUT, context)
        label = layer.name() if layer is not None else "input"
        path = self.export(
            source,
            tmp / f"{layers.file_stem(label)}.gpkg",
            context,
            feedback,
            self.tr("layer {!r}").format(label),
            require=False,
        )
        preset_index = self.parameterAsEnum(parameters, self.PRESET, context)
        preset = CHOICES["presets"][preset_index - 1] if preset_index > 0 else None
        category = self.parameterAsString(parameters, self.CATEGORY, context)
        prefix = (self.parameterAsString(parameters, self.PREFIX, context) or "").strip()
        args = ["indicators", "--layer", path, "--geometry", "--out", str(tmp / "out.gpkg")]
        args += ["--preset", preset] if preset else ["--name", prefix or label, "--source", f"QGIS layer {label}"]
        if preset and prefix:
            args += ["--name", prefix]
        if category:
            args += ["--category", category]
        if not self.parameterAsBoolean(parameters, self.DISTANCES, context):
            args.append("--no-distances")
        coverage = (self.parameterAsString(parameters, self.COVERAGE, context) or "").strip()
        if coverage:
            args += ["--coverage", coverage]
        zone_args, _key = params.zones_args(self, parameters, context, feedback, tmp)
        run = self.core(args + zone_args, feedback, tmp)
        dest = layers.copy_to_sink(self, parameters, self.OUTPUT, context, tmp / "out.gpkg", "indicators", feedback)
        # the core names its headline column (share of the zone, or count without polygons): no guess here
        main = run.result.get("main_column")
        if main:
            layers.style_on_load(context, dest, layers.style_numeric((main,)))
        return {self.OUTPUT: dest}
