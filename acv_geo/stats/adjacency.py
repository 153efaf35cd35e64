"""Binary spatial weights as plain arrays; the libpysal Graph is built from them only when asked for.

Importing libpysal runs its package ``__init__`` (``libpysal.cg``, ``io``, ``examples``, ``graph``,
``weights``), and ``libpysal.graph`` imports scikit-learn: about 1.4 s before any statistic is
computed. :class:`Adjacency` holds what the statistics read, the adjacency table of a
:class:`libpysal.graph.Graph` as NumPy arrays in the Graph's own order (isolates as a self-loop of
weight 0, libpysal's convention), and builds the Graph itself on first access of ``.graph``.
Its sparse matrix is the Graph's ``.sparse`` entry for entry (explicit zeros included), so every
statistic computed from it is the one esda computes from the Graph.

:func:`knn_neighbors` finds the k nearest neighbours (pairwise distances, or SciPy's k-d tree for
large territories). The k nearest are a well-defined set only when the k-th neighbour is strictly
nearer than the next one; when two candidates tie at the boundary (a regular grid) or two units
share a location, libpysal's choice depends on scikit-learn's tree traversal, so the function
returns None and the caller builds the weights with libpysal instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from libpysal.graph import Graph

__all__ = ["Adjacency", "as_adjacency", "connected_components", "is_graph", "knn_neighbors"]

#: Relative gap below which two neighbour distances are treated as a tie (libpysal decides then).
_TIE = 1e-9
#: Largest territory whose k nearest neighbours are found from all pairwise distances.
_BRUTE = 2000


def is_graph(obj: object) -> bool:
    """Whether ``obj`` is a :class:`libpysal.graph.Graph`, without importing libpysal.

    A Graph can only exist once libpysal has been imported, so when ``libpysal.graph`` is not in
    :data:`sys.modules` the answer is False at no cost.

    Examples
    --------
    >>> is_graph("knn:6")
    False
    """
    import sys

    module = sys.modules.get("libpysal.graph")
    return module is not None and isinstance(obj, module.Graph)


class Adjacency:
    """Binary (or weighted) spatial weights as arrays, in :class:`libpysal.graph.Graph` order.

    Parameters
    ----------
    ids : pandas.Index
        The units (``Graph.unique_ids``), in order.
    focal, neighbor : numpy.ndarray
        Positions in ``ids`` of each row of the adjacency table (isolates: a self-loop).
    weight : numpy.ndarray
        float64 weight of each row (isolates: 0).
    graph : libpysal.graph.Graph, optional
        The Graph these arrays come from (returned by ``.graph`` as is).

    Examples
    --------
    >>> adj = Adjacency(pd.Index(["a", "b", "c"]), np.array([0, 1, 2]), np.array([1, 0, 2]), np.array([1.0, 1.0, 0.0]))
    >>> adj.isolates.tolist(), adj.cardinalities.tolist(), adj.n_components
    (['c'], [1, 1, 0], 2)
    """

    __slots__ = ("_graph", "_sparse", "focal", "ids", "neighbor", "weight")

    def __init__(
        self, ids: pd.Index, focal: np.ndarray, neighbor: np.ndarray, weight: np.ndarray, graph: Any = None
    ) -> None:
        self.ids = pd.Index(ids)
        self.focal = np.asarray(focal, dtype=np.intp)
        self.neighbor = np.asarray(neighbor, dtype=np.intp)
        self.weight = np.asarray(weight, dtype="float64")
        self._graph = graph
        self._sparse: Any = None

    @classmethod
    def from_series(cls, adjacency: pd.Series, ids: pd.Index | None = None) -> Adjacency:
        """From an adjacency table (MultiIndex ``focal, neighbor``) already in Graph order.

        ``ids`` default to the focal units in order of first appearance, as libpysal takes them.
        """
        focal_ids = adjacency.index.get_level_values(0)
        index = pd.Index(focal_ids.unique()) if ids is None else pd.Index(ids)
        focal = index.get_indexer(focal_ids)
        neighbor = index.get_indexer(adjacency.index.get_level_values(1))
        return cls(index, focal, neighbor, adjacency.to_numpy(dtype="float64"))

    @classmethod
    def from_graph(cls, graph: Graph) -> Adjacency:
        """The arrays of a libpysal Graph (kept, and returned by ``.graph``)."""
        out = cls.from_series(graph.adjacency, pd.Index(graph.unique_ids))
        out._graph = graph
        return out

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.ids)

    @property
    def unique_ids(self) -> pd.Index:
        """The units, in order (as ``Graph.unique_ids``)."""
        return self.ids

    def series(self) -> pd.Series:
        """The adjacency table as libpysal stores it: MultiIndex ``focal, neighbor``, name ``weight``."""
        index = pd.MultiIndex.from_arrays([self.ids[self.focal], self.ids[self.neighbor]], names=["focal", "neighbor"])
        return pd.Series(self.weight, index=index, name="weight")

    @property
    def graph(self) -> Graph:
        """The :class:`libpysal.graph.Graph` of these weights (built, and libpysal imported, on first use)."""
        if self._graph is None:
            from libpysal.graph import Graph

            self._graph = Graph(self.series(), transformation="B")
        return self._graph

    @property
    def sparse(self) -> Any:
        """CSR matrix equal to ``Graph.sparse`` entry for entry (isolates' explicit zeros included)."""
        if self._sparse is None:
            from scipy import sparse

            self._sparse = sparse.csr_array((self.weight, (self.focal, self.neighbor)), shape=(self.n, self.n))
        return self._sparse

    @property
    def cardinalities(self) -> np.ndarray:
        """Number of non-zero weights of each unit (self-loops of non-zero weight included, as libpysal)."""
        return np.bincount(self.focal[self.weight != 0], minlength=self.n).astype(np.int64)

    @property
    def isolates(self) -> pd.Index:
        """Units without any non-zero weight (``Graph.isolates``)."""
        return self.ids[self.cardinalities == 0]

    @property
    def n_components(self) -> int:
        """Connected components (weak), as ``Graph.n_components``."""
        return int(np.unique(connected_components(self.n, self.focal, self.neighbor)).size)

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Edges of non-zero weight between distinct units: focal, neighbor (positions), weight."""
        keep = (self.weight != 0) & (self.focal != self.neighbor)
        return self.focal[keep], self.neighbor[keep], self.weight[keep]

    def subset(self, ids: list[Any]) -> Adjacency:
        """The weights restricted to ``ids`` (in that order), units left without neighbour made isolates."""
        pos = self.ids.get_indexer(ids)
        new = np.full(self.n, -1, dtype=np.intp)
        new[pos] = np.arange(len(pos))
        f, nb = new[self.focal], new[self.neighbor]
        keep = (f >= 0) & (nb >= 0) & (self.weight != 0)
        f, nb, w = f[keep], nb[keep], self.weight[keep]
        alone = np.setdiff1d(np.arange(len(pos)), f)
        f = np.concatenate([f, alone])
        nb = np.concatenate([nb, alone])
        w = np.concatenate([w, np.zeros(len(alone))])
        order = np.lexsort((nb, f))
        return Adjacency(pd.Index(ids), f[order], nb[order], w[order])

    def transform(self, how: str) -> Adjacency:
        """Binary (``"B"``) or row-standardised (``"R"``) weights, as ``Graph.transform`` computes them."""
        how = how.upper()
        if how == "B":
            weight = (self.weight != 0).astype("float64")
        elif how == "R":
            sums = np.bincount(self.focal, weights=self.weight, minlength=self.n)
            with np.errstate(divide="ignore", invalid="ignore"):
                weight = self.weight / sums[self.focal]
            weight[np.isnan(weight)] = 0.0
        else:
            raise ValueError(f"transformation {how!r}: only 'B' and 'R' are supported")
        return Adjacency(self.ids, self.focal, self.neighbor, weight)

    def with_self_weight(self, value: float) -> Adjacency:
        """Every unit given a self-loop of weight ``value`` (``Graph.assign_self_weight``), others kept."""
        off = self.focal != self.neighbor
        f = np.concatenate([self.focal[off], np.arange(self.n)])
        nb = np.concatenate([self.neighbor[off], np.arange(self.n)])
        w = np.concatenate([self.weight[off], np.full(self.n, float(value))])
        order = np.lexsort((nb, f))
        return Adjacency(self.ids, f[order], nb[order], w[order])

    def without_zeros(self) -> Adjacency:
        """Zero weights dropped, units left without any entry made isolates (``Graph.eliminate_zeros``)."""
        return self.subset(list(self.ids))


def as_adjacency(weights: Any) -> Adjacency:
    """``weights`` as an :class:`Adjacency`: itself, or the arrays of a libpysal Graph."""
    return weights if isinstance(weights, Adjacency) else Adjacency.from_graph(weights)


def connected_components(n: int, focal: np.ndarray, neighbor: np.ndarray) -> np.ndarray:
    """Label of the (weakly) connected component of each of ``n`` units linked by the given edges.

    Minimum-label propagation with pointer jumping; labels are the smallest position in each
    component (the count equals :func:`scipy.sparse.csgraph.connected_components`'s).

    Examples
    --------
    >>> connected_components(5, np.array([0, 3]), np.array([1, 4])).tolist()
    [0, 0, 2, 3, 3]
    """
    labels = np.arange(n)
    if len(focal) == 0:
        return labels
    while True:
        new = labels.copy()
        np.minimum.at(new, focal, labels[neighbor])
        np.minimum.at(new, neighbor, labels[focal])
        while True:
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, labels):
            return labels
        labels = new


def _nearest(xy: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and positions of the ``want`` nearest points of each point (itself first if alone).

    Up to :data:`_BRUTE` points, all pairwise distances with NumPy (importing scipy.spatial costs
    about 0.3 s); beyond, SciPy's k-d tree. Either way near-ties are detected by the caller.
    """
    n = len(xy)
    if n > _BRUTE:
        from scipy.spatial import cKDTree

        dist, idx = cKDTree(xy).query(xy, k=want)
        return np.asarray(dist).reshape(n, want), np.asarray(idx).reshape(n, want)
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    d[np.arange(n), np.arange(n)] = -1.0  # itself first
    idx = np.argsort(d, axis=1, kind="stable")[:, :want]
    dist = np.take_along_axis(d, idx, axis=1)
    dist[:, 0] = 0.0
    return dist, idx


def knn_neighbors(xy: np.ndarray, k: int) -> np.ndarray | None:
    """The ``k`` nearest neighbours of each point (positions, one row per point), or None on a tie.

    Parameters
    ----------
    xy : numpy.ndarray
        (n, 2) projected coordinates, ``n > k``.
    k : int
        Neighbours per point.

    Returns
    -------
    numpy.ndarray or None
        (n, k) positions, nearest first; None when a point shares its location with another or
        when its k-th and (k+1)-th neighbours are at the same distance (within 1e-9, relative):
        the k nearest are then not a unique set, and libpysal's choice should be used.

    Examples
    --------
    >>> knn_neighbors(np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]), 1).tolist()
    [[1], [0], [1]]
    >>> knn_neighbors(np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]), 1) is None
    True
    """
    n = len(xy)
    want = min(k + 2, n)
    dist, idx = _nearest(np.asarray(xy, dtype="float64"), want)
    if not np.array_equal(idx[:, 0], np.arange(n)) or (dist[:, 1] <= _TIE * np.maximum(1.0, dist[:, 1])).any():
        return None  # a point whose nearest point is not itself alone: shared location
    if want > k + 1:
        kth, nxt = dist[:, k], dist[:, k + 1]
        if (nxt - kth <= _TIE * np.maximum(1.0, nxt)).any():
            return None
    return idx[:, 1 : k + 1]
