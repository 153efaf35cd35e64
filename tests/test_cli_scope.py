"""National scope and engines through the CLI: every commune, spatial chunks, Dask."""

from __future__ import annotations

import pandas as pd
import pytest

import acv_geo
from acv_geo.cli import main


@pytest.mark.slow
def test_all_communes_buffers_chunked_equal_direct(tmp_path):
    out = tmp_path / "all.parquet"
    layer = str(acv_geo.get_path("herault_pac_risques"))
    assert (
        main(
            [
                "indicators",
                "--layer",
                layer,
                "--preset",
                "pac_risques",
                "--scope",
                "all-communes",
                "--zone",
                "buffer:300",
                "--chunk-size",
                "4000",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    got = pd.read_parquet(out).set_index("insee_com")
    allc = acv_geo.read_all_communes()
    assert list(got.index) == list(allc.index)  # every commune, in order, none lost
    # direct call (no chunks) on the Hérault communes gives the same values
    sub = allc[allc["code_dep"] == "34"]
    direct = acv_geo.overlay_indicators(acv_geo.make_zones(sub, kind="buffer", radius=300), layer, preset="pac_risques")
    num = [c for c in direct.columns if c != "pac_risques_reason"]
    pd.testing.assert_frame_equal(got.loc[sub.index, num], direct[num], check_dtype=False)
    assert (
        got.loc[sub.index, "pac_risques_reason"].fillna("").tolist() == direct["pac_risques_reason"].fillna("").tolist()
    )
    assert (got.loc[sub.index, "pac_risques_area_m2"] > 0).sum() > 50


def test_dask_engine_equals_local_through_cli(tmp_path):
    pytest.importorskip("dask_geopandas")
    layer = str(acv_geo.get_path("herault_pac_risques"))
    common = ["indicators", "--layer", layer, "--preset", "pac_risques", "--zone", "buffer:2000"]
    assert main([*common, "--out", str(tmp_path / "local.csv")]) == 0
    assert (
        main([*common, "--engine", "dask", "--workers", "1", "--chunk-size", "60", "--out", str(tmp_path / "dask.csv")])
        == 0
    )
    a = pd.read_csv(tmp_path / "local.csv", dtype={"insee_com": str})
    b = pd.read_csv(tmp_path / "dask.csv", dtype={"insee_com": str})
    pd.testing.assert_frame_equal(a, b)


def test_all_communes_commune_zones_need_polygons(tmp_path, capsys):
    code = main(
        [
            "zonal",
            "--raster",
            str(acv_geo.get_path("dem_n45e005")),
            "--scope",
            "all-communes",
            "--out",
            str(tmp_path / "z.csv"),
        ]
    )
    assert code == 2
    assert "--scope all-communes with commune zones needs --communes FILE" in capsys.readouterr().err
    assert not (tmp_path / "z.csv").exists()


def test_dask_only_options_need_the_dask_engine(tmp_path, capsys):
    layer = str(acv_geo.get_path("herault_pac_risques"))
    common = ["indicators", "--layer", layer, "--preset", "pac_risques", "--out", str(tmp_path / "x.csv")]
    assert main([*common, "--workers", "2"]) == 2
    assert "--workers only apply to the Dask engine; add --engine dask" in capsys.readouterr().err
    assert main([*common, "--engine", "dask", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "with --scheduler the cluster is yours: drop --workers" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*common, "--engine", "dask", "--workers", "0"])
    assert exc.value.code == 2
    assert "expected a whole number ≥ 1, got '0'" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_all_epci_scope_one_row_per_epci(tmp_path, capsys):
    layer = str(acv_geo.get_path("herault_pac_risques"))
    out = tmp_path / "epci.csv"
    assert (
        main(
            [
                "indicators",
                "--layer",
                layer,
                "--preset",
                "pac_risques",
                "--scope",
                "all-epci",
                "--no-distances",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "1255 EPCIs × " in capsys.readouterr().out
    got = pd.read_csv(out, dtype={"siren_epci": str}).set_index("siren_epci")
    epci = acv_geo.read_epci()
    assert list(got.index) == list(epci.index)  # every EPCI, in order
    direct = acv_geo.overlay_indicators(
        acv_geo.polygon_zones(epci, kind="epci"), layer, preset="pac_risques", distances=False
    )
    num = [c for c in direct.columns if c != "pac_risques_reason"]
    pd.testing.assert_frame_equal(got[num], direct[num], check_dtype=False, check_names=False)
    # the Hérault layer covers Hérault (coverage derived from its features): the 17 EPCIs whose centre lies
    # in department 34 are measured; every other EPCI is NA with the reason, never 0
    measured = got.index[got["pac_risques_area_m2"].notna()]
    assert len(measured) == 17
    assert (
        got.loc[~got.index.isin(measured), "pac_risques_reason"]
        .str.startswith("outside the coverage of herault_pac_risques.gpkg (department 34 (derived from its features))")
        .all()
    )
    covered = got.index[got["pac_risques_area_m2"] > 0]
    assert len(covered) == 17
    # among them the EPCIs of the five ACV towns of Hérault (Agde, Béziers, Lunel, Sète, Frontignan)
    acv = acv_geo.read_acv()
    assert set(acv.loc[acv.index.str.startswith("34"), "siren_epci"]) <= set(covered)
    # zonal statistics per EPCI: only the EPCIs under the DEM tile have data
    dem = str(acv_geo.get_path("dem_n45e005"))
    assert main(["zonal", "--raster", dem, "--scope", "all-epci", "--out", str(tmp_path / "z.csv")]) == 0
    assert "for 1255 EPCIs written" in capsys.readouterr().out


def test_all_epci_scope_refuses_city_options(tmp_path, capsys):
    layer = str(acv_geo.get_path("herault_pac_risques"))
    common = ["indicators", "--layer", layer, "--preset", "pac_risques", "--out", str(tmp_path / "x.csv")]
    assert main([*common, "--scope", "all-epci", "--zone", "buffer:300"]) == 2
    assert (
        "--zone do not apply with --scope all-epci: each EPCI polygon is its own zone; drop them"
        in capsys.readouterr().err
    )
    assert main([*common, "--epci", "epci.gpkg"]) == 2
    assert "--epci only applies with --scope all-epci" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
