"""The EPCI summary layer: the EPCI polygons of the towns, with their ACV towns and open-data status.

One row per EPCI holding at least one of the towns (indexed by ``siren_epci``): its name, type and
territory, the INSEE codes and names of its ACV towns, their number, and the EPCI's open-data
columns (``opendata_epci``, portal URLs…) taken from its towns. Written as layer ``epci`` of
``cities.gpkg`` and drawn as the EPCI open-data map by :func:`acv_geo.diagnose`.
"""

from __future__ import annotations

import weakref
from typing import Any

import pandas as pd

__all__ = ["EPCI_COLUMNS", "epci_layer"]

#: Town columns the layer reads (those present), besides the town code.
EPCI_COLUMNS = (
    "siren_epci",
    "commune",
    "opendata_epci",
    "url_portail_epci",
    "url_datagouv_epci",
    "techno_epci",
    "themes_epci",
)

#: The layer last built, with weak references to the towns and EPCI frames it was built from: writing
#: the tables and drawing the maps of one run share it (built once).
_MEMO: list = []


def epci_layer(cities: Any, epci: Any) -> Any:
    """The EPCI polygons of the towns, with their ACV towns and open-data status (a copy).

    Parameters
    ----------
    cities : geopandas.GeoDataFrame
        The towns, indexed by ``insee_com``, with ``siren_epci`` (towns without one are left out) and,
        when present, ``commune`` and the EPCI open-data columns.
    epci : geopandas.GeoDataFrame
        EPCI polygons indexed by SIREN (:func:`acv_geo.read_epci`).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per EPCI of the towns, indexed by ``siren_epci``: ``nom_epci``, ``type_epci``,
        ``territory`` (when in ``epci``), then ``acv_communes``, ``acv_names``, ``n_acv`` and the
        open-data columns. The same call on the same frames returns a copy of the layer built once.

    Examples
    --------
    >>> import acv_geo
    >>> layer = epci_layer(acv_geo.read_acv(), acv_geo.read_epci())
    >>> layer.index.name, int(layer["n_acv"].sum()) <= 244
    ('siren_epci', True)
    """
    shape = (cities.shape, tuple(cities.columns), epci.shape)
    if _MEMO:
        ref_c, ref_e, memo_shape, out = _MEMO[0]
        if ref_c() is cities and ref_e() is epci and memo_shape == shape:
            return out.copy()
    out = _build(cities, epci)
    try:
        _MEMO[:] = [(weakref.ref(cities), weakref.ref(epci), shape, out)]
    except TypeError:  # an object without weak references: no memo
        _MEMO.clear()
    return out.copy()


def _joined(key: pd.Series, values: Any, order: list[str]) -> pd.Series:
    """``", "``-joined values per key, indexed by ``order`` (the keys sorted, as ``groupby`` orders them)."""
    groups: dict[str, list[str]] = {}
    for k, v in zip(key.to_numpy(), values, strict=True):
        groups.setdefault(k, []).append(str(v))
    return pd.Series([", ".join(groups[k]) for k in order], index=order)


def _build(cities: Any, epci: Any) -> Any:
    import geopandas as gpd

    names = [x for x in EPCI_COLUMNS if x in cities.columns]
    # a plain frame of the columns used: every access to the cities would deep-copy their metadata (attrs)
    c = pd.DataFrame(cities[names])
    c.attrs = {}
    c = c[c["siren_epci"].notna()] if "siren_epci" in c.columns else c.iloc[:0]
    key = c["siren_epci"].astype(str) if "siren_epci" in c.columns else pd.Series([], index=c.index, dtype=str)
    sub = epci.loc[[s for s in dict.fromkeys(key) if s in epci.index]].copy()
    g = c.groupby(key)
    order = sorted(set(key))  # groupby order
    sub["acv_communes"] = _joined(key, c.index, order).reindex(sub.index)
    sub["acv_names"] = (
        _joined(key, c["commune"].to_numpy(), order).reindex(sub.index) if "commune" in c.columns else None
    )
    sub["n_acv"] = g.size().reindex(sub.index).astype("Int64")
    if "opendata_epci" in c.columns:
        sub["opendata_epci"] = g["opendata_epci"].first().reindex(sub.index).astype("boolean")
    for col in ("url_portail_epci", "url_datagouv_epci", "techno_epci", "themes_epci"):
        if col in c.columns:
            sub[col] = g[col].first().reindex(sub.index).astype(object)
    keep = [x for x in ("nom_epci", "type_epci", "territory") if x in sub.columns]
    cols = keep + [x for x in sub.columns if x not in keep and x != sub.geometry.name]
    out = gpd.GeoDataFrame(sub[cols], geometry=sub.geometry, crs=epci.crs)
    out.index.name = "siren_epci"
    return out
