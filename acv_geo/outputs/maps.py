"""Maps of France with the overseas territories in insets, for any per-city or per-EPCI column.

One concept lives here: *drawing a French map honestly*. The mainland is drawn in Lambert-93
(EPSG:2154); each overseas territory present in the data gets its own inset axes, drawn at its
true position in its own projected CRS (:func:`acv_geo.core.territories.local_crs`), never moved into
the mainland frame. :func:`plot_map` is general (categorical or choropleth, points or polygons);
:func:`cluster_map` applies the standard LISA colours and writes a PNG atomically.

matplotlib is imported inside the functions (``import acv_geo`` stays light) and only its
object-oriented API with the Agg canvas is used: no pyplot, no global backend change.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError
from acv_geo.core.territories import TERRITORIES, local_crs, territory_of

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["CLUSTER_COLORS", "OVERSEAS", "TOWN_MAP_COLORS", "cluster_map", "plot_map", "town_map_svg"]

#: Standard cluster colours (GeoDa's LISA palette, plus Gi* and join-count labels).
CLUSTER_COLORS: dict[str, str] = {
    "HH": "#d7191c",
    "LL": "#2c7bb6",
    "LH": "#abd9e9",
    "HL": "#fdae61",
    "hot": "#d7191c",
    "cold": "#2c7bb6",
    "BB cluster": "#d7191c",
    "not significant": "lightgrey",
    "isolated": "#636363",
    "NA": "white",
}
#: Overseas territories, in inset order (top to bottom).
OVERSEAS = ("guadeloupe", "martinique", "guyane", "reunion", "mayotte")
_KINDS = ("categorical", "choropleth")
# Mainland frame in EPSG:2154, widened to the west to leave room for the insets.
_MAIN_XLIM = (-330_000.0, 1_560_000.0)
_MAIN_YLIM = (6_030_000.0, 7_130_000.0)


def _territory_series(gdf: Any, territory_column: str) -> pd.Series:
    if territory_column in gdf.columns:
        terr = gdf[territory_column].astype(object)
        if terr.notna().all() and terr.isin(list(TERRITORIES)).all():
            return terr
    codes = [str(i) for i in gdf.index]
    if all(len(c) == 5 for c in codes):
        try:
            return pd.Series([territory_of(c) for c in codes], index=gdf.index, dtype=object)
        except ValueError:
            pass
    # Fall back to positions: which territory's bounding box holds the representative point.
    pts = gdf.geometry.to_crs(4326).representative_point()
    out = []
    for p in pts:
        name = "metropole"
        for t in TERRITORIES.values():
            x0, y0, x1, y1 = t.bounds
            if p is not None and x0 <= p.x <= x1 and y0 <= p.y <= y1:
                name = t.name
                break
        out.append(name)
    return pd.Series(out, index=gdf.index, dtype=object)


def _polygon_paths(geoms: Any) -> list:
    from matplotlib.path import Path as MplPath

    paths = []
    for geom in geoms:
        parts = getattr(geom, "geoms", [geom])
        verts: list = []
        codes: list = []
        for poly in parts:
            if poly.is_empty or poly.geom_type != "Polygon":
                continue
            for ring in (poly.exterior, *poly.interiors):
                xy = np.asarray(ring.coords)[:, :2]
                if len(xy) < 3:
                    continue
                verts.append(xy)
                c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
                c[0] = MplPath.MOVETO
                c[-1] = MplPath.CLOSEPOLY
                codes.append(c)
        if verts:
            paths.append(MplPath(np.concatenate(verts), np.concatenate(codes)))
        else:
            paths.append(None)
    return paths


def _add_paths(ax: Any, paths: list, **kwargs: Any) -> None:
    """Add polygons, already as matplotlib paths, as one collection.

    A :class:`~matplotlib.collections.PathCollection` of the paths renders exactly as a
    ``PatchCollection`` of ``PathPatch`` objects would (same paths, colours, line widths, order),
    without building one patch artist per polygon.
    """
    from matplotlib.collections import PathCollection

    ax.add_collection(PathCollection(paths, **kwargs))


def _rgba_rows(colors: Any, n: int) -> np.ndarray:
    """``colors`` (a list of colours or an (n, 4) array) as an (n, 4) RGBA float array."""
    from matplotlib.colors import to_rgba_array

    if isinstance(colors, np.ndarray) and colors.ndim == 2 and colors.shape[1] == 4:
        return colors.astype(float, copy=False)
    return to_rgba_array(list(colors)) if n else np.empty((0, 4))


def _markers(ax: Any, x: Any, y: Any, *, s: float, zorder: float, label: str | None = None, **style: Any) -> Any:
    """``ax.scatter(x, y, s=s, zorder=zorder, label=label, **style)`` built directly: the same collection, pixels.

    The collection ``Axes.scatter`` makes for round markers of one size (its marker path, sizes,
    offsets in data coordinates), without its argument parsing, which cost more than the drawing for
    the few hundred markers of a map. ``style``: ``facecolors``/``c``, ``edgecolors``, ``linewidths``,
    ``hatch``. The axes' limits are left as they are (the maps set them).
    """
    from matplotlib import rcParams
    from matplotlib.collections import PathCollection
    from matplotlib.markers import MarkerStyle
    from matplotlib.transforms import IdentityTransform

    marker = MarkerStyle("o")
    path = marker.get_path().transformed(marker.get_transform())
    faces = style.pop("c", None)
    faces = style.pop("facecolors", faces)
    style.setdefault("edgecolors", rcParams["scatter.edgecolors"])  # scatter's default ("face")
    collection = PathCollection(
        (path,),
        np.atleast_1d(np.asarray(s, dtype=float)),
        facecolors=faces,
        offsets=np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)]),
        offset_transform=ax.transData,
        **style,
    )
    collection.set_transform(IdentityTransform())
    collection.set_zorder(zorder)
    if label is not None:
        collection.set_label(label)
    ax.add_collection(collection, autolim=False)
    return collection


def _point_xy(geoms: Any) -> tuple[np.ndarray, np.ndarray]:
    """Where the markers of points and multi-points go: the point itself, or a multi-point's representative point."""
    import shapely

    g = np.asarray(geoms.array, dtype=object)
    multi = shapely.get_type_id(g) == 4
    if multi.any():
        g = g.copy()
        g[multi] = shapely.point_on_surface(g[multi])
    return shapely.get_x(g), shapely.get_y(g)


def _draw(
    ax: Any,
    geoms: Any,
    colors: Any,
    *,
    edge: str = "white",
    lw: float = 0.2,
    size: float = 18,
    zorder: int = 2,
    point_edge: float = 0.4,
) -> None:
    """Draw points as markers (outlined ``point_edge`` points wide) and polygons as patches, one colour per geometry."""
    if len(geoms) == 0:
        return
    types = geoms.geom_type.to_numpy()
    is_pt = np.isin(types, ["Point", "MultiPoint"])
    cols = _rgba_rows(colors, len(geoms))
    if is_pt.any():
        x, y = _point_xy(geoms[is_pt])
        _markers(ax, x, y, c=cols[is_pt], s=size, edgecolors="#333333", linewidths=point_edge, zorder=zorder + 1)
    poly = ~is_pt & np.isin(types, ["Polygon", "MultiPolygon"])
    if poly.any():
        paths = _polygon_paths(geoms[poly])
        keep = np.array([p is not None for p in paths], dtype=bool)
        _add_paths(
            ax,
            [p for p in paths if p is not None],
            facecolors=cols[poly][keep],
            edgecolors=edge,
            linewidths=lw,
            zorder=zorder,
        )


#: Points in a map beyond which they are drawn as dots (every commune of France: 34,867 points): outlined
#: and hatched markers would cover one another, and cost 4× more to draw.
DENSE_POINTS = 2_000

#: Size (points²) of the dots of a dense map (mainland, insets) and the grey of its places without value.
_DOT_SIZE = {"metropole": 5.0, "inset": 4.0}
_DOT_NO_DATA = "#9e9e9e"

#: How "no data" (not measured) is drawn: hatched light grey, never a colour of the scale.
NO_DATA = {"facecolor": "#f4f4f4", "edgecolor": "#8a8a8a", "hatch": "/////"}


def _draw_no_data(ax: Any, geoms: Any, *, size: float = 18, zorder: int = 2, dense: bool = False) -> None:
    """Places without a value: hatched grey polygons, hatched hollow markers (plain grey dots when ``dense``)."""
    if len(geoms) == 0:
        return
    types = geoms.geom_type.to_numpy()
    is_pt = np.isin(types, ["Point", "MultiPoint"])
    if is_pt.any() and dense:
        x, y = _point_xy(geoms[is_pt])
        # under the dots with a value (zorder + 1): a place without value never hides a measured one
        _markers(ax, x, y, s=size, c=_DOT_NO_DATA, linewidths=0, zorder=zorder, label="_nodata")
    elif is_pt.any():
        x, y = _point_xy(geoms[is_pt])
        markers = _markers(
            ax,
            x,
            y,
            s=size,
            facecolors=NO_DATA["facecolor"],
            edgecolors=NO_DATA["edgecolor"],
            hatch=NO_DATA["hatch"],
            linewidths=0.5,
            zorder=zorder + 1,
            label="_nodata",
        )
        _fast_hatch(markers)
    poly = ~is_pt & np.isin(types, ["Polygon", "MultiPolygon"])
    if poly.any():
        _add_paths(
            ax,
            [p for p in _polygon_paths(geoms[poly]) if p is not None],
            facecolors=NO_DATA["facecolor"],
            edgecolors=NO_DATA["edgecolor"],
            hatch=NO_DATA["hatch"],
            linewidths=0.3,
            zorder=zorder,
        )


def _fast_hatch(markers: Any) -> None:
    """Make the hatched markers ``markers`` (a scatter) draw in Agg as the same pixels, hatching a few times only.

    Agg hatches each marker on its own: it renders the 72-point hatch tile again for every marker, a
    hundred times the cost of the marker. Markers whose pixels do not meet paint the same pixels in
    any order, drawn one by one or as the sub-paths of one path; so the markers are grouped in
    layers of markers apart from one another (a marker in a later layer than every earlier marker
    it meets), each layer drawn as one path: one hatch tile per layer. Other renderers (PDF, SVG…)
    draw the scatter as usual.
    """
    import types

    if _layers_draw_alike():
        markers.draw = types.MethodType(_draw_in_layers, markers)


@functools.lru_cache(maxsize=1)
def _layers_draw_alike() -> bool:
    """Whether this matplotlib's Agg paints hatched markers drawn by layers as the plain ones (checked once).

    True with the matplotlib releases tested so far up to 3.9; where a release anchors hatching otherwise
    (3.11 does), the markers are drawn one by one as usual: slower, never different.
    """
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    xy = np.column_stack([np.linspace(0.5, 9.5, 40), (np.arange(40) * 7 % 19) / 2.0])
    pixels = []
    for layered in (True, False):
        fig = Figure(figsize=(2, 1.5))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 10)
        m = ax.scatter(xy[:, 0], xy[:, 1], s=40, facecolors="#f4f4f4", edgecolors="#8a8a8a", hatch="/////", lw=0.5)
        if layered:
            import types

            m.draw = types.MethodType(_draw_in_layers, m)
        buf = io.BytesIO()
        fig.savefig(buf, format="raw", dpi=60)
        pixels.append(buf.getvalue())
    return pixels[0] == pixels[1]


def _draw_in_layers(self: Any, renderer: Any) -> None:
    """``PathCollection.draw`` of hatched markers, their markers drawn by layers in Agg (:func:`_fast_hatch`)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.collections import PathCollection

    PathCollection.draw(self, _LayeringRenderer(renderer) if isinstance(renderer, RendererAgg) else renderer)


class _LayeringRenderer:
    """An Agg renderer drawing a collection of one marker and style as layers of markers apart (:func:`_fast_hatch`)."""

    def __init__(self, renderer: Any) -> None:
        self._renderer = renderer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._renderer, name)

    def draw_path_collection(self, gc: Any, master: Any, paths: Any, trans: Any, offsets: Any, *rest: Any) -> Any:
        """Agg's ``draw_path_collection``, its markers drawn as one path per layer when they share one style."""
        offset_trf, facecolors, edgecolors, linewidths, linestyles, antialiaseds, urls, _position = rest
        uniform = all(len(x) == 1 for x in (paths, facecolors, edgecolors, linewidths, antialiaseds, urls))
        if not (uniform and len(trans) <= 1 and master.is_affine and linestyles[0][1] is None):
            return self._renderer.draw_path_collection(gc, master, paths, trans, offsets, *rest)
        from matplotlib.transforms import Affine2D, IdentityTransform

        marker = Affine2D(trans[0]) + master if len(trans) else master
        centres = offset_trf.transform(np.ma.filled(np.ma.asarray(offsets, dtype=float), np.nan))
        layers = _marker_layers(paths[0], marker, centres, self.points_to_pixels(linewidths[0]))
        no_offsets, no_transforms = np.zeros((0, 2)), np.zeros((0, 3, 3))  # (N, 3, 3): matplotlib ≥ 3.10 checks it
        return self._renderer.draw_path_collection(
            gc, IdentityTransform(), layers, no_transforms, no_offsets, IdentityTransform(), *rest[1:]
        )


def _marker_layers(path: Any, marker: Any, centres: np.ndarray, linewidth: float) -> list:
    """The markers ``path`` (through ``marker``) at ``centres`` (pixels), as one path per layer of markers apart.

    Each marker goes in the layer after the last layer of the earlier markers its pixels may meet
    (boxes widened by the line width and two pixels): the markers of a layer never meet, and two
    markers that may meet are drawn in their order.
    """
    from matplotlib.path import Path as MplPath

    centres = centres[np.isfinite(centres).all(axis=1)]
    verts = marker.transform(path.vertices)
    codes = path.codes if path.codes is not None else np.full(len(verts), MplPath.LINETO, dtype=np.uint8)
    if path.codes is None:
        codes[0] = MplPath.MOVETO
    reach = 2 * (np.abs(verts).max(initial=0.0) + linewidth / 2 + 2.0)
    layer = _greedy_layers(centres, reach)
    out = []
    for k in range(layer.max(initial=-1) + 1):
        at = centres[layer == k]
        out.append(MplPath((verts[None, :, :] + at[:, None, :]).reshape(-1, 2), np.tile(codes, len(at))))
    return out


def _greedy_layers(centres: np.ndarray, reach: float) -> np.ndarray:
    """Layer of each point: one more than the highest layer of the earlier points within ``reach`` (each axis).

    Earlier points are looked up in a grid of ``reach``-wide cells (the 9 cells around), so all the communes
    of France (34,000 markers) take a fraction of a second, not a quadratic scan.

    Examples
    --------
    >>> _greedy_layers(np.array([[0.0, 0.0], [5.0, 0.0], [20.0, 0.0], [6.0, 1.0]]), 10.0).tolist()
    [0, 1, 0, 2]
    """
    layer = np.zeros(len(centres), dtype=int)
    if not len(centres) or not reach > 0:
        return layer
    xs, ys = centres[:, 0].tolist(), centres[:, 1].tolist()
    cells = np.floor(centres / reach).astype(np.int64).tolist()
    grid: dict[tuple[int, int], list[int]] = {}
    out = [0] * len(xs)
    for j, (cx, cy) in enumerate(cells):
        x, y, best = xs[j], ys[j], -1
        for key in ((cx + dx, cy + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)):
            for i in grid.get(key, ()):
                if out[i] > best and abs(xs[i] - x) <= reach and abs(ys[i] - y) <= reach:
                    best = out[i]
        out[j] = best + 1
        grid.setdefault((cx, cy), []).append(j)
    layer[:] = out
    return layer


def _scale_bar(ax: Any, length_m: float = 200_000.0) -> None:
    """A scale bar in the lower left of the mainland map (its axes are in Lambert-93 metres)."""
    x0 = _MAIN_XLIM[0] + 0.3 * (_MAIN_XLIM[1] - _MAIN_XLIM[0])
    y0 = _MAIN_YLIM[0] + 0.03 * (_MAIN_YLIM[1] - _MAIN_YLIM[0])
    ax.plot(
        [x0, x0 + length_m], [y0, y0], color="#333333", linewidth=2.5, solid_capstyle="butt", zorder=6, label="scalebar"
    )
    for x in (x0, x0 + length_m):
        ax.plot([x, x], [y0 - 8000, y0 + 8000], color="#333333", linewidth=1, zorder=6)
    ax.text(
        x0 + length_m / 2,
        y0 + 14000,
        f"{length_m / 1000:.0f} km",
        ha="center",
        va="bottom",
        fontsize=7,
        color="#333333",
        zorder=6,
    )


def _basemap() -> Any:
    from acv_geo.read.communes import read_epci

    return read_epci()


#: Fill, outline and line width of the EPCI basemap.
_BASEMAP_STYLE = {"facecolors": "#f2f2f2", "edgecolors": "#bdbdbd", "linewidths": 0.2, "zorder": 1}


def _basemap_paths() -> dict[str, list | None]:
    """The EPCI basemap of every territory, projected to its CRS, as matplotlib paths.

    Built once per process (and file version) and shared by every map of the run: reading the
    1,255 EPCI polygons, projecting them and turning them into paths cost more than drawing them.
    ``None`` for a territory without EPCI polygon (nothing is drawn).
    """
    from acv_geo.core.datasets import get_path

    path = get_path("epci")
    return _basemap_paths_cached(str(path), path.stat().st_mtime)


@functools.lru_cache(maxsize=2)
def _basemap_paths_cached(path: str, mtime: float) -> dict[str, list | None]:
    base = _basemap()
    out: dict[str, list | None] = {}
    for name in TERRITORIES:
        geoms = base[base["territory"] == name].to_crs(local_crs(name)).geometry
        poly = np.isin(geoms.geom_type.to_numpy(), ["Polygon", "MultiPolygon"])
        out[name] = [p for p in _polygon_paths(geoms[poly]) if p is not None] if poly.any() else None
    return out


def _setup_ax(ax: Any, bounds: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])


@functools.cache
def _territory_bounds(name: str) -> tuple[float, float, float, float]:
    from pyproj import Transformer

    x0, y0, x1, y1 = TERRITORIES[name].bounds
    tr = Transformer.from_crs(4326, local_crs(name), always_xy=True)
    xs, ys = tr.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    return min(xs), min(ys), max(xs), max(ys)


#: acv-geo's own category vocabularies, their values written in the map's language in a legend: the cluster labels
#: (as the report writes them; cluster maps only, :func:`_cluster_style`) and who publishes open data (the
#: ``opendata_level`` column). Values of any other column are shown as they are.
_VOCABULARIES: dict[str, dict[str, dict[str, str]]] = {
    "fr": {
        "clusters": {
            "not significant": "non significatif",
            "isolated": "isolé",
            "hot": "point chaud",
            "cold": "point froid",
        },
        "opendata_level": {"commune": "la commune", "epci": "seulement l'EPCI", "none": "personne"},
    },
    "en": {},
}

_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "no data": "pas de donnée",
        "not measured": "pas de donnée : non mesuré",
        "Sources": "Sources :",
        "Cluster": "Agrégat local",
        "caption": "{} lieux sur {} ont une valeur ; hachuré : pas de donnée (non mesuré). Carte : acv-geo, {}. "
        "Outre-mer en encarts à leur position réelle, chacun dans sa projection.",
        "dense caption": "{} lieux sur {} ont une valeur ; points gris : pas de donnée (non mesuré). Carte : "
        "acv-geo, {}. Outre-mer en encarts à leur position réelle, chacun dans sa projection.",
    },
    "en": {
        "no data": "no data",
        "not measured": "no data: not measured",
        "Sources": "Sources:",
        "Cluster": "Cluster",
        "caption": "{} of {} places with a value; hatched: no data (not measured). Map: acv-geo, {}. Overseas "
        "territories in insets at their true positions, each in its own projected CRS.",
        "dense caption": "{} of {} places with a value; grey dots: no data (not measured). Map: acv-geo, {}. "
        "Overseas territories in insets at their true positions, each in its own projected CRS.",
    },
}


@dataclass(frozen=True)
class _MapStyle:
    """What :func:`plot_map` draws and how: its drawing options, checked, passed as one value between helpers."""

    column: str
    kind: str = "categorical"
    colors: dict[str, str] | str | None = None
    title: str | None = None
    legend: bool | str = True
    source_note: str | None = None
    territory_column: str = "territory"
    basemap: bool = True
    lang: str = "fr"
    vocabulary: str | None = None  # whose values the legend translates (:data:`_VOCABULARIES`); default the column's

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind={self.kind!r} is not allowed; expected one of {', '.join(map(repr, _KINDS))}")
        if self.lang not in _WORDS:
            raise ValueError(f"lang must be one of {', '.join(_WORDS)}, got {self.lang!r}")

    @property
    def words(self) -> dict[str, str]:
        """The map's own words in its language."""
        return _WORDS[self.lang]

    @property
    def shown(self) -> dict[str, str]:
        """How the legend writes category values of acv-geo's own vocabulary in the map's language."""
        return _VOCABULARIES[self.lang].get(self.vocabulary or self.column, {})

    @property
    def legend_title(self) -> str:
        """Title of the legend or colour bar: the ``legend`` string, else the column."""
        return self.legend if isinstance(self.legend, str) else self.column


@dataclass(frozen=True)
class _Classes:
    """The categories of a categorical map: each row's key ("NA" for no value), legend order, colours."""

    keys: pd.Series
    order: list[Any]
    palette: dict[Any, Any]


@dataclass(frozen=True)
class _Colours:
    """The colour of each row (RGBA), which rows have no value, and the classes or the colour scale."""

    rows: np.ndarray
    no_value: np.ndarray
    classes: _Classes | None = None
    norm: Any = None
    cmap: Any = None


@dataclass(frozen=True)
class _Layer:
    """The rows drawn: their geometry, territory and colours, and the basemap paths of each territory."""

    geometry: Any
    territory: pd.Series
    colours: _Colours
    basemap: dict[str, list | None] | None

    @functools.cached_property
    def dense(self) -> bool:
        """More than :data:`DENSE_POINTS` points: drawn as small dots without outline, no data in plain grey."""
        return int(np.isin(self.geometry.geom_type.to_numpy(), ["Point", "MultiPoint"]).sum()) > DENSE_POINTS


def plot_map(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    kind: str = "categorical",
    colors: dict[str, str] | str | None = None,
    title: str | None = None,
    legend: bool | str = True,
    source_note: str | None = None,
    ax: Axes | None = None,
    territory_column: str = "territory",
    basemap: bool = True,
    figsize: tuple[float, float] = (10.0, 8.5),
    lang: str = "fr",
) -> Figure:
    """Map a column over mainland France with an inset for each overseas territory present.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Points or polygons with a CRS (any; each part is reprojected to its territory's CRS).
        The territory of each row comes from ``territory_column``, else from INSEE codes in the
        index, else from its position. Not modified.
    column : str
        Column to map.
    kind : {"categorical", "choropleth"}, default ``"categorical"``
        One colour per category, or a continuous colour scale (NaN drawn light grey, "no data").
    colors : dict or str, optional
        categorical: ``{category: colour}`` (order = legend order; default: :data:`CLUSTER_COLORS`
        for known labels, matplotlib's tab10 otherwise). choropleth: a colormap name (default
        ``"viridis"``).
    title : str, optional
        Figure title.
    legend : bool or str, default True
        Draw a legend (categorical) or colour bar (choropleth); a string is used as its title.
    source_note : str, optional
        Sources, written at the bottom left with the map date.
    ax : matplotlib.axes.Axes, optional
        Axes for the mainland (insets are added inside it). Default: a new Agg figure.
    territory_column : str, default ``"territory"``
        Column holding the territory.
    basemap : bool, default True
        Draw the EPCI boundaries (embedded IGN layer) in light grey under the data.
    figsize : tuple of float, default ``(10, 8.5)``
        Size of a new figure, in inches.
    lang : {"fr", "en"}, default "fr"
        Language of the map's own words (no data, caption).

    Returns
    -------
    matplotlib.figure.Figure
        The figure. The mainland axes has label ``"map:metropole"``; each inset axes has label
        ``"inset:<territory>"``.

    Raises
    ------
    ValueError
        If ``kind`` is unknown.
    acv_geo.InputError
        If ``column`` is missing, or a choropleth column is not numeric, or ``gdf`` has no CRS.
    """
    style = _MapStyle(
        column,
        kind=kind,
        colors=colors,
        title=title,
        legend=legend,
        source_note=source_note,
        territory_column=territory_column,
        basemap=basemap,
        lang=lang,
    )
    return _plot(gdf, style, ax=ax, figsize=figsize)


def _plot(gdf: Any, style: _MapStyle, *, ax: Any = None, figsize: tuple[float, float] = (10.0, 8.5)) -> Figure:
    """:func:`plot_map` with its options in ``style``: check, colour, lay out, draw, annotate."""
    layer = _layer(gdf, style)
    ax = _main_axes(ax, figsize)
    axes = _frame(ax, layer.basemap, _present(layer.territory))
    _decorate(ax.figure, axes, layer, style)
    return ax.figure


def _layer(gdf: Any, style: _MapStyle) -> _Layer:
    """The rows of ``gdf`` drawn with ``style``: checked, with their territory and colours, and the basemap."""
    data = _mapped_rows(gdf, style.column)
    return _Layer(
        data.geometry,
        # categorical: comparing 35,000 towns with each territory name compares codes, not strings
        _territory_series(data, style.territory_column).astype("category"),
        _colours(data[style.column], style),
        _basemap_paths() if style.basemap else None,
    )


def _present(territory: pd.Series) -> tuple[str, ...]:
    """The overseas territories with rows, in inset order (each gets an inset)."""
    return tuple(t for t in OVERSEAS if (territory == t).any())


def _decorate(fig: Any, axes: dict[str, Any], layer: _Layer, style: _MapStyle) -> None:
    """What changes from map to map on the frame of :func:`_frame`: the rows, title, legend and caption."""
    _draw_rows(axes, layer)
    if style.title:
        fig.suptitle(style.title, fontsize=13, y=0.97)
    if style.legend:
        _draw_legend(fig, axes["metropole"], layer, style)
    _draw_caption(fig, layer.colours.no_value, style, dense=layer.dense)


def _mapped_rows(gdf: Any, column: str) -> Any:
    """The rows of ``gdf`` with a geometry, after checking it is a GeoDataFrame with a CRS and ``column``."""
    import geopandas as gpd

    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.crs is None:
        raise InputError("plot_map needs a GeoDataFrame with a CRS (set it with gdf.set_crs(...))")
    if column not in gdf.columns:
        raise InputError(f"column {column!r} is not in the table; columns are {', '.join(map(str, gdf.columns))}")
    return gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]


def _colours(values: pd.Series, style: _MapStyle) -> _Colours:
    """The colour of each value: one per category, or on a continuous scale."""
    if style.kind == "categorical":
        return _category_colours(values, style.colors)
    return _scale_colours(values, style.column, style.colors)


def _category_colours(values: pd.Series, colors: dict[str, str] | str | None) -> _Colours:
    """One colour per category ("NA" for missing values), looked up once per category, not per row."""
    from matplotlib.colors import to_rgba

    keys = values.astype(object).where(values.notna(), "NA")
    order, palette = _category_palette(list(pd.unique(keys)), colors)
    codes, uniques = pd.factorize(keys, use_na_sentinel=False)
    lut = np.array([to_rgba(palette[k]) for k in uniques], dtype=float).reshape(-1, 4)
    return _Colours(lut[codes], (keys == "NA").to_numpy(), classes=_Classes(keys, order, palette))


def _category_palette(cats: list[Any], colors: dict[str, str] | str | None) -> tuple[list[Any], dict[Any, Any]]:
    """Legend order and colour of the categories ``cats``.

    ``colors`` (a dict) first, in its order; else the :data:`CLUSTER_COLORS` labels, then the other
    categories in tab10 colours. A category without colour is black.
    """
    from matplotlib import colormaps

    palette: dict[Any, Any]
    if isinstance(colors, dict):
        order = [c for c in colors if c in cats] + [c for c in cats if c not in colors]
        palette = dict(colors)
    else:
        others = [c for c in cats if c not in CLUSTER_COLORS]
        order = [c for c in CLUSTER_COLORS if c in cats] + others
        tab = colormaps["tab10"]
        palette = dict(CLUSTER_COLORS)
        for k, c in enumerate(others):
            palette[c] = tab(k % 10)
    for c in order:
        palette.setdefault(c, "black")
    return order, palette


def _scale_colours(values: pd.Series, column: str, colors: dict[str, str] | str | None) -> _Colours:
    """Colours of a numeric (or boolean) column on a continuous scale from its min to its max; NaN light grey."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize, to_rgba

    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        raise InputError(f"choropleth needs a numeric column; {column!r} has dtype {values.dtype}")
    v = pd.array(values, dtype="Float64").to_numpy(dtype="float64", na_value=np.nan)
    cmap = colormaps[colors if isinstance(colors, str) else "viridis"]
    finite = v[~np.isnan(v)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    norm = Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
    no_value = np.isnan(v)
    rows = np.empty((len(v), 4), dtype=float)
    rows[no_value] = to_rgba("#e0e0e0")
    if (~no_value).any():
        rows[~no_value] = cmap(norm(v[~no_value]))
    return _Colours(rows, no_value, norm=norm, cmap=cmap)


def _main_axes(ax: Any, figsize: tuple[float, float]) -> Any:
    """``ax``, or the mainland axes of a new Agg figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig.add_axes([0.02, 0.06, 0.96, 0.86])


def _frame(ax: Any, basemap: dict[str, list | None] | None, present: Sequence[str]) -> dict[str, Any]:
    """The frame of a map, the same for every map: the mainland in ``ax`` and an inset per territory of ``present``.

    Each with its basemap (if any), limits and frame, and the scale bar; no row drawn yet. Returns the
    axes of each territory drawn (``"metropole"``: ``ax``).
    """
    paths = basemap.get("metropole") if basemap is not None else None
    if paths is not None:
        _draw_basemap(ax, paths)
    _setup_ax(ax, (*_MAIN_XLIM[:1], _MAIN_YLIM[0], _MAIN_XLIM[1], _MAIN_YLIM[1]))
    ax.set_label("map:metropole")
    ax.set_axis_off()
    axes = {"metropole": ax}
    height = 0.17
    for k, name in enumerate(present):
        inset = ax.inset_axes([0.005, 0.99 - (k + 1) * (height + 0.018), 0.17, height])
        inset.set_label(f"inset:{name}")
        paths = basemap.get(name) if basemap is not None else None
        if paths is not None:
            _draw_basemap(inset, paths)
        _setup_ax(inset, _territory_bounds(name))
        inset.set_title(TERRITORIES[name].label, fontsize=7, pad=2)
        for s in inset.spines.values():
            s.set_edgecolor("#888888")
            s.set_linewidth(0.6)
        axes[name] = inset
    _scale_bar(ax)
    return axes


#: Geometries projected by :func:`_projected`: {(territory, CRS, WKB digest): GeometryArray}; a few entries.
_PROJECTED: dict[tuple, Any] = {}


def _geometry_digest(geoms: np.ndarray) -> str:
    """A digest of the geometries: their coordinates when all are points (a point is its coordinates), else their WKB.

    Digesting the coordinates of 35,000 points costs a tenth of writing their WKB (≈ 17 ms per map of every
    commune); the number of coordinates of each geometry and its type are digested too, so that an empty
    point or another order cannot give the same bytes.
    """
    import hashlib

    import shapely

    digest = hashlib.blake2b(digest_size=16)
    types = shapely.get_type_id(geoms)
    if len(types) and (types == 0).all():
        digest.update(b"points")
        digest.update(shapely.get_num_coordinates(geoms).astype(np.int64).tobytes())
        digest.update(shapely.get_coordinates(geoms, include_z=True).tobytes())
    else:
        digest.update(b"wkb")
        for wkb in shapely.to_wkb(geoms, hex=False):
            digest.update(len(wkb).to_bytes(8, "little"))
            digest.update(wkb)
    return digest.hexdigest()


def _projected(geoms: Any, territory: str) -> Any:
    """``geoms`` in the CRS of ``territory``; the same geometries are projected once per process.

    The maps of a run draw the same towns again and again: their projection is kept, keyed by the
    territory, the source CRS and a digest of the geometries (:func:`_geometry_digest`: same geometries,
    same result); the series returned carries the labels of ``geoms``.
    """
    import geopandas as gpd

    key = (territory, str(geoms.crs), _geometry_digest(np.asarray(geoms.array)))
    hit = _PROJECTED.get(key)
    if hit is None:
        if len(_PROJECTED) >= 16:
            _PROJECTED.clear()
        hit = _PROJECTED[key] = geoms.to_crs(local_crs(territory)).array
    return gpd.GeoSeries(hit, index=geoms.index, crs=hit.crs)  # the caller's labels on the cached geometries


def _draw_rows(axes: dict[str, Any], layer: _Layer) -> None:
    """The rows of each territory in its axes, in its CRS: coloured, or hatched when without value."""
    for name, target in axes.items():
        mask = (layer.territory == name).to_numpy()
        if mask.any():
            part = _projected(layer.geometry[mask], name)
            blank = layer.colours.no_value[mask]
            cols = layer.colours.rows[mask]
            if layer.dense:
                size = _DOT_SIZE["metropole" if name == "metropole" else "inset"]
                _draw(target, part[~blank], cols[~blank], size=size, point_edge=0.0)
            else:
                size = 22 if name == "metropole" else 16
                _draw(target, part[~blank], cols[~blank], size=size)
            _draw_no_data(target, part[blank], size=size, dense=layer.dense)


def _draw_basemap(target: Any, paths: list) -> None:
    """The EPCI basemap paths of one territory, in :data:`_BASEMAP_STYLE`."""
    from matplotlib.colors import to_rgba

    fill = np.tile(to_rgba(_BASEMAP_STYLE["facecolors"]), (len(paths), 1))
    _add_paths(target, paths, **{**_BASEMAP_STYLE, "facecolors": fill})


def _draw_legend(fig: Any, ax: Any, layer: _Layer, style: _MapStyle) -> None:
    """The legend of the categories, or the colour bar (and the no-data box) of a choropleth."""
    classes = layer.colours.classes
    if classes is not None:
        points = bool(layer.geometry.geom_type.isin(["Point", "MultiPoint"]).all())
        handles = _category_handles(classes, points, style.words, dense=layer.dense, shown=style.shown)
        # upper right: east of Alsace, where the mainland axes show nothing (lower right is Corsica)
        ax.legend(
            handles=handles, title=style.legend_title, loc="upper right", fontsize=8, title_fontsize=9, frameon=True
        )
    else:
        _draw_colour_bar(fig, ax, layer.colours, style, dense=layer.dense)


def _no_data_handle(label: str, dense: bool) -> Any:
    """The legend entry of places without value: a hatched box, or a grey dot on a dense map."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if dense:
        return Line2D([], [], marker="o", linestyle="", color=_DOT_NO_DATA, markersize=5, label=label)
    return Patch(label=label, **NO_DATA)


def _category_handles(
    classes: _Classes, points: bool, words: dict[str, str], *, dense: bool = False, shown: dict[str, str] | None = None
) -> list:
    """Legend handles of the categories, with their counts: markers for points, boxes for polygons.

    ``shown``: how some category values are written in the map's language (others as they are).
    """
    shown = shown or {}
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    counts = classes.keys.value_counts()
    handles = []
    for c in classes.order:
        n = int(counts.get(c, 0))
        if c == "NA":
            handles.append(_no_data_handle(f"{words['no data']} ({n})", dense))
        elif points:
            colour = classes.palette[c]
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    linestyle="",
                    markerfacecolor=colour,
                    markeredgecolor="#333333",
                    markersize=7,
                    label=f"{shown.get(c, c)} ({n})",
                )
            )
        else:
            handles.append(Patch(facecolor=classes.palette[c], edgecolor="#999999", label=f"{shown.get(c, c)} ({n})"))
    return handles


def _draw_colour_bar(fig: Any, ax: Any, colours: _Colours, style: _MapStyle, *, dense: bool = False) -> None:
    """The colour bar of a choropleth in the lower right, and a hatched "not measured" box if any row has no value."""
    _colour_bar(ax, colours.norm, colours.cmap, style.legend_title)
    if colours.no_value.any():
        label = f"{style.words['not measured']} ({int(colours.no_value.sum())})"
        ax.legend(
            handles=[_no_data_handle(label, dense)],
            loc="lower right",
            bbox_to_anchor=(0.9, 0.0),
            fontsize=8,
        )


#: Where the colour bar stands in the mainland axes: x, y, width, height (fractions of the axes).
_BAR = (0.93, 0.05, 0.02, 0.35)

#: Points: tick length, gap between tick and label, gap between tick labels and the bar's title.
_BAR_TICK, _BAR_PAD, _BAR_LABEL_PAD = 3.5, 3.5, 4.0


def _colour_bar(ax: Any, norm: Any, cmap: Any, label: str) -> None:
    """A vertical colour bar drawn with a few artists of ``ax`` (no axes of its own, which cost more to make).

    The gradient of ``cmap`` over ``norm``'s range, its outline, ticks at matplotlib's usual places
    (``MaxNLocator`` with the steps of ``AutoLocator``, one tick per 14 points at most, 9 at most),
    their labels (``ScalarFormatter``, offset or exponent written above the bar) and the
    rotated ``label`` beyond the widest tick label.
    """
    from matplotlib.colors import Normalize
    from matplotlib.image import BboxImage
    from matplotlib.lines import Line2D
    from matplotlib.markers import TICKRIGHT
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import Bbox, TransformedBbox, offset_copy

    x, y, w, h = _BAR
    lo, hi = float(norm.vmin), float(norm.vmax)
    gradient = BboxImage(
        TransformedBbox(Bbox.from_bounds(x, y, w, h), ax.transAxes),
        cmap=cmap,
        norm=Normalize(0.0, 1.0),
        interpolation="nearest",
        origin="lower",
    )
    gradient.set_data(np.linspace(0.0, 1.0, cmap.N).reshape(-1, 1))
    ticks, texts, offset = _bar_ticks(lo, hi, ax.bbox.height * h / ax.figure.dpi * 72.0)
    ty = y + h * (ticks - lo) / (hi - lo)
    artists = [
        gradient,
        Rectangle((x, y), w, h, transform=ax.transAxes, fill=False, edgecolor="black", linewidth=0.8),
        Line2D(
            np.full(len(ty), x + w),
            ty,
            transform=ax.transAxes,
            linestyle="",
            marker=TICKRIGHT,
            markersize=_BAR_TICK,
            markeredgewidth=0.8,
            color="black",
        ),
    ]
    at_labels = offset_copy(ax.transAxes, ax.figure, x=_BAR_TICK + _BAR_PAD, units="points")
    labels = [
        ax.text(x + w, v, t, transform=at_labels, fontsize=7, ha="left", va="center_baseline")
        for v, t in zip(ty, texts, strict=True)
    ]
    if offset:
        labels.append(ax.text(x + w, y + h, offset, transform=at_labels, fontsize=7, ha="left", va="bottom"))
    title = _late_texts().Beyond(
        x + w, y + h / 2, label, fontsize=8, rotation=90, ha="left", va="center", transform=ax.transAxes
    )
    title.beyond = (tuple(labels), _BAR_LABEL_PAD)
    ax.add_artist(title)
    labels.append(title)
    for a in artists:
        ax.add_artist(a)
    for a in [*artists, *labels]:
        a.set_clip_on(False)
        a.set_zorder(5)
        a.set_label("colorbar")


@functools.cache
def _late_texts() -> Any:
    """Text classes laid out when drawn, at the dpi of the draw (``savefig(dpi=...)`` included).

    ``Fitted``: a left-aligned figure text cut into lines that fit the figure (:func:`fit_lines`).
    ``Beyond``: a text whose ``beyond = (texts, pad_points)`` moves it right of the widest of those texts.
    """
    from types import SimpleNamespace

    from matplotlib.text import Text
    from matplotlib.transforms import Affine2D

    class Fitted(Text):
        def draw(self, renderer: Any) -> None:
            if not self.get_visible():
                return
            raw = self.get_text()
            self.set_text(fit_lines(self, renderer))
            try:
                super().draw(renderer)
            finally:
                self.set_text(raw)

    class Beyond(Text):
        beyond: tuple[tuple[Any, ...], float] = ((), 0.0)

        @contextlib.contextmanager
        def _moved(self, renderer: Any) -> Iterator[None]:
            texts, pad = self.beyond
            base = self.get_transform()
            x0 = base.transform(self.get_position())[0]
            right = max((t.get_window_extent(renderer).x1 for t in texts if t.get_text()), default=x0)
            self.set_transform(base + Affine2D().translate(right - x0 + renderer.points_to_pixels(pad), 0.0))
            try:
                yield
            finally:
                self.set_transform(base)

        def draw(self, renderer: Any) -> None:
            if self.get_visible():
                with self._moved(renderer):
                    super().draw(renderer)

        def get_window_extent(self, renderer: Any = None, dpi: Any = None) -> Any:
            renderer = renderer or self.figure.canvas.get_renderer()
            with self._moved(renderer):
                return super().get_window_extent(renderer, dpi)

    return SimpleNamespace(Fitted=Fitted, Beyond=Beyond)


def _bar_ticks(lo: float, hi: float, height_pt: float) -> tuple[np.ndarray, list[str], str]:
    """Ticks of a colour bar from ``lo`` to ``hi`` ``height_pt`` points tall, their labels and offset text.

    Examples
    --------
    >>> ticks, labels, offset = _bar_ticks(99.08, 99.93, 184.0)
    >>> labels
    ['99.1', '99.2', '99.3', '99.4', '99.5', '99.6', '99.7', '99.8', '99.9']
    >>> _bar_ticks(0.0, 2_500_000.0, 184.0)[1:]
    (['0.0', '0.5', '1.0', '1.5', '2.0', '2.5'], '1e6')
    """
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    bins = max(1, min(9, int(height_pt // 14)))
    ticks = MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    slack = (hi - lo) * 1e-10
    ticks = ticks[(ticks >= lo - slack) & (ticks <= hi + slack)]
    fmt = ScalarFormatter()
    fmt.create_dummy_axis()
    fmt.axis.set_view_interval(lo, hi)
    fmt.set_locs(ticks)
    return ticks, [fmt(t) for t in ticks], fmt.get_offset()


def _draw_caption(fig: Any, no_value: np.ndarray, style: _MapStyle, *, dense: bool = False) -> None:
    """The caption at the bottom left: sources, places with a value, map date, how the overseas are drawn."""
    words = style.words
    note = words["dense caption" if dense else "caption"].format(
        int((~no_value).sum()), len(no_value), _dt.date.today().isoformat()
    )
    if style.source_note:
        note = f"{words['Sources']} {style.source_note}. " + note
    caption = _late_texts().Fitted(0.01, 0.01, note, fontsize=7, color="#444444", ha="left", va="bottom")
    fig.add_artist(caption)


#: Share of the width between a caption's start and the figure's right edge that its lines aim at
#: (the sum of the glyphs' advances is within a few % of the width matplotlib draws, 3.6-3.11).
_WRAP_MARGIN = 0.98


def fit_lines(text: Any, renderer: Any) -> str:
    """The string of a left-aligned figure ``text`` cut into lines that end before the figure's right edge.

    The lines are cut by :func:`wrap_text` at the figure's dpi, then the text so cut is laid out once
    (matplotlib keeps that layout for the draw) and cut shorter in the rare case it overflows.
    Replaces matplotlib's ``wrap=True``, which measures a growing string once per word. The text's
    own string is left as it was.
    """
    fig = text.figure
    raw = text.get_text()
    available = fig.bbox.width * (1.0 - text.get_position()[0])
    limit = available * _WRAP_MARGIN
    lines = raw
    try:
        for _attempt in range(4):
            lines = wrap_text(raw, limit, fontsize=text.get_fontsize(), dpi=fig.dpi)
            text.set_text(lines)
            width = text.get_window_extent(renderer).width
            if width <= available:
                break
            limit *= available / width * _WRAP_MARGIN
    finally:
        text.set_text(raw)
    return lines


def wrap_text(text: str, width: float, *, fontsize: float, dpi: float) -> str:
    """``text`` broken at spaces into lines of at most ``width`` pixels at ``fontsize`` points and ``dpi``.

    Each line takes as many words as fit; a word longer than the width stays whole on its line. The
    width of a line is the sum of its characters' advances in matplotlib's default font.

    Examples
    --------
    >>> print(wrap_text("un deux trois " * 3, 100, fontsize=10, dpi=100))
    un deux
    trois un
    deux trois
    un deux
    trois
    """
    space = _advance(" ", float(fontsize), float(dpi))
    lines = []
    for paragraph in text.split("\n"):
        line: list[str] = []
        used = 0.0
        for word in paragraph.split(" "):
            w = sum(_advance(c, float(fontsize), float(dpi)) for c in word)
            if line and used + space + w > width:
                lines.append(" ".join(line))
                line, used = [word], w
            else:
                used += (space if line else 0.0) + w
                line.append(word)
        lines.append(" ".join(line))
    return "\n".join(lines)


@functools.lru_cache(maxsize=2048)
def _advance(char: str, fontsize: float, dpi: float) -> float:
    """The advance in pixels of ``char`` in matplotlib's default font at ``fontsize`` points and ``dpi``."""
    from matplotlib.font_manager import FontProperties, findfont, get_font

    font = get_font(findfont(FontProperties(size=fontsize)))
    font.set_size(fontsize, dpi)  # matplotlib sets the size before each use of this shared font object
    return float(font.load_char(ord(char)).linearHoriAdvance) / 65536.0


# --------------------------------------------------------------------------------------------
# The maps of a run, drawn on a frame rendered once per process


@dataclass
class _Skeleton:
    """A figure holding the frame of :func:`_frame`, and the pixels of the start of its draw.

    ``background``: the pixels after drawing the artists of ``under`` (by ``id``: the figure's patch,
    the mainland axes' basemap), the ones a full draw paints before any of a map's own artists.
    ``insets``: the start of the draw of each inset (:class:`_InsetStart`, by the inset's ``id``);
    ``rc``: matplotlib's settings it was drawn with.
    """

    fig: Any
    axes: dict[str, Any]
    basemap: dict[str, list | None] | None
    background: Any
    under: frozenset[int]
    insets: dict[int, _InsetStart]
    rc: dict[str, Any]


@dataclass(frozen=True)
class _InsetStart:
    """The pixels an inset's draw paints first, over the background, before a map's rows.

    Drawing the artists ``first`` (by ``id``: patch, basemap, axis) of the inset over the pixels
    ``before`` of the rows ``rows`` and columns ``cols`` of the image turns them into ``after``, and
    changes no other pixel.
    """

    first: frozenset[int]
    rows: slice
    cols: slice
    before: np.ndarray
    after: np.ndarray


#: The lowest zorder of a map's own artists (polygons 2, points 3; legend and colour bar 5).
_ROWS_ZORDER = 2

#: The skeletons of this process, by (territories present, basemap drawn, dpi), and their lock.
_SKELETONS: dict[tuple, _Skeleton] = {}
_SKELETON_LOCK = threading.Lock()


def _skeleton(present: tuple[str, ...], basemap: dict[str, list | None] | None, dpi: int) -> _Skeleton:
    """The frame of the maps with these insets and basemap at ``dpi``, built and rendered once per process.

    The background is a full draw of the figure with the artists drawn after the first one of
    zorder ≥ :data:`_ROWS_ZORDER` hidden: what a full draw of any map has painted before its rows.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    key = (present, basemap is not None, dpi)
    sk = _SKELETONS.get(key)
    rc = dict(mpl.rcParams)
    if sk is not None and sk.basemap is basemap and sk.rc == rc:  # same basemap, same matplotlib settings
        return sk
    if len(_SKELETONS) >= 4:
        _SKELETONS.clear()
    fig = Figure(figsize=(10.0, 8.5), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = _frame(fig.add_axes([0.02, 0.06, 0.96, 0.86]), basemap, present)
    under, over = _split(fig, lambda a: a.get_zorder() >= _ROWS_ZORDER)
    for a in over:
        a.set_visible(False)
    try:
        fig.canvas.draw()
    finally:
        for a in over:
            a.set_visible(True)
    background = fig.canvas.copy_from_bbox(fig.bbox)
    base = np.asarray(fig.canvas.get_renderer().buffer_rgba()).copy()
    insets = {id(ax): start for ax in list(axes.values())[1:] if (start := _inset_start(ax, base)) is not None}
    sk = _Skeleton(fig, axes, basemap, background, frozenset(map(id, under)), insets, rc)
    _SKELETONS[key] = sk
    return sk


def _inset_start(ax: Any, base: np.ndarray) -> _InsetStart | None:
    """The start of the draw of inset ``ax`` (artists of zorder < :data:`_ROWS_ZORDER`) over the background.

    ``base``: the pixels of the background, in the canvas now. Drawn once here; None when it paints
    outside the inset's box widened by half its frame's width and a pixel. The inset is then drawn
    whole once (what is set while drawing, its title's position, as a full draw sets it), and the
    canvas given back its background.
    """
    renderer = ax.figure.canvas.get_renderer()
    buf = np.asarray(renderer.buffer_rgba())
    order = _draw_order(ax)
    first = [a for a in order if a.get_zorder() < _ROWS_ZORDER]
    rest = [a for a in order if a.get_zorder() >= _ROWS_ZORDER]
    if order[: len(first)] != first:
        return None
    for a in rest:
        a.set_visible(False)
    try:
        ax.draw(renderer)
    finally:
        for a in rest:
            a.set_visible(True)
    h, w = buf.shape[:2]
    x0, y0, x1, y1 = ax.bbox.extents
    lw = max((s.get_linewidth() for s in ax.spines.values()), default=0.0)
    pad = 1 + int(np.ceil(renderer.points_to_pixels(lw) / 2))  # the frame's half width, antialiasing
    rows = slice(max(int(h - y1) - pad, 0), min(int(np.ceil(h - y0)) + pad, h))
    cols = slice(max(int(x0) - pad, 0), min(int(np.ceil(x1)) + pad, w))
    changed = buf.view(np.uint32)[..., 0] != base.view(np.uint32)[..., 0]  # a pixel's 4 bytes at once
    changed[rows, cols] = False
    start = None
    if not changed.any():
        start = _InsetStart(frozenset(map(id, first)), rows, cols, base[rows, cols], buf[rows, cols].copy())
    ax.draw(renderer)
    buf[...] = base
    return start


def _resume_inset(ax: Any, start: _InsetStart, renderer: Any) -> bool:
    """Draw inset ``ax`` from its :class:`_InsetStart` if the draw so far left its pixels as in the background.

    The draw of ``ax`` is then its start's pixels, then its other artists in its order. False (nothing
    drawn) if the start's artists are not the first ones of its draw (a map's artist among them) or
    the pixels under the start were painted.
    """
    order = _draw_order(ax)
    m = len(start.first)
    buf = np.asarray(renderer.buffer_rgba())
    if {id(a) for a in order[:m]} != start.first or not np.array_equal(buf[start.rows, start.cols], start.before):
        return False
    buf[start.rows, start.cols] = start.after
    for a in order[m:]:
        a.draw(renderer)
    return True


def _map_png(gdf: Any, style: _MapStyle, *, path: Path, dpi: int) -> Path:
    """Draw the map of ``gdf`` in ``style`` (as :func:`_plot` does) into ``path``, a 256-colour PNG.

    The frame (axes, insets, basemap, scale bar) is built and its start rendered once per process
    (:func:`_skeleton`); each map adds its own artists (rows, title, legend, caption) to it with the
    code of :func:`_plot`, and from the pixels of that start, draws the rest of the figure as a full
    draw would (:func:`_draw_on`), then removes them: the pixels of :func:`_plot`'s figure saved at
    ``dpi``. When that cannot be told (its artists drawn before the frame's start), the whole figure
    is drawn instead. One map at a time per process (a lock).
    """
    layer = _layer(gdf, style)
    with _SKELETON_LOCK:
        sk = _skeleton(_present(layer.territory), layer.basemap, dpi)
        rgba = _draw_on(sk, lambda: _decorate(sk.fig, sk.axes, layer, style))
    if rgba is None:
        rgba = _figure_rgba(_plot(gdf, style), dpi)
    return _write_palette_png(rgba, path)


def _figure_rgba(fig: Any, dpi: int) -> np.ndarray:
    """The pixels of ``fig`` rendered as ``savefig`` renders a PNG at ``dpi``, as an (h, w, 4) array."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="raw", dpi=dpi)
    w = int(fig.get_figwidth() * dpi)
    return np.frombuffer(buf.getvalue(), dtype=np.uint8).reshape(-1, w, 4)


def _prepare_frame(gdf: Any, style: _MapStyle, *, dpi: int) -> None:
    """Build the frame :func:`_map_png` draws this map on (once per process; before forking workers).

    Only what the frame depends on is computed: the territories with rows, and the basemap.
    """
    data = _mapped_rows(gdf, style.column)
    present = _present(_territory_series(data, style.territory_column))
    _layers_draw_alike()  # checked once here, before any fork
    with _SKELETON_LOCK:
        _skeleton(present, _basemap_paths() if style.basemap else None, dpi)


#: zlib level of the map PNGs: level 2 deflates the 26 maps of a run 4× faster than Pillow's default 6,
#: for files 23 % larger (1.68 MiB instead of 1.37 MiB; ``benchmarks/bench_maps.py``).
PNG_COMPRESS_LEVEL = 2


def warm_up() -> None:
    """Import matplotlib and build the EPCI basemap of every territory in this process (before knowing the towns).

    What :func:`prepare_frame` needs that does not depend on the towns: a map process forked at the
    start of a run does it while the towns are read.

    Examples
    --------
    >>> warm_up()
    """
    _layers_draw_alike()  # checked once here, before any fork
    _basemap_paths()


def prepare_frame(present: tuple[str, ...], *, dpi: int, basemap: bool = True) -> None:
    """Build the frame of maps with insets ``present`` at ``dpi`` in this process (before the maps, or a fork).

    Examples
    --------
    >>> prepare_frame(("guadeloupe",), dpi=20, basemap=False)
    """
    _layers_draw_alike()  # checked once here, before any fork
    with _SKELETON_LOCK:
        _skeleton(present, _basemap_paths() if basemap else None, dpi)


def _write_palette_png(rgba: np.ndarray, path: Path) -> Path:
    """Write an (h, w, 4) RGBA array as a 256-colour PNG (Pillow's fast octree), as the report embeds it."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(rgba), "RGBA")
    method = getattr(getattr(Image, "Quantize", None), "FASTOCTREE", 2)
    small = im.convert("RGB").quantize(colors=256, method=method)
    small.save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return path


def _draw_on(sk: _Skeleton, add: Any) -> np.ndarray | None:
    """The pixels of the full draw of ``sk`` with the artists ``add()`` puts on it; None if it cannot tell.

    From the background, the rest of a full draw: every artist from the first new one on, in the order
    of the figure's draw. That is the full draw exactly when the artists before the first new one are
    those of the background (``sk.under``); otherwise None. The new artists are removed afterwards.
    """
    fig = sk.fig
    before = {id(a) for a in _walk(fig)}
    suptitle = getattr(fig, "_suptitle", None)
    try:
        add()
        renderer = fig.canvas.get_renderer()
        under, _over = _split(fig, lambda a: id(a) not in before)
        if {id(a) for a in under} != sk.under:
            return None
        fig.canvas.restore_region(sk.background)
        for a in _over:
            start = sk.insets.get(id(a))
            if start is None or not _resume_inset(a, start, renderer):
                a.draw(renderer)
        return np.asarray(renderer.buffer_rgba()).copy()
    finally:
        for a in [a for a in _walk(fig, before) if id(a) not in before]:
            a.remove()
        if getattr(fig, "_suptitle", None) is not suptitle:
            fig._suptitle = suptitle  # fig.suptitle reuses its text: the next map's must be new again


def _walk(container: Any, only: set[int] | None = None) -> list:
    """The artists a full draw of ``container`` visits, depth first into the axes (of ``only``, if given)."""
    from matplotlib.axes import Axes

    out = []
    for a in container.get_children():
        out.append(a)
        if isinstance(a, Axes) and (only is None or id(a) in only):
            out += _walk(a, only)
    return out


def _draw_order(container: Any) -> list:
    """The artists a figure's or axes' ``draw`` draws itself, in its order: patch first, hidden frame left out."""
    from matplotlib.axes import Axes

    children = container.get_children()
    children.remove(container.patch)
    first = [container.patch]
    if isinstance(container, Axes):
        hidden = []
        if not (container.axison and container.get_frame_on()):
            hidden += [container.patch, *container.spines.values()]
        if not container.axison:
            hidden += [container.xaxis, container.yaxis]
        children = [a for a in children if not any(a is h for h in hidden)]
        first = [a for a in first if not any(a is h for h in hidden)]
    return first + sorted((a for a in children if not a.get_animated()), key=lambda a: a.get_zorder())


def _split(fig: Any, late: Any) -> tuple[list, list]:
    """The draw of ``fig`` cut before the first artist for which ``late(artist)`` holds.

    Returns the artists drawn before the cut (axes opened before it are walked into, not listed) and
    the artists drawn from it on, whole (their ``draw`` paints them and their children): painting
    the first list then drawing the second is the figure's draw.
    """
    from matplotlib.axes import Axes

    under: list = []
    over: list = []

    def walk(container: Any) -> None:
        for a in _draw_order(container):
            if over or late(a):
                over.append(a)
            elif isinstance(a, Axes) and a is not container:
                walk(a)
            else:
                under.append(a)

    walk(fig)
    return under, over


def cluster_map(
    result_frame: pd.DataFrame,
    geometries: gpd.GeoDataFrame | gpd.GeoSeries,
    path: str | os.PathLike,
    *,
    title: str | None = None,
    source_note: str | None = None,
    column: str = "label",
    territory_column: str = "territory",
    basemap: bool = True,
    dpi: int = 150,
    lang: str = "fr",
) -> Path:
    """Write a cluster map (standard LISA colours) as PNG, atomically.

    Parameters
    ----------
    result_frame : pandas.DataFrame
        ``LocalResult.to_frame()`` (or any table with a ``label`` column), indexed like
        ``geometries``.
    geometries : geopandas.GeoDataFrame or geopandas.GeoSeries
        Points or polygons of the same units (e.g. ``read_acv()``, ``read_epci()``), with a CRS.
    path : str or path-like
        Destination ``.png``.
    title, source_note : str, optional
        Title; sources written at the bottom.
    column : str, default ``"label"``
        Column holding the cluster labels.
    territory_column : str, default ``"territory"``
        Territory column of ``geometries`` (else derived from the index or the positions).
    basemap : bool, default True
        Draw EPCI boundaries under the data.
    dpi : int, default 150
        Resolution.
    lang : {"fr", "en"}, default "fr"
        Language of the map's own words.

    Returns
    -------
    pathlib.Path
        The PNG written.

    Raises
    ------
    acv_geo.InputError
        If units of ``result_frame`` have no geometry (the message names them).
    """
    from acv_geo.core.files import atomic_path

    style = _cluster_style(
        title=title,
        source_note=source_note,
        column=column,
        territory_column=territory_column,
        basemap=basemap,
        lang=lang,
    )
    fig = _cluster_figure(result_frame, geometries, style)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return Path(path)


def _cluster_style(
    *,
    title: str | None = None,
    source_note: str | None = None,
    column: str = "label",
    territory_column: str = "territory",
    basemap: bool = True,
    lang: str = "fr",
) -> _MapStyle:
    """How :func:`cluster_map` draws: categorical, :data:`CLUSTER_COLORS`, legend titled "Cluster" ("Agrégat local")."""
    return _MapStyle(
        column,
        kind="categorical",
        colors=CLUSTER_COLORS,
        title=title,
        legend=_WORDS[lang]["Cluster"] if lang in _WORDS else "Cluster",
        vocabulary="clusters",
        source_note=source_note,
        territory_column=territory_column,
        basemap=basemap,
        lang=lang,
    )


def _cluster_figure(result_frame: pd.DataFrame, geometries: Any, style: _MapStyle | None = None) -> Figure:
    """The figure :func:`cluster_map` writes (checks included), for callers that save it their own way.

    ``style``: :func:`_cluster_style` (default: its defaults).
    """
    style = style if style is not None else _cluster_style()
    return _plot(_cluster_frame(result_frame, geometries, style.column, style.territory_column), style)


def _cluster_frame(result_frame: pd.DataFrame, geometries: Any, column: str, territory_column: str) -> Any:
    """The labels of ``result_frame`` with the geometry (and territory) of each unit; an error names units without."""
    import geopandas as gpd

    if isinstance(geometries, gpd.GeoSeries):
        geometries = gpd.GeoDataFrame(geometry=geometries)
    if column not in result_frame.columns:
        raise InputError(f"result_frame has no {column!r} column; pass LocalResult.to_frame()")
    geo = geometries.geometry.reindex(result_frame.index)
    missing = geo.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"{int(missing.sum())} unit(s) of the result have no geometry: "
            f"{', '.join(map(str, result_frame.index[missing][:20]))}; pass geometries indexed like the "
            "result (read_acv() for cities, read_epci() for EPCIs)"
        )
    gdf = gpd.GeoDataFrame(
        {column: result_frame[column].astype(object).to_numpy()},
        geometry=geo.to_numpy(),
        crs=geometries.crs,
        index=result_frame.index,
    )
    if territory_column in geometries.columns:
        gdf[territory_column] = geometries[territory_column].reindex(result_frame.index).to_numpy()
    return gdf


#: Colours of the layers drawn on the town maps, in configuration order.
TOWN_MAP_COLORS: tuple[str, ...] = ("#d7301f", "#2171b5", "#238b45", "#6a51a3", "#cc4c02", "#525252")
_SVG_SIZE = 360


def _svg_path(geom: Any, fx: Any, fy: Any) -> str:
    """SVG path data of a (multi)polygon or (multi)line; view coordinates from ``fx``/``fy`` (on arrays)."""
    import shapely

    parts = []
    for part in shapely.get_parts(geom):
        rings = shapely.get_rings(part) if part.geom_type == "Polygon" else [part]
        for ring in rings:
            xy = shapely.get_coordinates(ring)
            if len(xy) < 2:
                continue
            pts = " ".join(map("{:.1f},{:.1f}".format, fx(xy[:, 0]).tolist(), fy(xy[:, 1]).tolist()))
            parts.append(f"M{pts}" + ("Z" if part.geom_type == "Polygon" else ""))
    return "".join(parts)


def _nice_length(span_m: float) -> float:
    """A round scale-bar length about a quarter of ``span_m``."""
    target = max(span_m / 4, 1.0)
    mag = 10 ** np.floor(np.log10(target))
    return float(max(m for m in (1, 2, 5, 10) if m * mag <= target) * mag)


def town_map_svg(
    commune: Any,
    *,
    epci: Any = None,
    layers: Sequence[tuple[str, Any]] = (),
    margin: float = 0.15,
    lang: str = "fr",
) -> str:
    """A small print-friendly SVG map of one town: commune and EPCI outlines, layer features, scale bar.

    Every geometry must be in the same projected CRS in metres (the territory's, see
    :func:`acv_geo.core.territories.local_crs`). No basemap: white background, outlines and flat colours.

    Parameters
    ----------
    commune : shapely geometry
        The commune polygon.
    epci : shapely geometry, optional
        The EPCI polygon (drawn as a dashed outline, clipped to the frame).
    layers : sequence of (label, geometries)
        Each layer's label and its features (any shapely geometries; clipped to the frame). Drawn
        in :data:`TOWN_MAP_COLORS`; listed in the legend with their feature count in the frame.
    margin : float, default 0.15
        Margin around the commune, as a share of its larger side (at least 500 m).
    lang : {"fr", "en"}, default "fr"
        Language of the legend.

    Returns
    -------
    str
        An ``<svg>`` element (inline-ready, no external resource).

    Examples
    --------
    >>> from shapely import box, Point
    >>> svg = town_map_svg(box(0, 0, 4000, 2000), layers=[("Repères", [Point(1000, 1000)])])
    >>> svg.startswith("<svg") and "1 km" in svg and "Repères (1)" in svg
    True
    """
    if lang not in _WORDS:
        raise ValueError(f"lang must be one of {', '.join(_WORDS)}, got {lang!r}")
    view = _SvgView.around(commune, margin)
    body, legend = _svg_layers(layers, view)
    outline = _svg_outlines(commune, epci, view)
    names = _SVG_NAMES[lang]
    rows = [("#000", names[0], "line"), ("#555", names[1], "dash")] + [(c, t, "box") for c, t in legend]
    w, h = view.width, view.height
    legend_h = 16 * (len(layers) + 2) + 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="townmap" width="{w:.0f}" height="{h + legend_h:.0f}" '
        f'viewBox="0 0 {w:.1f} {h + legend_h:.1f}" role="img"><rect width="{w:.1f}" height="{h:.1f}" '
        f'fill="#fff" stroke="#999"/>{"".join(body)}{outline}{_svg_scale_bar(view)}'
        f'<g font-size="11" font-family="sans-serif">{_svg_legend(rows, h)}</g></svg>'
    )


#: Legend words of the commune and EPCI outlines of a town map, per language.
_SVG_NAMES = {"fr": ("commune", "EPCI"), "en": ("commune", "EPCI")}


@dataclass(frozen=True)
class _SvgView:
    """The frame of a town map (projected metres, ``x0, y0, x1, y1``) and its scale to SVG pixels."""

    x0: float
    y0: float
    x1: float
    y1: float
    scale: float

    @classmethod
    def around(cls, commune: Any, margin: float) -> _SvgView:
        """The frame around ``commune`` with ``margin`` (share of its larger side, at least 500 m)."""
        import shapely

        x0, y0, x1, y1 = shapely.bounds(commune)
        pad = max(margin * max(x1 - x0, y1 - y0), 500.0)
        x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
        return cls(x0, y0, x1, y1, _SVG_SIZE / max(x1 - x0, y1 - y0))

    @property
    def width(self) -> float:
        """Width of the map, in pixels."""
        return (self.x1 - self.x0) * self.scale

    @property
    def height(self) -> float:
        """Height of the map (without legend), in pixels."""
        return (self.y1 - self.y0) * self.scale

    def fx(self, x: float) -> float:
        """SVG x of a projected x."""
        return (x - self.x0) * self.scale

    def fy(self, y: float) -> float:
        """SVG y of a projected y (downwards)."""
        return (self.y1 - y) * self.scale

    def clip(self, geom: Any) -> Any:
        """``geom`` clipped to the frame."""
        import shapely

        return shapely.clip_by_rect(geom, self.x0, self.y0, self.x1, self.y1)


def _svg_layers(layers: Sequence[tuple[str, Any]], view: _SvgView) -> tuple[list[str], list[tuple[str, str]]]:
    """SVG elements of the layers' features in the frame, and each layer's legend (colour, label with count)."""
    import shapely

    frame = shapely.box(view.x0, view.y0, view.x1, view.y1)
    body = []
    legend = []
    for k, (label, geoms) in enumerate(layers):
        color = TOWN_MAP_COLORS[k % len(TOWN_MAP_COLORS)]
        inside = [g for g in geoms if g is not None and not g.is_empty and g.intersects(frame)]
        body += [_svg_feature(g, color, view) for g in inside]
        legend.append((color, f"{label} ({len(inside)})"))
    return body, legend


def _svg_feature(geom: Any, color: str, view: _SvgView) -> str:
    """One feature: a circle per point; else its path clipped to the frame, filled if a polygon."""
    import shapely

    if geom.geom_type in ("Point", "MultiPoint"):
        return "".join(
            f'<circle cx="{view.fx(p.x):.1f}" cy="{view.fy(p.y):.1f}" r="3.5" fill="{color}" '
            'stroke="#222" stroke-width="0.6"/>'
            for p in shapely.get_parts(geom)
        )
    c = view.clip(geom)
    poly = "Polygon" in c.geom_type or c.geom_type == "GeometryCollection"
    return (
        f'<path d="{_svg_path(c, view.fx, view.fy)}" fill="{color if poly else "none"}" '
        f'fill-opacity="0.35" stroke="{color}" stroke-width="1" fill-rule="evenodd"/>'
    )


def _svg_outlines(commune: Any, epci: Any, view: _SvgView) -> str:
    """The EPCI outline (dashed, clipped to the frame) if any, then the commune outline."""
    outline = ""
    if epci is not None and not epci.is_empty:
        e = view.clip(epci)
        outline = (
            f'<path d="{_svg_path(e, view.fx, view.fy)}" fill="none" stroke="#555" stroke-width="1.2" '
            'stroke-dasharray="5,3"/>'
        )
    return outline + f'<path d="{_svg_path(commune, view.fx, view.fy)}" fill="none" stroke="#000" stroke-width="2"/>'


def _svg_scale_bar(view: _SvgView) -> str:
    """A round-length scale bar in the lower left of the map."""
    bar = _nice_length(view.x1 - view.x0)
    bar_px = bar * view.scale
    bar_txt = f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m"
    h = view.height
    return (
        f'<g font-size="11" font-family="sans-serif"><rect x="10" y="{h - 22:.1f}" width="{bar_px:.1f}" '
        f'height="4" fill="#333"/><text x="{10 + bar_px / 2:.1f}" y="{h - 26:.1f}" text-anchor="middle">'
        f"{bar_txt}</text></g>"
    )


def _svg_legend(rows: list[tuple[str, str, str]], h: float) -> str:
    """Legend rows under the map (top ``h``): a line, dashed line or box of the colour, then the text."""
    items = []
    for i, (color, text, kind) in enumerate(rows):
        y = h + 16 * i + 14
        mark = (
            f'<rect x="10" y="{y - 9}" width="14" height="10" fill="{color}" fill-opacity="0.35" stroke="{color}"/>'
            if kind == "box"
            else f'<line x1="10" y1="{y - 4}" x2="24" y2="{y - 4}" stroke="{color}" stroke-width="2"'
            + (' stroke-dasharray="5,3"' if kind == "dash" else "")
            + "/>"
        )
        items.append(mark + f'<text x="30" y="{y}">{_xml(text)}</text>')
    return "".join(items)


def _xml(text: str) -> str:
    from html import escape

    return escape(str(text), quote=True)
