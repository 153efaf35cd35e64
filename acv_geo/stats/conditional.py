"""Conditional randomisation of local statistics with NumPy: esda's ``crand`` draws and arithmetic.

esda 2.9's ``esda.crand.crand`` (without numba) seeds NumPy's global generator, draws one
``np.random.choice(n - 1, max_card, replace=False)`` per permutation (a shuffle of ``arange(n - 1)``
cut to ``max_card``), and for each unit ``i`` gathers the values of the other units at those
positions and evaluates the statistic's function on them (``_moran_local_crand``,
``_g_local_star_crand``, ``_ljc_uni``). :func:`conditional_p_values` draws the very same shuffles
(in place, row after row, as ``np.random.permutation`` does), evaluates each statistic with the
same NumPy operations in the same order (so every simulated value is esda's bit for bit), and
counts once for both tails. Importing esda (with libpysal and scikit-learn) is not needed.

p-values are those of :func:`acv_geo.stats.permutation.crand_p_values` (esda run once per tail):
``"greater"`` and ``"lesser"`` count simulations within 1e-9 (relative) of the observed value as
ties, ``"two-sided"`` doubles the smaller of them, ``"directed"`` and ``"folded"`` are esda's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from acv_geo.stats.permutation import LOCAL_STATISTICS, PermutationTest, seeded

__all__ = ["conditional_p_values", "permuted_ids"]


def permuted_ids(n: int, max_card: int, permutations: int, seed: int) -> np.ndarray:
    """Esda's ``vec_permutations``: ``permutations`` draws of ``max_card`` positions among ``n - 1``.

    Seeds NumPy's global generator with ``seed`` (restored afterwards) and shuffles ``arange(n - 1)``
    once per permutation, as ``np.random.choice(n - 1, max_card, replace=False)`` does.

    Examples
    --------
    >>> permuted_ids(5, 2, 3, 1).shape
    (3, 2)
    """
    rows = np.empty((permutations, n - 1), dtype=np.int64)
    rows[:] = np.arange(n - 1, dtype=np.int64)
    with seeded(seed):
        for k in range(permutations):
            np.random.shuffle(rows[k])
    return np.ascontiguousarray(rows[:, :max_card])


def _unit_weights(matrix: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Self-weights, then the other non-zero weights of each row in CSR order (as crand reads them)."""
    csr = matrix.tocsr()
    self_weights = np.asarray(csr.diagonal(), dtype="float64")
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    keep = (csr.indices != rows) & (csr.data != 0)
    card = np.bincount(rows[keep], minlength=csr.shape[0])
    offsets = np.concatenate([[0], np.cumsum(card)])
    return self_weights, np.asarray(csr.data[keep], dtype="float64"), card, offsets


def _simulate(statistic: str, zi: Any, zrand: np.ndarray, weights_i: np.ndarray, scaling: Any) -> np.ndarray:
    """The statistic of each permutation, with esda's expression (same operations, same order)."""
    self_weight = weights_i[0]
    other_weights = weights_i[1:]
    if statistic == "lisa":
        return zi * (zrand @ other_weights + self_weight * zi) * scaling
    if statistic == "gi_star":
        return (zrand @ other_weights + self_weight * zi) / scaling
    return zi * (zrand @ other_weights)


def _p_value(sims: np.ndarray, observed: float, alternative: str, permutations: int) -> float:
    """Pseudo p-value of one unit (greater/lesser with the 1e-9 tie tolerance, as crand_p_values)."""
    tol = 1e-9 * max(1.0, abs(observed))
    if alternative in ("greater", "lesser", "two-sided"):
        above = int(np.count_nonzero(sims >= observed - tol))
        below = int(np.count_nonzero(sims <= observed + tol))
        p_greater = (above + 1) / (permutations + 1)
        p_lesser = (below + 1) / (permutations + 1)
        if alternative == "greater":
            return p_greater
        if alternative == "lesser":
            return p_lesser
        return min(1.0, 2.0 * min(p_greater, p_lesser))
    if alternative == "directed":
        larger = int(np.count_nonzero(sims >= observed))
        if (permutations - larger) < larger:
            larger = permutations - larger
        return (larger + 1.0) / (permutations + 1.0)
    mean = sims.mean()
    folded = np.abs(np.float64(observed) - mean)
    return (int(np.count_nonzero(np.abs(sims - mean) >= folded)) + 1) / (permutations + 1)


def conditional_p_values(
    statistic: str,
    z: np.ndarray,
    matrix: Any,
    observed: np.ndarray,
    test: PermutationTest,
    *,
    scaling: float | None = None,
) -> np.ndarray:
    """Pseudo p-values of a local statistic by conditional randomisation, equal to esda's crand.

    Parameters
    ----------
    statistic : {"lisa", "gi_star", "join_count"}
        Which statistic the permutations evaluate.
    z : numpy.ndarray
        float64 values as the statistic reads them (standardised for LISA, raw otherwise).
    matrix : scipy.sparse array
        The statistic's weights (``Graph.sparse``); not modified.
    observed : numpy.ndarray
        The observed statistic of each unit.
    test : PermutationTest
        Permutations, seed, alternative (``n_jobs`` is not used: one pass is fast).
    scaling : float, optional
        Gi*: the sum of the values; LISA: default ``(n - 1) / sum(z**2)`` as in crand.

    Returns
    -------
    numpy.ndarray
        float64 p-values, one per unit.

    Examples
    --------
    >>> from scipy import sparse
    >>> m = sparse.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    >>> z = np.array([1.0, 1.0, 0.0])
    >>> p = conditional_p_values("join_count", z, m, z * (m @ z), PermutationTest(99, 1, "greater"))
    >>> p.shape
    (3,)
    """
    if statistic not in LOCAL_STATISTICS:
        raise ValueError(f"statistic={statistic!r}; expected one of {LOCAL_STATISTICS}")
    n = len(z)
    if scaling is None:
        scaling = (n - 1) / (z * z).sum()
    self_weights, other_weights, card, offsets = _unit_weights(matrix)
    perms = permuted_ids(n, int(card.max(initial=0)), test.permutations, test.seed)
    flat_by_card: dict[int, np.ndarray] = {}
    out = np.empty(n, dtype="float64")
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        c = int(card[i])
        weights_i = np.zeros(max(c, 1) + 1, dtype="float64")
        weights_i[0] = self_weights[i] if c else 0.0
        weights_i[1:] = other_weights[offsets[i] : offsets[i + 1]] if c else 0.0
        width = max(c, 1)
        if width not in flat_by_card:
            flat_by_card[width] = perms[:, :width].flatten()
        mask[i] = False
        zrand = z[mask][flat_by_card[width]].reshape(-1, width)
        mask[i] = True
        sims = _simulate(statistic, z[i], zrand, weights_i, scaling)
        out[i] = _p_value(sims, float(observed[i]), test.alternative, test.permutations)
    return out
