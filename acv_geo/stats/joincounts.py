"""Global join counts of a 0/1 variable with all their permutations at once (vectorised esda.Join_Counts).

esda 2.9's Join_Counts draws ``np.random.permutation(y)`` once per permutation from NumPy's global
generator and looks every join's two labels up in a pandas Series: with pandas 3 that costs about
1.8 ms per permutation (18 s of the 9,999 permutations of `acv-geo diagnose`). The functions below
draw the very same permutations (``np.random.shuffle`` of a copy of y, one after the other, as
``np.random.permutation`` does) and count the joins of a whole chunk of permutations with NumPy.
Every count is an integer, so BB, BW, WW and their means are exactly esda's; the Yates-corrected
χ² of every table repeats scipy's chi2_contingency operation by operation (esda calls scipy once
per permutation), so χ² values, the admissibility of a permutation (esda redraws one whose table
has an expected count of 0) and the pseudo p-values are esda's bit for bit. The tests check that
against scipy; at run time the check (`chi2_check`) runs only when scipy.stats is already
imported, since importing it costs about half a second (the observed χ² p-value is
``scipy.special.chdtrc``, what scipy.stats.chi2.sf computes). Differences, where esda is wrong: a
join is a pair of distinct units with a non-zero weight (esda also counts explicit zero-weight
edges, though its J leaves them out, and self-loops, joining a unit to itself, so that its
BB + BW + WW != J).
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError
from acv_geo.stats.adjacency import Adjacency
from acv_geo.stats.permutation import feed_permutations

__all__ = [
    "JoinCountsCore",
    "TableSims",
    "binary_joins",
    "chi2_check",
    "chi2_of_table",
    "chi2_tables",
    "directed_tables",
    "join_counts_core",
    "join_counts_result",
    "join_counts_setup",
    "join_edges",
    "scipy_chi2",
]

#: Permutations × joins of one batch of rows (about 20 rows of the 34,860 communes' 207,165 joins;
#: the batch itself is rows × units float64, 5.6 MiB there).
_JC_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class JoinCountsCore:
    """Global join counts of a 0/1 vector and their permutation distribution (see `join_counts_core`)."""

    n: int
    n_black: int
    joins: float  # J: number of (undirected) joins, half the directed edges
    bb: float
    bw: float
    ww: float
    chi2: float
    chi2_p: float
    chi2_dof: int
    permutations: int
    draws: int  # permutations drawn, including those discarded as inadmissible
    sim_bb: np.ndarray | None = field(default=None, repr=False)
    sim_bw: np.ndarray | None = field(default=None, repr=False)
    sim_ww: np.ndarray | None = field(default=None, repr=False)
    sim_chi2: np.ndarray | None = field(default=None, repr=False)

    def p_sim(self, sim: np.ndarray | None, observed: float) -> float:
        """One-sided pseudo p-value as esda computes it: ``(#{sim >= observed} + 1) / (permutations + 1)``."""
        if sim is None:
            return float("nan")
        return (int(np.count_nonzero(sim >= observed)) + 1.0) / (self.permutations + 1.0)


def join_edges(graph: Any) -> tuple[np.ndarray, np.ndarray]:
    """Directed joins of a Graph as positions in ``graph.unique_ids``: non-zero weight, no self-loop.

    A symmetric graph lists each join twice (i→j and j→i), as esda's adjacency list does, and every
    count is halved; in an asymmetric one (k nearest neighbours) an edge i→j whose converse j→i is
    absent thus counts as half a join, again as in esda. ``graph`` may be a libpysal Graph or an
    :class:`~acv_geo.stats.adjacency.Adjacency`.
    """
    if isinstance(graph, Adjacency):
        focal, neighbor, _ = graph.edges()
        return focal, neighbor
    adj = graph.adjacency
    ids = pd.Index(graph.unique_ids)
    focal = ids.get_indexer(adj.index.get_level_values(0))
    neighbor = ids.get_indexer(adj.index.get_level_values(1))
    keep = (adj.to_numpy() != 0) & (focal != neighbor)
    return focal[keep].astype(np.intp), neighbor[keep].astype(np.intp)


def directed_tables(
    ys: np.ndarray, focal: np.ndarray, neighbor: np.ndarray, out_deg: np.ndarray, in_deg: np.ndarray
) -> np.ndarray:
    """Directed join counts ``(ww, wb, bw, bb)`` of each row of ``ys`` (int8 0/1), as int64 columns."""
    n_edges = len(focal)
    bb = np.count_nonzero(ys[:, focal] & ys[:, neighbor], axis=1).astype(np.int64)
    black_focal = ys @ out_deg  # directed edges whose focal unit is black
    black_neighbor = ys @ in_deg  # ... whose neighbour is black
    bw = black_focal - bb
    wb = black_neighbor - bb
    ww = n_edges - black_focal - black_neighbor + bb
    return np.column_stack([ww, wb, bw, bb])


def chi2_tables(tables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Yates-corrected χ² of 2×2 join tables, with scipy's chi2_contingency's operations in its order.

    ``tables`` holds directed counts ``(ww, wb, bw, bb)`` per row; esda's table is
    ``[[ww, wb], [bw, bb]] / 2``. Returns ``(admissible, chi2)``: a table with an expected count of
    0 is inadmissible (scipy raises there, and esda draws another permutation). Each step is the
    same IEEE operation as in scipy (margins and total are exact sums of half-integers), so the
    values are scipy's bit for bit; `chi2_check` verifies that at run time.
    """
    obs = tables.astype("float64").reshape(-1, 2, 2) / 2.0
    rows = obs.sum(axis=2, keepdims=True)
    cols = obs.sum(axis=1, keepdims=True)
    total = obs.sum(axis=(1, 2), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # no join at all: 0/0, NaN as in scipy
        expected = rows * cols / total
        admissible = ~(expected == 0).any(axis=(1, 2))
        diff = expected - obs
        corrected = obs + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
        terms = (corrected - expected) ** 2 / expected
    stat = np.sum(np.ascontiguousarray(terms).reshape(-1, 4), axis=1)
    stat[~admissible] = np.nan
    return admissible, stat


def scipy_chi2(table: np.ndarray) -> tuple[float, float, int] | None:
    """Result of scipy's chi2_contingency on one directed table ``(ww, wb, bw, bb)``; None if inadmissible."""
    from scipy.stats import chi2_contingency

    ww, wb, bw, bb = (float(v) for v in table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            res = chi2_contingency(np.array([[ww / 2.0, wb / 2.0], [bw / 2.0, bb / 2.0]]))
        except ValueError:
            return None
    return float(res[0]), float(res[1]), int(res[2])


def chi2_of_table(table: np.ndarray) -> tuple[float, float, int] | None:
    """Scipy's chi2_contingency of one directed table ``(ww, wb, bw, bb)`` without importing scipy.stats.

    The statistic is :func:`chi2_tables`'s (scipy's operations, in its order) and the p-value
    ``scipy.special.chdtrc(1, chi2)``, what ``scipy.stats.chi2.sf`` computes for scipy's one degree
    of freedom; None when the table is inadmissible (scipy raises). Equal to :func:`scipy_chi2`
    (tested).

    Examples
    --------
    >>> chi2_of_table(np.array([6, 2, 2, 2]))[2]
    1
    """
    from scipy.special import chdtrc

    admissible, stat = chi2_tables(np.asarray(table)[None, :])
    if not admissible[0]:
        return None
    chi2 = float(stat[0])
    return chi2, float(chdtrc(1, chi2)), 1


def chi2_check(tables: np.ndarray, stat: np.ndarray, *, exact: bool = False, sample: int = 16) -> np.ndarray:
    """χ² of every table (``stat`` from `chi2_tables`), checked against scipy on ``sample`` distinct tables.

    Should a future scipy or NumPy compute them otherwise (another formula or summation order), or
    when ``exact`` is true, every distinct table is computed by scipy instead: slower, still esda's
    values.
    """

    def same(i: int) -> bool:
        ref = scipy_chi2(tables[i])
        return ref is not None and (ref[0] == stat[i] or (np.isnan(ref[0]) and np.isnan(stat[i])))

    uniq, first, inverse = np.unique(tables, axis=0, return_index=True, return_inverse=True)
    picks = first[np.unique(np.linspace(0, len(uniq) - 1, min(sample, len(uniq))).astype(int))]
    if not exact and all(same(int(i)) for i in picks):
        return stat
    values = np.array([np.nan if r is None else r[0] for r in map(scipy_chi2, uniq)])
    return values[np.asarray(inverse).reshape(-1)]


@dataclass(frozen=True)
class _Joins:
    """The directed joins of a graph (`join_edges`) and the degrees `directed_tables` needs."""

    n: int
    focal: np.ndarray
    neighbor: np.ndarray
    out_deg: np.ndarray
    in_deg: np.ndarray

    @classmethod
    def of(cls, graph: Any) -> _Joins:
        focal, neighbor = join_edges(graph)
        n = int(graph.n)
        out_deg = np.bincount(focal, minlength=n).astype(np.int64)
        in_deg = np.bincount(neighbor, minlength=n).astype(np.int64)
        return cls(n, focal, neighbor, out_deg, in_deg)

    def tables(self, ys: np.ndarray) -> np.ndarray:
        return directed_tables(ys, self.focal, self.neighbor, self.out_deg, self.in_deg)


def _observed(y8: np.ndarray, joins: _Joins) -> tuple[np.ndarray, tuple[float, float, int]]:
    """The observed directed table and scipy's χ² of it; InputError when the table is inadmissible."""
    obs = joins.tables(y8[None, :])[0]
    observed = chi2_of_table(obs)
    if observed is None:
        ww, wb, bw, bb = (float(v) / 2.0 for v in obs)
        raise InputError(
            f"join counts are undefined: the 2×2 table of joins (ww={ww:g}, wb={wb:g}, bw={bw:g}, bb={bb:g}) "
            f"has an empty row or column: no join starts from, or none reaches, one of the classes "
            f"({len(joins.focal) / 2:g} joins among {joins.n} units, {int(y8.sum())} in class 1); use weights "
            "that connect the units of both classes (e.g. knn instead of contiguity)"
        )
    return obs, observed


def binary_joins(graph: Any) -> bool:
    """Whether every non-zero weight of ``graph`` (an Adjacency) is 1 between distinct units.

    Then the row-standardised lag of a 0/1 variable, times the number of joins, is the number of
    neighbours in class 1 (up to rounding far below 0.5): `TableSims` can take it from Moran's I.
    """
    if not isinstance(graph, Adjacency):
        return False
    nonzero = graph.weight != 0
    return bool((graph.weight[nonzero] == 1.0).all() and (graph.focal[nonzero] != graph.neighbor[nonzero]).all())


class TableSims:
    """Directed tables and χ² of the admissible permutations among rows fed by `feed_permutations`.

    Rows are permutations of y (float64 0/1), in esda's order of draws; a row whose table is
    inadmissible is discarded and counted in ``draws``, as esda discards and redraws it. The joins
    reaching a unit of class 1 (BB) come from one sparse product of the binary join matrix with the
    batch, or, given ``lags`` (a `MoranSims` fed the same rows first, on binary weights, see
    `binary_joins`), from Moran's lags: ``joins * (lag + mean)`` of a unit is its number of
    neighbours in class 1 up to rounding, so their sum over the units in class 1, rounded, is BB
    (checked to lie within 1e-3 of an integer, else the sparse product is used). Every count is an
    exact integer in float64 (below 2**53).
    """

    def __init__(self, joins: _Joins, permutations: int, lags: Any = None) -> None:
        self.joins = joins
        self.permutations = permutations
        self.lags = lags
        self.kept: list[np.ndarray] = []
        self.kept_stat: list[np.ndarray] = []
        self.accepted = 0
        self.draws = 0
        self.out_deg = joins.out_deg.astype("float64")
        self.in_deg = joins.in_deg.astype("float64")
        self._matrix: Any = None

    def need(self) -> int:
        """Admissible permutations still to find (at least that many rows)."""
        return self.permutations - self.accepted

    def _bb(self, rows: np.ndarray, black_focal: np.ndarray) -> np.ndarray:
        """Directed joins between two units of class 1, for each row (``black_focal``: their joins from class 1)."""
        lags = None if self.lags is None else self.lags.lags
        if lags is not None and lags.shape == rows.shape:
            # sum over units in class 1 of joins * (lag + mean) = their neighbours in class 1
            approx = np.einsum("pi,i,pi->p", rows, self.out_deg, lags) + self.lags.mean * black_focal
            bb = np.rint(approx)
            if np.abs(approx - bb).max(initial=0.0) < 1e-3:
                return bb.astype(np.int64)
        if self._matrix is None:
            from scipy import sparse

            j = self.joins
            self._matrix = sparse.csr_array((np.ones(len(j.focal)), (j.focal, j.neighbor)), shape=(j.n, j.n))
        counts = self._matrix @ np.ascontiguousarray(rows.T)
        return np.rint(np.einsum("pi,ip->p", rows, counts)).astype(np.int64)

    def tables(self, rows: np.ndarray) -> np.ndarray:
        """Directed join counts ``(ww, wb, bw, bb)`` of each row, as int64 columns (as `directed_tables`)."""
        # einsum, not BLAS: exact integer sums either way, and OpenBLAS threads on these (rows × units)
        # products spun both cores for nothing (2,000 permutations: 8.4 s wall, 16.6 s CPU; 2.5 s here)
        focal = np.einsum("pi,i->p", rows, self.out_deg)
        bb = self._bb(rows, focal)
        black_focal = np.rint(focal).astype(np.int64)
        black_neighbor = np.rint(np.einsum("pi,i->p", rows, self.in_deg)).astype(np.int64)
        ww = len(self.joins.focal) - black_focal - black_neighbor + bb
        return np.column_stack([ww, black_neighbor - bb, black_focal - bb, bb])

    def take(self, rows: np.ndarray) -> None:
        """Keep the admissible tables of the rows until ``permutations`` are kept."""
        need = self.need()
        if need <= 0:
            return
        tables = self.tables(rows)
        admissible, stat = chi2_tables(tables)
        used = len(rows)
        if int(admissible.sum()) > need:  # only the draws esda makes
            used = int(np.flatnonzero(admissible)[need - 1]) + 1
        ok = admissible[:used]
        self.kept.append(tables[:used][ok])
        self.kept_stat.append(stat[:used][ok])
        self.accepted += int(ok.sum())
        self.draws += used


def join_counts_setup(y: Any, graph: Any) -> tuple[dict[str, Any], _Joins, np.ndarray]:
    """Checks, joins, the observed table and the observed fields of `JoinCountsCore` (no permutation)."""
    yb = np.asarray(y, dtype="float64").reshape(-1)
    n = len(yb)
    if n != graph.n:
        raise ValueError(f"y has {n} values but the graph has {graph.n} units")
    if not np.isin(yb, (0.0, 1.0)).all():
        raise ValueError("join counts need a 0/1 variable")
    y8 = yb.astype(np.int8)
    joins = _Joins.of(graph)
    obs, observed = _observed(y8, joins)
    ww, wb, bw, bb = (float(v) / 2.0 for v in obs)
    base: dict[str, Any] = dict(
        n=n,
        n_black=int(y8.sum()),
        joins=len(joins.focal) / 2.0,
        bb=bb,
        bw=bw + wb,
        ww=ww,
        chi2=observed[0],
        chi2_p=observed[1],
        chi2_dof=observed[2],
    )
    return base, joins, obs


def join_counts_result(base: dict[str, Any], obs: np.ndarray, sims: TableSims | None) -> JoinCountsCore:
    """`JoinCountsCore` from `join_counts_setup`'s fields and the permutations kept (None: none)."""
    if sims is None or not sims.permutations:
        return JoinCountsCore(permutations=0, draws=0, **base)
    tables, stat = np.concatenate(sims.kept), np.concatenate(sims.kept_stat)
    if "scipy.stats" in sys.modules:  # already paid for: check the vectorised χ² against scipy
        ref = scipy_chi2(obs)
        stat = chi2_check(tables, stat, exact=ref is None or ref[0] != base["chi2"])
    half = tables.astype("float64") / 2.0
    return JoinCountsCore(
        permutations=sims.permutations,
        draws=sims.draws,
        sim_bb=half[:, 3],
        sim_bw=half[:, 2] + half[:, 1],
        sim_ww=half[:, 0],
        sim_chi2=stat,
        **base,
    )


def join_counts_core(y: Any, graph: Any, permutations: int) -> JoinCountsCore:
    """Join counts of ``y`` (0/1, aligned with ``graph.unique_ids``) with ``permutations`` permutations.

    Draws its permutations from NumPy's global generator exactly as ``esda.Join_Counts`` does (seed
    it first), discarding and redrawing, like esda, a permutation whose 2×2 table has an expected
    count of 0. Islands stay in ``y`` and are permuted like every unit; they simply have no join.

    Parameters
    ----------
    y : array-like
        0/1 values aligned with ``graph.unique_ids``.
    graph : libpysal.graph.Graph
        The weights (binary or not: a join is an edge of non-zero weight between distinct units).
    permutations : int
        Permutations (0: observed counts only).

    Returns
    -------
    JoinCountsCore
        Observed counts, χ² and the permutation distributions.

    Raises
    ------
    acv_geo.InputError
        If the observed table has an expected count of 0 (no join touches one of the classes):
        esda raises scipy's ValueError there.

    Examples
    --------
    >>> from libpysal.graph import Graph
    >>> g = Graph.from_arrays([0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2], [1.0] * 6)  # a path 0-1-2-3
    >>> jc = join_counts_core([1, 1, 0, 0], g, 0)
    >>> jc.joins, jc.bb, jc.bw, jc.ww
    (3.0, 1.0, 1.0, 1.0)
    """
    base, joins, obs = join_counts_setup(y, graph)
    if not permutations:
        return join_counts_result(base, obs, None)
    sims = TableSims(joins, permutations)
    rows = max(1, _JC_CHUNK_ELEMENTS // max(len(joins.focal), joins.n, 1))
    feed_permutations(np.asarray(y, dtype="float64").reshape(-1), [sims], rows=rows)
    return join_counts_result(base, obs, sims)
