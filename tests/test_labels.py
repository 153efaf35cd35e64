"""acv_geo.core.labels: a French and an English label for every output column, composed in one place."""

from __future__ import annotations

import pandas as pd
import pytest

from acv_geo.core.labels import column_label, label_metadata

LAYERS = {
    "pac": ("Zones PAC", "PAC zones"),
    "flood_marks": ("Repères de crues", "Flood marks"),
    "dem": ("Altitude", "Elevation"),
}


@pytest.mark.parametrize(
    ("column", "fr", "en"),
    [
        ("pac_pct", "Zones PAC : part de la zone (%)", "PAC zones: share of the zone (%)"),
        ("pac_inondation_dist_m", "Zones PAC : inondation, distance (m)", "PAC zones: inondation, distance (m)"),
        (
            "flood_marks_b2000_count",
            "Repères de crues (dans 2 km autour du centre) : nombre",
            "Flood marks (within 2 km of the centre): count",
        ),
        (
            "flood_marks_b500_reason",
            "Repères de crues (dans 500 m autour du centre) : raison de l'absence de valeur",
            "Flood marks (within 500 m of the centre): reason for the missing value",
        ),
        ("pac_epci_pct", "Zones PAC (EPCI) : part de la zone (%)", "PAC zones (EPCI): share of the zone (%)"),
        ("dem_below_300_pct", "Altitude : part sous 300 (%)", "Elevation: share below 300 (%)"),
        ("dem_p90", "Altitude : 90e centile", "Elevation: 90th percentile"),
        (
            "catnat_drought_first_year",
            "Arrêtés CatNat, sécheresse (argiles) : première année",
            "CatNat decrees, drought (clay): first year",
        ),
        ("risk_forest_fire_known", "Risque connu : feu de forêt", "Known risk: forest fire"),
        (
            "cluster_opendata_p_fdr",
            "Clusters (Publie des données ouvertes) : p-valeur corrigée (FDR)",
            "Clusters (Publishes open data): p-value corrected (FDR)",
        ),
        ("nature_n_indicators", "Sous-score nature : nombre d'indicateurs", "Nature sub-score: number of indicators"),
        ("lat", "Latitude", "Latitude"),
        ("url_datagouv_epci", "Page data.gouv.fr de l'EPCI", "EPCI data.gouv.fr page"),
        ("radon_reason", "Raison (valeur manquante) : radon", "Reason (missing value): radon"),
    ],
)
def test_labels(column, fr, en):
    assert column_label(column, "fr", layers=LAYERS) == fr
    assert column_label(column, "en", layers=LAYERS) == en


def test_unknown_layer_words_and_bad_language():
    assert column_label("my_layer_count") == "my layer : nombre"
    assert column_label("mystery") == "mystery"
    with pytest.raises(ValueError, match=r"lang must be one of \('fr', 'en'\), got 'de'"):
        column_label("pac_pct", "de")


def test_label_metadata_keeps_given_labels():
    meta = pd.DataFrame({"column": ["pac_pct", "radon_class"], "label_fr": ["Ma part", ""], "unit": ["%", ""]})
    out = label_metadata(meta, layers=LAYERS)
    assert out["label_fr"].tolist() == ["Ma part", "Potentiel radon (classe)"]
    assert out["label_en"].tolist() == ["PAC zones: share of the zone (%)", "Radon potential (class)"]
    assert meta["label_fr"].tolist() == ["Ma part", ""]  # input not modified
