# mypy: ignore-errors
# (being reworked; remove this line once mypy passes on the module)
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
that fails or is interrupted leaves the previous outputs untouched and no half-written file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import functools
import gc
import json
import logging
import math
import os
import pickle
import re
import shutil
import sys
import tempfile
import time
import uuid
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
from acv_geo.indicators.coverage import file_coverage, zone_departments
from acv_geo.pipeline.config import DiagnoseConfig, LayerSpec, RasterSpec, load_config

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
_MARKER = ".acv-geo-diagnose.json"
#: Short name and label vocabulary of each local cluster method (for titles and metadata).
METHOD_NAMES = {"lisa": "LISA", "gi_star": "Getis-Ord Gi*", "join_count": "local join counts"}
METHOD_LABELS = {"lisa": "HH, LL, HL, LH or not significant", "gi_star": "hot, cold or not significant",
                 "join_count": "BB cluster or not significant"}

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
        Non-fatal problems met (e.g. a layer that covers no city).
    """

    out_dir: Path
    files: tuple[Path, ...]
    cities: Any
    metadata: pd.DataFrame
    clusters: dict
    ranking: pd.DataFrame
    config: DiagnoseConfig
    timings: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The per-city indicator table (no geometry), indexed by ``insee_com``.

        Returns
        -------
        pandas.DataFrame
            Same content as ``indicators.csv``.
        """
        return _plain(self.cities)

    def summary(self) -> str:
        """Short text summary: coverage figures, clusters, top of the ranking, files.

        Returns
        -------
        str
            Several lines of text.
        """
        c = self.cities
        n = len(c)
        lines = [f"acv-geo diagnose: {n} cities → {self.out_dir}"]
        if "opendata_level" in c.columns:
            lv = c["opendata_level"].astype(object).fillna("unknown").value_counts()
            lines.append(
                "  open data: "
                + ", ".join(f"{lv.get(k, 0)} {k}" for k in ("commune", "epci", "none", "unknown") if lv.get(k, 0))
            )
        for var, st in self.clusters.get("global", {}).items():
            parts = []
            jc = st.get("join_counts")
            if isinstance(jc, dict) and jc.get("p_sim_bb") is not None:
                parts.append(f"join counts BB={jc.get('bb'):g} (expected {jc.get('expected_bb', float('nan')):.1f}, "
                             f"p_sim={jc['p_sim_bb']:.4g})")
            mi = st.get("morans_i")
            if isinstance(mi, dict) and mi.get("p_sim") is not None:
                parts.append(f"Moran's I={mi.get('I', float('nan')):.4f} (p_sim={mi['p_sim']:.4g})")
            if parts:
                lines.append(f"  clusters of {var}: " + "; ".join(parts))
        for var, counts in self.clusters.get("labels", {}).items():
            method = METHOD_NAMES.get(self.config.clusters.method, self.config.clusters.method)
            lines.append(f"  {method} labels of {var}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        if len(self.ranking):
            top = self.ranking.head(5)
            names = c["commune"] if "commune" in c.columns else pd.Series(c.index, index=c.index)
            lines.append(
                "  top of the ranking: "
                + ", ".join(f"{int(r)}. {names.get(i, i)}" for i, r in top["rank"].dropna().items())
            )
        lines.append(f"  {len(self.files)} files written in {sum(self.timings.values()):.1f} s")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# progress


class _Progress:
    """A tiny stderr progress bar (no dependency), or calls of ``callback(fraction, label)``."""

    def __init__(self, total: int, enabled: bool, stream: Any = None, callback: Any = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled and callback is None
        self.callback = callback
        self.stream = stream or sys.stderr
        self.width = 30
        self.timings: dict[str, float] = {}
        self._t = time.perf_counter()
        self._label = ""

    def step(self, label: str) -> None:
        now = time.perf_counter()
        if self._label:
            self.timings[self._label] = self.timings.get(self._label, 0.0) + now - self._t
            self.done += 1
        self._t, self._label = now, label
        self._draw(label)

    def _draw(self, label: str) -> None:
        frac = min(self.done / self.total, 1.0)
        if self.callback is not None:
            self.callback(frac, label)
        if not self.enabled:
            return
        fill = int(round(frac * self.width))
        text = f"\r[{'#' * fill}{'.' * (self.width - fill)}] {self.done}/{self.total} {label[:60]:<60}"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        self.step("")
        self.done = self.total
        if self.enabled:
            self._draw("done")
            self.stream.write("\n")
            self.stream.flush()


# --------------------------------------------------------------------------------------------
# helpers


def _plain(gdf: Any) -> pd.DataFrame:
    """Drop geometry; add lon/lat of the city points."""
    df = pd.DataFrame(gdf.drop(columns=[gdf.geometry.name])) if hasattr(gdf, "geometry") else pd.DataFrame(gdf)
    if hasattr(gdf, "geometry"):
        pts = gdf.geometry.to_crs(4326)
        df.insert(0, "lat", pts.y.round(6).to_numpy())
        df.insert(0, "lon", pts.x.round(6).to_numpy())
    df.attrs = dict(gdf.attrs)
    return df


def _zone_tag(spec: str) -> str:
    """Column-name tag of a zone spec: '' for commune, 'epci', 'b2000' for buffer:2000."""
    if spec == "commune":
        return ""
    if spec == "epci":
        return "epci"
    radius = float(spec.split(":", 1)[1])
    return f"b{radius:g}".replace(".", "_")


def _zone_name(name: str, spec: str) -> str:
    tag = _zone_tag(spec)
    return f"{name}_{tag}" if tag else name


def _check_out_dir(out_dir: Path, *, overwrite: bool = False, n_cities: int = 244) -> None:
    """Refuse, before computing, an output folder that cannot or must not receive the diagnostic."""
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(
            f"{out_dir}: is a file, not a folder; give --out a folder name (it is created if needed)"
        )
    if out_dir.is_dir() and any(out_dir.iterdir()):
        marker = out_dir / _MARKER
        if not marker.exists():
            raise InputError(
                f"{out_dir}: the folder exists, is not empty and was not written by acv-geo diagnose; its content "
                "would be replaced: give a new or empty folder"
            )
        foreign = _foreign_files(out_dir, marker)
        if foreign and not overwrite:
            shown = ", ".join(foreign[:10]) + (f" … ({len(foreign)} in all)" if len(foreign) > 10 else "")
            raise InputError(
                f"{out_dir}: holds files acv-geo diagnose did not write ({shown}); they would be deleted with the "
                "previous outputs: move them out, or pass overwrite=True (CLI --overwrite) to delete them"
            )
    _check_writable(out_dir, n_cities)


def _foreign_files(out_dir: Path, marker: Path) -> list[str]:
    """Files of a previous output folder that its marker does not list (the user's own)."""
    try:
        written = set(json.loads(marker.read_text(encoding="utf-8")).get("files", []))
    except (OSError, ValueError):
        written = set()
    written.add(_MARKER)
    found = [p.relative_to(out_dir).as_posix() for p in sorted(out_dir.rglob("*")) if p.is_file()]
    return [f for f in found if f not in written and not f.endswith(".metadata.csv")]


def _check_writable(out_dir: Path, n_cities: int) -> None:
    """The folder that will hold the output exists or can be made, is writable, and has room."""
    parent = out_dir.resolve().parent
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{existing}: no permission to write there, so {out_dir} cannot be written; choose a "
                         "folder you may write to (e.g. in your home folder)")
    need = 60e6 + 25e3 * n_cities  # maps, report and tables of the default diagnostic, measured with margin
    free = shutil.disk_usage(existing).free
    if free < need:
        raise InputError(f"{existing}: only {free / 1e6:.0f} MB free; the diagnostic of {n_cities} cities needs about "
                         f"{need / 1e6:.0f} MB: free some space or choose a folder on another disk")


def _recover(out_dir: Path) -> None:
    """Restore an output folder hidden by a run killed between its two renames; drop stale temporary folders."""
    parent = out_dir.resolve().parent
    olds = sorted(parent.glob(f".{out_dir.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not out_dir.exists():
        os.replace(olds[-1], out_dir)
        log.warning("%s: restored the previous outputs, hidden by a run that was interrupted while replacing them",
                    out_dir)
        olds = olds[:-1]
    if out_dir.exists():
        for p in olds:
            shutil.rmtree(p, ignore_errors=True)
    for p in parent.glob(f".{out_dir.name}.tmp-*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``tmp`` (both in the same folder)."""
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out_dir, old)
        try:
            os.replace(tmp, out_dir)
        except BaseException:
            os.replace(old, out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out_dir)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if not math.isfinite(float(o)) else float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (Path, _dt.date)):
        return str(o)
    if o is pd.NA or o is pd.NaT:
        return None
    if isinstance(o, (tuple, set, frozenset)):
        return list(o)
    return str(o)


def _clean_json(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _clean_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean_json(v) for v in o]
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


# --------------------------------------------------------------------------------------------
# steps


def _read_cities(cities: Any, cfg: DiagnoseConfig) -> Any:
    import geopandas as gpd

    from acv_geo.read.cities import read_acv

    if cities is None:
        src = cfg.cities_source
        if cfg.observatory is None:
            return read_acv(src, observatory=None)
        return read_acv(src, observatory=cfg.observatory)
    if isinstance(cities, (str, os.PathLike)):
        if cfg.observatory is None:
            return read_acv(cities, observatory=None)
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


def _zones_for(specs: set[str], cities: Any, communes: Any, epci: Any) -> dict[str, Any]:
    from acv_geo.zones import make_zones, parse_zone_spec

    out = {}
    for spec in sorted(specs):
        kind, radius = parse_zone_spec(spec)
        kw: dict[str, Any] = {"kind": kind}
        if radius is not None:
            kw["radius"] = radius
        if kind == "commune":
            kw["communes"] = communes
        if kind == "epci":
            kw["epci"] = epci
        out[spec] = make_zones(cities, **kw)
    return out


def _direct(func: Any, zones: Any, *args: Any, **kwargs: Any) -> pd.DataFrame:
    return func(zones, *args, **kwargs)


def _overlay(zones: Any, spec: LayerSpec, zone_spec: str, run: Any = _direct) -> pd.DataFrame:
    from acv_geo.indicators.overlay import overlay_indicators

    kw: dict[str, Any] = {"name": _zone_name(spec.name, zone_spec), "role": spec.role}
    if not spec.distances:
        kw["distances"] = False
    for key, value in (("preset", spec.preset), ("category", spec.category), ("layer_name", spec.layer),
                       ("source", spec.provenance or None), ("date", spec.date or None),
                       ("coverage", spec.coverage)):
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
    cov = spec.coverage or file_coverage(spec.path, spec.layer)
    inside = cov.covers(zone_departments(zones))
    col = f"{_zone_name(spec.name, zone_spec)}_covered"
    out = pd.DataFrame({col: pd.array(inside, dtype="boolean")}, index=zones.index)
    attach_metadata(out, [{
        "column": col, "unit": "bool", "source": spec.provenance or spec.path.name, "date": spec.date,
        "description": f"True when the city lies in the coverage of {spec.label} ({cov.describe()}): the layer "
                       "surveyed this place, so 0 means 'nothing found'; outside, its values are missing (NA)",
        "role": spec.role,
    }])
    return out


def _zonal(zones: Any, spec: RasterSpec, zone_spec: str, run: Any = _direct) -> pd.DataFrame:
    from acv_geo.indicators.zonal import zonal_indicators

    kw: dict[str, Any] = {
        "name": _zone_name(spec.name, zone_spec),
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


def _tables(cities: Any, cfg: DiagnoseConfig) -> list[pd.DataFrame]:
    from acv_geo.indicators.tables import (
        catnat_indicators,
        join_commune_table,
        known_risks_indicators,
        radon_indicators,
        seismic_indicators,
    )

    out = []
    for t in cfg.tables:
        if t.kind == "radon":
            out.append(radon_indicators(cities, t.path))
        elif t.kind == "seismic":
            out.append(seismic_indicators(cities))
        elif t.kind == "known_risks":
            out.append(known_risks_indicators(cities))
        elif t.kind == "catnat":
            from acv_geo.indicators.gaspar import catnat_gaspar_indicators, is_gaspar_catnat

            if t.path is not None and is_gaspar_catnat(t.path):  # `acv-geo fetch catnat`: GASPAR's table
                out.append(catnat_gaspar_indicators(cities, t.path, start=t.since))
            else:
                kw = {} if t.since is None else {"since": t.since}
                out.append(catnat_indicators(cities, t.path, **kw))
        elif t.kind == "gaspar":
            from acv_geo.indicators.gaspar import gaspar_indicators

            out.append(gaspar_indicators(cities, t.path, tables=t.columns or ()))
        else:
            kw = {k: v for k, v in (("insee_column", t.insee_column), ("prefix", t.prefix)) if v is not None}
            kw["role"] = t.role
            if t.columns is not None:
                kw["columns"] = list(t.columns)
            out.append(join_commune_table(cities, t.path, **kw))
    return out


#: Web services :func:`diagnose` can query (:mod:`acv_geo.indicators.services`).
SERVICES = ("nature", "georisques")
# Géorisques columns scored only when the embedded national table of the same thing is off (never twice)
_GEORISQUES_SCORED = {"georisques_rga_class": None, "georisques_seismic_zone": "seismic",
                      "georisques_radon_class": "radon", "georisques_catnat_count": "catnat",
                      "georisques_risks_count": "known_risks"}


def _service_tables(city: Any, zones: Any, services: tuple[str, ...], cfg: DiagnoseConfig, *, cache: Any,
                    offline: bool) -> list[pd.DataFrame]:
    """Indicators of the web services (answers cached on disk; offline: the cache only, NA + reason)."""
    from acv_geo.indicators.services import georisques_indicators, nature_indicators

    out = []
    if "nature" in services:
        out.append(nature_indicators(city, zones, cache=cache, offline=offline))
    if "georisques" in services:
        gr = georisques_indicators(city, cache=cache, offline=offline)
        kinds = {t.kind for t in cfg.tables}
        assign_role(gr, "risk", scored=[c for c, k in _GEORISQUES_SCORED.items()
                                        if c in gr.columns and (k is None or k not in kinds)])
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


def _clusters(cities: Any, indicators: pd.DataFrame, cfg: DiagnoseConfig) -> tuple[pd.DataFrame, dict]:
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
        res = cl.local_clusters(
            data, var, method=cs.method, weights=cs.weights, permutations=cs.permutations, seed=cs.seed,
            alpha=cs.alpha,
        )
        fr = res.to_frame().reindex(cities.index)
        fr = fr.rename(columns={c: f"cluster_{var}_{c}" for c in fr.columns})
        meta = []
        for c in fr.columns:
            what = c.removeprefix(f"cluster_{var}_")
            meta.append({
                "column": c,
                "unit": {"p_sim": "p-value", "p_fdr": "p-value"}.get(what, ""),
                "source": f"acv-geo local clusters ({cs.method}, {cs.weights}, {cs.permutations} permutations, "
                          f"seed {cs.seed})",
                "date": "",
                "description": f"Local cluster analysis of {var}: {what}"
                               + (f" ({METHOD_LABELS[cs.method]} at alpha {cs.alpha:g}"
                                  " after FDR)" if what == "label" else ""),
            })
        attach_metadata(fr, meta)
        frames.append(fr)
        label_col = f"cluster_{var}_label"
        if label_col in fr.columns:
            doc["labels"][var] = {str(k): int(v) for k, v in fr[label_col].astype(object).fillna("NA")
                                  .value_counts().items()}
            doc["cities"][var] = _city_records(fr, f"cluster_{var}_")
        glob: dict[str, Any] = {}
        if hasattr(res, "to_dict"):
            try:
                glob["local"] = {k: v for k, v in res.to_dict().items() if not isinstance(v, (list, dict))}
            except (TypeError, ValueError):
                pass
        is_bool = str(data[var].dtype) in ("bool", "boolean") or set(pd.unique(data[var].dropna())) <= {0, 1}
        built = cs.weights if res.weights_result is None else res.weights_result  # one graph for local and global
        if cs.join_counts and is_bool:
            glob["join_counts"] = cl.join_counts(
                data, var, weights=built, permutations=cs.permutations, seed=cs.seed
            ).to_dict()
        if cs.morans_i:
            glob["morans_i"] = cl.morans_i(data, var, weights=built, permutations=cs.permutations,
                                           seed=cs.seed).to_dict()
        doc["global"][var] = _clean_json(json.loads(json.dumps(glob, default=_json_default)))
    if frames:
        table = pd.concat(frames, axis=1)
        table.attrs["acv_geo_metadata"] = [m for f in frames for m in f.attrs.get("acv_geo_metadata", [])]
    else:
        table = pd.DataFrame(index=cities.index)
    return table, doc


def _city_records(frame: pd.DataFrame, prefix: str) -> dict[str, dict]:
    """``{code: {column without prefix: value}}`` of every row, NA as None (for ``clusters.json``)."""
    obj = frame.astype(object)
    obj.attrs = {}
    keys = [str(c).removeprefix(prefix) for c in obj.columns]
    values = obj.to_numpy()
    missing = obj.isna().to_numpy()
    return {
        str(i): _clean_json({k: (None if m else v) for k, v, m in zip(keys, row, na, strict=True)})
        for i, row, na in zip(obj.index, values, missing, strict=True)
    }


#: The EPCI layer last built, with weak references to the cities and EPCI frames it was built from:
#: writing the tables and drawing the maps of one run share it (built once).
_EPCI_LAYER_MEMO: list = []


def _epci_layer(cities: Any, epci: Any) -> Any:
    """The EPCI polygons of the cities, with their ACV towns and open-data status (a copy)."""
    import weakref

    shape = (cities.shape, tuple(cities.columns), epci.shape)
    if _EPCI_LAYER_MEMO:
        ref_c, ref_e, memo_shape, out = _EPCI_LAYER_MEMO[0]
        if ref_c() is cities and ref_e() is epci and memo_shape == shape:
            return out.copy()
    out = _build_epci_layer(cities, epci)
    try:
        _EPCI_LAYER_MEMO[:] = [(weakref.ref(cities), weakref.ref(epci), shape, out)]
    except TypeError:  # an object without weak references: no memo
        _EPCI_LAYER_MEMO.clear()
    return out.copy()


def _build_epci_layer(cities: Any, epci: Any) -> Any:
    import geopandas as gpd

    names = [x for x in ("siren_epci", "commune", "opendata_epci", "url_portail_epci", "url_datagouv_epci",
                         "techno_epci", "themes_epci") if x in cities.columns]
    # a plain frame of the columns used: every access to the cities would deep-copy their metadata (attrs)
    c = pd.DataFrame(cities[names])
    c.attrs = {}
    c = c[c["siren_epci"].notna()] if "siren_epci" in c.columns else c.iloc[:0]
    key = c["siren_epci"].astype(str) if "siren_epci" in c.columns else pd.Series([], index=c.index, dtype=str)
    sirens = list(dict.fromkeys(key))
    sub = epci.loc[[s for s in sirens if s in epci.index]].copy()
    g = c.groupby(key)
    members: dict[str, list] = {}
    for k, code in zip(key.to_numpy(), c.index, strict=True):
        members.setdefault(k, []).append(code)
    order = sorted(members)  # groupby order
    sub["acv_communes"] = pd.Series([", ".join(members[k]) for k in order], index=order).reindex(sub.index)
    if "commune" in c.columns:
        names_of: dict[str, list] = {}
        for k, name in zip(key.to_numpy(), c["commune"].to_numpy(), strict=True):
            names_of.setdefault(k, []).append(str(name))
        sub["acv_names"] = pd.Series([", ".join(names_of[k]) for k in order], index=order).reindex(sub.index)
    else:
        sub["acv_names"] = None
    sub["n_acv"] = g.size().reindex(sub.index).astype("Int64")
    if "opendata_epci" in c.columns:
        sub["opendata_epci"] = g["opendata_epci"].first().reindex(sub.index).astype("boolean")
    for col in ("url_portail_epci", "url_datagouv_epci", "techno_epci", "themes_epci"):
        if col in c.columns:
            sub[col] = g[col].first().reindex(sub.index).astype(object)
    keep = [x for x in ("nom_epci", "type_epci", "territory") if x in sub.columns]
    cols = keep + [x for x in sub.columns if x not in keep and x != sub.geometry.name]
    out = gpd.GeoDataFrame(sub[cols], geometry=sub.geometry, crs=epci.crs)
    out.index.name = "siren_epci"
    return out


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
        rows.append({"column": col, "unit": unit, "description": desc,
                     "source": src[0] if observed else "city list (ANCT ACV list, COG 2025)",
                     "date": src[1] if observed else "",
                     "role": "opendata" if col in _OPENDATA_COLUMNS else "context",
                     "scored": "yes" if col == "opendata_level" else ""})
    prev = ("OpenDataFrance observatory ODATER v2 · ODbL", "2020-10-21")
    for col in cities.columns:
        m = re.fullmatch(r"opendata(_com|_epci)?_(\d{4}|prev)", col)
        if m:
            who = {"_com": "the commune itself", "_epci": "the commune's EPCI", None: "the commune or its EPCI"}
            rows.append({"column": col, "unit": "bool", "source": prev[0], "date": prev[1], "role": "opendata",
                         "description": f"True when {who[m.group(1)]} published open data in the earlier observatory"})
    if "opendata_change" in cities.columns:
        rows.append({"column": "opendata_change", "unit": "class", "source": f"{src[0]}; {prev[0]}",
                     "date": f"{prev[1]} → {src[1]}", "role": "opendata",
                     "description": "Change between the two observatories: kept, new, stopped or never"})
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


def _writable(gdf: Any) -> Any:
    """Columns the GPKG/Parquet drivers accept (object columns of mixed types as text)."""
    out = gdf.copy()
    for c in out.columns:
        if c == out.geometry.name:
            continue
        s = out[c]
        if s.dtype == object:
            vals = s.dropna()
            if len(vals) and not all(isinstance(v, str) for v in vals):
                out[c] = s.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    return out


# --------------------------------------------------------------------------------------------
# main entry


def diagnose(
    cities: Any = None,
    *,
    config: Any = None,
    out_dir: str | os.PathLike,
    progress: bool | Callable[[float, str], None] = True,
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
        Draw a progress bar on stderr; or a callable ``progress(fraction, message)`` called at each
        step with the fraction done (0 to 1) and what starts (e.g. to feed a GUI).
    quiet : bool, default False
        Print nothing (no progress bar, no summary).
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
        Files written, the per-city table, metadata, cluster statistics, ranking, timings.

    Raises
    ------
    acv_geo.InputError
        Bad config (file, key path and fix named), bad cities, or ``out_dir`` not empty and not a
        previous output.
    NotADirectoryError
        If ``out_dir`` is a file.
    """
    from acv_geo.pipeline.engine import ENGINES, dask_client, map_zones

    if scope not in ("acv", "all-communes"):
        raise ValueError(f"unknown scope {scope!r}; expected 'acv' or 'all-communes'")
    if lang not in ("fr", "en"):
        raise ValueError(f"lang must be 'fr' or 'en', got {lang!r}")
    services = tuple(services)
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        raise ValueError(f"unknown service(s) {unknown}; use {', '.join(SERVICES)}")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
    if scope == "all-communes" and cities is not None:
        raise InputError("cities and scope='all-communes' exclude each other; give one of them")
    out = Path(out_dir)
    _recover(out)
    cfg = load_config(config)
    _check_out_dir(out, overwrite=overwrite, n_cities=35_000 if scope == "all-communes" else 244)
    polygons = communes if communes is not None else cfg.communes
    uses_commune_zones = any("commune" in x.zones for x in (*cfg.layers, *cfg.rasters))
    if scope == "all-communes" and polygons is None and uses_commune_zones:
        raise InputError(
            "scope 'all-communes' with commune zones needs a national commune polygon layer: pass communes= "
            "(CLI --communes FILE) or set `communes` in the config, e.g. IGN ADMIN EXPRESS COMMUNE "
            "(`acv-geo fetch admin_express_cog`)"
        )

    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be a whole number ≥ 1, got {workers!r}")
    if workers is not None and scheduler is not None:
        raise ValueError("workers sizes the local Dask cluster; with scheduler= the cluster is yours: drop workers")
    engines = contextlib.ExitStack()  # one Dask cluster for every overlay and zonal step
    client: list[Any] = []

    def run(func: Any, zones: Any, *args: Any, **kwargs: Any) -> pd.DataFrame:
        if engine == "local" and len(zones) <= chunk_size:
            return func(zones, *args, **kwargs)
        if engine == "dask" and not client:
            client.append(engines.enter_context(dask_client(scheduler, n_workers=workers)))
        return map_zones(func, zones, *args, engine=engine, chunk_size=chunk_size,
                         scheduler=client[0] if client else scheduler, **kwargs)

    steps = 9 + (1 if services else 0) + sum(len(x.zones) for x in (*cfg.layers, *cfg.rasters)) + len(cfg.tables) + len(
        cfg.clusters.variables) + (2 if cfg.maps_enabled else 0)
    callback = progress if callable(progress) else None
    bar = _Progress(steps, enabled=bool(progress) and not quiet, callback=callback)
    problems: list[str] = []

    bar.step("reading cities")
    from acv_geo.read.communes import read_communes, read_epci

    if scope == "all-communes":
        from acv_geo.read.communes import read_all_communes

        city = read_all_communes(observatory=cfg.observatory)
        problems.append(
            f"national scope: {len(city):,} communes in the tables, maps and clusters; the per-city pages "
            "of this report cover the ACV towns only (column acv)"
        )
    else:
        city = _read_cities(cities, cfg)
    if len(city) == 0:
        raise InputError("the city list is empty; give at least one city")
    attach_metadata(city, _opendata_metadata(city, cfg.observatory))
    bar.step("reading commune and EPCI polygons")
    communes = read_communes(polygons)
    epci = read_epci(cfg.epci)

    bar.step("building zones")
    specs = {z for x in (*cfg.layers, *cfg.rasters) for z in x.zones}
    zones = _zones_for(specs, city, communes, epci)
    tables: list[pd.DataFrame] = []
    with engines:
        for spec in cfg.layers:
            for zs in spec.zones:
                bar.step(f"overlay {spec.name} ({zs})")
                tables.append(_overlay(zones[zs], spec, zs, run))
                if zs == spec.zones[0]:
                    tables.append(_coverage(zones[zs], spec, zs))
        for spec in cfg.rasters:
            for zs in spec.zones:
                bar.step(f"zonal statistics {spec.name} ({zs})")
                tables.append(_zonal(zones[zs], spec, zs, run))
    for t in cfg.tables:  # one table at a time, so that each step's time is its own
        bar.step(f"table {t.kind}" + (f" {t.path.name}" if t.path else ""))
        tables.extend(_tables(city, dataclasses.replace(cfg, tables=(t,))))
    if services:
        bar.step(f"web services: {', '.join(services)}")
        commune_zones = zones.get("commune")
        if commune_zones is None:
            commune_zones = _zones_for({"commune"}, city, communes, epci)["commune"]
        tables.extend(_service_tables(city, commune_zones, services, cfg, cache=cache, offline=services_offline))
    indicators = _assemble(city, tables)

    bar.step("clusters")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        cl_table, cl_doc = _clusters(city, indicators, cfg)
    for w in caught:
        msg = f"clusters: {w.message}"
        if msg not in problems:
            problems.append(msg)
    for _ in cfg.clusters.variables[1:]:
        bar.step("clusters")
    cl_doc["settings"]["variables"] = list(cfg.clusters.variables)

    bar.step("exposure profile")
    from acv_geo.indicators.profile import exposure_profile, rank_candidates

    prof = exposure_profile(city, *tables, weights=dict(cfg.profile_weights) or None)
    full = _assemble(city, [*tables, cl_table, prof])
    full.attrs["acv_geo_profile"] = prof.attrs["acv_geo_profile"]
    ranking = rank_candidates(prof)
    meta = _labelled_metadata(full, cfg)

    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    except OSError as exc:
        raise InputError(os_error_message(exc, path=parent)) from None
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it 0700; the output folder follows the umask like any folder
    written: list[str] = []
    try:
        bar.step("writing tables")
        _write_tables(tmp, full, epci, meta, cl_doc, cfg)
        written += ["cities.gpkg", "cities.metadata.csv", "indicators.csv", "indicators.parquet",
                    "indicators.metadata.csv", "indicator_metadata.csv", "clusters.json"]
        maps: dict[str, Path] = {}
        if cfg.maps_enabled:
            bar.step("drawing maps")
            (tmp / "maps").mkdir()
            maps = _draw_maps(tmp / "maps", full, epci, meta, cfg, lang)
            written += [f"maps/{p.name}" for p in maps.values()]
        pages = full[full["acv"].astype(bool)] if scope == "all-communes" else full
        town_maps: dict[str, str] = {}
        if cfg.maps_enabled:
            bar.step("town maps")
            town_maps = _town_maps(pages, communes, epci, cfg, lang)
        bar.step("writing report")
        from acv_geo.outputs.report import build_report

        html = build_report(pages, metadata=meta, clusters=cl_doc, ranking=ranking, maps=maps, config=cfg,
                            warnings=problems, lang=lang, town_maps=town_maps)
        (tmp / "report.html").write_text(html, encoding="utf-8")
        written.append("report.html")
        marker = {
            "tool": "acv-geo diagnose",
            "version": _version(),
            "created": _dt.datetime.now().isoformat(timespec="seconds"),
            "cities": len(full),
            "files": written,
            "config": cfg.to_dict(),
        }
        (tmp / _MARKER).write_text(json.dumps(marker, indent=2, default=_json_default), encoding="utf-8")
        bar.step("replacing the output folder")
        _swap_in(tmp, out)
    except OSError as exc:
        raise InputError(f"{os_error_message(exc)} (nothing was changed in {out})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    bar.close()
    result = DiagnoseResult(
        out_dir=out,
        files=tuple(out / w for w in written),
        cities=full,
        metadata=meta,
        clusters=cl_doc,
        ranking=ranking,
        config=cfg,
        timings=dict(bar.timings),
        warnings=tuple(problems),
    )
    if not quiet:
        print(result.summary())
    return result


def _version() -> str:
    from acv_geo import __version__

    return __version__


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
    out = {x.name: (x.label, x.label_en or x.label) for x in (*cfg.layers, *cfg.rasters)}
    out.update({t.prefix: (t.prefix, t.prefix) for t in cfg.tables if t.prefix})
    return out


def _labelled_metadata(full: Any, cfg: DiagnoseConfig) -> pd.DataFrame:
    """Metadata of every written column (the code, ``lon``/``lat`` of the tables included), with labels."""
    meta = indicator_metadata(full)
    first = [{"column": c, "unit": CITY_METADATA[c][0], "date": "", "description": CITY_METADATA[c][3],
              "role": "context", "source": "city list (ANCT ACV list, COG 2025)" if c == "insee_com" else
              "acv-geo, from the city point"} for c in ("insee_com", "lon", "lat")]
    meta = pd.concat([pd.DataFrame(first), meta], ignore_index=True).fillna("")[METADATA_COLUMNS]
    return label_metadata(meta, layers=source_labels(cfg))


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
            rows.append({"column": c, "unit": unit, "description": desc, "role": "context", "date": "",
                         "source": "IGN ADMIN EXPRESS EPCI (embedded), with the ACV city list"})
    epci = label_metadata(pd.DataFrame(rows, columns=METADATA_COLUMNS).fillna("")).assign(layer="epci")
    return pd.concat([cities, epci], ignore_index=True)[["layer", *METADATA_COLUMNS]]


def _write_tables(tmp: Path, full: Any, epci: Any, meta: pd.DataFrame, cl_doc: dict, cfg: DiagnoseConfig) -> None:
    from acv_geo.outputs.writers import write_table

    w = _writable(full)
    w.attrs = {}
    write_table(w, tmp / "cities.gpkg", layer="cities", metadata=False)
    el = _writable(_epci_layer(full, epci))
    write_table(el, tmp / "cities.gpkg", layer="epci", metadata=False)
    plain = _plain(w)
    write_table(plain, tmp / "indicators.csv", metadata=False)
    write_table(plain, tmp / "indicators.parquet", metadata=False)
    meta.to_csv(tmp / "indicators.metadata.csv", index=False, encoding="utf-8")
    _gpkg_metadata(meta, el).to_csv(tmp / "cities.metadata.csv", index=False, encoding="utf-8")
    meta.to_csv(tmp / "indicator_metadata.csv", index=False, encoding="utf-8")  # deprecated name, one release
    doc = dict(cl_doc)
    doc["generated"] = _dt.datetime.now().isoformat(timespec="seconds")
    (tmp / "clusters.json").write_text(
        json.dumps(_clean_json(doc), indent=1, ensure_ascii=False, default=_json_default), encoding="utf-8"
    )


def map_columns(full: pd.DataFrame, meta: pd.DataFrame, cfg: DiagnoseConfig) -> list[str]:
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
    cfg : DiagnoseConfig
        The configuration.

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
    names = [x.name for x in (*cfg.layers, *cfg.rasters)]
    cands: list[str] = []

    def own(c: str, prefix: str) -> bool:  # column of this layer, not of a layer with a longer name
        return c.startswith(prefix + "_") and not any(
            n != prefix and n.startswith(prefix + "_") and c.startswith(n + "_") for n in names)

    for spec in cfg.layers:
        for i, zs in enumerate(spec.zones):
            n = _zone_name(spec.name, zs)
            if f"{n}_pct" in cols:
                cands.append(f"{n}_pct")
                if i == 0:
                    cands += [c for c in cols if own(c, n) and c.endswith("_pct") and c != f"{n}_pct"
                              and not any(c.startswith(_zone_name(spec.name, z) + "_") for z in spec.zones[1:])]
            else:
                cands.append(f"{n}_count")
                if i == 0:
                    cands.append(f"{n}_dist_m")
    for spec in cfg.rasters:
        for zs in spec.zones:
            n = _zone_name(spec.name, zs)
            cands.append(f"{n}_mean")
            cands += [c for c in cols if own(c, n) and (c.startswith(f"{n}_below_") or c.startswith(f"{n}_class_"))]
    cands += ["seismic_zone", "risks_known_count", "radon_class", "catnat_total_count"]
    cands += [f"catnat_{g}_count" for g in ("flood", "drought", "ground_movement", "storm", "earthquake", "other")]
    for t in cfg.tables:
        if t.kind == "csv" and t.prefix:
            cands += [c for c in cols if c.startswith(f"{t.prefix}_") and not c.endswith("_reason")]
    # every other scored indicator (GASPAR tables, web services): what its source says it measures
    cands += [c for c, role, scored in meta[["column", "role", "scored"]].itertuples(index=False)
              if scored == "yes" and role in ("risk", "nature")]
    cands.append("exposure_score")
    out = []
    for c in dict.fromkeys(cands):
        if c not in full.columns:
            continue
        s = full[c]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            continue
        if s.dropna().nunique() <= 1:
            continue
        out.append(c)
    return out


_LEVEL_COLORS = {"commune": "#1a9850", "epci": "#91cf60", "none": "#d73027", "NA": "#bdbdbd"}
#: Class indicators drawn with one colour per class (a categorical legend), not on a continuous scale.
CLASS_MAPS: dict[str, dict[str, str]] = {
    "seismic_zone": {"1": "#fee5d9", "2": "#fcae91", "3": "#fb6a4a", "4": "#de2d26", "5": "#a50f15"},
    "radon_class": {"1": "#fff7bc", "2": "#fec44f", "3": "#d95f0e"},
}


def _save(fig: Any, path: Path, dpi: int) -> Path:
    """Write ``fig`` as a PNG with a 256-colour palette: the bytes the report embeds as they are.

    The figure is rendered once, exactly as ``savefig`` renders a PNG, and its pixels are quantised
    with Pillow (fast octree, what the report used to do to every map): 3-4× smaller than RGBA and
    no second encoding. Without Pillow (matplotlib needs it), a plain RGBA PNG.
    """
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - matplotlib depends on Pillow
        Image = None
    if Image is not None:
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="raw", dpi=dpi)
        raw = buf.getvalue()
        w = int(fig.get_figwidth() * dpi)
        h = len(raw) // (4 * w) if w > 0 else 0
        if h > 0 and w * h * 4 == len(raw):
            im = Image.frombuffer("RGBA", (w, h), raw, "raw", "RGBA", 0, 1)
            method = getattr(getattr(Image, "Quantize", None), "FASTOCTREE", 2)
            im.convert("RGB").quantize(colors=256, method=method).save(path, format="PNG")
            fig.clear()
            return path
    fig.savefig(path, format="png", dpi=dpi)
    fig.clear()
    return path


def _note(meta: pd.DataFrame, column: str) -> str:
    row = meta[meta["column"] == column]
    if not len(row):
        return ""
    src, date = str(row["source"].iloc[0]), str(row["date"].iloc[0])
    return f"{src} ({date})" if date and date != "nan" else src


_MAP_TEXT = {
    "fr": {
        "opendata": "Qui publie des données ouvertes : la commune, seulement son EPCI, ou personne",
        "od_legend": "Open data", "epci": "Open data des EPCI des villes ACV", "epci_legend": "EPCI",
        "yes": "l'EPCI publie", "no": "l'EPCI ne publie pas",
        "clusters": "Agrégats locaux : {} ({}, {}, {} permutations, FDR alpha {:g})",
        "score": "{} — poids : {}",
    },
    "en": {
        "opendata": "Who publishes open data: the commune, only its EPCI, or none",
        "od_legend": "Open data", "epci": "Open data of the EPCIs of the ACV cities", "epci_legend": "EPCI",
        "yes": "EPCI publishes", "no": "EPCI does not publish",
        "clusters": "Local clusters of {} ({}, {}, {} permutations, FDR alpha {:g})",
        "score": "{} — weights: {}",
    },
}


def _map_title(col: str, meta: pd.DataFrame, full: Any, lang: str) -> str:
    """Title of an indicator map: its label; for scores, the weights actually used."""
    row = meta[meta["column"] == col]
    label = str(row[f"label_{lang}"].iloc[0]) if len(row) else col
    if col.endswith("_score"):
        info = full.attrs.get("acv_geo_profile") or {}
        none = " (aucun indicateur)" if lang == "fr" else " (no indicator)"
        names = {"risk": "risque", "opendata": "open data"} if lang == "fr" else {"opendata": "open data"}
        weights = [f"{names.get(k, k)} {v:g}{none if not info.get('columns', {}).get(k) else ''}"
                   for k, v in (info.get("weights") or {}).items() if v > 0]
        label = _MAP_TEXT[lang]["score"].format(label, ", ".join(weights))
    return label if len(label) <= 110 else label[:107] + "…"


def _draw_maps(folder: Path, full: Any, epci: Any, meta: pd.DataFrame, cfg: DiagnoseConfig,
               lang: str) -> dict[str, Path]:
    """Draw every map with :mod:`acv_geo.outputs.maps`; return ``{key: path}`` in drawing order.

    Maps are drawn in worker processes when there are several and more than one core (see
    :func:`_run_map_jobs`); the files are the same either way.
    """
    jobs = _map_jobs(folder, full, epci, meta, cfg, lang)
    paths = _run_map_jobs(jobs, cfg.maps_dpi)
    return {job[0]: path for job, path in zip(jobs, paths, strict=True)}


#: One map to draw: ``(key, path, figure function, args, kwargs)``; the function returns a Figure.
MapJob = tuple[str, Path, Callable[..., Any], tuple, dict]


def _bare(full: Any) -> Any:
    """``full`` without its metadata (attrs; each column access would deep-copy them), profile info kept."""
    out = full.copy(deep=False)
    out.attrs = {k: v for k, v in full.attrs.items() if k == "acv_geo_profile"}
    return out


def _map_jobs(folder: Path, full: Any, epci: Any, meta: pd.DataFrame, cfg: DiagnoseConfig,
              lang: str) -> list[MapJob]:
    """The maps of a run, in drawing order, each with the small frame it draws (picklable for workers)."""
    import geopandas as gpd

    from acv_geo.outputs.maps import _cluster_figure, plot_map

    text = _MAP_TEXT[lang]
    jobs: list[MapJob] = []
    el = _epci_layer(full, epci)  # the layer written with the tables (built once)
    full = _bare(full)
    od_note = _note(meta, "opendata_level") or "city list"
    if "opendata_level" in full.columns:
        g = gpd.GeoDataFrame({"opendata_level": full["opendata_level"].astype(object).fillna("NA").to_numpy(),
                              "territory": full["territory"].to_numpy()},
                             geometry=full.geometry.to_numpy(), crs=full.crs, index=full.index)
        jobs.append(("opendata_status", folder / "opendata_status.png", plot_map, (g, "opendata_level"),
                     {"kind": "categorical", "colors": _LEVEL_COLORS, "title": text["opendata"],
                      "legend": text["od_legend"], "source_note": od_note, "lang": lang}))
    if "opendata_epci" in el.columns and len(el):
        ge = el[["territory", el.geometry.name]].copy()
        ge["epci_publishes"] = el["opendata_epci"].map({True: text["yes"], False: text["no"]}) \
            .astype(object).fillna("NA").to_numpy()
        jobs.append(("opendata_epci", folder / "opendata_epci.png", plot_map, (ge, "epci_publishes"),
                     {"kind": "categorical", "colors": {text["yes"]: "#1a9850", text["no"]: "#d73027", "NA": "#bdbdbd"},
                      "title": text["epci"], "legend": text["epci_legend"], "source_note": od_note, "lang": lang}))
    geoms = None
    for var in cfg.clusters.variables:
        col = f"cluster_{var}_label"
        if col not in full.columns:
            continue
        if geoms is None:  # what cluster_map reads of the cities: geometry and territory
            geoms = gpd.GeoDataFrame({c: full[c].to_numpy() for c in ("territory",) if c in full.columns},
                                     geometry=full.geometry.to_numpy(), crs=full.crs, index=full.index)
        frame = pd.DataFrame({"label": full[col].astype(object).fillna("NA")}, index=full.index)
        cs = cfg.clusters
        jobs.append((f"clusters_{var}", folder / f"clusters_{var}.png", _cluster_figure, (frame, geoms),
                     {"lang": lang, "source_note": _note(meta, var) or od_note,
                      "title": text["clusters"].format(_map_title(var, meta, full, lang), METHOD_NAMES[cs.method],
                                                       cs.weights, cs.permutations, cs.alpha)}))
    for col in map_columns(full, meta, cfg):
        args, kwargs = _indicator_map_args(col, full, meta, lang)
        jobs.append((col, folder / f"{col}.png", plot_map, args, kwargs))
    return jobs


def _render_map(job: MapJob, dpi: int) -> Path:
    """Draw one map job and write its PNG (in this process or a worker)."""
    _key, path, func, args, kwargs = job
    return _save(func(*args, **kwargs), path, dpi)


def _map_workers(n_jobs: int) -> int:
    """Worker processes for ``n_jobs`` maps: the cores this process may use (``ACV_GEO_MAP_WORKERS`` overrides)."""
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

    Fork on Linux, when this process runs a single thread: the workers inherit the imported modules
    and the basemap built once, and nothing is re-run. Not with other threads alive (a fork could
    inherit a lock they hold), nor elsewhere, nor with forkserver or spawn, which re-import the main
    script of the caller (a script without ``if __name__ == "__main__"`` would run again).
    """
    import multiprocessing
    import threading

    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return None
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork")


def _one_blas_thread() -> Any:
    """A context limiting BLAS (OpenBLAS…) to one thread, when threadpoolctl is there; else a no-op.

    Drawing maps calls BLAS on tiny matrices only, but OpenBLAS's idle threads spin after each call:
    with two threads per process they burned ≈60 % more CPU than the drawing itself, and stole the
    cores of the other map workers.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency of scikit-learn, itself of esda
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _map_worker_init() -> None:
    """Initialise a map worker process: one BLAS thread for its whole life."""
    _one_blas_thread()


def _run_map_jobs(jobs: Sequence[MapJob], dpi: int, workers: int | None = None) -> list[Path]:
    """Draw the maps, in parallel worker processes when there are several and more than one core.

    The files are identical to a serial run (same code, same data; ``tests/test_perf_equivalence.py``
    compares the pixels). Any failure of the pool itself (no fork, a worker killed) falls back to
    drawing the maps here, one after the other; an error of a map is raised as in a serial run.
    """
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from acv_geo.outputs.maps import _basemap_paths

    if not jobs:
        return []
    if any(kw.get("basemap", True) for *_, kw in jobs):
        _basemap_paths()  # built once here: forked workers inherit it
    n = _map_workers(len(jobs)) if workers is None else max(1, min(workers, len(jobs)))
    ctx = _pool_context() if n > 1 else None
    render = functools.partial(_render_map, dpi=dpi)
    # The objects alive now (the whole run's tables, esda, pandas...) are left out of garbage collection
    # while the maps are drawn: matplotlib makes many short-lived objects, and each full collection would
    # walk them all again (≈10 % of the drawing time), in a forked worker copying their memory pages too.
    gc.freeze()
    try:
        if ctx is not None:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
                with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_map_worker_init) as pool:
                    return list(pool.map(render, jobs))
            except (BrokenProcessPool, OSError, pickle.PicklingError) as exc:
                log.warning("drawing the maps in %d processes failed (%s: %s); drawing them one by one", n,
                            type(exc).__name__, exc)
        with _one_blas_thread():
            return [render(job) for job in jobs]
    finally:
        gc.unfreeze()


def _indicator_map_args(col: str, full: Any, meta: pd.DataFrame, lang: str) -> tuple[tuple, dict]:
    """Arguments of :func:`acv_geo.outputs.maps.plot_map` for one indicator map.

    Categorical for classes, else a choropleth; titles and legends from the labels.
    """
    import geopandas as gpd

    g = gpd.GeoDataFrame({col: pd.array(full[col], dtype="Float64"), "territory": full["territory"].to_numpy()},
                         geometry=full.geometry.to_numpy(), crs=full.crs, index=full.index)
    row = meta[meta["column"] == col]
    unit = str(row["unit"].iloc[0]) if len(row) else ""
    title = _map_title(col, meta, full, lang)
    label = str(row[f"label_{lang}"].iloc[0]) if len(row) else col
    short = label.split(" : ")[-1].split(": ")[-1]
    if col in CLASS_MAPS:
        classes = g[col].astype("Int64").astype("string").astype(object).where(g[col].notna(), None)
        return (g.assign(**{col: classes}), col), {"kind": "categorical", "colors": CLASS_MAPS[col], "title": title,
                                                  "legend": short, "source_note": _note(meta, col), "lang": lang}
    legend = f"{short} ({unit})" if unit and unit not in short else short
    return (g, col), {"kind": "choropleth", "colors": "viridis" if not col.endswith("_score") else "magma_r",
                      "title": title, "legend": legend, "source_note": _note(meta, col), "lang": lang}


def _indicator_map(col: str, full: Any, meta: pd.DataFrame, lang: str) -> Any:
    """One indicator map (a Figure): categorical for classes, else a choropleth."""
    from acv_geo.outputs.maps import plot_map

    args, kwargs = _indicator_map_args(col, full, meta, lang)
    return plot_map(*args, **kwargs)


def _town_maps(pages: Any, communes: Any, epci: Any, cfg: DiagnoseConfig, lang: str) -> dict[str, str]:
    """``{insee_com: svg}``: each town with its EPCI and the features of the layers covering it."""
    import geopandas as gpd
    import shapely

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
        codes = pages.index[terr == t]
        crs = local_crs(t)
        com = communes.geometry.reindex(codes)
        known = com.notna().to_numpy()
        com = gpd.GeoSeries(com[known], crs=communes.crs).to_crs(crs)
        rows = row_of.reindex(com.index).to_numpy() if len(com) else np.array([], dtype=int)
        ep = None
        if len(epci):  # the EPCIs of these towns only: each point is projected on its own, so the same coordinates
            wanted = {x for x in (sirens[r] for r in rows) if isinstance(x, str)}
            ep = epci.geometry[epci.index.isin(wanted)].to_crs(crs)
        near = gpd.GeoSeries([shapely.box(*com.total_bounds)], crs=crs) if len(com) else None
        feats = []
        for spec, layer in sources:
            if near is None or layer.crs is None or _surely_apart(near, layer):
                feats.append((spec, gpd.GeoSeries([], crs=crs)))
                continue
            sel = layer.geometry.iloc[layer.sindex.query(near.to_crs(layer.crs).iloc[0])]
            feats.append((spec, sel.to_crs(crs)))
        for (code, geom), r in zip(com.items(), rows, strict=True):
            shown = []
            for spec, g in feats:
                cov = covered[spec.name][r]
                if cov is not None and not pd.isna(cov) and bool(cov):
                    label = spec.label if lang == "fr" else (spec.label_en or spec.label)
                    shown.append((label, list(g.iloc[g.sindex.query(geom.envelope.buffer(5000))]) if len(g) else []))
            siren = sirens[r]
            e = ep.get(siren) if ep is not None and isinstance(siren, str) else None
            out[str(code)] = town_map_svg(geom, epci=e, layers=shown, lang=lang)
    return out


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
