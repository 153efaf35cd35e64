"""``acvgeo:overlayindicators``: a vector layer in each city zone (core: acv_geo.overlay_indicators)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterString,
)

from .. import convert
from . import cities as _cities
from .base import AcvGeoAlgorithm

_NO_PRESET = "(none)"
_CRS_HINT = (
    " — in QGIS: set the layer's CRS (Layer Properties › Source › Assigned CRS) or run "
    "Vector general › Assign projection, then run again"
)


def _presets() -> list[str]:
    from acv_geo.overlay import list_presets

    return list_presets()


class OverlayIndicatorsAlgorithm(AcvGeoAlgorithm):
    """City zones × a vector layer → zone polygons with area/length/count/distance indicators."""

    INPUT = "INPUT"
    CATEGORY = "CATEGORY"
    PRESET = "PRESET"
    PREFIX = "PREFIX"
    OUTPUT = "OUTPUT"

    NAME = "overlayindicators"
    DISPLAY = "Overlay indicators (vector layer in each city zone)"
    CORE = "acv_geo.overlay_indicators (zones from acv_geo.zones.make_zones)"
    HELP = (
        "<p>Measures a vector layer (risk zones, protected areas, flood marks…) in each city's zone "
        "(commune polygon, EPCI polygon or buffer), in the territory's projected CRS (Lambert-93 in "
        "mainland France, the local UTM/RGAF/RGR CRS overseas):</p><ul>"
        "<li>polygons: <i>name_area_m2</i> covered (overlaps counted once) and <i>name_pct</i> of the zone;</li>"
        "<li>lines: <i>name_length_m</i> inside the zone;</li>"
        "<li>all: <i>name_count</i> of features touching the zone and <i>name_dist_m</i> from the city "
        "point to the nearest feature of the same territory.</li></ul>"
        "<p>A <b>category field</b> adds the same measures per value (<i>name_value_measure</i>). A "
        "<b>preset</b> (pac_risques, pprn_zonage, znieff1…) sets the usual category field and labels. "
        "Only the selected features are used when 'Selected features only' is ticked. The output has "
        "one zone per city keyed by <b>insee_com</b>; <i>name_reason</i> says why a value is missing.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        _cities.add_city_parameters(self)
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                self.INPUT, self.tr("Layer to measure"), [QgsProcessing.TypeVectorAnyGeometry]
            )
        )
        self.addParameter(
            QgsProcessingParameterField(
                self.CATEGORY, self.tr("Category field (optional)"), parentLayerParameterName=self.INPUT,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.PRESET, self.tr("Layer preset (category field, labels, source)"),
                options=[_NO_PRESET, *_presets()], defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.PREFIX, self.tr("Column prefix (empty: preset name, else the layer name)"), optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT, self.tr("Overlay indicators"), QgsProcessing.TypeVectorPolygon
            )
        )

    def process(self, parameters, context, feedback):
        from acv_geo.codes import slugify
        from acv_geo.errors import InputError
        from acv_geo.overlay import get_preset, overlay_indicators
        from acv_geo.zones import make_zones

        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        layer = self.parameterAsVectorLayer(parameters, self.INPUT, context)
        layer_label = layer.name() if layer is not None else "input layer"
        category = self.parameterAsString(parameters, self.CATEGORY, context) or None
        presets = [_NO_PRESET, *_presets()]
        preset = presets[self.parameterAsEnum(parameters, self.PRESET, context)]
        preset = None if preset == _NO_PRESET else preset
        prefix = (self.parameterAsString(parameters, self.PREFIX, context) or "").strip() or None
        if prefix is None and preset is None:
            prefix = slugify(layer_label) or "layer"

        # Read only the category field when it exists (faster on big layers); otherwise read all
        # fields and let the core say which fields there are.
        wanted = category or (get_preset(preset).get("category") if preset else None)
        names = source.fields().names()
        exact = [n for n in names if wanted is not None and n.lower() == wanted.lower()]
        fields = exact[:1] if wanted is not None and exact else ([] if wanted is None else None)

        cities = _cities.read_cities(self, parameters, context, feedback, progress=(0.0, 5.0))
        self.check_canceled(feedback)
        gdf = convert.source_to_gdf(source, fields=fields, feedback=feedback, progress=(5.0, 40.0),
                                    what=f"layer {layer_label!r}")
        feedback.pushInfo(f"Layer {layer_label!r}: {len(gdf)} features read")
        zones = make_zones(cities, **_cities.zone_options(self, parameters, context))
        self.check_canceled(feedback)
        feedback.setProgress(45)
        try:
            result = overlay_indicators(
                zones, gdf, category=category, name=prefix, preset=preset,
                source=None if preset else f"QGIS layer {layer_label}",
            )
        except InputError as exc:
            if gdf.crs is None:
                raise QgsProcessingException(f"layer {layer_label!r}: {exc}{_CRS_HINT}") from exc
            raise
        feedback.setProgress(80)
        self.check_canceled(feedback)
        out = _cities.zone_columns(zones, cities).join(result)
        dest = self.write_sink(parameters, context, self.OUTPUT, out, feedback, progress=(80.0, 100.0))
        return {self.OUTPUT: dest}
