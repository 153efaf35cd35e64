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
    # the run's warnings: French where acv-geo knows their wording, as they are otherwise
    warned = ["clusters: knn:6: territory guyane has only 2 units, so k is capped at 1 there", "something else"]
    fr_w, en_w = (build_report(df, metadata=meta, warnings=warned, lang=lang) for lang in ("fr", "en"))
    assert "<li>agrégats : knn:6 : le territoire guyane n&#39;a que 2 unités, k y est ramené à 1</li>" in fr_w
    assert "<li>something else</li>" in fr_w and f"<li>{warned[0]}</li>" in en_w
    with pytest.raises(ValueError, match=r"lang must be one of \['fr', 'en'\], got 'de'"):
        build_report(df, metadata=meta, lang="de")
    assert acv_geo.outputs.report.tr("Cities") == "Villes"


# ------------------------------------------------------------------ templates (Jinja2, autoescape)


def _one_town(**columns):
    idx = pd.Index(["34301"], name="insee_com")
    return pd.DataFrame({"commune": ["Sète"], **{k: [v] for k, v in columns.items()}}, index=idx)


_META = pd.DataFrame(
    [
        {"column": "radon_class", "unit": "class", "source": "IRSN", "date": "2018", "description": "it's <radon>"},
        {"column": "catnat_total_count", "unit": "decrees", "source": "CatNat", "date": "2024", "description": ""},
    ]
)


def test_every_data_text_is_escaped_in_every_part_of_the_page():
    """Warnings, cluster tables, ranking, reasons, tooltips: each data text is escaped where it lands."""
    df = _one_town(
        radon_class=2,
        catnat_total_count=pd.NA,
        catnat_reason="<i>not listed</i>",
        exposure_score=0.5,
        risk_score=0.4,
        nature_score=0.6,
        opendata_score=0.1,
        rank=1,
        profile_reason="<u>partial</u>",
        cluster_radon_class_label="<hot>",
    )
    ranking = pd.DataFrame({"rank": [1], "exposure_score": [0.5]}, index=df.index)
    df["commune"] = ["Sète & <Co>"]
    clusters = {
        "settings": {"weights": "<knn>"},
        "global": {"radon_class": {"<moran>": {"I": 0.25, "seed": 7}}},
        "labels": {"radon_class": {"<hot>": 3}},
    }
    page = build_report(df, metadata=_META, clusters=clusters, ranking=ranking, warnings=["<b>bad</b> & worse"])
    body = page[page.index("<body>") :]
    for raw in ("<Co>", "<i>", "<u>", "<hot>", "<moran>", "<knn>", "<b>bad", "<radon>"):
        assert raw not in body, raw
    assert "&lt;b&gt;bad&lt;/b&gt; &amp; worse" in body  # the warning
    assert "<td>&lt;moran&gt;</td><td>I = 0.25; graine = 7</td>" in body  # the cluster test table, in French
    assert "<p class='meta'>pondérations : &lt;knn&gt;</p>" in body  # its settings
    assert "<td>classes locales</td><td>&lt;hot&gt; : 3</td>" in body
    assert '<a href="#c34301">Sète &amp; &lt;Co&gt;</a>' in body  # the ranking
    assert "title='radon_class — it&#39;s &lt;radon&gt;'" in body  # tooltip: the quote cannot close the attribute
    assert "<li>catnat: &lt;i&gt;not listed&lt;/i&gt;</li>" in body  # a Season 2 gap
    # the profile sentence keeps its own markup (<b>rank</b>) and escapes the values put in it
    assert "<p>Profil d'exposition : rang <b>1</b>, score composite 0.5 (risque 0.4," in body
    assert "<span class='reason'>&lt;u&gt;partial&lt;/u&gt;</span>" in body


def test_town_map_svg_is_inserted_as_markup():
    """The town map is acv-geo's own SVG (maps.town_map_svg escapes its texts): inserted as it is."""
    svg = '<svg xmlns="http://www.w3.org/2000/svg" class="townmap"><text>Sète &amp; co</text></svg>'
    page = build_report(_one_town(radon_class=2), metadata=_META, town_maps={"34301": svg})
    assert f"<h3>Carte de la commune</h3><figure class='town'>{svg}</figure>" in page
    assert "<figure" not in build_report(_one_town(radon_class=2), metadata=_META)


def test_english_report_has_definitions_and_the_method_in_english():
    df = _one_town(radon_class=2, exposure_score=0.5, rank=1)
    ranking = pd.DataFrame({"rank": [1], "exposure_score": [0.5]}, index=df.index)
    ranking.attrs["acv_geo_profile"] = {
        "weights": {"risk": 2.0, "nature": 1.0},
        "columns": {"risk": ["radon_class"]},
        "excluded": {},
    }
    en = build_report(df, metadata=_META, ranking=ranking, lang="en")
    assert "<tr><th>indicator</th><th>value</th><th>unit</th><th>definition</th></tr>" in en
    assert "<td>it&#39;s &lt;radon&gt;</td>" in en  # the definition column (English only)
    assert "(weights: risk 2, nature 1)" in " ".join(en.split())
    assert "(left out: none)" in " ".join(en.split())
    fr = build_report(df, metadata=_META, ranking=ranking)
    assert "<th>définition</th>" not in fr and "(poids : risk 2, nature 1)" in " ".join(fr.split())
    assert "(écartés : aucun)" in " ".join(fr.split())


def test_season2_gaps_of_a_series_and_of_a_record_are_the_same():
    """The fiches use plain records ({column: value}); the public function takes a row of the table."""
    from acv_geo.outputs.report import _gaps, _Layers

    cfg = load_config(check_files=False)
    row = pd.Series(
        {
            "opendata_level": pd.NA,
            "pac_covered": pd.NA,
            "dem_reason": "only 40.0% of the zone lies on valid pixels (raster edge or nodata)",
            "x_reason": "risk unknown",
        },
        name="34301",
    )
    gaps = season2_gaps(row, config=cfg)
    assert gaps == _gaps("34301", row.to_dict(), _Layers.of(cfg))
    assert gaps[0].startswith("Statut open data inconnu") and "x: risque unknown" in gaps
    assert any(
        g.startswith("Couverture partielle par le raster « Altitude") and "seulement 40.0 % de la zone" in g
        for g in gaps
    )


def test_templates_are_package_data_and_strict():
    """The templates load from the package, autoescape is on and an unknown name is an error (not blank text)."""
    import jinja2

    from acv_geo.outputs.report import _environment

    env = _environment()
    assert env.autoescape is True and env.undefined is jinja2.StrictUndefined
    assert {"report.html.j2", "summary.html.j2", "fiche.html.j2", "macros.html.j2", "report.css"} <= set(
        env.list_templates()
    )
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("fiche.html.j2").render()


def test_no_html_is_assembled_in_python():
    """report.py prepares data; the markup lives in the templates (only the profile sentence holds a <b>)."""
    import re
    from pathlib import Path

    import acv_geo.outputs.report as report

    source = Path(report.__file__).read_text(encoding="utf-8")
    tags = set(re.findall(r"<(/?[a-z][a-z0-9]*)[\s>]", source))
    assert tags <= {"b", "/b", "en", "radon"}, tags  # <b>{}</b> of the profile sentence; doctest data
    assert "html.escape" not in source and "def _e(" not in source


def test_draft_report_embeds_maps_drawn_after_it(tmp_path):
    """The page drafted before its maps exist is, once they are, build_report's page byte for byte."""
    from PIL import Image

    from acv_geo.outputs.report import draft_report

    cities = acv_geo.read_acv().loc[["34301", "76217"]]
    meta = acv_geo.indicator_metadata(cities)
    maps = {"a": tmp_path / "a.png", "b": tmp_path / "b.png"}
    finish = draft_report(cities, metadata=meta, maps=maps, warnings=["w"])
    assert not any(p.exists() for p in maps.values())
    Image.new("RGB", (8, 5), "#1a9850").quantize(4).save(maps["a"])
    Image.new("RGB", (3, 9), "#d73027").quantize(4).save(maps["b"])
    page = finish()
    assert page == build_report(cities, metadata=meta, maps=maps, warnings=["w"])
    assert page.count("data:image/png;base64,") == 2 and "acvgeomap" not in page
    with pytest.raises(TypeError, match="unexpected keyword argument.*mapz"):
        draft_report(cities, metadata=meta, mapz=maps)
