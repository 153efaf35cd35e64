"""The diagnostic report: one self-contained HTML file, readable offline and printable.

:func:`build_report` turns the per-city table of :func:`acv_geo.diagnose` into ``report.html``:

* a **national summary**: coverage figures (open data, every indicator source), the cluster
  tests, the ranking of the exposure profile and the maps (PNG embedded as base64);
* one **fiche per city**: its indicators with unit, source and date (from the metadata table),
  its open-data situation (portal, data.gouv page, platform, themes) and the data it lacks for a
  Season 2 experiment (no open-data portal, no risk-zone layer covering it, no DEM coverage…),
  derived from the NA, ``*_reason`` and ``*_covered`` columns.

Python prepares plain data here (already formatted strings and numbers, in the report's language);
the Jinja2 templates of ``acv_geo/outputs/templates`` lay it out, with autoescape on: every text is
HTML-escaped. The print style sheet starts each fiche on a new page.
"""

from __future__ import annotations

import base64
import contextvars
import datetime as _dt
import functools
import io
import math
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from acv_geo.core.labels import CITY_METADATA, column_label
from acv_geo.read.opendata import STATUS_COLUMNS

__all__ = ["build_report", "draft_report", "season2_gaps"]

#: A row of the per-city table as ``{column: value}`` (values boxed as Python scalars or pandas NA).
Record = Mapping[str, Any]
#: The metadata table as ``{column: {"unit": …, "source": …, "date": …, "description": …, "label_fr": …}}``.
Meta = Mapping[str, Mapping[str, str]]

_LEVEL_TEXT = {
    "commune": "the commune publishes open data itself",
    "epci": "the commune does not publish, its EPCI does",
    "none": "neither the commune nor its EPCI publishes open data",
}
_CITY_INFO = ("commune", "departement", "region", "territory", "population", "epci", "siren_epci")
_OPEN_COLS = (
    *STATUS_COLUMNS,
    "opendata_change",
    "opendata_reason",
)
_PROFILE_COLS = ("risk_score", "nature_score", "opendata_score", "exposure_score", "rank", "profile_reason")
_SCORE_COLS = ("risk_score", "nature_score", "opendata_score", "exposure_score")
_DEFAULT_TITLE = "Action Cœur de Ville: risks, nature and open data"

#: The report's own words in French (the default language of the report); English is the source text.
FRENCH: dict[str, str] = {
    "Open-data status unknown (commune SIREN not found in the observatory's lists).": (
        "Statut open data inconnu (SIREN de la commune absent des listes de l'observatoire)."
    ),
    "No open-data portal: neither the commune nor its EPCI publishes open data (observatory).": (
        "Pas de portail open data : ni la commune ni son EPCI ne publient de données ouvertes (observatoire)."
    ),
    "{}: no zone to measure (see the zone reason).": "{} : pas de zone à mesurer (voir la raison de la zone).",
    "Not covered by the layer « {} ».": "Hors de la couverture de la couche « {} ».",
    (
        "No risk-zone layer covers it: download the flood zones, clay exposure and prevention plans with "
        "`{}` and add them to the configuration (docs/adding-a-layer.md)."
    ): (
        "Aucune couche de zones de risque ne la couvre : téléchargez les zones inondables, l'exposition aux "
        "argiles et les plans de prévention avec `{}`, puis ajoutez-les à la configuration "
        "(docs/adding-a-layer.md)."
    ),
    "No coverage by the raster « {} » ({}).": "Hors de la couverture du raster « {} » ({}).",
    "Partial coverage by the raster « {} »: {}.": "Couverture partielle par le raster « {} » : {}.",
    "cities": "villes",
    "publish themselves": "publient elles-mêmes",
    "only through their EPCI": "seulement par leur EPCI",
    "no open data": "pas de données ouvertes",
    "status unknown": "statut inconnu",
    "overseas cities": "villes d'outre-mer",
    "source": "source",
    "date": "date",
    "columns": "colonnes",
    "cities with a value": "villes avec une valeur",
    "cities in the layer's coverage": "villes dans la couverture de la couche",
    "Outside the layer's coverage ({}): its {} indicators were not measured here (no value, never 0).": (
        "Hors de la couverture de la couche ({}) : ses {} indicateurs n'ont pas été mesurés ici (pas de "
        "valeur, jamais 0)."
    ),
    "0 for {}": "0 pour {}",
    "no value for {}": "pas de valeur pour {}",
    "indicator": "indicateur",
    "value": "valeur",
    "unit": "unité",
    "definition": "définition",
    "Seismic zone": "Zone sismique",
    "unknown": "inconnue",
    "Risks listed by the departmental risk file (DDRM)": (
        "Risques recensés par le dossier départemental des risques majeurs (DDRM)"
    ),
    "Known risks": "Risques connus",
    "Sources": "Sources",
    (
        "Exposure profile: rank <b>{}</b>, composite {} (risk {}, nature {}; open-data readiness, shown "
        "beside and not counted: {})"
    ): (
        "Profil d'exposition : rang <b>{}</b>, score composite {} (risque {}, nature {} ; préparation open "
        "data, affichée à côté et non comptée : {})"
    ),
    "Local clusters": "Agrégats locaux",
    "Open data": "Open data",
    "Data missing for a Season 2 experiment": "Données manquantes pour une expérimentation Saison 2",
    "Nothing missing among the configured sources.": "Rien ne manque parmi les sources configurées.",
    "Indicators": "Indicateurs",
    (
        "Generated by acv-geo {} on {} · {} cities · sources and dates of every number in the tables below "
        "and in indicators.metadata.csv"
    ): (
        "Produit par acv-geo {} le {} · {} villes · sources et dates de chaque nombre dans les tableaux "
        "ci-dessous et dans indicators.metadata.csv"
    ),
    "National summary": "Synthèse nationale",
    "Indicator coverage": "Couverture des indicateurs",
    "Spatial clusters": "Agrégats spatiaux",
    # the clusters block: settings, tests and their result keys (statistical symbols stay as they are)
    "method": "méthode",
    "weights": "pondérations",
    "seed": "graine",
    "variables": "variables",
    "test": "test",
    "result": "résultat",
    "local": "statistique locale",
    "join_counts": "comptes de jointures",
    "morans_i": "I de Moran",
    "local labels": "classes locales",
    "n_tested": "n testées",
    "expected": "espérance",
    "expected_bb": "bb espéré",
    "local join counts": "comptes de jointures locaux",
    "Ranking (exposure profile, top {})": "Classement (profil d'exposition, {} premières)",
    "How the ranking is made": "Comment le classement est fait",
    "Warnings": "Avertissements",
    "Maps": "Cartes",
    "Cities": "Villes",
    "Action Cœur de Ville: risks, nature and open data": "Action Cœur de Ville : risques, nature et données ouvertes",
    "the commune publishes open data itself": "la commune publie elle-même des données ouvertes",
    "the commune does not publish, its EPCI does": "la commune ne publie pas, son EPCI publie",
    "neither the commune nor its EPCI publishes open data": "ni la commune ni son EPCI ne publient de données ouvertes",
    "open-data status unknown": "statut open data inconnu",
    "status": "statut",
    "commune portal": "portail de la commune",
    "commune data.gouv page": "page data.gouv de la commune",
    "commune platform": "plateforme de la commune",
    "EPCI portal": "portail de l'EPCI",
    "EPCI data.gouv page": "page data.gouv de l'EPCI",
    "EPCI platform": "plateforme de l'EPCI",
    "EPCI themes": "thèmes de l'EPCI",
    "since the 2020 observatory": "depuis l'observatoire 2020",
    "yes": "oui",
    "no": "non",
    "rank": "rang",
    # values of acv-geo's own vocabularies (open-data status and change, cluster labels, seismic zones, units)
    "none": "aucun",
    "kept": "maintenu",
    "new": "nouveau",
    "stopped": "arrêté",
    "never": "jamais",
    "not significant": "non significatif",
    "hot": "point chaud",
    "cold": "point froid",
    "isolated": "isolé",
    "very low": "très faible",
    "low": "faible",
    "moderate": "modérée",
    "medium": "moyenne",
    "strong": "forte",
    "bool": "oui/non",
    "count": "nombre",
    "decrees": "arrêtés",
    "year": "année",
    "families": "familles",
    "class 1-3": "classe 1-3",
    "class": "classe",
    "inhabitants": "habitants",
    "m2": "m²",
    "degrees": "degrés",
    "city": "ville",
    "department": "département",
    "Map of the town": "Carte de la commune",
    "commune": "commune",
    "EPCI": "EPCI",
    "no feature of the covered layers around the town": "aucun objet des couches couvrantes autour de la commune",
}
_LANG: contextvars.ContextVar[str] = contextvars.ContextVar("acv_geo_report_lang", default="fr")
LANGUAGES = ("fr", "en")


def tr(text: str, *args: Any) -> str:
    """``text`` in the report's language (French unless the report is built in English), formatted with ``args``.

    Examples
    --------
    >>> tr("Cities"), tr("0 for {}", "radon")
    ('Villes', '0 pour radon')
    """
    out = FRENCH.get(text, text) if _LANG.get() == "fr" else text
    return out.format(*args) if args else out


def _tr_markup(text: str, *args: Any) -> Markup:
    """:func:`tr` of a sentence holding markup: ``text`` is acv-geo's own (trusted), ``args`` are escaped."""
    return Markup(FRENCH.get(text, text) if _LANG.get() == "fr" else text).format(*args)


#: The reasons acv-geo writes in its tables (English, as data), with their French wording for the report.
_FRENCH_REASONS: tuple[tuple[str, str], ...] = (
    (
        r"outside the coverage of (.+?) \((departments?) ([^)]*)\): not measured",
        r"hors de la couverture de \1 (\2 \3) : non mesuré",
    ),
    (r"\bdepartments\b", "départements"),
    (r"\bdepartment\b", "département"),
    (r"^zone outside the raster$", "zone hors du raster"),
    (
        r"only ([\d.]+)% of the zone lies on valid pixels \(raster edge or nodata\)",
        r"seulement \1 % de la zone sur des pixels valides (bord du raster ou sans donnée)",
    ),
    (
        r"composite without (.+?); weights renormalised over the others",
        r"score composite sans \1 ; poids répartis sur les autres",
    ),
    (r"\(no contributing column\)", "(aucun indicateur)"),
    (r"\(all its values missing\)", "(toutes ses valeurs manquent)"),
    (r"\(fewer than (\d+) of its indicators measured\)", r"(moins de \1 de ses indicateurs mesurés)"),
    (r"^no value for any weighted sub-score: no rank$", "aucune valeur pour les sous-scores pondérés : pas de rang"),
    (
        r"^not in the GASPAR DDRM list: .*",
        "absente de la liste GASPAR des DDRM (commune créée ou fusionnée depuis, ou absente de la source ; Drôme et "
        "Puy-de-Dôme manquent) : aucune valeur devinée",
    ),
    (
        r"^not in the seismic zoning file: .*",
        "absente du fichier du zonage sismique (commune créée ou fusionnée depuis) : aucune valeur devinée",
    ),
    (r"\brisk\b", "risque"),
)


def tr_reason(text: Any) -> str:
    """A reason from the tables in the report's language (the English data text when no wording is known).

    Examples
    --------
    >>> tr_reason("outside the coverage of pac.gpkg (department 34): not measured")
    'hors de la couverture de pac.gpkg (département 34) : non mesuré'
    """
    return _in_french(text, _FRENCH_REASONS)


#: The warnings a run writes (English, as the CLI and ``DiagnoseResult.warnings`` give them), French in the report.
_FRENCH_WARNINGS: tuple[tuple[str, str], ...] = (
    (r"^clusters: ", "agrégats : "),
    (
        r"(\S+): territory (\S+) has only (\d+) units, so k is capped at (\d+) there",
        r"\1 : le territoire \2 n'a que \3 unités, k y est ramené à \4",
    ),
    (
        r"^national scope: ([\d,]+) communes in the tables, maps and clusters; the per-city pages of this report "
        r"cover the ACV towns only \(column acv\)$",
        r"portée nationale : \1 communes dans les tableaux, les cartes et les agrégats ; les fiches par ville de ce "
        r"rapport ne couvrent que les villes ACV (colonne acv)",
    ),
)


def tr_warning(text: Any) -> str:
    """A warning of the run in the report's language (as it is when no wording is known).

    Examples
    --------
    >>> tr_warning("clusters: knn:6: territory guyane has only 2 units, so k is capped at 1 there")
    "agrégats : knn:6 : le territoire guyane n'a que 2 unités, k y est ramené à 1"
    """
    return _in_french(text, _FRENCH_WARNINGS)


def _in_french(text: Any, rules: tuple[tuple[str, str], ...]) -> str:
    """``text`` with each (pattern, French) rule applied in turn when the report is French; as it is otherwise."""
    out = str(text)
    if _LANG.get() == "fr":
        for pattern, repl in rules:
            out = re.sub(pattern, repl, out)
    return out


# ------------------------------------------------------------------------------------------ values


def _isna(v: Any) -> bool:
    """Whether ``v`` is a missing value (None, NA, NaT, NaN), quickly for the common scalars."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, (str, int)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _text(v: Any) -> str:
    """``v`` as text ('' for None), to be escaped by the template."""
    return "" if v is None else str(v)


def _thin(n: int) -> str:
    """An integer with narrow no-break spaces between thousands."""
    return f"{n:,}".replace(",", "\u202f")


def _fmt_float(f: float) -> str:
    if not math.isfinite(f):
        return "—"
    if f == int(f) and abs(f) < 1e15:
        return _thin(int(f))
    if abs(f) >= 1000:
        return f"{f:,.0f}".replace(",", "\u202f")
    if abs(f) >= 10:
        return f"{f:.1f}"
    return f"{f:.3g}"


def _fmt(v: Any, unit: str = "") -> str:
    """A value for display: integers with thin separators, floats with 3 significant digits, years as years.

    Examples
    --------
    >>> _fmt(12345), _fmt(0.12345), _fmt(2019.0, "year"), _fmt(None), _fmt(True)
    ('12\u202f345', '0.123', '2019', '—', 'oui')
    """
    if _isna(v):
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return tr("yes") if v else tr("no")
    if unit in ("year", "code") and isinstance(v, (int, np.integer, float, np.floating)) and float(v) == int(v):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return _thin(int(v))
    if isinstance(v, (float, np.floating)):
        return _fmt_float(float(v))
    return str(v)


@dataclass(frozen=True)
class Link:
    """A cell that is a link when its text is a web address (``href`` is then that address)."""

    text: str
    href: str | None = None


def _link(url: Any) -> Link:
    if _isna(url) or not str(url).strip():
        return Link("—")
    u = str(url).strip()
    return Link(u, u if re.match(r"^https?://", u) else None)


def _colon() -> str:
    """« : » with its French space, or the English ": "."""
    return " : " if _LANG.get() == "fr" else ": "


def _short(names: Sequence[str], k: int = 6) -> str:
    more = f", … ({len(names)} au total)" if _LANG.get() == "fr" else f", … ({len(names)} in all)"
    return ", ".join(names[:k]) + (more if len(names) > k else "")


# ---------------------------------------------------------------------------------------- metadata


def _label(column: str, meta: Meta) -> str:
    """Human label of a column in the report's language (metadata first, else composed)."""
    lang = _LANG.get()
    return meta.get(column, {}).get(f"label_{lang}") or column_label(column, lang)


def _meta_lookup(metadata: pd.DataFrame) -> dict[str, dict[str, str]]:
    return {
        str(row["column"]): {str(k): str(v) for k, v in row.items()} for row in metadata.fillna("").to_dict("records")
    }


def _groups(columns: Iterable[str], meta: Meta) -> list[tuple[str, str, list[str]]]:
    """Indicator columns grouped by (source, date), in column order."""
    order: dict[tuple[str, str], list[str]] = {}
    for c in columns:
        m = meta.get(c)
        if m is not None:
            order.setdefault((m.get("source", ""), m.get("date", "")), []).append(c)
    return [(s, d, cols) for (s, d), cols in order.items()]


# ------------------------------------------------------------------------------------------ images


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


@dataclass(frozen=True)
class EmbeddedImage:
    """A PNG map embedded in the page: its name and its base64 data."""

    alt: str
    base64: str


# -------------------------------------------------------------------------------- Season 2 gaps


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


@dataclass(frozen=True)
class _Layers:
    """Labels of the configured layers and rasters, in the report's language."""

    labels: Mapping[str, str]
    rasters: tuple[str, ...]
    prefixes: tuple[str, ...] = ()  # the name of every layer and raster, then "_"

    @classmethod
    def of(cls, config: Any) -> _Layers:
        layers = list(getattr(config, "layers", ()) or ())
        rasters = list(getattr(config, "rasters", ()) or ())
        english = _LANG.get() == "en"
        labels = {x.name: (getattr(x, "label_en", "") or x.label) if english else x.label for x in (*layers, *rasters)}
        return cls(labels, tuple(r.name for r in rasters), tuple(f"{n}_" for n in labels))


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
    return _gaps(city.name, city.to_dict(), _Layers.of(config))


def _gaps(code: Any, city: Record, layers: _Layers) -> list[str]:
    return [
        *_opendata_gaps(city),
        *_layer_gaps(code, city, layers),
        *_raster_gaps(city, layers),
        *_reason_gaps(city, layers),
    ]


def _opendata_gaps(city: Record) -> list[str]:
    if "opendata_level" not in city:
        return []
    level = city["opendata_level"]
    if _isna(level):
        return [tr("Open-data status unknown (commune SIREN not found in the observatory's lists).")]
    if level == "none":
        return [tr("No open-data portal: neither the commune nor its EPCI publishes open data (observatory).")]
    return []


def _layer_gaps(code: Any, city: Record, layers: _Layers) -> list[str]:
    """Layers whose coverage leaves the town out, and the fetch command when no risk layer covers it."""
    gaps: list[str] = []
    covered = [(c.removesuffix("_covered"), v) for c, v in city.items() if c.endswith("_covered")]
    for name, v in covered:
        label = layers.labels.get(name, name)
        if _isna(v):
            gaps.append(tr("{}: no zone to measure (see the zone reason).", label))
        elif not bool(v):
            gaps.append(tr("Not covered by the layer « {} ».", label))
    if covered and not any(not _isna(v) and bool(v) for _, v in covered):
        gaps.append(
            tr(
                "No risk-zone layer covers it: download the flood zones, clay exposure and prevention plans "
                "with `{}` and add them to the configuration (docs/adding-a-layer.md).",
                fetch_suggestion(code),
            )
        )
    return gaps


def _raster_gaps(city: Record, layers: _Layers) -> list[str]:
    gaps: list[str] = []
    for name in layers.rasters:
        reason = city.get(f"{name}_reason")
        if _isna(reason):
            continue
        txt, label = str(reason), layers.labels[name]
        if txt.startswith("zone outside"):
            gaps.append(tr("No coverage by the raster « {} » ({}).", label, tr_reason(txt)))
        else:
            gaps.append(tr("Partial coverage by the raster « {} »: {}.", label, tr_reason(txt)))
    return gaps


def _reason_gaps(city: Record, layers: _Layers) -> list[str]:
    """The reasons of the other indicators (not the configured layers', not the clusters')."""
    gaps: list[str] = []
    for c, v in city.items():
        if not c.endswith("_reason") or c in ("opendata_reason", "profile_reason", "zone_reason"):
            continue
        base = c.removesuffix("_reason")
        if base in layers.labels or base.startswith(("cluster_", *layers.prefixes)):
            continue
        if not _isna(v):
            gaps.append(f"{base}: {tr_reason(v)}")
    return gaps


# -------------------------------------------------------------------------------- national summary


def _summary_figures(df: pd.DataFrame) -> list[tuple[str, str]]:
    """The key figures as (value, label)."""
    n = len(df)
    items = [(str(n), tr("cities"))]
    if "opendata_level" in df.columns:
        lv = df["opendata_level"].astype(object).fillna("unknown").value_counts()
        for k, label in (
            ("commune", "publish themselves"),
            ("epci", "only through their EPCI"),
            ("none", "no open data"),
            ("unknown", "status unknown"),
        ):
            if lv.get(k, 0):
                items.append((f"{lv.get(k, 0)} ({100 * lv.get(k, 0) / n:.0f} %)", tr(label)))
    if "territory" in df.columns:
        items.append((str(int((df["territory"] != "metropole").sum())), tr("overseas cities")))
    return items


@dataclass(frozen=True)
class CoverageRow:
    """One source of the coverage table."""

    source: str
    date: str
    columns: str
    with_value: int
    covered: str


def _coverage_rows(df: pd.DataFrame, meta: Meta) -> list[CoverageRow]:
    present = df.notna().to_numpy()  # one pass over the table; columns picked by position below
    where = {c: i for i, c in enumerate(df.columns)}
    rows = []
    for src, date, cols in _groups(df.columns, meta):
        value_cols = [c for c in cols if not c.endswith(("_reason", "_covered"))]
        if not value_cols:
            continue
        has = int(present[:, [where[c] for c in value_cols]].any(axis=1).sum())
        cov = [c for c in cols if c.endswith("_covered")]
        covered = str(int(df[cov[0]].fillna(False).astype(bool).sum())) if cov else "—"
        names = ", ".join(_label(c, meta) for c in value_cols[:6])
        more = " …" if len(value_cols) > 6 else ""
        rows.append(CoverageRow(src, date, f"{names}{more} ({len(value_cols)})", has, covered))
    return rows


_TEST_KEYS = (
    "statistic",
    "I",
    "bb",
    "bw",
    "ww",
    "expected",
    "expected_bb",
    "z",
    "z_sim",
    "p_sim",
    "p_sim_bb",
    "p_norm",
    "n",
    "n_tested",
    "permutations",
    "seed",
)


def _cluster_settings(settings: Mapping[str, Any]) -> str:
    """The settings of the clusters in the report's language: ``méthode : LISA, pondérations : knn:6, …``."""
    sep, parts = _colon(), []
    for key, value in settings.items():
        if key == "method":
            value = {"lisa": "LISA", "gi_star": "Getis-Ord Gi*", "join_count": tr("local join counts")}.get(
                str(value), value
            )
        elif key == "variables" and isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value))
        elif key in ("permutations", "alpha"):
            value = _fmt(value)
        parts.append(f"{tr(str(key))}{sep}{value}")
    return ", ".join(parts)


def _cluster_tables(clusters: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """One (variable, [(test, results)]) table per clustered variable."""
    tables = []
    for var, stats in clusters.get("global", {}).items():
        rows = []
        for test, d in stats.items():
            if not isinstance(d, Mapping):
                continue
            shown = {k: v for k, v in d.items() if not isinstance(v, (list, dict)) and v is not None}
            keep = [k for k in _TEST_KEYS if k in shown] or list(shown)[:10]
            rows.append(
                (tr(str(test)), "; ".join(f"{tr(k)} = {shown[k] if k == 'seed' else _fmt(shown[k])}" for k in keep))
            )
        labels = clusters.get("labels", {}).get(var, {})
        if labels:
            sep = _colon()
            rows.append((tr("local labels"), ", ".join(f"{tr(str(k))}{sep}{_fmt(v)}" for k, v in labels.items())))
        tables.append((str(var), rows))
    return tables


@dataclass(frozen=True)
class RankRow:
    """One town of the ranking table."""

    rank: str
    code: str
    name: str
    department: str
    scores: tuple[str, ...]


def _ranking_rows(towns: Mapping[Any, Record], ranking: pd.DataFrame, top: int) -> list[RankRow]:
    cols = [c for c in _SCORE_COLS if c in ranking.columns]
    rows = []
    for code, r in ranking.head(top).to_dict("index").items():
        town = towns.get(code, {})
        dep = town.get("departement", "")
        rows.append(
            RankRow(
                _fmt(r.get("rank")),
                _text(code),
                _text(town.get("commune", code)),
                "" if _isna(dep) else _text(dep),
                tuple(_fmt(r.get(c)) for c in cols),
            )
        )
    return rows


@dataclass(frozen=True)
class Method:
    """What the ranking method paragraph names: weights, indicators used, indicators left out."""

    weights: str
    columns: str
    left_out: str


def _method(ranking: pd.DataFrame, meta: Meta) -> Method:
    info = ranking.attrs.get("acv_geo_profile") or {}
    weights = info.get("weights") or {}
    used = info.get("columns") or {}
    return Method(
        ", ".join(f"{k} {v:g}" for k, v in weights.items()),
        "; ".join(f"{k}: {', '.join(_label(c, meta) for c in v) or '—'}" for k, v in used.items()),
        ", ".join(_label(c, meta) for c in info.get("excluded") or {}),
    )


# ---------------------------------------------------------------------------------- indicators


@dataclass(frozen=True)
class _ColumnSpec:
    name: str
    label: str
    tip: str
    unit: str
    description: str


@dataclass(frozen=True)
class _GroupSpec:
    """The town-independent part of one (source, date) group of the indicator table."""

    head: str
    source: str
    values: tuple[_ColumnSpec, ...]
    reasons: tuple[str, ...]
    covered: str | None


def _group_specs(columns: Sequence[str], meta: Meta) -> list[_GroupSpec]:
    """The indicator groups, their heads and their labels (the layer part they share goes to the head)."""
    sep, english = _colon(), _LANG.get() == "en"  # the definitions are English: in French, the label's tooltip
    specs = []
    for src, date, cols in _groups(columns, meta):
        values = [c for c in cols if not c.endswith(("_reason", "_covered"))]
        if not values:
            continue
        labels = [_label(c, meta) for c in values]
        heads = {lab.split(sep, 1)[0] for lab in labels if sep in lab}
        shared = heads.pop() if len(heads) == 1 and all(sep in lab for lab in labels) and len(labels) > 1 else ""
        specs.append(
            _GroupSpec(
                head=(f"{shared} — " if shared else "") + src + (f" · {date}" if date else ""),
                source=src,
                values=tuple(
                    _ColumnSpec(
                        c,
                        lab.split(sep, 1)[1] if shared else lab,
                        _tip(c, meta.get(c, {}).get("description", ""), english),
                        meta.get(c, {}).get("unit", ""),
                        meta.get(c, {}).get("description", ""),
                    )
                    for c, lab in zip(values, labels, strict=True)
                ),
                reasons=tuple(c for c in cols if c.endswith("_reason")),
                covered=next((c for c in cols if c.endswith("_covered")), None),
            )
        )
    return specs


def _tip(column: str, description: str, english: bool) -> str:
    return f"{column} — {description}" if description and not english else column


@dataclass(frozen=True)
class IndicatorRow:
    """One measured value: label (with its tooltip), value, unit, definition."""

    label: str
    tip: str
    value: str
    kind: str
    unit: str
    description: str


@dataclass(frozen=True)
class IndicatorGroup:
    """The rows of one source in a fiche, then its condensed notes (zeros, no value, not covered)."""

    head: str
    rows: tuple[IndicatorRow, ...]
    notes: tuple[str, ...]


def _indicator_group(city: Record, spec: _GroupSpec) -> IndicatorGroup:
    """One group of a fiche's indicator table: zeros, empty values and an uncovered layer condensed."""
    reasons = [str(city[c]) for c in spec.reasons if not _isna(city.get(c))]
    if spec.covered is not None and not _isna(city.get(spec.covered)) and not bool(city[spec.covered]):
        why = next((r for r in reasons if r.startswith("outside the coverage")), "")
        where = tr_reason(why[why.find("(") + 1 : why.rfind(")")]) if "(" in why else spec.source
        note = tr(
            "Outside the layer's coverage ({}): its {} indicators were not measured here (no value, never 0).",
            where,
            len(spec.values),
        )
        return IndicatorGroup(spec.head, (), (note,))
    rows, zeros, empty = [], [], []
    for col in spec.values:
        v: Any = city.get(col.name)
        if _isna(v):
            empty.append(col.label)
        elif not isinstance(v, (str, bool, np.bool_)) and float(v) == 0:
            zeros.append(col.label)
        else:
            kind = "txt" if isinstance(v, str) else "num"
            rows.append(IndicatorRow(col.label, col.tip, _fmt(v, col.unit), kind, tr(col.unit), col.description))
    notes = [tr("0 for {}", _short(zeros))] if zeros else []
    if empty:
        why = "; ".join(dict.fromkeys(reasons))
        notes.append(tr("no value for {}", _short(empty)) + (": " + tr_reason(why) if why else ""))
    return IndicatorGroup(spec.head, tuple(rows), tuple(notes))


# ------------------------------------------------------------------------------------------ fiche


@dataclass(frozen=True)
class KnownRisks:
    """Seismic zone and the natural risks the State lists, as (label, value), with their sources."""

    items: tuple[tuple[str, str], ...]
    sources: str


def _known_risks(city: Record, meta: Meta) -> KnownRisks | None:
    items = []
    if "seismic_zone" in city:
        z = city["seismic_zone"]
        text = (
            f"zone {int(z)} ({tr(str(city.get('seismic_label')))})"
            if not _isna(z)
            else f"{tr('unknown')} — {tr_reason(city.get('seismic_reason'))}"
        )
        items.append((tr("Seismic zone"), text))
    if "risks_known" in city:
        r = city["risks_known"]
        text = str(r) if not _isna(r) else f"{tr('unknown')} — {tr_reason(city.get('risks_known_reason'))}"
        items.append((tr("Risks listed by the departmental risk file (DDRM)"), text))
    if not items:
        return None
    sources = [meta.get(c, {}) for c in ("seismic_zone", "risks_known") if c in city]
    return KnownRisks(tuple(items), " · ".join(f"{m.get('source', '')} ({m.get('date', '')})" for m in sources if m))


@dataclass(frozen=True)
class OpenData:
    """The open-data table of a fiche: status tag and sentence, then (label, cell) rows."""

    tag: str
    tag_text: str
    status: str
    rows: tuple[tuple[str, Link], ...]


def _opendata(city: Record) -> OpenData:
    level = city.get("opendata_level")
    tag = "na" if _isna(level) else str(level)
    rows = [
        ("commune portal", _link(city.get("url_portail_com"))),
        ("commune data.gouv page", _link(city.get("url_datagouv_com"))),
        ("commune platform", Link(_fmt(city.get("techno_com")))),
        ("EPCI portal", _link(city.get("url_portail_epci"))),
        ("EPCI data.gouv page", _link(city.get("url_datagouv_epci"))),
        ("EPCI platform", Link(_fmt(city.get("techno_epci")))),
        ("EPCI themes", Link(_fmt(city.get("themes_epci")))),
    ]
    if not _isna(city.get("opendata_change")):
        rows.append(("since the 2020 observatory", Link(tr(str(city["opendata_change"])))))
    if not _isna(city.get("opendata_source")):
        rows.append(("source", Link(str(city["opendata_source"]))))
    return OpenData(
        tag,
        tr("unknown") if tag == "na" else tr(tag),
        tr(_LEVEL_TEXT.get(tag, "open-data status unknown")),
        tuple((tr(k), v) for k, v in rows),
    )


@dataclass(frozen=True)
class Fiche:
    """Everything one town's page shows, ready to lay out."""

    code: str
    name: str
    place: str
    info: str
    profile: tuple[str, ...] | None
    profile_reason: str
    clusters: tuple[tuple[str, str], ...]
    town_map: str
    risks: KnownRisks | None
    opendata: OpenData
    gaps: tuple[str, ...]
    indicators: tuple[IndicatorGroup, ...]


@dataclass(frozen=True)
class _FicheContext:
    """What every fiche shares: metadata, indicator groups, layer labels, town maps."""

    meta: Meta
    groups: Sequence[_GroupSpec]
    layers: _Layers
    town_maps: Mapping[str, str]


def _fiche(code: str, city: Record, ctx: _FicheContext) -> Fiche:
    meta, colon = ctx.meta, _colon()
    info = [
        f"{_label(k, meta)}{colon}{_fmt(city[k], meta.get(k, {}).get('unit', ''))}"
        for k in ("population", "epci", "siren_epci", "territory")
        if not _isna(city.get(k))
    ]
    profile = (
        tuple(_fmt(city.get(k)) for k in ("rank", "exposure_score", "risk_score", "nature_score", "opendata_score"))
        if "exposure_score" in city
        else None
    )
    reason = city.get("profile_reason") if profile is not None else None
    clusters = tuple(
        (_label(c.removeprefix("cluster_").removesuffix("_label"), meta), tr(_fmt(v)))
        for c, v in city.items()
        if c.startswith("cluster_") and c.endswith("_label")
    )
    return Fiche(
        code=code,
        name=_text(city.get("commune", code)),
        place=", ".join(_text(city[k]) for k in ("departement", "region") if not _isna(city.get(k))),
        info=" · ".join(info),
        profile=profile,
        profile_reason="" if _isna(reason) else tr_reason(reason),
        clusters=clusters,
        town_map=ctx.town_maps.get(code, ""),  # SVG of acv_geo.outputs.maps.town_map_svg, inserted |safe
        risks=_known_risks(city, meta),
        opendata=_opendata(city),
        gaps=tuple(_gaps(code, city, ctx.layers)),
        indicators=tuple(_indicator_group(city, g) for g in ctx.groups),
    )


# ------------------------------------------------------------------------------------------ page


@functools.cache
def _environment() -> jinja2.Environment:
    """The templates of ``acv_geo/outputs/templates`` (package data), HTML-escaped, strict about names."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("acv_geo.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(tr=tr, tr_markup=_tr_markup)
    return env


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
    return draft_report(
        cities,
        metadata=metadata,
        clusters=clusters,
        ranking=ranking,
        maps=maps,
        config=config,
        warnings=warnings,
        title=title,
        lang=lang,
        town_maps=town_maps,
    )()


def draft_report(
    cities: pd.DataFrame,
    *,
    metadata: pd.DataFrame,
    maps: Mapping[str, str | Path] | None = None,
    lang: str = "fr",
    **options: Any,
) -> Callable[[], str]:
    """:func:`build_report` laid out now, its maps read when the function returned is called.

    The page is rendered at once with a placeholder for each map; calling the result reads the PNG
    files of ``maps`` (which may not exist yet when drafting) and returns the page with them
    embedded: the string :func:`build_report` returns. ``diagnose`` drafts its report while its maps
    are still being drawn. Other arguments as :func:`build_report`.

    Examples
    --------
    >>> df = pd.DataFrame({"commune": ["Sète"]}, index=pd.Index(["34301"], name="insee_com"))
    >>> finish = draft_report(df, metadata=pd.DataFrame(columns=["column"]))
    >>> finish().count("class='fiche'")
    1
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {list(LANGUAGES)}, got {lang!r}")
    unknown = sorted(set(options) - {"clusters", "ranking", "config", "warnings", "title", "town_maps"})
    if unknown:
        raise TypeError(f"draft_report() got unexpected keyword argument(s) {', '.join(unknown)}")
    paths = [Path(p) for p in (maps or {}).values()]
    marker = f"acvgeomap{secrets.token_hex(8)}x"  # letters and digits: escaping leaves it as it is
    token = _LANG.set(lang)
    try:
        opts = _Options(
            options.get("clusters"),
            options.get("ranking"),
            options.get("config"),
            tuple(options.get("warnings", ())),
            options.get("title"),
            options.get("town_maps") or {},
        )
        context = _page_context(cities, _meta_lookup(metadata), opts)
        context["maps"] = [EmbeddedImage(p.stem, f"{marker}{i}") for i, p in enumerate(paths)]
        page = _environment().get_template("report.html.j2").render(context)
    finally:
        _LANG.reset(token)
    pattern = re.compile(re.escape(marker) + r"(\d+)")

    def finish() -> str:
        data = [base64.b64encode(_png_bytes(p)).decode("ascii") for p in paths]
        return pattern.sub(lambda m: data[int(m.group(1))], page)

    return finish


@dataclass(frozen=True)
class _Options:
    """The optional parts of :func:`build_report`."""

    clusters: Mapping[str, Any] | None
    ranking: pd.DataFrame | None
    config: Any
    warnings: tuple[str, ...]
    title: str | None
    town_maps: Mapping[str, str]


def _plain(cities: pd.DataFrame) -> pd.DataFrame:
    """The table without its ``attrs`` (the run's metadata, else deep-copied by every pandas operation)."""
    plain = pd.DataFrame(cities, copy=False)
    plain.attrs = {}
    return plain


def _title(options: _Options) -> str:
    title = options.title or getattr(options.config, "title", None) or _DEFAULT_TITLE
    return tr(title) if title == _DEFAULT_TITLE else str(title)


def _page_context(cities: pd.DataFrame, meta: Meta, options: _Options) -> dict[str, Any]:
    """Everything the page template lays out: the summary's figures and tables, then one fiche per town."""
    from acv_geo import __version__

    df = _plain(cities)
    towns = df.to_dict("index")  # {code: {column: value}}, one vectorised pass: no per-town .loc
    order = sorted(towns, key=lambda c: (str(towns[c].get("commune", c)).lower(), c))
    ranking = options.ranking if options.ranking is not None and len(options.ranking) else None
    top = int(getattr(options.config, "profile_top", 20) or 20)
    clusters = options.clusters or {}
    fiches = _fiche_context(df, meta, options)
    return {
        "lang": _LANG.get(),
        "colon": _colon(),
        "title": _title(options),
        "version": __version__,
        "today": _dt.date.today().isoformat(),
        "n_cities": len(df),
        "figures": _summary_figures(df),
        "coverage": _coverage_rows(df, meta),
        "clusters": bool(clusters),
        "cluster_settings": _cluster_settings(clusters.get("settings", {})),
        "cluster_tables": _cluster_tables(clusters),
        "top": top,
        "method": None if ranking is None else _method(ranking, meta),
        "ranking": [] if ranking is None else _ranking_rows(towns, _plain(ranking), top),
        "score_heads": [column_label(c, _LANG.get()) for c in _SCORE_COLS if ranking is not None and c in ranking],
        "warnings": [tr_warning(w) for w in options.warnings],
        "maps": [],  # placed by draft_report
        "index": [(_text(c), _text(towns[c].get("commune", c))) for c in order],
        "fiches": [_fiche(str(c), towns[c], fiches) for c in order],
    }


def _fiche_context(df: pd.DataFrame, meta: Meta, options: _Options) -> _FicheContext:
    skip = {*_CITY_INFO, *_OPEN_COLS, *CITY_METADATA, *_PROFILE_COLS}
    columns = [c for c in df.columns if c in meta and c not in skip and not c.startswith("cluster_")]
    return _FicheContext(meta, _group_specs(columns, meta), _Layers.of(options.config), options.town_maps)
