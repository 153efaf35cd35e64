"""``acvgeo:clusters``: local spatial clusters, LISA / Gi* / join counts (core: acv_geo.local_clusters)."""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsProcessing,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from . import cities as _cities
from .base import AcvGeoAlgorithm

#: QGIS style of the cluster map (categorised on ``label``, GeoDa's LISA colours).
STYLE = Path(__file__).resolve().parents[1] / "styles" / "clusters.qml"

METHODS = ("lisa", "gi_star", "join_count")
METHOD_LABELS = ("Local Moran's I (LISA)", "Getis-Ord Gi* (hot and cold spots)", "Local join counts (yes/no)")
LEVELS = ("commune", "epci")
LEVEL_LABELS = ("City (commune polygons)", "EPCI (the cities' EPCIs)")
ALTERNATIVES = ("two-sided", "greater", "lesser", "directed", "folded")


class _StyleLoader(QgsProcessingLayerPostProcessorInterface):
    """Applies :data:`STYLE` to the output layer once QGIS has loaded it."""

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802
        if layer is not None and layer.isValid():
            layer.loadNamedStyle(str(STYLE))
            layer.triggerRepaint()


class ClustersAlgorithm(AcvGeoAlgorithm):
    """Cities (or their EPCIs) → polygons with local statistic, p-values and cluster label."""

    VARIABLE = "VARIABLE"
    METHOD = "METHOD"
    WEIGHTS = "WEIGHTS"
    PERMUTATIONS = "PERMUTATIONS"
    SEED = "SEED"
    ALPHA = "ALPHA"
    ALTERNATIVE = "ALTERNATIVE"
    FDR = "FDR"
    LEVEL = "LEVEL"
    OUTPUT = "OUTPUT"
    N_SIGNIFICANT = "N_SIGNIFICANT"

    NAME = "clusters"
    DISPLAY = "Open-data clusters (LISA, Gi*, join counts)"
    CORE = "acv_geo.local_clusters"
    HELP = (
        "<p>Where are the towns that publish open data (or that share any indicator) clustered? Runs a "
        "local spatial statistic on a city variable — by default <b>opendata</b> (yes/no) — with "
        "conditional permutations (esda), and labels each city: <b>HH</b>, <b>LL</b>, <b>HL</b>, <b>LH</b> "
        "(LISA), <b>hot</b>/<b>cold</b> (Gi*), <b>BB cluster</b> (join counts), <i>not significant</i>, "
        "<i>isolated</i> (no neighbour) or <i>NA</i> (no value: excluded, never zero-filled).</p>"
        "<p><b>Variable</b>: a field of the cities layer (e.g. an indicator column of an overlay/zonal "
        "output, which carries insee_com and territory), or of the embedded cities. <b>Weights</b>: "
        "knn:K, distance:METERS, queen or rook; no neighbour link ever crosses territories (mainland, "
        "each overseas department). <b>Seed</b> makes p-values reproducible. With <b>FDR</b> the labels "
        "use Benjamini-Hochberg adjusted p-values (p_fdr). <b>Level</b> EPCI aggregates the cities to "
        "their EPCIs (keyed by siren_epci).</p>"
        "<p>The output is styled as a cluster map (GeoDa colours) when it is loaded.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        _cities.add_city_parameters(self, zones=False, points_only=False)
        self.addParameter(
            QgsProcessingParameterString(
                self.VARIABLE, self.tr("Variable (field of the cities)"), defaultValue="opendata"
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(self.METHOD, self.tr("Statistic"), options=[self.tr(x) for x in METHOD_LABELS],
                                       defaultValue=0)
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.WEIGHTS, self.tr("Spatial weights (knn:K, distance:METERS, queen, rook)"), defaultValue="knn:6"
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(self.PERMUTATIONS, self.tr("Permutations"),
                                         QgsProcessingParameterNumber.Integer, defaultValue=9999, minValue=1)
        )
        self.addParameter(
            QgsProcessingParameterNumber(self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Integer,
                                         defaultValue=12345, minValue=0)
        )
        self.addParameter(
            QgsProcessingParameterNumber(self.ALPHA, self.tr("Significance level (alpha)"),
                                         QgsProcessingParameterNumber.Double, defaultValue=0.05,
                                         minValue=0.0001, maxValue=0.9999)
        )
        advanced = [
            QgsProcessingParameterEnum(self.ALTERNATIVE, self.tr("Alternative hypothesis"), options=list(ALTERNATIVES),
                                       defaultValue=0),
            QgsProcessingParameterBoolean(self.FDR, self.tr("Label with FDR-adjusted p-values (Benjamini-Hochberg)"),
                                          defaultValue=True),
        ]
        for p in advanced:
            p.setFlags(p.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(p)
        self.addParameter(
            QgsProcessingParameterEnum(self.LEVEL, self.tr("Level"), options=[self.tr(x) for x in LEVEL_LABELS],
                                       defaultValue=0)
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Cluster map"), QgsProcessing.TypeVectorPolygon)
        )
        self.addOutput(QgsProcessingOutputNumber(self.N_SIGNIFICANT, self.tr("Units in a significant cluster")))

    def process(self, parameters, context, feedback):
        import acv_geo
        from acv_geo.clusters import local_clusters
        from acv_geo.zones import make_zones

        variable = (self.parameterAsString(parameters, self.VARIABLE, context) or "").strip()
        method = METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        level = LEVELS[self.parameterAsEnum(parameters, self.LEVEL, context)]
        kwargs = {
            "method": method,
            "weights": (self.parameterAsString(parameters, self.WEIGHTS, context) or "").strip(),
            "permutations": self.parameterAsInt(parameters, self.PERMUTATIONS, context),
            "seed": self.parameterAsInt(parameters, self.SEED, context),
            "alpha": self.parameterAsDouble(parameters, self.ALPHA, context),
            "alternative": ALTERNATIVES[self.parameterAsEnum(parameters, self.ALTERNATIVE, context)],
            "fdr": self.parameterAsBoolean(parameters, self.FDR, context),
            "level": level,
        }
        cities = _cities.read_cities(self, parameters, context, feedback, progress=(0.0, 10.0))
        self.check_canceled(feedback)
        feedback.setProgress(15)
        result = local_clusters(cities, variable, **kwargs)
        feedback.setProgress(75)
        self.check_canceled(feedback)
        frame = result.to_frame()
        if level == "commune":
            zones = make_zones(cities, kind="commune")
            out = _cities.zone_columns(zones, cities)[["commune", "territory", "geometry"]
                                                      if "commune" in cities.columns else ["territory", "geometry"]]
            out = out.join(frame)
            index_name = "insee_com"
        else:
            epci = acv_geo.read_epci()
            out = epci.reindex(frame.index)[["nom_epci", "territory", "geometry"]].join(frame)
            index_name = "siren_epci"
        feedback.pushInfo(
            f"{result.focus}; weights {result.weights}, {result.permutations} permutations, seed {result.seed}, "
            f"alpha {result.alpha} on {'p_fdr' if result.fdr else 'p_sim'}: {result.counts}"
        )
        for w in result.warnings:
            feedback.pushInfo(w)
        dest = self.write_sink(parameters, context, self.OUTPUT, out, feedback, progress=(80.0, 100.0),
                               index_name=index_name)
        if context.willLoadLayerOnCompletion(dest):
            self._style = _StyleLoader()  # keep a reference: QGIS does not own Python post-processors
            context.layerToLoadOnCompletionDetails(dest).setPostProcessor(self._style)
        significant = int((~frame["label"].isin(["not significant", "isolated", "NA"])).sum())
        return {self.OUTPUT: dest, self.N_SIGNIFICANT: significant}
