"""Composite exposure profile: hand-computed scores and ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acv_geo.core.metadata import assign_role, attach_metadata, indicator_metadata
from acv_geo.indicators.profile import DEFAULT_WEIGHTS, exposure_profile, rank_candidates

IDX = pd.Index(["01004", "38053", "73065", "74225"], name="insee_com")


def _role(table: pd.DataFrame, role: str, *scored: str) -> pd.DataFrame:
    """Give a hand-made table the metadata an acv-geo function would attach: its role and scored columns."""
    attach_metadata(
        table, [{"column": c, "unit": "", "source": "test", "date": "", "description": ""} for c in table.columns]
    )
    return assign_role(table, role, scored=scored)


@pytest.fixture()
def cities():
    return pd.DataFrame(
        {
            "commune": ["A", "B", "C", "D"],
            "opendata_level": ["commune", "epci", "none", pd.NA],
            "opendata": pd.array([True, True, False, pd.NA], dtype="boolean"),
        },
        index=IDX,
    )


@pytest.fixture()
def tables():
    catnat = pd.DataFrame({"catnat_total_count": [9, 3, 10, 3], "catnat_reason": [None] * 4}, index=IDX)
    radon = pd.DataFrame({"radon_class": [2, 1, 2, pd.NA]}, index=IDX).astype("Int64")
    zonal = _role(
        pd.DataFrame(
            {"dem_below_300_pct": [44.0, 72.7, 54.8, 0.0], "dem_mean": [384.0, 264.0, 309.0, 394.0]}, index=IDX
        ),
        "risk",
        "dem_below_300_pct",
    )
    nature = _role(
        pd.DataFrame({"znieff_share": [0.1, np.nan, 0.3]}, index=IDX.drop("74225")), "nature", "znieff_share"
    )
    return catnat, radon, zonal, nature


def test_hand_computed_scores(cities, tables):
    out = exposure_profile(cities, *tables)
    assert list(out.index) == list(IDX)
    assert list(out.columns) == [
        "risk_score",
        "nature_score",
        "opendata_score",
        "risk_n_indicators",
        "nature_n_indicators",
        "opendata_n_indicators",
        "exposure_score",
        "rank",
        "profile_reason",
    ]
    assert out["risk_n_indicators"].tolist() == [3, 3, 3, 2] and out["nature_n_indicators"].tolist() == [1, 0, 1, 0]
    used = out.attrs["acv_geo_profile"]["columns"]
    assert used == {
        "risk": ["catnat_total_count", "radon_class", "dem_below_300_pct"],
        "nature": ["znieff_share"],
        "opendata": ["opendata_level"],
    }
    # catnat 9,3,10,3 -> ranks 3, 1.5, 4, 1.5 -> (r-1)/3 = 2/3, 1/6, 1, 1/6
    # radon 2,1,2,NA -> ranks 2.5, 1, 2.5 -> (r-1)/2 = 0.75, 0, 0.75, NA
    # below 44, 72.7, 54.8, 0 -> ranks 2, 4, 3, 1 -> 1/3, 1, 2/3, 0
    risk = [(2 / 3 + 0.75 + 1 / 3) / 3, (1 / 6 + 0 + 1) / 3, (1 + 0.75 + 2 / 3) / 3, (1 / 6 + 0) / 2]
    np.testing.assert_allclose(out["risk_score"], risk)
    # znieff 0.1, NaN, 0.3 (74225 absent from the table) -> 0, NaN, 1, NaN
    np.testing.assert_allclose(out["nature_score"], [0.0, np.nan, 1.0, np.nan])
    np.testing.assert_allclose(out["opendata_score"], [1.0, 0.5, 0.0, np.nan])
    w = DEFAULT_WEIGHTS
    comp = [
        w["risk"] * risk[0] + w["nature"] * 0 + w["opendata"] * 1,
        (w["risk"] * risk[1] + w["opendata"] * 0.5) / (w["risk"] + w["opendata"]),
        w["risk"] * risk[2] + w["nature"] * 1 + w["opendata"] * 0,
        risk[3],
    ]
    np.testing.assert_allclose(out["exposure_score"], comp)
    # the open-data readiness is shown beside the exposure, with weight 0 in it
    assert w["opendata"] == 0
    assert out["rank"].tolist() == [3, 2, 1, 4]
    assert pd.isna(out.loc["01004", "profile_reason"])
    assert out.loc["38053", "profile_reason"] == (
        "composite without nature (all its values missing); weights renormalised over the others"
    )
    assert indicator_metadata(out).set_index("column").loc["exposure_score", "unit"] == "0-1"


def test_weights(cities, tables):
    only_open = exposure_profile(cities, *tables, weights={"risk": 0, "nature": 0, "opendata": 1})
    np.testing.assert_allclose(only_open["exposure_score"], [1.0, 0.5, 0.0, np.nan])
    assert only_open["rank"].tolist()[:3] == [1, 2, 3] and pd.isna(only_open["rank"].iloc[3])
    assert only_open.loc["74225", "profile_reason"] == "no value for any weighted sub-score: no rank"
    with pytest.raises(ValueError, match=r"unknown weight key\(s\) \['biodiversity'\]; allowed: \['risk', 'nature'"):
        exposure_profile(cities, *tables, weights={"biodiversity": 1})
    with pytest.raises(ValueError, match="weight 'risk' must be a finite number >= 0"):
        exposure_profile(cities, *tables, weights={"risk": -1})
    with pytest.raises(ValueError, match="sum to 0"):
        exposure_profile(cities, *tables, weights={"risk": 0, "nature": 0, "opendata": 0})


def test_ties_percentile_rank_and_columns_override(cities):
    t = pd.DataFrame({"x": [5, 5, 5, 5], "y": [1, 2, 3, 4]}, index=IDX)
    out = exposure_profile(cities, t, columns={"risk": ["x"], "nature": ["y"], "opendata": []}, weights={"opendata": 1})
    assert out["risk_score"].tolist() == [0.5] * 4
    np.testing.assert_allclose(out["nature_score"], [0, 1 / 3, 2 / 3, 1])
    assert out["opendata_score"].isna().all()
    assert out.loc["01004", "profile_reason"].startswith("composite without opendata (no contributing column)")
    with pytest.raises(ValueError, match=r"unknown sub-score\(s\) \['bio'\]"):
        exposure_profile(cities, t, columns={"bio": ["y"]})


def test_rank_candidates(cities, tables):
    out = exposure_profile(cities, *tables)
    top = rank_candidates(out, top=2)
    assert top.index.tolist() == ["73065", "38053"]
    assert rank_candidates(out).index.tolist() == ["73065", "38053", "01004", "74225"]
    with pytest.raises(ValueError, match="top must be a positive integer"):
        rank_candidates(out, top=0)
    with pytest.raises(ValueError, match="'rank' column"):
        rank_candidates(cities)


def test_no_column_at_all_and_inputs_kept(cities):
    with pytest.raises(ValueError, match="no contributing column found"):
        exposure_profile(cities[["commune"]])
    before = cities.copy()
    exposure_profile(cities)
    pd.testing.assert_frame_equal(cities, before)
    with pytest.raises(ValueError, match="duplicate index codes"):
        exposure_profile(cities, pd.DataFrame({"radon_class": [1, 2]}, index=["01004", "01004"]))


def test_a_regional_indicator_does_not_rank_the_towns_it_does_not_cover():
    """One town has a regional layer's value; the others have none: the layer does not move their ranks."""
    idx = pd.Index([f"0100{i}" for i in range(1, 9)], name="insee_com")
    base = pd.DataFrame({"catnat_total_count": [1, 2, 3, 4, 5, 6, 7, 8]}, index=idx)
    regional = _role(
        pd.DataFrame({"pac_risques_pct": [np.nan] * 7 + [0.0]}, index=idx), "risk", "pac_risques_pct"
    )  # measured in one town only
    cities = pd.DataFrame(index=idx)
    without = exposure_profile(cities, base)
    with_regional = exposure_profile(cities, base, regional)
    assert with_regional["rank"].tolist() == without["rank"].tolist() == [8, 7, 6, 5, 4, 3, 2, 1]
    assert with_regional.attrs["acv_geo_profile"]["excluded"] == {"pac_risques_pct": 0.125}
    assert with_regional["risk_n_indicators"].tolist() == [1] * 8
    # measured in most towns, it contributes, and towns without it rest on fewer indicators
    regional = _role(
        pd.DataFrame({"pac_risques_pct": [0.0, 1, 2, 3, 4, 5, np.nan, np.nan]}, index=idx), "risk", "pac_risques_pct"
    )
    out = exposure_profile(cities, base, regional)
    assert out["risk_n_indicators"].tolist() == [2] * 6 + [1, 1]
    strict = exposure_profile(cities, base, regional, min_indicators=2)
    assert strict["rank"].isna().tolist() == [False] * 6 + [True, True]
    assert strict.loc["01007", "profile_reason"] == "no value for any weighted sub-score: no rank"
    with pytest.raises(ValueError, match=r"min_coverage must be a share in \(0, 1\], got 0"):
        exposure_profile(cities, base, min_coverage=0)


def test_roles_come_from_the_metadata_never_from_column_names(cities, tables):
    """A name that looks like risk or nature counts only if its source says so; context never counts."""
    idx = IDX
    lookalikes = pd.DataFrame(
        {"parking_count": [1, 2, 3, 4], "tri_selectif_pct": [4.0, 3, 2, 1], "flood_pct": [1.0, 2, 3, 4]}, index=idx
    )
    base = exposure_profile(cities, *tables)
    out = exposure_profile(cities, *tables, lookalikes)
    assert out.attrs["acv_geo_profile"]["columns"] == base.attrs["acv_geo_profile"]["columns"]
    pd.testing.assert_series_equal(out["exposure_score"], base["exposure_score"])
    context = _role(lookalikes.copy(), "context", "flood_pct")
    assert indicator_metadata(context).set_index("column").loc["flood_pct", "scored"] == ""
    out = exposure_profile(cities, *tables, context)
    assert out.attrs["acv_geo_profile"]["columns"]["risk"] == base.attrs["acv_geo_profile"]["columns"]["risk"]
    declared = _role(lookalikes.copy(), "nature", "parking_count")
    out = exposure_profile(cities, *tables, declared)
    assert out.attrs["acv_geo_profile"]["columns"]["nature"] == ["znieff_share", "parking_count"]


def test_every_function_declares_its_role():
    """The national tables, the overlay and the zonal statistics say what they measure and what is scored."""
    import acv_geo
    from acv_geo.core.metadata import scored_columns

    city = acv_geo.read_acv().loc[["34003", "34032", "73065"]]
    risk = {
        f.__name__: scored_columns(f(city), "risk")
        for f in (
            acv_geo.radon_indicators,
            acv_geo.catnat_indicators,
            acv_geo.seismic_indicators,
            acv_geo.known_risks_indicators,
        )
    }
    assert risk == {
        "radon_indicators": ["radon_class"],
        "catnat_indicators": ["catnat_total_count"],
        "seismic_indicators": ["seismic_zone"],
        "known_risks_indicators": ["risks_known_count"],
    }
    zones = acv_geo.make_zones(city)
    pac = acv_geo.overlay_indicators(zones, acv_geo.get_path("herault_pac_risques"), preset="pac_risques")
    assert scored_columns(pac, "risk") == ["pac_risques_pct"]
    assert set(indicator_metadata(pac)["role"]) == {"risk"}
    marks = acv_geo.overlay_indicators(zones, acv_geo.get_path("reperes_crues_34"), name="marks", role="risk")
    assert scored_columns(marks, "risk") == ["marks_count"]
    plain = acv_geo.overlay_indicators(zones, acv_geo.get_path("reperes_crues_34"), name="marks")
    assert scored_columns(plain, "risk") == [] and set(indicator_metadata(plain)["role"]) == {"context"}
    dem = acv_geo.zonal_indicators(zones, acv_geo.get_path("dem_n45e005"), name="dem", threshold=300, role="risk")
    assert scored_columns(dem, "risk") == ["dem_below_300_pct"]
    with pytest.raises(ValueError, match="role must be 'risk', 'nature' or 'context'; got 'hazard'"):
        acv_geo.overlay_indicators(zones, acv_geo.get_path("reperes_crues_34"), role="hazard")
