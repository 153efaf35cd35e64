"""Spatial weights that never link two territories.

One concept lives here: *who is the neighbour of whom*. :func:`spatial_weights` builds an
immutable :class:`libpysal.graph.Graph` territory by territory, each in its own projected CRS
(:func:`acv_geo.core.territories.local_crs`), and assembles them so that no edge crosses a territory
boundary: an overseas town is never a neighbour of the mainland, and Guadeloupe is never linked
to Martinique although both are measured in EPSG:5490. Every territory is therefore its own
set of components.

Specifications
--------------
``"knn:K"``
    The K nearest units (points, or representative points of polygons), asymmetric, binary.
``"distance:METERS"``
    Every unit within METERS (distance band, binary, symmetric).
``"queen"`` / ``"rook"``
    Polygons sharing at least a vertex / an edge (commune or EPCI polygons).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError
from acv_geo.core.territories import TERRITORIES, local_crs, territory_of
from acv_geo.stats.adjacency import Adjacency, connected_components, is_graph, knn_neighbors

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from libpysal.graph import Graph

__all__ = [
    "WEIGHT_KINDS",
    "TerritoryGraph",
    "UnitWeights",
    "WeightsResult",
    "parse_weights_spec",
    "spatial_weights",
    "unit_weights",
    "weights_kind",
]

#: Kinds of spatial weights: ``knn:K``, ``distance:METERS`` (with a parameter), ``queen``, ``rook``.
WEIGHT_KINDS: tuple[str, ...] = ("knn", "distance", "queen", "rook")

_SPEC_HELP = (
    "'knn:K' (K a positive integer, e.g. 'knn:6'), 'distance:METERS' (a positive distance in "
    "metres, e.g. 'distance:20000'), 'queen' or 'rook'"
)
_KNN_RE = re.compile(r"^knn:(\d+)$")
_DIST_RE = re.compile(r"^distance:(\d+(?:\.\d*)?|\.\d+)$")
_NAME_COLUMNS = ("commune", "nom_com", "nom_epci", "lib_com", "name", "nom")


def parse_weights_spec(spec: str) -> tuple[str, float | int | None]:
    """Validate a weights specification and split it into kind and parameter.

    Parameters
    ----------
    spec : str
        ``"knn:K"``, ``"distance:METERS"``, ``"queen"`` or ``"rook"``.

    Returns
    -------
    tuple
        ``("knn", K)``, ``("distance", METERS)``, ``("queen", None)`` or ``("rook", None)``.

    Raises
    ------
    ValueError
        If ``spec`` is not one of the allowed forms; the message lists them.

    Examples
    --------
    >>> parse_weights_spec("knn:6")
    ('knn', 6)
    >>> parse_weights_spec("distance:2500")
    ('distance', 2500.0)
    """
    if not isinstance(spec, str):
        raise ValueError(f"weights spec must be a string, got {spec!r}; allowed forms: {_SPEC_HELP}")
    s = spec.strip()
    if s in ("queen", "rook"):
        return s, None
    m = _KNN_RE.match(s)
    if m and int(m.group(1)) >= 1:
        return "knn", int(m.group(1))
    m = _DIST_RE.match(s)
    if m and float(m.group(1)) > 0:
        return "distance", float(m.group(1))
    raise ValueError(f"unknown weights spec {spec!r}; allowed forms: {_SPEC_HELP}")


@dataclass(frozen=True)
class TerritoryGraph:
    """How the weights of one territory came out.

    Attributes
    ----------
    territory : str
        Territory name (``"metropole"``, ``"guadeloupe"``, ...).
    epsg : int
        Projected CRS the weights were computed in.
    n_units : int
        Units of the territory.
    n_edges : int
        Directed edges (isolates not counted).
    n_components : int
        Connected components inside the territory (islands included).
    islands : tuple of str
        Ids of the units without any neighbour.
    k : int or None
        Number of neighbours actually used (knn only; capped at ``n_units - 1``).
    """

    territory: str
    epsg: int
    n_units: int
    n_edges: int
    n_components: int
    islands: tuple[str, ...]
    k: int | None = None


@dataclass(frozen=True)
class WeightsResult:
    """Spatial weights assembled territory by territory.

    Attributes
    ----------
    adjacency : Adjacency
        The binary weights as arrays (what the statistics read); ``.graph`` is their
        :class:`libpysal.graph.Graph`, built (and libpysal imported) on first access.
    spec : str
        The specification used (``"knn:6"``, ``"queen"``, ...).
    islands : tuple of str
        Ids of the units that have no neighbour.
    island_names : tuple of str
        Their names when the input has a name column (``commune``, ``nom_com``, ``nom_epci``),
        else their ids.
    n_components : int
        Connected components of the whole graph (at least the number of territories).
    components : tuple of TerritoryGraph
        Per-territory summary, in order of first appearance.
    territories : pandas.Series
        Territory of each unit, indexed by id.
    warnings : tuple of str
        Fallbacks applied (k capped, single-unit territory, islands).
    """

    adjacency: Adjacency = field(repr=False)
    spec: str
    islands: tuple[str, ...]
    island_names: tuple[str, ...]
    n_components: int
    components: tuple[TerritoryGraph, ...]
    territories: pd.Series = field(repr=False)
    warnings: tuple[str, ...] = ()

    @property
    def graph(self) -> Graph:
        """Binary :class:`libpysal.graph.Graph`; ``graph.unique_ids`` are the input ids in input order.

        Isolates are self-loops of weight 0 (libpysal's convention).
        """
        return self.adjacency.graph

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: territory, number of neighbours, component label, island flag.

        Returns
        -------
        pandas.DataFrame
            Indexed like the input (same ids, same order), columns
            ``territory, n_neighbors, component, island``.
        """
        ids = self.graph.unique_ids
        card = self.graph.cardinalities.reindex(ids)
        labels = self.graph.component_labels.reindex(ids)
        out = pd.DataFrame(
            {
                "territory": self.territories.reindex(ids).to_numpy(),
                "n_neighbors": card.to_numpy().astype("int64"),
                "component": labels.to_numpy().astype("int64"),
                "island": np.isin(np.asarray(ids, dtype=object), np.asarray(self.islands, dtype=object)),
            },
            index=pd.Index(ids, name=self.territories.index.name),
        )
        return out

    def edges(self) -> pd.DataFrame:
        """The adjacency list as a table ``focal, neighbor, weight``.

        Isolates appear as a self-loop of weight 0, so that
        ``libpysal.graph.Graph.from_adjacency(table)`` rebuilds the same graph.

        Returns
        -------
        pandas.DataFrame
            Columns ``focal, neighbor, weight``.
        """
        return self.adjacency.series().reset_index()

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the adjacency list (``focal,neighbor,weight``) as CSV, atomically.

        Read it back with ``pandas.read_csv(path, dtype={"focal": str, "neighbor": str})`` and
        ``libpysal.graph.Graph.from_adjacency``; join it to a GeoDataFrame on ``focal``.

        Parameters
        ----------
        path : str or path-like
            Destination ``.csv`` file.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        from acv_geo.core.files import atomic_path

        with atomic_path(path) as tmp:
            self.edges().to_csv(tmp, index=False, encoding="utf-8")
        return Path(path)

    def to_gal(self, path: str | os.PathLike) -> Path:
        """Write the weights as a GAL file (readable by GeoDa and ``libpysal.io.open``), atomically.

        GAL stores neighbour lists only: the weights are binary, as built.

        Parameters
        ----------
        path : str or path-like
            Destination ``.gal`` file.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        from acv_geo.core.files import atomic_path

        with atomic_path(path) as tmp:
            self.graph.to_gal(str(tmp))
        return Path(path)


def _territories(gdf: Any, territory_column: str) -> pd.Series:
    """Territory of each unit: the column if present, else from INSEE codes in the index."""
    if territory_column in gdf.columns:
        terr = gdf[territory_column].astype(object)
        bad = terr.isna() | ~terr.isin(list(TERRITORIES))
        if bad.any():
            rows = ", ".join(map(str, gdf.index[bad.to_numpy()][:10]))
            raise InputError(
                f"column {territory_column!r} has missing or unknown territories for {rows}; expected one "
                f"of {sorted(TERRITORIES)} (read the cities with acv_geo.read_acv(), or fill the column)"
            )
        return pd.Series(terr.to_numpy(), index=gdf.index, dtype=object)
    if gdf.index.name == "insee_com":
        try:
            return pd.Series([territory_of(c) for c in gdf.index], index=gdf.index, dtype=object)
        except ValueError as exc:
            raise InputError(f"cannot derive the territory from the index: {exc}") from None
    raise InputError(
        f"input has no {territory_column!r} column and is not indexed by 'insee_com'; add a territory "
        f"column (one of {sorted(TERRITORIES)}) or pass territory_column= naming it"
    )


def _names(gdf: Any, ids: list) -> tuple[str, ...]:
    for col in _NAME_COLUMNS:
        if col in gdf.columns:
            names = gdf[col]
            return tuple(str(names.loc[i]) if pd.notna(names.loc[i]) else str(i) for i in ids)
    return tuple(str(i) for i in ids)


def _isolate_series(ids: list) -> pd.Series:
    idx = pd.MultiIndex.from_arrays([list(ids), list(ids)], names=["focal", "neighbor"])
    return pd.Series(np.zeros(len(ids)), index=idx, name="weight")


def _knn_series(geoms: Any, k: int) -> pd.Series | None:
    """The k nearest neighbours as an adjacency Series (binary), or None on a tie (see knn_neighbors)."""
    xy = geoms.get_coordinates().to_numpy(dtype="float64")
    if len(xy) != len(geoms):
        return None
    nearest = knn_neighbors(xy, k)
    if nearest is None:
        return None
    ids = np.asarray(geoms.index, dtype=object)
    idx = pd.MultiIndex.from_arrays([np.repeat(ids, k), ids[nearest.ravel()]], names=["focal", "neighbor"])
    return pd.Series(np.ones(len(ids) * k), index=idx, name="weight")


def _build_one(geoms: Any, kind: str, param: Any, k_used: int | None) -> pd.Series:
    """Graph of one territory (geometries already projected), as an adjacency Series.

    knn is found with SciPy's k-d tree (libpysal not imported) unless neighbours tie; then, and for
    the other kinds, libpysal builds it.
    """
    n = len(geoms)
    if n == 1:
        return _isolate_series(list(geoms.index))
    if kind == "knn":
        assert k_used is not None
        fast = _knn_series(geoms, k_used)
        if fast is not None:
            return fast
    from libpysal.graph import Graph

    if kind == "knn":
        g = Graph.build_knn(geoms, k=k_used, coplanar="clique")
    elif kind == "distance":
        g = Graph.build_distance_band(geoms, threshold=param, binary=True)
    else:
        g = Graph.build_contiguity(geoms, rook=(kind == "rook"), strict=False)
    return g.adjacency.astype("float64")


def spatial_weights(
    gdf: gpd.GeoDataFrame,
    spec: str = "knn:6",
    *,
    territory_column: str = "territory",
) -> WeightsResult:
    """Spatial weights built per territory, in each territory's projected CRS, never across territories.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Units (cities as points, commune or EPCI polygons) with a unique index (``insee_com`` or
        ``siren_epci``) and a CRS. Territories come from ``territory_column``, or from the INSEE
        codes of the index when the column is absent. Not modified.
    spec : str, default ``"knn:6"``
        ``"knn:K"``, ``"distance:METERS"``, ``"queen"`` or ``"rook"``. knn and distance use the
        points, or the representative points of polygons; queen and rook need polygons.
    territory_column : str, default ``"territory"``
        Column holding the territory name.

    Returns
    -------
    WeightsResult
        ``.graph`` (binary :class:`libpysal.graph.Graph` over the input ids, in input order),
        ``.islands``, ``.n_components``, ``.components`` (per territory), ``.warnings``;
        ``to_frame()``, ``to_csv(path)``, ``to_gal(path)``.

    Raises
    ------
    ValueError
        If ``spec`` is not an allowed form (the message lists them).
    acv_geo.InputError
        If the input is empty, has no CRS, duplicate ids, missing geometries, or (queen/rook) units
        without a polygon (the message names them).

    Warns
    -----
    UserWarning
        When k is capped at ``n - 1`` in a small territory, when a territory holds a single unit
        (it is isolated), and when units have no neighbour.

    Notes
    -----
    knn with fewer than ``K + 1`` units in a territory uses ``K = n - 1`` there; co-located points
    are all neighbours of each other (libpysal's ``coplanar="clique"``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pts = gpd.GeoDataFrame(
    ...     {"territory": ["metropole"] * 3},
    ...     geometry=shapely.points([[700000, 6600000], [701000, 6600000], [720000, 6600000]]),
    ...     index=pd.Index(["75056", "92012", "94028"], name="insee_com"), crs=2154)
    >>> w = spatial_weights(pts, "distance:5000")
    >>> w.islands
    ('94028',)
    """
    kind, param = parse_weights_spec(spec)
    spec = spec.strip()
    _check_units(gdf, kind, spec)
    terr = _territories(gdf, territory_column)
    notes: list[str] = []
    parts: list[pd.Series] = []
    comps: list[TerritoryGraph] = []
    for name in pd.unique(terr.to_numpy()):
        adj, comp, territory_notes = _territory_graph(
            str(name), gdf.geometry[(terr == name).to_numpy()], kind, param, spec
        )
        parts.append(adj)
        comps.append(comp)
        notes += territory_notes
    graph = _assemble(parts, gdf.index)
    islands = tuple(graph.isolates.tolist())
    note = _islands_note(gdf, islands, comps, spec)
    if note:
        notes.append(note)
    for text in notes:
        warnings.warn(text, UserWarning, stacklevel=2)
    terr.index.name = gdf.index.name
    return WeightsResult(
        adjacency=graph,
        spec=spec,
        islands=tuple(str(i) for i in islands),
        island_names=_names(gdf, list(islands)),
        n_components=graph.n_components,
        components=tuple(comps),
        territories=terr,
        warnings=tuple(notes),
    )


def _check_units(gdf: Any, kind: str, spec: str) -> None:
    """InputError unless ``gdf`` is a non-empty GeoDataFrame with a CRS, unique ids and geometries."""
    import geopandas as gpd

    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(
            f"spatial weights need a GeoDataFrame, got {type(gdf).__name__}; read the cities with "
            "acv_geo.read_acv() or polygons with acv_geo.read_communes()/read_epci()"
        )
    if len(gdf) == 0:
        raise InputError("no units: the input GeoDataFrame is empty; pass at least two cities")
    if gdf.crs is None:
        raise InputError("input GeoDataFrame has no CRS; set it (e.g. gdf.set_crs(4326)) before building weights")
    if gdf.index.has_duplicates:
        dup = ", ".join(map(str, gdf.index[gdf.index.duplicated()].unique()[:10]))
        raise InputError(f"duplicate ids in the index: {dup}; each unit must appear once (drop duplicates)")
    geom = gdf.geometry
    if kind in ("queen", "rook"):
        poly = (~(geom.isna() | geom.is_empty)) & geom.geom_type.isin(["Polygon", "MultiPolygon"])
        if not poly.all():
            bad = gdf.index[~poly.to_numpy()]
            rows = ", ".join(map(str, bad[:20])) + (" ..." if len(bad) > 20 else "")
            raise InputError(
                f"{spec} contiguity needs polygons, but {len(bad)} unit(s) have none "
                f"(geometry {sorted(set(geom[~poly].geom_type.fillna('none')))}): {rows}; pass commune polygons "
                "(acv_geo.read_communes(), or the IGN ADMIN EXPRESS communes file) or EPCI polygons "
                "(acv_geo.read_epci()), or use 'knn:K' / 'distance:METERS' with points"
            )
    missing = geom.isna() | geom.is_empty
    if missing.any():
        rows = ", ".join(map(str, gdf.index[missing.to_numpy()][:20]))
        raise InputError(
            f"{int(missing.sum())} unit(s) have no geometry: {rows}; drop them or give them a "
            "position (acv_geo.read_acv() places every ACV city)"
        )


def _territory_graph(
    name: str, geoms: Any, kind: str, param: float | int | None, spec: str
) -> tuple[pd.Series, TerritoryGraph, list[str]]:
    """Adjacency of one territory in its projected CRS, its summary, and the fallbacks applied."""
    epsg = local_crs(name)
    sub = geoms.to_crs(epsg)
    n = len(sub)
    notes: list[str] = []
    k_used = None
    if kind in ("knn", "distance"):
        sub = sub.where(sub.geom_type == "Point", sub.representative_point())
    if kind == "knn":
        assert isinstance(param, int)  # parse_weights_spec gives an int K for "knn:K"
        k_used = min(param, n - 1)
        if n > 1 and k_used < param:
            notes.append(f"{spec}: territory {name} has only {n} units, so k is capped at {k_used} there")
    if n == 1:
        notes.append(
            f"territory {name} has a single unit ({sub.index[0]}): it is isolated (no neighbour across territories)"
        )
    adj = _build_one(sub, kind, param, k_used)
    isolates = {i for i, c in _cardinality(adj).items() if c == 0}
    comp = TerritoryGraph(
        territory=name,
        epsg=int(epsg),
        n_units=n,
        n_edges=int((adj.to_numpy() != 0).sum()),
        n_components=_n_components(adj),
        islands=tuple(str(i) for i in sub.index if i in isolates),
        k=k_used,
    )
    return adj, comp, notes


def _n_components(adj: pd.Series) -> int:
    """Connected components of an adjacency table (isolates count as one each)."""
    ids = pd.Index(adj.index.get_level_values(0).unique())
    focal = ids.get_indexer(adj.index.get_level_values(0))
    neighbor = ids.get_indexer(adj.index.get_level_values(1))
    keep = adj.to_numpy() != 0
    return int(np.unique(connected_components(len(ids), focal[keep], neighbor[keep])).size)


def _assemble(parts: list[pd.Series], ids: pd.Index) -> Adjacency:
    """The binary weights of the territories' adjacencies, focal then neighbours in input order."""
    adjacency = pd.concat(parts)
    pos = pd.Series(np.arange(len(ids)), index=ids)
    f = adjacency.index.get_level_values(0)
    nb = adjacency.index.get_level_values(1)
    order = np.lexsort((pos.reindex(nb).to_numpy(), pos.reindex(f).to_numpy()))
    adjacency = adjacency.iloc[order]
    adjacency.index = adjacency.index.set_names(["focal", "neighbor"])
    return Adjacency.from_series(adjacency.rename("weight"), pd.Index(ids))


def _islands_note(gdf: Any, islands: tuple[Any, ...], comps: list[TerritoryGraph], spec: str) -> str | None:
    """The note naming the units without a neighbour (single-unit territories have their own note)."""
    single = {c.islands[0] for c in comps if c.n_units == 1}
    other = [i for i in islands if i not in single]
    if not other:
        return None
    names = _names(gdf, other[:20])
    pairs = zip(other[:20], names, strict=True)
    shown = ", ".join(f"{i} ({nm})" if nm != str(i) else str(i) for i, nm in pairs)
    if len(other) > 20:
        shown += f", ... ({len(other) - 20} more in .islands)"
    return f"{spec}: {len(other)} unit(s) have no neighbour: {shown}"


def _cardinality(adj: pd.Series) -> pd.Series:
    nz = (adj != 0).groupby(level=0, sort=False).sum()
    return nz


def weights_kind(weights: object) -> str | None:
    """The kind of a weights argument: a spec's kind, or None for prebuilt weights.

    Parameters
    ----------
    weights : str or WeightsResult or libpysal.graph.Graph
        A spec for :func:`spatial_weights`, or weights already built.

    Returns
    -------
    str or None
        ``"knn"``, ``"distance"``, ``"queen"`` or ``"rook"`` for a spec; None for prebuilt weights.

    Raises
    ------
    ValueError
        If ``weights`` is a bad spec or of another type.

    Examples
    --------
    >>> weights_kind("queen"), weights_kind("knn:4")
    ('queen', 'knn')
    """
    if isinstance(weights, str):
        return parse_weights_spec(weights)[0]
    if isinstance(weights, WeightsResult) or is_graph(weights):
        return None
    raise ValueError(
        f"weights={weights!r} must be a spec string ('knn:K', 'distance:METERS', 'queen', 'rook'), "
        "an acv_geo.stats.weights.WeightsResult or a libpysal.graph.Graph"
    )


@dataclass(frozen=True)
class UnitWeights:
    """Binary weights over a set of units, and where they came from.

    Attributes
    ----------
    graph : Adjacency
        Binary weights whose ``unique_ids`` are exactly the units (``graph.graph`` is their
        :class:`libpysal.graph.Graph`).
    spec : str
        The spec (``"knn:6"``...), or ``"custom graph"`` for a Graph given as is.
    result : WeightsResult or None
        The weights built (spec) or given (WeightsResult); None for a bare Graph.
    notes : tuple of str
        Fallbacks applied while building (k capped, islands...).
    """

    graph: Adjacency = field(repr=False)
    spec: str
    result: WeightsResult | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()


def unit_weights(
    units: gpd.GeoDataFrame, weights: str | WeightsResult | Graph, *, territory_column: str = "territory"
) -> UnitWeights:
    """Binary weights over exactly ``units``: built from a spec, or prebuilt ones restricted to them.

    Build weights once (:func:`spatial_weights`) and pass them to several statistics; each statistic
    restricts them to its units with a value (neighbours without a value are dropped).

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The units (their index gives the ids).
    weights : str or WeightsResult or libpysal.graph.Graph
        A spec for :func:`spatial_weights` (built on ``units``), or prebuilt weights holding every
        unit (restricted with ``Graph.subgraph`` when they hold more).
    territory_column : str, default ``"territory"``
        Column with the territory of each unit (specs only).

    Returns
    -------
    UnitWeights
        The binary graph over the units, the spec and the weights object.

    Raises
    ------
    acv_geo.InputError
        If prebuilt weights lack some of the units (the message names them).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pts = gpd.GeoDataFrame({"territory": ["metropole"] * 4},
    ...     geometry=shapely.points([[0, 0], [1000, 0], [2000, 0], [3000, 0]]),
    ...     index=pd.Index(["01001", "01002", "01004", "01005"], name="insee_com"), crs=2154)
    >>> built = spatial_weights(pts, "knn:1")
    >>> sub = unit_weights(pts.iloc[:3], built)
    >>> list(sub.graph.unique_ids), sub.spec
    (['01001', '01002', '01004'], 'knn:1')
    """
    if isinstance(weights, str):
        res = spatial_weights(units, weights, territory_column=territory_column)
        return UnitWeights(res.adjacency, res.spec, res, tuple(res.warnings))
    given: Any = weights.adjacency if isinstance(weights, WeightsResult) else weights
    ids = list(units.index)
    known = pd.Index(given.unique_ids)
    missing = [i for i in ids if i not in known]
    if missing:
        raise InputError(
            f"the weights have no node for {len(missing)} unit(s): {', '.join(map(str, missing[:10]))}; "
            "build them on the same units (acv_geo.spatial_weights(cities, ...))"
        )
    if isinstance(weights, WeightsResult):  # built by spatial_weights: binary already
        bound = weights.adjacency if len(known) == len(ids) else weights.adjacency.subset(ids)
        return UnitWeights(bound, weights.spec, weights)
    graph: Any = given if len(known) == len(ids) else given.subgraph(ids)
    if graph.transformation.upper() != "B":
        graph = graph.transform("B")
    return UnitWeights(Adjacency.from_graph(graph), "custom graph")
