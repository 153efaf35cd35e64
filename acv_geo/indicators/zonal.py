"""Raster zonal statistics per city zone, with exact partial-pixel coverage.

:func:`zonal_indicators` summarises one band of a raster (a DEM, a land-cover map, a hazard
grid…) inside each city's zone (commune polygon, EPCI, buffer: see :mod:`acv_geo.zones`).

What a pixel counts
-------------------
Every pixel counts **by the fraction of it that the zone covers** (exact polygon/pixel
intersection computed by `exactextract <https://isciences.github.io/exactextract/>`_): a pixel
half inside the zone weighs 0.5. Pixels equal to the raster's nodata value and NaN pixels are
masked (they weigh 0). So:

* ``count`` is the sum of the coverage fractions of valid pixels (a pixel count, not an integer);
* ``sum``, ``mean`` and ``std`` are coverage-weighted (``std`` is the population standard
  deviation), ``median`` and ``pNN`` are coverage-weighted quantiles;
* ``min``, ``max`` are over pixels with a non-zero coverage fraction;
* ``below_<t>_pct`` is the share (0–100 %) of the zone's valid area whose value is strictly
  below ``t``: ``100 × Σ cᵢ·[vᵢ < t] / Σ cᵢ`` over valid pixels ``i`` with coverage ``cᵢ``
  (e.g. the share of the commune below 5 m of elevation, for submersion exposure);
* categorical rasters give ``{name}_class_{value}_pct``: the share (0–100 %) of the zone's valid
  area in each class, coverage-weighted the same way;
* ``coverage_pct`` is the share (0–100 %) of the zone's area that falls on valid pixels
  (less than 100 when the zone runs off the raster or over nodata).

Shares are shares of pixel area: on a raster in a projected CRS every pixel has the same ground
area; on a geographic (EPSG:4326) raster pixels shrink northwards by ``cos(latitude)``, which
changes a share by less than 0.1 % over a commune.

An empty zone or a zone outside the raster gives NaN for every statistic, ``count`` included (never an
error), with the reason in ``{name}_reason``. Zones are reprojected to the raster's CRS; the
raster is never resampled.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.codes import slugify
from acv_geo.core.errors import InputError
from acv_geo.core.metadata import assign_role, attach_metadata
from acv_geo.core.parallel import CATEGORY_COLUMNS, threaded
from acv_geo.indicators.raster import check_grid, open_raster, raster_window
from acv_geo.zones import check_zones

__all__ = ["ALLOWED_STATS", "zonal_indicators"]

log = logging.getLogger(__name__)

#: Statistic names accepted in ``stats`` (plus ``pNN`` percentiles such as ``p10``, ``p2.5``).
ALLOWED_STATS: tuple[str, ...] = (
    "count",
    "sum",
    "mean",
    "min",
    "max",
    "std",
    "median",
    "majority",
    "minority",
    "variety",
    "coverage_pct",
)

_EE_OP = {
    "count": "count",
    "sum": "sum",
    "mean": "mean",
    "min": "min",
    "max": "max",
    "std": "stdev",
    "median": "median",
    "majority": "majority",
    "minority": "minority",
    "variety": "variety",
}
_PCT_RE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")
_DEFAULT_STATS = ("count", "mean", "min", "max")
_DEFAULT_CATEGORICAL_STATS = ("count", "majority")
#: Largest window (in pixels) read at once; larger extents are read zone by zone.
_MAX_WINDOW_CELLS = 25_000_000
_META_KEY = "acv_geo_zonal"
#: Coverage fractions below this are rounding noise, not area: a zone whose edge lies on a pixel edge
#: gets slivers of ~1e-12 of the next pixels, which would otherwise enter min/max/majority, and
#: differently with each read window (so with each spatial chunk).
_MIN_COVERAGE = 1e-9


def _parse_stats(stats: Iterable[str] | str | None, percentiles: Iterable[float], categorical: bool) -> list[str]:
    if stats is None:
        stats = _DEFAULT_CATEGORICAL_STATS if categorical else _DEFAULT_STATS
    if isinstance(stats, str):
        stats = [s.strip() for s in stats.split(",") if s.strip()]
    out: list[str] = []
    bad: list[str] = []
    for s in stats:
        s = str(s).strip().lower()
        if s in ALLOWED_STATS or _valid_percentile(s):
            if s not in out:
                out.append(s)
        else:
            bad.append(s)
    if bad:
        raise ValueError(
            f"unknown zonal statistic(s) {bad}; allowed: {', '.join(ALLOWED_STATS)} and percentiles "
            "'pNN' with 0 < NN < 100 (e.g. 'p10', 'p90'); thresholds go in threshold=, classes in "
            "categorical=True"
        )
    for q in percentiles:
        q = float(q)
        if not 0 < q < 100:
            raise ValueError(f"percentile {q} is outside (0, 100); give e.g. percentiles=(10, 90)")
        s = f"p{_fmt_number(q)}".replace("_", ".")
        if s not in out:
            out.append(s)
    return out


def _valid_percentile(s: str) -> bool:
    m = _PCT_RE.match(s)
    return m is not None and 0 < float(m.group(1)) < 100


def _fmt_number(x: float) -> str:
    """Column-safe text of a number: 5 → '5', 2.5 → '2_5', -3 → 'm3'."""
    text = f"{x:g}" if float(x).is_integer() is False else str(int(x))
    return text.replace("-", "m").replace(".", "_")


def _stat_column(name: str, stat: str) -> str:
    return f"{name}_{stat.replace('.', '_')}"


@dataclass(frozen=True)
class _Options:
    """What to measure, as :func:`zonal_indicators` was asked (checked)."""

    stats: tuple[str, ...]
    thresholds: tuple[float, ...]
    categorical: bool
    name: str | None
    band: int
    unit: str | None
    source: str | None
    date: str | None


def _options(stats: Any, percentiles: Any, threshold: Any, band: Any, role: str, **rest: Any) -> _Options:
    """Checked options; ``rest`` holds ``categorical, name, unit, source, date`` as given."""
    stat_list = _parse_stats(stats, percentiles, rest["categorical"])
    if threshold is None:
        thresholds: list[float] = []
    elif isinstance(threshold, (int, float, np.number)):
        thresholds = [float(threshold)]
    else:
        thresholds = [float(t) for t in threshold]
    if any(not math.isfinite(t) for t in thresholds):
        raise ValueError(f"threshold must be finite numbers, got {threshold!r}")
    if not isinstance(band, (int, np.integer)) or isinstance(band, bool) or band < 1:
        raise ValueError(f"band must be a 1-based integer, got {band!r}")
    if role not in ("risk", "nature", "context"):
        raise ValueError(f"role must be 'risk', 'nature' or 'context'; got {role!r}")
    return _Options(tuple(stat_list), tuple(thresholds), band=int(band), **rest)


def _prepare_zones(zones: Any, ds: Any, report: dict) -> tuple[np.ndarray, np.ndarray, list]:
    """Zones reprojected to the raster CRS → (polygonal geometries, usable mask, reasons)."""
    import shapely

    zones = check_zones(zones, columns=(), unique=False)
    geoms = zones.geometry
    if zones.crs != ds.crs:
        report["zones_reprojected_from"] = zones.crs.to_string()
        geoms = geoms.to_crs(ds.crs)
    arr = np.asarray(geoms.values, dtype=object)
    missing = shapely.is_missing(arr)
    # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
    empty = missing | shapely.is_empty(np.where(missing, None, arr))  # type: ignore[call-overload]
    arr, empty = _polygonal(arr, empty, zones.index)
    invalid = ~empty & ~threaded(shapely.is_valid, np.where(empty, None, arr))  # type: ignore[call-overload]  # None: see above
    if invalid.any():
        arr = arr.copy()
        arr[invalid] = shapely.make_valid(arr[invalid])
        report["invalid_geometries_repaired"] = int(invalid.sum())
        log.info("%d invalid zone geometries repaired with make_valid", int(invalid.sum()))
    zone_reason = zones["zone_reason"] if "zone_reason" in zones.columns else None
    reasons: list = [None] * len(arr)
    for i in np.flatnonzero(empty):
        extra = zone_reason.iloc[i] if zone_reason is not None else None
        reasons[i] = "no zone geometry" + (f": {extra}" if isinstance(extra, str) and extra else "")
    return arr, ~empty, reasons


def _polygonal(arr: np.ndarray, empty: np.ndarray, index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Polygonal parts of geometry collections; any other non-polygon refused."""
    import shapely

    kinds = shapely.get_type_id(arr)
    polygonal = np.isin(kinds, [3, 6]) | empty  # Polygon, MultiPolygon (7: collections handled below)
    collections = kinds == 7
    if collections.any():
        arr = arr.copy()
        arr[collections] = [
            shapely.union_all(shapely.get_parts(g)[np.isin(shapely.get_type_id(shapely.get_parts(g)), [3, 6])])
            for g in arr[collections]
        ]
        polygonal |= collections
        empty = empty | shapely.is_empty(arr)
    if not polygonal.all():
        pos = int(np.flatnonzero(~polygonal)[0])
        raise InputError(
            f"zone {index[pos]!r} is a {arr[pos].geom_type}, not a "
            "polygon; zonal statistics need areas: build zones with "
            "acv_geo.zones.make_zones(cities, kind='commune' | 'epci' | 'buffer', radius=...)"
        )
    return arr, empty


def _touching(ds: Any, geoms: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Which usable zones touch the raster at all."""
    import shapely

    left, bottom, right, top = ds.bounds
    # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
    b = shapely.bounds(np.where(usable, geoms, None))  # type: ignore[call-overload]
    touches = usable & ~((b[:, 0] >= right) | (b[:, 2] <= left) | (b[:, 1] >= top) | (b[:, 3] <= bottom))
    # a zone whose box lies inside the raster's touches it; only the others need the exact test
    inside = (b[:, 0] >= left) & (b[:, 2] <= right) & (b[:, 1] >= bottom) & (b[:, 3] <= top)
    edge = np.flatnonzero(touches & ~inside)
    if len(edge):
        touches[edge] = shapely.intersects(geoms[edge], shapely.box(left, bottom, right, top))
    return touches


def _raster_source(ds: Any, band: int, win: Any) -> Any:
    """An exactextract raster source: one windowed read if small enough, else reads per zone."""
    from exactextract.raster import NumPyRasterSource, RasterioRasterSource

    if win is None or win.width * win.height > _MAX_WINDOW_CELLS:
        return RasterioRasterSource(ds, band)
    scale, offset = ds.scales[band - 1], ds.offsets[band - 1]
    left, bottom, right, top = ds.window_bounds(win)
    wkt = ds.crs.wkt
    if scale != 1.0 or offset != 0.0:
        arr = ds.read(band, window=win, masked=True).astype(np.float64) * scale + offset
        return NumPyRasterSource(arr, left, bottom, right, top, srs_wkt=wkt)
    nodata = ds.nodata
    if nodata is not None and not ds.dtypes[band - 1].startswith("float"):
        nodata = int(nodata)
    arr = ds.read(band, window=win)
    return NumPyRasterSource(arr, left, bottom, right, top, nodata=nodata, srs_wkt=wkt)


@functools.lru_cache(maxsize=1)
# Long: four tiny subclasses of exactextract's classes, defined inside so that exactextract is imported only
# when a zonal statistic runs (import acv_geo stays light).
def _wkb_classes() -> tuple[type, type]:
    """Classes for exactextract: a FeatureSource of WKB zones, a Writer of plain dicts (no GeoJSON round trips).

    The ONE place that uses exactextract's private ``_exactextract.Feature`` (the feature API under
    ``exactextract.feature`` / ``exactextract.writer``). Tested with exactextract 0.3.0 (0.2.x shares
    this API; pyproject pins >=0.2,<0.4): re-check this function before widening that range.
    """
    from exactextract._exactextract import Feature
    from exactextract.feature import FeatureSource
    from exactextract.writer import Writer

    class _WKBFeature(Feature):
        def __init__(self, pos: int, wkb: bytes) -> None:
            Feature.__init__(self)
            self.pos, self.wkb = pos, wkb

        def geometry(self) -> bytes:
            return self.wkb

        def get(self, name: str) -> int:
            return self.pos

        def fields(self) -> list[str]:
            return ["_pos"]

        def set_geometry_format(self) -> str:
            return "wkb"

    class _Source(FeatureSource):
        def __init__(self, items: list[tuple[int, bytes]], wkt: str) -> None:
            super().__init__()
            self.items, self.wkt = items, wkt

        def count(self) -> int:
            return len(self.items)

        def __iter__(self):
            for pos, wkb in self.items:
                yield _WKBFeature(pos, wkb)

        def srs_wkt(self) -> str:
            return self.wkt

    class _Row(Feature):
        def __init__(self) -> None:
            Feature.__init__(self)
            self.props: dict[str, Any] = {}

        def set(self, name: str, value: Any) -> None:
            self.props[name] = value

        def set_geometry(self, geometry: Any) -> None:  # geometries are not asked for
            pass

    class _RowWriter(Writer):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[dict[str, Any]] = []
            self._row = _Row()

        def add_operation(self, op: Any) -> None:
            pass

        def write(self, feature: Any) -> None:
            self._row.props = {}
            feature.copy_to(self._row)
            self.rows.append(self._row.props)

        def features(self) -> list[dict[str, Any]]:
            return self.rows

    return _Source, _RowWriter


def _extract(src: Any, positions: np.ndarray, geoms: np.ndarray, wkt: str, ops: list[Any]) -> list[dict[str, Any]]:
    """Run exactextract over the zones (WKB): one dict per zone with ``_pos`` (its position) and ``op<i>`` fields."""
    import shapely
    from exactextract import exact_extract

    source_class, writer_class = _wkb_classes()
    items = list(zip((int(p) for p in positions), shapely.to_wkb(geoms), strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return exact_extract(src, source_class(items, wkt), ops, include_cols=["_pos"], output=writer_class())


def _below_op(t: float):
    def below(values, coverage):  # exactextract passes masked arrays (nodata, NaN masked)
        v = np.ma.asarray(values)
        c = np.asarray(coverage, dtype=float)
        valid = ~np.ma.getmaskarray(v) & (c >= _MIN_COVERAGE)
        c = c[valid]
        total = c.sum()
        if total <= 0:
            return float("nan")
        return float(100.0 * c[np.asarray(v.data)[valid] < t].sum() / total)

    below.__name__ = f"below_{_fmt_number(t)}"
    return below


def _operations(opts: _Options, src: Any) -> tuple[list[str], list[Any]]:
    """Our keys of the operations and the exactextract operations, named ``op0``, ``op1``, … in that order.

    Neutral names: exactextract may decorate them (quantiles get a "_10" suffix) and does not keep
    their order, so its fields are matched back by that name (no guessing of its field names).
    """
    from exactextract.operation import Operation

    specs: list[tuple[str, Any]] = [("count", ("count", {}))]
    for s in opts.stats:
        if s in _EE_OP and s != "count":
            specs.append((s, (_EE_OP[s], {})))
        elif _valid_percentile(s):
            specs.append((s, ("quantile", {"q": float(s[1:]) / 100})))
    specs += [(f"below_{_fmt_number(t)}", _below_op(t)) for t in opts.thresholds]
    if opts.categorical:
        specs += [("unique", ("unique", {})), ("frac", ("frac", {}))]
    ops: list[Any] = []
    for i, (_, spec) in enumerate(specs):
        if callable(spec):
            spec.__name__ = f"op{i}"
            ops.append(spec)
        else:
            ops.append(Operation(spec[0], f"op{i}", src, None, {**spec[1], "min_coverage_frac": _MIN_COVERAGE}))
    return [k for k, _ in specs], ops


def _measure(ds: Any, opts: _Options, geoms: np.ndarray, idx: np.ndarray) -> dict[str, Any]:
    """Each operation's values over the zones ``idx`` (arrays; lists of per-zone arrays for unique/frac)."""
    src = _raster_source(ds, opts.band, raster_window(ds, geoms[idx]))
    keys, ops = _operations(opts, src)
    rows = _extract(src, idx, geoms[idx], ds.crs.wkt, ops)
    pos = np.array([r["_pos"] for r in rows], dtype=int)
    order = np.argsort(pos)
    if not np.array_equal(pos[order], idx):  # pragma: no cover - exactextract contract
        raise RuntimeError("exactextract did not return one row per zone")
    # a value exactextract did not set for a zone is missing (NaN; no class for unique/frac)
    fields = sorted(set().union(*rows) - {"_pos"}) if rows else []
    results: dict[str, Any] = {}
    for i, key in enumerate(keys):
        field = next((f for f in fields if f == f"op{i}" or f.startswith(f"op{i}_")), None)
        if field is None:  # no zone had a valid pixel (e.g. an all-nodata raster): nothing was measured
            field = f"op{i}"
        if key in ("unique", "frac"):
            results[key] = [np.zeros(0) if rows[j].get(field) is None else rows[j][field] for j in order]
        else:
            results[key] = np.array([rows[j].get(field) for j in order], dtype=float)
    return results


@dataclass
class _Measured:
    """The measures of every zone: ``results`` hold the values of the zones ``idx`` only."""

    usable: np.ndarray
    idx: np.ndarray
    results: dict[str, Any]
    count: np.ndarray
    coverage: np.ndarray

    def full(self, key: str) -> np.ndarray:
        """Values of one operation for every zone (NaN where not measured)."""
        arr = np.full(len(self.usable), np.nan)
        values = self.results.get(key)
        if values is not None and len(self.idx):
            arr[self.idx] = np.asarray(values, dtype=float)
        return arr


def _measured(ds: Any, opts: _Options, geoms: np.ndarray, usable: np.ndarray, touches: np.ndarray) -> _Measured:
    """Measures of the zones touching the raster, their valid-pixel count and coverage of the zone."""
    import shapely

    n = len(geoms)
    idx = np.flatnonzero(touches)
    results = _measure(ds, opts, geoms, idx) if len(idx) else {}
    count = np.zeros(n)
    if len(idx):
        count[idx] = np.nan_to_num(results["count"].astype(float))  # unset: no valid pixel, 0
    # zone area in pixel units, for coverage_pct and partial-coverage reasons
    zone_px = np.zeros(n)
    zone_px[usable] = shapely.area(geoms[usable]) / abs(ds.transform.a * ds.transform.e)
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where(zone_px > 0, np.minimum(100.0 * count / np.where(zone_px > 0, zone_px, 1), 100.0), np.nan)
    return _Measured(usable, idx, results, count, coverage)


@dataclass
class _Columns:
    """Output columns and their metadata rows, in the order they are added."""

    name: str
    band_txt: str
    unit: str
    source: str
    date: str
    columns: dict[str, Any] = field(default_factory=dict)
    meta: list[dict] = field(default_factory=list)

    def add(self, col: str, values: Any, unit: str, desc: str) -> None:
        self.columns[col] = values
        self.meta.append({"column": col, "unit": unit, "source": self.source, "date": self.date, "description": desc})


_DESCRIPTIONS = {
    "sum": "Coverage-weighted sum",
    "mean": "Coverage-weighted mean",
    "min": "Minimum",
    "max": "Maximum",
    "std": "Coverage-weighted population standard deviation",
    "median": "Coverage-weighted median",
    "majority": "Most common value (coverage-weighted)",
    "minority": "Least common value (coverage-weighted)",
}


def _stat_columns(out: _Columns, m: _Measured, stats: Sequence[str]) -> None:
    band_txt = out.band_txt
    for s in stats:
        col = _stat_column(out.name, s)
        if s == "count":
            out.add(
                col,
                m.count,
                "pixels",
                f"Valid pixels of {band_txt} in the zone, each weighted by the fraction the zone covers",
            )
        elif s == "coverage_pct":
            out.add(
                col,
                np.where(m.usable, np.nan_to_num(m.coverage, nan=0.0), np.nan),
                "%",
                f"Share of the zone's area on valid pixels of {band_txt}",
            )
        elif s == "variety":
            v = m.full("variety")
            v[m.usable & (m.count == 0)] = 0
            out.add(col, v, "classes", f"Number of distinct values of {band_txt} in the zone")
        else:
            desc = _DESCRIPTIONS.get(s, f"Coverage-weighted {s[1:]}th percentile")
            arr = m.full(s)
            if s == "sum":
                arr[m.usable & (m.count == 0)] = np.nan
            out.add(col, arr, out.unit, f"{desc} of {band_txt} over valid pixels of the zone")


def _threshold_columns(out: _Columns, m: _Measured, thresholds: Sequence[float]) -> None:
    for t in thresholds:
        key = f"below_{_fmt_number(t)}"
        out.add(
            f"{out.name}_{key}_pct",
            m.full(key),
            "%",
            f"Share of the zone's valid area where {out.band_txt} is below {t:g} {out.unit}".rstrip()
            + " (coverage-weighted)",
        )


def _class_columns(out: _Columns, m: _Measured, label: str, report: dict) -> None:
    """One share column per class value found, 0 in measured zones without it."""
    all_u, all_f, rows_of = np.zeros(0), np.zeros(0), np.zeros(0, dtype=int)
    if len(m.idx):
        uniq = [np.asarray(u, dtype=float).ravel() for u in m.results["unique"]]
        fracs = [np.asarray(f, dtype=float).ravel() for f in m.results["frac"]]
        rows_of = np.repeat(m.idx, [len(u) for u in uniq])
        all_u, all_f = np.concatenate(uniq), np.concatenate(fracs)
    classes = [float(c) for c in np.unique(all_u)]
    if len(classes) > 255:
        _warn(
            report,
            f"{label}: {len(classes)} distinct values found with categorical=True; is this raster "
            "really a class raster (land cover)? One column per value is written",
            stacklevel=4,
        )
    for c in classes:
        share = np.where(m.usable & (m.count > 0), 0.0, np.nan)
        sel = all_u == c
        share[rows_of[sel]] = 100.0 * all_f[sel]
        lab = _class_label(c)
        out.add(
            f"{out.name}_class_{lab}_pct",
            share,
            "%",
            f"Share of the zone's valid area in class {lab} of {out.band_txt} (coverage-weighted)",
        )


def _final_reasons(reasons: list, m: _Measured) -> np.ndarray:
    """Complete ``reasons`` (no valid pixel, partial coverage); return the zones not measured at all."""
    open_ = np.array([r is None for r in reasons], dtype=bool) & m.usable
    for i in np.flatnonzero(open_ & (m.count == 0)):
        reasons[i] = "only nodata pixels in the zone"
    with np.errstate(invalid="ignore"):
        partial = open_ & (m.count != 0) & (m.coverage < 99.5)
    for i in np.flatnonzero(partial):
        reasons[i] = f"only {m.coverage[i]:.1f}% of the zone lies on valid pixels (raster edge or nodata)"
    return np.array(
        [r is not None and r.startswith(("zone outside the raster", "no zone geometry")) for r in reasons], dtype=bool
    )


def _warn(report: dict, msg: str, stacklevel: int) -> None:
    """Warn the caller of :func:`zonal_indicators` and keep the warning in the report."""
    report["warnings"].append(msg)
    warnings.warn(msg, UserWarning, stacklevel=stacklevel + 1)


def _class_label(v: Any) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else _fmt_number(f)


def zonal_indicators(
    zones: Any,
    raster: Any,
    *,
    stats: Sequence[str] | str | None = None,
    categorical: bool = False,
    name: str | None = None,
    threshold: float | Sequence[float] | None = None,
    percentiles: Sequence[float] = (),
    band: int = 1,
    unit: str | None = None,
    source: str | None = None,
    date: str | None = None,
    role: str = "context",
) -> pd.DataFrame:
    """Zonal statistics of one raster band in every zone, with exact partial-pixel coverage.

    Pixels count by the fraction of them each zone covers (exactextract); nodata and NaN pixels
    are masked. See the module documentation for the exact definition of every statistic.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        One (multi)polygon per city, any CRS (reprojected to the raster's), typically from
        :func:`acv_geo.zones.make_zones`. Empty geometries are allowed (count 0, NaN); a
        ``zone_reason`` column, if present, explains them in the output.
    raster : str, path-like or rasterio dataset
        A raster file GDAL can read, or an open ``rasterio`` dataset (left open).
    stats : sequence of str or str, optional
        Statistics among :data:`ALLOWED_STATS` and percentiles ``"pNN"`` (``"p10"``, ``"p90"``),
        as a list or a comma-separated string. Default ``("count", "mean", "min", "max")``, or
        ``("count", "majority")`` with ``categorical=True``.
    categorical : bool, default False
        Add the share of each class value (``{name}_class_{value}_pct``, 0–100 %) — for land
        cover and other class rasters.
    name : str, optional
        Column prefix (default: the raster file name, slugified).
    threshold : float or sequence of float, optional
        Add ``{name}_below_{t}_pct``: the coverage-weighted share of the zone's valid area with a
        value strictly below ``t`` (``2.5`` is written ``2_5``, ``-3`` is written ``m3``).
    percentiles : sequence of float, default ()
        Extra coverage-weighted percentiles, same as adding ``"pNN"`` to ``stats``.
    band : int, default 1
        1-based band number.
    unit : str, optional
        Unit of the raster values for the metadata (default: the band's ``units`` tag, e.g.
        ``"m"`` for a DEM, else empty).
    source, date : str, optional
        Provenance for the metadata (default: the raster file name and its ``TIFFTAG_DATETIME``).

    role : {"context", "risk", "nature"}, default "context"
        What the raster measures, recorded in the metadata: with ``risk`` or ``nature`` the
        threshold shares (``{name}_below_{t}_pct``, e.g. low-lying land), else the mean, enter that
        sub-score of :func:`acv_geo.exposure_profile`; ``context`` is shown, never scored.

    Returns
    -------
    pandas.DataFrame
        Indexed exactly like ``zones`` (same order, one row per zone). Columns
        ``{name}_{stat}`` in the order asked, then ``{name}_below_*_pct``, then class shares, then
        ``{name}_reason`` (``<NA>`` when the whole zone lies on valid pixels; otherwise why
        values are missing or partial). ``attrs["acv_geo_zonal"]`` records the raster, band, CRS,
        nodata and warnings; column metadata is attached (:func:`acv_geo.indicator_metadata`).

    Raises
    ------
    ValueError
        Unknown statistic, percentile outside (0, 100), bad band.
    InputError
        Not a raster file, raster without CRS, rotated raster, zones without CRS or not polygons.

    Warns
    -----
    UserWarning
        The raster has no nodata value (every non-NaN pixel then counts as data), or it overlaps
        no zone.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from acv_geo import get_path
    >>> z = gpd.GeoDataFrame(geometry=[box(5.90, 45.55, 5.95, 45.60)], crs=4326,
    ...                      index=pd.Index(["73065"], name="insee_com"))
    >>> out = zonal_indicators(z, get_path("dem_n45e005"), name="dem", threshold=300)
    >>> list(out.columns)
    ['dem_count', 'dem_mean', 'dem_min', 'dem_max', 'dem_below_300_pct', 'dem_reason']
    >>> round(float(out.loc["73065", "dem_count"]))
    625
    """
    opts = _options(
        stats,
        percentiles,
        threshold,
        band,
        role,
        categorical=categorical,
        name=name,
        unit=unit,
        source=source,
        date=date,
    )
    ds, must_close, label = open_raster(raster)
    try:
        out = _zonal(ds, label, zones, opts)
    finally:
        if must_close:
            ds.close()
    prefix = str(out.columns[-1]).removesuffix("reason")  # the name given, or the one made of the file name
    below = [c for c in out.columns if c.startswith(f"{prefix}below_")]
    return assign_role(out, role, scored=below or [c for c in (f"{prefix}mean",) if c in out.columns])


def _zonal(ds: Any, label: str, zones: Any, opts: _Options) -> pd.DataFrame:
    """The statistics table of ``zones`` on the open raster ``ds``."""
    check_grid(ds, label, opts.band)
    name = opts.name
    if name is None:
        name = slugify(Path(label).stem)
    elif not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    report: dict[str, Any] = {
        "raster": label,
        "band": opts.band,
        "crs": ds.crs.to_string(),
        "nodata": ds.nodata,
        "warnings": [],
    }
    if ds.nodata is None:
        _warn(
            report,
            f"{label}: raster has no nodata value; every pixel except NaN counts as data "
            "(set one with gdal_edit.py -a_nodata if some value means 'no data')",
            stacklevel=3,
        )
    geoms, usable, reasons = _prepare_zones(zones, ds, report)
    touches = _touching(ds, geoms, usable)
    for i in np.flatnonzero(usable & ~touches):
        reasons[i] = "zone outside the raster"
    if not touches.any():
        _warn(
            report,
            f"{label}: the raster overlaps none of the {len(geoms)} zones; no zone is measured (every "
            "statistic NaN, the pixel count included)",
            stacklevel=3,
        )
    m = _measured(ds, opts, geoms, usable, touches)
    out = _Columns(
        name,
        f"band {opts.band} of {Path(label).name}",
        _value_unit(ds, opts),
        opts.source if opts.source is not None else Path(label).name,
        opts.date if opts.date is not None else (ds.tags() or {}).get("TIFFTAG_DATETIME", ""),
    )
    _stat_columns(out, m, opts.stats)
    _threshold_columns(out, m, opts.thresholds)
    if opts.categorical:
        _class_columns(out, m, label, report)
    return _frame(out, reasons, m, zones.index, report, opts.categorical)


def _value_unit(ds: Any, opts: _Options) -> str:
    if opts.unit is not None:
        return opts.unit
    return ds.units[opts.band - 1] or "" if ds.units else ""


def _frame(
    out: _Columns, reasons: list, m: _Measured, index: pd.Index, report: dict, categorical: bool
) -> pd.DataFrame:
    """The output table: NaN where nothing was measured, the reason column, metadata and report."""
    off = _final_reasons(reasons, m)
    columns = out.columns
    if off.any():  # outside the raster nothing was measured: every statistic, the pixel count included
        columns = {col: np.where(off, np.nan, np.asarray(v, dtype=float)) for col, v in columns.items()}
    reason_col = f"{out.name}_reason"
    columns[reason_col] = pd.array(reasons, dtype="string")
    df = pd.DataFrame(columns, index=index.copy())
    meta = [
        *out.meta,
        {
            "column": reason_col,
            "unit": "",
            "source": "acv-geo",
            "date": "",
            "description": "Why statistics are missing or cover only part of the zone",
        },
    ]
    attach_metadata(df, meta)
    df.attrs[_META_KEY] = report
    if categorical:  # one column per class found: spatial chunks fill the classes they lack with 0
        df.attrs[CATEGORY_COLUMNS] = [[f"{out.name}_class_", "_pct"]]
    return df
