"""``acvgeo:globaltests``: global join counts and Moran's I as an HTML page and JSON (``acv-geo clusters``)."""

from __future__ import annotations

import json
import shutil

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterFileDestination,
)

from . import params
from .base import AcvGeoAlgorithm
from .clusters import add_test_parameters, test_args


class GlobalTestsAlgorithm(AcvGeoAlgorithm):
    """Is the variable clustered at all? Moran's I and join counts with permutation p-values."""

    OUTPUT_HTML = "OUTPUT_HTML"
    OUTPUT_JSON = "OUTPUT_JSON"
    MORAN_I = "MORAN_I"
    MORAN_P = "MORAN_P"

    NAME = "globaltests"
    DISPLAY = "Global spatial autocorrelation (Moran's I, join counts)"
    COMMAND = "clusters"
    HELP = (
        "<p>Global tests of spatial autocorrelation of a city variable: <b>Moran's I</b> and, for a yes/no "
        "variable such as opendata, <b>join counts</b> (BB, BW, WW) with permutation p-values (esda). Written as "
        "an HTML page (opened in the results viewer) and as JSON.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        add_test_parameters(self, local=False)
        params.add_cities(self, points_only=False)
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT_HTML, self.tr("Results (HTML)"), fileFilter="HTML (*.html)"
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT_JSON,
                self.tr("Results (JSON)"),
                fileFilter="JSON (*.json)",
                optional=True,
                createByDefault=False,
            )
        )
        self.addOutput(QgsProcessingOutputNumber(self.MORAN_I, self.tr("Moran's I")))
        self.addOutput(QgsProcessingOutputNumber(self.MORAN_P, self.tr("Moran's I p-value (permutations)")))

    def process(self, parameters, context, feedback, tmp):
        html = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        args = ["clusters", *test_args(self, parameters, context), "--html", html, "--out", str(tmp / "local.csv")]
        self.core(args + params.cities_args(self, parameters, context, feedback, tmp), feedback, tmp)
        doc = json.loads((tmp / "local.json").read_text(encoding="utf-8"))
        out = {
            self.OUTPUT_HTML: html,
            self.MORAN_I: doc.get("morans_i", {}).get("I"),
            self.MORAN_P: doc.get("morans_i", {}).get("p_sim"),
        }
        json_out = self.parameterAsFileOutput(parameters, self.OUTPUT_JSON, context)
        if json_out:
            shutil.copyfile(tmp / "local.json", json_out)
            out[self.OUTPUT_JSON] = json_out
        return out
