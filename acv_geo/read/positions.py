"""Positions of the towns of a city list: read from the file, checked against their territory, repaired.

A position comes from the file's point geometry, its ``lat``/``lon`` columns or a ``"lat, lon"`` text
column, in that order. Where it is missing, outside the town's territory or in a map inset (the ANCT web
map draws the overseas towns inside mainland France), it is swapped back (latitude and longitude
inverted) or replaced by the representative point of the commune polygon; every repair is reported, and
a position that cannot be placed raises :class:`~acv_geo.core.errors.InputError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from acv_geo.core.errors import InputError
from acv_geo.core.files import RepairLog
from acv_geo.core.territories import TERRITORIES
from acv_geo.read.text import row_labels

__all__ = ["city_positions", "in_bounds", "parse_latlon_text"]


def parse_latlon_text(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(latitudes, longitudes) of ``"lat, lon"`` texts, ``{"lat": …, "lon": …}`` dicts or pairs (NaN if not).

    Examples
    --------
    >>> lat, lon = parse_latlon_text(pd.Series(["45.9, 5.36", {"lat": 43.4, "lon": 3.6}, "?"]))
    >>> lat.tolist()[:2], lon.tolist()[:2], bool(lat.isna().iloc[2])
    ([45.9, 43.4], [5.36, 3.6], True)
    """

    def split(v: object) -> tuple[float, float]:
        if isinstance(v, dict):  # geo_point_2d as {"lat":..,"lon":..}
            return float(v.get("lat", np.nan)), float(v.get("lon", np.nan))
        if isinstance(v, (list, tuple)) and len(v) == 2:
            return float(v[0]), float(v[1])
        if not isinstance(v, str):
            return np.nan, np.nan
        parts = [p for p in re.split(r"[,;\s]+", v.strip().strip("[]()")) if p]
        if len(parts) != 2:
            return np.nan, np.nan
        try:
            return float(parts[0]), float(parts[1])
        except ValueError:
            return np.nan, np.nan

    pairs = values.map(split)
    return pairs.map(lambda p: p[0]).astype(float), pairs.map(lambda p: p[1]).astype(float)


def in_bounds(lon: NDArray[Any], lat: NDArray[Any], territories: NDArray[Any]) -> NDArray[Any]:
    """Whether each point lies in the bounding box of its territory (:data:`acv_geo.core.territories.TERRITORIES`).

    Examples
    --------
    >>> in_bounds(np.array([5.3, 5.3]), np.array([45.9, -21.1]), np.array(["metropole", "reunion"])).tolist()
    [True, False]
    """
    ok = np.zeros(len(lon), dtype=bool)
    for name, terr in TERRITORIES.items():
        sel = territories == name
        x0, y0, x1, y1 = terr.bounds
        ok[sel] = (lon[sel] >= x0) & (lon[sel] <= x1) & (lat[sel] >= y0) & (lat[sel] <= y1)
    return ok


def _file_positions(df: pd.DataFrame, report: RepairLog) -> tuple[np.ndarray, NDArray[Any]]:
    """Longitudes and latitudes given by the file (NaN where it gives none)."""
    n = len(df)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if "_geom_lon" in df:
        lon = pd.to_numeric(df["_geom_lon"], errors="coerce").to_numpy(float, copy=True)
        lat = pd.to_numeric(df["_geom_lat"], errors="coerce").to_numpy(float, copy=True)
    if "lat" in df and "lon" in df:
        flat = pd.to_numeric(df["lat"].astype(str).str.replace(",", "."), errors="coerce").to_numpy(float)
        flon = pd.to_numeric(df["lon"].astype(str).str.replace(",", "."), errors="coerce").to_numpy(float)
        take = np.isnan(lon)
        lon[take], lat[take] = flon[take], flat[take]
    if "centroid" in df:
        clat, clon = parse_latlon_text(df["centroid"])
        take = np.isnan(lon)
        if take.any() and df["centroid"].notna().any():
            report.add(
                "centroid text parsed",
                "centroid",
                None,
                "positions read from the 'centroid' text column (\"lat, lon\" order)",
            )
        lon[take], lat[take] = clon.to_numpy()[take], clat.to_numpy()[take]
    return lon, lat


@dataclass
class _Points:
    """The positions being repaired, with the reference point of each town."""

    lon: NDArray[Any]
    lat: NDArray[Any]
    source: NDArray[Any]
    codes: NDArray[Any]
    territory: NDArray[Any]
    ref_lon: NDArray[Any]
    ref_lat: NDArray[Any]

    def from_reference(self, mask: NDArray[Any], source: str, report: RepairLog, kind: str, detail: str) -> None:
        """Replace the positions of ``mask`` by the commune's reference point, and report it."""
        if mask.any():
            self.lon[mask], self.lat[mask] = self.ref_lon[mask], self.ref_lat[mask]
            self.source[mask] = source
            report.add(kind, "geometry", list(self.codes[mask]), detail)


def _repair_outside(pts: _Points, bad: NDArray[Any], report: RepairLog) -> NDArray[Any]:
    """Repair the positions outside their territory; the mask of those that could not be repaired."""
    swapped = bad & in_bounds(pts.lat, pts.lon, pts.territory)
    if swapped.any():
        pts.lon[swapped], pts.lat[swapped] = pts.lat[swapped].copy(), pts.lon[swapped].copy()
        pts.source[swapped] = "file (latitude/longitude swapped)"
        report.add(
            "swapped coordinates",
            "geometry",
            list(pts.codes[swapped]),
            "latitude and longitude were swapped in the file; swapped back",
        )
        bad &= ~swapped
    known = ~np.isnan(pts.ref_lon)
    overseas = bad & (pts.territory != "metropole") & known
    pts.from_reference(
        overseas,
        "commune polygon (file had a map-inset position)",
        report,
        "overseas map-inset position",
        "overseas towns placed in map insets inside mainland France; replaced by the representative "
        "point of the commune polygon (true position)",
    )
    bad &= ~overseas
    fixable = bad & known
    pts.from_reference(
        fixable,
        "commune polygon (file position outside the territory)",
        report,
        "position outside its territory",
        "position outside France/its territory in the file; replaced by the commune polygon's representative point",
    )
    return bad & ~fixable


def city_positions(
    df: pd.DataFrame, path: Path, report: RepairLog, ref: pd.DataFrame
) -> tuple[np.ndarray, NDArray[Any], list[str]]:
    """Longitude, latitude (WGS84) and source of the position of every town of a city list.

    Parameters
    ----------
    df : pandas.DataFrame
        The list with canonical columns (``insee_com``, ``territory`` and any of ``_geom_lon``/``_geom_lat``,
        ``lat``/``lon``, ``centroid``).
    path : pathlib.Path
        The file, for the messages.
    report : acv_geo.core.files.RepairLog
        Where the repairs go.
    ref : pandas.DataFrame
        Reference points (``lon``, ``lat``) indexed by INSEE code (:func:`acv_geo.read.reference.reference_communes`).

    Returns
    -------
    tuple of (numpy.ndarray, numpy.ndarray, list of str)
        Longitudes, latitudes and where each position comes from (``"file"``, ``"commune polygon (…)"``).

    Raises
    ------
    acv_geo.InputError
        A position outside its territory, or no position, for a town absent from the reference.

    Examples
    --------
    >>> ref = pd.DataFrame({"lon": [5.36], "lat": [45.96]}, index=["01004"])
    >>> df = pd.DataFrame({"insee_com": ["01004"], "territory": ["metropole"]})
    >>> lon, lat, source = city_positions(df, Path("a.csv"), RepairLog("a.csv"), ref)
    >>> lon.tolist(), source
    ([5.36], ['commune polygon (no position in file)'])
    """
    lon, lat = _file_positions(df, report)
    codes = df["insee_com"].to_numpy()
    pts = _Points(
        lon,
        lat,
        np.array(["file"] * len(df), dtype=object),
        codes,
        df["territory"].to_numpy(),
        ref["lon"].reindex(codes).to_numpy(float),
        ref["lat"].reindex(codes).to_numpy(float),
    )
    missing = np.isnan(lon) | np.isnan(lat)
    pts.from_reference(
        missing & ~np.isnan(pts.ref_lon),
        "commune polygon (no position in file)",
        report,
        "position from commune polygon",
        "no position in the file: representative point of the commune polygon (IGN ADMIN EXPRESS 2025)",
    )
    bad = ~in_bounds(pts.lon, pts.lat, pts.territory) & ~np.isnan(pts.lon)
    if bad.any():
        bad = _repair_outside(pts, bad, report)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{path}: {row_labels(df, bad)}: position ({pts.lat[i]:.5f}, {pts.lon[i]:.5f}) of "
            f"{codes[i]} is outside {TERRITORIES[pts.territory[i]].label} and the commune is not in the "
            "reference; correct the coordinates (lat, lon in WGS84) or the INSEE code"
        )
    still = np.isnan(pts.lon) | np.isnan(pts.lat)
    if still.any():
        raise InputError(
            f"{path}: {row_labels(df, still)}: no position and INSEE code "
            f"{codes[still][0]} is not a 2025 commune; give lat/lon or correct the code"
        )
    return pts.lon, pts.lat, list(pts.source)
