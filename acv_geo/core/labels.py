"""Human labels of output columns, in French and English.

Every column acv-geo writes has a short label for people: the report's tables, the map titles
and legends, and the QGIS field aliases show it instead of the column name. Labels are composed
from the column's structure (``<layer>[_<category>]_<measure>``), the labels of the configured
layers (``label``/``label_en`` in the config) and a fixed vocabulary; they live here only.

Examples
--------
>>> column_label("pac_inondation_et_submersion_marine_dist_m", layers={"pac": ("Zones de risque PAC", "PAC")})
'Zones de risque PAC : inondation et submersion marine, distance (m)'
>>> column_label("catnat_flood_last_year", lang="en")
'CatNat decrees, flood: last year'
>>> column_label("dem_below_300_pct", layers={"dem": ("Altitude", "Elevation")})
'Altitude : part sous 300 (%)'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

__all__ = ["CITY_METADATA", "LANGS", "SOURCE_LABELS", "column_label", "label_metadata"]

#: Languages of the labels.
LANGS: tuple[str, ...] = ("fr", "en")

#: Columns of the city list and open-data status: (unit, French label, English label, description).
CITY_METADATA: dict[str, tuple[str, str, str, str]] = {
    "insee_com": ("code", "Code INSEE de la commune", "INSEE commune code", "Official commune code (COG 2025)"),
    "commune": ("", "Commune", "Commune", "Name of the commune"),
    "lon": ("degrees", "Longitude", "Longitude", "Longitude of the town centre (WGS 84)"),
    "lat": ("degrees", "Latitude", "Latitude", "Latitude of the town centre (WGS 84)"),
    "siren_epci": ("code", "SIREN de l'EPCI", "EPCI SIREN", "SIREN code of the commune's EPCI (intercommunality)"),
    "epci": ("", "EPCI", "EPCI", "Name of the commune's EPCI"),
    "region": ("", "Région", "Region", "Name of the region"),
    "departement": ("", "Département", "Department", "Name of the department"),
    "code_dep": ("code", "Code du département", "Department code", "Department code"),
    "code_reg": ("code", "Code de la région", "Region code", "Region code"),
    "territory": ("", "Territoire", "Territory", "Territory whose projected CRS is used (mainland, reunion…)"),
    "population": ("inhabitants", "Population", "Population", "Municipal population"),
    "id_acv": ("code", "Identifiant ACV", "ACV identifier", "Identifier of the town in the ACV programme"),
    "lib_acv": ("", "Libellé ACV", "ACV name", "Name of the town in the ACV programme"),
    "url_portail_com": (
        "URL",
        "Portail open data de la commune",
        "Commune open-data portal",
        "Address of the commune's open-data portal (observatory)",
    ),
    "url_datagouv_com": (
        "URL",
        "Page data.gouv.fr de la commune",
        "Commune data.gouv.fr page",
        "Address of the commune's organisation on data.gouv.fr",
    ),
    "url_portail_epci": (
        "URL",
        "Portail open data de l'EPCI",
        "EPCI open-data portal",
        "Address of the EPCI's open-data portal (observatory)",
    ),
    "url_datagouv_epci": (
        "URL",
        "Page data.gouv.fr de l'EPCI",
        "EPCI data.gouv.fr page",
        "Address of the EPCI's organisation on data.gouv.fr",
    ),
    "techno_com": (
        "",
        "Technologie du portail (commune)",
        "Portal technology (commune)",
        "Software of the commune's open-data portal",
    ),
    "techno_epci": (
        "",
        "Technologie du portail (EPCI)",
        "Portal technology (EPCI)",
        "Software of the EPCI's open-data portal",
    ),
    "themes_epci": ("", "Thèmes publiés (EPCI)", "Published themes (EPCI)", "Themes the EPCI publishes"),
    "opendata_source": (
        "",
        "Source du statut open data",
        "Open-data status source",
        "Which observatory file gave the open-data status",
    ),
    "position_source": ("", "Source de la position", "Position source", "Where the town-centre position comes from"),
    "epci_check": (
        "",
        "Contrôle de l'EPCI",
        "EPCI check",
        "Whether the EPCI of the city list agrees with the official commune list",
    ),
    "date_signature": ("date", "Date de signature ACV", "ACV signature date", "Date the town signed its ACV agreement"),
    "opendata_reason": ("", "Raison (open data)", "Reason (open data)", "Why the open-data status is missing"),
    "opendata": (
        "bool",
        "Publie des données ouvertes",
        "Publishes open data",
        "True when the commune or its EPCI publishes open data (in the observatory)",
    ),
    "opendata_com": (
        "bool",
        "La commune publie",
        "The commune publishes",
        "True when the commune itself publishes open data",
    ),
    "opendata_epci": (
        "bool",
        "L'EPCI publie",
        "The EPCI publishes",
        "True when the commune's EPCI publishes open data",
    ),
    "opendata_level": ("class", "Qui publie", "Who publishes", "Who publishes: commune, epci (only the EPCI) or none"),
    "opendata_change": (
        "class",
        "Évolution open data",
        "Open-data change",
        "Change between the two observatories: kept, new, stopped or never",
    ),
    "nom_epci": ("", "EPCI", "EPCI", "Name of the EPCI"),
    "type_epci": ("", "Type d'EPCI", "EPCI type", "Legal form of the EPCI (CA, CC, CU, ME)"),
    "acv_communes": ("codes", "Communes ACV", "ACV communes", "INSEE codes of the ACV towns in the EPCI"),
    "acv_names": ("", "Villes ACV", "ACV towns", "Names of the ACV towns in the EPCI"),
    "n_acv": ("count", "Nombre de villes ACV", "Number of ACV towns", "ACV towns in the EPCI"),
    "area_m2": ("m2", "Surface (m²)", "Area (m²)", "Area in the territory's projected CRS"),
    "territory_layer": (
        "",
        "Territoire (couche EPCI)",
        "Territory (EPCI layer)",
        "Territory as given by the EPCI layer itself",
    ),
}

_FIXED: dict[str, tuple[str, str]] = {
    "radon_class": ("Potentiel radon (classe)", "Radon potential (class)"),
    "seismic_zone": ("Zone de sismicité", "Seismic zone"),
    "seismic_label": ("Zone de sismicité (libellé)", "Seismic zone (name)"),
    "risks_known_count": ("Familles de risques connues", "Risk families known"),
    "risks_known": ("Risques connus (DDRM)", "Known risks (DDRM)"),
    "risk_score": ("Sous-score risque", "Risk sub-score"),
    "nature_score": ("Sous-score nature", "Nature sub-score"),
    "opendata_score": ("Sous-score open data", "Open-data sub-score"),
    "exposure_score": ("Score d'exposition", "Exposure score"),
    "rank": ("Rang", "Rank"),
    "profile_reason": ("Raison (profil)", "Reason (profile)"),
    "opendata_2020": ("Publiait des données ouvertes (2020)", "Published open data (2020)"),
    "opendata_com_2020": ("La commune publiait (2020)", "The commune published (2020)"),
    "opendata_epci_2020": ("L'EPCI publiait (2020)", "The EPCI published (2020)"),
    "georisques_seismic_zone": ("Zone de sismicité (Géorisques)", "Seismic zone (Géorisques)"),
    "georisques_seismic_label": ("Zone de sismicité, libellé (Géorisques)", "Seismic zone, name (Géorisques)"),
    "georisques_rga_class": (
        "Exposition au retrait-gonflement des argiles (classe, Géorisques)",
        "Clay shrink-swell exposure (class, Géorisques)",
    ),
    "georisques_rga_label": (
        "Exposition au retrait-gonflement des argiles (Géorisques)",
        "Clay shrink-swell exposure (Géorisques)",
    ),
    "georisques_radon_class": ("Potentiel radon (classe, Géorisques)", "Radon potential (class, Géorisques)"),
    "georisques_risks": ("Risques recensés (GASPAR, Géorisques)", "Risks listed (GASPAR, Géorisques)"),
    "georisques_risks_count": ("Nombre de risques recensés (Géorisques)", "Number of risks listed (Géorisques)"),
    "georisques_pprn_count": ("Nombre de PPRN (Géorisques)", "Number of PPRN (Géorisques)"),
    "georisques_azi_count": (
        "Nombre d'atlas des zones inondables (Géorisques)",
        "Number of flood atlases (Géorisques)",
    ),
    "georisques_tri_count": ("Nombre de TRI (Géorisques)", "Number of TRI (Géorisques)"),
    "georisques_tri_zonage_count": (
        "Zonages TRI au centre de la ville (Géorisques)",
        "TRI flood zones at the town centre (Géorisques)",
    ),
    "georisques_dicrim_count": ("Nombre de DICRIM (Géorisques)", "Number of DICRIM (Géorisques)"),
    "georisques_catnat_count": ("Arrêtés CatNat (Géorisques)", "CatNat decrees (Géorisques)"),
}

_FAMILY = {
    "flood": ("inondation", "flood"),
    "drought": ("sécheresse (argiles)", "drought (clay)"),
    "ground_movement": ("mouvement de terrain", "ground movement"),
    "earthquake": ("séisme", "earthquake"),
    "storm": ("tempête", "storm"),
    "other": ("autres", "other"),
    "clay": ("retrait-gonflement des argiles", "clay shrink-swell"),
    "avalanche": ("avalanche", "avalanche"),
    "volcano": ("volcan", "volcano"),
    "forest_fire": ("feu de forêt", "forest fire"),
    "coastal": ("littoral (submersion, recul du trait de côte)", "coastal"),
    "radon": ("radon", "radon"),
    "total": ("total", "total"),
}

_MEASURE = {  # suffix → (French, English)
    "area_m2": ("surface (m²)", "area (m²)"),
    "pct": ("part de la zone (%)", "share of the zone (%)"),
    "length_m": ("longueur (m)", "length (m)"),
    "count": ("nombre", "count"),
    "dist_m": ("distance (m)", "distance (m)"),
    "reason": ("raison de l'absence de valeur", "reason for the missing value"),
    "covered": ("dans la couverture de la source", "within the source's coverage"),
    "mean": ("moyenne", "mean"),
    "min": ("minimum", "minimum"),
    "max": ("maximum", "maximum"),
    "median": ("médiane", "median"),
    "std": ("écart type", "standard deviation"),
    "sum": ("somme", "sum"),
    "majority": ("valeur majoritaire", "majority value"),
    "minority": ("valeur minoritaire", "minority value"),
    "variety": ("nombre de valeurs", "number of values"),
    "coverage_pct": ("part couverte par le raster (%)", "share covered by the raster (%)"),
    "n_indicators": ("nombre d'indicateurs", "number of indicators"),
    "listed": ("la commune est concernée", "the commune is listed"),
    "names": ("noms", "names"),
    "codes": ("codes", "codes"),
    "published": ("publié", "published"),
    "year": ("année", "year"),
    "last_year": ("dernière année", "last year"),
}

_CLUSTER = {
    "value": ("valeur testée", "value tested"),
    "statistic": ("statistique locale", "local statistic"),
    "quadrant": ("quadrant", "quadrant"),
    "p_sim": ("p-valeur (permutations)", "p-value (permutations)"),
    "p_fdr": ("p-valeur corrigée (FDR)", "p-value corrected (FDR)"),
    "label": ("classe de cluster", "cluster class"),
    "reason": ("raison", "reason"),
}

#: Labels of the sources whose column prefix is fixed (GASPAR readers, web services); a configured layer's
#: own label wins over these.
SOURCE_LABELS: dict[str, tuple[str, str]] = {
    "pprn": ("Plans de prévention des risques naturels (PPRN)", "Natural risk prevention plans (PPRN)"),
    "azi": ("Atlas des zones inondables (AZI)", "Flood atlases (AZI)"),
    "tri": ("Territoires à risque important d'inondation (TRI)", "Territories at significant flood risk (TRI)"),
    "dicrim": (
        "Document d'information communal sur les risques majeurs (DICRIM)",
        "Communal risk information document (DICRIM)",
    ),
    "georisques": ("Géorisques", "Géorisques"),
    "natura_habitat": ("Natura 2000, directive Habitats (ZSC/SIC)", "Natura 2000, Habitats directive (SAC/SCI)"),
    "natura_oiseaux": ("Natura 2000, directive Oiseaux (ZPS)", "Natura 2000, Birds directive (SPA)"),
    "znieff1": ("ZNIEFF de type I", "ZNIEFF type I"),
    "znieff2": ("ZNIEFF de type II", "ZNIEFF type II"),
    "pn": ("Parcs nationaux", "National parks"),
    "pnr": ("Parcs naturels régionaux", "Regional natural parks"),
    "rnn": ("Réserves naturelles nationales", "National nature reserves"),
    "rnc": ("Réserves naturelles de Corse", "Nature reserves of Corsica"),
    "rncf": ("Réserves nationales de chasse et de faune sauvage", "National hunting and wildlife reserves"),
}

_REASON_OF = {
    "catnat": ("CatNat", "CatNat"),
    "radon": ("radon", "radon"),
    "seismic": ("sismicité", "seismic"),
    "join": ("table jointe", "joined table"),
}
_SUB = {"risk": ("risque", "risk"), "nature": ("nature", "nature"), "opendata": ("open data", "open data")}
_ZONE_TOKEN = re.compile(r"^(b\d+|epci)(?:_|$)")


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[LANGS.index(lang)]


def _words(slug: str) -> str:
    return slug.replace("_", " ")


def _zone_text(token: str, lang: str) -> str:
    """``b2000`` → `` (dans 2 km autour du centre)``; ``epci`` → `` (EPCI)``."""
    if token == "epci":
        return " (EPCI)"
    metres = int(token[1:])
    dist = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres} m"
    return f" (dans {dist} autour du centre)" if lang == "fr" else f" (within {dist} of the centre)"


def _split_prefix(prefix: str, layers: Mapping[str, tuple[str, str]], lang: str) -> tuple[str, str] | None:
    """``pac_b500_inondation`` → (``<pac label> (dans 500 m autour du centre)``, ``inondation``)."""
    for name in sorted(layers, key=len, reverse=True):
        if prefix != name and not prefix.startswith(name + "_"):
            continue
        head, rest = _pick(layers[name], lang), prefix[len(name) + 1 :]
        m = _ZONE_TOKEN.match(rest)
        if m:
            head += _zone_text(m.group(1), lang)
            rest = rest[m.end() :]
        return head, _words(rest)
    return None


def column_label(column: str, lang: str = "fr", *, layers: Mapping[str, tuple[str, str]] | None = None) -> str:
    """Human label of an output column.

    Parameters
    ----------
    column : str
        Column name.
    lang : {"fr", "en"}, default "fr"
        Language.
    layers : dict, optional
        Labels of the configured layers, rasters and tables: ``{name: (french, english)}``.

    Returns
    -------
    str
        The label; the column name itself when nothing is known about it.

    Raises
    ------
    ValueError
        Unknown ``lang``.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    layers = {**SOURCE_LABELS, **(layers or {})}
    if column in CITY_METADATA:
        return CITY_METADATA[column][1 if lang == "fr" else 2]
    if column in _FIXED:
        return _pick(_FIXED[column], lang)
    sep = " : " if lang == "fr" else ": "
    m = re.fullmatch(r"catnat_(?P<fam>[a-z_]+?)_(?P<what>count|first_year|last_year)", column)
    if m and m.group("fam") in _FAMILY:
        head = "Arrêtés CatNat" if lang == "fr" else "CatNat decrees"
        what = {
            "count": ("nombre", "count"),
            "first_year": ("première année", "first year"),
            "last_year": ("dernière année", "last year"),
        }[m.group("what")]
        return f"{head}, {_pick(_FAMILY[m.group('fam')], lang)}{sep}{_pick(what, lang)}"
    if column.endswith("_reason") and column[:-7] in {**_FIXED, **_REASON_OF}:
        base = column[:-7]
        reason = _pick({**_FIXED, **_REASON_OF}[base], lang)
        return f"Raison (valeur manquante) : {reason}" if lang == "fr" else f"Reason (missing value): {reason}"
    m = re.fullmatch(r"pprn_(?P<fam>[a-z_]+)_(?P<st>approved|prescribed)_count", column)
    if m and m.group("fam") in _FAMILY:
        st = {"approved": ("approuvés", "approved"), "prescribed": ("prescrits", "prescribed")}[m.group("st")]
        return (
            f"PPRN {_pick(_FAMILY[m.group('fam')], lang)} {_pick(st, lang)}{sep}nombre"
            if lang == "fr"
            else f"{_pick(st, lang).capitalize()} PPRN, {_pick(_FAMILY[m.group('fam')], lang)}: count"
        )
    m = re.fullmatch(r"risk_(?P<fam>[a-z_]+)_known", column)
    if m and m.group("fam") in _FAMILY:
        return (
            f"Risque connu : {_pick(_FAMILY[m.group('fam')], lang)}"
            if lang == "fr"
            else f"Known risk: {_pick(_FAMILY[m.group('fam')], lang)}"
        )
    m = re.fullmatch(r"(?P<s>risk|nature|opendata)_n_indicators", column)
    if m:
        return (
            f"Sous-score {_pick(_SUB[m.group('s')], lang)}{sep}nombre d'indicateurs"
            if lang == "fr"
            else f"{_pick(_SUB[m.group('s')], lang).capitalize()} sub-score: number of indicators"
        )
    m = re.fullmatch(r"cluster_(?P<var>.+)_(?P<what>value|statistic|quadrant|p_sim|p_fdr|label|reason)", column)
    if m:
        var = column_label(m.group("var"), lang, layers=layers)
        return f"Clusters ({var}){sep}{_pick(_CLUSTER[m.group('what')], lang)}"
    found = _measure_label(column, lang, layers)
    if found is None and (split := _split_prefix(column, layers, lang)) is not None:
        found = f"{split[0]}{sep}{split[1]}" if split[1] else split[0]
    return found or column


def _measure_label(column: str, lang: str, layers: Mapping[str, tuple[str, str]]) -> str | None:
    sep = " : " if lang == "fr" else ": "
    m = re.fullmatch(r"(?P<prefix>.+)_below_(?P<t>[0-9.m]+)_pct", column)
    if m:
        what = f"part sous {m.group('t')} (%)" if lang == "fr" else f"share below {m.group('t')} (%)"
        return _compose(m.group("prefix"), what, lang, layers, sep)
    m = re.fullmatch(r"(?P<prefix>.+)_class_(?P<c>.+)_pct", column)
    if m:
        what = f"part en classe {m.group('c')} (%)" if lang == "fr" else f"share in class {m.group('c')} (%)"
        return _compose(m.group("prefix"), what, lang, layers, sep)
    for suffix in sorted(_MEASURE, key=len, reverse=True):
        if column.endswith("_" + suffix):
            return _compose(column[: -len(suffix) - 1], _pick(_MEASURE[suffix], lang), lang, layers, sep)
    m = re.fullmatch(r"(?P<prefix>.+)_p(?P<q>\d+)", column)
    if m:
        return _compose(
            m.group("prefix"),
            f"{m.group('q')}e centile" if lang == "fr" else f"{m.group('q')}th percentile",
            lang,
            layers,
            sep,
        )
    return None


def _compose(prefix: str, what: str, lang: str, layers: Mapping[str, tuple[str, str]], sep: str) -> str | None:
    found = _split_prefix(prefix, layers, lang)
    if found is None:
        return None if prefix in CITY_METADATA or prefix in _FIXED else f"{_words(prefix)}{sep}{what}"
    head, cat = found
    return f"{head}{sep}{cat}, {what}" if cat else f"{head}{sep}{what}"


def label_metadata(meta: pd.DataFrame, *, layers: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """Fill the ``label_fr`` and ``label_en`` columns of a metadata table where they are empty.

    Parameters
    ----------
    meta : pandas.DataFrame
        A table of :func:`acv_geo.indicator_metadata`.
    layers : dict, optional
        ``{name: (french, english)}`` labels of the configured sources.

    Returns
    -------
    pandas.DataFrame
        A copy with both label columns filled.
    """
    out = meta.copy()
    for lang in LANGS:
        col = f"label_{lang}"
        if col not in out.columns:
            out[col] = ""
        empty = out[col].fillna("").astype(str).str.strip() == ""
        out.loc[empty, col] = [column_label(c, lang, layers=layers) for c in out.loc[empty, "column"]]
    return out
