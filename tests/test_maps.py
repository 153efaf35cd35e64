"""Map helper: PNG written atomically, sane size, one inset per overseas territory present."""

from __future__ import annotations

import struct
import sys
import warnings

import numpy as np
import pytest

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.outputs import maps
from acv_geo.outputs.maps import OVERSEAS, cluster_map, plot_map, town_map_svg
from acv_geo.stats.clusters import local_clusters


@pytest.fixture(scope="module")
def cities():
    return acv_geo.read_acv()


def png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def inset_labels(fig):
    main = [a for a in fig.axes if a.get_label() == "map:metropole"]
    assert len(main) == 1
    return sorted(a.get_label() for a in main[0].child_axes if a.get_label().startswith("inset:"))


def test_cluster_map_png(tmp_path, cities):
    res = local_clusters(cities, "opendata", permutations=99, fdr=False)
    path = cluster_map(
        res.to_frame(), cities, tmp_path / "lisa.png", title="LISA", source_note="ODATER 2022", basemap=False, dpi=80
    )
    assert path.exists() and 20_000 < path.stat().st_size < 5_000_000
    assert png_size(path) == (800, 680)  # 10 x 8.5 in at 80 dpi
    assert not list(tmp_path.glob(".lisa*"))  # no temporary file left


def test_insets_for_each_territory_present(cities):
    fig = plot_map(cities, "territory", basemap=False)
    assert inset_labels(fig) == sorted(f"inset:{t}" for t in OVERSEAS)
    some = cities[cities["territory"].isin(["metropole", "reunion"])]
    fig = plot_map(some, "territory", basemap=False)
    assert inset_labels(fig) == ["inset:reunion"]
    # the Réunion inset is drawn in EPSG:2975 at the true position of the towns
    inset = next(a for a in fig.axes[0].child_axes if a.get_label() == "inset:reunion")
    x0, x1 = inset.get_xlim()
    assert 310_000 < x0 < x1 < 390_000


def test_lisa_colours(tmp_path, cities):
    res = local_clusters(cities, "opendata", permutations=99, fdr=False).to_frame()
    res.loc[res.index[:3], "label"] = ["HH", "LL", "HL"]
    fig = plot_map(cities.assign(label=res["label"]), "label", basemap=False)
    legend = fig.axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    # a plain map of a column shows its values as they are; a cluster map writes the labels in its language
    assert texts[0].startswith("HH (") and any(t.startswith("not significant (") for t in texts)
    for lang, word in (("fr", "non significatif ("), ("en", "not significant (")):
        style = maps._cluster_style(lang=lang, basemap=False)
        fig = maps._cluster_figure(res, cities, style)
        shown = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert any(t.startswith(word) for t in shown), (lang, shown)
        assert fig.axes[0].get_legend().get_title().get_text() == {"fr": "Agrégat local", "en": "Cluster"}[lang]
    from matplotlib.colors import to_hex

    hh = getattr(legend, "legend_handles", None) or legend.legendHandles
    hh = hh[0]
    assert to_hex(hh.get_markerfacecolor()) == "#d7191c"


def test_open_data_legend_in_french_clear_of_corsica(cities):
    """Who publishes, in the map's language; the legend stands where the mainland axes show nothing (not on Corsica)."""
    fig = plot_map(cities, "opendata_level", basemap=False)
    texts = [t.get_text().split(" (")[0] for t in fig.axes[0].get_legend().get_texts()]
    assert sorted(texts) == ["la commune", "personne", "seulement l'EPCI"]
    # a legend as wide as the national one's ("non significatif (30355)") stays clear of Corsica
    in_corsica = cities["code_dep"].astype(str).str.startswith("2")
    wide = cities.assign(kind=np.where(in_corsica, "Corse", "partout ailleurs, un libellé de légende long (30355)"))
    ax = plot_map(wide, "kind", basemap=False).axes[0]
    ax.figure.canvas.draw()
    box = ax.get_legend().get_window_extent()
    corsica = wide[in_corsica].to_crs(2154)
    px = ax.transData.transform(np.column_stack([corsica.geometry.x, corsica.geometry.y]))
    inside = (px[:, 0] >= box.x0 - 5) & (px[:, 0] <= box.x1 + 5) & (px[:, 1] >= box.y0 - 5) & (px[:, 1] <= box.y1 + 5)
    assert len(px) and not inside.any()
    english = plot_map(cities, "opendata_level", basemap=False, lang="en")
    shown = sorted(t.get_text().split(" (")[0] for t in english.axes[0].get_legend().get_texts())
    assert shown == ["commune", "epci", "none"]
    # the same values in a column of the user's own are shown as they are
    own = plot_map(cities.assign(level=cities["opendata_level"]), "level", basemap=False)
    own_shown = sorted(t.get_text().split(" (")[0] for t in own.axes[0].get_legend().get_texts())
    assert own_shown == ["commune", "epci", "none"]


def test_choropleth_and_polygons(tmp_path):
    epci = acv_geo.read_epci()
    epci = epci.assign(area_km2=epci["area_m2"] / 1e6)
    epci.loc[epci.index[:5], "area_km2"] = np.nan
    fig = plot_map(epci, "area_km2", kind="choropleth", title="EPCI area", legend="km²", basemap=False)
    assert inset_labels(fig) == sorted(f"inset:{t}" for t in OVERSEAS)
    fig.savefig(tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 20_000


def test_bad_inputs(cities):
    with pytest.raises(ValueError, match=r"kind='pie' is not allowed; expected one of 'categorical', 'choropleth'"):
        plot_map(cities, "territory", kind="pie")
    with pytest.raises(InputError, match=r"column 'nope' is not in the table"):
        plot_map(cities, "nope")
    with pytest.raises(InputError, match=r"choropleth needs a numeric column; 'commune'"):
        plot_map(cities, "commune", kind="choropleth", basemap=False)
    res = local_clusters(cities, "opendata", permutations=9).to_frame()
    with pytest.raises(InputError, match=r"1 unit\(s\) of the result have no geometry: 80001"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster_map(res, cities.drop(index="80001"), "/tmp/never.png")


def test_import_stays_light():
    import subprocess

    code = (
        "import acv_geo, sys; acv_geo.spatial_weights; acv_geo.local_clusters; acv_geo.plot_map; "
        "print(sorted(m for m in ('matplotlib', 'esda', 'libpysal') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _pixels(fig, dpi=40):
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="raw", dpi=dpi)
    return np.frombuffer(buf.getvalue(), dtype=np.uint8)


def test_map_helpers_draw_the_public_maps(cities, tmp_path):
    """plot_map and cluster_map are their options in a _MapStyle drawn by the helpers: same pixels."""
    from PIL import Image

    some = cities[cities["territory"].isin(["metropole", "reunion"])].copy()
    some["population"] = some["population"].astype("Float64")
    some.loc[some.index[::4], "population"] = np.nan
    style = maps._MapStyle("population", kind="choropleth", title="Population", legend="hab.", lang="en")
    public = plot_map(some, "population", kind="choropleth", title="Population", legend="hab.", lang="en", basemap=True)
    assert np.array_equal(_pixels(maps._plot(some, style)), _pixels(public))
    texts = [t.get_text() for t in public.axes[0].get_legend().get_texts()]
    assert texts == [f"no data: not measured ({int(some['population'].isna().sum())})"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few towns in Réunion: k capped
        res = local_clusters(some, "opendata", permutations=9, fdr=False).to_frame()
    path = cluster_map(res, some, tmp_path / "c.png", title="LISA", basemap=False, dpi=40)
    fig = maps._cluster_figure(res, some, maps._cluster_style(title="LISA", basemap=False))
    written = np.asarray(Image.open(path).convert("RGBA")).ravel()
    assert np.array_equal(_pixels(fig), written)


def test_map_style_checks_and_palette():
    from matplotlib import colormaps

    with pytest.raises(ValueError, match=r"kind='pie' is not allowed"):
        maps._MapStyle("x", kind="pie")
    with pytest.raises(ValueError, match=r"lang must be one of fr, en, got 'de'"):
        maps._MapStyle("x", lang="de")
    assert maps._MapStyle("x").legend_title == "x" and maps._MapStyle("x", legend="L").legend_title == "L"
    order, palette = maps._category_palette(["b", "NA", "a", "c"], {"a": "red", "b": "blue"})
    assert order == ["a", "b", "NA", "c"] and palette["NA"] == palette["c"] == "black"
    order, palette = maps._category_palette(["z", "HH", "not significant", "y"], None)
    assert order == ["HH", "not significant", "z", "y"]
    assert palette["HH"] == "#d7191c" and palette["y"] == colormaps["tab10"](1)


#: A town map drawn by the former single-function town_map_svg (point, line, polygon, EPCI, escaped labels).
TOWN_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" class="townmap" width="360" height="358"'
    ' viewBox="0 0 360.0 358.0" role="img"><rect width="360.0" height="270.0" fill="#fff" stroke="#999"/>'
    '<circle cx="135.0" cy="135.0" r="3.5" fill="#d7301f" stroke="#222" stroke-width="0.6"/>'
    '<path d="M0.0,214.0 360.0,103.8" fill="none" fill-opacity="0.35" stroke="#2171b5" stroke-width="1"'
    ' fill-rule="evenodd"/>'
    '<path d="M270.0,90.0 270.0,0.0 360.0,0.0 360.0,90.0 270.0,90.0Z" fill="#238b45" fill-opacity="0.35"'
    ' stroke="#238b45" stroke-width="1" fill-rule="evenodd"/>'
    '<path d="M0.0,270.0 0.0,0.0 270.0,0.0 270.0,270.0 0.0,270.0Z" fill="none" stroke="#555"'
    ' stroke-width="1.2" stroke-dasharray="5,3"/>'
    '<path d="M315.0,225.0 315.0,45.0 45.0,45.0 45.0,225.0 315.0,225.0Z" fill="none" stroke="#000"'
    ' stroke-width="2"/><g font-size="11" font-family="sans-serif">'
    '<rect x="10" y="248.0" width="90.0" height="4" fill="#333"/>'
    '<text x="55.0" y="244.0" text-anchor="middle">1 km</text></g>'
    '<g font-size="11" font-family="sans-serif">'
    '<line x1="10" y1="280.0" x2="24" y2="280.0" stroke="#000" stroke-width="2"/>'
    '<text x="30" y="284.0">commune</text>'
    '<line x1="10" y1="296.0" x2="24" y2="296.0" stroke="#555" stroke-width="2" stroke-dasharray="5,3"/>'
    '<text x="30" y="300.0">EPCI</text>'
    '<rect x="10" y="307.0" width="14" height="10" fill="#d7301f" fill-opacity="0.35" stroke="#d7301f"/>'
    '<text x="30" y="316.0">Repères (1)</text>'
    '<rect x="10" y="323.0" width="14" height="10" fill="#2171b5" fill-opacity="0.35" stroke="#2171b5"/>'
    '<text x="30" y="332.0">Cours d&#x27;eau (1)</text>'
    '<rect x="10" y="339.0" width="14" height="10" fill="#238b45" fill-opacity="0.35" stroke="#238b45"/>'
    '<text x="30" y="348.0">Zones &lt;A&amp;B&gt; (1)</text></g></svg>'
)


def test_town_map_svg_is_the_former_one():
    from shapely import LineString, Point, box

    svg = town_map_svg(
        box(0, 0, 3000, 2000),
        epci=box(-5000, -1000, 2500, 9000),
        layers=[
            ("Repères", [Point(1000, 1000), None]),
            ("Cours d'eau", [LineString([(-900, 0), (4000, 1500)])]),
            ("Zones <A&B>", [box(2500, 1500, 9000, 9000)]),
        ],
        margin=0.1,
        lang="en",
    )
    assert svg == TOWN_SVG


@pytest.mark.parametrize(
    ("lo", "hi"), [(99.08, 99.93), (0.0, 17.0), (143.0, 4712.5), (0.0, 2_500_000.0), (-3.2, 0.4), (0.0, 1.0)]
)
def test_colour_bar_ticks_are_matplotlib_colorbar_ticks(lo, hi):
    """The light colour bar puts its ticks and labels where matplotlib's own colour bar of that size does."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 8.5))
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0.02, 0.06, 0.96, 0.86])
    cax = ax.inset_axes(list(maps._BAR))
    cb = fig.colorbar(ScalarMappable(norm=Normalize(lo, hi), cmap="viridis"), cax=cax)
    cb.ax.tick_params(labelsize=7)
    fig.canvas.draw()
    shown = [(t.get_position()[1], t.get_text()) for t in cb.ax.get_yticklabels() if lo <= t.get_position()[1] <= hi]
    ticks, labels, offset = maps._bar_ticks(lo, hi, ax.bbox.height * maps._BAR[3] / fig.dpi * 72)
    assert labels == [s for _v, s in shown]
    assert np.allclose(ticks, [v for v, _s in shown])
    assert offset == cb.ax.yaxis.get_offset_text().get_text()


def test_choropleth_colour_bar_artists(cities):
    """A choropleth's bar: gradient, outline, one tick mark per label, its title beyond the labels."""
    g = cities.assign(v=np.linspace(0.0, 17.0, len(cities)))
    fig = plot_map(g, "v", kind="choropleth", legend="valeur (m)")
    fig.canvas.draw()
    bar = [a for a in fig.axes[0].get_children() if a.get_label() == "colorbar"]
    texts = [a for a in bar if hasattr(a, "get_text")]
    assert [t.get_text() for t in texts] == ["0", "2", "4", "6", "8", "10", "12", "14", "16", "valeur (m)"]
    r = fig.canvas.get_renderer()
    title = texts[-1].get_window_extent(r)
    assert all(t.get_window_extent(r).x1 < title.x0 for t in texts[:-1])
    assert title.x1 <= fig.bbox.width
    marks = [a for a in bar if type(a).__name__ == "Line2D"]
    assert len(marks) == 1 and len(marks[0].get_ydata()) == 9


def test_dense_point_maps_draw_dots(cities):
    """Beyond DENSE_POINTS points (every commune): small dots, no outline, no data in grey under the values."""
    import geopandas as gpd
    import pandas as pd

    n = maps.DENSE_POINTS + 1
    rng = np.random.default_rng(1)
    xy = rng.normal((650_000, 6_600_000), 150_000, (n, 2))
    pts = gpd.GeoDataFrame(
        {"territory": "metropole"}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=2154, index=range(n)
    )
    values = rng.random(n)
    values[:100] = np.nan
    pts["v"] = pd.array(values, dtype="Float64")
    fig = plot_map(pts, "v", kind="choropleth", legend="valeur")
    main = fig.axes[0]
    dots = [c for c in main.collections if len(c.get_offsets()) > 50]
    values_dots = [c for c in dots if c.get_label() != "_nodata"][0]
    grey = [c for c in dots if c.get_label() == "_nodata"][0]
    assert len(values_dots.get_offsets()) == n - 100 and len(grey.get_offsets()) == 100
    assert list(values_dots.get_sizes()) == [5.0] and list(values_dots.get_linewidths()) == [0.0]
    assert grey.get_zorder() < values_dots.get_zorder() and not grey.get_hatch()
    handle = main.get_legend().legend_handles[0] if hasattr(main.get_legend(), "legend_handles") else None
    handle = handle or main.get_legend().legendHandles[0]
    assert handle.get_marker() == "o" and handle.get_label().startswith("pas de donnée : non mesuré (100)")
    caption = [t.get_text() for t in fig.artists if t.get_text().startswith(f"{n - 100} lieux")]
    assert caption and "points gris : pas de donnée" in caption[0]
    sparse = plot_map(pts.iloc[: maps.DENSE_POINTS], "v", kind="choropleth")  # at the threshold: markers
    assert any(c.get_hatch() for c in sparse.axes[0].collections)


@pytest.mark.parametrize(
    "style",
    [
        {
            "c": np.array([[0.1, 0.5, 0.9, 1.0], [0.9, 0.2, 0.1, 1.0], [0.3, 0.3, 0.3, 1.0]]),
            "edgecolors": "#333333",
            "linewidths": 0.4,
        },
        {"c": "#9e9e9e", "linewidths": 0},
        {"facecolors": "#f4f4f4", "edgecolors": "#8a8a8a", "hatch": "/////", "linewidths": 0.5},
    ],
)
def test_markers_are_the_scatter_pixels(style):
    """maps._markers builds the collection Axes.scatter builds: the same pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    images = []
    for direct in (True, False):
        fig = Figure(figsize=(2, 1.5), dpi=80)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 10)
        x, y = np.array([1.0, 4.3, 8.8]), np.array([2.0, 7.1, 5.5])
        if direct:
            maps._markers(ax, x, y, s=22, zorder=3, **style)
        else:
            ax.scatter(x, y, s=22, zorder=3, **style)
        fig.canvas.draw()
        images.append(np.asarray(fig.canvas.buffer_rgba()).copy())
    assert np.array_equal(images[0], images[1])
