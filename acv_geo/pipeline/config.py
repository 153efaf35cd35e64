"""Configuration of ``acv-geo diagnose``: a TOML file, validated up front.

:func:`load_config` reads a TOML file (or a dict, or nothing for the embedded default), checks
every key, type, file and field **before** any computation, and returns a frozen
:class:`DiagnoseConfig`. A mistake raises :class:`~acv_geo.core.errors.InputError` naming the config
file, the key path (``layers[2].category``) and the fix.

The schema (every key optional unless marked; see ``examples/diagnose.toml`` and
``docs/getting-started.md``)::

    [cities]
    source = "cdc_export.csv"        # ACV city list (default: embedded ANCT list of 244 towns)
    observatory = "odater_2022"      # open-data observatory: embedded name, path, or "none"
    communes = "COMMUNE.shp"         # commune polygons (default: embedded 244 ACV communes)
    epci = "EPCI.shp"                # EPCI polygons (default: embedded 1,255 EPCIs)

    [zones]
    kinds = ["commune"]              # default zones of layers and rasters: commune, epci, buffer:M

    [[layers]]                       # vector layers overlaid on the zones (repeatable)
    name = "pac"                     # REQUIRED: column prefix
    source = "herault_pac_risques"   # REQUIRED: embedded name, fetched catalogue name, or path
    preset = "pac_risques"           # a preset of acv_geo.indicators.overlay ...
    category = "ALEA"                # ... or a category field (not both)
    layer = "..."                    # layer inside a multi-layer file
    zones = ["commune", "buffer:2000"]
    label = "Zones de risque"        # title in maps and report (French)
    label_en = "Risk zones"          # English title (--lang en); default: label
    role = "risk"                    # risk | nature | context: the sub-score its share enters (context:
                                     # shown, never scored); default: the preset's role, else context
    date = "2019"                    # date of the data, for the metadata
    distances = true                 # false: skip the *_dist_m columns (faster at national scale)
    coverage = ["34"]                # departments the layer surveys, or "national"; default: derived from
                                     # its features. Outside: NA and a reason, never 0

    [[rasters]]                      # rasters summarised per zone (repeatable)
    name = "dem"                     # REQUIRED
    source = "dem_n45e005"           # REQUIRED
    stats = ["mean", "min", "max"]
    threshold = [300]                # share of the zone below each value
    categorical = false
    band = 1
    unit = "m"
    zones = ["commune"]
    label = "Altitude"
    label_en = "Elevation"
    role = "risk"                    # threshold shares (else the mean) enter this sub-score; default context
    date = "2021"

    [tables]
    radon = true                     # true (embedded IRSN table), false, or a path
    seismic = true                   # seismic zone of every commune (décret 2010-1255, embedded)
    known_risks = true               # natural risks known per commune (GASPAR DDRM, embedded)
    gaspar = "gaspar"                # the GASPAR archive (`acv-geo fetch gaspar`, or a zip/folder path)
    gaspar_tables = ["pprn", "azi", "tri", "dicrim"]   # its tables joined (also "risq", "catnat" when the
                                     # embedded known_risks / catnat are off)
    catnat = true                    # true (embedded CCR decrees), false, or a path
    catnat_since = 1982              # count only events from this year on
    [[tables.csv]]                   # any per-commune table (repeatable)
    path = "my_table.csv"            # REQUIRED
    insee_column = "CODGEO"
    columns = ["x", "y"]
    prefix = "mine"
    role = "context"                 # risk | nature: its numeric columns enter that sub-score

    [clusters]
    variables = ["opendata"]         # city columns (or indicator columns) to test
    method = "lisa"
    weights = "knn:6"                # knn:K, distance:METERS, queen, rook
    permutations = 9999
    seed = 20250401
    alpha = 0.05
    join_counts = true               # global join-count test for boolean variables
    morans_i = true                  # global Moran's I

    [profile]
    weights = { risk = 0.6, nature = 0.4, opendata = 0.0 }
    top = 20

    [maps]
    enabled = true
    dpi = 100
    columns = []                     # indicators to map (default: every risk and nature indicator)

    [report]
    title = "..."
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from acv_geo.core.errors import InputError
from acv_geo.indicators.coverage import parse_coverage

__all__ = [
    "DEFAULT_CONFIG_TOML",
    "ClusterSpec",
    "DiagnoseConfig",
    "LayerSpec",
    "RasterSpec",
    "TableSpec",
    "load_config",
]

#: The embedded default configuration (what ``acv-geo diagnose`` runs without ``--config``).
DEFAULT_CONFIG_TOML = """\
[cities]
observatory = "odater_2022"

[zones]
kinds = ["commune"]

[[layers]]
name = "pac"
source = "herault_pac_risques"
preset = "pac_risques"
label = "Zones de risque portées à connaissance (PAC, Hérault)"
label_en = "Risk zones notified by the State (PAC, Hérault)"
role = "risk"
coverage = ["34"]

[[layers]]
name = "flood_marks"
source = "reperes_crues_34"
zones = ["commune", "buffer:2000"]
label = "Repères de crues historiques (Hérault)"
label_en = "Historical flood marks (Hérault)"
role = "risk"
coverage = ["34"]

[[layers]]
name = "ppr_scie"
source = "ppr_scie_76"
label = "Périmètre du PPRN de la vallée de la Scie (Seine-Maritime)"
label_en = "PPRN perimeter of the Scie basin (Seine-Maritime)"
role = "risk"
coverage = ["76"]

[[rasters]]
name = "dem"
source = "dem_n45e005"
stats = ["mean", "min", "max", "coverage_pct"]
threshold = [300]
unit = "m"
label = "Altitude (Copernicus DEM GLO-30, dalle N45E005)"
label_en = "Elevation (Copernicus DEM GLO-30, tile N45E005)"
role = "risk"

[tables]
radon = true
catnat = true
seismic = true
known_risks = true

[clusters]
variables = ["opendata"]
method = "lisa"
weights = "knn:6"
permutations = 9999
seed = 20250401
alpha = 0.05
join_counts = true
morans_i = true

[profile]
weights = { risk = 0.6, nature = 0.4, opendata = 0.0 }
top = 20

[maps]
enabled = true
dpi = 100

[report]
title = "Action Cœur de Ville: risks, nature and open data"
"""

_ZONE_HELP = "'commune', 'epci' or 'buffer:METERS' (e.g. 'buffer:500')"


@dataclass(frozen=True)
class LayerSpec:
    """One vector layer to overlay on the zones.

    Attributes
    ----------
    name : str
        Column prefix of its indicators.
    source : str
        As written in the config (embedded name, catalogue name or path).
    path : pathlib.Path
        Resolved file.
    preset, category, layer : str or None
        Overlay preset, category field, layer inside the file.
    zones : tuple of str
        Zone specifications (``"commune"``, ``"epci"``, ``"buffer:2000"``).
    label : str
        Display title.
    provenance : str
        Publisher and licence (from the embedded catalogue when known).
    date : str
        Date of the data (may be empty).
    distances : bool
        Compute the nearest-feature distance columns (``*_dist_m``).
    coverage : acv_geo.indicators.coverage.Coverage or None
        Declared coverage (departments or national); None: derived from the features.
    role : {"risk", "nature", "context"}
        What the layer measures (:data:`acv_geo.core.metadata.ROLES`).
    label_en : str
        English title (empty: ``label``).
    """

    name: str
    source: str
    path: Path
    preset: str | None
    category: str | None
    layer: str | None
    zones: tuple[str, ...]
    label: str
    provenance: str
    date: str
    distances: bool = True
    coverage: Any = None
    role: str = "context"
    label_en: str = ""


@dataclass(frozen=True)
class RasterSpec:
    """One raster summarised per zone (see :func:`acv_geo.zonal_indicators`).

    Attributes
    ----------
    name, source, path, zones, label, provenance, date
        As in :class:`LayerSpec`.
    stats : tuple of str
        Statistics.
    threshold : tuple of float
        Thresholds for ``{name}_below_{t}_pct``.
    categorical : bool
        Class shares.
    band : int
        1-based band.
    unit : str or None
        Unit of the values.
    role, label_en : str
        As in :class:`LayerSpec`.
    """

    name: str
    source: str
    path: Path
    stats: tuple[str, ...]
    threshold: tuple[float, ...]
    categorical: bool
    band: int
    unit: str | None
    zones: tuple[str, ...]
    label: str
    provenance: str
    date: str
    role: str = "context"
    label_en: str = ""


@dataclass(frozen=True)
class TableSpec:
    """One per-commune table.

    Attributes
    ----------
    kind : {"radon", "catnat", "seismic", "known_risks", "gaspar", "csv"}
        Which function joins it.
    path : pathlib.Path or None
        File (``None``: the embedded table).
    insee_column : str or None
        INSEE code column of a user table.
    columns : tuple of str or None
        Columns kept from a user table; the GASPAR tables joined.
    prefix : str or None
        Column prefix of a user table.
    since : int or None
        First year counted (CatNat).
    role : str
        Role of a user table (``risk``, ``nature`` or ``context``); the embedded tables are ``risk``.
    """

    kind: str
    path: Path | None = None
    insee_column: str | None = None
    columns: tuple[str, ...] | None = None
    prefix: str | None = None
    since: int | None = None
    role: str = "context"


@dataclass(frozen=True)
class ClusterSpec:
    """Cluster settings (see :func:`acv_geo.stats.clusters.local_clusters`).

    Attributes
    ----------
    variables : tuple of str
        Columns tested.
    method : str
        Local statistic.
    weights : str
        Weights specification.
    permutations : int
        Conditional permutations.
    seed : int
        Random seed.
    alpha : float
        Significance level.
    join_counts, morans_i : bool
        Global tests to add.
    """

    variables: tuple[str, ...] = ("opendata",)
    method: str = "lisa"
    weights: str = "knn:6"
    permutations: int = 9999
    seed: int = 20250401
    alpha: float = 0.05
    join_counts: bool = True
    morans_i: bool = True


@dataclass(frozen=True)
class DiagnoseConfig:
    """A validated configuration of :func:`acv_geo.diagnose`.

    Attributes
    ----------
    path : pathlib.Path or None
        Config file (``None`` for the embedded default or a dict).
    cities_source : pathlib.Path or None
        ACV city list (``None``: embedded).
    observatory : str or None
        Observatory name or path (``None``: no open-data status).
    communes, epci : pathlib.Path or None
        Polygon layers (``None``: embedded).
    zones : tuple of str
        Default zone specifications.
    layers : tuple of LayerSpec
        Vector layers.
    rasters : tuple of RasterSpec
        Rasters.
    tables : tuple of TableSpec
        Per-commune tables.
    clusters : ClusterSpec
        Cluster settings.
    profile_weights : dict
        Sub-score weights.
    profile_top : int
        Length of the ranking shown.
    maps_enabled : bool
        Draw maps.
    maps_dpi : int
        Map resolution.
    map_columns : tuple of str
        Indicators to map (empty: automatic).
    title : str
        Report title.
    """

    path: Path | None = None
    cities_source: Path | None = None
    observatory: str | None = "odater_2022"
    communes: Path | None = None
    epci: Path | None = None
    zones: tuple[str, ...] = ("commune",)
    layers: tuple[LayerSpec, ...] = ()
    rasters: tuple[RasterSpec, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    clusters: ClusterSpec = field(default_factory=ClusterSpec)
    profile_weights: Mapping[str, float] = field(default_factory=dict)
    profile_top: int = 20
    maps_enabled: bool = True
    maps_dpi: int = 100
    map_columns: tuple[str, ...] = ()
    title: str = "Action Cœur de Ville: risks, nature and open data"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the settings (paths as text), for the report and ``clusters.json``.

        Returns
        -------
        dict
            JSON-serialisable settings.
        """

        def conv(v: Any) -> Any:
            if isinstance(v, Path):
                return str(v)
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [conv(x) for x in v]
            return v

        return conv(asdict(self))


# --------------------------------------------------------------------------------------------
# schema checking


class _Checker:
    def __init__(self, label: str, base: Path) -> None:
        self.label = label
        self.base = base

    def fail(self, key: str, msg: str) -> InputError:
        return InputError(f"{self.label}: {key}: {msg}")

    def keys(self, table: Any, key: str, allowed: dict[str, str], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(table, Mapping):
            raise self.fail(key or "(top level)", f"expected a table ({{...}} or [section]), got {table!r}")
        for k in table:
            if k not in allowed:
                raise self.fail(
                    _join(key, k),
                    f"unknown key {k!r}; allowed keys here: {', '.join(allowed)} (check the spelling)",
                )
        for k in required:
            if k not in table:
                raise self.fail(_join(key, k), f"missing required key; add `{k} = {allowed[k]}`")
        return dict(table)

    def string(self, v: Any, key: str, *, allowed: tuple[str, ...] | None = None) -> str:
        if not isinstance(v, str) or not v.strip():
            raise self.fail(key, f"expected a non-empty text value, got {v!r}")
        if allowed is not None and v not in allowed:
            raise self.fail(key, f"{v!r} is not allowed; use one of {', '.join(map(repr, allowed))}")
        return v

    def strings(self, v: Any, key: str) -> tuple[str, ...]:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
            raise self.fail(key, f"expected a list of text values such as [\"a\", \"b\"], got {v!r}")
        return tuple(v)

    def boolean(self, v: Any, key: str) -> bool:
        if not isinstance(v, bool):
            raise self.fail(key, f"expected true or false, got {v!r}")
        return v

    def integer(self, v: Any, key: str, *, minimum: int) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.fail(key, f"expected a whole number ≥ {minimum}, got {v!r}")
        return v

    def number(self, v: Any, key: str) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.fail(key, f"expected a number, got {v!r}")
        return float(v)

    def file(self, v: Any, key: str) -> Path:
        s = self.string(v, key)
        p = Path(os.path.expanduser(s))
        if not p.is_absolute():
            p = self.base / p
        if not p.exists():
            raise self.fail(key, f"file {s!r} not found (looked for {p}); fix the path (relative paths start "
                                 f"from the config file's folder {self.base})")
        return p

    def zones(self, v: Any, key: str) -> tuple[str, ...]:
        from acv_geo.zones import parse_zone_spec

        specs = self.strings(v, key)
        if not specs:
            raise self.fail(key, f"give at least one zone kind: {_ZONE_HELP}")
        out = []
        for i, s in enumerate(specs):
            try:
                kind, radius = parse_zone_spec(s)
            except ValueError as exc:
                raise self.fail(f"{key}[{i}]", str(exc)) from None
            out.append(kind if radius is None else f"buffer:{radius:g}")
        if len(set(out)) != len(out):
            raise self.fail(key, f"zone kinds repeated in {list(specs)}; list each once")
        return tuple(out)

    def source(self, v: Any, key: str) -> tuple[Path, str, str]:
        """Resolve an embedded dataset name, a path, or a fetched catalogue name."""
        from acv_geo.core.datasets import DATASETS

        s = self.string(v, key)
        if s in DATASETS:
            from acv_geo.core.datasets import get_path

            d = DATASETS[s]
            return get_path(s), d.source, d.date
        p = Path(os.path.expanduser(s))
        if not p.is_absolute():
            p = self.base / p
        if p.exists():
            return p, p.name, ""
        fetched, why = _fetched(s)
        if fetched is not None:
            return fetched, s, ""
        raise self.fail(
            key,
            f"{s!r} is not an embedded dataset, an existing file (looked for {p}) nor a fetched catalogue "
            f"layer; fix the path, use an embedded name ({', '.join(sorted(DATASETS))}) or download it "
            f"with `acv-geo fetch NAME`" + (f" ({why})" if why else ""),
        )


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _fetched(name: str) -> tuple[Path | None, str]:
    """Path of a catalogue layer already fetched, else ``(None, why)``."""
    try:
        from acv_geo.sources.fetching import resolve_source
    except ImportError:
        return None, ""
    try:
        p = Path(resolve_source(name))
    except (ValueError, FileNotFoundError, OSError, KeyError) as exc:
        return None, str(exc)
    return (p, "") if p.exists() else (None, "")


def _layer_fields(path: Path, layer: str | None, ck: _Checker, key: str) -> list[str]:
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:  # noqa: BLE001 - any driver error is a bad input
        raise ck.fail(key, f"cannot read the layer {path} ({exc}); give a vector file GDAL can open") from None
    return [str(f) for f in info["fields"]]


def _preset_fields(preset: str, ck: _Checker, key: str) -> tuple[str, ...]:
    """Validate a preset name; return the category field it needs."""
    from acv_geo.indicators.overlay import get_preset, list_presets

    names = list_presets()
    if preset not in names:
        raise ck.fail(key, f"unknown preset {preset!r}; available presets: {', '.join(names)}")
    cat = get_preset(preset).get("category")
    return (cat,) if isinstance(cat, str) else ()


# --------------------------------------------------------------------------------------------
# sections

_TOP = {
    "cities": "{ ... }",
    "zones": "{ kinds = [\"commune\"] }",
    "layers": "[[layers]]",
    "rasters": "[[rasters]]",
    "tables": "{ ... }",
    "clusters": "{ ... }",
    "profile": "{ ... }",
    "maps": "{ ... }",
    "report": "{ ... }",
}
_CITIES = {"source": '"file.csv"', "observatory": '"odater_2022"', "communes": '"file.gpkg"', "epci": '"file.gpkg"'}
_LAYER = {
    "name": '"pac"',
    "source": '"herault_pac_risques"',
    "preset": '"pac_risques"',
    "category": '"ALEA"',
    "layer": '"layer_name"',
    "zones": '["commune"]',
    "label": '"Title"',
    "date": '"2024"',
    "distances": "true",
    "coverage": '["34"]',
    "role": '"risk"',
    "label_en": '"Title in English"',
}
_RASTER = {
    "name": '"dem"',
    "source": '"dem_n45e005"',
    "stats": '["mean", "min", "max"]',
    "threshold": "[300]",
    "categorical": "false",
    "band": "1",
    "unit": '"m"',
    "zones": '["commune"]',
    "label": '"Title"',
    "date": '"2021"',
    "role": '"risk"',
    "label_en": '"Title in English"',
}
_TABLES = {"radon": "true", "catnat": "true", "catnat_since": "1982", "seismic": "true", "known_risks": "true",
           "gaspar": '"gaspar"', "gaspar_tables": '["pprn", "azi", "tri", "dicrim"]', "csv": "[[tables.csv]]"}
#: GASPAR tables joined by default: those the embedded national tables do not already give.
_GASPAR_DEFAULT = ("pprn", "azi", "tri", "dicrim")
# a GASPAR table whose columns an embedded table already writes: (embedded kind, GASPAR table)
_GASPAR_TWICE = {"risq": "known_risks", "catnat": "catnat"}
_CSV = {"path": '"table.csv"', "insee_column": '"CODGEO"', "columns": '["x"]', "prefix": '"mine"',
        "role": '"context"'}
_ROLE_CHOICES = ("risk", "nature", "context")
_CLUSTERS = {
    "variables": '["opendata"]',
    "method": '"lisa"',
    "weights": '"knn:6"',
    "permutations": "9999",
    "seed": "20250401",
    "alpha": "0.05",
    "join_counts": "true",
    "morans_i": "true",
}
_PROFILE = {"weights": "{ risk = 0.6, nature = 0.4, opendata = 0.0 }", "top": "20"}
_MAPS = {"enabled": "true", "dpi": "100", "columns": '["radon_class"]'}
_REPORT = {"title": '"Title"'}
_NAME_OK = "abcdefghijklmnopqrstuvwxyz0123456789_"


def _name(ck: _Checker, v: Any, key: str) -> str:
    s = ck.string(v, key)
    if not (s[0].isalpha() and all(c in _NAME_OK for c in s)):
        raise ck.fail(key, f"{s!r} is not a valid column prefix; use lowercase letters, digits and _ (e.g. \"pac\")")
    return s


def _layers(ck: _Checker, items: Any, default_zones: tuple[str, ...], check_files: bool) -> tuple[LayerSpec, ...]:
    if not isinstance(items, list):
        raise ck.fail("layers", "expected a list of tables: write each layer as a [[layers]] section")
    out = []
    for i, raw in enumerate(items):
        key = f"layers[{i}]"
        t = ck.keys(raw, key, _LAYER, ("name", "source"))
        name = _name(ck, t["name"], f"{key}.name")
        if check_files:
            path, prov, date = ck.source(t["source"], f"{key}.source")
        else:
            path, prov, date = Path(str(t["source"])), "", ""
        preset = ck.string(t["preset"], f"{key}.preset") if "preset" in t else None
        category = ck.string(t["category"], f"{key}.category") if "category" in t else None
        if preset and category:
            raise ck.fail(f"{key}.category", "give either preset or category, not both")
        layer = ck.string(t["layer"], f"{key}.layer") if "layer" in t else None
        zones = ck.zones(t["zones"], f"{key}.zones") if "zones" in t else default_zones
        if check_files:
            if layer is not None:
                import pyogrio

                try:
                    names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
                except Exception:  # noqa: BLE001
                    names = []
                if names and layer not in names:
                    raise ck.fail(f"{key}.layer", f"layer {layer!r} not in {path} (layers: {', '.join(names)})")
            fields = _layer_fields(path, layer, ck, f"{key}.source")
            if category is not None and category not in fields:
                raise ck.fail(
                    f"{key}.category",
                    f"field {category!r} not in layer {path} (fields: {', '.join(fields)}); "
                    "use one of these fields",
                )
            if preset is not None:
                for f in _preset_fields(preset, ck, f"{key}.preset"):
                    if f not in fields:
                        raise ck.fail(
                            f"{key}.preset",
                            f"preset {preset!r} needs field {f!r}, which layer {path} lacks (fields: "
                            f"{', '.join(fields)}); use `category = \"FIELD\"` instead",
                        )
        label = ck.string(t["label"], f"{key}.label") if "label" in t else name
        date = ck.string(str(t["date"]), f"{key}.date") if "date" in t else date
        distances = ck.boolean(t["distances"], f"{key}.distances") if "distances" in t else True
        try:
            coverage = parse_coverage(t.get("coverage"), where=f"{key}.coverage")
        except ValueError as exc:
            raise ck.fail(f"{key}.coverage", str(exc).split(": ", 1)[1]) from None
        role = _role(ck, t, key, _preset_role(preset))
        label_en = ck.string(t["label_en"], f"{key}.label_en") if "label_en" in t else ""
        out.append(LayerSpec(name, str(t["source"]), path, preset, category, layer, zones, label, prov, date,
                             distances, coverage, role, label_en))
    return tuple(out)


def _role(ck: _Checker, t: Mapping, key: str, default: str) -> str:
    return ck.string(t["role"], f"{key}.role", allowed=_ROLE_CHOICES) if "role" in t else default


def _preset_role(preset: str | None) -> str:
    if preset is None:
        return "context"
    from acv_geo.indicators.overlay import get_preset

    try:
        return str(get_preset(preset).get("role", "context"))
    except ValueError:
        return "context"


def _rasters(ck: _Checker, items: Any, default_zones: tuple[str, ...], check_files: bool) -> tuple[RasterSpec, ...]:
    if not isinstance(items, list):
        raise ck.fail("rasters", "expected a list of tables: write each raster as a [[rasters]] section")
    out = []
    for i, raw in enumerate(items):
        key = f"rasters[{i}]"
        t = ck.keys(raw, key, _RASTER, ("name", "source"))
        name = _name(ck, t["name"], f"{key}.name")
        if check_files:
            path, prov, date = ck.source(t["source"], f"{key}.source")
        else:
            path, prov, date = Path(str(t["source"])), "", ""
        stats = ck.strings(t["stats"], f"{key}.stats") if "stats" in t else ()
        if stats:
            from acv_geo.indicators.zonal import ALLOWED_STATS

            for j, s in enumerate(stats):
                if s not in ALLOWED_STATS and not (s.startswith("p") and s[1:].replace(".", "", 1).isdigit()):
                    raise ck.fail(f"{key}.stats[{j}]", f"unknown statistic {s!r}; allowed: "
                                                       f"{', '.join(ALLOWED_STATS)} and percentiles such as p10")
        thr = t.get("threshold", [])
        if not isinstance(thr, list):
            thr = [thr]
        threshold = tuple(ck.number(x, f"{key}.threshold[{j}]") for j, x in enumerate(thr))
        categorical = ck.boolean(t["categorical"], f"{key}.categorical") if "categorical" in t else False
        band = ck.integer(t["band"], f"{key}.band", minimum=1) if "band" in t else 1
        unit = ck.string(t["unit"], f"{key}.unit") if "unit" in t else None
        zones = ck.zones(t["zones"], f"{key}.zones") if "zones" in t else default_zones
        label = ck.string(t["label"], f"{key}.label") if "label" in t else name
        date = ck.string(str(t["date"]), f"{key}.date") if "date" in t else date
        if check_files and path.suffix.lower() in (".gpkg", ".shp", ".geojson", ".csv", ".parquet", ".fgb"):
            raise ck.fail(f"{key}.source", f"{path} is a vector/table file, not a raster; move it to [[layers]]")
        label_en = ck.string(t["label_en"], f"{key}.label_en") if "label_en" in t else ""
        out.append(RasterSpec(name, str(t["source"]), path, stats, threshold, categorical, band, unit, zones,
                              label, prov, date, _role(ck, t, key, "context"), label_en))
    return tuple(out)


def _tables(ck: _Checker, raw: Any, check_files: bool) -> tuple[TableSpec, ...]:
    t = ck.keys(raw, "tables", _TABLES)
    out: list[TableSpec] = []
    since = ck.integer(t["catnat_since"], "tables.catnat_since", minimum=1800) if "catnat_since" in t else None
    for kind in ("radon", "catnat"):
        v = t.get(kind, True)
        if isinstance(v, bool):
            if v:
                out.append(TableSpec(kind, None, since=since if kind == "catnat" else None))
        else:
            path = ck.file(v, f"tables.{kind}") if check_files else Path(str(v))
            out.append(TableSpec(kind, path, since=since if kind == "catnat" else None))
    for kind in ("seismic", "known_risks"):  # national baselines, embedded
        if ck.boolean(t.get(kind, True), f"tables.{kind}"):
            out.append(TableSpec(kind))
    if "gaspar" in t:
        out.append(_gaspar(ck, t, {x.kind for x in out}, check_files))
    csvs = t.get("csv", [])
    if not isinstance(csvs, list):
        raise ck.fail("tables.csv", "expected a list of tables: write each one as a [[tables.csv]] section")
    for i, rawc in enumerate(csvs):
        key = f"tables.csv[{i}]"
        c = ck.keys(rawc, key, _CSV, ("path",))
        path = ck.file(c["path"], f"{key}.path") if check_files else Path(str(c["path"]))
        insee = ck.string(c["insee_column"], f"{key}.insee_column") if "insee_column" in c else None
        cols = ck.strings(c["columns"], f"{key}.columns") if "columns" in c else None
        prefix = _name(ck, c["prefix"], f"{key}.prefix") if "prefix" in c else None
        if check_files and path.suffix.lower() in (".csv", ".txt", ".tsv") and (insee or cols):
            header = _csv_header(path)
            for col, k in [(insee, f"{key}.insee_column")] + [(x, f"{key}.columns[{j}]") for j, x in
                                                               enumerate(cols or ())]:
                if col is not None and header and col not in header:
                    raise ck.fail(k, f"column {col!r} not in {path} (columns: {', '.join(header)}); "
                                     "use one of these columns")
        out.append(TableSpec("csv", path, insee, cols, prefix, role=_role(ck, c, key, "context")))
    return tuple(out)


def _gaspar(ck: _Checker, t: Mapping, kinds: set[str], check_files: bool) -> TableSpec:
    """``[tables] gaspar = "gaspar"`` (the fetched national archive) or a path, and its tables."""
    from acv_geo.indicators.gaspar import GASPAR_TABLES

    path = ck.source(t["gaspar"], "tables.gaspar")[0] if check_files else Path(str(t["gaspar"]))
    names = ck.strings(t["gaspar_tables"], "tables.gaspar_tables") if "gaspar_tables" in t else _GASPAR_DEFAULT
    for i, name in enumerate(names):
        if name not in GASPAR_TABLES:
            raise ck.fail(f"tables.gaspar_tables[{i}]", f"{name!r} is not a GASPAR table; use "
                                                         f"{', '.join(GASPAR_TABLES)}")
        if _GASPAR_TWICE.get(name) in kinds:
            raise ck.fail(f"tables.gaspar_tables[{i}]", f"{name!r} writes the same columns as the embedded "
                                                         f"table {_GASPAR_TWICE[name]!r}; set "
                                                         f"`{_GASPAR_TWICE[name]} = false` to use GASPAR's")
    return TableSpec("gaspar", path, columns=tuple(names), role="risk")


def _csv_header(path: Path) -> list[str]:
    import csv

    from acv_geo.core.files import RepairLog, decode_text

    raw = path.read_bytes()[:65536]
    raw = raw[: raw.rfind(b"\n") + 1] or raw  # whole lines only: no multi-byte character cut
    try:
        text = decode_text(path, raw, None, RepairLog(str(path)))
    except InputError:
        return []
    first = text.splitlines()[0] if text.strip() else ""
    sep = max((";", ",", "\t"), key=first.count)
    return [h.strip() for h in next(csv.reader([first], delimiter=sep))] if first else []


def _clusters(ck: _Checker, raw: Any) -> ClusterSpec:
    t = ck.keys(raw, "clusters", _CLUSTERS)
    d = ClusterSpec()
    variables = ck.strings(t["variables"], "clusters.variables") if "variables" in t else d.variables
    method = ck.string(t.get("method", d.method), "clusters.method")
    try:
        from acv_geo.stats.clusters import METHODS

        if method not in METHODS:
            raise ck.fail("clusters.method", f"{method!r} is not allowed; use one of {', '.join(METHODS)}")
    except ImportError:
        pass
    weights = ck.string(t.get("weights", d.weights), "clusters.weights")
    from acv_geo.stats.weights import parse_weights_spec

    try:
        parse_weights_spec(weights)
    except ValueError as exc:
        raise ck.fail("clusters.weights", str(exc)) from None
    perms = ck.integer(t.get("permutations", d.permutations), "clusters.permutations", minimum=1)
    seed = ck.integer(t.get("seed", d.seed), "clusters.seed", minimum=0)
    alpha = ck.number(t.get("alpha", d.alpha), "clusters.alpha")
    if not 0 < alpha < 1:
        raise ck.fail("clusters.alpha", f"expected a number between 0 and 1 (e.g. 0.05), got {alpha!r}")
    jc = ck.boolean(t.get("join_counts", d.join_counts), "clusters.join_counts")
    mi = ck.boolean(t.get("morans_i", d.morans_i), "clusters.morans_i")
    return ClusterSpec(variables, method, weights, perms, seed, alpha, jc, mi)


def _from_dict(data: Mapping, label: str, base: Path, path: Path | None, check_files: bool) -> DiagnoseConfig:
    ck = _Checker(label, base)
    top = ck.keys(data, "", _TOP)
    cities = ck.keys(top.get("cities", {}), "cities", _CITIES)
    cities_source = ck.file(cities["source"], "cities.source") if "source" in cities and check_files else (
        Path(str(cities["source"])) if "source" in cities else None)
    observatory: str | None = "odater_2022"
    if "observatory" in cities:
        obs = ck.string(cities["observatory"], "cities.observatory")
        if obs.lower() == "none":
            observatory = None
        elif obs in ("odater_2022", "odater_2020"):
            observatory = obs
        else:
            observatory = str(ck.file(obs, "cities.observatory")) if check_files else obs
    communes = ck.file(cities["communes"], "cities.communes") if "communes" in cities and check_files else None
    epci = ck.file(cities["epci"], "cities.epci") if "epci" in cities and check_files else None
    zt = ck.keys(top.get("zones", {}), "zones", {"kinds": '["commune"]'})
    zones = ck.zones(zt["kinds"], "zones.kinds") if "kinds" in zt else ("commune",)
    layers = _layers(ck, top.get("layers", []), zones, check_files)
    rasters = _rasters(ck, top.get("rasters", []), zones, check_files)
    specs: list[LayerSpec | RasterSpec] = [*layers, *rasters]
    names = [x.name for x in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        where = "layers/rasters"
        raise ck.fail(where, f"name(s) {dup} used twice; give every layer and raster its own name")
    tables = _tables(ck, top.get("tables", {}), check_files)
    clusters = _clusters(ck, top.get("clusters", {}))
    pt = ck.keys(top.get("profile", {}), "profile", _PROFILE)
    weights: dict[str, float] = {}
    if "weights" in pt:
        wt = ck.keys(pt["weights"], "profile.weights", {"risk": "0.5", "nature": "0.3", "opendata": "0.2"})
        for k, v in wt.items():
            w = ck.number(v, f"profile.weights.{k}")
            if w < 0:
                raise ck.fail(f"profile.weights.{k}", f"weights must be ≥ 0, got {v!r}")
            weights[k] = w
    top_n = ck.integer(pt.get("top", 20), "profile.top", minimum=1)
    mt = ck.keys(top.get("maps", {}), "maps", _MAPS)
    maps_enabled = ck.boolean(mt.get("enabled", True), "maps.enabled")
    dpi = ck.integer(mt.get("dpi", 100), "maps.dpi", minimum=30)
    map_columns = ck.strings(mt["columns"], "maps.columns") if "columns" in mt else ()
    rt = ck.keys(top.get("report", {}), "report", _REPORT)
    title = ck.string(rt.get("title", DiagnoseConfig.title), "report.title")
    return DiagnoseConfig(
        path=path,
        cities_source=cities_source,
        observatory=observatory,
        communes=communes,
        epci=epci,
        zones=zones,
        layers=layers,
        rasters=rasters,
        tables=tables,
        clusters=clusters,
        profile_weights=weights,
        profile_top=top_n,
        maps_enabled=maps_enabled,
        maps_dpi=dpi,
        map_columns=map_columns,
        title=title,
    )


def _toml():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise InputError(
                "reading a TOML config needs Python ≥ 3.11 (tomllib) or the tomli package on Python 3.10; "
                "run `pip install tomli`"
            ) from None
    return tomllib


def load_config(
    source: str | os.PathLike | Mapping | DiagnoseConfig | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    check_files: bool = True,
) -> DiagnoseConfig:
    """Read and validate a ``diagnose`` configuration.

    Parameters
    ----------
    source : str, path-like, dict or DiagnoseConfig, optional
        A TOML file, an already parsed dict (same schema), a config (returned as is), or ``None``
        for the embedded default (:data:`DEFAULT_CONFIG_TOML`).
    overrides : dict, optional
        Sections merged over the file's, key by key inside each section (e.g.
        ``{"clusters": {"permutations": 99}}`` for a quick run).
    check_files : bool, default True
        Resolve sources and check files and layer fields now. ``False`` only checks the schema.

    Returns
    -------
    DiagnoseConfig
        The validated configuration.

    Raises
    ------
    InputError
        Not a TOML file, unknown key, wrong type, missing file, field absent from a layer: the
        message names the config file, the key path (``layers[2].category``) and the fix.

    Examples
    --------
    >>> cfg = load_config()
    >>> [layer.name for layer in cfg.layers], cfg.clusters.weights
    (['pac', 'flood_marks', 'ppr_scie'], 'knn:6')
    >>> load_config({"clusters": {"permutation": 99}})
    Traceback (most recent call last):
    ...
    acv_geo.core.errors.InputError: config: clusters.permutation: unknown key 'permutation'; ...
    """
    if isinstance(source, DiagnoseConfig):
        if overrides:
            raise ValueError("overrides cannot be applied to an already validated DiagnoseConfig")
        return source
    tomllib = None
    if source is None:
        tomllib = _toml()
        data: Any = tomllib.loads(DEFAULT_CONFIG_TOML)
        label, base, path = "embedded default config", Path.cwd(), None
    elif isinstance(source, Mapping):
        data, label, base, path = dict(source), "config", Path.cwd(), None
    else:
        path = Path(source)
        label, base = str(path), path.resolve().parent
        if not path.exists():
            raise FileNotFoundError(f"{path}: config file not found; check the path (current folder: {os.getcwd()})")
        if path.is_dir():
            raise InputError(f"{path}: is a folder; give the path of a .toml config file")
        tomllib = _toml()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text; save the config as UTF-8") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML ({exc}); fix the syntax (see examples/diagnose.toml)") from None
    if overrides:
        data = dict(data)
        for sec, vals in overrides.items():
            if isinstance(vals, Mapping) and isinstance(data.get(sec), Mapping):
                data[sec] = {**data[sec], **vals}
            else:
                data[sec] = vals
    return _from_dict(data, label, base, path, check_files)
