"""``acv-geo --json`` (the QGIS plugin's protocol), cancel by SIGTERM, and the subcommands the plugin added:
profile, weights, --zones (one zone per polygon of the user's layer), --geometry map layers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import acv_geo
from acv_geo.cli import main
from acv_geo.indicators.overlay import overlay_indicators
from acv_geo.indicators.profile import exposure_profile, rank_candidates
from acv_geo.indicators.tables import radon_indicators
from acv_geo.stats.weights import spatial_weights
from acv_geo.zones import polygon_zones


def events(capsys, argv) -> tuple[int, list[dict]]:
    code = main(["--json", *argv])
    lines = capsys.readouterr().out.splitlines()
    return code, [json.loads(line) for line in lines]


def test_json_events_of_a_successful_run(capsys, tmp_path):
    code, evs = events(capsys, ["cities", "--out", str(tmp_path / "c.gpkg")])
    assert code == 0
    assert evs[0] == {"event": "start", "protocol": 1, "version": acv_geo.__version__, "command": "cities"}
    assert evs[-1] == {"event": "end", "code": 0}
    fractions = [e["fraction"] for e in evs if e["event"] == "progress"]
    assert fractions == sorted(fractions) and 0 < fractions[-1] <= 1
    assert {"event": "result", "n_cities": 244, "n_opendata": 111, "n_repairs": 3} in evs
    # the repairs reach the log events (the plugin shows them), printed lines become info events
    assert any(e["event"] == "log" and "overseas map-inset position" in e["message"] for e in evs)
    assert any(e["event"] == "info" and e["message"].startswith("244 cities written to") for e in evs)


def test_json_events_of_bad_input(capsys, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ValueError) as core:
        acv_geo.read_acv(empty)
    code, evs = events(capsys, ["cities", "--source", str(empty), "--out", str(tmp_path / "c.gpkg")])
    assert code == 2
    assert evs[-2] == {"event": "error", "message": str(core.value), "code": 2}
    assert evs[-1] == {"event": "end", "code": 2}
    assert not (tmp_path / "c.gpkg").exists()


def test_json_events_of_diagnose_carry_its_warnings(capsys, tmp_path):
    """The run's warnings are `warning` events (what the QGIS plugin reads), not text to parse."""
    three = tmp_path / "three.gpkg"
    acv_geo.read_acv().loc[["34301", "11262", "76217"]].reset_index().to_file(three, layer="three", driver="GPKG")
    cfg = tmp_path / "quick.toml"
    cfg.write_text("[tables]\ncatnat = false\n[clusters]\npermutations = 9\n[maps]\nenabled = false\n")
    code, evs = events(capsys, ["diagnose", "--config", str(cfg), "--cities", str(three), "--out", str(tmp_path / "o")])
    assert code == 0 and evs[-1] == {"event": "end", "code": 0}
    warned = [e["message"] for e in evs if e["event"] == "warning"]
    assert "clusters: knn:6: territory metropole has only 3 units, so k is capped at 2 there" in warned
    infos = [e["message"] for e in evs if e["event"] == "info"]
    assert infos[0] == f"acv-geo diagnose: 3 cities → {tmp_path / 'o'}" and not any("warning" in m for m in infos)
    progress = [e for e in evs if e["event"] == "progress"]
    assert progress[0]["message"] == "reading cities" and progress[-1] == {
        "event": "progress",
        "fraction": 1.0,
        "message": "done",
    }
    result = next(e for e in evs if e["event"] == "result")
    assert result["n_cities"] == 3 and result["report"] == str(tmp_path / "o" / "report.html")


def test_json_mode_restores_stdout_and_logging(capsys, tmp_path):
    import logging

    before = (sys.stdout, logging.getLogger("acv_geo").propagate)
    events(capsys, ["weights", "--out", str(tmp_path / "w.csv")])
    assert (sys.stdout, logging.getLogger("acv_geo").propagate) == before


def test_sigterm_stops_diagnose_and_leaves_the_previous_outputs(tmp_path):
    """The plugin's cancel: SIGTERM unwinds like Ctrl-C; no temporary folder is left; exit 130."""
    out = tmp_path / "diag"
    proc = subprocess.Popen(
        [sys.executable, "-m", "acv_geo", "--json", "diagnose", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until it is computing
        if json.loads(line).get("message", "").startswith("overlay"):
            break
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rest = proc.stdout.read()
    code = proc.wait(10)
    assert time.monotonic() - t0 < 2.0
    assert code == 130
    tail = [json.loads(line) for line in rest.splitlines()]
    assert tail[-2:] == [
        {"event": "error", "message": "interrupted; no partial output was left behind", "code": 130},
        {"event": "end", "code": 130},
    ]
    assert [p.name for p in tmp_path.iterdir()] == []


def test_profile_subcommand_equals_exposure_profile(tmp_path):
    cities = acv_geo.read_acv()
    main(["tables", "--radon", "--out", str(tmp_path / "t.csv")])
    assert (
        main(
            [
                "profile",
                "--table",
                str(tmp_path / "t.csv"),
                "--weights",
                "risk=1,nature=0,opendata=1",
                "--out",
                str(tmp_path / "p.csv"),
            ]
        )
        == 0
    )
    got = pd.read_csv(tmp_path / "p.csv", dtype={"insee_com": str}).set_index("insee_com")
    expected = rank_candidates(
        exposure_profile(cities, radon_indicators(cities), weights={"risk": 1, "nature": 0, "opendata": 1})
    )
    assert list(got.index) == list(expected.index)
    pd.testing.assert_series_equal(
        got["exposure_score"], expected["exposure_score"], check_names=False, check_index_type=False
    )
    assert got["rank"].iloc[0] == 1


def test_profile_bad_weights(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["profile", "--weights", "risk", "--out", str(tmp_path / "p.csv")])
    assert "expected NAME=NUMBER pairs such as risk=1,nature=0.5, got 'risk'" in capsys.readouterr().err


def test_weights_subcommand_equals_spatial_weights(tmp_path):
    cities = acv_geo.read_acv()
    assert main(["weights", "--weights", "knn:4", "--out", str(tmp_path / "w.gal")]) == 0
    with pytest.warns(UserWarning):
        spatial_weights(cities, "knn:4").to_gal(tmp_path / "core.gal")
    assert (tmp_path / "w.gal").read_text() == (tmp_path / "core.gal").read_text()


def test_weights_bad_extension(capsys, tmp_path):
    assert main(["weights", "--out", str(tmp_path / "w.txt")]) == 2
    assert f"{tmp_path / 'w.txt'}: --out must end with .gal or .csv" in capsys.readouterr().err


def _squares(path: Path, key: str, crs=2154) -> None:
    # two 1 km squares in Agde (Hérault), in Lambert-93
    geoms = [shapely.box(760000, 6245000, 761000, 6246000), shapely.box(762000, 6245000, 763000, 6246000)]
    gpd.GeoDataFrame({key: ["sq1", "sq2"]}, geometry=geoms, crs=crs).to_file(path)


def test_zones_from_a_user_polygon_layer(tmp_path):
    src = tmp_path / "areas.gpkg"
    _squares(src, "name")
    layer = acv_geo.get_path("herault_pac_risques")
    assert (
        main(
            [
                "indicators",
                "--zones",
                str(src),
                "--zones-id",
                "name",
                "--layer",
                str(layer),
                "--name",
                "pac",
                "--out",
                str(tmp_path / "o.csv"),
            ]
        )
        == 0
    )
    got = pd.read_csv(tmp_path / "o.csv").set_index("name")
    polygons, kind = acv_geo.read_polygons(src, key="name")
    assert kind == "polygon"
    expected = overlay_indicators(polygon_zones(polygons, kind=kind), layer, name="pac")
    assert list(got.index) == ["sq1", "sq2"]
    assert got["pac_area_m2"].tolist() == pytest.approx(expected["pac_area_m2"].tolist(), rel=1e-12)
    # a 1 km square: its area is 1e6 m², so the share is area / 1e4
    assert got["pac_pct"].tolist() == pytest.approx((expected["pac_area_m2"] / 1e4).tolist(), rel=1e-6)


def test_zones_layer_without_an_identifier(capsys, tmp_path):
    src = tmp_path / "areas.gpkg"
    _squares(src, "label")
    assert (
        main(
            [
                "indicators",
                "--zones",
                str(src),
                "--layer",
                str(acv_geo.get_path("herault_pac_risques")),
                "--out",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    assert (
        f"{src}: no INSEE or SIREN field among ['label']; name the field that identifies each polygon "
        "(CLI --zones-id FIELD, Python key=)"
    ) in capsys.readouterr().err


def test_zones_with_cities_options_refused(capsys, tmp_path):
    src = tmp_path / "areas.gpkg"
    _squares(src, "name")
    assert (
        main(
            [
                "indicators",
                "--zones",
                str(src),
                "--zones-id",
                "name",
                "--zone",
                "epci",
                "--layer",
                str(acv_geo.get_path("herault_pac_risques")),
                "--out",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    assert (
        f"--zone do not apply with --zones: each polygon of {src} is its own zone; drop them" in capsys.readouterr().err
    )


def test_geometry_option_writes_the_zone_polygons_and_integer_counts(tmp_path):
    out = tmp_path / "o.gpkg"
    assert (
        main(
            [
                "indicators",
                "--layer",
                str(acv_geo.get_path("reperes_crues_34")),
                "--name",
                "marks",
                "--coverage",
                "34",
                "--geometry",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    got = gpd.read_file(out).set_index("insee_com")
    assert list(got.columns[:4]) == ["commune", "territory", "zone_kind", "zone_reason"]
    assert got.geom_type.isin(["Polygon", "MultiPolygon"]).all() and got.crs.to_epsg() == 4326
    import pyogrio

    info = pyogrio.read_info(out)
    assert dict(zip(info["fields"], info["dtypes"], strict=True))["marks_count"] == "int64"  # an integer field
    assert got["marks_count"].isna().sum() == 244 - 5  # outside Hérault (the layer's coverage): not measured
    assert got.loc["34003", "commune"] == "Agde"


def test_read_polygons_detects_communes_and_epcis(tmp_path):
    com, kind = acv_geo.read_polygons(acv_geo.get_path("acv_communes_polygons"))
    assert kind == "commune" and com.index.name == "insee_com" and len(com) == 244
    epci, kind = acv_geo.read_polygons(acv_geo.get_path("epci"))
    assert kind == "epci" and epci.index.name == "siren_epci" and len(epci) == 1255


def test_read_polygons_duplicate_identifiers(tmp_path):
    src = tmp_path / "dup.gpkg"
    geoms = [shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)]
    gpd.GeoDataFrame({"k": ["a", "a"]}, geometry=geoms, crs=4326).to_file(src)
    with pytest.raises(acv_geo.InputError) as info:
        acv_geo.read_polygons(src, key="k")
    assert str(info.value) == f"{src}: field 'k' must identify each polygon once; empty or repeated values ['a']"


def test_python_dash_m_runs_the_cli(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "acv_geo", "--version"], capture_output=True, text=True, cwd=tmp_path, env={**os.environ}
    )
    assert proc.stdout.strip() == f"acv-geo {acv_geo.__version__}"
