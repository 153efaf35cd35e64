"""``acvgeo:weights``: export the spatial weights of the cities (``acv-geo weights``)."""

from __future__ import annotations

from qgis.core import QgsProcessingOutputNumber, QgsProcessingParameterFileDestination

from . import params
from .base import CHOICES, AcvGeoAlgorithm


class WeightsAlgorithm(AcvGeoAlgorithm):
    """Cities → spatial weights file (GeoDa GAL or CSV), never linking two territories."""

    OUTPUT = "OUTPUT"
    N_ISLANDS = "N_ISLANDS"

    NAME = "weights"
    DISPLAY = "Export spatial weights (GAL, CSV)"
    COMMAND = "weights"
    HELP = (
        "<p>Builds the spatial weights of the cities (or of their EPCIs) per territory in its projected CRS — k "
        "nearest neighbours or a distance band on the city points, queen or rook contiguity on the commune "
        "polygons — and writes them as a GeoDa <b>.gal</b> file or a <b>.csv</b> (focal, neighbor, weight).</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        params.add_weights(self, CHOICES)
        params.add_cities(self, points_only=False)
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT, self.tr("Weights file"), fileFilter="GeoDa GAL (*.gal);;CSV (*.csv)"
            )
        )
        self.addOutput(QgsProcessingOutputNumber(self.N_ISLANDS, self.tr("Units without neighbour")))

    def process(self, parameters, context, feedback, tmp):
        out = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if not out.lower().endswith((".gal", ".csv")):
            out += ".gal"
        args = ["weights", *params.weights_args(self, parameters, context, CHOICES), "--out", out]
        run = self.core(args + params.cities_args(self, parameters, context, feedback, tmp), feedback, tmp)
        return {self.OUTPUT: out, self.N_ISLANDS: run.result.get("n_islands")}
