"""Vector overlay indicators: how much of each city's zone a risk or nature layer covers.

:func:`overlay_indicators` measures, for every zone built by :func:`acv_geo.zones.make_zones`, the
area (polygons), length (lines) and number (all features) of a layer's features inside the zone
and the distance from the city point to the nearest feature, in total and per category of a
field. Everything is measured in the city's territory CRS (:func:`acv_geo.core.territories.local_crs`).

Big national layers are never loaded whole: for each territory the layer is read through a
spatial filter (``mask=``) made of the boxes around the cities' zones, features are indexed in a
``shapely.STRtree``, and only the features that touch a zone are clipped. Overlapping features of
one category are dissolved inside each zone before measuring, so nothing is counted twice.

Presets (:func:`list_presets`, data in ``presets.json``) describe the official layers users
download (Géorisques TRI, AZI, PPRN zoning, clay shrink-swell, CNIG « PAC risques », INPN ZNIEFF,
Natura 2000, parks, reserves): category field, labels, source and licence.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

import numpy as np
import pandas as pd

from acv_geo.core.codes import slugify
from acv_geo.core.errors import InputError
from acv_geo.core.metadata import assign_role, attach_metadata
from acv_geo.core.parallel import threaded, threaded_map
from acv_geo.core.territories import TERRITORIES, check_extent, local_crs
from acv_geo.indicators.coverage import derive_coverage, file_coverage, parse_coverage, zone_departments
from acv_geo.indicators.presets import get_preset, list_presets
from acv_geo.zones import check_zones

__all__ = ["get_preset", "list_presets", "overlay_indicators", "overlay_report"]

log = logging.getLogger("acv_geo")

_REPORT = "acv_geo_overlay"
#: Search margin (m) around each zone for the first read; distances up to it are exact at once.
_MARGIN = 2_000.0
#: Extra metres added to every read window to absorb the reprojection of its edges.
_GUARD = 50.0
_MISSING_CATEGORY = "missing"
_MANY_CATEGORIES = 60


def overlay_report(df: pd.DataFrame) -> dict[str, Any]:
    """Report of an overlay run: layer, CRS, features read, repaired geometries, reads, main column.

    ``main_column`` is the headline measure: the total share of the zone (``{name}_pct``), or the
    feature count (``{name}_count``) for a layer without polygons; a ``risk`` or ``nature`` role
    scores it, maps colour by it.

    Parameters
    ----------
    df : pandas.DataFrame
        Result of :func:`overlay_indicators`.

    Returns
    -------
    dict
        A copy of ``df.attrs["acv_geo_overlay"]``.
    """
    return dict(df.attrs.get(_REPORT, {}))


# ----------------------------------------------------------------------------------- layer source
def _category_text(value: object) -> str:
    if value is None or value is pd.NA:
        return _MISSING_CATEGORY
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return _MISSING_CATEGORY
        if float(value).is_integer():
            return str(int(value))
    text = str(value).strip()
    return text if text else _MISSING_CATEGORY


#: Layers with at most this many features (and this file size) are read once, whole; larger ones
#: are read window by window (bbox/mask reads), so memory stays bounded by the zones' surroundings.
_LOAD_ALL_FEATURES = 20_000
_LOAD_ALL_BYTES = 512 * 1024 * 1024
#: Layer files read whole that are also kept for the next call on the same file (a national run's chunks).
_KEEP_WHOLE_BYTES = 64 * 1024 * 1024


def _derived_coverage(src: Any) -> Any:
    """The layer's coverage derived from its features (cached per file: chunks of a national run share it)."""
    if src.path is not None:
        return file_coverage(src.path, src.layer_name)
    return derive_coverage(src.gdf.geometry)


def _category_slugs(raw_values: list[str], labels: dict[str, str], src: Any) -> dict[str, str]:
    """Column-name part of each category value; merges and unnameable values are warned about, never silent.

    Values that differ only in accents, case or punctuation (``Aléa fort``, ``ALEA FORT``) share a
    column group: the warning lists them. Values with no Latin letter or digit (``東京``, ``🌊``) each
    get their own ``v<hash>`` group instead of being merged into one ``x``.
    """
    import hashlib

    slugs: dict[str, str] = {}
    for v in raw_values:
        text = labels.get(v, v)
        slug = slugify(text)
        if slug == "x" and not re.search(r"[A-Za-z0-9]", unicodedata.normalize("NFKD", text)):
            slug = "v" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]
            warnings.warn(
                f"{src.label}: category value {text!r} has no Latin letter or digit; its columns are "
                f"named {slug!r} (the metadata gives the value)",
                UserWarning,
                stacklevel=3,
            )
        slugs[v] = slug
    groups: dict[str, list[str]] = {}
    for v, slug in slugs.items():
        groups.setdefault(slug, []).append(v)
    for slug, values in groups.items():
        if len(values) > 1:
            warnings.warn(
                f"{src.label}: field {src.category!r}: values {', '.join(repr(v) for v in values)} differ only in "
                f"accents, case or punctuation and are measured together as {slug!r}; if they are different "
                "categories, rename them in the layer",
                UserWarning,
                stacklevel=3,
            )
    return slugs


class _Layer:
    """A vector layer read through spatial filters, file or GeoDataFrame alike."""

    def __init__(self, layer: Any, layer_name: str | None, category: str | None, *, whole: bool = True) -> None:
        """Open ``layer``; a small file is read whole when ``whole`` (nearest distances search all of it)."""
        import geopandas as gpd
        import pyproj

        self.gdf = None
        self.path: Path | None = None
        self.layer_name = layer_name
        if isinstance(layer, gpd.GeoDataFrame):
            if layer_name is not None:
                raise ValueError("layer_name= is only used when layer is a file path")
            self.label = "the layer GeoDataFrame"
            self.stem = "layer"
            if layer.crs is None:
                raise InputError(
                    f"{self.label} has no CRS; set the CRS it is in with layer.set_crs(EPSG) "
                    "(for example layer.set_crs(2154) for Lambert-93)"
                )
            self.gdf = layer
            self.crs = pyproj.CRS.from_user_input(layer.crs)
            if len(layer):
                check_extent(layer.total_bounds, self.crs, source=self.label)
            self.fields = [c for c in layer.columns if c != layer.geometry.name]
            types = set(layer.geom_type.dropna().unique())
            self.geom_type = next(iter(types)) if len(types) == 1 else "Unknown"
            self.n_features = len(layer)
        elif isinstance(layer, (str, os.PathLike)):
            self.path = Path(layer)
            self.label = str(self.path)
            self.stem = self.path.stem
            if not self.path.exists():
                raise FileNotFoundError(f"{self.path}: no such file; give the path of a vector layer")
            if self.path.suffix.lower() in (".parquet", ".geoparquet"):
                self._open_parquet()
            else:
                self._open_ogr()
        else:
            raise InputError(f"layer must be a file path or a GeoDataFrame (got {type(layer).__name__})")
        self.category = self._resolve_category(category)
        self.local_cache: dict[int, Any] = {}
        self.stats = {"reads": 0, "features_read": 0}  # reads of the layer, over every territory
        if whole and self.gdf is None and self.n_features <= _LOAD_ALL_FEATURES:
            assert self.path is not None  # no GeoDataFrame given: the layer was opened from a file
            if self.path.stat().st_size <= _LOAD_ALL_BYTES:
                # Small enough to hold: one read, then every window is an in-memory index query.
                read = _whole_file if self.path.stat().st_size <= _KEEP_WHOLE_BYTES else _whole_file.__wrapped__
                self.gdf = read(*self._signature, self.layer_name, self.category)

    def _open_parquet(self) -> None:
        import geopandas as gpd
        import pyproj

        if self.layer_name is not None:
            raise ValueError(f"{self.path}: a GeoParquet file has one layer; drop layer_name=")
        try:
            gdf = gpd.read_parquet(self.path)
        except Exception as exc:  # noqa: BLE001 - re-raised with the file name
            raise InputError(f"{self.path}: cannot read it as GeoParquet ({exc})") from None
        if gdf.crs is None:
            raise InputError(self._no_crs_message())
        self.gdf = gdf
        self.crs = pyproj.CRS.from_user_input(gdf.crs)
        if len(gdf):
            check_extent(gdf.total_bounds, self.crs, source=self.label)
        self.fields = [c for c in gdf.columns if c != gdf.geometry.name]
        types = set(gdf.geom_type.dropna().unique())
        self.geom_type = next(iter(types)) if len(types) == 1 else "Unknown"
        self.n_features = len(gdf)

    def _open_ogr(self) -> None:
        import pyproj

        assert self.path is not None  # only called for a file layer, after self.path is set
        st = self.path.stat()
        self._signature = (str(self.path.resolve()), st.st_mtime_ns, st.st_size)
        try:
            names = _file_layers(*self._signature)
        except Exception as exc:  # noqa: BLE001 - re-raised with the file name
            raise InputError(
                f"{self.path}: not a vector file GDAL/OGR can read ({exc}); give a GeoPackage, "
                "Shapefile, GeoJSON, FlatGeobuf or GeoParquet file"
            ) from None
        if self.layer_name is None:
            if len(names) > 1:
                raise InputError(
                    f"{self.path} holds {len(names)} layers ({', '.join(names)}); choose one with "
                    "layer_name= (CLI: --layer-name)"
                )
            self.layer_name = names[0]
        elif self.layer_name not in names:
            raise InputError(f"{self.path}: no layer named {self.layer_name!r}; available layers: {', '.join(names)}")
        info = _file_info(*self._signature, self.layer_name)
        if not info["crs"]:
            raise InputError(self._no_crs_message())
        self.crs = pyproj.CRS.from_user_input(info["crs"])
        if info.get("total_bounds") is not None:
            check_extent(info["total_bounds"], self.crs, source=self.label)
        self.fields = list(info["fields"])
        self.geom_type = info["geometry_type"] or "Unknown"
        self.n_features = info["features"]

    def _no_crs_message(self) -> str:
        return (
            f"{self.path}: the layer has no CRS (missing .prj or SRS), so its coordinates cannot be "
            "placed; assign the CRS it was made in, e.g. `ogr2ogr -a_srs EPSG:2154 fixed.gpkg "
            f"{self.path}` or QGIS 'Assign projection', then run again"
        )

    def _resolve_category(self, category: str | None) -> str | None:
        if category is None:
            return None
        if category in self.fields:
            return category
        folded = [f for f in self.fields if f.lower() == str(category).lower()]
        if len(folded) == 1:
            log.info("overlay: category field %r matched %r in %s", category, folded[0], self.label)
            return folded[0]
        raise InputError(
            f"{self.label}: no field named {category!r} to use as category; available fields: "
            f"{', '.join(self.fields) or '(none)'}"
        )

    def kinds(self) -> set[str]:
        """Geometry kinds declared by the layer (poly/line/point), empty when unknown."""
        t = str(self.geom_type).lower()
        out = set()
        if "polygon" in t or "surface" in t:
            out.add("poly")
        if "line" in t or "curve" in t and "polygon" not in t:
            out.add("line")
        if "point" in t:
            out.add("point")
        return out

    def bounds_wgs84(self) -> tuple[float, float, float, float] | None:
        """Extent of the layer in longitude/latitude (None when unknown or empty)."""
        if self.gdf is not None:
            if len(self.gdf) == 0:
                return None
            b = self.gdf.total_bounds
        else:
            b = _file_info(*self._signature, self.layer_name)["total_bounds"]
            if b is None:
                return None
        if not np.isfinite(b).all():
            return None
        xmin, ymin, xmax, ymax = (float(v) for v in b)
        if self.crs.to_epsg() != 4326:
            tr = _cached_transformer(self.crs.to_wkt(), 4326)
            xmin, ymin, xmax, ymax = tr.transform_bounds(xmin, ymin, xmax, ymax, densify_pts=50)
        if not np.isfinite([xmin, ymin, xmax, ymax]).all():
            return None
        return xmin, ymin, xmax, ymax

    def category_values(self) -> list[str]:
        """Distinct category values of the whole layer (attribute read only, no geometry).

        For a file, the values are cached per (file, modification time, size, layer, field): a
        national run calls the overlay once per spatial chunk and reads the column only once.
        """
        if self.category is None:
            return []
        if self.gdf is not None:
            return sorted({_category_text(v) for v in self.gdf[self.category]})
        return list(_file_category_values(*self._signature, self.layer_name, self.category))

    def _rtree_fids(self, boxes: np.ndarray) -> np.ndarray | None:
        """Feature ids whose bounding box meets one of ``boxes`` (n × 4 array), from a GeoPackage R-tree.

        The R-tree's leaf boxes (four numbers per feature, no geometry) are read once per file and
        kept in memory, so every window is an in-memory query. None when the file is not a
        GeoPackage with a spatial index (the caller then lets OGR filter by the mask).
        """
        import shapely

        if self.path is None or self.path.suffix.lower() != ".gpkg":
            return None
        index = _gpkg_rtree(*self._signature, self.layer_name)
        if index is None:
            return None
        ids, fb = index  # feature ids, their boxes (minx, miny, maxx, maxy)
        if len(ids) == 0 or len(boxes) == 0:
            return np.zeros(0, dtype=np.int64)
        # features meeting the window's overall extent (a vectorised test), then an index of those only
        lo, hi = boxes[:, :2].min(axis=0), boxes[:, 2:].max(axis=0)
        near = np.flatnonzero((fb[:, 0] <= hi[0]) & (fb[:, 2] >= lo[0]) & (fb[:, 1] <= hi[1]) & (fb[:, 3] >= lo[1]))
        if len(near) == 0:
            return np.zeros(0, dtype=np.int64)
        tree = shapely.STRtree(shapely.box(fb[near, 0], fb[near, 1], fb[near, 2], fb[near, 3]))
        hit = np.unique(tree.query(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))[1])
        return np.sort(ids[near[hit]])

    def read(self, mask: np.ndarray) -> Any:
        """Features meeting any geometry of ``mask`` (an array of shapely geometries, layer CRS).

        The window is given as its parts (typically one box per zone) rather than their union:
        index queries take the parts directly, so no costly union is built. In-memory layers and
        OGR mask reads return the features that intersect a part; a GeoPackage read through its
        R-tree returns those whose bounding box meets a part's (a superset, tested exactly later).

        Returns a GeoDataFrame in the layer CRS with ``_fid`` and ``_cat`` columns.
        """
        import geopandas as gpd
        import shapely

        mask = np.asarray(mask, dtype=object)
        if self.gdf is not None:
            idx = np.unique(self.gdf.sindex.query(mask, predicate="intersects")[1])
            sub = self.gdf.iloc[idx]
            data = {"_fid": idx.astype(np.int64)}
            geom = sub.geometry.values
        else:
            import pyogrio

            columns = [self.category] if self.category else []
            fids = self._rtree_fids(shapely.bounds(mask))
            if fids is not None:
                # GeoPackage: candidates from the file's own R-tree, one box per part of the mask
                # (OGR's mask filter would use the mask's overall envelope, i.e. everything).
                sub = (
                    pyogrio.read_dataframe(
                        self.path, layer=self.layer_name, columns=columns, fids=fids, fid_as_index=True
                    )
                    if len(fids)
                    else pyogrio.read_dataframe(
                        self.path, layer=self.layer_name, columns=columns, fid_as_index=True, max_features=0
                    )
                )
                # no exact test against the window: the callers test every feature against the
                # zones themselves, and a feature near a window is harmless to a nearest search
            else:
                sub = pyogrio.read_dataframe(
                    self.path,
                    layer=self.layer_name,
                    columns=columns,
                    mask=shapely.union_all(mask),
                    fid_as_index=True,
                )
            data = {"_fid": sub.index.to_numpy(dtype=np.int64)}
            geom = sub.geometry.values
        if self.category is not None:
            data["_cat"] = [_category_text(v) for v in sub[self.category]]
        else:
            data["_cat"] = [""] * len(sub)
        return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geom, crs=self.crs).values, crs=self.crs)


@functools.lru_cache(maxsize=16)
def _file_layers(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """Layer names of a vector file (cached; the key changes when the file does).

    A GeoPackage's are read from its ``gpkg_contents`` table with SQLite (GDAL lists the same
    feature and attribute tables; opening the file with GDAL costs more than the whole query).
    """
    import pyogrio

    if path.lower().endswith(".gpkg"):
        names = _gpkg_layers(path)
        if names:
            return names
    return tuple(str(row[0]) for row in pyogrio.list_layers(path))


def _gpkg_layers(path: str) -> tuple[str, ...]:
    """Vector layers of a GeoPackage in GDAL's order, or () when SQLite cannot tell (GDAL will)."""
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return ()
    try:
        rows = con.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features', 'attributes') ORDER BY rowid"
        ).fetchall()
    except sqlite3.Error:
        return ()
    finally:
        con.close()
    return tuple(str(r[0]) for r in rows)


@functools.lru_cache(maxsize=16)
def _file_info(path: str, mtime_ns: int, size: int, layer_name: str) -> dict[str, Any]:
    """CRS, fields, geometry type, feature count and extent of a layer file (cached)."""
    import pyogrio

    info = pyogrio.read_info(path, layer=layer_name, force_total_bounds=True)
    n = int(info.get("features", -1))
    if n < 0:
        n = len(pyogrio.read_dataframe(path, layer=layer_name, columns=[], read_geometry=False))
    b = info.get("total_bounds")
    return {
        "crs": info.get("crs"),
        "fields": tuple(str(f) for f in info["fields"]),
        "geometry_type": info.get("geometry_type"),
        "features": n,
        "total_bounds": None if b is None else tuple(float(v) for v in b),
    }


@functools.lru_cache(maxsize=2)
def _whole_file(path: str, mtime_ns: int, size: int, layer_name: str | None, category: str | None) -> Any:
    """Every feature of a small layer file with its category field (cached; the key changes with the file).

    A national run measures the communes chunk by chunk, each chunk against the same layer. The
    frame is shared: it is only read from.
    """
    import pyogrio

    return pyogrio.read_dataframe(path, layer=layer_name, columns=[category] if category else [])


@functools.lru_cache(maxsize=4)
def _gpkg_rtree(path: str, mtime_ns: int, size: int, layer_name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Feature ids and their boxes (n × 4: minx, miny, maxx, maxy), from a GeoPackage layer's R-tree.

    Cached: 40 bytes per feature. None when the layer has no spatial index.
    """
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = con.execute(
            "SELECT e.table_name, e.column_name FROM gpkg_extensions e WHERE e.extension_name = "
            "'gpkg_rtree_index' AND e.table_name = ?",
            (layer_name,),
        ).fetchone()
        if row is None:
            return None
        rows = con.execute(f'SELECT id, minx, miny, maxx, maxy FROM "rtree_{row[0]}_{row[1]}"').fetchall()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    return arr[:, 0].astype(np.int64), np.ascontiguousarray(arr[:, 1:])


@functools.lru_cache(maxsize=16)
def _file_category_values(
    path: str, mtime_ns: int, size: int, layer_name: str | None, category: str
) -> tuple[str, ...]:
    """Distinct category values of a layer file (cached; the key changes when the file does)."""
    import pyogrio

    values = pyogrio.read_dataframe(path, layer=layer_name, columns=[category], read_geometry=False)[category]
    return tuple(sorted({_category_text(v) for v in values.unique()}))


# ------------------------------------------------------------------------------------- geometry
def _explode(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Single parts of ``geoms`` (collections and multi-parts flattened) and their source index."""
    import shapely

    idx = np.arange(len(geoms))
    parts = np.asarray(geoms, dtype=object)
    while True:
        types = shapely.get_type_id(parts)
        multi = types >= 4
        if not multi.any():
            break
        sub, sub_idx = shapely.get_parts(parts, return_index=True)
        parts, idx = sub, idx[sub_idx]
    keep = ~shapely.is_empty(parts)
    return parts[keep], idx[keep]


def _kind_of(parts: np.ndarray) -> np.ndarray:
    import shapely

    t = shapely.get_type_id(parts)
    return np.where(t == 3, "poly", np.where((t == 1) | (t == 2), "line", "point"))


@functools.lru_cache(maxsize=32)
def _cached_transformer(src: str | int, dst: str | int):
    """Transformer between two CRS given as WKT, "EPSG:x" or EPSG codes (cached: creation is slow)."""
    import pyproj

    return pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(src), pyproj.CRS.from_user_input(dst), always_xy=True)


def _transform_geom(geom: Any, transformer: Any, densify: float | None = None) -> Any:
    import shapely

    if densify:
        geom = shapely.segmentize(geom, densify)

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)


def _group_measure(
    keys: np.ndarray, pieces: np.ndarray, measure: str, overlapping: np.ndarray | None = None
) -> dict[int, float]:
    """Measure (area or length) of the union of the pieces sharing a key.

    Groups whose pieces cannot overlap (``overlapping`` False for all of them) are summed
    directly; only groups holding an overlapping piece are dissolved (``union_all``).
    """
    import shapely

    if len(keys) == 0:
        return {}
    values = shapely.area(pieces) if measure == "area" else shapely.length(pieces)
    uniq, inv = np.unique(keys, return_inverse=True)
    sums = np.bincount(inv, weights=values, minlength=len(uniq))
    if overlapping is None:
        overlapping = np.ones(len(keys), dtype=bool)
    needs = np.bincount(inv, weights=overlapping.astype(float), minlength=len(uniq)) > 0
    needs &= np.bincount(inv, minlength=len(uniq)) > 1
    if needs.any():
        sel = np.flatnonzero(needs[inv])
        order = sel[np.argsort(inv[sel], kind="stable")]
        groups = inv[order]
        bounds = np.flatnonzero(np.diff(groups)) + 1
        starts, stops = np.r_[0, bounds], np.r_[bounds, len(order)]
        spans = list(zip(starts, stops, strict=True))
        merged = threaded_map(lambda ij: shapely.union_all(pieces[order[ij[0] : ij[1]]]), spans)
        values = shapely.area(merged) if measure == "area" else shapely.length(merged)
        sums[groups[starts]] = values
    return {int(k): float(v) for k, v in zip(uniq, sums, strict=True)}


def _of_dimension(pieces: np.ndarray, dim: int) -> np.ndarray:
    """``pieces`` with the components of dimension ``dim`` only (2 for areas, 1 for lengths).

    A clipped piece may be a mixed collection (a polygon and the line where the layer touches the
    zone's edge); the other components measure 0, and collections are not accepted by GEOS's
    ``relate`` before GEOS 3.13.
    """
    import shapely

    out = pieces.copy()
    for i in np.flatnonzero(shapely.get_type_id(pieces) == 7):
        comps = shapely.get_parts(pieces[i])
        comps = comps[shapely.get_dimensions(comps) == dim]
        out[i] = (shapely.multipolygons if dim == 2 else shapely.multilinestrings)(comps)
    return out


def _piece_overlaps(
    pieces: np.ndarray, zone: np.ndarray, cat: np.ndarray, measure: str
) -> tuple[np.ndarray, np.ndarray]:
    """Which pieces share interior with another piece of the same zone (any category; same category).

    Pieces that overlap nothing in their group can be summed instead of dissolved. Testing the
    clipped pieces of one zone (not the whole features) keeps each ``relate`` small.
    """
    import shapely

    n = len(pieces)
    anyc = np.zeros(n, dtype=bool)
    samec = np.zeros(n, dtype=bool)
    if n < 2:
        return anyc, samec
    a, b = shapely.STRtree(pieces).query(pieces)
    keep = (a < b) & (zone[a] == zone[b])
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return anyc, samec
    pattern = "2********" if measure == "area" else "1********"
    # relate builds a topology graph per pair: worth threads early
    inter = threaded(shapely.relate_pattern, pieces[a], pieces[b], pattern=pattern, min_size=16)
    a, b = a[inter], b[inter]
    anyc[a] = anyc[b] = True
    same = cat[a] == cat[b]
    samec[a[same]] = samec[b[same]] = True
    return anyc, samec


# ------------------------------------------------------------------------------ territory engine
class _Measures(TypedDict):
    """What :meth:`_Territory.measure` gives: arrays of shape (n_zones, n_cats + 1) and the geometry kinds met."""

    area: np.ndarray
    length: np.ndarray
    count: np.ndarray
    dist: np.ndarray
    kinds: set[str]


class _Parts(NamedTuple):
    """Single parts of the features read: geometry, feature id, category number, kind (poly/line/point)."""

    parts: np.ndarray
    fid: np.ndarray
    cat: np.ndarray
    kind: np.ndarray


@functools.cache
def _territory_box(name: str) -> Any:
    """Bounding box of a territory in its local CRS (cached: reprojecting it takes milliseconds)."""
    import geopandas as gpd
    import shapely

    lon0, lat0, lon1, lat1 = TERRITORIES[name].bounds
    box = gpd.GeoSeries([shapely.box(lon0, lat0, lon1, lat1)], crs=4326)
    return shapely.box(*box.segmentize(0.05).to_crs(local_crs(name)).total_bounds)


class _Territory:
    """Measures of the zones of one territory."""

    def __init__(
        self,
        name: str,
        layer: _Layer,
        zones_local: np.ndarray,
        points_local: np.ndarray,
        cats: list[str],
        cat_of: dict[str, int],
        connect: bool = True,
    ) -> None:

        self.name = name
        self.layer = layer
        self.epsg = local_crs(name)
        self.zones = zones_local
        self.points = points_local
        self.cats = cats
        self.cat_of = cat_of
        self.stats = layer.stats
        self.repaired: set[int] = set()
        if not connect:  # the layer does not reach the territory: nothing to read
            return
        same = layer.crs.to_epsg() == self.epsg
        self.to_layer = None if same else _cached_transformer(f"EPSG:{self.epsg}", layer.crs.to_wkt())
        self.box = _territory_box(name)  # windows never leave the territory

    def read(self, boxes: np.ndarray) -> Any:
        """Features of the layer meeting any of ``boxes`` (local CRS), in the local CRS."""
        import shapely

        lo = shapely.bounds(self.box)
        mask = shapely.clip_by_rect(np.asarray(boxes, dtype=object), *lo)
        mask = mask[~shapely.is_empty(mask)]
        if len(mask) == 0:
            return None
        if self.to_layer is not None:
            mask = np.asarray(_transform_geom(mask, self.to_layer, densify=1_000.0), dtype=object)
            mask = mask[np.isfinite(shapely.bounds(mask)).all(axis=1)]
            if len(mask) == 0:
                return None
            bad = ~shapely.is_valid(mask)
            if bad.any():
                mask[bad] = shapely.make_valid(mask[bad])
        feats = self.layer.read(mask)
        self.stats["reads"] += 1
        self.stats["features_read"] += len(feats)
        geoms = np.asarray(feats.geometry.values, dtype=object)
        # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
        missing = shapely.is_missing(geoms) | shapely.is_empty(np.where(shapely.is_missing(geoms), None, geoms))  # type: ignore[call-overload]
        feats = feats[~missing]
        geoms = np.asarray(feats.geometry.values, dtype=object)
        invalid = ~threaded(shapely.is_valid, geoms)
        if invalid.any():
            fixed = geoms.copy()
            fixed[invalid] = shapely.make_valid(geoms[invalid])
            self.repaired.update(int(f) for f in feats["_fid"].to_numpy()[invalid])
            feats = feats.set_geometry(np.asarray(fixed), crs=feats.crs)
        if self.to_layer is not None:
            feats = feats.to_crs(self.epsg)
        return feats

    def read_all(self) -> Any:
        """The in-memory layer's features inside this territory, repaired, in the local CRS (cached)."""
        cache = self.layer.local_cache
        if self.epsg in cache:
            feats, repaired = cache[self.epsg]
            self.repaired.update(repaired)
            self.stats["reads"] += 1
            self.stats["features_read"] += 0 if feats is None else len(feats)
            return feats
        before = set(self.repaired)
        feats = self.read(np.asarray([self.box]))
        cache[self.epsg] = (feats, self.repaired - before)
        return feats

    def _parts(self, feats: Any) -> _Parts:
        parts, src = _explode(np.asarray(feats.geometry.values, dtype=object))
        fid = feats["_fid"].to_numpy()[src]
        cat = (
            np.array([self.cat_of[c] for c in feats["_cat"].to_numpy()[src]], dtype=np.int64)
            if len(src)
            else np.zeros(0, dtype=np.int64)
        )
        return _Parts(parts, fid, cat, _kind_of(parts) if len(parts) else np.zeros(0, dtype=object))

    def measure(self, margin: float, distances: bool = True) -> _Measures:
        """Area, length, count and distance arrays of shape (n_zones, n_cats + 1); column 0 = total."""
        import shapely

        shape = (len(self.zones), len(self.cats) + 1)
        m: _Measures = {
            "area": np.zeros(shape),
            "length": np.zeros(shape),
            "count": np.zeros(shape),
            "dist": np.full(shape, np.inf),
            "kinds": set(),
        }
        has_zone = ~shapely.is_empty(self.zones)
        # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
        no_point = shapely.is_missing(self.points)
        has_point = ~(no_point | shapely.is_empty(np.where(no_point, None, self.points)))  # type: ignore[call-overload]
        if not (has_zone.any() or has_point.any()):
            return m
        near = has_point if distances else None
        if self.layer.gdf is not None and distances:
            # whole layer in memory: one pass, exact nearest distances with no window widening
            self._measure_features(self.read_all(), m, has_zone, near, None)
            return m
        if not distances:
            has_point = np.zeros_like(has_point)  # the points are only for distances
            if not has_zone.any():
                return m
        # first read: boxes around every zone and city point, plus the margin
        feats = self.read(self._boxes_around(has_zone, has_point, margin + _GUARD))
        self._measure_features(feats, m, has_zone, near, margin + _GUARD)
        if distances:
            self._widen(m, has_point, margin)
        return m

    def _measure_features(
        self, feats: Any, m: _Measures, has_zone: np.ndarray, has_point: np.ndarray | None, max_distance: float | None
    ) -> None:
        """Overlay of ``feats`` on the zones, and nearest distances from the points (``has_point`` not None)."""
        if feats is None or not len(feats):
            return
        p = self._parts(feats)
        m["kinds"].update(set(p.kind.tolist()))
        if has_zone.any():
            self._overlay(p, has_zone, m)
        if has_point is not None:
            self._nearest(p.parts, p.cat, np.flatnonzero(has_point), m["dist"], max_distance)

    def _boxes_around(self, has_zone: np.ndarray, has_point: np.ndarray, r: float) -> np.ndarray:
        """One box per city around its zone and its point, ``r`` metres wider."""
        import shapely

        # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
        zb = np.where(has_zone[:, None], shapely.bounds(np.where(has_zone, self.zones, None)), np.nan)  # type: ignore[call-overload]
        pb = np.where(has_point[:, None], shapely.bounds(np.where(has_point, self.points, None)), np.nan)  # type: ignore[call-overload]
        both = np.stack([zb, pb])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: neither zone nor point
            lo = np.nanmin(both[:, :, :2], axis=0)
            hi = np.nanmax(both[:, :, 2:], axis=0)
        ok = np.isfinite(lo).all(axis=1)
        return shapely.box(lo[ok, 0] - r, lo[ok, 1] - r, hi[ok, 0] + r, hi[ok, 1] + r)

    def _widen(self, m: _Measures, has_point: np.ndarray, margin: float) -> None:
        """Distances beyond the margin: widen the window around unresolved cities only."""
        import shapely

        dist = m["dist"]
        radius = margin
        unresolved = has_point & (dist > radius).any(axis=1)
        while unresolved.any():
            radius *= 4
            idx = np.flatnonzero(unresolved)
            pts = self.points[idx]
            x, y = shapely.get_x(pts), shapely.get_y(pts)
            r = radius + _GUARD
            boxes = shapely.box(x - r, y - r, x + r, y + r)
            final = bool(shapely.covers(boxes, self.box).all())
            feats = self.read(boxes)
            if feats is not None and len(feats):
                p = self._parts(feats)
                m["kinds"].update(set(p.kind.tolist()))
                self._nearest(p.parts, p.cat, idx, dist, None if final else radius + _GUARD)
            if final:
                break
            unresolved = has_point & (dist > radius).any(axis=1)

    def _overlay(self, p: _Parts, has_zone: np.ndarray, m: _Measures) -> None:
        import shapely

        parts, fid, cat, kind = p
        area, length, count = m["area"], m["length"], m["count"]

        zone_idx = np.flatnonzero(has_zone)
        zones = self.zones[zone_idx]
        # bounding-box candidates, then the exact test over threads (faster than a predicate
        # query, which tests pair by pair in one thread)
        zi_local, pj = shapely.STRtree(parts).query(zones)
        hit = threaded(shapely.intersects, zones[zi_local], parts[pj])
        zi_local, pj = zi_local[hit], pj[hit]
        if len(pj) == 0:
            return
        zi = zone_idx[zi_local]
        k = count.shape[1]
        # counts: distinct features per zone (total) and per (zone, category)
        pairs = pd.DataFrame({"z": zi, "f": fid[pj], "c": cat[pj]}).drop_duplicates(["z", "f", "c"])
        per_total = pairs.drop_duplicates(["z", "f"]).groupby("z").size()
        count[per_total.index.to_numpy(), 0] = per_total.to_numpy()
        if k > 1:
            per_cat = pairs.groupby(["z", "c"]).size()
            zz = per_cat.index.get_level_values(0).to_numpy()
            cc = per_cat.index.get_level_values(1).to_numpy()
            count[zz, cc + 1] = per_cat.to_numpy()
        for measure, want, out in (("area", "poly", area), ("length", "line", length)):
            sel = kind[pj] == want
            if not sel.any():
                continue
            z_sel, p_sel = zi[sel], pj[sel]
            zone_geoms = self.zones[z_sel]
            part_geoms = parts[p_sel]
            # no clipping where the zone holds the whole part, or the part the whole zone
            inside = threaded(shapely.covers, zone_geoms, part_geoms)
            pieces = part_geoms.copy()
            rest = np.flatnonzero(~inside)
            if len(rest):
                whole = threaded(shapely.covers, part_geoms[rest], zone_geoms[rest])
                pieces[rest[whole]] = zone_geoms[rest[whole]]
                cut = rest[~whole]
                if len(cut):
                    pieces[cut] = _of_dimension(
                        # ≈ 0.1–1 ms per pair: threads pay off from a few dozen pairs
                        threaded(shapely.intersection, zone_geoms[cut], part_geoms[cut], min_size=16),
                        2 if measure == "area" else 1,
                    )
            ov_any, ov_cat = _piece_overlaps(pieces, z_sel, cat[p_sel], measure)
            c_sel = cat[p_sel]
            if k > 1:
                for key, value in _group_measure(z_sel * k + c_sel + 1, pieces, measure, ov_cat).items():
                    out[key // k, key % k] = value
            for key, value in _group_measure(z_sel, pieces, measure, ov_any).items():
                out[key, 0] = value

    def _nearest(self, parts, cat, idx, dist, max_distance) -> None:
        import shapely

        if len(idx) == 0 or len(parts) == 0:
            return
        pts = self.points[idx]
        groups = [(0, np.arange(len(parts)))]
        if dist.shape[1] > 1:
            groups += [(c + 1, np.flatnonzero(cat == c)) for c in np.unique(cat)]
        for col, members in groups:
            tree = shapely.STRtree(parts[members])
            (src, _dst), d = tree.query_nearest(pts, max_distance=max_distance, return_distance=True, all_matches=False)
            best = np.full(len(idx), np.inf)
            np.minimum.at(best, src, d)
            dist[idx, col] = np.minimum(dist[idx, col], best)


# ------------------------------------------------------------------------------------ main entry
def overlay_indicators(
    zones: Any,
    layer: Any,
    *,
    category: str | None = None,
    name: str | None = None,
    layer_name: str | None = None,
    preset: str | None = None,
    date: str | None = None,
    source: str | None = None,
    distances: bool = True,
    coverage: Any = None,
    role: str | None = None,
) -> pd.DataFrame:
    """Area, length, count and distance of a vector layer's features for every city zone.

    For each zone (see :func:`acv_geo.zones.make_zones`), in the territory's projected CRS:

    - polygons: ``area_m2`` covered (features of one category dissolved first, so overlaps are
      counted once; the total dissolves every category) and ``pct`` of the zone's area;
    - lines: ``length_m`` inside the zone (overlapping segments counted once);
    - every geometry type: ``count`` of features that intersect the zone (its boundary included:
      a point on the boundary counts) and ``dist_m`` from the city point to the nearest feature
      (0 when the point is in or on a feature; searched within the city's territory only).

    Only where the layer has data (its *coverage*, see :mod:`acv_geo.indicators.coverage`): a zone outside it gets
    NA for every measure and a ``{name}_reason`` naming the layer and its coverage — never 0, which
    means "surveyed, nothing found".

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Result of :func:`acv_geo.zones.make_zones` (needs ``territory`` and ``city_point``).
    layer : str, path-like or geopandas.GeoDataFrame
        Any layer OGR reads (GeoPackage, Shapefile, GeoJSON, FlatGeobuf) or a GeoParquet file, of
        polygons, lines, points or a mix of them, in any CRS.
    category : str, optional
        Field whose values split the measures into categories (``{name}_{value}_{measure}``
        columns beside the totals). Matched case-insensitively when the exact name is absent.
    name : str, optional
        Column prefix (slugified). Default: the preset name, else the file stem.
    layer_name : str, optional
        Layer inside a multi-layer file (GeoPackage); required when the file holds several.
    preset : str, optional
        One of :func:`list_presets`: sets ``category``, ``name``, ``source`` and the category
        labels used in column names (explicit arguments win).
    coverage : "national", list of department codes or acv_geo.indicators.coverage.Coverage, optional
        Where the layer has data. Default: derived from its features (the departments holding at
        least 3 of them, :func:`acv_geo.indicators.coverage.derive_coverage`).
    date : str, optional
        Date or vintage of the layer, recorded in the metadata.
    source : str, optional
        Publisher and licence, recorded in the metadata (default: preset source or file name).
    distances : bool, default True
        Compute the ``dist_m`` columns. ``False`` skips the nearest-feature search (faster when
        only areas, lengths and counts are needed).
    role : {"risk", "nature", "context"}, optional
        What the layer measures, recorded in the metadata: with ``risk`` or ``nature`` the total
        share of the zone (``{name}_pct``; ``{name}_count`` for a layer without polygons) enters
        that sub-score of :func:`acv_geo.exposure_profile`. Default: the preset's role, else
        ``context`` (shown, never scored).

    Returns
    -------
    pandas.DataFrame
        Indexed exactly like ``zones`` (``insee_com``), one row per city in input order. Columns
        ``{name}_area_m2, {name}_pct`` (if the layer has polygons), ``{name}_length_m`` (lines),
        ``{name}_count, {name}_dist_m``, the same per category, and ``{name}_reason`` (why a
        value is NaN: empty zone, no feature in the territory). A zone without overlap gets 0.
        Metadata is attached to every column (:func:`acv_geo.indicator_metadata`) and a run
        report to ``attrs["acv_geo_overlay"]`` (:func:`overlay_report`).

    Raises
    ------
    InputError
        If the layer has no CRS, the category field does not exist (the message lists the
        fields), a multi-layer file is given without ``layer_name``, or ``zones`` are not zones.
    ValueError
        If ``preset`` is unknown.
    FileNotFoundError
        If ``layer`` is a path that does not exist.

    Warns
    -----
    UserWarning
        If the layer has no feature: every city gets 0 (distances NaN with a reason).

    Examples
    --------
    >>> import acv_geo
    >>> zones = acv_geo.make_zones(acv_geo.read_acv().loc[["34003", "34032"]])
    >>> df = overlay_indicators(zones, acv_geo.get_path("herault_pac_risques"), preset="pac_risques")
    >>> bool(df.loc["34003", "pac_risques_area_m2"] > 0)
    True
    """
    spec = get_preset(preset) if preset is not None else {}
    role = role if role is not None else spec.get("role", "context")
    if role not in ("risk", "nature", "context"):
        raise ValueError(f"role must be 'risk', 'nature' or 'context'; got {role!r}")
    zones = check_zones(zones)
    src = _Layer(layer, layer_name, category if category is not None else spec.get("category"), whole=distances)
    text = _texts(src, spec, name if name is not None else preset, source, date, zones)
    labels = {str(k): str(v) for k, v in (spec.get("labels") or {}).items()}
    # categories: every distinct value of the field, grouped by the slug of their label
    slug_of_raw = _category_slugs(src.category_values(), labels, src)
    cats = sorted(set(slug_of_raw.values()))
    cov = parse_coverage(coverage, where="coverage") or _derived_coverage(src)
    _warn_layer(src, cats, coverage)
    cat_index = {c: i for i, c in enumerate(cats)}
    cat_of = {v: cat_index[s] for v, s in slug_of_raw.items()} if src.category is not None else {"": 0}
    inside = cov.covers(zone_departments(zones))
    tally = _measure_zones(zones, src, cats, cat_of, distances, only=inside)  # outside: NA, nothing measured
    columns, meta = _columns(tally, cats, slug_of_raw, src.category, text, distances)
    for i in np.flatnonzero(~inside):
        tally.reasons[i] = [f"outside the coverage of {text.shown} ({cov.describe()}): not measured"]
    out = pd.DataFrame({c: np.where(inside, v, np.nan) for c, v in columns.items()}, index=zones.index.copy())
    out.index.name = zones.index.name or "insee_com"  # siren_epci for polygon_zones(read_epci())
    rcol = f"{text.base}_reason"
    out[rcol] = pd.Series(["; ".join(r) if r else None for r in tally.reasons], index=out.index, dtype=object)
    meta.append(
        {
            "column": rcol,
            "unit": "",
            "source": text.source,
            "date": text.date,
            "description": f"Why a {text.base} value is missing (NaN) for the city; empty when none is",
        }
    )
    attach_metadata(out, meta)
    main = f"{text.base}_pct" if f"{text.base}_pct" in out.columns else f"{text.base}_count"
    assign_role(out, role, scored=[main])
    out.attrs[_REPORT] = {**_report(src, cats, tally, cov, inside), "main_column": main}
    if tally.repaired:
        log.info("overlay: %d invalid geometries of %s repaired with make_valid", len(tally.repaired), src.label)
    return out


@dataclass(frozen=True)
class _Texts:
    """Names and provenance written in the output: column prefix, layer name, source, date, zone kind."""

    base: str
    shown: str
    source: str
    date: str
    zone_kind: str


def _texts(src: _Layer, spec: dict, name: str | None, source: str | None, date: str | None, zones: Any) -> _Texts:
    base = slugify(name if name is not None else src.stem)
    # metadata names the file, not the folder it sits in on this machine
    shown = src.path.name if src.path is not None else src.label
    source_text = source or spec.get("source") or shown
    if spec.get("licence") and not source:
        source_text = f"{source_text} · {spec['licence']}"
    zone_kind = str(zones["zone_kind"].iloc[0]) if "zone_kind" in zones.columns and len(zones) else "zone"
    return _Texts(base, shown, source_text, date or spec.get("date") or "", zone_kind)


def _warn_layer(src: _Layer, cats: list[str], coverage: Any) -> None:
    """Warn about a category field with too many values, and about a layer without feature."""
    if len(cats) > _MANY_CATEGORIES:
        warnings.warn(
            f"{src.label}: field {src.category!r} has {len(cats)} distinct values, so the output has "
            f"{len(cats)} × 4 category columns; pick a coarser category field",
            UserWarning,
            stacklevel=3,
        )
    if src.n_features == 0:
        warnings.warn(
            f"{src.label}: the layer has no feature; every city gets 0 (distances NaN)"
            if coverage is not None
            else f"{src.label}: the layer has no feature, so no coverage can be derived from it: every value is NA; "
            "declare coverage= (CLI --coverage) if it means 'surveyed, nothing found'",
            UserWarning,
            stacklevel=3,
        )


@dataclass
class _Tally:
    """Measures of every zone, filled territory by territory: arrays of shape (n_zones, n_cats + 1)."""

    area: np.ndarray
    length: np.ndarray
    count: np.ndarray
    dist: np.ndarray
    zone_area: np.ndarray
    reasons: list[list[str]]
    kinds: set[str]
    repaired: set[int] = field(default_factory=set)

    @classmethod
    def empty(cls, n: int, k: int, kinds: set[str]) -> _Tally:
        def nan() -> np.ndarray:
            return np.full((n, k), np.nan)

        return cls(nan(), nan(), nan(), nan(), np.full(n, np.nan), [[] for _ in range(n)], set(kinds))


def _measure_zones(
    zones: Any, src: _Layer, cats: list[str], cat_of: dict[str, int], distances: bool, only: Any = None
) -> _Tally:
    """Every zone (of the mask ``only``, if given) measured in its territory's projected CRS; the others NaN."""
    import geopandas as gpd
    import shapely

    tally = _Tally.empty(len(zones), len(cats) + 1, src.kinds())
    points = gpd.GeoSeries(zones["city_point"].values, crs=zones["city_point"].crs or zones.crs)
    terr = zones["territory"].astype(object).to_numpy()
    zone_reason = zones["zone_reason"].to_numpy() if "zone_reason" in zones.columns else [None] * len(zones)
    extent = src.bounds_wgs84() if src.n_features != 0 else None
    wanted = np.ones(len(zones), dtype=bool) if only is None else np.asarray(only, dtype=bool)
    for t in pd.unique(terr[wanted]):
        idx = np.flatnonzero((terr == t) & wanted)
        epsg = local_crs(t)
        zl = np.asarray(zones.geometry.iloc[idx].to_crs(epsg).values, dtype=object)
        zl = np.array([shapely.Polygon() if g is None else g for g in zl], dtype=object)
        pl = np.asarray(points.iloc[idx].to_crs(epsg).values, dtype=object)
        tb = TERRITORIES[t].bounds
        reachable = extent is not None and not (
            extent[2] < tb[0] or extent[0] > tb[2] or extent[3] < tb[1] or extent[1] > tb[3]
        )
        eng = _Territory(t, src, zl, pl, cats, cat_of, connect=reachable)
        if src.n_features == 0 or not reachable:
            k = len(cats) + 1
            res: _Measures = {
                "area": np.zeros((len(idx), k)),
                "length": np.zeros((len(idx), k)),
                "count": np.zeros((len(idx), k)),
                "dist": np.full((len(idx), k), np.inf),
                "kinds": set(),
            }
        else:
            res = eng.measure(_MARGIN if distances else 0.0, distances=distances)
        tally.repaired |= eng.repaired
        _record(tally, idx, zl, res, zone_reason)
        if distances:
            _record_distances(tally, idx, pl, res["dist"], _DistanceContext(t, src, cats))
    return tally


def _record(tally: _Tally, idx: np.ndarray, zl: np.ndarray, res: _Measures, zone_reason: Any) -> None:
    """Areas, lengths and counts of the zones ``idx`` of one territory; why a zone is missing."""
    import shapely

    tally.kinds |= res["kinds"]
    has_zone = ~shapely.is_empty(zl)
    ok = idx[has_zone]
    tally.area[ok], tally.length[ok] = res["area"][has_zone], res["length"][has_zone]
    tally.count[ok] = res["count"][has_zone]
    tally.zone_area[ok] = shapely.area(zl[has_zone])
    for j in np.flatnonzero(~has_zone):
        i = idx[j]
        why = zone_reason[i] if isinstance(zone_reason[i], str) else "the zone is empty"
        tally.reasons[i].append(f"no zone ({why})")


class _DistanceContext(NamedTuple):
    territory: str
    src: _Layer
    cats: list[str]


def _record_distances(tally: _Tally, idx: np.ndarray, pl: np.ndarray, d_all: np.ndarray, ctx: _DistanceContext) -> None:
    """Distances of the zones ``idx`` of one territory (NaN where none was found), and why."""
    import shapely

    t, src, cats = ctx
    shown = src.path.name if src.path is not None else src.label
    # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
    no_point = shapely.is_missing(pl) | shapely.is_empty(np.where(shapely.is_missing(pl), None, pl))  # type: ignore[call-overload]
    # the usual case (a point, every distance found) needs no reason: only the others loop
    for j in np.flatnonzero(no_point | np.isinf(d_all).any(axis=1)):
        i, d = idx[j], d_all[j]
        if no_point[j]:
            tally.reasons[i].append("no city point: distances undefined")
        elif src.n_features == 0:
            tally.reasons[i].append(f"the layer {shown} has no feature: distances undefined")
        elif np.isinf(d[0]):
            tally.reasons[i].append(f"no feature of the layer in territory {t}: distances undefined")
        else:
            missing = [cats[c] for c in np.flatnonzero(np.isinf(d[1:]))]
            tally.reasons[i].append(
                f"no feature of categor{'y' if len(missing) == 1 else 'ies'} "
                f"{', '.join(missing)} in territory {t}: those distances undefined"
            )
    has_pt = idx[~no_point]
    tally.dist[has_pt] = np.where(np.isinf(d_all[~no_point]), np.nan, d_all[~no_point])


def _columns(
    tally: _Tally, cats: list[str], slug_of_raw: dict[str, str], category: str | None, text: _Texts, distances: bool
) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Output columns (total, then each category) and their metadata rows."""
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(tally.zone_area[:, None] > 0, tally.area / tally.zone_area[:, None] * 100.0, np.nan)
    measures = []
    if "poly" in tally.kinds:
        measures += [("area_m2", tally.area), ("pct", pct)]
    if "line" in tally.kinds:
        measures.append(("length_m", tally.length))
    measures.append(("count", tally.count))
    if distances:
        measures.append(("dist_m", tally.dist))
    raw_by_slug: dict[str, list[str]] = {}
    for v, s in slug_of_raw.items():
        raw_by_slug.setdefault(s, []).append(v)
    columns: dict[str, np.ndarray] = {}
    meta: list[dict] = []
    for col in range(len(cats) + 1):
        if col == 0:
            prefix, what = text.base, f"features of {text.shown}"
        else:
            slug = cats[col - 1]
            prefix = f"{text.base}_{slug}"
            values = ", ".join(repr(v) for v in raw_by_slug[slug])
            what = f"features of {text.shown} with {category} = {values}"
        for measure, arr in measures:
            cname = f"{prefix}_{measure}"
            columns[cname] = arr[:, col]
            meta.append(
                {"column": cname, "source": text.source, "date": text.date, **_describe(measure, what, text.zone_kind)}
            )
    return columns, meta


def _report(src: _Layer, cats: list[str], tally: _Tally, cov: Any, inside: np.ndarray) -> dict[str, Any]:
    """What :func:`overlay_report` returns."""
    return {
        "layer": src.label,
        "layer_name": src.layer_name,
        "layer_crs": src.crs.to_string(),
        "category": src.category,
        "categories": cats,
        "geometry_kinds": sorted(tally.kinds),
        "n_features": src.n_features,
        "features_read": src.stats["features_read"],
        "reads": src.stats["reads"],
        "n_repaired": len(tally.repaired),
        "repaired_fids": sorted(tally.repaired),
        "coverage": cov.to_dict(),
        "n_outside_coverage": int((~inside).sum()),
    }


def _describe(measure: str, what: str, zone_kind: str) -> dict[str, str]:
    crs = "in the territory's projected CRS"
    if measure == "area_m2":
        return {
            "unit": "m2",
            "description": f"Area of the {zone_kind} zone covered by {what} (overlapping features dissolved), {crs}",
        }
    if measure == "pct":
        return {"unit": "%", "description": f"Share of the {zone_kind} zone's area covered by {what}, {crs}"}
    if measure == "length_m":
        return {
            "unit": "m",
            "description": f"Length of {what} inside the {zone_kind} zone (overlapping segments counted once), {crs}",
        }
    if measure == "count":
        return {
            "unit": "count",
            "description": f"Number of {what} intersecting the {zone_kind} zone (boundary included)",
        }
    return {
        "unit": "m",
        "description": f"Distance from the city point to the nearest of {what} "
        f"(0 inside; searched within the city's territory), {crs}",
    }
