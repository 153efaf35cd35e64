"""The main job: ``acv-geo diagnose`` — every indicator, clusters, maps and a report, in one folder.

:func:`diagnose` runs the whole pipeline on the ACV cities (the embedded default needs no input
and no network) and writes, **atomically**, into ``out_dir``:

``cities.gpkg``
    layer ``cities`` (one point per city: open-data status, every indicator, cluster labels,
    exposure profile) and layer ``epci`` (the EPCI polygons of the cities with their status);
``indicators.csv``, ``indicators.parquet``
    the same per-city table without geometry (``lon``, ``lat`` columns);
``indicators.metadata.csv``
    French and English label, unit, source, date, description, role and scoring of every column
    (:func:`acv_geo.indicator_metadata`); also written as ``indicator_metadata.csv``, the name of
    earlier releases (deprecated, removed in the next release);
``cities.metadata.csv``
    the same for both layers of ``cities.gpkg`` (column ``layer``: ``cities`` or ``epci``);
``clusters.json``
    global statistics (join counts, Moran's I) and per-city cluster labels, with their settings;
``maps/*.png``
    open-data status, LISA clusters and one choropleth per risk and nature indicator;
``report.html``
    a self-contained report: national summary and one page per city.

Everything is first built in a temporary folder beside ``out_dir`` and then swapped in: a run
that fails or is interrupted leaves the previous outputs untouched and no half-written file
(:mod:`acv_geo.outputs.folder`).

This module is the orchestration: :func:`diagnose` calls one step function after the other (read the
cities and polygons, build zones, overlay / zonal / tables / web services, clusters, exposure profile,
assemble, write tables, maps, report, swap the folder in). The steps' work is done by the packages
before it: indicators, stats, outputs (maps: :mod:`acv_geo.outputs.atlas`; EPCI layer:
:mod:`acv_geo.indicators.epci`). It never prints: the CLI prints :meth:`DiagnoseResult.summary`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import math
import os
import re
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError, os_error_message
from acv_geo.core.labels import CITY_METADATA, label_metadata
from acv_geo.core.metadata import METADATA_COLUMNS, assign_role, attach_metadata, indicator_metadata
from acv_geo.core.parallel import Forked, end_children, wait_first
from acv_geo.core.progress import Progress
from acv_geo.indicators.coverage import file_coverage, zone_departments
from acv_geo.indicators.epci import epci_layer
from acv_geo.outputs.atlas import (
    CLASS_MAPS,
    METHOD_NAMES,
    MapPrinter,
    map_columns,
    submit_early_maps,
    submit_maps,
    town_maps,
    zone_name,
)
from acv_geo.outputs.folder import check_out_dir, recover, swap_in, temporary_folder, write_marker
from acv_geo.outputs.writers import json_ready, write_json
from acv_geo.pipeline.config import DiagnoseConfig, LayerSpec, RasterSpec, TableSpec, load_config
from acv_geo.stats.choices import METHOD_LABELS

__all__ = ["OUTPUT_FILES", "DiagnoseResult", "diagnose"]

log = logging.getLogger("acv_geo")

#: Files every run writes in ``out_dir`` (plus ``maps/*.png``).
OUTPUT_FILES = (
    "cities.gpkg",
    "indicators.csv",
    "indicators.parquet",
    "indicators.metadata.csv",
    "indicator_metadata.csv",
    "cities.metadata.csv",
    "clusters.json",
    "report.html",
)


#: What stays importable from here for the callers of acv-geo 0.1 (``acv_geo.pipeline.map_columns``…).
_REEXPORTED = (CLASS_MAPS, map_columns)

_OPENDATA_COLUMNS = ("opendata", "opendata_com", "opendata_epci", "opendata_level", "opendata_reason")


# --------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True)
class DiagnoseResult:
    """What :func:`diagnose` produced.

    Attributes
    ----------
    out_dir : pathlib.Path
        Output folder.
    files : tuple of pathlib.Path
        Every file written (maps included).
    cities : geopandas.GeoDataFrame
        The cities with every indicator (the ``cities`` layer of ``cities.gpkg``).
    metadata : pandas.DataFrame
        Indicator metadata (``indicator_metadata.csv``).
    clusters : dict
        Content of ``clusters.json``.
    ranking : pandas.DataFrame
        The exposure profile sorted by rank.
    config : DiagnoseConfig
        The validated configuration used.
    timings : dict
        Seconds spent per step.
    warnings : tuple of str
        Non-fatal problems of the run, as plain text (national scope, cluster settings adapted to the
        data such as a capped number of neighbours…): the ``warning:`` lines of :meth:`summary`, the
        ``warning`` events of ``acv-geo --json diagnose``.
    """

    out_dir: Path
    files: tuple[Path, ...]
    cities: Any
    metadata: pd.DataFrame
    clusters: dict[str, Any]
    ranking: pd.DataFrame
    config: DiagnoseConfig
    timings: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The per-city indicator table (no geometry), indexed by ``insee_com``.

        Returns
        -------
        pandas.DataFrame
            Same content as ``indicators.csv``.
        """
        return _plain(self.cities)

    def summary(self, *, with_warnings: bool = True) -> str:
        """Short text summary: coverage figures, clusters, top of the ranking, files, warnings.

        Parameters
        ----------
        with_warnings : bool, default True
            End with one ``warning:`` line per item of :attr:`warnings`.

        Returns
        -------
        str
            Several lines of text (what ``acv-geo diagnose`` prints).
        """
        c = self.cities
        lines = [f"acv-geo diagnose: {len(c)} cities → {self.out_dir}"]
        if "opendata_level" in c.columns:
            lv = c["opendata_level"].astype(object).fillna("unknown").value_counts()
            lines.append(
                "  open data: "
                + ", ".join(f"{lv.get(k, 0)} {k}" for k in ("commune", "epci", "none", "unknown") if lv.get(k, 0))
            )
        lines += self._cluster_lines()
        if len(self.ranking):
            top = self.ranking.head(5)
            names = c["commune"] if "commune" in c.columns else pd.Series(c.index, index=c.index)
            lines.append(
                "  top of the ranking: "
                + ", ".join(f"{int(r)}. {names.get(i, i)}" for i, r in top["rank"].dropna().items())
            )
        lines.append(f"  {len(self.files)} files written in {sum(self.timings.values()):.1f} s")
        if with_warnings:
            lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _cluster_lines(self) -> list[str]:
        """Summary lines of the global statistics and the local labels of each cluster variable."""
        lines = []
        for var, st in self.clusters.get("global", {}).items():
            parts = []
            jc = st.get("join_counts")
            if isinstance(jc, dict) and jc.get("p_sim_bb") is not None:
                parts.append(
                    f"join counts BB={jc.get('bb'):g} (expected {jc.get('expected_bb', float('nan')):.1f}, "
                    f"p_sim={jc['p_sim_bb']:.4g})"
                )
            mi = st.get("morans_i")
            if isinstance(mi, dict) and mi.get("p_sim") is not None:
                parts.append(f"Moran's I={mi.get('I', float('nan')):.4f} (p_sim={mi['p_sim']:.4g})")
            if parts:
                lines.append(f"  clusters of {var}: " + "; ".join(parts))
        method = METHOD_NAMES.get(self.config.clusters.method, self.config.clusters.method)
        for var, counts in self.clusters.get("labels", {}).items():
            lines.append(f"  {method} labels of {var}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        return lines


def _plain(gdf: Any) -> pd.DataFrame:
    """Drop geometry; add lon/lat of the city points."""
    df = pd.DataFrame(gdf.drop(columns=[gdf.geometry.name])) if hasattr(gdf, "geometry") else pd.DataFrame(gdf)
    if hasattr(gdf, "geometry"):
        pts = gdf.geometry.to_crs(4326)
        df.insert(0, "lat", pts.y.round(6).to_numpy())
        df.insert(0, "lon", pts.x.round(6).to_numpy())
    df.attrs = dict(gdf.attrs)
    return df


# --------------------------------------------------------------------------------------------
# main entry


@dataclass(frozen=True)
class RunOptions:
    """How one :func:`diagnose` run goes, checked (its keyword arguments, with the loaded config).

    Examples
    --------
    >>> opts = RunOptions(out=Path("diag"), cfg=load_config())
    >>> opts.scope, opts.n_steps
    ('acv', 21)
    """

    out: Path
    cfg: DiagnoseConfig
    scope: str = "acv"
    lang: str = "fr"
    engine: str = "local"
    chunk_size: int = 5000
    scheduler: str | None = None
    workers: int | None = None
    services: tuple[str, ...] = ()
    services_offline: bool = False
    cache: str | os.PathLike | None = None

    @property
    def n_steps(self) -> int:
        """Steps of the progress report (each overlay/zonal zone, table and cluster variable is one)."""
        cfg = self.cfg
        sources = sum(len(x.zones) for x in _sources(cfg))
        # cities, polygons, zones, profile, tables, report, folder; clusters: one per variable
        return (
            7
            + (1 if self.services else 0)
            + sources
            + len(cfg.tables)
            + max(len(cfg.clusters.variables), 1)
            + (4 if cfg.maps_enabled else 0)
        )


def diagnose(
    cities: Any = None,
    *,
    config: Any = None,
    out_dir: str | os.PathLike,
    progress: bool | Callable[[float, str], Any] = True,
    quiet: bool = False,
    scope: str = "acv",
    communes: Any = None,
    engine: str = "local",
    chunk_size: int = 5000,
    scheduler: str | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    lang: str = "fr",
    services: Sequence[str] = (),
    services_offline: bool = False,
    cache: str | os.PathLike | None = None,
) -> DiagnoseResult:
    """Run the whole diagnostic and write every output into ``out_dir``, atomically.

    With no argument but ``out_dir`` it runs on the embedded default (no network): the 244 ACV
    cities with their open-data status; commune zones; the Hérault PAC risk zones (preset
    ``pac_risques``), the Hérault flood marks (count in the commune and within 2 km of the town
    centre), the Scie PPR perimeter; elevation statistics of the embedded DEM (mean, min, max,
    coverage, share below 300 m); IRSN radon class; CatNat decrees; LISA clusters and join counts of
    ``opendata`` (k = 6 nearest neighbours, 9,999 permutations, fixed seed); the exposure profile
    and ranking; maps; ``report.html``. See :mod:`acv_geo.pipeline.config` for what a TOML config can change.

    Parameters
    ----------
    cities : geopandas.GeoDataFrame or str or path-like, optional
        The cities (as :func:`acv_geo.read_acv` returns them; never modified) or a city-list file
        for :func:`acv_geo.read_acv`. Default: the config's ``cities.source`` (embedded ANCT list).
    config : str, path-like, dict or DiagnoseConfig, optional
        TOML config file, parsed dict or validated config (:func:`acv_geo.load_config`). Default:
        the embedded default. Validated before anything runs.
    out_dir : str or path-like
        Output folder, created if needed. If it exists it must be empty or a previous output of
        ``diagnose`` (its content is then replaced as a whole at the end of the run).
    progress : bool or callable, default True
        Draw a progress bar on stderr (:mod:`tqdm`); or a callable ``progress(fraction, message)``
        called at each step with the fraction done (0 to 1) and what starts (e.g. to feed a GUI);
        ``False``: nothing. The step timings are in :attr:`DiagnoseResult.timings` either way.
    quiet : bool, default False
        Deprecated: no progress bar (same as ``progress=False``; a callable ``progress`` is still
        called). ``diagnose`` prints nothing else: print :meth:`DiagnoseResult.summary` yourself.
    scope : {"acv", "all-communes"}, default "acv"
        ``"all-communes"``: every French commune (:func:`acv_geo.read_all_communes`) instead of the
        ACV towns, to see where the ACV towns sit in the national pattern. Commune zones then need a
        national commune polygon layer (``communes=`` or the config's ``communes``). Tables, maps and
        clusters cover every commune; the report's per-city pages cover the ACV towns.
    communes : str, path-like or geopandas.GeoDataFrame, optional
        Commune polygons for commune zones (overrides the config's ``communes``).
    engine : {"local", "dask"}, default "local"
        How overlay and zonal steps run over many zones (see :mod:`acv_geo.pipeline.engine`): spatial chunks
        of ``chunk_size`` zones in this process, or on a Dask cluster (``scheduler`` address, default
        a local cluster). Results are identical.
    chunk_size : int, default 5000
        Zones per spatial chunk.
    scheduler : str, optional
        Address of an existing Dask scheduler.
    workers : int, optional
        Worker processes of the local Dask cluster (``engine="dask"`` without ``scheduler``);
        default the cores this process may use. One cluster serves every overlay and zonal step.
    lang : {"fr", "en"}, default "fr"
        Language of the report (:func:`acv_geo.outputs.report.build_report`).
    services : sequence of {"nature", "georisques"}, default ()
        Web services queried for every city (:mod:`acv_geo.indicators.services`): API Carto Nature (share of
        the commune in ZNIEFF, Natura 2000, parks, reserves; counts; site names) and Géorisques
        (clay exposure, risk procedures, CatNat…). Answers are cached on disk: a second run is offline.
    services_offline : bool, default False
        Use the cached answers only; a city without one gets NA and a reason.
    cache : str or path-like, optional
        Cache folder of the services (default: ``$ACV_GEO_CACHE_DIR`` or the user cache).
    overwrite : bool, default False
        Replace a previous output folder even when it holds files ``diagnose`` did not write (they
        are deleted with it). Without it such a folder is refused before anything is computed.

    Returns
    -------
    DiagnoseResult
        Files written, the per-city table, metadata, cluster statistics, ranking, timings, warnings.

    Raises
    ------
    acv_geo.InputError
        Bad config (file, key path and fix named), bad cities, or ``out_dir`` not empty and not a
        previous output.
    NotADirectoryError
        If ``out_dir`` is a file.
    """
    _check_arguments(cities, scope, lang, tuple(services), engine)
    out = Path(out_dir)
    recover(out)
    cfg = load_config(config)
    check_out_dir(out, overwrite=overwrite, n_cities=35_000 if scope == "all-communes" else 244)
    polygons = _commune_polygons(communes, cfg, scope)
    _check_workers(workers, scheduler)
    opts = RunOptions(
        out=out,
        cfg=cfg,
        scope=scope,
        lang=lang,
        engine=engine,
        chunk_size=chunk_size,
        scheduler=scheduler,
        workers=workers,
        services=tuple(services),
        services_offline=services_offline,
        cache=cache,
    )
    bar = Progress(opts.n_steps, progress if callable(progress) else bool(progress) and not quiet)
    problems: list[str] = []

    printer = clusters = None
    tmp = temporary_folder(out)  # the outputs are written there, then swapped in
    try:
        # the maps' own process imports matplotlib and builds the basemap while the towns are read, then
        # builds the frame while the indicators are computed
        printer = MapPrinter.start(dpi=cfg.maps_dpi) if cfg.maps_enabled else None
        bar.step("reading cities")
        city = _city_table(cities, opts, problems)
        if printer is not None:
            printer.frame(city["territory"].unique())
        clusters = _early_clusters(city, cfg)
        early = _EarlyMaps(printer, tmp / "maps", cfg, lang) if printer is not None else None
        run = _compute(city, polygons, opts, bar, problems, clusters, early)
        written = _write_folder(run, opts, bar, tmp, printer, early.keys if early is not None else ())
    finally:
        if printer is not None:
            printer.close()
        if clusters is not None:
            clusters.close()
        end_children()  # any started but not yet handed back (an interrupt in between)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    bar.close()
    return DiagnoseResult(
        out_dir=out,
        files=tuple(out / w for w in written),
        cities=run.full,
        metadata=run.meta,
        clusters=run.clusters,
        ranking=run.ranking,
        config=cfg,
        timings=dict(bar.timings),
        warnings=run.warnings,
    )


#: Towns beyond which the local and the global cluster statistics run in two processes (each then takes
#: seconds); below, one process does both (a second would cost more to start than it saves).
_SPLIT_CLUSTERS = 5_000


def _early_clusters(city: Any, cfg: DiagnoseConfig) -> _EarlyClusters | None:
    """The clusters step started now in forked processes, when every cluster variable is a city column.

    It then needs nothing the indicators compute: it runs on the core they leave idle; beyond
    :data:`_SPLIT_CLUSTERS` towns the local statistics in one process, the global ones (join counts,
    Moran's I, on weights built alike) in another. None when a variable is an indicator (the step
    runs in its turn) or there is no variable.
    """
    variables = cfg.clusters.variables
    if not variables or not all(v in city.columns for v in variables):
        return None
    split = len(city) > _SPLIT_CLUSTERS and (cfg.clusters.join_counts or cfg.clusters.morans_i)
    local = Forked(_cluster_step_alone, city, cfg, "local" if split else "all")
    if not local.forked:
        return None
    glob = Forked(_cluster_step_alone, city, cfg, "global") if split else None
    if glob is not None and not glob.forked:
        local.close()
        return None
    return _EarlyClusters(local, glob)


@dataclass(frozen=True)
class _EarlyClusters:
    """The local and global parts of the clusters step, computed in forked processes."""

    local: Forked
    glob: Forked | None

    def wait_first(self) -> bool:
        """Wait until one of the two processes has answered; whether the other one still computes."""
        if self.glob is None:
            return False
        wait_first([self.local, self.glob])
        return self.local.running() or self.glob.running()

    def result(self) -> tuple[pd.DataFrame, dict, list[str]]:
        """What :func:`_cluster_step_alone` returns for the whole step (the local part's error first)."""
        table, doc, problems = self.local.result()
        if self.glob is not None:
            _t, glob_doc, glob_problems = self.glob.result()
            for var, stats in glob_doc["global"].items():
                doc["global"].setdefault(var, {}).update(stats)
            problems += [p for p in glob_problems if p not in problems]
        return table, doc, problems

    def close(self) -> None:
        self.local.close()
        if self.glob is not None:
            self.glob.close()


@dataclass
class _EarlyMaps:
    """Hands the maps that need no cluster column to the map process while the clusters end (:func:`_compute`).

    ``keys``: the maps handed over (none until called), for :func:`acv_geo.outputs.atlas.submit_maps`.
    """

    printer: MapPrinter
    folder: Path
    cfg: DiagnoseConfig
    lang: str
    keys: tuple[str, ...] = ()

    def __call__(self, towns: Any, epci: Any, meta: pd.DataFrame) -> None:
        """Hand over the maps of ``towns`` (every indicator and the profile, no cluster column yet)."""
        self.folder.mkdir(exist_ok=True)
        self.keys = submit_early_maps(self.folder, towns, epci, meta, self.cfg, self.lang, printer=self.printer)


def _cluster_step_alone(city: Any, cfg: DiagnoseConfig, part: str = "all") -> tuple[pd.DataFrame, dict, list[str]]:
    """:func:`_cluster_step` (or its ``part``) on the city columns only, with the warnings it adds."""
    problems: list[str] = []
    table, doc = _cluster_step(city, pd.DataFrame(index=city.index), cfg, problems, part=part)
    return table, doc, problems


def _compute(
    city: Any,
    polygons: Any,
    opts: RunOptions,
    bar: Progress,
    problems: list[str],
    clusters: _EarlyClusters | None = None,
    early_maps: _EarlyMaps | None = None,
) -> _Outcome:
    """Every indicator, the clusters, the profile and the labelled metadata of a run (nothing written).

    ``clusters``: the clusters step started early (:func:`_early_clusters`), whose result is taken in its turn.
    ``early_maps``: given the towns without their cluster columns, hands the maps that need none to the
    map process; called once a cluster process is done while another still computes (a core is free).
    """
    from acv_geo.read.communes import read_communes, read_epci

    cfg = opts.cfg
    bar.step("reading commune and EPCI polygons")
    polys = read_communes(polygons)
    epci = read_epci(cfg.epci)
    tables = _indicator_tables(city, polys, epci, opts, bar)
    bar.step("clusters")
    prof = None
    if clusters is not None:
        if early_maps is not None and clusters.wait_first():
            prof = _exposure(city, tables, cfg)
            towns = _with_profile(city, tables, prof)
            early_maps(towns, epci, _labelled_metadata(towns, cfg))
        cl_table, cl_doc, cl_problems = clusters.result()
        problems.extend(p for p in cl_problems if p not in problems)
    else:
        cl_table, cl_doc = _cluster_step(city, _assemble(city, tables), cfg, problems)
    for _ in cfg.clusters.variables[1:]:
        bar.step("clusters")
    bar.step("exposure profile")
    full, ranking = _profile_step(city, tables, cl_table, cfg, prof)
    return _Outcome(
        full=full,
        communes=polys,
        epci=epci,
        meta=_labelled_metadata(full, cfg),
        clusters=cl_doc,
        ranking=ranking,
        warnings=tuple(problems),
    )


@dataclass(frozen=True)
class _Outcome:
    """What the computing steps of a run produced, for the writing steps."""

    full: Any
    communes: Any
    epci: Any
    meta: pd.DataFrame
    clusters: dict[str, Any]
    ranking: pd.DataFrame
    warnings: tuple[str, ...]


def _sources(cfg: DiagnoseConfig) -> tuple[LayerSpec | RasterSpec, ...]:
    """The layers and rasters of the config."""
    return (*cfg.layers, *cfg.rasters)


def _check_arguments(cities: Any, scope: str, lang: str, services: tuple[str, ...], engine: str) -> None:
    """Refuse bad arguments of :func:`diagnose` before anything is read."""
    from acv_geo.pipeline.engine import ENGINES

    if scope not in ("acv", "all-communes"):
        raise ValueError(f"unknown scope {scope!r}; expected 'acv' or 'all-communes'")
    if lang not in ("fr", "en"):
        raise ValueError(f"lang must be 'fr' or 'en', got {lang!r}")
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        raise ValueError(f"unknown service(s) {unknown}; use {', '.join(SERVICES)}")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
    if scope == "all-communes" and cities is not None:
        raise InputError("cities and scope='all-communes' exclude each other; give one of them")


def _check_workers(workers: Any, scheduler: str | None) -> None:
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be a whole number ≥ 1, got {workers!r}")
    if workers is not None and scheduler is not None:
        raise ValueError("workers sizes the local Dask cluster; with scheduler= the cluster is yours: drop workers")


def _commune_polygons(communes: Any, cfg: DiagnoseConfig, scope: str) -> Any:
    """The commune polygons of the run (argument, else config); the national scope needs real ones."""
    polygons = communes if communes is not None else cfg.communes
    uses_commune_zones = any("commune" in x.zones for x in _sources(cfg))
    if scope == "all-communes" and polygons is None and uses_commune_zones:
        raise InputError(
            "scope 'all-communes' with commune zones needs a national commune polygon layer: pass communes= "
            "(CLI --communes FILE) or set `communes` in the config, e.g. IGN ADMIN EXPRESS COMMUNE "
            "(`acv-geo fetch admin_express_cog`)"
        )
    return polygons


# --------------------------------------------------------------------------------------------
# steps: cities and indicators


def _city_table(cities: Any, opts: RunOptions, problems: list[str]) -> Any:
    """The cities of the run (ACV towns or every commune) with the metadata of their own columns."""
    if opts.scope == "all-communes":
        from acv_geo.read.communes import read_all_communes

        city = read_all_communes(observatory=opts.cfg.observatory)
        problems.append(
            f"national scope: {len(city):,} communes in the tables, maps and clusters; the per-city pages "
            "of this report cover the ACV towns only (column acv)"
        )
    else:
        city = _read_cities(cities, opts.cfg)
    if len(city) == 0:
        raise InputError("the city list is empty; give at least one city")
    attach_metadata(city, _opendata_metadata(city, opts.cfg.observatory))
    return city


class _ZoneRunner(contextlib.ExitStack):
    """Calls an overlay or zonal function on zones: directly, in spatial chunks, or on one Dask cluster.

    The Dask cluster (``engine="dask"`` without a scheduler) is started at the first call that needs it
    and serves every later one; it is closed when the ``with`` block ends.
    """

    def __init__(self, opts: RunOptions) -> None:
        super().__init__()
        self.opts = opts
        self.client: Any = None

    def __call__(self, func: Callable[..., pd.DataFrame], zones: Any, *args: Any, **kwargs: Any) -> pd.DataFrame:
        from acv_geo.pipeline.engine import dask_client, map_zones

        o = self.opts
        if o.engine == "local" and len(zones) <= o.chunk_size:
            return func(zones, *args, **kwargs)
        if o.engine == "dask" and self.client is None:
            self.client = self.enter_context(dask_client(o.scheduler, n_workers=o.workers))
        return map_zones(
            func,
            zones,
            *args,
            engine=o.engine,
            chunk_size=o.chunk_size,
            scheduler=self.client if self.client is not None else o.scheduler,
            **kwargs,
        )


def _indicator_tables(city: Any, communes: Any, epci: Any, opts: RunOptions, bar: Progress) -> list[pd.DataFrame]:
    """Every indicator table of the run: layers, rasters (per zone), commune tables, web services."""
    cfg = opts.cfg
    bar.step("building zones")
    zones = _zones_for({z for x in _sources(cfg) for z in x.zones}, city, communes, epci, cfg)
    rasters = _early_rasters(zones, opts)
    try:
        tables = _zone_tables(zones, opts, bar, rasters)
    finally:
        if rasters is not None:
            rasters.close()
    for t in cfg.tables:  # one table at a time, so that each step's time is its own
        bar.step(f"table {t.kind}" + (f" {t.path.name}" if t.path else ""))
        tables.append(_table(city, t))
    if opts.services:
        bar.step(f"web services: {', '.join(opts.services)}")
        commune_zones = zones.get("commune")
        if commune_zones is None:
            commune_zones = _zones_for({"commune"}, city, communes, epci)["commune"]
        tables.extend(
            _service_tables(city, commune_zones, opts.services, cfg, cache=opts.cache, offline=opts.services_offline)
        )
    return tables


def _zone_tables(zones: dict[str, Any], opts: RunOptions, bar: Progress, rasters: Forked | None) -> list[pd.DataFrame]:
    """The overlay and zonal tables of every layer and raster (``rasters``: their zonal statistics started early)."""
    tables: list[pd.DataFrame] = []
    with _ZoneRunner(opts) as run:
        for spec in opts.cfg.layers:
            for zs in spec.zones:
                bar.step(f"overlay {spec.name} ({zs})")
                tables.append(_overlay(zones[zs], spec, zs, run))
                if zs == spec.zones[0]:
                    tables.append(_coverage(zones[zs], spec, zs))
        for k, (raster, zs) in enumerate(_raster_steps(opts.cfg)):
            bar.step(f"zonal statistics {raster.name} ({zs})")
            tables.append(rasters.result()[k] if rasters is not None else _zonal(zones[zs], raster, zs, run))
    return tables


def _raster_steps(cfg: DiagnoseConfig) -> list[tuple[RasterSpec, str]]:
    """Each raster of the config with each of its zones, in the order of the run."""
    return [(raster, zs) for raster in cfg.rasters for zs in raster.zones]


def _early_rasters(zones: dict[str, Any], opts: RunOptions) -> Forked | None:
    """The zonal statistics of every raster started now in a forked process (local engine, zones in one chunk).

    They need only the zones: they run while the layers are overlaid, and the raster libraries
    (rasterio, exactextract and their GDAL) are never loaded in this process. None otherwise.
    """
    steps = _raster_steps(opts.cfg)
    if not steps or opts.engine != "local" or any(len(zones[zs]) > opts.chunk_size for _r, zs in steps):
        return None
    job = Forked(_all_zonal, {zs: zones[zs] for _r, zs in steps}, steps)
    return job if job.forked else None


def _all_zonal(zones: dict[str, Any], steps: list[tuple[RasterSpec, str]]) -> list[pd.DataFrame]:
    """:func:`_zonal` of each (raster, zone) step."""
    return [_zonal(zones[zs], raster, zs) for raster, zs in steps]


def _read_cities(cities: Any, cfg: DiagnoseConfig) -> Any:
    """The cities given (a GeoDataFrame, copied, or a file), else the config's list, with their open-data status."""
    import geopandas as gpd

    from acv_geo.read.cities import read_acv

    if cities is None:
        return read_acv(cfg.cities_source, observatory=cfg.observatory)
    if isinstance(cities, (str, os.PathLike)):
        return read_acv(cities, observatory=cfg.observatory)
    if not isinstance(cities, gpd.GeoDataFrame):
        raise InputError(
            f"cities must be a GeoDataFrame indexed by insee_com (e.g. acv_geo.read_acv()) or a file path, "
            f"not {type(cities).__name__}"
        )
    if cities.index.name != "insee_com" or not cities.index.is_unique:
        raise InputError("cities must be indexed by a unique insee_com index, as acv_geo.read_acv() returns it")
    out = cities.copy()
    if "opendata" not in out.columns and cfg.observatory is not None:
        from acv_geo.read.opendata import opendata_status

        out = opendata_status(out, observatory=cfg.observatory)
    return out


def _zones_for(
    specs: set[str], cities: Any, communes: Any, epci: Any, cfg: DiagnoseConfig | None = None
) -> dict[str, Any]:
    """The zones of each spec; with ``cfg``, buffers only where a layer measured on them has data."""
    from acv_geo.zones import make_zones, parse_zone_spec

    out = {}
    for spec in sorted(specs):
        kind, radius = parse_zone_spec(spec)
        kw: dict[str, Any] = {"kind": kind}
        if radius is not None:
            kw["radius"] = radius
            if cfg is not None:
                kw["only"] = _covered_by_users(spec, cities, cfg)
        if kind == "commune":
            kw["communes"] = communes
        if kind == "epci":
            kw["epci"] = epci
        out[spec] = make_zones(cities, **kw)
    return out


def _layer_coverage(spec: LayerSpec) -> Any:
    """Where a layer has data: its declared coverage, else the one derived from its features (cached per file)."""
    return spec.coverage or file_coverage(spec.path, spec.layer)


def _covered_by_users(spec: str, cities: Any, cfg: DiagnoseConfig) -> np.ndarray | None:
    """The towns in the coverage of some layer measured on the zones ``spec``; None: every town.

    Outside a layer's coverage its values are NA whatever the zone, so a zone no layer measures
    is not worth building (every commune's 2 km buffer for a layer of one department). Rasters
    have no department coverage: zones they use are built for every town.
    """
    users = [x for x in _sources(cfg) if spec in x.zones]
    layers = [x for x in users if isinstance(x, LayerSpec)]
    if not layers or len(layers) < len(users):
        return None
    departments = zone_departments(cities)
    covered = np.zeros(len(cities), dtype=bool)
    for layer in layers:
        cov = _layer_coverage(layer)
        if cov.national:
            return None
        covered |= cov.covers(departments)
    return covered


def _direct(func: Any, zones: Any, *args: Any, **kwargs: Any) -> pd.DataFrame:
    return func(zones, *args, **kwargs)


def _overlay(zones: Any, spec: LayerSpec, zone_spec: str, run: Any = _direct) -> pd.DataFrame:
    from acv_geo.indicators.overlay import overlay_indicators

    kw: dict[str, Any] = {"name": zone_name(spec.name, zone_spec), "role": spec.role}
    if not spec.distances:
        kw["distances"] = False
    for key, value in (
        ("preset", spec.preset),
        ("category", spec.category),
        ("layer_name", spec.layer),
        ("source", spec.provenance or None),
        ("date", spec.date or None),
        ("coverage", spec.coverage),
    ):
        if value is not None:
            kw[key] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = run(overlay_indicators, zones, spec.path, **kw)
    return _primary_zone_scored(out, spec, zone_spec)


def _primary_zone_scored(out: pd.DataFrame, spec: Any, zone_spec: str) -> pd.DataFrame:
    """Only the first zone of a source is scored: a buffer repeating the commune would count twice."""
    if zone_spec != spec.zones[0]:
        assign_role(out, spec.role, scored=())
    return out


def _coverage(zones: Any, spec: LayerSpec, zone_spec: str) -> pd.DataFrame:
    """``{name}_covered``: is the city in the layer's coverage (declared, else derived from its features)."""
    cov = _layer_coverage(spec)
    inside = cov.covers(zone_departments(zones))
    col = f"{zone_name(spec.name, zone_spec)}_covered"
    out = pd.DataFrame({col: pd.array(inside, dtype="boolean")}, index=zones.index)
    attach_metadata(
        out,
        [
            {
                "column": col,
                "unit": "bool",
                "source": spec.provenance or spec.path.name,
                "date": spec.date,
                "description": f"True when the city lies in the coverage of {spec.label} ({cov.describe()}): the layer "
                "surveyed this place, so 0 means 'nothing found'; outside, its values are missing (NA)",
                "role": spec.role,
            }
        ],
    )
    return out


def _zonal(zones: Any, spec: RasterSpec, zone_spec: str, run: Any = _direct) -> pd.DataFrame:
    from acv_geo.indicators.zonal import zonal_indicators

    kw: dict[str, Any] = {
        "name": zone_name(spec.name, zone_spec),
        "categorical": spec.categorical,
        "band": spec.band,
        "role": spec.role,
    }
    if spec.stats:
        kw["stats"] = list(spec.stats)
    if spec.threshold:
        kw["threshold"] = list(spec.threshold)
    if spec.unit:
        kw["unit"] = spec.unit
    if spec.provenance:
        kw["source"] = spec.provenance
    if spec.date:
        kw["date"] = spec.date
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = run(zonal_indicators, zones, spec.path, **kw)
    return _primary_zone_scored(out, spec, zone_spec)


def _table(cities: Any, t: TableSpec) -> pd.DataFrame:
    """The indicators of one commune table of the config (embedded national tables, GASPAR, any CSV)."""
    from acv_geo.indicators import tables as tb

    if t.kind == "radon":
        return tb.radon_indicators(cities, t.path)
    if t.kind == "seismic":
        return tb.seismic_indicators(cities)
    if t.kind == "known_risks":
        return tb.known_risks_indicators(cities)
    if t.kind == "catnat":
        from acv_geo.indicators.gaspar import catnat_gaspar_indicators
        from acv_geo.read.gaspar import is_gaspar_catnat

        if t.path is not None and is_gaspar_catnat(t.path):  # `acv-geo fetch catnat`: GASPAR's table
            return catnat_gaspar_indicators(cities, t.path, start=t.since)
        if t.since is None:
            return tb.catnat_indicators(cities, t.path)
        return tb.catnat_indicators(cities, t.path, since=t.since)
    if t.kind == "gaspar":
        from acv_geo.indicators.gaspar import gaspar_indicators

        assert t.path is not None  # [tables] gaspar always names its archive
        return gaspar_indicators(cities, t.path, tables=t.columns or ())
    kw: dict[str, Any] = {k: v for k, v in (("insee_column", t.insee_column), ("prefix", t.prefix)) if v is not None}
    kw["role"] = t.role
    if t.columns is not None:
        kw["columns"] = list(t.columns)
    return tb.join_commune_table(cities, t.path, **kw)


#: Web services :func:`diagnose` can query (:mod:`acv_geo.indicators.services`).
SERVICES = ("nature", "georisques")
#: Géorisques columns scored only when the embedded national table of the same thing is off (never twice).
_GEORISQUES_SCORED = {
    "georisques_rga_class": None,
    "georisques_seismic_zone": "seismic",
    "georisques_radon_class": "radon",
    "georisques_catnat_count": "catnat",
    "georisques_risks_count": "known_risks",
}


def _service_tables(
    city: Any, zones: Any, services: tuple[str, ...], cfg: DiagnoseConfig, *, cache: Any, offline: bool
) -> list[pd.DataFrame]:
    """Indicators of the web services (answers cached on disk; offline: the cache only, NA + reason)."""
    from acv_geo.indicators.services import georisques_indicators, nature_indicators

    out = []
    if "nature" in services:
        out.append(nature_indicators(city, zones, cache=cache, offline=offline))
    if "georisques" in services:
        gr = georisques_indicators(city, cache=cache, offline=offline)
        kinds = {t.kind for t in cfg.tables}
        assign_role(
            gr,
            "risk",
            scored=[c for c, k in _GEORISQUES_SCORED.items() if c in gr.columns and (k is None or k not in kinds)],
        )
        out.append(gr)
    return out


def _cluster_input(cities: Any, indicators: pd.DataFrame, variable: str) -> Any:
    """Cities with the variable as a column (from the cities or the indicator tables)."""
    if variable in cities.columns:
        return cities
    if variable in indicators.columns:
        out = cities.copy()
        out[variable] = indicators[variable]
        return out
    raise InputError(
        f"clusters.variables: {variable!r} is neither a city column nor an indicator; available: "
        f"{', '.join(sorted(set(cities.columns) | set(indicators.columns)))}"
    )


# --------------------------------------------------------------------------------------------
# steps: clusters and profile


def _cluster_step(
    city: Any, indicators: Any, cfg: DiagnoseConfig, problems: list[str], part: str = "all"
) -> tuple[pd.DataFrame, dict]:
    """Local and global cluster statistics; their warnings (e.g. a capped number of neighbours) kept."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        table, doc = _clusters(city, indicators, cfg, part)
    for w in caught:
        msg = f"clusters: {w.message}"
        if msg not in problems:
            problems.append(msg)
    doc["settings"]["variables"] = list(cfg.clusters.variables)
    return table, doc


def _clusters(
    cities: Any, indicators: pd.DataFrame, cfg: DiagnoseConfig, part: str = "all"
) -> tuple[pd.DataFrame, dict]:
    """Per-city cluster columns of every cluster variable, and the content of ``clusters.json``.

    ``part``: ``"local"`` (the columns, labels and the local summary), ``"global"`` (join counts and
    Moran's I only, on weights built from the spec) or ``"all"`` (both, on one built graph).
    """
    from acv_geo.stats import clusters as cl

    cs = cfg.clusters
    frames = []
    doc: dict[str, Any] = {
        "settings": {
            "method": cs.method,
            "weights": cs.weights,
            "permutations": cs.permutations,
            "seed": cs.seed,
            "alpha": cs.alpha,
        },
        "global": {},
        "labels": {},
        "cities": {},
    }
    for var in cs.variables:
        data = _cluster_input(cities, indicators, var)
        if part == "global":
            doc["global"][var] = json_ready(_global_statistics(None, data, var, cs))
            continue
        res = cl.local_clusters(
            data, var, method=cs.method, weights=cs.weights, permutations=cs.permutations, seed=cs.seed, alpha=cs.alpha
        )
        fr = res.to_frame().reindex(cities.index)
        fr = fr.rename(columns={c: f"cluster_{var}_{c}" for c in fr.columns})
        attach_metadata(fr, _cluster_metadata(fr, var, cs))
        frames.append(fr)
        label_col = f"cluster_{var}_label"
        if label_col in fr.columns:
            doc["labels"][var] = {
                str(k): int(v) for k, v in fr[label_col].astype(object).fillna("NA").value_counts().items()
            }
            doc["cities"][var] = _city_records(fr, f"cluster_{var}_")
        glob = _global_statistics(res, data, var, cs) if part == "all" else {"local": _local_summary(res)}
        doc["global"][var] = json_ready(glob)
    if frames:
        table = pd.concat(frames, axis=1)
        table.attrs["acv_geo_metadata"] = [m for f in frames for m in f.attrs.get("acv_geo_metadata", [])]
    else:
        table = pd.DataFrame(index=cities.index)
    return table, doc


def _cluster_metadata(fr: pd.DataFrame, var: str, cs: Any) -> list[dict]:
    """Metadata rows of the cluster columns of ``var``."""
    rows = []
    for c in fr.columns:
        what = c.removeprefix(f"cluster_{var}_")
        rows.append(
            {
                "column": c,
                "unit": {"p_sim": "p-value", "p_fdr": "p-value"}.get(what, ""),
                "source": f"acv-geo local clusters ({cs.method}, {cs.weights}, {cs.permutations} permutations, "
                f"seed {cs.seed})",
                "date": "",
                "description": f"Local cluster analysis of {var}: {what}"
                + (
                    f" ({', '.join(METHOD_LABELS[cs.method])} or not significant at alpha {cs.alpha:g} after FDR)"
                    if what == "label"
                    else ""
                ),
            }
        )
    return rows


def _global_statistics(res: Any, data: Any, var: str, cs: Any) -> dict[str, Any]:
    """The local result's summary, join counts (of a yes/no variable) and Moran's I, as asked by the config."""
    from acv_geo.stats import clusters as cl

    glob: dict[str, Any] = {}
    if res is not None:
        glob["local"] = _local_summary(res)
    is_bool = str(data[var].dtype) in ("bool", "boolean") or set(pd.unique(data[var].dropna())) <= {0, 1}
    # built from the spec, as the local statistic built them: the same graph and the same notes on it (capped
    # neighbours...) whether the global statistics run with the local ones or in their own process
    built = cs.weights
    if (cs.join_counts and is_bool) or cs.morans_i:  # both from one sequence of permutations
        jc, mi = cl.global_statistics(
            data,
            var,
            weights=built,
            permutations=cs.permutations,
            seed=cs.seed,
            join_counts=cs.join_counts and is_bool,
            morans_i=cs.morans_i,
        )
        if jc is not None:
            glob["join_counts"] = jc.to_dict()
        if mi is not None:
            glob["morans_i"] = mi.to_dict()
    return glob


def _local_summary(res: Any) -> dict[str, Any]:
    """The local result's summary figures (its lists and tables left out)."""
    try:
        return {k: v for k, v in res.to_dict().items() if not isinstance(v, (list, dict))}
    except (TypeError, ValueError, AttributeError):
        return {}


def _city_records(frame: pd.DataFrame, prefix: str) -> dict[str, dict]:
    """``{code: {column without prefix: value}}`` of every row, NA as None (for ``clusters.json``)."""
    obj = frame.astype(object)
    obj.attrs = {}
    keys = [str(c).removeprefix(prefix) for c in obj.columns]
    values = obj.to_numpy()
    missing = obj.isna().to_numpy()
    return {
        str(i): json_ready({k: (None if m else v) for k, v, m in zip(keys, row, na, strict=True)})
        for i, row, na in zip(obj.index, values, missing, strict=True)
    }


def _profile_step(
    city: Any, tables: list[pd.DataFrame], cl_table: pd.DataFrame, cfg: DiagnoseConfig, prof: Any = None
) -> tuple[Any, pd.DataFrame]:
    """The exposure profile (``prof`` if computed already); the cities with every column and it; the ranking."""
    from acv_geo.indicators.profile import rank_candidates

    prof = _exposure(city, tables, cfg) if prof is None else prof
    full = _with_profile(city, [*tables, cl_table], prof)
    return full, rank_candidates(prof)


def _exposure(city: Any, tables: list[pd.DataFrame], cfg: DiagnoseConfig) -> pd.DataFrame:
    """The exposure profile of the cities from the indicator tables (no cluster column enters it)."""
    from acv_geo.indicators.profile import exposure_profile

    return exposure_profile(city, *tables, weights=dict(cfg.profile_weights) or None)


def _with_profile(city: Any, tables: list[pd.DataFrame], prof: pd.DataFrame) -> Any:
    """The cities with the columns of ``tables`` and of the profile, the profile's settings in ``attrs``."""
    full = _assemble(city, [*tables, prof])
    full.attrs["acv_geo_profile"] = prof.attrs["acv_geo_profile"]
    return full


# --------------------------------------------------------------------------------------------
# steps: metadata and assembly


def _opendata_metadata(cities: Any, observatory: str | None) -> list[dict]:
    src = {
        "odater_2022": ("OpenDataFrance observatory ODATER 2022 · ODbL", "2022-12-31"),
        "odater_2020": ("OpenDataFrance observatory ODATER v2 · ODbL", "2020-10-21"),
    }.get(str(observatory), (str(observatory or "city list"), ""))
    rows = []
    for col, (unit, _fr, _en, desc) in CITY_METADATA.items():
        if col not in cities.columns:
            continue
        observed = col in _OPENDATA_COLUMNS or col.startswith(("url_", "techno_", "themes_"))
        rows.append(
            {
                "column": col,
                "unit": unit,
                "description": desc,
                "source": src[0] if observed else "city list (ANCT ACV list, COG 2025)",
                "date": src[1] if observed else "",
                "role": "opendata" if col in _OPENDATA_COLUMNS else "context",
                "scored": "yes" if col == "opendata_level" else "",
            }
        )
    prev = ("OpenDataFrance observatory ODATER v2 · ODbL", "2020-10-21")
    for col in cities.columns:
        m = re.fullmatch(r"opendata(_com|_epci)?_(\d{4}|prev)", col)
        if m:
            who = {"_com": "the commune itself", "_epci": "the commune's EPCI", None: "the commune or its EPCI"}
            rows.append(
                {
                    "column": col,
                    "unit": "bool",
                    "source": prev[0],
                    "date": prev[1],
                    "role": "opendata",
                    "description": f"True when {who[m.group(1)]} published open data in the earlier observatory",
                }
            )
    if "opendata_change" in cities.columns:
        rows.append(
            {
                "column": "opendata_change",
                "unit": "class",
                "source": f"{src[0]}; {prev[0]}",
                "date": f"{prev[1]} → {src[1]}",
                "role": "opendata",
                "description": "Change between the two observatories: kept, new, stopped or never",
            }
        )
    return rows


def _assemble(cities: Any, tables: list[pd.DataFrame]) -> Any:
    """Cities + indicator tables, side by side; duplicated columns are an error."""
    import geopandas as gpd

    seen = set(cities.columns)
    meta: list[dict] = list(cities.attrs.get("acv_geo_metadata", []))
    parts = []
    for t in tables:
        t = t.reindex(cities.index)
        dup = seen & set(t.columns)
        if dup:
            raise InputError(
                f"indicator column(s) {sorted(dup)} produced twice; give each layer/raster/table a distinct "
                "name or prefix in the config"
            )
        seen |= set(t.columns)
        parts.append(t)
        meta.extend(t.attrs.get("acv_geo_metadata", []))
    body = pd.concat([pd.DataFrame(cities.drop(columns=[cities.geometry.name])), *parts], axis=1)
    out = gpd.GeoDataFrame(body, geometry=cities.geometry.to_numpy(), crs=cities.crs)
    out.index.name = "insee_com"
    rows = {m["column"]: m for m in meta if m["column"] in out.columns}
    attach_metadata(out, rows.values())
    out.attrs["acv_geo_repairs"] = list(cities.attrs.get("acv_geo_repairs", []))
    return out


def source_labels(cfg: DiagnoseConfig) -> dict[str, tuple[str, str]]:
    """``{name: (French label, English label)}`` of the configured layers, rasters and tables.

    Parameters
    ----------
    cfg : DiagnoseConfig
        The configuration.

    Returns
    -------
    dict
        For :func:`acv_geo.core.labels.column_label`.
    """
    out = {x.name: (x.label, x.label_en or x.label) for x in _sources(cfg)}
    out.update({t.prefix: (t.prefix, t.prefix) for t in cfg.tables if t.prefix})
    return out


def _labelled_metadata(full: Any, cfg: DiagnoseConfig) -> pd.DataFrame:
    """Metadata of every written column (the code, ``lon``/``lat`` of the tables included), with labels."""
    meta = indicator_metadata(full)
    first = [
        {
            "column": c,
            "unit": CITY_METADATA[c][0],
            "date": "",
            "description": CITY_METADATA[c][3],
            "role": "context",
            "source": "city list (ANCT ACV list, COG 2025)" if c == "insee_com" else "acv-geo, from the city point",
        }
        for c in ("insee_com", "lon", "lat")
    ]
    meta = pd.concat([pd.DataFrame(first), meta], ignore_index=True).fillna("")[METADATA_COLUMNS]
    return label_metadata(meta, layers=source_labels(cfg))


# --------------------------------------------------------------------------------------------
# steps: writing


def _write_folder(
    run: _Outcome,
    opts: RunOptions,
    bar: Progress,
    tmp: Path,
    printer: MapPrinter | None = None,
    early: Sequence[str] = (),
) -> list[str]:
    """Write every output in ``tmp``, a temporary folder beside ``out_dir``, then swap it in; the files written.

    ``early``: the keys of the maps already handed to ``printer`` (:class:`_EarlyMaps`).
    """
    out = opts.out
    try:
        written = _write_outputs(tmp, run, opts, bar, printer, early)
        write_marker(tmp, written, cities=len(run.full), config=opts.cfg.to_dict())
        bar.step("replacing the output folder")
        swap_in(tmp, out)
    except OSError as exc:
        raise InputError(f"{os_error_message(exc)} (nothing was changed in {out})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return written


def _write_outputs(
    tmp: Path, run: _Outcome, opts: RunOptions, bar: Progress, printer: MapPrinter | None, early: Sequence[str] = ()
) -> list[str]:
    """Tables, maps and the report into ``tmp``; their paths relative to it.

    With a ``printer`` the maps are drawn in its process while the tables, the town maps and the
    report's page are made; the maps are then embedded in the page.
    """
    cfg = opts.cfg
    pending = None
    if cfg.maps_enabled:
        bar.step("drawing maps")
        (tmp / "maps").mkdir(exist_ok=True)
        pending = submit_maps(tmp / "maps", run.full, run.epci, run.meta, cfg, opts.lang, printer=printer, early=early)
    bar.step("writing tables")
    tables = _start_tables(tmp, run, cfg)
    written = [
        "cities.gpkg",
        "cities.metadata.csv",
        "indicators.csv",
        "indicators.parquet",
        "indicators.metadata.csv",
        "indicator_metadata.csv",
        "clusters.json",
    ]
    town: dict[str, str] = {}
    pages = run.full[run.full["acv"].astype(bool)] if opts.scope == "all-communes" else run.full
    if pending is not None:
        bar.step("town maps")
        town = town_maps(pages, run.communes, run.epci, cfg, opts.lang)
    bar.step("writing report")
    from acv_geo.outputs.report import draft_report

    finish = draft_report(  # laid out while the maps are drawn; they are embedded once drawn
        pages,
        metadata=run.meta,
        clusters=run.clusters,
        ranking=run.ranking,
        maps=pending.planned if pending is not None else None,
        config=cfg,
        warnings=list(run.warnings),
        lang=opts.lang,
        town_maps=town,
    )
    if pending is not None:
        bar.step("waiting for the maps")  # and for the tables, when a child process writes them
        tables.result()
        written += [f"maps/{p.name}" for p in pending().values()]
        bar.step("embedding the maps in the report")
    tables.result()
    (tmp / "report.html").write_text(finish(), encoding="utf-8")
    return [*written, "report.html"]


#: Towns beyond which the tables are written by a child process while this one draws the town maps and lays the
#: report out (every commune: ≈ 4 s of GeoPackage, CSV, Parquet and JSON); below, here (a fork would cost more).
_FORK_TABLES = 5_000


def _start_tables(tmp: Path, run: _Outcome, cfg: DiagnoseConfig) -> Forked | _Done:
    """:func:`_write_tables` started: in a forked child for many towns, else done here; ``.result()`` waits for it."""
    args = (tmp, run.full, run.epci, run.meta, run.clusters, cfg)
    if len(run.full) > _FORK_TABLES:
        return Forked(_write_tables, *args)
    _write_tables(*args)
    return _Done()


class _Done:
    """A step already done here: ``.result()`` returns at once (the interface of :class:`Forked`)."""

    def result(self) -> None:
        return None


def _write_tables(tmp: Path, full: Any, epci: Any, meta: pd.DataFrame, cl_doc: dict, cfg: DiagnoseConfig) -> None:
    """The tables of the run: ``cities.gpkg`` (two layers), ``indicators.*``, metadata, ``clusters.json``."""
    from acv_geo.outputs.writers import write_table

    w = _writable(full)
    write_table(w, tmp / "cities.gpkg", layer="cities", metadata=False)
    el = _writable(epci_layer(full, epci))
    write_table(el, tmp / "cities.gpkg", layer="epci", metadata=False)
    plain = _plain(w)
    write_table(plain, tmp / "indicators.csv", metadata=False)
    write_table(plain, tmp / "indicators.parquet", metadata=False)
    meta.to_csv(tmp / "indicators.metadata.csv", index=False, encoding="utf-8")
    _gpkg_metadata(meta, el).to_csv(tmp / "cities.metadata.csv", index=False, encoding="utf-8")
    meta.to_csv(tmp / "indicator_metadata.csv", index=False, encoding="utf-8")  # deprecated name, one release
    # indented for a reader up to a few thousand towns; beyond, compact (the indenting encoder is pure Python)
    indent = 1 if len(full) <= 5_000 else None
    write_json(
        {**cl_doc, "generated": _dt.datetime.now().isoformat(timespec="seconds")}, tmp / "clusters.json", indent=indent
    )


def _gpkg_metadata(meta: pd.DataFrame, epci_layer: Any) -> pd.DataFrame:
    """Metadata of both layers of ``cities.gpkg``: ``cities`` (as the tables, without lon/lat) and ``epci``."""
    cities = meta[~meta["column"].isin(["lon", "lat"])].assign(layer="cities")
    known = meta.set_index("column")
    rows = []
    for c in ["siren_epci", *[x for x in epci_layer.columns if x != epci_layer.geometry.name]]:
        if c in known.index:
            rows.append({**known.loc[c].to_dict(), "column": c})
        elif c in CITY_METADATA:
            unit, _fr, _en, desc = CITY_METADATA[c]
            rows.append(
                {
                    "column": c,
                    "unit": unit,
                    "description": desc,
                    "role": "context",
                    "date": "",
                    "source": "IGN ADMIN EXPRESS EPCI (embedded), with the ACV city list",
                }
            )
    epci = label_metadata(pd.DataFrame(rows, columns=METADATA_COLUMNS).fillna("")).assign(layer="epci")
    return pd.concat([cities, epci], ignore_index=True)[["layer", *METADATA_COLUMNS]]


def _writable(gdf: Any) -> Any:
    """Columns the GPKG/Parquet drivers accept (object columns of mixed types as text)."""
    out = gdf.copy()
    out.attrs = {}  # pandas deep-copies attrs (hundreds of metadata rows) on every column access below
    for c in out.columns:
        if c == out.geometry.name:
            continue
        s = out[c]
        if s.dtype == object:
            vals = s.dropna()
            if len(vals) and not all(isinstance(v, str) for v in vals):
                out[c] = s.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    return out
