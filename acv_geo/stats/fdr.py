"""False discovery rate: Benjamini–Hochberg adjusted p-values (scipy's), NaN left out of the family."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["benjamini_hochberg"]


def _bh(ps: np.ndarray) -> np.ndarray:
    """:func:`scipy.stats.false_discovery_control` (``method="bh"``) of a 1-D array, its operations in order.

    Written out so that the cluster statistics do not import scipy.stats (about half a second);
    the tests compare it with scipy.
    """
    if ps.size <= 1:
        return ps
    m = ps.shape[-1]
    order = np.argsort(ps, axis=-1)
    ps = np.take_along_axis(ps, order, axis=-1)
    i = np.arange(1, m + 1, dtype=ps.dtype)
    ps = ps * (m / i)
    np.minimum.accumulate(ps[..., ::-1], out=ps[..., ::-1], axis=-1)
    out = np.empty_like(ps)
    np.put_along_axis(out, order, ps, axis=-1)
    return np.clip(out, 0.0, 1.0)


def benjamini_hochberg(p_values: npt.ArrayLike) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (step-up false discovery rate), NaN-aware.

    :func:`scipy.stats.false_discovery_control` (``method="bh"``) on the p-values that are not NaN
    (the same operations, without importing scipy.stats).

    Parameters
    ----------
    p_values : array-like of float
        Raw p-values; NaN entries are left out of the family and stay NaN.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values ``min_{j >= i} (m / j) p_(j)``, capped at 1, in the input order.

    Raises
    ------
    ValueError
        If a p-value is outside [0, 1] (as scipy).

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.5]
    >>> benjamini_hochberg([0.02, float("nan"), 0.01]).tolist()
    [0.02, nan, 0.02]
    """
    p = np.asarray(p_values, dtype="float64")
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        vals = p[ok]
        if (vals < 0).any() or (vals > 1).any():
            raise ValueError("`ps` must include only numbers between 0 and 1.")
        out[ok] = _bh(vals)
    return out
