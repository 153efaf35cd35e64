"""False discovery rate: Benjamini–Hochberg adjusted p-values (scipy's), NaN left out of the family."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import false_discovery_control

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(p_values: npt.ArrayLike) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (step-up false discovery rate), NaN-aware.

    :func:`scipy.stats.false_discovery_control` (``method="bh"``) on the p-values that are not NaN.

    Parameters
    ----------
    p_values : array-like of float
        Raw p-values; NaN entries are left out of the family and stay NaN.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values ``min_{j >= i} (m / j) p_(j)``, capped at 1, in the input order.

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
        out[ok] = false_discovery_control(p[ok], method="bh")
    return out
