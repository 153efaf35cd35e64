"""Where a source has data: its coverage, declared or derived, and which zones it reaches.

One concept lives here: *did this source survey this place?* Inside its coverage, 0 means "measured,
nothing found"; outside, every measure of the source is NA with a reason naming the source and its
coverage. A regional layer (the Hérault risk zones) must never give Abbeville 0 % or a 700 km distance.

Coverage is a set of departments, or all of France. It is **declared** where the source says it (the
configuration's ``coverage = ["34"]``, a catalogue entry, the CLI's ``--coverage``), or **derived** from
the features conservatively: the departments holding at least :data:`MIN_FEATURES` features (fewer for a
layer of a handful of features), each feature placed in the department of the nearest commune centre — never
a convex hull or a bounding box, which would claim the whole coast between two surveyed towns. A stray
feature across a border does not make the neighbouring department "covered".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.codes import insee_departments
from acv_geo.core.datasets import get_path

__all__ = [
    "MIN_FEATURES",
    "NATIONAL",
    "Coverage",
    "derive_coverage",
    "file_coverage",
    "parse_coverage",
    "zone_departments",
]

#: Features a department must hold to count as covered when coverage is derived (fewer for tiny layers).
MIN_FEATURES = 3
_DEP_RE = re.compile(r"^(\d{2}|2A|2B|97[1-6])$")


@dataclass(frozen=True)
class Coverage:
    """The departments a source covers (``national``: all of France).

    Attributes
    ----------
    departments : tuple of str
        INSEE department codes (``"34"``, ``"2A"``, ``"974"``); empty when ``national``.
    national : bool
        The source covers every department.
    derived : bool
        Derived from the features (not declared by the source).
    """

    departments: tuple[str, ...] = ()
    national: bool = False
    derived: bool = False

    def describe(self) -> str:
        """Plain words: ``"all of France"`` or ``"department 34 (derived from its features)"``."""
        if self.national:
            text = "all of France"
        elif not self.departments:
            text = "no department"
        else:
            s = "s" if len(self.departments) > 1 else ""
            text = f"department{s} {', '.join(self.departments)}"
        return text + (" (derived from its features)" if self.derived else "")

    def covers(self, departments: Iterable[str | None]) -> np.ndarray:
        """Boolean mask: which of these departments the source covers (None: not covered)."""
        deps = list(departments)
        if self.national:
            return np.array([d is not None for d in deps], dtype=bool)
        wanted = set(self.departments)
        return np.array([d in wanted for d in deps], dtype=bool)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for metadata)."""
        return {"national": self.national, "departments": list(self.departments), "derived": self.derived}


NATIONAL = Coverage(national=True)


def parse_coverage(value: Any, *, where: str = "coverage") -> Coverage | None:
    """A declared coverage: ``"national"``, department codes (list or ``"34,30"``), a Coverage, or None.

    Examples
    --------
    >>> parse_coverage(["34", "2a", "1"]).departments
    ('01', '2A', '34')
    >>> parse_coverage("national").describe()
    'all of France'
    """
    if value is None or isinstance(value, Coverage):
        return value
    if isinstance(value, str):
        if value.strip().lower() in ("national", "france"):
            return NATIONAL
        value = [v for v in re.split(r"[,; ]+", value) if v]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (str, int)) for v in value):
        deps = sorted({str(v).strip().upper().zfill(2) for v in value})
        bad = [d for d in deps if not _DEP_RE.match(d)]
        if bad:
            raise ValueError(
                f"{where}: {bad} are not department codes (01..95, 2A, 2B, 971..976); give department "
                'codes such as ["34", "30"] or "national"'
            )
        return Coverage(departments=tuple(deps))
    raise ValueError(f'{where}: expected "national" or a list of department codes such as ["34"], got {value!r}')


def _unit_sphere(lon: Any, lat: Any) -> np.ndarray:
    """Longitude/latitude (degrees, WGS84) as points on the unit sphere.

    Straight-line distances between them order like great-circle distances, at every latitude (mainland,
    Antilles, Réunion alike), so the nearest commune centre is the true nearest one.
    """
    lo, la = np.radians(np.asarray(lon, dtype=float)), np.radians(np.asarray(lat, dtype=float))
    return np.c_[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]


@functools.lru_cache(maxsize=1)
def _commune_points() -> tuple[Any, np.ndarray]:
    """KD-tree of every commune centre (on the unit sphere) and their departments."""
    from scipy.spatial import cKDTree

    ref = pd.read_csv(
        get_path("communes_france"),
        dtype={"insee_com": str, "insee_dep": str},
        usecols=["insee_com", "insee_dep", "lon", "lat"],
    )
    return cKDTree(_unit_sphere(ref["lon"], ref["lat"])), ref["insee_dep"].to_numpy(dtype=object)


def departments_at(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Department of the nearest commune centre of each point (longitude/latitude in degrees, WGS84).

    Examples
    --------
    >>> departments_at([3.4758, -61.73, 9.15, 55.45], [43.3124, 15.99, 42.15, -20.88]).tolist()
    ['34', '971', '2B', '974']
    """
    tree, deps = _commune_points()
    if len(lon) == 0:
        return np.array([], dtype=object)
    _, idx = tree.query(_unit_sphere(lon, lat))
    return deps[idx]


def derive_coverage(geometries: Any) -> Coverage:
    """The departments holding at least :data:`MIN_FEATURES` features (nearest commune centre).

    A layer of fewer than 150 features needs only 2 % of them per department (one feature for a
    perimeter layer of a single polygon).

    Parameters
    ----------
    geometries : geopandas.GeoSeries
        The source's features, in any CRS.

    Returns
    -------
    Coverage
        ``derived=True``; no department for an empty layer.
    """
    import shapely

    geo = geometries[~(geometries.isna() | geometries.is_empty)]
    if len(geo) == 0:
        return Coverage(derived=True)
    pts = geo.to_crs(4326) if geo.crs is not None and not geo.crs.equals("EPSG:4326") else geo
    rp = shapely.point_on_surface(np.asarray(pts.values, dtype=object))
    deps = departments_at(shapely.get_x(rp), shapely.get_y(rp))
    counts = pd.Series(deps).value_counts()
    keep = counts[counts >= min(MIN_FEATURES, max(1.0, 0.02 * len(deps)))].index
    return Coverage(departments=tuple(sorted(str(d) for d in keep)), derived=True)


def file_coverage(path: str | Any, layer: str | None = None) -> Coverage:
    """:func:`derive_coverage` of a layer file (cached per file version: national chunks share it)."""
    import os

    st = os.stat(path)
    return _file_coverage(str(os.path.realpath(path)), st.st_mtime_ns, st.st_size, layer)


@functools.lru_cache(maxsize=8)
def _file_coverage(path: str, mtime_ns: int, size: int, layer: str | None) -> Coverage:
    import pyogrio

    if path.lower().endswith((".parquet", ".geoparquet")):
        import geopandas as gpd

        return derive_coverage(gpd.read_parquet(path).geometry)
    return derive_coverage(pyogrio.read_dataframe(path, layer=layer, columns=[]).geometry)


def zone_departments(zones: Any) -> np.ndarray:
    """Department of each zone: from its INSEE code when indexed by ``insee_com``, else its point."""
    if zones.index.name == "insee_com":
        return insee_departments(zones.index.astype(str))
    import geopandas as gpd

    pts = zones["city_point"] if "city_point" in zones.columns else zones.geometry.representative_point()
    pts = gpd.GeoSeries(pts, crs=getattr(pts, "crs", None) or zones.crs).to_crs(4326)
    out = np.array([None] * len(zones), dtype=object)
    ok = ~(pts.isna() | pts.is_empty).to_numpy()
    if ok.any():
        out[ok] = departments_at(pts[ok].x.to_numpy(), pts[ok].y.to_numpy())
    return out
