"""``acvgeo:clusters``: local spatial clusters, LISA / Gi* / join counts (``acv-geo clusters``)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from .. import layers
from . import params
from .base import CHOICES, AcvGeoAlgorithm

#: Display title of each method, from the core (choices.json; translated where shown).
METHOD_TITLES: dict = CHOICES["cluster_method_titles"]


def add_test_parameters(alg, *, local: bool) -> None:
    """Variable, weights, permutations, seed (and, for local statistics, method, alpha, alternative, FDR)."""
    alg.addParameter(
        QgsProcessingParameterString(
            params.VARIABLE,
            alg.tr("Variable (field of the cities, e.g. opendata or an indicator)"),
            defaultValue="opendata",
        )
    )
    if local:
        methods = CHOICES["cluster_methods"]
        alg.addParameter(
            QgsProcessingParameterEnum(
                "METHOD",
                alg.tr("Statistic"),
                options=[alg.tr(METHOD_TITLES.get(m, m)) for m in methods],
                defaultValue=0,
            )
        )
    params.add_weights(alg, CHOICES)
    alg.addParameter(
        QgsProcessingParameterNumber(
            "PERMUTATIONS", alg.tr("Permutations"), QgsProcessingParameterNumber.Integer, defaultValue=9999, minValue=99
        )
    )
    alg.addParameter(
        QgsProcessingParameterNumber(
            "SEED", alg.tr("Random seed"), QgsProcessingParameterNumber.Integer, defaultValue=12345, minValue=0
        )
    )
    if not local:
        return
    alg.addParameter(
        QgsProcessingParameterNumber(
            "ALPHA",
            alg.tr("Significance level (alpha)"),
            QgsProcessingParameterNumber.Double,
            defaultValue=0.05,
            minValue=0.0001,
            maxValue=0.5,
        )
    )
    advanced = [
        QgsProcessingParameterEnum(
            "ALTERNATIVE", alg.tr("Alternative hypothesis"), options=CHOICES["alternatives"], defaultValue=0
        ),
        QgsProcessingParameterBoolean(
            "FDR", alg.tr("Label with FDR-adjusted p-values (Benjamini-Hochberg)"), defaultValue=True
        ),
    ]
    for p in advanced:
        p.setFlags(p.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        alg.addParameter(p)


def test_args(alg, parameters, context) -> list[str]:
    """The ``acv-geo clusters`` options shared by the local and global algorithms."""
    variable = (alg.parameterAsString(parameters, params.VARIABLE, context) or "").strip() or "opendata"
    return [
        "--variable",
        variable,
        *params.weights_args(alg, parameters, context, CHOICES),
        "--permutations",
        str(alg.parameterAsInt(parameters, "PERMUTATIONS", context)),
        "--seed",
        str(alg.parameterAsInt(parameters, "SEED", context)),
    ]


class ClustersAlgorithm(AcvGeoAlgorithm):
    """Cities (or their EPCIs) → polygons with local statistic, p-values and cluster label."""

    OUTPUT = "OUTPUT"
    N_SIGNIFICANT = "N_SIGNIFICANT"

    NAME = "clusters"
    DISPLAY = "Open-data clusters (LISA, Gi*, join counts)"
    COMMAND = "clusters"
    HELP = (
        "<p>Where are the towns that publish open data (or that share any indicator) clustered? Runs a local "
        "spatial statistic on a city variable with conditional permutations (esda) and labels each city: "
        "<b>HH</b>, <b>LL</b>, <b>HL</b>, <b>LH</b> (LISA), <b>hot</b>/<b>cold</b> (Gi*), <b>BB cluster</b> (join "
        "counts), <i>not significant</i>, <i>isolated</i> (no neighbour) or <i>NA</i> (no value: excluded, never "
        "zero-filled). No neighbour link crosses territories (mainland, each overseas department).</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        add_test_parameters(self, local=True)
        params.add_cities(self, points_only=False)
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Cluster map"), QgsProcessing.TypeVectorPolygon)
        )
        self.addOutput(QgsProcessingOutputNumber(self.N_SIGNIFICANT, self.tr("Units in a significant cluster")))

    def process(self, parameters, context, feedback, tmp):
        method = CHOICES["cluster_methods"][self.parameterAsEnum(parameters, "METHOD", context)]
        args = [
            "clusters",
            *test_args(self, parameters, context),
            "--method",
            method,
            "--alpha",
            f"{self.parameterAsDouble(parameters, 'ALPHA', context):g}",
            "--alternative",
            CHOICES["alternatives"][self.parameterAsEnum(parameters, "ALTERNATIVE", context)],
            "--geometry",
            "--out",
            str(tmp / "out.gpkg"),
        ]
        if not self.parameterAsBoolean(parameters, "FDR", context):
            args.append("--no-fdr")
        run = self.core(args + params.cities_args(self, parameters, context, feedback, tmp), feedback, tmp)
        dest = layers.copy_to_sink(self, parameters, self.OUTPUT, context, tmp / "out.gpkg", "clusters", feedback)
        layers.style_on_load(context, dest, layers.style_clusters)
        return {self.OUTPUT: dest, self.N_SIGNIFICANT: run.result.get("n_significant")}
