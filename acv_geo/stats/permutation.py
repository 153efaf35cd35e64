"""Permutation inference: seeds, NumPy's seeded global generator, esda's conditional randomisation.

:func:`crand_p_values` runs esda's own engine (``esda.crand.crand`` with ``esda.moran._moran_local_crand``,
``esda.getisord._g_local_star_crand``, ``esda.join_counts_local._ljc_uni``, checked with esda 2.9), the
only use of esda's private API. The cluster statistics use :mod:`acv_geo.stats.conditional`, which
draws the same permutations with NumPy without importing esda; this function is the reference the
tests compare it with. Should a later esda rename them, this is the one place to adapt.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

__all__ = [
    "LOCAL_STATISTICS",
    "PermutationTest",
    "PermutationConsumer",
    "check_permutations",
    "crand_p_values",
    "esda_version",
    "feed_permutations",
    "resolve_seed",
    "seeded",
]

#: Bytes of one batch of permuted rows (float64, permutations × units) fed to the global statistics:
#: 4 MiB, 15 rows of the 34,860 communes, where the sparse products of Moran's I cost least per row
#: (0.12-0.2 ms; 0.2-0.5 ms with 64 rows).
_ROWS_BYTES = 4 << 20

#: Local statistics that :func:`crand_p_values` can permute.
LOCAL_STATISTICS: tuple[str, ...] = ("lisa", "gi_star", "join_count")


@dataclass(frozen=True)
class PermutationTest:
    """Settings of a conditional permutation test.

    Attributes
    ----------
    permutations : int
        Number of permutations.
    seed : int
        Seed of the permutations (esda's ``seed=``, and NumPy's global generator during the run).
    alternative : str
        ``"two-sided"``, ``"greater"``, ``"lesser"``, ``"directed"`` or ``"folded"``.
    n_jobs : int
        Processes for esda's engine (results do not depend on it).
    """

    permutations: int
    seed: int
    alternative: str = "two-sided"
    n_jobs: int = 1


def resolve_seed(seed: object) -> int:
    """The seed to use: ``seed`` checked, or a random one for None.

    Parameters
    ----------
    seed : int or None
        An integer in ``[0, 2**32)``, or None for a random seed.

    Returns
    -------
    int
        The seed.

    Raises
    ------
    ValueError
        If ``seed`` is not such an integer (booleans are refused).

    Examples
    --------
    >>> resolve_seed(12345)
    12345
    >>> 0 <= resolve_seed(None) < 2**32
    True
    """
    if seed is None:
        return secrets.randbelow(2**32)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed={seed!r} must be an integer between 0 and 2**32 - 1 (or None for a random one)")
    return int(seed)


def check_permutations(permutations: object, minimum: int) -> int:
    """``permutations`` as an int, checked to be at least ``minimum``.

    Parameters
    ----------
    permutations : int
        Number of permutations.
    minimum : int
        Smallest allowed number.

    Returns
    -------
    int
        ``permutations``.

    Raises
    ------
    ValueError
        If it is not an integer (booleans are refused) or is below ``minimum``.

    Examples
    --------
    >>> check_permutations(99, 1)
    99
    """
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) or permutations < minimum:
        raise ValueError(f"permutations={permutations!r} must be an integer >= {minimum}")
    return int(permutations)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator (which esda uses) and restore it afterwards.

    Parameters
    ----------
    seed : int
        The seed.

    Examples
    --------
    >>> with seeded(1):
    ...     a = np.random.random()
    >>> with seeded(1):
    ...     a == np.random.random()
    True
    """
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


class PermutationConsumer(Protocol):
    """What `feed_permutations` feeds: a statistic computed on batches of permuted rows."""

    def need(self) -> int:
        """Rows still wanted at least (0 when done)."""
        ...

    def take(self, rows: np.ndarray) -> None:
        """Use the next rows of the sequence of draws (rows beyond what is needed are ignored)."""
        ...


def feed_permutations(
    values: np.ndarray, consumers: Sequence[PermutationConsumer], rng: Any = np.random, *, rows: int | None = None
) -> int:
    """Draw ``rng.permutation(values)`` after another, in batches, and feed them to every consumer.

    Each row is a shuffle of a copy of ``values`` (what ``np.random.permutation`` does), so the
    sequence of rows is the one esda draws one permutation at a time; every consumer sees the same
    rows in the same order and uses as many as it needs. A batch never holds more rows than the
    largest remaining need, so no more shuffles are drawn than the most demanding consumer uses.

    Parameters
    ----------
    values : numpy.ndarray
        float64 values to permute.
    consumers : sequence of PermutationConsumer
        Fed in this order with each batch.
    rng : numpy.random.RandomState or module, default ``numpy.random``
        Where the shuffles come from (NumPy's global generator by default, as esda).
    rows : int, optional
        Rows per batch (default: about 4 MiB of them).

    Returns
    -------
    int
        Rows drawn.

    Examples
    --------
    >>> class Keep:
    ...     def __init__(self): self.rows = []
    ...     def need(self): return 3 - len(self.rows)
    ...     def take(self, rows): self.rows.extend(rows[: self.need()].tolist())
    >>> keep = Keep()
    >>> feed_permutations(np.arange(4.0), [keep], np.random.RandomState(1), rows=2)
    3
    >>> r = np.random.RandomState(1)
    >>> keep.rows == [r.permutation(np.arange(4.0)).tolist() for _ in range(3)]
    True
    """
    values = np.asarray(values, dtype="float64")
    batch = rows or max(1, _ROWS_BYTES // (8 * max(len(values), 1)))
    buffer = np.empty((batch, len(values)), dtype="float64")
    drawn = 0
    while (need := max((c.need() for c in consumers), default=0)) > 0:
        m = min(batch, need)
        for k in range(m):
            buffer[k] = values
            rng.shuffle(buffer[k])
        drawn += m
        for consumer in consumers:
            consumer.take(buffer[:m])
    return drawn


def esda_version() -> str:
    """Version of the installed esda.

    Examples
    --------
    >>> esda_version().count(".") >= 1
    True
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("esda")
    except PackageNotFoundError:
        return "?"


def _stat_func(statistic: str) -> Callable[..., Any]:
    """The (private) esda per-unit statistic function that ``crand`` runs for ``statistic``."""
    if statistic == "lisa":
        from esda.moran import _moran_local_crand

        return _moran_local_crand
    if statistic == "gi_star":
        from esda.getisord import _g_local_star_crand

        return _g_local_star_crand
    if statistic == "join_count":
        from esda.join_counts_local import _ljc_uni

        return _ljc_uni
    raise ValueError(f"statistic={statistic!r}; expected one of {LOCAL_STATISTICS}")


class _CrandWeights:
    """The weights as ``esda.crand.crand`` reads them: only ``.sparse``, a CSR matrix.

    crand zeroes the matrix's diagonal in place (``setdiag(0)``, ``eliminate_zeros()``) after
    reading the self-weights. Given a Graph, that matrix is the Graph's cached ``.sparse``, so every
    later use of the Graph loses its self-weights: the second run of a two-sided Gi* (``"lesser"``
    after ``"greater"``) ran without Gi*'s self-weight. Each run gets its own copy of the one matrix
    built per statistic instead.
    """

    __slots__ = ("sparse",)

    def __init__(self, matrix: Any) -> None:
        self.sparse = matrix.copy()


def _one_sided(
    statistic: str, z: np.ndarray, matrix: Any, observed: np.ndarray, test: PermutationTest, scaling: float | None
) -> np.ndarray:
    """One run of crand (its own copy of the matrix) for ``test.alternative``; p-values as exact float64."""
    from esda.crand import crand

    with seeded(test.seed):
        p32, _ = crand(
            z,
            _CrandWeights(matrix),
            observed,
            test.permutations,
            False,
            test.n_jobs,
            _stat_func(statistic),
            scaling=scaling,
            seed=test.seed,
            island_weight=0,
            alternative=test.alternative,
        )
    # crand stores p in float32: recover the integer count (exact), then divide in float64.
    counts = np.rint(np.asarray(p32, dtype="float64") * (test.permutations + 1))
    return counts / (test.permutations + 1.0)


def crand_p_values(
    statistic: str,
    z: np.ndarray,
    w: Any,
    observed: np.ndarray,
    test: PermutationTest,
    *,
    scaling: float | None = None,
) -> np.ndarray:
    """Pseudo p-values of a local statistic by esda's conditional randomisation, exact float64.

    ``"two-sided"`` is the doubled one-sided p-value, ``min(1, 2 · min(P(sim ≥ obs), P(sim ≤ obs)))``,
    from two runs with the same seed (so the same permutations). esda 2.9's own "two-sided" counts
    every simulation tied with the extremes as outside: for a yes/no variable (heavily tied
    simulations) its smallest attainable p-value is about 0.16, so no unit could ever be significant.

    Parameters
    ----------
    statistic : {"lisa", "gi_star", "join_count"}
        Which esda statistic function the permutations run.
    z : numpy.ndarray
        The values as the statistic reads them (standardised for LISA, raw for Gi* and join counts).
    w : libpysal.graph.Graph or libpysal.weights.W
        The statistic's weights; its sparse matrix is built once and each run gets a copy.
    observed : numpy.ndarray
        The observed statistic of each unit.
    test : PermutationTest
        Permutations, seed, alternative hypothesis, processes.
    scaling : float, optional
        Gi*: the sum of the values (esda's ``scaling``).

    Returns
    -------
    numpy.ndarray
        One p-value per unit.
    """
    matrix = w.sparse
    # Ties: for a yes/no variable a permutation often reproduces the observed statistic exactly,
    # but esda sums it in another order, so `sim >= obs` may fail by one ulp and the tie be lost
    # (an overseas town with 4 non-publishing neighbours got p = 1/(P+1) instead of ~0.17).
    # The one-sided runs count simulations within 1e-9 (relative) of the observed value as ties.
    tol = 1e-9 * np.maximum(1.0, np.abs(observed))
    shifted = {"greater": observed - tol, "lesser": observed + tol}

    def run(alt: str) -> np.ndarray:
        one = replace(test, alternative=alt)
        return _one_sided(statistic, z, matrix, shifted.get(alt, observed), one, scaling)

    if test.alternative == "two-sided":
        return np.minimum(1.0, 2.0 * np.minimum(run("greater"), run("lesser")))
    return run(test.alternative)
