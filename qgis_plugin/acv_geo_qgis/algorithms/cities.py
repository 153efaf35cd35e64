"""Parameters shared by the algorithms that work on the cities: the cities and their zones."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
)

from .. import convert

CITIES = "CITIES"
ZONE_KIND = "ZONE_KIND"
RADIUS = "RADIUS"

ZONE_KINDS = ("commune", "epci", "buffer")
ZONE_LABELS = ("Commune polygon", "EPCI polygon", "Buffer around the city point")


def add_city_parameters(alg, *, zones: bool = True, points_only: bool = True) -> None:
    """Add CITIES (optional layer keyed by insee_com) and, with ``zones``, ZONE_KIND and RADIUS."""
    kind = "point layer" if points_only else "layer"
    alg.addParameter(
        QgsProcessingParameterFeatureSource(
            CITIES,
            alg.tr(f"ACV cities ({kind} with an insee_com field; empty: the 244 embedded ACV towns)"),
            [QgsProcessing.TypeVectorPoint if points_only else QgsProcessing.TypeVectorAnyGeometry],
            optional=True,
        )
    )
    if not zones:
        return
    alg.addParameter(
        QgsProcessingParameterEnum(
            ZONE_KIND, alg.tr("Zone of each city"), options=[alg.tr(x) for x in ZONE_LABELS], defaultValue=0
        )
    )
    radius = QgsProcessingParameterNumber(
        RADIUS,
        alg.tr("Buffer radius (metres, for buffer zones; drawn in the territory's projected CRS)"),
        QgsProcessingParameterNumber.Double,
        defaultValue=1000.0,
        minValue=0.0,
    )
    radius.setFlags(radius.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    alg.addParameter(radius)


def read_cities(alg, parameters, context, feedback, progress=(0.0, 10.0)):
    """The cities as :func:`acv_geo.read_acv` shapes them: the CITIES layer, or the embedded list.

    A layer must have an ``insee_com`` field (the output of ``acvgeo:loadcities`` has it); codes
    are normalised (``1004`` → ``"01004"``) and become the index. Its selection is honoured.
    """
    import acv_geo

    source = alg.parameterAsSource(parameters, CITIES, context)
    if source is None:
        feedback.pushInfo("Cities: the 244 embedded ACV towns (acv_geo.read_acv())")
        return acv_geo.read_acv()
    gdf = convert.source_to_gdf(source, feedback=feedback, progress=progress, what="cities layer")
    if "insee_com" not in gdf.columns:
        raise QgsProcessingException(
            f"cities layer: no 'insee_com' field (fields: {[c for c in gdf.columns if c != 'geometry'][:30]}); "
            "use the output of 'Load ACV cities' (acvgeo:loadcities) or add the INSEE commune code as insee_com"
        )
    if len(gdf) == 0:
        raise QgsProcessingException("cities layer: no feature (or no selected feature); select at least one city")
    codes = acv_geo.normalize_insee(gdf["insee_com"].astype(object))
    bad = codes.isna().to_numpy()
    if bad.any():
        i = int(bad.nonzero()[0][0])
        raise QgsProcessingException(
            f"cities layer: feature {i + 1}, field 'insee_com': {gdf['insee_com'].iloc[i]!r} is not an INSEE code"
        )
    gdf = gdf.drop(columns=["insee_com"])
    gdf.index = codes.astype(str).to_numpy()
    gdf.index.name = "insee_com"
    feedback.pushInfo(f"Cities: {len(gdf)} features of the cities layer")
    return gdf


def zone_options(alg, parameters, context) -> dict:
    """``kind``/``radius`` keyword arguments of :func:`acv_geo.zones.make_zones`."""
    kind = ZONE_KINDS[alg.parameterAsEnum(parameters, ZONE_KIND, context)]
    if kind == "buffer":
        return {"kind": kind, "radius": alg.parameterAsDouble(parameters, RADIUS, context)}
    return {"kind": kind}


def zone_columns(zones, cities):
    """Zones ready to carry indicators: name, territory, kind, reason, zone polygon (no city point)."""
    keep = [c for c in ("territory", "zone_kind", "zone_reason") if c in zones.columns]
    out = zones[keep + [zones.geometry.name]].copy()
    if "commune" in cities.columns:
        out.insert(0, "commune", cities["commune"].reindex(out.index).to_numpy())
    return out
