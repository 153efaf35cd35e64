"""Build national-scale benchmark inputs from real geometry (cached under benchmarks/.cache/).

- ``communes(factor)``: the 34,7xx real mainland commune polygons (IGN 2025, from ../shared/data),
  and for factor 4 or 16 each commune cut into 2×2 or 4×4 pieces, so the cost growth with the number
  of zones is measured on real shapes inside France.
- ``national_layer(n=30000)``: a 30,000-polygon layer built from real commune polygons: each picked
  commune shrunk to 60 % around its representative point and shifted by 1 km, with a category
  field (``ALEA``: 3 classes) — it overlaps commune borders like a real flood-zone layer does.
- ``national_raster(res=250)``: a land-cover-like int16 raster (8 classes + nodata) in EPSG:2154 over
  the tiled extent, written tiled and compressed.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CACHE = ROOT / "benchmarks" / ".cache"
SPAN = 0.0


def _source() -> gpd.GeoDataFrame:
    path = SHARED / "boundaries" / "communes_cog2025.gpkg"
    if not path.exists():
        raise SystemExit(f"{path} is missing: the national benchmarks need ../shared/data beside the repo")
    g = gpd.read_file(path, columns=["insee_com", "siren_epci"])
    g = g[~(g.geometry.isna() | g.geometry.is_empty)]
    g["territory"] = [
        (
            "metropole"
            if not c.startswith("97")
            else {"971": "guadeloupe", "972": "martinique", "973": "guyane", "974": "reunion", "976": "mayotte"}[c[:3]]
        )
        for c in g["insee_com"]
    ]
    return g


def _areal(g):
    """The polygonal part of a geometry (empty if none)."""
    t = shapely.get_type_id(g)
    if t in (3, 6):
        return g
    polys = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
    return shapely.multipolygons(polys) if polys else shapely.Polygon()


def communes(factor: int = 1) -> Path:
    """GeoPackage (EPSG:2154) of the mainland communes, each cut into ``factor`` pieces (1, 4 or 16).

    Pieces are the intersections of a commune with a 2×2 or 4×4 grid over its own bounding box, so the
    zones stay real shapes inside France (a translated copy would leave the mainland territory).
    """
    if factor not in (1, 4, 16):
        raise ValueError("factor must be 1, 4 or 16")
    out = CACHE / f"communes_x{factor}.gpkg"
    if out.exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    g = _source()
    g = g[g["territory"] == "metropole"].to_crs(2154).reset_index(drop=True)
    side = int(np.sqrt(factor))
    geoms = g.geometry.to_numpy()
    b = shapely.bounds(geoms)
    pieces, codes = [], []
    for i in range(side):
        for j in range(side):
            x0 = b[:, 0] + (b[:, 2] - b[:, 0]) * i / side
            x1 = b[:, 0] + (b[:, 2] - b[:, 0]) * (i + 1) / side
            y0 = b[:, 1] + (b[:, 3] - b[:, 1]) * j / side
            y1 = b[:, 1] + (b[:, 3] - b[:, 1]) * (j + 1) / side
            cut = shapely.intersection(geoms, shapely.box(x0, y0, x1, y1)) if side > 1 else geoms
            pieces.append(cut)
            codes.append(
                g["insee_com"].to_numpy()
                if side == 1
                else np.char.add(g["insee_com"].to_numpy().astype(str), f"_{i}{j}")
            )
    geom = np.concatenate(pieces)
    code = np.concatenate(codes)
    # a cut can leave slivers of lower dimension (a shared edge): keep only the areal part
    geom = np.array([_areal(g) for g in geom], dtype=object)
    keep = ~shapely.is_empty(geom)
    tiled = gpd.GeoDataFrame({"insee_com": code[keep], "territory": "metropole"}, geometry=geom[keep], crs=2154)
    tiled.to_file(out, driver="GPKG", layer="communes", VERSION="1.3")
    return out


def national_layer(n: int = 30_000, seed: int = 0) -> Path:
    """GeoPackage with ``n`` risk-zone-like polygons built from real commune geometry."""
    out = CACHE / f"national_layer_{n}.gpkg"
    if out.exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    g = _source()
    g = g[g["territory"] == "metropole"].to_crs(2154).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(g), size=min(n, len(g)), replace=False)
    geoms = g.geometry.to_numpy()[pick]
    rp = shapely.point_on_surface(geoms)
    x, y = shapely.get_x(rp), shapely.get_y(rp)
    coords = shapely.get_coordinates(geoms)
    counts = shapely.get_num_coordinates(geoms)
    owner = np.repeat(np.arange(len(geoms)), counts)
    coords = (coords - np.c_[x, y][owner]) * 0.6 + np.c_[x, y][owner] + 1000.0
    shrunk = shapely.set_coordinates(geoms.copy(), coords)
    layer = gpd.GeoDataFrame(
        {
            "ALEA": rng.choice(["Inondation", "Submersion marine", "Mouvement de terrain"], size=len(pick)),
            "ID": np.arange(len(pick)),
        },
        geometry=shapely.make_valid(shrunk),
        crs=2154,
    )
    layer.to_file(out, driver="GPKG", layer="zones", VERSION="1.3")
    return out


def national_raster(res: float = 250.0, factor: int = 1) -> Path:
    """Land-cover-like int16 GeoTIFF (classes 1-8, nodata 0) over mainland France."""
    import rasterio
    from rasterio.transform import from_origin

    out = CACHE / f"landcover_{int(res)}m_x{factor}.tif"
    if out.exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    side = int(np.sqrt(factor))
    x0, y1 = 50_000.0, 7_150_000.0 + (side - 1) * SPAN
    width = int((1_250_000 + (side - 1) * SPAN) / res)
    height = int((1_100_000 + (side - 1) * SPAN) / res)
    profile = {
        "driver": "GTiff",
        "dtype": "int16",
        "count": 1,
        "width": width,
        "height": height,
        "crs": "EPSG:2154",
        "transform": from_origin(x0, y1, res, res),
        "nodata": 0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
    }
    rng = np.random.default_rng(1)
    with rasterio.open(out, "w", **profile) as dst:
        for _, win in dst.block_windows(1):
            h, w = win.height, win.width
            base = rng.integers(1, 9, size=(max(1, h // 8) + 1, max(1, w // 8) + 1), dtype=np.int16)
            block = np.kron(base, np.ones((8, 8), dtype=np.int16))[:h, :w]
            dst.write(block, 1, window=win)
    return out
