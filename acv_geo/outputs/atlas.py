"""The maps of a diagnose run: which columns, their titles and colours, drawn in parallel worker processes.

:func:`map_columns` chooses the indicators drawn as choropleths; :func:`draw_maps` draws the national maps
of a run (open-data status, EPCI open data, local clusters, one map per indicator) into PNG files, in
worker processes when there are several maps and cores (same pixels as one after the other);
:func:`town_maps` draws the SVG map of each town for its page of the report. The drawing itself is
:mod:`acv_geo.outputs.maps`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import pickle
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError
from acv_geo.core.parallel import end_process, fork_context, one_blas_thread, quiet_child, start_frozen
from acv_geo.indicators.epci import epci_layer

__all__ = [
    "CLASS_MAPS",
    "METHOD_NAMES",
    "MapJob",
    "MapPrinter",
    "PendingMaps",
    "draw_maps",
    "map_columns",
    "submit_early_maps",
    "submit_maps",
    "town_maps",
    "zone_name",
]

log = logging.getLogger("acv_geo")

#: Short name and label vocabulary of each local cluster method (for titles and metadata).
METHOD_NAMES = {"lisa": "LISA", "gi_star": "Getis-Ord Gi*", "join_count": "local join counts"}


_LEVEL_COLORS = {"commune": "#1a9850", "epci": "#91cf60", "none": "#d73027", "NA": "#bdbdbd"}


#: Class indicators drawn with one colour per class (a categorical legend), not on a continuous scale.
CLASS_MAPS: dict[str, dict[str, str]] = {
    "seismic_zone": {"1": "#fee5d9", "2": "#fcae91", "3": "#fb6a4a", "4": "#de2d26", "5": "#a50f15"},
    "radon_class": {"1": "#fff7bc", "2": "#fec44f", "3": "#d95f0e"},
}


_MAP_TEXT = {
    "fr": {
        "opendata": "Qui publie des données ouvertes : la commune, seulement son EPCI, ou personne",
        "od_legend": "Open data",
        "epci": "Open data des EPCI des villes ACV",
        "epci_legend": "EPCI",
        "yes": "l'EPCI publie",
        "no": "l'EPCI ne publie pas",
        "clusters": "Agrégats locaux : {} ({}, {}, {} permutations, FDR alpha {:g})",
        "score": "{} — poids : {}",
    },
    "en": {
        "opendata": "Who publishes open data: the commune, only its EPCI, or none",
        "od_legend": "Open data",
        "epci": "Open data of the EPCIs of the ACV cities",
        "epci_legend": "EPCI",
        "yes": "EPCI publishes",
        "no": "EPCI does not publish",
        "clusters": "Local clusters of {} ({}, {}, {} permutations, FDR alpha {:g})",
        "score": "{} — weights: {}",
    },
}


def map_columns(full: pd.DataFrame, meta: pd.DataFrame, cfg: Any) -> list[str]:
    """Indicator columns drawn as choropleths.

    The config's ``maps.columns`` if given; else the main risk and nature indicators: for each
    layer its covered share (``{name}_pct``, and each category's share) or, for point and line
    layers, its count and the distance to the nearest feature; for each raster its mean, its
    ``below`` shares and class shares; the radon class; the CatNat decree counts (total and per
    peril group); every other column its metadata marks as scored for risk or nature (GASPAR
    tables, web services); the composite exposure score. Columns with a single value for every city are
    left out (a flat map says nothing).

    Parameters
    ----------
    full : pandas.DataFrame
        The per-city table.
    meta : pandas.DataFrame
        Its metadata.
    cfg : acv_geo.pipeline.config.DiagnoseConfig
        The configuration (typed ``Any`` here: outputs come before the pipeline).

    Returns
    -------
    list of str
        Column names, in drawing order.
    """
    if cfg.map_columns:
        missing = [c for c in cfg.map_columns if c not in full.columns]
        if missing:
            raise InputError(
                f"{cfg.path or 'config'}: maps.columns: {missing} are not indicator columns; available: "
                f"{', '.join(meta['column'])}"
            )
        return list(cfg.map_columns)
    cols = list(full.columns)
    cands = _source_candidates(cols, cfg)
    cands += ["seismic_zone", "risks_known_count", "radon_class", "catnat_total_count"]
    cands += [f"catnat_{g}_count" for g in ("flood", "drought", "ground_movement", "storm", "earthquake", "other")]
    for t in cfg.tables:
        if t.kind == "csv" and t.prefix:
            cands += [c for c in cols if c.startswith(f"{t.prefix}_") and not c.endswith("_reason")]
    # every other scored indicator (GASPAR tables, web services): what its source says it measures
    cands += [
        c
        for c, role, scored in meta[["column", "role", "scored"]].itertuples(index=False)
        if scored == "yes" and role in ("risk", "nature")
    ]
    cands.append("exposure_score")
    return [c for c in dict.fromkeys(cands) if c in full.columns and _worth_a_map(full[c])]


def _worth_a_map(s: pd.Series) -> bool:
    """A numeric (not boolean) column with more than one value: a flat map says nothing."""
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return False
    return bool(s.dropna().nunique() > 1)


def _source_candidates(cols: list[str], cfg: Any) -> list[str]:
    """The map candidates of the configured layers and rasters, per zone, in config order."""
    names = [x.name for x in (*cfg.layers, *cfg.rasters)]
    cands: list[str] = []

    def own(c: str, prefix: str) -> bool:  # column of this layer, not of a layer with a longer name
        return c.startswith(prefix + "_") and not any(
            n != prefix and n.startswith(prefix + "_") and c.startswith(n + "_") for n in names
        )

    for spec in cfg.layers:
        for i, zs in enumerate(spec.zones):
            n = zone_name(spec.name, zs)
            if f"{n}_pct" in cols:
                cands.append(f"{n}_pct")
                if i == 0:
                    cands += [
                        c
                        for c in cols
                        if own(c, n)
                        and c.endswith("_pct")
                        and c != f"{n}_pct"
                        and not any(c.startswith(zone_name(spec.name, z) + "_") for z in spec.zones[1:])
                    ]
            else:
                cands.append(f"{n}_count")
                if i == 0:
                    cands.append(f"{n}_dist_m")
    for spec in cfg.rasters:
        for zs in spec.zones:
            n = zone_name(spec.name, zs)
            cands.append(f"{n}_mean")
            cands += [c for c in cols if own(c, n) and (c.startswith(f"{n}_below_") or c.startswith(f"{n}_class_"))]
    return cands


def draw_maps(
    folder: Path, full: Any, epci: Any, meta: pd.DataFrame, cfg: Any, lang: str, *, printer: MapPrinter | None = None
) -> dict[str, Path]:
    """Draw every map of a run with :mod:`acv_geo.outputs.maps` as PNG files in ``folder``.

    The open-data status of the towns and of their EPCIs, the local clusters of each cluster
    variable, then one map per column of :func:`map_columns`. Maps are drawn in worker processes
    when there are several and more than one core (``ACV_GEO_MAP_WORKERS`` sets how many processes draw); the
    files are the same either way.

    Parameters
    ----------
    folder : pathlib.Path
        Existing folder the PNG files are written into.
    full : geopandas.GeoDataFrame
        The towns with every indicator, with their metadata and profile in ``attrs``.
    epci : geopandas.GeoDataFrame
        EPCI polygons (:func:`acv_geo.read_epci`).
    meta : pandas.DataFrame
        Labelled metadata of the columns (``label_fr``, ``label_en``, ``unit``, ``source``, ``date``…).
    cfg : acv_geo.pipeline.config.DiagnoseConfig
        The configuration: clusters, layers, rasters, tables, ``maps_dpi``, ``map_columns``.
    lang : {"fr", "en"}
        Language of titles and legends.
    printer : MapPrinter, optional
        A map process started earlier (:meth:`MapPrinter.start`): the maps are drawn there.

    Returns
    -------
    dict
        ``{key: path}`` in drawing order (key: ``opendata_status``, ``clusters_<var>`` or the column).

    Examples
    --------
    >>> import tempfile, pathlib, acv_geo
    >>> from acv_geo.core.metadata import indicator_metadata
    >>> from acv_geo.core.labels import label_metadata
    >>> towns = acv_geo.read_acv()
    >>> cfg = acv_geo.load_config({"clusters": {"variables": []}, "maps": {"columns": ["population"], "dpi": 30}})
    >>> meta = label_metadata(indicator_metadata(towns))
    >>> paths = draw_maps(pathlib.Path(tempfile.mkdtemp()), towns, acv_geo.read_epci(), meta, cfg, "fr")
    >>> sorted(paths)
    ['opendata_epci', 'opendata_status', 'population']
    """
    return submit_maps(folder, full, epci, meta, cfg, lang, printer=printer)()


def submit_maps(
    folder: Path,
    full: Any,
    epci: Any,
    meta: pd.DataFrame,
    cfg: Any,
    lang: str,
    *,
    printer: MapPrinter | None = None,
    early: Collection[str] = (),
) -> PendingMaps:
    """:func:`draw_maps` that returns at once when ``printer`` draws the maps: call the result to wait for them.

    Without a printer the maps are drawn before it returns. ``early``: the keys of the maps already
    handed to ``printer`` by :func:`submit_early_maps` (only the others are sent now).
    """
    jobs = _map_jobs(folder, full, epci, meta, cfg, lang)
    planned = {job[0]: job[1] for job in jobs}
    if printer is None:
        paths = _run_map_jobs(jobs, cfg.maps_dpi)
        return PendingMaps(planned, lambda: paths)
    stray = sorted(set(early) - set(planned))
    if stray:
        raise RuntimeError(f"maps drawn early but not planned: {stray}")
    late = [job for job in jobs if job[0] not in early]
    printer.submit(late)
    sent = [*early, *(job[0] for job in late)]  # the printer's order

    def wait_paths() -> list[Path]:
        by_key = dict(zip(sent, printer.result(), strict=True))
        return [by_key[key] for key in planned]

    return PendingMaps(planned, wait_paths)


def submit_early_maps(
    folder: Path, full: Any, epci: Any, meta: pd.DataFrame, cfg: Any, lang: str, *, printer: MapPrinter
) -> tuple[str, ...]:
    """Hand ``printer`` the maps that need no cluster column now, while the clusters are computed; their keys.

    ``full``: the towns with every indicator and the profile, before the clusters. The printer draws
    them on the core the clusters leave free; :func:`submit_maps` then sends the rest (``early=``
    these keys). The maps are those :func:`submit_maps` would draw (same frames, same pixels).
    """
    jobs = _map_jobs(folder, full, epci, meta, cfg, lang, clusters=False)
    printer.submit(jobs, more=True)
    return tuple(job[0] for job in jobs)


@dataclass(frozen=True)
class PendingMaps:
    """Maps being drawn: the files they will be (``{key: path}``, in drawing order), and a wait for them."""

    planned: dict[str, Path]
    wait_paths: Callable[[], list[Path]]

    def __call__(self) -> dict[str, Path]:
        """``{key: path}`` of the maps once drawn (an error of a map is raised here)."""
        return dict(zip(self.planned, self.wait_paths(), strict=True))


#: One map to draw: ``(key, path, figure function, args, kwargs)``; the function returns a Figure.
MapJob = tuple[str, Path, Callable[..., Any], tuple, dict]


def _bare(full: Any) -> Any:
    """``full`` without its metadata (attrs; each column access would deep-copy them), profile info kept."""
    out = full.copy(deep=False)
    out.attrs = {k: v for k, v in full.attrs.items() if k == "acv_geo_profile"}
    return out


def _map_jobs(
    folder: Path, full: Any, epci: Any, meta: pd.DataFrame, cfg: Any, lang: str, *, clusters: bool = True
) -> list[MapJob]:
    """The maps of a run, in drawing order, each with the small frame it draws (picklable for workers).

    ``clusters=False``: only the maps that need no cluster column (``full`` has none yet).
    """
    el = epci_layer(full, epci)  # the layer written with the tables (built once)
    full = _bare(full)
    towns = _TownsColumns.towns_of(full)
    jobs = _opendata_jobs(folder, full, el, meta, lang, towns)
    if clusters:
        jobs += _cluster_jobs(folder, full, meta, cfg, lang, towns)
        columns = map_columns(full, meta, cfg)
    elif cfg.map_columns:  # those of the config there are already (the others are drawn with the clusters)
        columns = [c for c in cfg.map_columns if c in full.columns]
    else:
        columns = map_columns(full, meta, cfg)
    for col in columns:
        args, kwargs = _indicator_map_args(col, full, meta, lang, towns)
        jobs.append(_png_job(col, folder / f"{col}.png", args, kwargs))
    return jobs


@dataclass(frozen=True, eq=False)
class _TownsColumns:
    """The frame one map draws, as the towns it shares with the run's other maps and its own columns.

    Every map job of a run holds the same ``towns`` (geometry, territory): handed to the map process
    together, their geometries are pickled once, not once per map (29 maps of 35,000 communes were
    51 MB, 2 s to pickle and unpickle). :meth:`frame` builds the GeoDataFrame where the map is drawn.
    """

    towns: Any
    columns: tuple[tuple[str, Any], ...]

    @staticmethod
    def towns_of(full: Any) -> Any:
        """The towns' geometry and territory (when there is one), indexed as ``full``."""
        import geopandas as gpd

        return gpd.GeoDataFrame(
            {c: full[c].to_numpy() for c in ("territory",) if c in full.columns},
            geometry=full.geometry.array,
            crs=full.crs,
            index=full.index,
        )

    def frame(self) -> Any:
        """The GeoDataFrame of the map: ``columns`` first, then the towns' territory and geometry."""
        import geopandas as gpd

        data = {name: values for name, values in self.columns}
        data.update({c: self.towns[c].to_numpy() for c in self.towns.columns if c != self.towns.geometry.name})
        return gpd.GeoDataFrame(data, geometry=self.towns.geometry.array, crs=self.towns.crs, index=self.towns.index)


def _job_frame(args: tuple) -> tuple:
    """A map job's arguments with its frame built (:class:`_TownsColumns`), as the drawing functions take them."""
    if args and isinstance(args[0], _TownsColumns):
        return (args[0].frame(), *args[1:])
    return args


def _png_job(key: str, path: Path, args: tuple, kwargs: dict) -> MapJob:
    """The job drawing ``plot_map(*args, **kwargs)`` into ``path`` on the frame drawn once per process."""
    from acv_geo.outputs.maps import _map_png, _MapStyle

    gdf, column = args
    return (key, path, _map_png, (gdf, _MapStyle(column, **kwargs)), {})


def _opendata_jobs(folder: Path, full: Any, el: Any, meta: pd.DataFrame, lang: str, towns: Any) -> list[MapJob]:
    """The open-data status of the towns and of their EPCIs (``el``: :func:`acv_geo.indicators.epci.epci_layer`)."""
    od_note = _note(meta, "opendata_level") or "city list"
    jobs: list[MapJob] = []
    if "opendata_level" in full.columns:
        jobs.append(_town_status_job(folder, full, od_note, lang, towns))
    if "opendata_epci" in el.columns and len(el):
        jobs.append(_epci_status_job(folder, el, od_note, lang))
    return jobs


def _town_status_job(folder: Path, full: Any, note: str, lang: str, towns: Any) -> MapJob:
    """The map of who publishes open data for each town: the commune, only its EPCI, or none."""
    text = _MAP_TEXT[lang]
    g = _TownsColumns(towns, (("opendata_level", full["opendata_level"].astype(object).fillna("NA").to_numpy()),))
    kwargs = {
        "kind": "categorical",
        "colors": _LEVEL_COLORS,
        "title": text["opendata"],
        "legend": text["od_legend"],
        "source_note": note,
        "lang": lang,
    }
    return _png_job("opendata_status", folder / "opendata_status.png", (g, "opendata_level"), kwargs)


def _epci_status_job(folder: Path, el: Any, note: str, lang: str) -> MapJob:
    """The map of whether each EPCI of the towns publishes open data (``el``: its EPCI layer)."""
    text = _MAP_TEXT[lang]
    ge = el[["territory", el.geometry.name]].copy()
    ge["epci_publishes"] = (
        el["opendata_epci"].map({True: text["yes"], False: text["no"]}).astype(object).fillna("NA").to_numpy()
    )
    kwargs = {
        "kind": "categorical",
        "colors": {text["yes"]: "#1a9850", text["no"]: "#d73027", "NA": "#bdbdbd"},
        "title": text["epci"],
        "legend": text["epci_legend"],
        "source_note": note,
        "lang": lang,
    }
    return _png_job("opendata_epci", folder / "opendata_epci.png", (ge, "epci_publishes"), kwargs)


def _cluster_jobs(folder: Path, full: Any, meta: pd.DataFrame, cfg: Any, lang: str, towns: Any) -> list[MapJob]:
    """The local cluster map of each cluster variable (``towns``: :meth:`_TownsColumns.towns_of` ``full``)."""
    from acv_geo.outputs.maps import _cluster_style, _map_png

    od_note = _note(meta, "opendata_level") or "city list"
    cs = cfg.clusters
    jobs: list[MapJob] = []
    for var in cs.variables:
        col = f"cluster_{var}_label"
        if col not in full.columns:
            continue
        title = _MAP_TEXT[lang]["clusters"].format(
            _map_title(var, meta, full, lang), METHOD_NAMES[cs.method], cs.weights, cs.permutations, cs.alpha
        )
        style = _cluster_style(title=title, source_note=_note(meta, var) or od_note, lang=lang)
        labels = _TownsColumns(towns, ((style.column, full[col].astype(object).fillna("NA").to_numpy()),))
        jobs.append((f"clusters_{var}", folder / f"clusters_{var}.png", _map_png, (labels, style), {}))
    return jobs


def _render_map(job: MapJob, dpi: int) -> Path:
    """Draw one map job and write its PNG (in this process or a worker)."""
    from acv_geo.outputs.maps import _map_png

    _key, path, func, args, kwargs = job
    args = _job_frame(args)
    if func is _map_png:  # writes the PNG itself
        return _map_png(*args, path=path, dpi=dpi, **kwargs)
    return _save(func(*args, **kwargs), path, dpi)


def _map_workers(n_jobs: int) -> int:
    """Processes drawing ``n_jobs`` maps, this one included: the cores it may use (``ACV_GEO_MAP_WORKERS`` sets it)."""
    env = os.environ.get("ACV_GEO_MAP_WORKERS", "").strip()
    if env:
        try:
            return max(1, min(int(env), n_jobs))
        except ValueError:
            log.warning("ACV_GEO_MAP_WORKERS=%r is not a whole number; ignored", env)
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, os.cpu_count() or cpus, n_jobs))


def _pool_context() -> Any:
    """The multiprocessing context of the map workers, or None (draw here, one map after the other).

    :func:`acv_geo.core.parallel.fork_context`: the workers inherit the imported modules and the
    basemap built once, and nothing is re-run.
    """
    return fork_context()


def _map_worker_init() -> None:
    """Initialise a map worker process: one BLAS thread for its whole life (:func:`one_blas_thread`)."""
    one_blas_thread()


def _run_map_jobs(jobs: Sequence[MapJob], dpi: int, workers: int | None = None) -> list[Path]:
    """Draw the maps here and, when there are several and more than one core, in worker processes too.

    The files are identical to a serial run (same code, same data; ``tests/test_perf_equivalence.py``
    compares the pixels). Any failure of the pool itself (no fork, a worker killed) falls back to
    drawing the maps here, one after the other; an error of a map is raised as in a serial run.
    """
    from concurrent.futures.process import BrokenProcessPool

    from acv_geo.outputs.maps import _basemap_paths, _map_png, _prepare_frame

    if not jobs:
        return []
    if any(kw.get("basemap", True) for _k, _p, func, _a, kw in jobs if func is not _map_png):
        _basemap_paths()  # built once here: forked workers inherit it
    for _key, _path, func, args, kwargs in jobs:
        if func is _map_png:
            _prepare_frame(*_job_frame(args), dpi=dpi, **kwargs)  # basemap and frames built once here, inherited too
    n = _map_workers(len(jobs)) if workers is None else max(1, min(workers, len(jobs)))
    ctx = _pool_context() if n > 1 else None
    render = functools.partial(_render_map, dpi=dpi)
    # The objects alive now (the whole run's tables, esda, pandas...) are left out of garbage collection
    # while the maps are drawn: matplotlib makes many short-lived objects, and each full collection would
    # walk them all again (≈10 % of the drawing time), in a forked worker copying their memory pages too.
    gc.freeze()
    try:
        with one_blas_thread():
            if ctx is not None:
                try:
                    return _draw_with_helpers(jobs, render, n - 1, ctx)
                except (BrokenProcessPool, OSError, pickle.PicklingError) as exc:
                    log.warning(
                        "drawing the maps in %d processes failed (%s: %s); drawing them one by one",
                        n,
                        type(exc).__name__,
                        exc,
                    )
            return [render(job) for job in jobs]
    finally:
        gc.unfreeze()


def _draw_with_helpers(jobs: Sequence[MapJob], render: Callable[[MapJob], Path], helpers: int, ctx: Any) -> list[Path]:
    """Draw the maps here and in ``helpers`` forked processes: they take them from the end, this one from the start.

    This process draws map after map as long as none of the helpers has taken it (its future can
    still be cancelled); the helpers' maps are then waited for. One process fewer than a pool of
    as many workers as cores, the same wall time.
    """
    from concurrent.futures import ProcessPoolExecutor

    sys.stdout.flush()
    sys.stderr.flush()
    pool = ProcessPoolExecutor(max_workers=helpers, mp_context=ctx, initializer=_map_worker_init)
    try:
        futures = [pool.submit(render, job) for job in reversed(jobs)][::-1]
        paths = []
        for future, job in zip(futures, jobs, strict=True):
            if not future.cancel():
                break
            paths.append(render(job))
        return paths + [future.result() for future in futures[len(paths) :]]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class MapPrinter:
    """A process that builds the frame of the maps while the run computes its indicators, then draws them.

    :meth:`start` forks it early (Linux, single-threaded caller): it imports matplotlib, reads and
    projects the EPCI basemap and renders the frame once, on the core the indicators leave idle.
    :meth:`submit` hands it the map jobs, in one batch or several (``more=True`` before the last: it
    draws those alone, one after the other, while the caller's other processes hold the cores); with
    the last batch it draws what is left with its worker processes (:func:`_run_map_jobs`; they
    inherit the frame) while the caller goes on; :meth:`result` waits for the paths of all. The files
    are those of :func:`draw_maps` without a printer. If the process is gone, the maps are drawn
    here; an error of a map is raised here, as it would be without a printer. :meth:`close` (also on
    error) ends the process.

    Examples
    --------
    >>> printer = MapPrinter.start(("metropole",), dpi=40)
    >>> printer is None or printer.close() is None
    True
    """

    def __init__(self, process: Any, conn: Any, dpi: int) -> None:
        self._process = process
        self._conn = conn
        self._dpi = dpi
        self._jobs: list[MapJob] | None = None
        self._done_submitting = False

    @classmethod
    def start(cls, territories: Sequence[str] | None = None, *, dpi: int) -> MapPrinter | None:
        """Fork the printer, preparing the frame of maps over ``territories``; None where it cannot run.

        With ``territories`` None (the towns not read yet), the printer imports matplotlib and builds
        the basemap, then waits for :meth:`frame`.
        """
        ctx = _pool_context()
        if ctx is None or _map_workers(2) < 2:
            return None
        present = None if territories is None else _insets(territories)
        parent, child = ctx.Pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            process = ctx.Process(
                target=_printer_main, args=(child, present, dpi, parent), name="acv-geo maps", daemon=False
            )
            start_frozen(process)
        except OSError as exc:
            log.warning("could not start the map process (%s); maps will be drawn later", exc)
            return None
        child.close()
        return cls(process, parent, dpi)

    def frame(self, territories: Sequence[str]) -> None:
        """The territories of the towns (when :meth:`start` was not given them): the printer builds the frame."""
        if self._process is None:
            return
        try:
            self._conn.send(("frame", _insets(territories)))
        except (OSError, pickle.PicklingError) as exc:
            log.warning(
                "the map process did not take the frame (%s: %s); drawing the maps here", type(exc).__name__, exc
            )
            self.close()

    def submit(self, jobs: Sequence[MapJob], *, more: bool = False) -> None:
        """Send maps to draw; ``more``: others follow (another call), else :meth:`result` gets the paths of all.

        The printer draws the maps of a batch with ``more`` itself, one after the other, until the
        last batch comes; it then draws what is left with its worker processes.
        """
        if self._done_submitting:
            raise RuntimeError("MapPrinter.submit() after the last batch")
        self._jobs = [*(self._jobs or []), *jobs]
        self._done_submitting = not more
        if self._process is None:
            return
        try:
            self._conn.send(("maps", list(jobs), more))
        except (OSError, pickle.PicklingError) as exc:
            log.warning("the map process did not take the maps (%s: %s); drawing them here", type(exc).__name__, exc)
            self.close()

    def result(self) -> list[Path]:
        """The paths of the maps submitted, in order, once drawn (here if the process failed)."""
        if self._jobs is None or not self._done_submitting:
            raise RuntimeError("MapPrinter.result() before the last submit()")
        answer = None
        if self._process is not None:
            try:
                answer = self._conn.recv()
            except (EOFError, OSError) as exc:
                log.warning("the map process ended early (%s); drawing the maps here", type(exc).__name__)
        self.close()
        if answer is None:
            return _run_map_jobs(self._jobs, self._dpi)
        kind, value = answer
        if kind == "error":
            raise value
        return [Path(p) for p in value]

    def close(self) -> None:
        """End the process (at once if it still works: nothing it writes is used then)."""
        if self._process is None:
            return
        with contextlib.suppress(OSError):
            self._conn.close()
        end_process(self._process, timeout=0.5 if self._jobs is not None else 0.0)
        self._process = None


#: How much lower the map process's CPU priority is than the run's (``os.nice``): the frame it builds early has
#: time to spare, the steps the maps wait for have not.
_PRINTER_NICENESS = 5


def _insets(territories: Sequence[str]) -> tuple[str, ...]:
    """The overseas territories among ``territories``, in the order of the map's insets."""
    from acv_geo.outputs.maps import OVERSEAS

    wanted = set(territories)
    return tuple(t for t in OVERSEAS if t in wanted)


def _printer_main(conn: Any, present: tuple[str, ...] | None, dpi: int, caller_end: Any = None) -> None:
    """The printer process: prepare the frame, wait for the jobs, draw them, answer ``("ok", paths)`` or the error.

    With ``present`` None, the basemap is built first and the territories come as ``("frame", present)``.
    ``caller_end``, the caller's end of the pipe inherited by the fork, is closed first: otherwise a
    caller that dies without closing its end (killed) would leave this process waiting forever.
    """
    from acv_geo.outputs.maps import prepare_frame, warm_up

    if caller_end is not None:
        caller_end.close()
    quiet_child()
    with contextlib.suppress(OSError):
        # behind the run's own steps while both work: its maps wait for them anyway
        os.nice(_PRINTER_NICENESS)
    message = None
    try:
        if present is None:
            with contextlib.suppress(Exception):  # whatever fails here fails again, and is raised, with the maps
                warm_up()
            message = conn.recv()
            if isinstance(message, tuple) and message[:1] == ("frame",):
                present = message[1]
                message = None
        with contextlib.suppress(Exception):  # a frame not prepared now is prepared with the first map
            if present is not None:
                prepare_frame(present, dpi=dpi)
        _kind, jobs, more = conn.recv() if message is None else message
    except (EOFError, OSError):
        return  # the run ended (or failed) before its maps
    try:
        answer: tuple[str, Any] = ("ok", [str(p) for p in _draw_batches(conn, list(jobs), more, dpi)])
    except _CallerGone:
        return  # the run ended (or failed) before its last maps
    except Exception as exc:  # noqa: BLE001 -- handed to the caller, who raises it
        answer = ("error", exc)
    try:
        conn.send(answer)
    except (pickle.PicklingError, TypeError, AttributeError):
        conn.send(("error", RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")))
    except BrokenPipeError:
        pass  # the caller is gone


def _draw_batches(conn: Any, jobs: list[MapJob], more: bool, dpi: int) -> list[Path]:
    """The printer's maps: those of early batches drawn here one by one until the last batch comes, then the rest.

    While batches are still to come (``more``), the run's other processes hold a core or more: the
    maps are drawn in this process alone, the connection checked between two maps. Once the last
    batch is in, what is left is drawn with the worker processes (:func:`_run_map_jobs`).
    """
    paths: list[Path] = []
    pending = list(jobs)
    if more:
        with one_blas_thread():
            while more:
                if pending and not conn.poll():
                    paths.append(_render_map(pending.pop(0), dpi))
                    continue
                try:
                    _kind, batch, more = conn.recv()
                except (EOFError, OSError):
                    raise _CallerGone from None
                pending += batch
    return paths + _run_map_jobs(pending, dpi)


class _CallerGone(Exception):
    """The run ended (or failed) before sending the printer its last maps."""


def _indicator_map_args(col: str, full: Any, meta: pd.DataFrame, lang: str, towns: Any) -> tuple[tuple, dict]:
    """Arguments of :func:`acv_geo.outputs.maps.plot_map` for one indicator map (the frame as :class:`_TownsColumns`).

    Categorical for classes, else a choropleth; titles and legends from the labels.
    """
    values = pd.array(full[col], dtype="Float64")
    k = _meta_row(meta, col)
    unit = str(meta["unit"].iloc[k]) if k is not None else ""
    title = _map_title(col, meta, full, lang)
    label = str(meta[f"label_{lang}"].iloc[k]) if k is not None else col
    short = label.split(" : ")[-1].split(": ")[-1]
    if col in CLASS_MAPS:
        classes = pd.Series(values).astype("Int64").astype("string").astype(object).where(pd.notna(values), None)
        return (_TownsColumns(towns, ((col, classes.to_numpy()),)), col), {
            "kind": "categorical",
            "colors": CLASS_MAPS[col],
            "title": title,
            "legend": short,
            "source_note": _note(meta, col),
            "lang": lang,
        }
    legend = f"{short} ({unit})" if unit and unit not in short else short
    return (_TownsColumns(towns, ((col, values),)), col), {
        "kind": "choropleth",
        "colors": "viridis" if not col.endswith("_score") else "magma_r",
        "title": title,
        "legend": legend,
        "source_note": _note(meta, col),
        "lang": lang,
    }


def town_maps(pages: Any, communes: Any, epci: Any, cfg: Any, lang: str) -> dict[str, str]:
    """The SVG map of each town: its commune, its EPCI and the features of the layers covering it.

    Parameters
    ----------
    pages : geopandas.GeoDataFrame
        The towns of the report's pages, indexed by ``insee_com``, with ``territory``, ``siren_epci``
        and ``{layer}_covered`` columns.
    communes : geopandas.GeoDataFrame
        Commune polygons indexed by ``insee_com`` (a town without one gets no map).
    epci : geopandas.GeoDataFrame
        EPCI polygons indexed by SIREN.
    cfg : acv_geo.pipeline.config.DiagnoseConfig
        The configuration (its layers are drawn where they cover the town).
    lang : {"fr", "en"}
        Language of the layer labels.

    Returns
    -------
    dict
        ``{insee_com: svg text}`` (:func:`acv_geo.outputs.maps.town_map_svg`).

    Examples
    --------
    >>> import acv_geo
    >>> towns = acv_geo.read_acv().loc[["34301"]]
    >>> cfg = acv_geo.load_config({"layers": []})
    >>> svg = town_maps(towns, acv_geo.read_communes(None), acv_geo.read_epci(), cfg, "fr")
    >>> list(svg), svg["34301"].startswith("<svg")
    (['34301'], True)
    """
    import geopandas as gpd

    from acv_geo.core.territories import local_crs
    from acv_geo.outputs.maps import town_map_svg

    sources = [(spec, gpd.read_file(spec.path, layer=spec.layer)) for spec in cfg.layers]
    out: dict[str, str] = {}
    terr = pages["territory"].astype(object).to_numpy()
    # the columns read per town, as plain arrays (a row of the cities would deep-copy their metadata)
    covered = {spec.name: _column_or_none(pages, f"{spec.name}_covered") for spec, _ in sources}
    sirens = _column_or_none(pages, "siren_epci")
    row_of = pd.Series(np.arange(len(pages)), index=pages.index)
    for t in pd.unique(terr):
        crs = local_crs(t)
        com, rows = _town_polygons(communes, pages.index[terr == t], row_of, crs)
        ep = _town_epcis(epci, {x for x in (sirens[r] for r in rows) if isinstance(x, str)}, crs)
        feats = _near_features(sources, com, crs)
        for (code, geom), r in zip(com.items(), rows, strict=True):
            shown = [
                (_layer_label(spec, lang), _features_near(g, geom))
                for spec, g in feats
                if _is_covered(covered[spec.name][r])
            ]
            siren = sirens[r]
            e = ep.get(siren) if ep is not None and isinstance(siren, str) else None
            out[str(code)] = town_map_svg(geom, epci=e, layers=shown, lang=lang)
    return out


def _town_polygons(communes: Any, codes: Any, row_of: pd.Series, crs: Any) -> tuple[Any, np.ndarray]:
    """The polygons of the towns ``codes`` that have one, in ``crs``, and their rows in the pages."""
    import geopandas as gpd

    com = communes.geometry.reindex(codes)
    known = com.notna().to_numpy()
    com = gpd.GeoSeries(com[known], crs=communes.crs).to_crs(crs)
    rows = row_of.reindex(com.index).to_numpy() if len(com) else np.array([], dtype=int)
    return com, rows


def _town_epcis(epci: Any, wanted: set[str], crs: Any) -> Any:
    """The EPCI polygons of these towns only, in ``crs`` (None without EPCI layer).

    Each point is projected on its own, so these are the coordinates of projecting the whole layer.
    """
    if not len(epci):
        return None
    return epci.geometry[epci.index.isin(wanted)].to_crs(crs)


def _near_features(sources: list[tuple[Any, Any]], com: Any, crs: Any) -> list[tuple[Any, Any]]:
    """Each layer's features near the towns ``com`` (a box around them), in ``crs``; none for a far layer."""
    import geopandas as gpd
    import shapely

    near = gpd.GeoSeries([shapely.box(*com.total_bounds)], crs=crs) if len(com) else None
    feats = []
    for spec, layer in sources:
        if near is None or layer.crs is None or _surely_apart(near, layer):
            feats.append((spec, gpd.GeoSeries([], crs=crs)))
            continue
        sel = layer.geometry.iloc[layer.sindex.query(near.to_crs(layer.crs).iloc[0])]
        feats.append((spec, sel.to_crs(crs)))
    return feats


def _is_covered(cov: Any) -> bool:
    """True for a ``{layer}_covered`` value that is known and true."""
    return cov is not None and not pd.isna(cov) and bool(cov)


def _layer_label(spec: Any, lang: str) -> str:
    """A layer's label in ``lang`` (the French one when it has no English one)."""
    return spec.label if lang == "fr" else (spec.label_en or spec.label)


def _features_near(g: Any, geom: Any) -> list:
    """The features of ``g`` within 5 km of the envelope of ``geom``."""
    return list(g.iloc[g.sindex.query(geom.envelope.buffer(5000))]) if len(g) else []


def _column_or_none(frame: Any, column: str) -> np.ndarray:
    """A column's values as an object array, or None for every row when the column is absent."""
    if column not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return frame[column].to_numpy(dtype=object)


#: Margin (in the layer's CRS units, metres for projected layers) of :func:`_surely_apart`.
_APART_MARGIN = 100_000.0


def _surely_apart(box: Any, layer: Any) -> bool:
    """True when no feature of ``layer`` can meet ``box`` (a one-polygon GeoSeries): the layer lies far away.

    The exact test projects the box to the layer's CRS, and building that transformation between the
    CRSs of two territories (e.g. UTM 20N of the Antilles and Lambert-93) costs 0.3-0.4 s. Here the
    box's corners go through WGS 84 (two cheap transformations, equal to the direct one within metres);
    when their bounds, widened by 100 km, do not meet the layer's bounds, the exact query would find
    nothing. Otherwise (or when in doubt) False: the caller runs the exact query.
    """
    from pyproj import CRS

    try:
        src, dst = CRS.from_user_input(box.crs), CRS.from_user_input(layer.crs)
        if src == dst or not dst.is_projected:
            return False
        x0, y0, x1, y1 = box.total_bounds
        lon, lat = _transformer(src, CRS.from_epsg(4326)).transform([x0, x1, x1, x0], [y0, y0, y1, y1])
        xs, ys = _transformer(CRS.from_epsg(4326), dst).transform(lon, lat)
        lx0, ly0, lx1, ly1 = layer.total_bounds
    except Exception:  # noqa: BLE001 - any doubt: run the exact query
        return False
    vals = np.array([*xs, *ys, lx0, ly0, lx1, ly1], dtype=float)
    if not np.isfinite(vals).all():
        return False
    m = _APART_MARGIN
    return bool(min(xs) - m > lx1 or max(xs) + m < lx0 or min(ys) - m > ly1 or max(ys) + m < ly0)


@functools.lru_cache(maxsize=32)
def _transformer(src: Any, dst: Any) -> Any:
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


def _save(fig: Any, path: Path, dpi: int) -> Path:
    """Write ``fig`` as a PNG with a 256-colour palette: the bytes the report embeds as they are.

    The figure is rendered once, exactly as ``savefig`` renders a PNG, and its pixels are quantised
    with Pillow (fast octree, what the report used to do to every map): 3-4× smaller than RGBA and
    no second encoding.
    """
    from acv_geo.outputs.maps import _figure_rgba, _write_palette_png

    _write_palette_png(_figure_rgba(fig, dpi), path)
    fig.clear()
    return path


def _meta_row(meta: pd.DataFrame, column: str) -> int | None:
    """Position of the first metadata row of ``column``, None without one (the table is not copied)."""
    hits = np.flatnonzero((meta["column"] == column).to_numpy(dtype=bool, na_value=False))
    return int(hits[0]) if len(hits) else None


def _note(meta: pd.DataFrame, column: str) -> str:
    k = _meta_row(meta, column)
    if k is None:
        return ""
    src, date = str(meta["source"].iloc[k]), str(meta["date"].iloc[k])
    return f"{src} ({date})" if date and date != "nan" else src


def _map_title(col: str, meta: pd.DataFrame, full: Any, lang: str) -> str:
    """Title of an indicator map: its label; for scores, the weights actually used."""
    k = _meta_row(meta, col)
    label = str(meta[f"label_{lang}"].iloc[k]) if k is not None else col
    if col.endswith("_score"):
        info = full.attrs.get("acv_geo_profile") or {}
        none = " (aucun indicateur)" if lang == "fr" else " (no indicator)"
        names = {"risk": "risque", "opendata": "open data"} if lang == "fr" else {"opendata": "open data"}
        weights = [
            f"{names.get(k, k)} {v:g}{none if not info.get('columns', {}).get(k) else ''}"
            for k, v in (info.get("weights") or {}).items()
            if v > 0
        ]
        label = _MAP_TEXT[lang]["score"].format(label, ", ".join(weights))
    return label if len(label) <= 110 else label[:107] + "…"


def _zone_tag(spec: str) -> str:
    """Column-name tag of a zone spec: '' for commune, 'epci', 'b2000' for buffer:2000."""
    if spec == "commune":
        return ""
    if spec == "epci":
        return "epci"
    radius = float(spec.split(":", 1)[1])
    return f"b{radius:g}".replace(".", "_")


def zone_name(name: str, spec: str) -> str:
    """Column-name stem of a source in a zone: its name, tagged unless the zone is the commune.

    Examples
    --------
    >>> zone_name("pac", "commune"), zone_name("pac", "epci"), zone_name("flood_marks", "buffer:2000")
    ('pac', 'pac_epci', 'flood_marks_b2000')
    """
    tag = _zone_tag(spec)
    return f"{name}_{tag}" if tag else name
