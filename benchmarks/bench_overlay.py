"""Benchmark: overlay indicators for the 244 ACV cities vs naive geopandas.overlay and QGIS.

Two layers: the embedded Hérault « PAC risques » layer (419 polygons) and a national-scale layer
of ~30,000 polygons built from the real commune geometry of ../shared/data (each commune shifted
300 m east, with a 3-value category), written to a temporary GeoPackage in Lambert-93.

Peers, measured in the same run on the same commune zones:
- acv-geo ``overlay_indicators`` (reads through spatial filters, STRtree, dissolves per category);
- naive geopandas: read the whole layer, ``geopandas.overlay(zones, layer, how="intersection")``,
  dissolve per (city, category) and per city, measure the areas;
- QGIS ``native:calculatevectoroverlaps`` (total overlap per city only: no category, count, distance),
  compared above all with acv-geo computing the same thing (``category=None, distances=False``).

Every peer runs once to warm up, then ``--repeats`` times (default 7) in interleaved rounds; the
median, min and max are recorded.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_overlay.py``.
Writes ``benchmarks/results/overlay.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from timing import interleaved

import acv_geo
import acv_geo.indicators.overlay as ov
from acv_geo.indicators.overlay import overlay_indicators, overlay_report
from acv_geo.zones import make_zones

ROOT = Path(__file__).resolve().parents[1]
COMMUNES = ROOT.parent / "shared" / "data" / "boundaries" / "communes_cog2025.gpkg"
N_NATIONAL = 30_000


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def naive(zones, path, category):
    layer = gpd.read_file(path).to_crs(2154)
    z = zones.loc[zones["territory"].eq("metropole"), ["geometry"]].to_crs(2154)
    inter = gpd.overlay(z.reset_index(), layer[[category, "geometry"]], how="intersection", keep_geom_type=True)
    per_cat = inter.dissolve(by=["insee_com", category]).area
    total = inter.dissolve(by="insee_com").area
    return total, per_cat


def qgis_overlaps(zones_path, layer_path):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsVectorLayer

    ctx = QgsProcessingContext()
    ctx.setEllipsoid("NONE")
    lay = QgsVectorLayer(str(layer_path), "lay", "ogr")
    res = processing.run(
        "native:calculatevectoroverlaps",
        {"INPUT": QgsVectorLayer(str(zones_path), "zones", "ogr"), "LAYERS": [lay], "OUTPUT": "memory:"},
        context=ctx,
        feedback=QgsProcessingFeedback(),
    )["OUTPUT"]
    if isinstance(res, str):
        res = ctx.getMapLayer(res)
    out = pd.Series({f["insee_com"]: f["lay_area"] for f in res.getFeatures()}, dtype=float)
    del res, lay
    return out


def start_qgis():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from qgis.core import QgsApplication
    except ImportError:
        return None
    sys.path.insert(0, "/usr/share/qgis/python/plugins")
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    return app


def build_national(tmp: Path) -> Path:
    com = gpd.read_file(COMMUNES, columns=["insee_com", "insee_dep"])
    com = com[~com["insee_dep"].str.startswith("97") & com.geometry.notna()].to_crs(2154)
    com = com.sample(n=min(N_NATIONAL, len(com)), random_state=1).sort_index()
    rng = np.random.default_rng(1)
    layer = gpd.GeoDataFrame(
        {"ALEA": rng.choice(["Inondation", "Mouvement de terrain", "Submersion"], len(com))},
        geometry=com.geometry.translate(xoff=300.0).values,
        crs=2154,
    )
    path = tmp / "national.gpkg"
    layer.to_file(path, layer="national", driver="GPKG", VERSION="1.3")
    return path


def compare(ours, name, total, per_cat):
    idx = total.index.intersection(ours.index)
    mine = ours.loc[idx, f"{name}_area_m2"].to_numpy()
    rel = np.abs(mine - total.loc[idx].to_numpy()) / np.maximum(total.loc[idx].to_numpy(), 1.0)
    covered = ours[f"{name}_area_m2"].fillna(0) > 0
    missing_in_naive = sorted(set(ours.index[covered]) - set(idx))
    return {
        "max_rel_diff_total_area": float(rel.max()) if len(rel) else 0.0,
        "cities_compared": int(len(idx)),
        "cities_with_overlap_missing_in_naive": missing_in_naive,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7, help="timed runs of every peer, interleaved (default 7)")
    args = ap.parse_args()
    cities = acv_geo.read_acv()
    zones = make_zones(cities)
    app = start_qgis()
    results: dict = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "geopandas": gpd.__version__,
            "shapely": shapely.__version__,
            "geos": ".".join(map(str, shapely.geos_version)),
        },
        "cities": len(cities),
        "repeats": args.repeats,
        "method": "every peer timed the same number of times, interleaved (A B C D A B C D …); median, min, max",
        "cases": {},
    }
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        t_build, national = timed(lambda: build_national(tmp))
        zpath = tmp / "zones.gpkg"
        zones[["geometry"]].to_crs(2154).reset_index().to_file(zpath, layer="zones", driver="GPKG", VERSION="1.3")
        for case, path, n_feat in (
            ("herault_pac_risques", acv_geo.get_path("herault_pac_risques"), 419),
            ("national_30k", national, N_NATIONAL),
        ):
            results["cases"][case] = run_case(zones, path, n_feat, zpath if app is not None else None, args.repeats)
        results["national_layer_build_s"] = round(t_build, 2)
    out = ROOT / "benchmarks" / "results" / "overlay.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {out}")


def cold(**kw):
    """acv-geo's overlay as on a file never opened before in this process (QGIS opens it anew every run).

    The caches keyed on the file (layer list, metadata, GeoPackage R-tree, category values, a small
    layer read whole) are emptied first; caches of CRS computations stay, as QGIS keeps its own.
    """
    for cached in (ov._file_layers, ov._file_info, ov._gpkg_rtree, ov._file_category_values, ov._whole_file):
        cached.cache_clear()
    return overlay_indicators(kw.pop("zones"), kw.pop("path"), name="r", **kw)


def run_case(zones, path, n_feat: int, zpath: Path | None, repeats: int) -> dict:
    """One layer: acv-geo (full, without distances, total only as QGIS), naive geopandas and QGIS, interleaved."""
    peers = {
        "acv_geo": lambda: cold(zones=zones, path=path, category="ALEA"),
        "acv_geo_without_distances": lambda: cold(zones=zones, path=path, category="ALEA", distances=False),
        # what QGIS computes: the total overlap per town (no category, no distance)
        "acv_geo_total_only": lambda: cold(zones=zones, path=path, distances=False),
        "naive_geopandas_overlay": lambda: naive(zones, path, "ALEA"),
    }
    if zpath is not None:
        peers["qgis_calculatevectoroverlaps"] = lambda: qgis_overlaps(zpath, path)
    for fn in peers.values():  # warm-up: file-system cache and lazy imports alike for every peer
        fn()
    times, outs = interleaved(peers, repeats, digits=4)
    ours, (total, _per_cat) = outs["acv_geo"], outs["naive_geopandas_overlay"]
    med = {k: v["median"] for k, v in times.items()}
    row: dict = {
        "layer_features": n_feat,
        "times_s": times,
        "ratio_naive_over_acv_geo": round(med["naive_geopandas_overlay"] / med["acv_geo"], 2),
        "acv_geo_report": {k: v for k, v in overlay_report(ours).items() if k != "repaired_fids"},
        "agreement_with_naive": compare(ours, "r", total, _per_cat),
    }
    line = f"{Path(path).name}: " + " | ".join(f"{k} {v:.3f} s" for k, v in med.items())
    if zpath is not None:
        qa = outs["qgis_calculatevectoroverlaps"]
        q = med["qgis_calculatevectoroverlaps"]
        row["ratio_qgis_over_acv_geo"] = round(q / med["acv_geo"], 2)
        row["ratio_qgis_over_acv_geo_without_distances"] = round(q / med["acv_geo_without_distances"], 2)
        row["ratio_qgis_over_acv_geo_total_only"] = round(q / med["acv_geo_total_only"], 2)
        row["note_qgis"] = "QGIS measures the total overlap only (no category, count or distance)"
        metro = zones.index[zones["territory"].eq("metropole")]
        theirs = qa.reindex(metro).fillna(0.0).to_numpy()
        for k in ("acv_geo", "acv_geo_total_only"):
            mine = outs[k].loc[metro, "r_area_m2"].to_numpy()
            sel = theirs > 0
            row[f"agreement_with_qgis_max_rel_diff{'' if k == 'acv_geo' else '_total_only'}"] = (
                float((np.abs(mine[sel] - theirs[sel]) / theirs[sel]).max()) if sel.any() else 0.0
            )
        line += f" | QGIS/acv-geo total only ×{row['ratio_qgis_over_acv_geo_total_only']:.2f}"
    print(line)
    print(f"   agreement with naive: {row['agreement_with_naive']}")
    return row


if __name__ == "__main__":
    main()
