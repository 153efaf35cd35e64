"""Global Moran's I with row-standardised weights: esda.Moran's values, with its permutations vectorised.

esda 2.9's ``Moran(y, graph, transformation="r", permutations=P)`` computes the moments from the
Graph's summary (``s0`` the sum of its adjacency table, ``s1`` and ``s2`` from its sparse matrix),
the analytical tests with ``scipy.stats.norm``, and draws ``np.random.permutation(z)`` once per
permutation from NumPy's global generator, computing I of each with one sparse product.
:func:`moran_global` repeats every operation in the same order on the same arrays (the
:class:`~acv_geo.stats.adjacency.Adjacency` of the Graph, whose sparse matrix is the Graph's), draws
the same permutations (``np.random.shuffle`` of copies of y, one after the other, minus the mean:
the permutations of z bit for bit), in batches of about 4 MiB (`feed_permutations`), and computes
the lag of each with esda's sparse-times-vector product (:class:`MoranSims`). ``norm.sf(x)`` is
``scipy.special.ndtr(-x)`` and ``norm.cdf(x)`` is ``ndtr(x)``, as in scipy. The tests compare every value with esda.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from acv_geo.stats.adjacency import Adjacency
from acv_geo.stats.permutation import feed_permutations

__all__ = ["MoranCore", "MoranSims", "moran_global", "moran_result", "moran_setup"]


@dataclass(frozen=True)
class MoranCore:
    """esda.Moran's attributes (``sims`` are NaN when there are no permutations)."""

    I: float  # noqa: E741 -- esda's name
    EI: float
    z_norm: float
    p_norm: float
    z_rand: float
    p_rand: float
    p_sim: float
    EI_sim: float
    z_sim: float
    p_z_sim: float


def _two_tailed(z: float, upper: bool) -> float:
    """``2 * norm.sf(z)`` if ``upper`` else ``2 * norm.cdf(z)`` (esda: upper when ``z_norm > 0``)."""
    from scipy.special import ndtr

    p = ndtr(-z) if upper else ndtr(z)
    return float(p * 2.0)


def _moments(z: np.ndarray, w: Adjacency) -> tuple[float, float, float, float]:
    """s0 and the variances of I under normality and randomisation, as esda's ``__moments``."""
    sp = w.sparse
    s0 = w.weight.sum()  # the adjacency table's sum (pandas sums the same array)
    t = sp.transpose() + sp
    s1 = (t * t).sum() / 2.0
    s2 = (np.array(sp.sum(1) + sp.sum(0).transpose()) ** 2).sum()
    n = len(z)
    n2 = n * n
    s02 = s0 * s0
    v_num = n2 * s1 - n * s2 + 3 * s02
    v_den = (n - 1) * (n + 1) * s02
    vi_norm = v_num / v_den - (1.0 / (n - 1)) ** 2
    k = ((z**4).sum() / n) / ((z**2).sum() / n) ** 2
    ei = -1.0 / (n - 1)
    a = n * ((n2 - 3 * n + 3) * s1 - n * s2 + 3 * s02)
    b = k * ((n2 - n) * s1 - 2 * n * s2 + 6 * s02)
    vi_rand = (a - b) / ((n - 1) * (n - 2) * (n - 3) * s02) - ei * ei
    return s0, ei, vi_norm ** (1 / 2.0), vi_rand ** (1 / 2.0)


class MoranSims:
    """I of permutations of z, fed with permuted rows of y by `feed_permutations` (esda's draws).

    A row of permuted y minus the mean of y is the same permutation of z, bit for bit (z is
    ``y - y.mean()`` element by element). The lag of each row is esda's sparse-times-vector
    product (a batched sparse-times-dense product between two transposes gives the same bits
    but costs 40 % more on every commune), and each I sums ``z * lag`` along a contiguous row,
    as esda's ``(z * zl).sum()`` does.
    ``lags`` keeps the last batch's lags (rows × units) for `join_counts_core`'s shared draws.
    """

    def __init__(self, y: np.ndarray, w: Adjacency, permutations: int, scale: tuple[float, ...]) -> None:
        self.mean = y.mean()
        self.sparse = w.sparse
        self.scale = scale
        self.sims = np.empty(permutations)
        self.done = 0
        self.lags: np.ndarray | None = None
        # the batch's z and lags, allocated once: a fresh 4 MiB array per batch costs its pages again
        # (the kernel maps and zeroes them), as much as the sparse products themselves
        self._zs = np.empty((0, len(y)))
        self._lags = np.empty((0, len(y)))

    def need(self) -> int:
        """Permutations still to compute."""
        return len(self.sims) - self.done

    def take(self, rows: np.ndarray) -> None:
        """I of the first rows (permutations of y) still needed."""
        m = min(len(rows), self.need())
        self.lags = None
        if m <= 0:
            return
        n, s0, z2ss = self.scale
        if len(self._zs) < m:
            self._zs = np.empty((m, rows.shape[1]))
            self._lags = np.empty((m, rows.shape[1]))
        zs = np.subtract(rows[:m], self.mean, out=self._zs[:m])
        self.lags = lags = self._lags[:m]
        for r in range(m):  # one sparse-times-vector product per row, as esda's slag (faster than batched here)
            _sparse_times_vector(self.sparse, zs[r], lags[r])
        inum = np.multiply(zs, lags, out=zs).sum(axis=1)
        self.sims[self.done : self.done + m] = n / s0 * inum / z2ss
        self.done += m


def _sparse_times_vector(matrix: Any, x: np.ndarray, out: np.ndarray) -> None:
    """``out[:] = matrix @ x`` for a CSR matrix, written in place: scipy's own kernel, the same bits.

    ``matrix @ x`` zeroes a new vector and runs scipy's ``csr_matvec`` into it; calling the kernel
    on ``out`` zeroed here saves the allocation and the copy (≈ 15 % of Moran's permutations on
    every commune). scipy's private module moved before: where it is not found, the product is
    copied.
    """
    if _csr_matvec is None or matrix.format != "csr" or not (matrix.dtype == x.dtype == out.dtype == np.float64):
        out[:] = matrix @ x
        return
    out.fill(0.0)
    n_row, n_col = matrix.shape
    _csr_matvec(n_row, n_col, matrix.indptr, matrix.indices, matrix.data, x, out)


try:  # scipy's compiled kernel behind ``csr @ vector`` (private: see _sparse_times_vector)
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - a later scipy
    _csr_matvec = None


def moran_setup(y: np.ndarray, graph: Adjacency) -> tuple[np.ndarray, Adjacency, float, tuple[float, ...]]:
    """z, the row-standardised weights, I, and (n, s0, z2ss, EI, se_norm, se_rand), as esda.Moran."""
    w = graph.transform("R")
    n = len(y)
    z = y - y.mean()
    z2ss = (z * z).sum()
    s0, ei, se_norm, se_rand = _moments(z, w)
    big_i = n / s0 * (z * (w.sparse @ z)).sum() / z2ss
    return z, w, big_i, (n, s0, z2ss, ei, se_norm, se_rand)


def moran_result(big_i: float, moments: tuple[float, ...], sims: np.ndarray | None) -> MoranCore:
    """MoranCore from I, `moran_setup`'s moments and the simulated I (None: no permutations)."""
    from scipy.special import ndtr

    ei, se_norm, se_rand = moments[3:]
    z_norm, z_rand = (big_i - ei) / se_norm, (big_i - ei) / se_rand
    nan = float("nan")
    p_sim = ei_sim = z_sim = p_z_sim = nan
    if sims is not None and len(sims):
        permutations = len(sims)
        larger = (sims >= big_i).sum()
        if (permutations - larger) < larger:
            larger = permutations - larger
        p_sim = (larger + 1.0) / (permutations + 1.0)
        ei_sim = sims.sum() / permutations
        with np.errstate(divide="ignore", invalid="ignore"):
            z_sim = (big_i - ei_sim) / sims.std()
        p_z_sim = float(ndtr(-z_sim) if z_sim > 0 else ndtr(z_sim))
    return MoranCore(
        float(big_i),
        float(ei),
        float(z_norm),
        _two_tailed(z_norm, z_norm > 0),
        float(z_rand),
        _two_tailed(z_rand, z_norm > 0),
        float(p_sim),
        float(ei_sim),
        float(z_sim),
        float(p_z_sim),
    )


def moran_global(y: np.ndarray, graph: Adjacency, permutations: int) -> MoranCore:
    """esda.Moran(y, graph, transformation="r", permutations=permutations), its values exactly.

    Parameters
    ----------
    y : numpy.ndarray
        float64 values aligned with ``graph.unique_ids``.
    graph : Adjacency
        Binary weights (row-standardised here).
    permutations : int
        Permutations drawn from NumPy's global generator (seed it first); 0 for none.

    Returns
    -------
    MoranCore
        I, its expectation, analytical and permutation inference.

    Examples
    --------
    >>> import pandas as pd
    >>> g = Adjacency(pd.Index(list("abcd")), [0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2], [1.0] * 6)
    >>> round(moran_global(np.array([1.0, 1.0, 0.0, 0.0]), g, 0).I, 4)
    0.5
    """
    y = np.asarray(y, dtype="float64").flatten()
    _z, w, big_i, moments = moran_setup(y, graph)
    if not permutations:
        return moran_result(big_i, moments, None)
    sims = MoranSims(y, w, permutations, moments[:3])
    feed_permutations(y, [sims])
    return moran_result(big_i, moments, sims.sims)
