"""Cross-check of overlay areas against QGIS's own ``native:calculatevectoroverlaps``.

QGIS's algorithm has no category breakdown, so the PAC layer is dissolved per ALEA value with QGIS's
``native:dissolve`` and split per value first; acv-geo dissolves per category by itself.
"""

from __future__ import annotations

import pytest

import acv_geo
from acv_geo.indicators.overlay import overlay_indicators
from acv_geo.zones import make_zones

TOWNS = ["34003", "34032", "34301", "34108", "34145", "76217"]
CATEGORIES = {"inondation": "Inondation", "multirisque": "Multirisque", "submersion_marine": "Submersion marine"}


@pytest.mark.qgis
def test_pac_areas_match_qgis_calculatevectoroverlaps(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsVectorLayer

    zones = make_zones(acv_geo.read_acv().loc[TOWNS])
    # coverage national: QGIS measures every city (0 outside Hérault); the areas are what is compared
    ours = overlay_indicators(zones, acv_geo.get_path("herault_pac_risques"), preset="pac_risques", coverage="national")

    zpath = tmp_path / "zones.gpkg"
    zones[["geometry"]].to_crs(2154).reset_index().to_file(zpath, layer="zones", driver="GPKG", VERSION="1.3")
    context = QgsProcessingContext()
    context.setEllipsoid("NONE")  # planimetric areas in the layer CRS (Lambert-93), as acv-geo
    feedback = QgsProcessingFeedback()
    dissolved = processing.run(
        "native:dissolve",
        {
            "INPUT": str(acv_geo.get_path("herault_pac_risques")),
            "FIELD": ["ALEA"],
            "OUTPUT": str(tmp_path / "dissolved.gpkg"),
        },
        context=context,
        feedback=feedback,
    )["OUTPUT"]
    overlays = []
    for slug, value in CATEGORIES.items():
        out = str(tmp_path / f"{slug}.gpkg")
        processing.run(
            "native:extractbyattribute",
            {"INPUT": dissolved, "FIELD": "ALEA", "OPERATOR": 0, "VALUE": value, "OUTPUT": out},
            context=context,
            feedback=feedback,
        )
        layer = QgsVectorLayer(out, slug, "ogr")
        assert layer.isValid() and layer.featureCount() == 1
        overlays.append(layer)
    result = processing.run(
        "native:calculatevectoroverlaps",
        {"INPUT": QgsVectorLayer(str(zpath), "zones", "ogr"), "LAYERS": overlays, "OUTPUT": "memory:"},
        context=context,
        feedback=feedback,
    )["OUTPUT"]
    if isinstance(result, str):
        result = context.getMapLayer(result)
    qgis_area = {f["insee_com"]: {s: f[f"{s}_area"] for s in CATEGORIES} for f in result.getFeatures()}
    overlays.clear()
    del result

    assert set(qgis_area) == set(TOWNS)
    checked = 0
    for code in TOWNS:
        for slug in CATEGORIES:
            theirs = float(qgis_area[code][slug] or 0.0)
            mine = ours.loc[code, f"pac_risques_{slug}_area_m2"]
            assert mine == pytest.approx(theirs, rel=1e-3, abs=1.0), (code, slug)
            checked += theirs > 0
    assert checked >= 8  # most comparisons are real overlaps, not 0 == 0
    assert ours.loc["76217", "pac_risques_area_m2"] == 0
