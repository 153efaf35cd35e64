"""Parameters shared by several algorithms: the cities, their zones, and how they reach the core."""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
)

from ..translation import noop, tr

CITIES = "CITIES"
ZONE_KIND = "ZONE_KIND"
RADIUS = "RADIUS"
ZONES = "ZONES"
ZONES_ID = "ZONES_ID"

#: Zone choices: the core's zone kinds, then "one zone per polygon of a layer" and "every EPCI".
ZONE_CHOICES = ("commune", "epci", "buffer", "layer", "all-epci")
ZONE_LABELS = (
    noop("Commune polygon of each city"),
    noop("EPCI polygon of each city"),
    noop("Buffer around each city point"),
    noop("Each polygon of a layer (your communes, areas…)"),
    noop("Every EPCI of France (1,255)"),
)


def add_cities(alg, *, points_only: bool = True) -> None:
    """CITIES: optional layer keyed by insee_com (empty: the 244 embedded ACV towns)."""
    alg.addParameter(
        QgsProcessingParameterFeatureSource(
            CITIES,
            tr("Cities (layer with an insee_com field; empty: the 244 embedded ACV towns)"),
            [QgsProcessing.TypeVectorPoint if points_only else QgsProcessing.TypeVectorAnyGeometry],
            optional=True,
        )
    )


def cities_args(alg, parameters, context, feedback, tmp: Path) -> list[str]:
    """``--cities FILE`` (the layer exported for the core), or nothing for the embedded towns."""
    source = alg.parameterAsSource(parameters, CITIES, context)
    if source is None:
        feedback.pushInfo(tr("Cities: the 244 embedded ACV towns"))
        return []
    if source.fields().indexOf("insee_com") < 0:
        raise QgsProcessingException(
            tr(
                "cities layer: no 'insee_com' field; use the output of 'Load ACV cities' or add the INSEE commune code "
                "as insee_com"
            )
        )
    return ["--cities", alg.export(source, tmp / "cities.gpkg", context, feedback, tr("cities layer"))]


def add_zones(alg) -> None:
    """ZONE_KIND, RADIUS, and the polygon layer ZONES with its identifier ZONES_ID."""
    alg.addParameter(
        QgsProcessingParameterEnum(ZONE_KIND, tr("Zones"), options=[tr(x) for x in ZONE_LABELS], defaultValue=0)
    )
    radius = QgsProcessingParameterNumber(
        RADIUS, tr("Buffer radius (metres)"), QgsProcessingParameterNumber.Double, defaultValue=1000.0, minValue=1.0
    )
    alg.addParameter(radius)
    alg.addParameter(
        QgsProcessingParameterFeatureSource(
            ZONES, tr("Polygon layer (for 'Each polygon of a layer')"), [QgsProcessing.TypeVectorPolygon], optional=True
        )
    )
    field = QgsProcessingParameterField(
        ZONES_ID,
        tr("Identifier field of the polygons (empty: INSEE or SIREN field found by name)"),
        parentLayerParameterName=ZONES,
        optional=True,
    )
    field.setFlags(field.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    alg.addParameter(field)


def zones_args(alg, parameters, context, feedback, tmp: Path) -> tuple[list[str], str]:
    """The core's zone options, and the name of the output's key field."""
    kind = ZONE_CHOICES[alg.parameterAsEnum(parameters, ZONE_KIND, context)]
    if kind == "all-epci":
        return ["--scope", "all-epci"], "siren_epci"
    if kind == "layer":
        source = alg.parameterAsSource(parameters, ZONES, context)
        if source is None:
            raise QgsProcessingException(tr("Zones 'Each polygon of a layer': choose the polygon layer"))
        path = alg.export(source, tmp / "zones.gpkg", context, feedback, tr("polygon layer"))
        key = alg.parameterAsString(parameters, ZONES_ID, context)
        return ["--zones", path, *(["--zones-id", key] if key else [])], key or "insee_com"
    args = cities_args(alg, parameters, context, feedback, tmp)
    if kind == "buffer":
        return [*args, "--zone", f"buffer:{alg.parameterAsDouble(parameters, RADIUS, context):g}"], "insee_com"
    return [*args, "--zone", kind], "insee_com"


WEIGHTS_KIND = "WEIGHTS_KIND"
K = "K"
DISTANCE = "DISTANCE"
VARIABLE = "VARIABLE"
LEVEL = "LEVEL"
LEVEL_LABELS = {"commune": noop("Cities"), "epci": noop("Their EPCIs (values aggregated)")}
WEIGHT_LABELS = {
    "knn": noop("k nearest neighbours"),
    "distance": noop("Distance band"),
    "queen": noop("Queen contiguity (polygons)"),
    "rook": noop("Rook contiguity (polygons)"),
}


def add_weights(alg, choices: dict) -> None:
    """WEIGHTS_KIND (enum), K, DISTANCE and LEVEL."""
    kinds = choices["weight_kinds"]
    alg.addParameter(
        QgsProcessingParameterEnum(
            WEIGHTS_KIND, tr("Spatial weights"), options=[tr(WEIGHT_LABELS.get(k, k)) for k in kinds], defaultValue=0
        )
    )
    alg.addParameter(
        QgsProcessingParameterNumber(
            K,
            tr("Number of neighbours k (k nearest neighbours)"),
            QgsProcessingParameterNumber.Integer,
            defaultValue=6,
            minValue=1,
        )
    )
    alg.addParameter(
        QgsProcessingParameterNumber(
            DISTANCE,
            tr("Distance band (metres)"),
            QgsProcessingParameterNumber.Double,
            defaultValue=20000.0,
            minValue=1.0,
        )
    )
    levels = choices["cluster_levels"]
    labels = [tr(LEVEL_LABELS.get(x, x)) for x in levels]
    alg.addParameter(QgsProcessingParameterEnum(LEVEL, tr("Units"), options=labels, defaultValue=0))


def weights_args(alg, parameters, context, choices: dict) -> list[str]:
    """``--weights SPEC --level LEVEL``."""
    kind = choices["weight_kinds"][alg.parameterAsEnum(parameters, WEIGHTS_KIND, context)]
    if kind == "knn":
        kind = f"knn:{alg.parameterAsInt(parameters, K, context)}"
    elif kind == "distance":
        kind = f"distance:{alg.parameterAsDouble(parameters, DISTANCE, context):g}"
    level = choices["cluster_levels"][alg.parameterAsEnum(parameters, LEVEL, context)]
    return ["--weights", kind, "--level", level]
