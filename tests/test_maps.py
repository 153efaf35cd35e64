"""Map helper: PNG written atomically, sane size, one inset per overseas territory present."""

from __future__ import annotations

import struct
import sys
import warnings

import numpy as np
import pytest

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.outputs.maps import OVERSEAS, cluster_map, plot_map
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
    assert texts[0].startswith("HH (") and any(t.startswith("not significant") for t in texts)
    from matplotlib.colors import to_hex

    hh = getattr(legend, "legend_handles", None) or legend.legendHandles
    hh = hh[0]
    assert to_hex(hh.get_markerfacecolor()) == "#d7191c"


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
