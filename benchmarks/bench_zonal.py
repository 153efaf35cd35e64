"""Zonal statistics on the ACV communes and buffers: acv-geo vs exactextract directly vs rasterstats.

Run: ``.venv/bin/python benchmarks/bench_zonal.py``. Writes benchmarks/results/zonal.json.
Same zones, same raster, same statistics (count, mean, min, max) in one run; best of N repeats.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from exactextract import exact_extract
from rasterstats import zonal_stats

import acv_geo
from acv_geo.indicators.zonal import zonal_indicators

REPEAT = 5
OUT = Path(__file__).resolve().parent / "results" / "zonal.json"


def best(fn, repeat=REPEAT):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    dem = acv_geo.get_path("dem_n45e005")
    communes = gpd.read_file(acv_geo.get_path("acv_communes_polygons")).set_index("insee_com")
    covered = communes.loc[["01004", "38053", "38563", "73065", "74225", "26057", "26281"]]
    # 1 km buffers around the 7 covered communes' representative points, built in Lambert-93
    pts = covered.to_crs(2154).representative_point()
    buffers = gpd.GeoDataFrame(geometry=pts.buffer(1000), crs=2154).to_crs(4326)
    buffers.index = covered.index
    cases = {"communes_244": communes, "communes_in_dem_7": covered, "buffers_1km_7": buffers}
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, zones in cases.items():
            z_plain = zones.reset_index()

            def ours(zones=zones):
                return zonal_indicators(zones, dem, stats=["count", "mean", "min", "max"], name="dem")

            def ee(z_plain=z_plain):
                with rasterio.open(dem) as ds:
                    return exact_extract(ds, z_plain, ["count", "mean", "min", "max"], output="pandas")

            def rs(zones=zones):
                return zonal_stats(zones, str(dem), stats=["count", "mean", "min", "max"], all_touched=False)

            a, b = ours(), ee()
            rs()
            np.testing.assert_allclose(a["dem_mean"].to_numpy(), b["mean"].to_numpy(), atol=1e-9)
            t_ours, t_ee, t_rs = best(ours), best(ee), best(rs)
            results[name] = {
                "zones": len(zones),
                "acv_geo_s": t_ours,
                "exactextract_s": t_ee,
                "rasterstats_s": t_rs,
                "exactextract_over_acv_geo": t_ee / t_ours,
                "rasterstats_over_acv_geo": t_rs / t_ours,
            }
            print(
                f"{name:>18}: acv-geo {t_ours * 1e3:7.1f} ms | exactextract {t_ee * 1e3:7.1f} ms "
                f"(x{t_ee / t_ours:.2f}) | rasterstats {t_rs * 1e3:7.1f} ms (x{t_rs / t_ours:.1f})"
            )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"raster": dem.name, "repeat": REPEAT, "results": results}, indent=2))
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
