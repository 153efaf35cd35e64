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

import datetime as _dt
import functools
import os
from collections.abc import Sequence
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


def _draw(
    ax: Any, geoms: Any, colors: Any, *, edge: str = "white", lw: float = 0.2, size: float = 18, zorder: int = 2
) -> None:
    """Draw points as markers and polygons as patches, one colour per geometry."""
    if len(geoms) == 0:
        return
    types = geoms.geom_type.to_numpy()
    is_pt = np.isin(types, ["Point", "MultiPoint"])
    cols = _rgba_rows(colors, len(geoms))
    if is_pt.any():
        pts = geoms[is_pt].representative_point()
        ax.scatter(pts.x, pts.y, c=cols[is_pt], s=size, edgecolors="#333333", linewidths=0.4, zorder=zorder + 1)
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


#: How "no data" (not measured) is drawn: hatched light grey, never a colour of the scale.
NO_DATA = {"facecolor": "#f4f4f4", "edgecolor": "#8a8a8a", "hatch": "/////"}


def _draw_no_data(ax: Any, geoms: Any, *, size: float = 18, zorder: int = 2) -> None:
    """Places without a value: hatched grey polygons, hatched hollow markers."""
    if len(geoms) == 0:
        return
    types = geoms.geom_type.to_numpy()
    is_pt = np.isin(types, ["Point", "MultiPoint"])
    if is_pt.any():
        pts = geoms[is_pt].representative_point()
        ax.scatter(
            pts.x,
            pts.y,
            s=size,
            facecolors=NO_DATA["facecolor"],
            edgecolors=NO_DATA["edgecolor"],
            hatch=NO_DATA["hatch"],
            linewidths=0.5,
            zorder=zorder + 1,
            label="_nodata",
        )
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


_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "no data": "pas de donnée",
        "not measured": "pas de donnée : non mesuré",
        "Sources": "Sources :",
        "caption": "{} lieux sur {} ont une valeur ; hachuré : pas de donnée (non mesuré). Carte : acv-geo, {}. "
        "Outre-mer en encarts à leur position réelle, chacun dans sa projection.",
    },
    "en": {
        "no data": "no data",
        "not measured": "no data: not measured",
        "Sources": "Sources:",
        "caption": "{} of {} places with a value; hatched: no data (not measured). Map: acv-geo, {}. Overseas "
        "territories in insets at their true positions, each in its own projected CRS.",
    },
}


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
    import geopandas as gpd
    from matplotlib import colormaps
    from matplotlib.colors import Normalize, to_rgba
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if kind not in _KINDS:
        raise ValueError(f"kind={kind!r} is not allowed; expected one of {', '.join(map(repr, _KINDS))}")
    if lang not in _WORDS:
        raise ValueError(f"lang must be one of {', '.join(_WORDS)}, got {lang!r}")
    words = _WORDS[lang]
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.crs is None:
        raise InputError("plot_map needs a GeoDataFrame with a CRS (set it with gdf.set_crs(...))")
    if column not in gdf.columns:
        raise InputError(f"column {column!r} is not in the table; columns are {', '.join(map(str, gdf.columns))}")
    data = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    terr = _territory_series(data, territory_column)
    values = data[column]

    order: list[Any] = []  # categories in legend order, and their colours (categorical maps)
    palette: dict[Any, Any] = {}
    if kind == "categorical":
        cats = [c for c in pd.unique(values.astype(object).where(values.notna(), "NA"))]
        if isinstance(colors, dict):
            order = [c for c in colors if c in cats] + [c for c in cats if c not in colors]
            palette = dict(colors)
        else:
            known = [c for c in CLUSTER_COLORS if c in cats]
            order = known + [c for c in cats if c not in CLUSTER_COLORS]
            tab = colormaps["tab10"]
            palette = dict(CLUSTER_COLORS)
            for k, c in enumerate(c for c in cats if c not in CLUSTER_COLORS):
                palette[c] = tab(k % 10)
        for c in order:
            palette.setdefault(c, "black")
        keys = values.astype(object).where(values.notna(), "NA")
        codes, uniques = pd.factorize(keys, use_na_sentinel=False)  # one colour lookup per category, not per row
        lut = np.array([to_rgba(palette[k]) for k in uniques], dtype=float).reshape(-1, 4)
        row_colors = lut[codes]
        no_value = (keys == "NA").to_numpy()
        norm = cmap = None
    else:
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            raise InputError(f"choropleth needs a numeric column; {column!r} has dtype {values.dtype}")
        v = pd.array(values, dtype="Float64").to_numpy(dtype="float64", na_value=np.nan)
        cmap = colormaps[colors if isinstance(colors, str) else "viridis"]
        finite = v[~np.isnan(v)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        norm = Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
        no_value = np.isnan(v)
        row_colors = np.empty((len(v), 4), dtype=float)
        row_colors[no_value] = to_rgba("#e0e0e0")
        if (~no_value).any():
            row_colors[~no_value] = cmap(norm(v[~no_value]))

    if ax is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        FigureCanvasAgg(fig)
        ax = fig.add_axes([0.02, 0.06, 0.96, 0.86])
    fig = ax.figure
    base = _basemap_paths() if basemap else None

    def draw_territory(target: Any, name: str) -> None:
        crs = local_crs(name)
        paths = base.get(name) if base is not None else None
        if paths is not None:
            _add_paths(
                target,
                paths,
                **{**_BASEMAP_STYLE, "facecolors": np.tile(to_rgba(_BASEMAP_STYLE["facecolors"]), (len(paths), 1))},
            )
        mask = (terr == name).to_numpy()
        if mask.any():
            part = data.geometry[mask].to_crs(crs)
            blank = no_value[mask]
            cols = row_colors[mask]
            size = 22 if target is ax else 16
            _draw(target, part[~blank], cols[~blank], size=size)
            _draw_no_data(target, part[blank], size=size)

    draw_territory(ax, "metropole")
    _setup_ax(ax, (*_MAIN_XLIM[:1], _MAIN_YLIM[0], _MAIN_XLIM[1], _MAIN_YLIM[1]))
    ax.set_label("map:metropole")
    ax.set_axis_off()
    present = [t for t in OVERSEAS if (terr == t).any()]
    height = 0.17
    for k, name in enumerate(present):
        inset = ax.inset_axes([0.005, 0.99 - (k + 1) * (height + 0.018), 0.17, height])
        inset.set_label(f"inset:{name}")
        draw_territory(inset, name)
        _setup_ax(inset, _territory_bounds(name))
        inset.set_title(TERRITORIES[name].label, fontsize=7, pad=2)
        for s in inset.spines.values():
            s.set_edgecolor("#888888")
            s.set_linewidth(0.6)

    if title:
        fig.suptitle(title, fontsize=13, y=0.97)
    if legend:
        legend_title = legend if isinstance(legend, str) else column
        if kind == "categorical":
            counts = keys.value_counts()
            points = data.geometry.geom_type.isin(["Point", "MultiPoint"]).all()
            handles = []
            for c in order:
                label = f"{c} ({int(counts.get(c, 0))})"
                if c == "NA":
                    handles.append(Patch(label=f"{words['no data']} ({int(counts.get(c, 0))})", **NO_DATA))
                    continue
                if points:
                    handles.append(
                        Line2D(
                            [],
                            [],
                            marker="o",
                            linestyle="",
                            markerfacecolor=palette[c],
                            markeredgecolor="#333333",
                            markersize=7,
                            label=label,
                        )
                    )
                else:
                    handles.append(Patch(facecolor=palette[c], edgecolor="#999999", label=label))
            ax.legend(
                handles=handles, title=legend_title, loc="lower right", fontsize=8, title_fontsize=9, frameon=True
            )
        else:
            from matplotlib.cm import ScalarMappable

            sm = ScalarMappable(norm=norm, cmap=cmap)
            cax = ax.inset_axes([0.93, 0.05, 0.02, 0.35])
            cax.set_label("colorbar")
            cb = fig.colorbar(sm, cax=cax)
            cb.set_label(legend_title, fontsize=8)
            cb.ax.tick_params(labelsize=7)
            if no_value.any():
                ax.legend(
                    handles=[Patch(label=f"{words['not measured']} ({int(no_value.sum())})", **NO_DATA)],
                    loc="lower right",
                    bbox_to_anchor=(0.9, 0.0),
                    fontsize=8,
                )
    _scale_bar(ax)
    note = words["caption"].format(int((~no_value).sum()), len(no_value), _dt.date.today().isoformat())
    if source_note:
        note = f"{words['Sources']} {source_note}. " + note
    caption = fig.text(0.01, 0.01, note, fontsize=7, color="#444444", ha="left", va="bottom", wrap=True)
    _fast_wrap(caption)
    return fig


def _fast_wrap(text: Any) -> None:
    """Make ``text`` find its line breaks by bisection: the same lines as matplotlib's wrapping, fewer measures.

    matplotlib wraps a line by measuring its first 2, 3, 4… words until they overflow (one measure of
    a growing string per word, ≈40 per map caption, a third of the text drawing time). The width of
    the first ``i`` words never decreases with ``i`` (each glyph only widens the string's box), so the
    first overflowing ``i`` is found by bisection with the same measure and the same test: identical
    lines. Left alone when matplotlib lacks the private helpers used (another version).
    """
    import types

    if all(hasattr(text, name) for name in ("_get_wrapped_text", "_get_wrap_line_width", "_get_rendered_text_width")):
        text._get_wrapped_text = types.MethodType(_wrapped_text, text)


def _wrapped_text(self: Any) -> str:
    """``Text._get_wrapped_text`` (matplotlib 3.6-3.10) with the overflowing word found by bisection."""
    if not self.get_wrap() or self.get_usetex():
        return self.get_text()
    line_width = self._get_wrap_line_width()
    wrapped_lines = []
    for unwrapped_line in self.get_text().split("\n"):
        sub_words = unwrapped_line.split(" ")
        while sub_words:
            if len(sub_words) == 1:
                wrapped_lines.append(sub_words.pop(0))
                continue
            lo, hi = 2, len(sub_words) + 1  # the first i in [2, n] whose words overflow; n + 1 if none
            while lo < hi:
                mid = (lo + hi) // 2
                if self._get_rendered_text_width(" ".join(sub_words[:mid])) > line_width:
                    hi = mid
                else:
                    lo = mid + 1
            if lo <= len(sub_words):
                wrapped_lines.append(" ".join(sub_words[: lo - 1]))
                sub_words = sub_words[lo - 1 :]
            else:
                wrapped_lines.append(" ".join(sub_words))
                sub_words = []
    return "\n".join(wrapped_lines)


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

    fig = _cluster_figure(
        result_frame,
        geometries,
        title=title,
        source_note=source_note,
        column=column,
        territory_column=territory_column,
        basemap=basemap,
        lang=lang,
    )
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return Path(path)


def _cluster_figure(
    result_frame: pd.DataFrame,
    geometries: Any,
    *,
    title: str | None = None,
    source_note: str | None = None,
    column: str = "label",
    territory_column: str = "territory",
    basemap: bool = True,
    lang: str = "fr",
) -> Figure:
    """The figure :func:`cluster_map` writes (checks included), for callers that save it their own way."""
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
    return plot_map(
        gdf,
        column,
        kind="categorical",
        colors=CLUSTER_COLORS,
        title=title,
        legend="Cluster",
        source_note=source_note,
        territory_column=territory_column,
        basemap=basemap,
        lang=lang,
    )


#: Colours of the layers drawn on the town maps, in configuration order.
TOWN_MAP_COLORS: tuple[str, ...] = ("#d7301f", "#2171b5", "#238b45", "#6a51a3", "#cc4c02", "#525252")
_SVG_SIZE = 360


def _svg_path(geom: Any, fx: Any, fy: Any) -> str:
    """SVG path data of a (multi)polygon or (multi)line; view coordinates from ``fx``/``fy``."""
    import shapely

    parts = []
    for part in shapely.get_parts(geom):
        rings = shapely.get_rings(part) if part.geom_type == "Polygon" else [part]
        for ring in rings:
            xy = shapely.get_coordinates(ring)
            if len(xy) < 2:
                continue
            pts = " ".join(f"{fx(x):.1f},{fy(y):.1f}" for x, y in xy)
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
    import shapely

    if lang not in _WORDS:
        raise ValueError(f"lang must be one of {', '.join(_WORDS)}, got {lang!r}")
    x0, y0, x1, y1 = shapely.bounds(commune)
    pad = max(margin * max(x1 - x0, y1 - y0), 500.0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    frame = shapely.box(x0, y0, x1, y1)
    scale = _SVG_SIZE / max(x1 - x0, y1 - y0)
    w, h = (x1 - x0) * scale, (y1 - y0) * scale
    legend_h = 16 * (len(layers) + 2) + 8
    fx = lambda x: (x - x0) * scale  # noqa: E731
    fy = lambda y: (y1 - y) * scale  # noqa: E731
    body = []
    legend = []
    for k, (label, geoms) in enumerate(layers):
        color = TOWN_MAP_COLORS[k % len(TOWN_MAP_COLORS)]
        inside = [g for g in geoms if g is not None and not g.is_empty and g.intersects(frame)]
        for g in inside:
            if g.geom_type in ("Point", "MultiPoint"):
                for p in shapely.get_parts(g):
                    body.append(
                        f'<circle cx="{fx(p.x):.1f}" cy="{fy(p.y):.1f}" r="3.5" fill="{color}" '
                        'stroke="#222" stroke-width="0.6"/>'
                    )
                continue
            c = shapely.clip_by_rect(g, x0, y0, x1, y1)
            poly = "Polygon" in c.geom_type or c.geom_type == "GeometryCollection"
            body.append(
                f'<path d="{_svg_path(c, fx, fy)}" fill="{color if poly else "none"}" '
                f'fill-opacity="0.35" stroke="{color}" stroke-width="1" fill-rule="evenodd"/>'
            )
        legend.append((color, f"{label} ({len(inside)})"))
    outline = []
    if epci is not None and not epci.is_empty:
        e = shapely.clip_by_rect(epci, x0, y0, x1, y1)
        outline.append(
            f'<path d="{_svg_path(e, fx, fy)}" fill="none" stroke="#555" stroke-width="1.2" stroke-dasharray="5,3"/>'
        )
    outline.append(f'<path d="{_svg_path(commune, fx, fy)}" fill="none" stroke="#000" stroke-width="2"/>')
    bar = _nice_length(x1 - x0)
    bar_px = bar * scale
    bar_txt = f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m"
    scalebar = (
        f'<g font-size="11" font-family="sans-serif"><rect x="10" y="{h - 22:.1f}" width="{bar_px:.1f}" '
        f'height="4" fill="#333"/><text x="{10 + bar_px / 2:.1f}" y="{h - 26:.1f}" text-anchor="middle">'
        f"{bar_txt}</text></g>"
    )
    names = {"fr": ("commune", "EPCI"), "en": ("commune", "EPCI")}[lang]
    rows = [("#000", names[0], "line"), ("#555", names[1], "dash")] + [(c, t, "box") for c, t in legend]
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
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="townmap" width="{w:.0f}" height="{h + legend_h:.0f}" '
        f'viewBox="0 0 {w:.1f} {h + legend_h:.1f}" role="img"><rect width="{w:.1f}" height="{h:.1f}" '
        f'fill="#fff" stroke="#999"/>{"".join(body)}{"".join(outline)}{scalebar}'
        f'<g font-size="11" font-family="sans-serif">{"".join(items)}</g></svg>'
    )


def _xml(text: str) -> str:
    from html import escape

    return escape(str(text), quote=True)
