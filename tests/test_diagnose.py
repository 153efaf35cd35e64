"""acv_geo.diagnose: the main job, end to end on the embedded real data, atomic outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

import acv_geo
from acv_geo.cli import main
from acv_geo.core.errors import InputError
from acv_geo.pipeline.config import load_config
from acv_geo.pipeline.run import OUTPUT_FILES, diagnose

PERMS = 99
SEED = 20250401


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diag") / "out"
    cfg = load_config(overrides={"clusters": {"permutations": PERMS}, "maps": {"dpi": 50}})
    res = diagnose(config=cfg, out_dir=out, quiet=True)
    return res, out


@pytest.fixture(scope="module")
def cities():
    return acv_geo.read_acv()


def _quick(**extra):
    """A minimal config: no layers, no maps, few permutations (for the atomicity tests)."""
    data = {
        "tables": {"catnat": False},
        "clusters": {"permutations": 9, "join_counts": False, "morans_i": False},
        "maps": {"enabled": False},
    }
    data.update(extra)
    return load_config(data)


# -------------------------------------------------------------------------------------------- outputs


def test_every_output_exists(run):
    res, out = run
    for name in OUTPUT_FILES:
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0
    maps = {p.name for p in (out / "maps").glob("*.png")}
    for m in (
        "opendata_status.png",
        "opendata_epci.png",
        "clusters_opendata.png",
        "pac_pct.png",
        "pac_inondation_pct.png",
        "flood_marks_count.png",
        "ppr_scie_pct.png",
        "dem_mean.png",
        "dem_below_300_pct.png",
        "radon_class.png",
        "catnat_total_count.png",
        "exposure_score.png",
    ):
        assert m in maps, m
    assert set(res.files) == {out / n for n in OUTPUT_FILES} | {out / "maps" / m for m in maps}
    # nothing left behind beside the output folder
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_cities_gpkg_has_every_city_once(run, cities):
    _, out = run
    assert set(pyogrio.list_layers(out / "cities.gpkg")[:, 0]) == {"cities", "epci"}
    g = pyogrio.read_dataframe(out / "cities.gpkg", layer="cities")
    assert len(g) == 244
    assert g["insee_com"].is_unique
    assert g["insee_com"].tolist() == cities.index.tolist()
    assert {"2A004", "2B033", "01004", "97105"} <= set(g["insee_com"])
    for col in (
        "opendata_level",
        "pac_pct",
        "dem_mean",
        "radon_class",
        "catnat_total_count",
        "cluster_opendata_label",
        "exposure_score",
        "rank",
    ):
        assert col in g.columns, col
    e = pyogrio.read_dataframe(out / "cities.gpkg", layer="epci")
    assert e["siren_epci"].is_unique
    assert set(e["siren_epci"]) == set(cities["siren_epci"].dropna())
    # every city with an EPCI is listed in its EPCI row
    listed = {c for v in e["acv_communes"] for c in v.split(", ")}
    assert listed == set(cities.index[cities["siren_epci"].notna()])


def test_indicator_tables(run):
    res, out = run
    csv = pd.read_csv(out / "indicators.csv", dtype={"insee_com": str})
    pq = pd.read_parquet(out / "indicators.parquet")
    assert len(csv) == len(pq) == 244
    assert csv["insee_com"].tolist() == pq["insee_com"].tolist() == res.cities.index.tolist()
    np.testing.assert_allclose(csv["dem_mean"].to_numpy(float), pq["dem_mean"].to_numpy(float), equal_nan=True)
    meta = pd.read_csv(out / "indicators.metadata.csv", dtype=str, keep_default_na=False)
    assert list(meta.columns) == [
        "column",
        "label_fr",
        "label_en",
        "unit",
        "source",
        "date",
        "description",
        "role",
        "scored",
    ]
    assert (out / "indicator_metadata.csv").read_bytes() == (out / "indicators.metadata.csv").read_bytes()
    described = set(meta["column"])
    # every written column has its row, with a label in both languages
    assert meta["column"].tolist() == csv.columns.tolist()
    assert (meta["label_fr"] != "").all() and (meta["label_en"] != "").all()
    assert not meta["label_fr"].str.fullmatch(r"[a-z0-9_]+").any()
    labels = meta.set_index("column")
    assert labels.loc["pac_inondation_et_submersion_marine_dist_m", "label_fr"] == (
        "Zones de risque portées à connaissance (PAC, Hérault) : inondation et submersion marine, distance (m)"
    )
    assert labels.loc["flood_marks_b2000_count", "label_en"] == (
        "Historical flood marks (Hérault) (within 2 km of the centre): count"
    )
    assert labels.loc["catnat_flood_last_year", "label_fr"] == "Arrêtés CatNat, inondation : dernière année"
    gmeta = pd.read_csv(out / "cities.metadata.csv", dtype=str, keep_default_na=False)
    for layer in ("cities", "epci"):
        fields = pyogrio.read_info(out / "cities.gpkg", layer=layer)["fields"].tolist()
        assert gmeta.loc[gmeta["layer"] == layer, "column"].tolist() == fields, layer
    assert (gmeta["label_fr"] != "").all()
    scored = labels[labels["scored"] == "yes"]
    assert scored["role"].to_dict() == {
        "opendata_level": "opendata",
        "pac_pct": "risk",
        "flood_marks_count": "risk",
        "ppr_scie_pct": "risk",
        "dem_below_300_pct": "risk",
        "radon_class": "risk",
        "catnat_total_count": "risk",
        "seismic_zone": "risk",
        "risks_known_count": "risk",
    }
    assert {"opendata", "opendata_level", "opendata_2020", "opendata_change"} <= described
    for c in (
        "pac_pct",
        "dem_mean",
        "radon_class",
        "catnat_total_count",
        "exposure_score",
        "pac_covered",
        "cluster_opendata_label",
        "opendata_level",
    ):
        assert c in described, c
    row = meta.set_index("column").loc["dem_mean"]
    assert row["unit"] == "m" and "Copernicus" in row["source"]
    # descriptions name the layer by its label, not by an absolute path
    assert not meta["description"].fillna("").str.contains(str(acv_geo.get_path("radon").parent)).any()


def test_values_equal_the_core_functions(run, cities):
    res, _ = run
    got = res.cities
    zones = acv_geo.make_zones(cities)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pac = acv_geo.overlay_indicators(
            zones, acv_geo.get_path("herault_pac_risques"), preset="pac_risques", name="pac", coverage=["34"]
        )  # as the default config declares
        marks = acv_geo.overlay_indicators(
            acv_geo.make_zones(cities, kind="buffer", radius=2000),
            acv_geo.get_path("reperes_crues_34"),
            name="flood_marks_b2000",
            coverage=["34"],
        )
        dem = acv_geo.zonal_indicators(
            zones,
            acv_geo.get_path("dem_n45e005"),
            name="dem",
            stats=["mean", "min", "max", "coverage_pct"],
            threshold=300,
        )
    for c in pac.columns:
        pd.testing.assert_series_equal(got[c], pac[c], check_names=False, check_dtype=False)
    pd.testing.assert_series_equal(
        got["flood_marks_b2000_count"], marks["flood_marks_b2000_count"], check_names=False, check_dtype=False
    )
    for c in ("dem_mean", "dem_min", "dem_max", "dem_coverage_pct", "dem_below_300_pct"):
        pd.testing.assert_series_equal(got[c], dem[c], check_names=False, check_dtype=False)
    radon = acv_geo.radon_indicators(cities)
    pd.testing.assert_series_equal(got["radon_class"], radon["radon_class"], check_names=False)
    catnat = acv_geo.catnat_indicators(cities)
    pd.testing.assert_series_equal(got["catnat_total_count"], catnat["catnat_total_count"], check_names=False)
    lisa = acv_geo.local_clusters(
        cities, "opendata", weights="knn:6", permutations=PERMS, seed=SEED, alpha=0.05
    ).to_frame()
    np.testing.assert_allclose(got["cluster_opendata_p_sim"].to_numpy(float), lisa["p_sim"].to_numpy(float))
    assert got["cluster_opendata_label"].tolist() == lisa["label"].tolist()
    prof = acv_geo.exposure_profile(cities, pac, dem, radon, catnat)
    assert prof.index.tolist() == got.index.tolist()


def test_exact_values_on_the_embedded_data(run):
    res, _ = run
    c = res.cities
    assert c["opendata_level"].value_counts().to_dict() == {"none": 133, "epci": 66, "commune": 45}
    assert round(float(c.loc["73065", "dem_mean"]), 2) == 309.28  # Chambéry
    assert round(float(c.loc["73065", "dem_below_300_pct"]), 2) == 54.79
    assert c["dem_mean"].notna().sum() == 7
    # the PAC layer covers the Hérault towns only; the Scie PPR covers Dieppe
    assert bool(c.loc["34301", "pac_covered"]) and float(c.loc["34301", "pac_pct"]) > 0  # Sète
    assert not bool(c.loc["76217", "pac_covered"]) and bool(c.loc["76217", "ppr_scie_covered"])  # Dieppe
    # coverage = the department the config declares: the five Hérault towns; Narbonne (Aude) is not
    # measured (NA with the reason), although its commune reaches the convex hull of the features
    assert sorted(c.index[c["pac_covered"].fillna(False)]) == ["34003", "34032", "34108", "34145", "34301"]
    assert (
        c[[x for x in c.columns if x.startswith(("pac_", "flood_marks_")) and not x.endswith(("_reason", "_covered"))]]
        .drop(index=["34003", "34032", "34108", "34145", "34301"])
        .isna()
        .all()
        .all()
    )
    assert c.loc["11262", "pac_reason"] == (
        "outside the coverage of herault_pac_risques.gpkg (department 34): not measured"
    )
    assert pd.isna(c.loc["80001", "pac_dist_m"])  # Abbeville: no 700 km distance to a Hérault feature
    assert res.clusters["settings"]["permutations"] == PERMS
    assert sum(res.clusters["labels"]["opendata"].values()) == 244


def test_clusters_json(run):
    _, out = run
    doc = json.loads((out / "clusters.json").read_text(encoding="utf-8"))
    assert doc["settings"]["weights"] == "knn:6" and doc["settings"]["seed"] == SEED
    assert len(doc["cities"]["opendata"]) == 244
    jc = doc["global"]["opendata"]["join_counts"]
    assert jc["n"] == 244 and jc["n_black"] == 111 and jc["bb"] == 159
    assert doc["global"]["opendata"]["morans_i"]["n"] == 244


def test_report_has_a_fiche_per_city(run, cities):
    _, out = run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("class='fiche'") == 244
    for code in cities.index:
        assert f"id='c{code}'" in page
    assert page.count("data:image/png;base64,") == len(list((out / "maps").glob("*.png")))
    assert "<script" not in page and 'src="http' not in page
    assert "page-break-before: always" in page
    # Season 2 gaps derived from the data: Dieppe has no PAC coverage, towns outside the DEM have no DEM
    fiche = page[page.index("id='c76217'") :]
    fiche = fiche[: fiche.index("</section>")]
    assert "Hors de la couverture de la couche « Zones de risque portées à connaissance (PAC, Hérault) »" in fiche
    assert "Hors de la couverture du raster « Altitude" in fiche


def test_summary_text(run):
    res, _ = run
    s = res.summary()
    assert "244 cities" in s and "45 commune, 66 epci, 133 none" in s
    assert "join counts BB=159" in s


# -------------------------------------------------------------------------------------------- errors


def test_out_dir_is_a_file(tmp_path):
    f = tmp_path / "out"
    f.write_text("x")
    with pytest.raises(NotADirectoryError, match=r"out: is a file, not a folder"):
        diagnose(config=_quick(), out_dir=f, quiet=True)
    assert f.read_text() == "x"


def test_cli_out_dir_is_a_file(tmp_path, capsys):
    f = tmp_path / "out.txt"
    f.write_text("x")
    assert main(["diagnose", "--quiet", "--out", str(f)]) == 2
    assert "acv-geo: error:" in capsys.readouterr().err


def test_cli_bad_config(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[layers]]\nname = "pac"\nsource = "herault_pac_risques"\ncategory = "HAZARD"\n')
    assert main(["diagnose", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "c.toml: layers[0].category: field 'HAZARD' not in layer" in err
    assert not (tmp_path / "o").exists()


def test_refuses_a_foreign_non_empty_folder(tmp_path):
    d = tmp_path / "home"
    d.mkdir()
    (d / "thesis.docx").write_text("precious")
    with pytest.raises(InputError, match=r"home: the folder exists, is not empty and was not written by acv-geo"):
        diagnose(config=_quick(), out_dir=d, quiet=True)
    assert (d / "thesis.docx").read_text() == "precious"


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_interrupted_run_keeps_previous_outputs(tmp_path, monkeypatch, exc):
    out = tmp_path / "out"
    first = diagnose(config=_quick(), out_dir=out, quiet=True)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert len(first.files) == len(OUTPUT_FILES) == 8  # tables, their metadata, clusters.json, report

    import acv_geo.outputs.report

    def fail(*a, **k):
        raise exc

    monkeypatch.setattr(acv_geo.outputs.report, "draft_report", fail)
    with pytest.raises(type(exc)):
        diagnose(config=_quick(), out_dir=out, quiet=True)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left
    monkeypatch.undo()
    second = diagnose(config=_quick(), out_dir=out, quiet=True)
    assert (
        json.loads((out / ".acv-geo-diagnose.json").read_text())["created"]
        >= json.loads(before[Path(".acv-geo-diagnose.json")])["created"]
    )
    assert len(second.cities) == 244


def test_failed_first_run_leaves_nothing(tmp_path, monkeypatch):
    import acv_geo.pipeline.run as d

    def fail(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(d, "_write_tables", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        diagnose(config=_quick(), out_dir=tmp_path / "out", quiet=True)
    assert list(tmp_path.iterdir()) == []


def test_cities_argument_is_not_modified(tmp_path, cities):
    sub = cities.iloc[:40].copy()
    snapshot = sub.copy()
    res = diagnose(sub, config=_quick(), out_dir=tmp_path / "o", quiet=True)
    pd.testing.assert_frame_equal(sub, snapshot)
    assert res.cities.index.tolist() == sub.index.tolist()
    assert len(pd.read_csv(tmp_path / "o" / "indicators.csv")) == 40


def test_progress_bar_and_quiet(tmp_path, capsys):
    """The library draws its bar (tqdm, stderr) and prints nothing; the CLI prints the summary."""
    res = diagnose(config=_quick(), out_dir=tmp_path / "a")
    cap = capsys.readouterr()
    assert "100%" in cap.err and f"{len(res.timings)}/" in cap.err
    assert cap.out == ""
    diagnose(config=_quick(), out_dir=tmp_path / "b", quiet=True)  # deprecated meaning: no bar
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == ""
    diagnose(config=_quick(), out_dir=tmp_path / "c", progress=False)
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == ""


def test_progress_callback_and_timings(tmp_path):
    seen = []
    res = diagnose(config=_quick(), out_dir=tmp_path / "a", progress=lambda f, m: seen.append((f, m)))
    assert seen[0] == (0.0, "reading cities") and seen[-1] == (1.0, "done")
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)
    assert list(res.timings)[:3] == ["reading cities", "reading commune and EPCI polygons", "building zones"]
    assert list(res.timings)[-1] == "replacing the output folder" and all(v >= 0 for v in res.timings.values())
    assert [m for _, m in seen[:-1]] == list(dict.fromkeys(res.timings))  # each step reported when it starts


def test_cli_prints_the_summary_unless_quiet(tmp_path, capsys, cities):
    sub = tmp_path / "three.gpkg"
    cities.loc[["34301", "11262", "76217"]].reset_index().to_file(sub, layer="three", driver="GPKG")
    cfg = tmp_path / "quick.toml"
    cfg.write_text("[tables]\ncatnat = false\n[clusters]\npermutations = 9\n[maps]\nenabled = false\n")
    assert main(["diagnose", "--config", str(cfg), "--cities", str(sub), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"acv-geo diagnose: 3 cities → {tmp_path / 'o'}\n")
    assert "  warning: clusters: knn:6: territory metropole has only 3 units, so k is capped at 2 there" in out
    assert main(["diagnose", "--quiet", "--config", str(cfg), "--cities", str(sub), "--out", str(tmp_path / "o")]) == 0
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == ""


def test_warnings_are_plain_text_and_in_the_summary(tmp_path, cities):
    res = diagnose(cities.loc[["34301", "11262", "76217"]], config=_quick(), out_dir=tmp_path / "o", progress=False)
    assert isinstance(res.warnings, tuple) and all(isinstance(w, str) for w in res.warnings)
    assert "clusters: knn:6: territory metropole has only 3 units, so k is capped at 2 there" in res.warnings
    assert [f"  warning: {w}" for w in res.warnings] == [x for x in res.summary().splitlines() if "warning:" in x]
    assert "warning:" not in res.summary(with_warnings=False)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _fiche_page(page: str, code: str) -> str:
    """One fiche of the report as a page of its own (same head and style), for a screenshot."""
    start = page.index(f"<section class='fiche' id='c{code}'")
    return page[: page.index("<body>") + 6] + page[start : page.index("</section>", start) + 10] + "</body></html>"


def _shot(html_path, png, tmp_path, height=1600):
    from PIL import Image

    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={png}",
        f"--window-size=1100,{height}",
        html_path.as_uri(),
    ]
    subprocess.run(cmd, check=False, capture_output=True, timeout=180)
    assert png.is_file(), f"chromium wrote no screenshot of {html_path.name}"
    return np.asarray(Image.open(png).convert("RGB"), dtype=int)


def test_report_reads_in_french_with_a_map_of_each_town(run, tmp_path):
    """What a town-hall GIS officer sees: French headings, labels instead of column names, a map of the town."""
    import re

    _, out = run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html><html lang='fr'>")
    assert "<h2>Synthèse nationale</h2>" in page and "<h3>Comment le classement est fait</h3>" not in page
    assert "<h4>Comment le classement est fait</h4>" in page
    assert page.count("<svg ") == page.count("class='fiche'") == 244
    for code, covered in (("34301", True), ("11262", False)):
        fiche = _fiche_page(page, code)
        cells = re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", fiche)
        raw = [c for c in cells if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", c.strip())]
        assert raw == [], f"raw column names shown in the fiche of {code}: {raw}"
        assert "<h3>Carte de la commune</h3>" in fiche and 'class="townmap"' in fiche
        assert ("Zones de risque portées à connaissance (PAC, Hérault) (" in fiche) is covered
        assert ("Hors de la couverture de la couche (département 34)" in fiche) is not covered
        visible = re.sub(r"<[^>]+>", " ", fiche[fiche.index("<body>") :])  # what a reader sees (not tooltips)
        assert "department" not in visible and "not measured" not in visible
        if CHROMIUM is None:
            continue
        path = tmp_path / f"fiche_{code}.html"
        path.write_text(fiche, encoding="utf-8")
        img = _shot(path, tmp_path / f"fiche_{code}.png", tmp_path)
        assert img.shape[:2] == (1600, 1100) and img.std() > 10
        # the PAC zones are drawn in the town map of Sète (red #d7301f at 35 % on white), not in Narbonne's
        pac = int((np.abs(img - [241, 183, 177]).sum(axis=2) < 30).sum())
        assert (pac > 8000) == covered, (code, pac)  # (anti-aliased red text gives a few hundred such pixels)
    if CHROMIUM is not None:
        img = _shot(out / "report.html", tmp_path / "summary.png", tmp_path, height=1200)
        assert img.std() > 10 and (img.mean(axis=2) < 100).mean() > 0.002


def test_buffer_zones_are_built_only_where_a_layer_on_them_has_data(cities):
    """The default flood marks (Hérault) are measured on 2 km buffers: only the Hérault towns get one;
    a raster on the same zones (no department coverage) needs every town's."""
    from acv_geo.pipeline.run import _covered_by_users

    cfg = load_config(None)
    mask = _covered_by_users("buffer:2000", cities, cfg)
    assert mask.tolist() == (cities["code_dep"] == "34").tolist() and mask.sum() == 5
    raster = load_config({"rasters": [{"name": "dem", "source": "dem_n45e005", "zones": ["buffer:2000"]}]})
    assert _covered_by_users("buffer:2000", cities, raster) is None
    assert _covered_by_users("epci", cities, cfg) is None  # no source on these zones
