# mypy: ignore-errors
# (being reworked; remove this line once mypy passes on the module)
"""The diagnostic report: one self-contained HTML file, readable offline and printable.

:func:`build_report` turns the per-city table of :func:`acv_geo.diagnose` into ``report.html``:

* a **national summary**: coverage figures (open data, every indicator source), the cluster
  tests, the ranking of the exposure profile and the maps (PNG embedded as base64);
* one **fiche per city**: its indicators with unit, source and date (from the metadata table),
  its open-data situation (portal, data.gouv page, platform, themes) and the data it lacks for a
  Season 2 experiment (no open-data portal, no risk-zone layer covering it, no DEM coverage…),
  derived from the NA, ``*_reason`` and ``*_covered`` columns.

Every text is HTML-escaped; the print style sheet starts each fiche on a new page.
"""

from __future__ import annotations

import base64
import contextvars
import datetime as _dt
import html
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.labels import CITY_METADATA, column_label

__all__ = ["build_report", "season2_gaps"]

_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --accent: #0b6e4f; --bad: #b42318; --ok: #067647; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; color: var(--ink); margin: 0 auto;
       max-width: 1100px; padding: 24px; line-height: 1.4; font-size: 14px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; color: var(--accent); }
h2 { font-size: 20px; border-bottom: 2px solid var(--accent); padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
.meta { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 12.5px; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 150px; }
.figure b { display: block; font-size: 22px; color: var(--accent); }
.maps img { width: 100%; max-width: 1000px; border: 1px solid var(--line); margin: 8px 0; }
.fiche { border-top: 3px solid var(--accent); margin-top: 36px; padding-top: 6px; }
.fiche h2 { border: none; margin-top: 6px; }
.gaps li { color: var(--bad); }
.nogap { color: var(--ok); }
.tag { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; color: #fff; }
.tag.commune { background: #1a9850; } .tag.epci { background: #66a61e; } .tag.none { background: #d73027; }
.tag.na { background: #8a8a8a; }
.index { columns: 4; font-size: 12px; }
.index a { text-decoration: none; color: var(--ink); }
.reason { color: var(--muted); font-style: italic; }
a { color: #0b5cad; word-break: break-all; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  .fiche { page-break-before: always; break-before: page; border-top: none; }
  .maps img { page-break-inside: avoid; break-inside: avoid; max-height: 23cm; width: auto; max-width: 100%; }
  h2, h3 { page-break-after: avoid; break-after: avoid; }
  tr { page-break-inside: avoid; break-inside: avoid; }
  .index { columns: 3; }
  a { color: var(--ink); }
}
"""

_LEVEL_TEXT = {
    "commune": "the commune publishes open data itself",
    "epci": "the commune does not publish, its EPCI does",
    "none": "neither the commune nor its EPCI publishes open data",
}
_CITY_INFO = ("commune", "departement", "region", "territory", "population", "epci", "siren_epci")
_OPEN_COLS = (
    "opendata", "opendata_com", "opendata_epci", "opendata_level", "url_portail_com", "url_datagouv_com",
    "url_portail_epci", "url_datagouv_epci", "techno_com", "techno_epci", "themes_epci", "opendata_source",
    "opendata_change", "opendata_reason",
)


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _isna(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _fmt(v: Any, unit: str = "") -> str:
    """A value for display: integers with thin separators, floats with 3 significant digits, years as years."""
    if _isna(v):
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return tr("yes") if v else tr("no")
    if unit in ("year", "code") and isinstance(v, (int, np.integer, float, np.floating)) and float(v) == int(v):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}".replace(",", "\u202f")
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not math.isfinite(f):
            return "—"
        if f == int(f) and abs(f) < 1e15:
            return f"{int(f):,}".replace(",", "\u202f")
        if abs(f) >= 1000:
            return f"{f:,.0f}".replace(",", "\u202f")
        if abs(f) >= 10:
            return f"{f:.1f}"
        return f"{f:.3g}"
    return str(v)


def _link(url: Any) -> str:
    if _isna(url) or not str(url).strip():
        return "—"
    u = str(url).strip()
    if not re.match(r"^https?://", u):
        return _e(u)
    return f'<a href="{_e(u)}">{_e(u)}</a>'


def _png_bytes(path: Path) -> bytes:
    """The PNG to embed, as written when it already has a palette, else re-encoded with one.

    ``diagnose`` writes its maps with a 256-colour palette (PNG colour type 3, IHDR byte 25): their
    bytes are embedded as they are. Other PNGs are re-encoded with a 256-colour palette when Pillow is
    available (3-4× smaller).
    """
    raw = Path(path).read_bytes()
    if len(raw) > 25 and raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR" and raw[25] == 3:
        return raw
    try:
        import io

        from PIL import Image
    except ImportError:
        return raw
    with Image.open(io.BytesIO(raw)) as im:
        method = getattr(getattr(Image, "Quantize", None), "FASTOCTREE", 2)
        small = im.convert("RGB").quantize(colors=256, method=method)
        buf = io.BytesIO()
        small.save(buf, format="PNG")
    out = buf.getvalue()
    return out if len(out) < len(raw) else raw


def _img(path: Path) -> str:
    data = base64.b64encode(_png_bytes(path)).decode("ascii")
    return f'<img alt="{_e(Path(path).stem)}" src="data:image/png;base64,{data}">'


def _colon() -> str:
    """« : » with its French space, or the English ": "."""
    return " : " if _LANG.get() == "fr" else ": "


def _label(column: str, meta: Mapping[str, Mapping[str, str]]) -> str:
    """Human label of a column in the report's language (metadata first, else composed)."""
    lang = _LANG.get()
    return meta.get(column, {}).get(f"label_{lang}") or column_label(column, lang)


def _meta_lookup(metadata: pd.DataFrame) -> dict[str, dict[str, str]]:
    out = {}
    for row in metadata.fillna("").to_dict("records"):
        out[str(row["column"])] = {k: str(v) for k, v in row.items()}
    return out


def _groups(columns: Sequence[str], meta: Mapping[str, Mapping[str, str]]) -> list[tuple[str, str, list[str]]]:
    """Indicator columns grouped by (source, date), in column order."""
    order: dict[tuple[str, str], list[str]] = {}
    for c in columns:
        m = meta.get(c)
        if m is None:
            continue
        order.setdefault((m.get("source", ""), m.get("date", "")), []).append(c)
    return [(s, d, cols) for (s, d), cols in order.items()]


#: The report's own words in French (the default language of the report); English is the source text.
FRENCH: dict[str, str] = {
    "Open-data status unknown (commune SIREN not found in the observatory's lists).":
        "Statut open data inconnu (SIREN de la commune absent des listes de l'observatoire).",
    "No open-data portal: neither the commune nor its EPCI publishes open data (observatory).":
        "Pas de portail open data : ni la commune ni son EPCI ne publient de données ouvertes (observatoire).",
    "{}: no zone to measure (see the zone reason).": "{} : pas de zone à mesurer (voir la raison de la zone).",
    "Not covered by the layer « {} ».": "Hors de la couverture de la couche « {} ».",
    "No risk-zone layer covers it: download the flood zones, clay exposure and prevention plans with `{}` and add "
    "them to the configuration (docs/adding-a-layer.md).":
        "Aucune couche de zones de risque ne la couvre : téléchargez les zones inondables, l'exposition aux "
        "argiles et les plans de prévention avec `{}`, puis ajoutez-les à la configuration "
        "(docs/adding-a-layer.md).",
    "No coverage by the raster « {} » ({}).": "Hors de la couverture du raster « {} » ({}).",
    "Partial coverage by the raster « {} »: {}.": "Couverture partielle par le raster « {} » : {}.",
    "cities": "villes",
    "publish themselves": "publient elles-mêmes",
    "only through their EPCI": "seulement par leur EPCI",
    "no open data": "pas de données ouvertes",
    "status unknown": "statut inconnu",
    "overseas cities": "villes d'outre-mer",
    "source": "source", "date": "date", "columns": "colonnes",
    "cities with a value": "villes avec une valeur",
    "cities in the layer's coverage": "villes dans la couverture de la couche",
    "Outside the layer's coverage ({}): its {} indicators were not measured here (no value, never 0).":
        "Hors de la couverture de la couche ({}) : ses {} indicateurs n'ont pas été mesurés ici (pas de valeur, "
        "jamais 0).",
    "0 for {}": "0 pour {}", "no value for {}": "pas de valeur pour {}",
    "indicator": "indicateur", "value": "valeur", "unit": "unité", "definition": "définition",
    "Seismic zone": "Zone sismique", "unknown": "inconnue",
    "Risks listed by the departmental risk file (DDRM)": "Risques recensés par le dossier départemental des "
                                                         "risques majeurs (DDRM)",
    "Known risks": "Risques connus", "Sources": "Sources",
    "Exposure profile: rank <b>{}</b>, composite {} (risk {}, nature {}; open-data readiness, shown beside and not "
    "counted: {})":
        "Profil d'exposition : rang <b>{}</b>, score composite {} (risque {}, nature {} ; préparation open data, "
        "affichée à côté et non comptée : {})",
    "Local clusters": "Agrégats locaux",
    "Open data": "Open data",
    "Data missing for a Season 2 experiment": "Données manquantes pour une expérimentation Saison 2",
    "Nothing missing among the configured sources.": "Rien ne manque parmi les sources configurées.",
    "Indicators": "Indicateurs",
    "Generated by acv-geo {} on {} · {} cities · sources and dates of every number in the tables below and in "
    "indicators.metadata.csv":
        "Produit par acv-geo {} le {} · {} villes · sources et dates de chaque nombre dans les tableaux "
        "ci-dessous et dans indicators.metadata.csv",
    "National summary": "Synthèse nationale", "Indicator coverage": "Couverture des indicateurs",
    "Spatial clusters": "Agrégats spatiaux", "Ranking (exposure profile, top {})": "Classement (profil "
                                                                                   "d'exposition, {} premières)",
    "How the ranking is made": "Comment le classement est fait",
    "Warnings": "Avertissements", "Maps": "Cartes", "Cities": "Villes",
    "Action Cœur de Ville: risks, nature and open data": "Action Cœur de Ville : risques, nature et données "
                                                          "ouvertes",
    "the commune publishes open data itself": "la commune publie elle-même des données ouvertes",
    "the commune does not publish, its EPCI does": "la commune ne publie pas, son EPCI publie",
    "neither the commune nor its EPCI publishes open data": "ni la commune ni son EPCI ne publient de données "
                                                            "ouvertes",
    "open-data status unknown": "statut open data inconnu",
    "status": "statut", "commune portal": "portail de la commune", "commune data.gouv page": "page data.gouv de la "
                                                                                             "commune",
    "commune platform": "plateforme de la commune", "EPCI portal": "portail de l'EPCI",
    "EPCI data.gouv page": "page data.gouv de l'EPCI", "EPCI platform": "plateforme de l'EPCI",
    "EPCI themes": "thèmes de l'EPCI", "since the 2020 observatory": "depuis l'observatoire 2020",
    "yes": "oui", "no": "non", "rank": "rang",
    # values of acv-geo's own vocabularies (open-data status and change, cluster labels, seismic zones, units)
    "none": "aucun", "kept": "maintenu", "new": "nouveau", "stopped": "arrêté", "never": "jamais",
    "not significant": "non significatif", "hot": "point chaud", "cold": "point froid", "isolated": "isolé",
    "very low": "très faible", "low": "faible", "moderate": "modérée", "medium": "moyenne", "strong": "forte",
    "bool": "oui/non", "count": "nombre", "decrees": "arrêtés", "year": "année", "families": "familles",
    "class 1-3": "classe 1-3", "class": "classe", "inhabitants": "habitants", "m2": "m²",
    "degrees": "degrés", "city": "ville", "department": "département",
    "Map of the town": "Carte de la commune",
    "commune": "commune", "EPCI": "EPCI", "no feature of the covered layers around the town":
        "aucun objet des couches couvrantes autour de la commune",
}
_LANG: contextvars.ContextVar[str] = contextvars.ContextVar("acv_geo_report_lang", default="fr")
LANGUAGES = ("fr", "en")


def tr(text: str, *args: Any) -> str:
    """``text`` in the report's language (French unless the report is built in English), formatted with ``args``."""
    out = FRENCH.get(text, text) if _LANG.get() == "fr" else text
    return out.format(*args) if args else out


#: The reasons acv-geo writes in its tables (English, as data), with their French wording for the report.
_FRENCH_REASONS: tuple[tuple[str, str], ...] = (
    (r"outside the coverage of (.+?) \((departments?) ([^)]*)\): not measured",
     r"hors de la couverture de \1 (\2 \3) : non mesuré"),
    (r"\bdepartments\b", "départements"), (r"\bdepartment\b", "département"),
    (r"^zone outside the raster$", "zone hors du raster"),
    (r"only ([\d.]+)% of the zone lies on valid pixels \(raster edge or nodata\)",
     r"seulement \1 % de la zone sur des pixels valides (bord du raster ou sans donnée)"),
    (r"composite without (.+?); weights renormalised over the others",
     r"score composite sans \1 ; poids répartis sur les autres"),
    (r"\(no contributing column\)", "(aucun indicateur)"),
    (r"\(all its values missing\)", "(toutes ses valeurs manquent)"),
    (r"\(fewer than (\d+) of its indicators measured\)", r"(moins de \1 de ses indicateurs mesurés)"),
    (r"^no value for any weighted sub-score: no rank$", "aucune valeur pour les sous-scores pondérés : pas de rang"),
    (r"^not in the GASPAR DDRM list: .*",
     "absente de la liste GASPAR des DDRM (commune créée ou fusionnée depuis, ou absente de la source ; Drôme et "
     "Puy-de-Dôme manquent) : aucune valeur devinée"),
    (r"^not in the seismic zoning file: .*", "absente du fichier du zonage sismique (commune créée ou fusionnée "
                                             "depuis) : aucune valeur devinée"),
    (r"\brisk\b", "risque"),
)


def tr_reason(text: Any) -> str:
    """A reason from the tables in the report's language (the English data text when no wording is known).

    Examples
    --------
    >>> tr_reason("outside the coverage of pac.gpkg (department 34): not measured")
    'hors de la couverture de pac.gpkg (département 34) : non mesuré'
    """
    out = str(text)
    if _LANG.get() != "fr":
        return out
    for pattern, repl in _FRENCH_REASONS:
        out = re.sub(pattern, repl, out)
    return out


def fetch_suggestion(insee_com: Any) -> str:
    """The ``acv-geo fetch`` command that brings the national risk layers of a town's department.

    Examples
    --------
    >>> fetch_suggestion("80001")
    'acv-geo fetch tri argiles pprn:80'
    """
    from acv_geo.core.codes import insee_department

    dep = insee_department(str(insee_com)) if isinstance(insee_com, str) else None
    return "acv-geo fetch tri argiles" + (f" pprn:{dep}" if dep else "")


def season2_gaps(city: pd.Series, *, config: Any = None) -> list[str]:
    """What a city lacks for a Season 2 experiment, from its NA, reason and coverage values.

    Parameters
    ----------
    city : pandas.Series
        One row of the :func:`acv_geo.diagnose` table.
    config : DiagnoseConfig, optional
        The configuration (labels of layers and rasters).

    Returns
    -------
    list of str
        One sentence per missing piece (empty when nothing is missing).

    Examples
    --------
    >>> row = pd.Series({"opendata_level": "none", "radon_class": pd.NA, "radon_reason": "not in the table"})
    >>> season2_gaps(row)
    ['Pas de portail open data : ni la commune ni son EPCI ne publient de données ouvertes (observatoire).', \
'radon: not in the table']
    """
    gaps: list[str] = []
    level = city.get("opendata_level")
    if "opendata_level" in city.index:
        if _isna(level):
            gaps.append(tr("Open-data status unknown (commune SIREN not found in the observatory's lists)."))
        elif level == "none":
            gaps.append(tr("No open-data portal: neither the commune nor its EPCI publishes open data (observatory)."))
    layers = list(getattr(config, "layers", ()) or ())
    rasters = list(getattr(config, "rasters", ()) or ())
    english = _LANG.get() == "en"
    labels = {x.name: (getattr(x, "label_en", "") or x.label) if english else x.label for x in (*layers, *rasters)}
    covered_any_risk = False
    risk_layers = []
    for c in city.index:
        if not c.endswith("_covered"):
            continue
        name = c.removesuffix("_covered")
        v = city[c]
        risk_layers.append(labels.get(name, name))
        if _isna(v):
            gaps.append(tr("{}: no zone to measure (see the zone reason).", labels.get(name, name)))
        elif bool(v):
            covered_any_risk = True
        else:
            gaps.append(tr("Not covered by the layer « {} ».", labels.get(name, name)))
    if risk_layers and not covered_any_risk:
        gaps.append(tr("No risk-zone layer covers it: download the flood zones, clay exposure and prevention plans "
                       "with `{}` and add them to the configuration (docs/adding-a-layer.md).",
                       fetch_suggestion(city.name)))
    for r in rasters:
        reason = city.get(f"{r.name}_reason")
        if not _isna(reason):
            txt = str(reason)
            if txt.startswith("zone outside"):
                gaps.append(tr("No coverage by the raster « {} » ({}).", labels.get(r.name, r.label), tr_reason(txt)))
            else:
                gaps.append(tr("Partial coverage by the raster « {} »: {}.", labels.get(r.name, r.label),
                               tr_reason(txt)))
    for c in city.index:
        if not c.endswith("_reason") or c in ("opendata_reason", "profile_reason", "zone_reason"):
            continue
        base = c.removesuffix("_reason")
        if base in labels or base.startswith("cluster_") or any(base.startswith(f"{n}_") for n in labels):
            continue
        v = city[c]
        if not _isna(v):
            gaps.append(f"{base}: {tr_reason(v)}")
    return gaps


def _summary_figures(df: pd.DataFrame) -> str:
    n = len(df)
    items = [(tr("cities"), n)]
    if "opendata_level" in df.columns:
        lv = df["opendata_level"].astype(object).fillna("unknown").value_counts()
        for k, label in (("commune", "publish themselves"), ("epci", "only through their EPCI"),
                         ("none", "no open data"), ("unknown", "status unknown")):
            if lv.get(k, 0):
                items.append((tr(label), f"{lv.get(k, 0)} ({100 * lv.get(k, 0) / n:.0f} %)"))
    if "territory" in df.columns:
        items.append((tr("overseas cities"), int((df["territory"] != "metropole").sum())))
    return '<div class="figures">' + "".join(
        f'<div class="figure"><b>{_e(v)}</b>{_e(k)}</div>' for k, v in items) + "</div>"


def _coverage_table(df: pd.DataFrame, meta: Mapping[str, Mapping[str, str]]) -> str:
    rows = []
    for src, date, cols in _groups(list(df.columns), meta):
        value_cols = [c for c in cols if not c.endswith(("_reason", "_covered"))]
        if not value_cols:
            continue
        has = df[value_cols].notna().any(axis=1)
        cov = [c for c in cols if c.endswith("_covered")]
        covered = int(df[cov[0]].fillna(False).astype(bool).sum()) if cov else None
        rows.append(
            f"<tr><td>{_e(src)}</td><td>{_e(date)}</td><td>{_e(', '.join(_label(c, meta) for c in value_cols[:6]))}"
            f"{' …' if len(value_cols) > 6 else ''} ({len(value_cols)})</td>"
            f'<td class="num">{int(has.sum())}</td>'
            f'<td class="num">{"—" if covered is None else covered}</td></tr>'
        )
    heads = ("source", "date", "columns", "cities with a value", "cities in the layer's coverage")
    return ("<table><tr>" + "".join(f"<th>{_e(tr(h))}</th>" for h in heads) + "</tr>" + "".join(rows) + "</table>")


def _clusters_html(clusters: Mapping[str, Any]) -> str:
    parts = []
    settings = clusters.get("settings", {})
    if settings:
        parts.append("<p class='meta'>" + _e(", ".join(f"{k}: {v}" for k, v in settings.items())) + "</p>")
    for var, stats in clusters.get("global", {}).items():
        rows = []
        for test, d in stats.items():
            if not isinstance(d, Mapping):
                continue
            shown = {k: v for k, v in d.items() if not isinstance(v, (list, dict)) and v is not None}
            keep = [k for k in ("statistic", "I", "bb", "bw", "ww", "expected", "expected_bb", "z", "z_sim",
                                "p_sim", "p_sim_bb", "p_norm", "n", "n_tested", "permutations", "seed")
                    if k in shown]
            keep = keep or list(shown)[:10]
            rows.append(f"<tr><td>{_e(test)}</td><td>" + "; ".join(
                f"{_e(k)} = {_e(shown[k] if k == 'seed' else _fmt(shown[k]))}" for k in keep) + "</td></tr>")
        labels = clusters.get("labels", {}).get(var, {})
        if labels:
            rows.append("<tr><td>local labels</td><td>" + _e(", ".join(f"{k}: {v}" for k, v in labels.items()))
                        + "</td></tr>")
        parts.append(f"<h3>{_e(var)}</h3><table><tr><th>test</th><th>result</th></tr>{''.join(rows)}</table>")
    return "".join(parts)


def _ranking_html(df: pd.DataFrame, ranking: pd.DataFrame, top: int) -> str:
    cols = [c for c in ("risk_score", "nature_score", "opendata_score", "exposure_score") if c in ranking.columns]
    rows = []
    for code, r in ranking.head(top).iterrows():
        name = df.loc[code, "commune"] if "commune" in df.columns and code in df.index else code
        dep = df.loc[code, "departement"] if "departement" in df.columns and code in df.index else ""
        rows.append(
            f'<tr><td class="num">{_e(_fmt(r.get("rank")))}</td><td><a href="#c{_e(code)}">{_e(name)}</a></td>'
            f"<td>{_e(code)}</td><td>{_e('' if _isna(dep) else dep)}</td>"
            + "".join(f'<td class="num">{_e(_fmt(r.get(c)))}</td>' for c in cols) + "</tr>"
        )
    head = "".join(f"<th>{_e(column_label(c, _LANG.get()))}</th>" for c in cols)
    heads = "".join(f"<th>{_e(tr(h))}</th>" for h in ("rank", "city")) + "<th>INSEE</th>" + \
        f"<th>{_e(tr('department'))}</th>"
    return (f"<table><tr>{heads}{head}</tr>"
            + "".join(rows) + "</table>")


def _opendata_html(city: pd.Series) -> str:
    level = city.get("opendata_level")
    tag = "na" if _isna(level) else str(level)
    text = tr(_LEVEL_TEXT.get(tag, "open-data status unknown"))
    rows = [
        ("status", f'<span class="tag {_e(tag)}">{_e(tr("unknown") if tag == "na" else tr(tag))}</span> {_e(text)}'),
        ("commune portal", _link(city.get("url_portail_com"))),
        ("commune data.gouv page", _link(city.get("url_datagouv_com"))),
        ("commune platform", _e(_fmt(city.get("techno_com")))),
        ("EPCI portal", _link(city.get("url_portail_epci"))),
        ("EPCI data.gouv page", _link(city.get("url_datagouv_epci"))),
        ("EPCI platform", _e(_fmt(city.get("techno_epci")))),
        ("EPCI themes", _e(_fmt(city.get("themes_epci")))),
    ]
    if "opendata_change" in city.index and not _isna(city.get("opendata_change")):
        rows.append(("since the 2020 observatory", _e(tr(str(city.get("opendata_change"))))))
    if not _isna(city.get("opendata_source")):
        rows.append(("source", _e(city.get("opendata_source"))))
    return "<table>" + "".join(f"<tr><th>{_e(tr(k))}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _short(names: Sequence[str], k: int = 6) -> str:
    more = f", … ({len(names)} au total)" if _LANG.get() == "fr" else f", … ({len(names)} in all)"
    return ", ".join(names[:k]) + (more if len(names) > k else "")


def _shared_head(labels: Sequence[str]) -> str:
    """The layer part (before « : ») the labels of one source all share, else ''."""
    sep = _colon()
    heads = {lab.split(sep, 1)[0] for lab in labels if sep in lab}
    return heads.pop() if len(heads) == 1 and all(sep in lab for lab in labels) and len(labels) > 1 else ""


def _indicators_html(city: pd.Series, columns: Sequence[str], meta: Mapping[str, Mapping[str, str]]) -> str:
    """Indicator rows grouped by source; zeros, empty values and uncovered layers condensed."""
    out = []
    sep = _colon()
    english = _LANG.get() == "en"  # the definitions are English text: in French they are the label's tooltip
    span = f"colspan='{4 if english else 3}'"
    for src, date, cols in _groups(columns, meta):
        values = [c for c in cols if not c.endswith(("_reason", "_covered"))]
        reasons = [str(city.get(c)) for c in cols if c.endswith("_reason") and not _isna(city.get(c))]
        if not values:
            continue
        shared = _shared_head([_label(c, meta) for c in values])
        meta = {**meta, **{c: {**meta.get(c, {}), f"label_{_LANG.get()}": _label(c, meta).split(sep, 1)[1]}
                           for c in values}} if shared else meta
        head = (f"<tr><th {span}>{_e(shared) + ' — ' if shared else ''}{_e(src)}"
                f"{' · ' + _e(date) if date else ''}</th></tr>")
        body = []
        covered = [c for c in cols if c.endswith("_covered")]
        outside = bool(covered) and not _isna(city.get(covered[0])) and not bool(city.get(covered[0]))
        if outside:
            why = next((r for r in reasons if r.startswith("outside the coverage")), "")
            where = tr_reason(why[why.find("(") + 1:why.rfind(")")]) if "(" in why else src
            body.append(f"<tr><td {span} class='reason'>" + _e(tr(
                "Outside the layer's coverage ({}): its {} indicators were not measured here (no value, never 0).",
                where, len(values))) + "</td></tr>")
            out.append(head + "".join(body))
            continue
        zeros, empty = [], []
        for c in values:
            v = city.get(c)
            if _isna(v):
                empty.append(c)
            elif not isinstance(v, (str, bool, np.bool_)) and float(v) == 0:
                zeros.append(c)
            else:
                m = meta.get(c, {})
                desc = m.get("description", "")
                tip = f"{c} — {desc}" if desc and not english else c
                body.append(
                    f"<tr><td title='{_e(tip)}'>{_e(_label(c, meta))}</td>"
                    f"<td class='{'txt' if isinstance(v, str) else 'num'}'>"
                    f"{_e(_fmt(v, m.get('unit', '')))}</td><td>{_e(tr(m.get('unit', '')))}</td>"
                    + (f"<td>{_e(desc)}</td>" if english else "") + "</tr>"
                )
        if zeros:
            body.append(f"<tr><td {span} class='reason'>"
                        f"{_e(tr('0 for {}', _short([_label(c, meta) for c in zeros])))}</td></tr>")
        if empty:
            why = "; ".join(dict.fromkeys(reasons))
            body.append(f"<tr><td {span} class='reason'>"
                        f"{_e(tr('no value for {}', _short([_label(c, meta) for c in empty])))}"
                        f"{': ' + _e(tr_reason(why)) if why else ''}</td></tr>")
        out.append(head + "".join(body))
    names = ("indicator", "value", "unit", "definition") if english else ("indicator", "value", "unit")
    heads = "".join(f"<th>{_e(tr(h))}</th>" for h in names)
    return f"<table><tr>{heads}</tr>" + "".join(out) + "</table>"


def known_risks_html(city: pd.Series, meta: Mapping[str, Mapping[str, str]]) -> str:
    """The « Risques connus » block of a fiche: seismic zone and the natural risks the State lists, with sources.

    Examples
    --------
    >>> row = pd.Series({"seismic_zone": 4, "seismic_label": "medium", "risks_known": "Inondation; Séisme"})
    >>> "zone 4 (moyenne)" in known_risks_html(row, {})
    True
    """
    if "seismic_zone" not in city.index and "risks_known" not in city.index:
        return ""
    items = []
    if "seismic_zone" in city.index:
        z = city.get("seismic_zone")
        text = (f"zone {int(z)} ({_e(tr(str(city.get('seismic_label'))))})" if not _isna(z)
                else f"{_e(tr('unknown'))} — {_e(tr_reason(city.get('seismic_reason')))}")
        items.append(f"<li>{_e(tr('Seismic zone'))}{_colon()}<b>{text}</b></li>")
    if "risks_known" in city.index:
        r = city.get("risks_known")
        text = _e(r) if not _isna(r) else f"{_e(tr('unknown'))} — {_e(tr_reason(city.get('risks_known_reason')))}"
        items.append(f"<li>{_e(tr('Risks listed by the departmental risk file (DDRM)'))}{_colon()}<b>{text}</b></li>")
    sources = [meta.get(c, {}) for c in ("seismic_zone", "risks_known") if c in city.index]
    src = " · ".join(f"{_e(m.get('source', ''))} ({_e(m.get('date', ''))})" for m in sources if m)
    return (f"<h3>{_e(tr('Known risks'))}</h3><ul>{''.join(items)}</ul>"
            f"<p class='meta'>{_e(tr('Sources'))}{_colon()}{src}</p>")


def _fiche(code: str, city: pd.Series, columns: Sequence[str], meta: Mapping[str, Mapping[str, str]],
           config: Any, town_map: str = "") -> str:
    name = city.get("commune", code)
    sub = ", ".join(_e(city.get(k)) for k in ("departement", "region") if not _isna(city.get(k)))
    info = []
    for k in ("population", "epci", "siren_epci", "territory"):
        if not _isna(city.get(k)):
            info.append(f"{_e(_label(k, meta))}{_colon()}{_e(_fmt(city.get(k), meta.get(k, {}).get('unit', '')))}")
    score = ""
    if "exposure_score" in city.index:
        score = ("<p>" + tr("Exposure profile: rank <b>{}</b>, composite {} (risk {}, nature {}; open-data readiness, "
                            "shown beside and not counted: {})", *(_e(_fmt(city.get(k))) for k in (
                                "rank", "exposure_score", "risk_score", "nature_score", "opendata_score")))
                 + (f" <span class='reason'>{_e(tr_reason(city.get('profile_reason')))}</span>"
                    if not _isna(city.get("profile_reason")) else "") + "</p>")
    clusters = [c for c in city.index if c.startswith("cluster_") and c.endswith("_label")]
    cl = ""
    if clusters:
        cl = f"<p>{_e(tr('Local clusters'))}{_colon()}" + "; ".join(
            f"{_e(_label(c.removeprefix('cluster_').removesuffix('_label'), meta))} → "
            f"<b>{_e(tr(_fmt(city.get(c))))}</b>"
            for c in clusters) + "</p>"
    gaps = season2_gaps(city, config=config)
    gap_html = ("<ul class='gaps'>" + "".join(f"<li>{_e(g)}</li>" for g in gaps) + "</ul>") if gaps else \
        f"<p class='nogap'>{_e(tr('Nothing missing among the configured sources.'))}</p>"
    return (
        f"<section class='fiche' id='c{_e(code)}'><h2>{_e(name)} <span class='meta'>INSEE {_e(code)}</span></h2>"
        f"<p class='meta'>{sub}<br>{' · '.join(info)}</p>{score}{cl}"
        + (f"<h3>{_e(tr('Map of the town'))}</h3><figure class='town'>{town_map}</figure>" if town_map else "")
        + f"{known_risks_html(city, meta)}"
        f"<h3>{_e(tr('Open data'))}</h3>{_opendata_html(city)}"
        f"<h3>{_e(tr('Data missing for a Season 2 experiment'))}</h3>{gap_html}"
        f"<h3>{_e(tr('Indicators'))}</h3>{_indicators_html(city, columns, meta)}</section>"
    )


def build_report(
    cities: pd.DataFrame,
    *,
    metadata: pd.DataFrame,
    clusters: Mapping[str, Any] | None = None,
    ranking: pd.DataFrame | None = None,
    maps: Mapping[str, str | Path] | None = None,
    config: Any = None,
    warnings: Sequence[str] = (),
    title: str | None = None,
    lang: str = "fr",
    town_maps: Mapping[str, str] | None = None,
) -> str:
    """The HTML report (one string): national summary, maps and one fiche per city.

    Parameters
    ----------
    cities : pandas.DataFrame
        The per-city table of :func:`acv_geo.diagnose` (indexed by ``insee_com``).
    metadata : pandas.DataFrame
        Its metadata (:func:`acv_geo.indicator_metadata`): unit, source, date, description.
    clusters : dict, optional
        Content of ``clusters.json``.
    ranking : pandas.DataFrame, optional
        The exposure profile sorted by rank (:func:`acv_geo.rank_candidates`).
    maps : dict, optional
        ``{name: png path}``; embedded as base64 in this order.
    config : DiagnoseConfig, optional
        The configuration (labels, report title, ranking length).
    warnings : sequence of str, default ()
        Problems to list in the summary.
    title : str, optional
        Report title (default: the config's).
    lang : {"fr", "en"}, default "fr"
        Language of the report's own words (headings, sentences); values from French sources stay as
        they are.
    town_maps : dict, optional
        ``{insee_com: svg}`` (:func:`acv_geo.outputs.maps.town_map_svg`), shown in each city's fiche.

    Returns
    -------
    str
        A complete, self-contained HTML document (no external resource).

    Examples
    --------
    >>> idx = pd.Index(["01004"], name="insee_com")
    >>> df = pd.DataFrame({"commune": ["Ambérieu <en> Bugey"], "radon_class": [2]}, index=idx)
    >>> meta = pd.DataFrame([{"column": "radon_class", "unit": "class", "source": "IRSN", "date": "2018",
    ...                       "description": "radon class"}])
    >>> page = build_report(df, metadata=meta)
    >>> "Ambérieu &lt;en&gt; Bugey" in page, page.count("class='fiche'")
    (True, 1)
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {list(LANGUAGES)}, got {lang!r}")
    token = _LANG.set(lang)
    try:
        return _build(cities, metadata, clusters, ranking, maps, config, warnings, title, lang, town_maps or {})
    finally:
        _LANG.reset(token)


def _method_html(cities: pd.DataFrame, meta: Mapping[str, Mapping[str, str]]) -> str:
    """The ranking method in plain words, with the weights and the indicators actually used."""
    info = cities.attrs.get("acv_geo_profile") or {}
    weights = info.get("weights") or {}
    used = info.get("columns") or {}
    excluded = info.get("excluded") or {}
    w = ", ".join(f"{k} {v:g}" for k, v in weights.items())
    cols = "; ".join(f"{k}: {', '.join(_label(c, meta) for c in v) or '—'}" for k, v in used.items())
    left_out = ", ".join(_label(c, meta) for c in excluded)
    if _LANG.get() == "fr":
        text = (f"Chaque indicateur devient le rang centile de la ville (0 = la plus basse, 1 = la plus haute) parmi "
                f"les villes qui ont une valeur ; un sous-score est la moyenne des rangs de ses indicateurs ; le score "
                f"composite est leur moyenne pondérée (poids : {w}). Un indicateur mesuré dans moins de la moitié "
                f"des villes est écarté, pour qu'une ville ne soit jamais mieux classée faute de données "
                f"(écartés : {left_out or 'aucun'}). La préparation open data est affichée à côté, "
                f"sans compter dans l'exposition. Indicateurs : {cols}.")
    else:
        text = (f"Each indicator becomes the city's percentile rank (0 = lowest, 1 = highest) among the cities with "
                f"a value; a sub-score is the mean of its indicators' ranks; the composite is their weighted mean "
                f"(weights: {w}). An indicator measured in fewer than half of the cities is left out, so that no city "
                f"ranks better for lack of data (left out: {left_out or 'none'}). The open-data "
                f"readiness is shown beside, not counted in the exposure. Indicators: {cols}.")
    return f"<p class='meta'>{_e(text)}</p>"


def _build(cities: pd.DataFrame, metadata: pd.DataFrame, clusters: Any, ranking: Any, maps: Any, config: Any,
           warnings: Sequence[str], title: str | None, lang: str, town_maps: Mapping[str, str]) -> str:
    from acv_geo import __version__

    meta = _meta_lookup(metadata)
    title = title or getattr(config, "title", None) or tr("Action Cœur de Ville: risks, nature and open data")
    if lang == "fr" and title == "Action Cœur de Ville: risks, nature and open data":
        title = tr(title)
    top = int(getattr(config, "profile_top", 20) or 20)
    today = _dt.date.today().isoformat()
    skip = set(_CITY_INFO) | set(_OPEN_COLS) | set(CITY_METADATA)
    ind_cols = [c for c in cities.columns if c in meta and c not in skip and not c.startswith("cluster_")
                and c not in ("risk_score", "nature_score", "opendata_score", "exposure_score", "rank",
                              "profile_reason")]
    parts = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        "<p class='meta'>" + _e(tr("Generated by acv-geo {} on {} · {} cities · sources and dates of every number "
                                   "in the tables below and in indicators.metadata.csv", __version__, today,
                                   len(cities))) + "</p>",
        f"<h2>{_e(tr('National summary'))}</h2>",
        _summary_figures(cities),
        f"<h3>{_e(tr('Indicator coverage'))}</h3>",
        _coverage_table(cities, meta),
    ]
    if clusters:
        parts += [f"<h3>{_e(tr('Spatial clusters'))}</h3>", _clusters_html(clusters)]
    if ranking is not None and len(ranking):
        parts += [f"<h3>{_e(tr('Ranking (exposure profile, top {})', top))}</h3>",
                  f"<h4>{_e(tr('How the ranking is made'))}</h4>", _method_html(ranking, meta),
                  _ranking_html(cities, ranking, top)]
    if warnings:
        parts.append(f"<h3>{_e(tr('Warnings'))}</h3><ul>" + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>")
    if maps:
        parts.append(f"<h2>{_e(tr('Maps'))}</h2><div class='maps'>")
        for _key, p in maps.items():
            parts.append(_img(Path(p)))
        parts.append("</div>")
    names = cities["commune"] if "commune" in cities.columns else pd.Series(cities.index, index=cities.index)
    order = sorted(cities.index, key=lambda c: (str(names.get(c, c)).lower(), c))
    parts.append(f"<h2>{_e(tr('Cities'))}</h2><div class='index'>" + "".join(
        f"<div><a href='#c{_e(c)}'>{_e(names.get(c, c))}</a> <span class='meta'>{_e(c)}</span></div>"
        for c in order) + "</div>")
    for code in order:
        parts.append(_fiche(str(code), cities.loc[code], ind_cols, meta, config, town_maps.get(str(code), "")))
    parts.append("</body></html>")
    return "\n".join(parts)
