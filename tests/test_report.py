"""acv_geo.outputs.report: self-contained, escaped, printable HTML that really renders (headless Chromium)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

import acv_geo
from acv_geo.outputs.report import build_report, season2_gaps
from acv_geo.pipeline.config import load_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    """A report of 6 real cities with one real map."""
    from acv_geo.outputs.maps import plot_map

    tmp = tmp_path_factory.mktemp("report")
    cities = acv_geo.read_acv().loc[["34301", "76217", "73065", "97105", "2A004", "01004"]]
    radon = acv_geo.radon_indicators(cities)
    catnat = acv_geo.catnat_indicators(cities)
    full = cities.join(radon).join(catnat)
    full.attrs["acv_geo_metadata"] = radon.attrs["acv_geo_metadata"] + catnat.attrs["acv_geo_metadata"]
    meta = acv_geo.indicator_metadata(full)
    fig = plot_map(full, "radon_class", kind="choropleth", title="Radon", source_note="IRSN")
    png = tmp / "radon_class.png"
    fig.savefig(png, dpi=60)
    page = build_report(full, metadata=meta, maps={"radon_class": png}, config=load_config(check_files=False))
    path = tmp / "report.html"
    path.write_text(page, encoding="utf-8")
    return path, page, full


def test_structure(small_report):
    _, page, full = small_report
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("class='fiche'") == len(full) == 6
    assert page.count("data:image/png;base64,") == 1
    assert "@media print" in page and "page-break-before: always" in page
    # fiche of Sète: radon class and its source and date from the metadata
    fiche = page[page.index("id='c34301'") :]
    fiche = fiche[: fiche.index("</section>")]
    assert "IRSN « potentiel radon de ma commune »" in fiche
    assert "<td title='radon_class — IRSN radon potential class" in fiche
    assert ">Potentiel radon (classe)</td><td class='num'>" in fiche
    # Sète publishes open data itself (ODATER 2022): the fiche says exactly that, and not the other cases
    assert "la commune publie elle-même des données ouvertes" in fiche
    assert "its EPCI does" not in fiche and "neither the commune nor its EPCI" not in fiche


def test_text_is_escaped():
    idx = pd.Index(["01004"], name="insee_com")
    df = pd.DataFrame(
        {
            "commune": ["<script>alert(1)</script>"],
            "url_portail_com": ['https://x.fr/?a=1&b="2"'],
            "opendata_level": ["commune"],
            "radon_class": [2],
        },
        index=idx,
    )
    meta = pd.DataFrame(
        [{"column": "radon_class", "unit": "class", "source": "IRSN <b>", "date": "2018", "description": "a & b"}]
    )
    page = build_report(df, metadata=meta)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="https://x.fr/?a=1&amp;b=&#34;2&#34;"' in page  # (markupsafe's entities for quotes)
    assert "IRSN &lt;b&gt;" in page and "a &amp; b" in page


def test_season2_gaps():
    cfg = load_config()
    row = pd.Series(
        {
            "opendata_level": "none",
            "pac_covered": False,
            "flood_marks_covered": False,
            "ppr_scie_covered": False,
            "dem_mean": np.nan,
            "dem_reason": "zone outside the raster",
            "radon_class": 2,
            "radon_reason": pd.NA,
            "catnat_total_count": pd.NA,
            "catnat_reason": "commune not in the CatNat table",
        }
    )
    gaps = season2_gaps(row, config=cfg)
    assert gaps[0].startswith("Pas de portail open data")
    assert "Hors de la couverture de la couche « Zones de risque portées à connaissance (PAC, Hérault) »." in gaps
    assert any(g.startswith("Aucune couche de zones de risque ne la couvre") for g in gaps)
    assert (
        "Hors de la couverture du raster « Altitude (Copernicus DEM GLO-30, dalle N45E005) » (zone hors du "
        "raster)." in gaps
    )
    assert "catnat: commune not in the CatNat table" in gaps
    assert not any(g.startswith("radon") for g in gaps)
    ok = pd.Series({"opendata_level": "commune", "pac_covered": True, "dem_reason": pd.NA})
    assert season2_gaps(ok, config=cfg) == []


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_renders_in_headless_chromium(small_report, tmp_path):
    from PIL import Image

    path, _, _ = small_report
    shot = tmp_path / "shot.png"
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
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,1600",
        path.as_uri(),
    ]
    subprocess.run(cmd, check=False, capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 0
    img = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert img.shape == (1600, 1200)
    assert img.std() > 10  # not blank: text, tables and the map are drawn
    assert (img < 100).mean() > 0.002  # dark pixels of text exist


@pytest.mark.parametrize("code", ["80001", "2A004", "97105", "34003"])
def test_the_fetch_suggestion_is_a_command_that_works(code, tmp_path, capsys):
    """The fiche's suggestion names real catalogue sources: offline on an empty cache it only says they are missing."""
    from acv_geo.cli import main
    from acv_geo.outputs.report import fetch_suggestion

    cmd = fetch_suggestion(code).split()
    assert cmd[:2] == ["acv-geo", "fetch"]
    assert main([*cmd[1:], "--offline", "--cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown source" not in err and "not a department code" not in err
    assert "--offline" in err or "not in the cache" in err or "missing" in err


def test_report_in_french_by_default_and_in_english_on_request():
    import acv_geo
    from acv_geo.outputs.report import build_report

    idx = pd.Index(["80001", "34003"], name="insee_com")
    df = pd.DataFrame(
        {
            "commune": ["Abbeville", "Agde"],
            "pac_pct": [np.nan, 99.3],
            "pac_covered": pd.array([False, True], dtype="boolean"),
            "pac_reason": ["outside the coverage of herault_pac_risques.gpkg (department 34): not measured", None],
            "opendata_level": ["epci", "none"],
        },
        index=idx,
    )
    meta = pd.DataFrame(
        [
            {"column": c, "unit": u, "source": "DDTM 34", "date": "2019", "description": "share"}
            for c, u in (("pac_pct", "%"), ("pac_covered", "bool"), ("pac_reason", ""))
        ]
    )
    fr = build_report(df, metadata=meta)
    assert fr.startswith("<!DOCTYPE html><html lang='fr'>")
    assert "<h2>Synthèse nationale</h2>" in fr and "<h3>Couverture des indicateurs</h3>" in fr
    assert "<h1>Action Cœur de Ville : risques, nature et données ouvertes</h1>" in fr
    # a town outside the layer's coverage: not measured, never 0
    assert (
        "Hors de la couverture de la couche (département 34) : ses 1 indicateurs n&#39;ont pas été mesurés ici "
        "(pas de valeur, jamais 0)."
    ) in fr
    assert "Pas de portail open data" in fr
    en = build_report(df, metadata=meta, lang="en")
    assert en.startswith("<!DOCTYPE html><html lang='en'>") and "<h2>National summary</h2>" in en
    assert "Outside the layer&#39;s coverage (department 34): its 1 indicators were not measured here" in en
    with pytest.raises(ValueError, match=r"lang must be one of \['fr', 'en'\], got 'de'"):
        build_report(df, metadata=meta, lang="de")
    assert acv_geo.outputs.report.tr("Cities") == "Villes"
