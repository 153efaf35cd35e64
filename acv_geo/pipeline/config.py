"""Configuration of ``acv-geo diagnose``: a TOML file, validated up front.

:func:`load_config` reads a TOML file (or a dict, or nothing for the embedded default), checks
every key, type, file and field **before** any computation, and returns a frozen
:class:`DiagnoseConfig`. A mistake raises :class:`~acv_geo.core.errors.InputError` naming the config
file, the key path (``layers[2].category``) and the fix.

The keys, their types, defaults, examples and help are declared once, in
:mod:`acv_geo.pipeline.schema` (why plain dataclasses: see there). From that declaration come the
key and type checks (:class:`~acv_geo.pipeline.schema.Checker`), :data:`DEFAULT_CONFIG_TOML`, the
defaults of :class:`ClusterSpec` and :class:`DiagnoseConfig`, the commented ``examples/diagnose.toml``
and the reference ``docs/configuration.md``. This module adds what spans keys or needs the data: a
preset *or* a category, the fields a layer lacks, a raster given a vector file, names used twice, a
GASPAR table doubling an embedded one, the columns of a user table; and builds the dataclasses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from acv_geo.core.errors import InputError
from acv_geo.pipeline.schema import (
    CITIES,
    CLUSTERS,
    MAPS,
    PROFILE,
    REPORT,
    ROOT,
    ZONES,
    Checker,
    Resolved,
    Values,
    default_toml,
)

__all__ = [
    "DEFAULT_CONFIG_TOML",
    "ClusterSpec",
    "DiagnoseConfig",
    "LayerSpec",
    "RasterSpec",
    "TableSpec",
    "load_config",
]

#: The embedded default configuration (what ``acv-geo diagnose`` runs without ``--config``), generated
#: from :mod:`acv_geo.pipeline.schema`: the keys' defaults and the default layers and rasters.
DEFAULT_CONFIG_TOML = default_toml()

#: GASPAR tables whose columns an embedded table already writes: {GASPAR table: embedded kind}.
_GASPAR_TWICE = {"risq": "known_risks", "catnat": "catnat"}
_VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".csv", ".parquet", ".fgb")


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

    # field names = the [clusters] keys; defaults from the schema
    variables: tuple[str, ...] = CLUSTERS.default("variables")
    method: str = CLUSTERS.default("method")
    weights: str = CLUSTERS.default("weights")
    permutations: int = CLUSTERS.default("permutations")
    seed: int = CLUSTERS.default("seed")
    alpha: float = CLUSTERS.default("alpha")
    join_counts: bool = CLUSTERS.default("join_counts")
    morans_i: bool = CLUSTERS.default("morans_i")


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
    observatory: str | None = CITIES.default("observatory")
    communes: Path | None = None
    epci: Path | None = None
    zones: tuple[str, ...] = ZONES.default("kinds")
    layers: tuple[LayerSpec, ...] = ()
    rasters: tuple[RasterSpec, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    clusters: ClusterSpec = field(default_factory=ClusterSpec)
    profile_weights: Mapping[str, float] = field(default_factory=dict)
    profile_top: int = PROFILE.default("top")
    maps_enabled: bool = MAPS.default("enabled")
    maps_dpi: int = MAPS.default("dpi")
    map_columns: tuple[str, ...] = ()
    title: str = REPORT.default("title")

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
# from the checked values to the dataclasses (the checks that span keys or read the data)


def _from_dict(data: Mapping[str, Any], ck: Checker, path: Path | None) -> DiagnoseConfig:
    top = ck.table(data, ROOT, "")
    cities, zones = top.sub("cities"), top.sub("zones")["kinds"]
    layers = tuple(_layer(ck, v, f"layers[{i}]", zones) for i, v in enumerate(top["layers"]))
    rasters = tuple(_raster(ck, v, f"rasters[{i}]", zones) for i, v in enumerate(top["rasters"]))
    names = [x.name for x in layers] + [x.name for x in rasters]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ck.fail("layers/rasters", f"name(s) {dup} used twice; give every layer and raster its own name")
    profile, maps = top.sub("profile"), top.sub("maps")
    return DiagnoseConfig(
        path=path,
        cities_source=cities["source"],
        observatory=cities["observatory"],
        communes=cities["communes"],
        epci=cities["epci"],
        zones=zones,
        layers=layers,
        rasters=rasters,
        tables=_tables(ck, top.sub("tables")),
        clusters=ClusterSpec(**top.sub("clusters").complete()),
        # absent: {} (exposure_profile's DEFAULT_WEIGHTS, which the schema documents as the default)
        profile_weights=dict(profile["weights"]) if "weights" in profile else {},
        profile_top=profile["top"],
        maps_enabled=maps["enabled"],
        maps_dpi=maps["dpi"],
        map_columns=maps["columns"],
        title=top.sub("report")["title"],
    )


def _layer(ck: Checker, v: Values, key: str, default_zones: tuple[str, ...]) -> LayerSpec:
    src: Resolved = v["source"]
    preset, category, layer = v["preset"], v["category"], v["layer"]
    if preset and category:
        raise ck.fail(f"{key}.category", "give either preset or category, not both")
    if ck.check_files:
        _check_layer_fields(ck, src.path, layer, category, preset, key)
    return LayerSpec(
        name=v["name"],
        source=src.text,
        path=src.path,
        preset=preset,
        category=category,
        layer=layer,
        zones=v["zones"] if "zones" in v else default_zones,
        label=v["label"] if "label" in v else v["name"],
        provenance=src.provenance,
        date=v["date"] if "date" in v else src.date,
        distances=v["distances"],
        coverage=v["coverage"],
        role=v["role"] if "role" in v else _preset_role(preset),
        label_en=v["label_en"],
    )


def _check_layer_fields(  # noqa: PLR0913 - the layer's settings, checked against its file
    ck: Checker, path: Path, layer: str | None, category: str | None, preset: str | None, key: str
) -> None:
    """The layer exists in the file, and so does the category field (given, or the preset's)."""
    import pyogrio

    if layer is not None:
        try:
            names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
        except Exception:  # noqa: BLE001
            names = []
        if names and layer not in names:
            raise ck.fail(f"{key}.layer", f"layer {layer!r} not in {path} (layers: {', '.join(names)})")
    try:
        fields = [str(f) for f in pyogrio.read_info(path, layer=layer)["fields"]]
    except Exception as exc:  # noqa: BLE001 - any driver error is a bad input
        raise ck.fail(
            f"{key}.source", f"cannot read the layer {path} ({exc}); give a vector file GDAL can open"
        ) from None
    if category is not None and category not in fields:
        raise ck.fail(
            f"{key}.category",
            f"field {category!r} not in layer {path} (fields: {', '.join(fields)}); use one of these fields",
        )
    if preset is not None:
        for f in _preset_fields(ck, preset, f"{key}.preset"):
            if f not in fields:
                raise ck.fail(
                    f"{key}.preset",
                    f"preset {preset!r} needs field {f!r}, which layer {path} lacks "
                    f'(fields: {", ".join(fields)}); use `category = "FIELD"` instead',
                )


def _preset_fields(ck: Checker, preset: str, key: str) -> tuple[str, ...]:
    """Validate a preset name; return the category field it needs."""
    from acv_geo.indicators.presets import get_preset, list_presets

    names = list_presets()
    if preset not in names:
        raise ck.fail(key, f"unknown preset {preset!r}; available presets: {', '.join(names)}")
    cat = get_preset(preset).get("category")
    return (cat,) if isinstance(cat, str) else ()


def _preset_role(preset: str | None) -> str:
    if preset is None:
        return "context"
    from acv_geo.indicators.presets import get_preset

    try:
        return str(get_preset(preset).get("role", "context"))
    except ValueError:
        return "context"


def _raster(ck: Checker, v: Values, key: str, default_zones: tuple[str, ...]) -> RasterSpec:
    src: Resolved = v["source"]
    if ck.check_files and src.path.suffix.lower() in _VECTOR_SUFFIXES:
        raise ck.fail(f"{key}.source", f"{src.path} is a vector/table file, not a raster; move it to [[layers]]")
    return RasterSpec(
        name=v["name"],
        source=src.text,
        path=src.path,
        stats=v["stats"],
        threshold=v["threshold"],
        categorical=v["categorical"],
        band=v["band"],
        unit=v["unit"],
        zones=v["zones"] if "zones" in v else default_zones,
        label=v["label"] if "label" in v else v["name"],
        provenance=src.provenance,
        date=v["date"] if "date" in v else src.date,
        role=v["role"],
        label_en=v["label_en"],
    )


def _tables(ck: Checker, v: Values) -> tuple[TableSpec, ...]:
    out: list[TableSpec] = []
    for kind in ("radon", "catnat"):  # true: embedded, false: skipped, else a path
        since = v["catnat_since"] if kind == "catnat" else None
        if v[kind] is not False:
            out.append(TableSpec(kind, None if v[kind] is True else v[kind], since=since))
    out += [TableSpec(kind) for kind in ("seismic", "known_risks") if v[kind]]  # national baselines, embedded
    if "gaspar" in v:
        out.append(_gaspar(ck, v, {x.kind for x in out}))
    out += [_csv(ck, c, f"tables.csv[{i}]") for i, c in enumerate(v["csv"])]
    return tuple(out)


def _gaspar(ck: Checker, v: Values, kinds: set[str]) -> TableSpec:
    """``[tables] gaspar = "gaspar"`` (the fetched national archive) or a path, and its tables."""
    names: tuple[str, ...] = v["gaspar_tables"]
    for i, name in enumerate(names):
        if _GASPAR_TWICE.get(name) in kinds:
            raise ck.fail(
                f"tables.gaspar_tables[{i}]",
                f"{name!r} writes the same columns as the embedded "
                f"table {_GASPAR_TWICE[name]!r}; set "
                f"`{_GASPAR_TWICE[name]} = false` to use GASPAR's",
            )
    return TableSpec("gaspar", v["gaspar"].path, columns=names, role="risk")


def _csv(ck: Checker, v: Values, key: str) -> TableSpec:
    path: Path = v["path"]
    insee, cols = v["insee_column"], v["columns"]
    if ck.check_files and path.suffix.lower() in (".csv", ".txt", ".tsv") and (insee or cols):
        header = _csv_header(path)
        wanted = [(insee, f"{key}.insee_column")] + [(x, f"{key}.columns[{j}]") for j, x in enumerate(cols or ())]
        for col, where in wanted:
            if col is not None and header and col not in header:
                raise ck.fail(
                    where, f"column {col!r} not in {path} (columns: {', '.join(header)}); use one of these columns"
                )
    return TableSpec("csv", path, insee, cols, v["prefix"], role=v["role"])


def _csv_header(path: Path) -> list[str]:
    import csv

    from acv_geo.core.files import RepairLog, decode_text, sniff_separator

    raw = path.read_bytes()[:65536]
    raw = raw[: raw.rfind(b"\n") + 1] or raw  # whole lines only: no multi-byte character cut
    try:
        text = decode_text(path, raw, None, RepairLog(str(path)))
    except InputError:
        return []
    first = text.splitlines()[0] if text.strip() else ""
    sep = sniff_separator(text) or ","
    return [h.strip() for h in next(csv.reader([first], delimiter=sep))] if first else []


def _toml() -> ModuleType:
    try:
        import tomllib

        return tomllib
    except ImportError:  # Python 3.10
        pass
    try:
        import tomli

        return tomli
    except ImportError:
        raise InputError(
            "reading a TOML config needs Python ≥ 3.11 (tomllib) or the tomli package on Python 3.10; "
            "run `pip install tomli`"
        ) from None


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
    data, label, base, path = _read(source)
    if overrides:
        data = dict(data)
        for sec, vals in overrides.items():
            if isinstance(vals, Mapping) and isinstance(data.get(sec), Mapping):
                data[sec] = {**data[sec], **vals}
            else:
                data[sec] = vals
    return _from_dict(data, Checker(label, base, check_files), path)


def _read(source: str | os.PathLike[str] | Mapping[str, Any] | None) -> tuple[dict[str, Any], str, Path, Path | None]:
    """The parsed document, its label in messages, the folder of relative paths, the file."""
    if source is None:
        return _toml().loads(DEFAULT_CONFIG_TOML), "embedded default config", Path.cwd(), None
    if isinstance(source, Mapping):
        return dict(source), "config", Path.cwd(), None
    path = Path(source)
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
    return data, str(path), path.resolve().parent, path
