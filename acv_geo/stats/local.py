"""Local statistics of one variable on one graph: LISA, Getis-Ord Gi*, local join counts, with labels.

:func:`local_statistic` computes the statistic and its permutation p-values on the units of a graph
(the operations of esda's classes on the same sparse matrices, and
:func:`acv_geo.stats.conditional.conditional_p_values`, esda's crand, for the p-values);
:func:`label_units` turns them into labels (FDR-adjusted or not) and reasons; :func:`local_table`
lays them out over every unit, NA units included.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError
from acv_geo.stats.adjacency import Adjacency, as_adjacency
from acv_geo.stats.choices import ALTERNATIVES, METHODS, check_choice
from acv_geo.stats.conditional import conditional_p_values
from acv_geo.stats.fdr import benjamini_hochberg
from acv_geo.stats.permutation import PermutationTest, check_permutations, resolve_seed
from acv_geo.stats.values import check_binary

__all__ = ["LocalOptions", "LocalStatistic", "focus_of", "label_units", "local_statistic", "local_table"]

_QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}


@dataclass(frozen=True)
class LocalOptions:
    """Settings of a local statistic, checked.

    Attributes
    ----------
    method : {"lisa", "gi_star", "join_count"}
        The statistic.
    permutations : int
        Conditional permutations (at least 1).
    seed : int
        Seed of the permutations.
    alpha : float
        Significance level of the labels, strictly between 0 and 1.
    alternative : {"two-sided", "greater", "lesser", "directed", "folded"}
        Alternative hypothesis.
    fdr : bool
        Label with Benjamini–Hochberg adjusted p-values.
    n_jobs : int
        Processes for esda's permutation engine (a positive integer or -1).

    Examples
    --------
    >>> LocalOptions.checked(method="gi_star", seed=7).test
    PermutationTest(permutations=9999, seed=7, alternative='two-sided', n_jobs=1)
    """

    method: str = "lisa"
    permutations: int = 9999
    seed: int = 12345
    alpha: float = 0.05
    alternative: str = "two-sided"
    fdr: bool = True
    n_jobs: int = 1

    @classmethod
    def checked(cls, *, seed: int | None = 12345, **options: Any) -> LocalOptions:
        """Options with every value checked, and a random seed drawn for ``seed=None``.

        Raises
        ------
        ValueError
            For an unknown method or alternative, or bad permutations, seed, alpha, fdr or n_jobs.
        """
        opts = cls(seed=0, **options)
        check_choice("method", opts.method, METHODS)
        check_choice("alternative", opts.alternative, ALTERNATIVES)
        return opts._checked_numbers(seed)

    def _checked_numbers(self, seed: int | None) -> LocalOptions:
        permutations = check_permutations(self.permutations, 1)
        seed = resolve_seed(seed)
        alpha = self.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < float(alpha) < 1:
            raise ValueError(f"alpha={alpha!r} must be a number strictly between 0 and 1")
        if not isinstance(self.fdr, bool):
            raise ValueError(f"fdr={self.fdr!r} must be True or False")
        n_jobs = self.n_jobs
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
            raise ValueError(f"n_jobs={n_jobs!r} must be a positive integer or -1")
        return LocalOptions(self.method, permutations, seed, float(alpha), self.alternative, self.fdr, n_jobs)

    @property
    def test(self) -> PermutationTest:
        """The permutation test these options describe."""
        return PermutationTest(self.permutations, self.seed, self.alternative, self.n_jobs)


@dataclass(frozen=True)
class LocalStatistic:
    """A local statistic over the units of a graph (``graph.unique_ids`` order).

    Attributes
    ----------
    statistic, p_sim : numpy.ndarray
        The statistic and its pseudo p-values (NaN for islands; join counts: NaN where 0).
    quadrant : numpy.ndarray
        LISA quadrant, Gi* direction or ``"BB"`` (object; None for islands).
    positive : numpy.ndarray
        Join counts: statistic above its expectation (a significant unit is a BB cluster); else True.
    is_island : numpy.ndarray
        Units without a neighbour.
    in_class : numpy.ndarray or None
        Join counts: units in class 1 (after recoding).
    """

    statistic: np.ndarray = field(repr=False)
    p_sim: np.ndarray = field(repr=False)
    quadrant: np.ndarray = field(repr=False)
    positive: np.ndarray = field(repr=False)
    is_island: np.ndarray = field(repr=False)
    in_class: np.ndarray | None = field(default=None, repr=False)


def focus_of(method: str, values: pd.Series, variable: str) -> tuple[str, bool]:
    """What the statistic looks for, and whether join counts recode ``1 - y`` (class 1 the minority).

    Parameters
    ----------
    method : {"lisa", "gi_star", "join_count"}
        The statistic.
    values : pandas.Series
        float64 values (NaN for NA).
    variable : str
        Column name, for the text and the messages.

    Returns
    -------
    tuple of (str, bool)
        The focus text and the recoding flag.

    Raises
    ------
    acv_geo.InputError
        Join counts of a variable that is not 0/1; Gi* of negative values.

    Examples
    --------
    >>> focus_of("join_count", pd.Series([1.0, 0.0, 0.0]), "opendata")
    ("class 1 = 'opendata' is 1/True (1 of 3)", False)
    >>> focus_of("join_count", pd.Series([1.0, 1.0, 0.0]), "opendata")[1]
    True
    """
    if method == "lisa":
        return f"LISA quadrants of {variable!r}", False
    if method == "gi_star":
        neg = values < 0
        if neg.any():
            raise InputError(
                f"Getis-Ord Gi* needs non-negative values; {variable!r} is negative for "
                f"{', '.join(map(str, values.index[neg.to_numpy()][:10]))}; use method='lisa' or shift "
                "the variable"
            )
        return f"hot and cold spots of {variable!r}", False
    check_binary(values, variable)
    vals = values.dropna()
    n1 = int((vals == 1).sum())
    if n1 > len(vals) - n1:
        return (
            f"class 1 = {variable!r} is 0/False ({len(vals) - n1} of {len(vals)}): recoded 1 - y because "
            "the 1 class must be the minority for local join counts"
        ), True
    return f"class 1 = {variable!r} is 1/True ({n1} of {len(vals)})", False


def _lisa(y: np.ndarray, g: Adjacency, test: PermutationTest) -> tuple[np.ndarray, ...]:
    """esda.Moran_Local(y, g, transformation="r"): Is, quadrants (its operations, in its order)."""
    n = len(y)
    z = y - y.mean()
    with np.errstate(all="ignore"):
        z /= y.std()
    w = g.transform("R").sparse
    den = (z * z).sum()
    zl = w @ z
    lisa = (n - 1) * z * zl / den
    zp, lp = z > 0, zl > 0
    q = 1 * (zp * lp) + 2 * ((1 - zp) * lp) + 3 * ((1 - zp) * (1 - lp)) + 4 * (zp * (1 - lp))
    quad = np.array([_QUADRANTS[int(k)] for k in q], dtype=object)
    p = conditional_p_values("lisa", z, w, lisa, test)
    return np.asarray(lisa, dtype="float64"), p, quad, np.ones(n, dtype=bool)


def _gi_star(y: np.ndarray, g: Adjacency, test: PermutationTest) -> tuple[np.ndarray, ...]:
    """esda.G_Local(y, g, transform="R", star=True): Gs and the sign of Zs (its operations)."""
    n = len(y)
    w = g.with_self_weight(1.0).transform("R").sparse  # binary weights: self-weight 1, then rows
    statistic = (w @ y) / (y.sum() - y * False)
    empirical_mean = (y.sum() - y * False) / n
    mean_of_squares = ((y**2).sum() - (y**2) * False) / n
    empirical_variance = mean_of_squares - empirical_mean**2
    cardinality = np.asarray(w.sum(axis=1)).squeeze()
    expected_variance = cardinality * (n - cardinality)
    expected_variance /= n - 1
    expected_variance *= 1 / n**2
    expected_variance *= empirical_variance / (empirical_mean**2)
    z_scores = (statistic - cardinality / n) / np.sqrt(expected_variance)
    quad = np.where(np.asarray(z_scores) > 0, "hot", "cold").astype(object)
    p = conditional_p_values("gi_star", y, w, statistic, test, scaling=float(y.sum()))
    return np.asarray(statistic, dtype="float64"), p, quad, np.ones(n, dtype=bool)


def _join_count(y: np.ndarray, g: Adjacency, test: PermutationTest) -> tuple[np.ndarray, ...]:
    wb = g.with_self_weight(0.0).without_zeros().transform("B").sparse
    # esda 2.9's Join_Counts_Local._statistic drops islands and sorts by id, which misaligns
    # the statistic when ids are not sorted: compute LJC_i = y_i * sum_j w_ij y_j directly.
    stat = y * np.asarray(wb @ y, dtype="float64")
    p = conditional_p_values("join_count", y, wb, stat, test)
    p[stat == 0] = np.nan
    card = np.asarray(wb.sum(axis=1)).ravel()
    expected = y * card * (y.sum() - y) / (len(y) - 1)
    quad = np.full(len(y), None, dtype=object)
    quad[stat > 0] = "BB"
    return stat, p, quad, stat > expected


def local_statistic(y: np.ndarray, graph: Any, options: LocalOptions, *, recoded: bool = False) -> LocalStatistic:
    """The local statistic of ``y`` on ``graph`` and its permutation p-values; islands blanked.

    Parameters
    ----------
    y : numpy.ndarray
        float64 values aligned with ``graph.unique_ids`` (no NaN).
    graph : Adjacency or libpysal.graph.Graph
        Binary weights (transformed as each statistic needs: row-standardised for LISA and Gi*).
    options : LocalOptions
        Method and permutation settings.
    recoded : bool, default False
        Join counts: analyse ``1 - y`` (see :func:`focus_of`).

    Returns
    -------
    LocalStatistic
        Statistic, p-values, quadrants, islands.

    Examples
    --------
    >>> from libpysal.graph import Graph
    >>> g = Graph.from_arrays([0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2], [1.0] * 6)
    >>> res = local_statistic(np.array([1.0, 1.0, 0.0, 0.0]), g, LocalOptions(method="join_count", permutations=9))
    >>> res.statistic.tolist()
    [1.0, 1.0, 0.0, 0.0]
    """
    compute = {"lisa": _lisa, "gi_star": _gi_star, "join_count": _join_count}[options.method]
    graph = as_adjacency(graph)
    yy = 1.0 - y if recoded else y.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        stat, p, quad, positive = compute(yy, graph, options.test)
    is_island = graph.cardinalities == 0
    stat, p, quad = stat.astype("float64").copy(), np.asarray(p, dtype="float64").copy(), quad.copy()
    stat[is_island], p[is_island], quad[is_island] = np.nan, np.nan, None
    in_class = (yy == 1) if options.method == "join_count" else None
    return LocalStatistic(stat, p, quad, positive, is_island, in_class)


def _island_reasons(ids: list[Any], is_island: np.ndarray, spec: str, weights: Any) -> list[str | None]:
    """Why each island has no neighbour: alone in its territory, or none under the weights."""
    single: set[Any] = set()
    if weights is not None:
        single = {i for c in weights.components if c.n_units == 1 for i in c.islands}
    out: list[str | None] = []
    for i, island in zip(ids, is_island, strict=True):
        if not island:
            out.append(None)
        elif i in single:
            out.append(f"no neighbour: only unit of territory {weights.territories.get(i)} with a value")
        else:
            out.append(f"no neighbour under {spec} among the units with a value")
    return out


def label_units(
    local: LocalStatistic, options: LocalOptions, ids: list[Any], *, spec: str, weights: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FDR-adjusted p-values, labels and reasons of the units of a local statistic.

    Parameters
    ----------
    local : LocalStatistic
        The statistic (from :func:`local_statistic`).
    options : LocalOptions
        ``alpha``, ``fdr`` and ``method``.
    ids : list
        The units (``graph.unique_ids``).
    spec : str
        Weights spec, for the reasons.
    weights : WeightsResult, optional
        The weights built, to tell single-unit territories apart in the reasons.

    Returns
    -------
    tuple of numpy.ndarray
        ``p_fdr``, ``labels`` and ``reasons`` (object, None when there is nothing to say).
    """
    p_fdr = benjamini_hochberg(local.p_sim)
    sig_p = p_fdr if options.fdr else local.p_sim
    significant = (sig_p <= options.alpha) & ~np.isnan(sig_p)
    labels = np.full(len(ids), "not significant", dtype=object)
    reasons = np.full(len(ids), None, dtype=object)
    if local.in_class is None:
        labels[significant] = local.quadrant[significant]
    else:
        labels[significant & local.positive] = "BB cluster"
        tested = ~local.is_island
        reasons[~local.in_class & tested] = "not in class 1: no BB join possible"
        reasons[local.in_class & (local.statistic == 0) & tested] = "in class 1 but no neighbour in class 1"
    labels[local.is_island] = "isolated"
    islands = _island_reasons(ids, local.is_island, spec, weights)
    reasons[local.is_island] = np.array(islands, dtype=object)[local.is_island]
    return p_fdr, labels, reasons


def local_table(units: Any, ids: list[Any], local: LocalStatistic, labelled: tuple[np.ndarray, ...]) -> pd.DataFrame:
    """Every unit (NA ones labelled ``"NA"``) with value, statistic, quadrant, p-values, label, reason.

    Parameters
    ----------
    units : acv_geo.stats.units.AnalysisUnits
        The units and values (rows in this order).
    ids : list
        The tested units (``graph.unique_ids``), those of ``local``.
    local : LocalStatistic
        The statistic.
    labelled : tuple of numpy.ndarray
        ``p_fdr``, ``labels``, ``reasons`` from :func:`label_units`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``units.id_name``, columns ``value, statistic, quadrant, p_sim, p_fdr, label, reason``.
    """
    p_fdr, labels, reasons = labelled
    n = len(units.units)
    frame = pd.DataFrame(
        {
            "value": units.values.to_numpy(dtype="float64"),
            "statistic": np.nan,
            "quadrant": np.full(n, None, dtype=object),
            "p_sim": np.nan,
            "p_fdr": np.nan,
            "label": np.full(n, "NA", dtype=object),
            "reason": units.na_reason.reindex(units.units.index).to_numpy(dtype=object),
        },
        index=pd.Index(list(units.units.index), name=units.id_name),
    )
    for col in ("label", "quadrant", "reason"):
        frame[col] = frame[col].astype(object)
    pos = frame.index.get_indexer(ids)
    for col, arr in (("statistic", local.statistic), ("p_sim", local.p_sim), ("p_fdr", p_fdr)):
        frame.iloc[pos, frame.columns.get_loc(col)] = arr
    for col, arr in (("quadrant", local.quadrant), ("label", labels), ("reason", reasons)):
        col_values = frame[col].to_numpy(dtype=object).copy()
        col_values[pos] = arr
        frame[col] = col_values
    return frame
