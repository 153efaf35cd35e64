"""``acvgeo:profile``: exposure profile and ranking of the cities (``acv-geo profile``)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
)

from .. import layers
from ..translation import noop
from . import params
from .base import CHOICES, AcvGeoAlgorithm

SUBSCORE_NAMES = (noop("risk"), noop("nature"), noop("opendata"))


class ProfileAlgorithm(AcvGeoAlgorithm):
    """Cities + indicator layers → risk / nature / open-data sub-scores, composite and rank."""

    TABLES = "TABLES"
    OUTPUT = "OUTPUT"

    NAME = "profile"
    DISPLAY = "Exposure profile and ranking"
    COMMAND = "profile"
    HELP = (
        "<p>Scores every city from indicator layers (outputs of the overlay, zonal and tables algorithms, keyed "
        "by insee_com): each sub-score (risk, nature, open data) is the mean percentile rank of its indicator "
        "columns; the composite is their weighted mean, and <b>rank</b> 1 is the most exposed. "
        "<i>profile_reason</i> says which sub-scores a city lacks.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                self.TABLES, self.tr("Indicator layers (keyed by insee_com)"), QgsProcessing.TypeVector, optional=True
            )
        )
        for name in CHOICES["subscores"]:
            self.addParameter(
                QgsProcessingParameterNumber(
                    f"WEIGHT_{name.upper()}",
                    self.tr("Weight of the {} sub-score").format(self.tr(name)),
                    QgsProcessingParameterNumber.Double,
                    defaultValue=CHOICES["default_weights"][name],
                    minValue=0.0,
                )
            )
        params.add_cities(self)
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Exposure profile"), QgsProcessing.TypeVectorPoint)
        )

    def process(self, parameters, context, feedback, tmp):
        args = ["profile", "--out", str(tmp / "out.gpkg")]
        for i, layer in enumerate(self.parameterAsLayerList(parameters, self.TABLES, context)):
            label = self.tr("layer {!r}").format(layer.name())
            path = self.export(layer, tmp / f"table{i}.gpkg", context, feedback, label)
            args += ["--table", path]
        weights = ",".join(
            f"{n}={self.parameterAsDouble(parameters, f'WEIGHT_{n.upper()}', context):g}" for n in CHOICES["subscores"]
        )
        args += ["--weights", weights, *params.cities_args(self, parameters, context, feedback, tmp)]
        self.core(args, feedback, tmp)
        dest = layers.copy_to_sink(self, parameters, self.OUTPUT, context, tmp / "out.gpkg", "profile", feedback)
        layers.style_on_load(context, dest, layers.style_numeric(("exposure_score",)))
        return {self.OUTPUT: dest}
