"""Spatial clusters of open-data coverage, and of any indicator.

Global statistics say *whether* a variable is spatially clustered (join counts for a yes/no
variable such as ``opendata``, Moran's I for a continuous one); local statistics say *where*
(Local Moran / LISA, Getis-Ord Gi*, local join counts). Every statistic is esda's, value for value
(same permutations from the same seed, same operations), computed with NumPy on the weights built by
:func:`acv_geo.stats.weights.spatial_weights` (no edge ever links two territories): esda, libpysal
and scikit-learn are not imported (about 1.4 s), and permutations are drawn once for both tails.
``tests/test_stats_equivalence.py`` compares every value with esda, libpysal and scipy.

This module holds the public functions; the steps live in :mod:`acv_geo.stats.units` (units and
EPCI aggregation), :mod:`acv_geo.stats.weights`, :mod:`acv_geo.stats.local` (local statistics and
labels), :mod:`acv_geo.stats.joincounts`, :mod:`acv_geo.stats.permutation` (esda's engine),
:mod:`acv_geo.stats.fdr` and :mod:`acv_geo.stats.results`.

Rules
-----
* Missing values (NA) are reported and excluded, never zero-filled: those units keep a row with
  label ``"NA"`` and a reason, and the weights are built on (or restricted to) the units that have
  a value.
* Units left without a neighbour are labelled ``"isolated"`` with a reason; they stay in the
  sample (as in esda and GeoDa) but get no local statistic and are not part of the FDR family.
* Local p-values are those of esda's conditional-randomisation engine (``esda.crand.crand``) run
  with the statistic function of the corresponding esda class and an explicit ``seed``
  (:mod:`acv_geo.stats.conditional` draws the same permutations): with
  ``alternative="directed"`` they are identical to ``esda.Moran_Local(..., seed=seed).p_sim``
  (esda 2.9's classes do not expose ``alternative``, and always use ``"directed"``).
* Benjamini–Hochberg adjusted p-values (``p_fdr``) are computed over the tested units; labels use
  ``p_fdr`` when ``fdr=True``, ``p_sim`` otherwise.
* Weights: a spec (built on the units that have a value), or weights built once (a
  :class:`~acv_geo.stats.weights.WeightsResult`, e.g. from :func:`cluster_weights`, or a
  :class:`libpysal.graph.Graph`) and passed to several statistics and variables: each restricts them
  to its units with a value.
* Global permutation tests use NumPy's global generator (esda has no ``seed=`` for them): it is
  seeded with ``seed`` for the call and restored afterwards. Join counts draw their permutations
  from it exactly as ``esda.Join_Counts`` does, so a seed gives esda's results.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from acv_geo.stats.adjacency import as_adjacency
from acv_geo.stats.choices import ALTERNATIVES, LEVELS, LOCAL_COLUMNS, METHODS
from acv_geo.stats.fdr import benjamini_hochberg
from acv_geo.stats.joincounts import (
    JoinCountsCore,
    TableSims,
    binary_joins,
    join_counts_core,
    join_counts_result,
    join_counts_setup,
)
from acv_geo.stats.local import LocalOptions, focus_of, label_units, local_statistic, local_table
from acv_geo.stats.moran import MoranCore, MoranSims, moran_global, moran_result, moran_setup
from acv_geo.stats.permutation import check_permutations, esda_version, feed_permutations, resolve_seed, seeded
from acv_geo.stats.results import JoinCountsResult, LocalResult, MoranResult
from acv_geo.stats.units import AnalysisUnits, UnitOptions, analysis_units, check_cities, unit_layer
from acv_geo.stats.values import check_binary
from acv_geo.stats.weights import UnitWeights, WeightsResult, spatial_weights, unit_weights, weights_kind

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from libpysal.graph import Graph

__all__ = [
    "ALTERNATIVES",
    "LEVELS",
    "LOCAL_COLUMNS",
    "METHODS",
    "JoinCountsResult",
    "LocalResult",
    "MoranResult",
    "benjamini_hochberg",
    "cluster_weights",
    "global_statistics",
    "join_counts",
    "local_clusters",
    "morans_i",
]


@dataclass(frozen=True)
class _Analysis:
    """Units with their values, and the binary weights over those that have a value."""

    units: AnalysisUnits
    weights: UnitWeights
    level: str

    @property
    def graph(self) -> Any:
        return self.weights.graph

    @property
    def y(self) -> np.ndarray:
        """Values in ``graph.unique_ids`` order."""
        return self.units.values.reindex(list(self.graph.unique_ids)).to_numpy(dtype="float64")

    @property
    def notes(self) -> tuple[str, ...]:
        return (*self.units.notes, *self.weights.notes)


def _prepare(cities: Any, variable: str, weights: Any, options: UnitOptions) -> _Analysis:
    """Check the cities, build the units and values, and the weights over the units with a value."""
    check_cities(cities)
    kind = weights_kind(weights)
    units = analysis_units(cities, variable, options, contiguity=None if kind is None else kind in ("queen", "rook"))
    valid = units.units.loc[units.valid_ids]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bound = unit_weights(valid, weights, territory_column=options.territory_column)
    for w in caught:  # re-emitted so that they point at the caller's line
        warnings.warn(str(w.message), w.category, stacklevel=3)
    return _Analysis(units, bound, options.level)


def cluster_weights(
    cities: gpd.GeoDataFrame,
    spec: str = "knn:6",
    *,
    level: str = "commune",
    epci: Any = None,
    polygons: Any = None,
    territory_column: str = "territory",
) -> WeightsResult:
    """The weights of the units the cluster statistics analyse, to build once and pass to several.

    Commune level: the cities (their commune polygons for queen/rook when they are points); EPCI
    level: their EPCI polygons, in order of first appearance. Passed as ``weights=`` to
    :func:`local_clusters`, :func:`join_counts` or :func:`morans_i`, they are restricted to the
    units with a value of each variable; with no NA that gives the results of passing ``spec``.

    Parameters
    ----------
    cities : geopandas.GeoDataFrame
        Cities indexed by ``insee_com``.
    spec : str, default ``"knn:6"``
        ``"knn:K"``, ``"distance:METERS"``, ``"queen"`` or ``"rook"``.
    level, epci, polygons, territory_column
        As in :func:`local_clusters`.

    Returns
    -------
    WeightsResult
        From :func:`acv_geo.stats.weights.spatial_weights`.

    Examples
    --------
    >>> import acv_geo
    >>> cities = acv_geo.read_acv()
    >>> w = cluster_weights(cities, "knn:6")
    >>> a = local_clusters(cities, "opendata", weights=w, permutations=99).to_frame()
    >>> b = local_clusters(cities, "opendata", weights="knn:6", permutations=99).to_frame()
    >>> a.equals(b)
    True
    """
    options = UnitOptions(level, epci, polygons, None, territory_column)
    layer = unit_layer(cities, options, contiguity=weights_kind(spec) in ("queen", "rook"))
    return spatial_weights(layer, spec, territory_column=territory_column)


def _join_counts_result(jc: JoinCountsCore, data: _Analysis, variable: str, level: str, seed: int) -> JoinCountsResult:
    n, n1 = jc.n, jc.n_black
    n0, big_j, pair = n - n1, jc.joins, n * (n - 1)
    nan = float("nan")
    if jc.permutations:
        sims = tuple(float(np.mean(np.asarray(a))) for a in (jc.sim_bb, jc.sim_bw, jc.sim_ww))
        ps = (jc.p_sim(jc.sim_bb, jc.bb), jc.p_sim(jc.sim_bw, jc.bw), jc.p_sim(jc.sim_chi2, jc.chi2))
    else:
        sims, ps = (nan, nan, nan), (nan, nan, nan)
    return JoinCountsResult(
        variable=variable,
        level=level,
        weights=data.weights.spec,
        n=n,
        n_black=n1,
        joins=big_j,
        bb=float(jc.bb),
        bw=float(jc.bw),
        ww=float(jc.ww),
        expected_bb=big_j * n1 * (n1 - 1) / pair,
        expected_bw=big_j * 2 * n1 * n0 / pair,
        expected_ww=big_j * n0 * (n0 - 1) / pair,
        mean_bb_sim=sims[0],
        mean_bw_sim=sims[1],
        mean_ww_sim=sims[2],
        p_sim_bb=ps[0],
        p_sim_bw=ps[1],
        chi2=float(jc.chi2),
        chi2_p=float(jc.chi2_p),
        chi2_dof=float(jc.chi2_dof),
        p_sim_chi2=ps[2],
        permutations=jc.permutations,
        seed=seed,
        warnings=data.notes,
    )


def join_counts(
    cities: gpd.GeoDataFrame,
    variable: str = "opendata",
    *,
    weights: str | WeightsResult | Graph = "knn:6",
    permutations: int = 9999,
    seed: int | None = 12345,
    level: str = "commune",
    epci: Any = None,
    polygons: Any = None,
    territory_column: str = "territory",
) -> JoinCountsResult:
    """Global join-count test: do cities that publish open data neighbour each other.

    Answers whether yes/no values (e.g. ``opendata``) cluster in space.

    Parameters
    ----------
    cities : geopandas.GeoDataFrame
        Cities indexed by ``insee_com`` with ``territory`` and the variable (from
        :func:`acv_geo.read_acv`). Not modified.
    variable : str, default ``"opendata"``
        A yes/no or 0/1 column; NA values are excluded.
    weights : str or WeightsResult or libpysal.graph.Graph, default ``"knn:6"``
        Spec for :func:`acv_geo.stats.weights.spatial_weights` (built on the units that have a value),
        or prebuilt weights (restricted to those units; see :func:`cluster_weights`).
    permutations : int, default 9999
        Random permutations (0: analytical results only).
    seed : int or None, default 12345
        Seed of the permutations (None: a random seed, recorded in the result).
    level : {"commune", "epci"}, default ``"commune"``
        Analyse cities, or their EPCIs (see :func:`local_clusters`).
    epci : geopandas.GeoDataFrame or path, optional
        EPCI polygons for ``level="epci"`` (default: :func:`acv_geo.read_epci`).
    polygons : geopandas.GeoDataFrame or path, optional
        Commune polygons for queen/rook at commune level (default: :func:`acv_geo.read_communes`).
    territory_column : str, default ``"territory"``
        Column with the territory of each unit.

    Returns
    -------
    JoinCountsResult
        BB, BW, WW, expected values, permutation p-values, χ² statistics.

    Raises
    ------
    acv_geo.InputError
        If the variable is missing, not 0/1, all NA or constant.

    Examples
    --------
    >>> import acv_geo
    >>> res = join_counts(acv_geo.read_acv(), "opendata", permutations=99)
    >>> res.n, res.n_black
    (244, 111)
    """
    permutations = check_permutations(permutations, 0)
    seed = resolve_seed(seed)
    data = _prepare(cities, variable, weights, UnitOptions(level, epci, polygons, None, territory_column))
    check_binary(data.units.values, variable)
    with seeded(seed):
        jc = join_counts_core(data.y, data.graph, permutations)
    return _join_counts_result(jc, data, variable, level, seed)


def morans_i(
    cities: gpd.GeoDataFrame,
    variable: str,
    *,
    weights: str | WeightsResult | Graph = "knn:6",
    permutations: int = 9999,
    seed: int | None = 12345,
    level: str = "commune",
    epci: Any = None,
    polygons: Any = None,
    aggregate: str | None = None,
    territory_column: str = "territory",
) -> MoranResult:
    """Global Moran's I of any numeric (or yes/no) indicator, row-standardised weights.

    Parameters
    ----------
    cities : geopandas.GeoDataFrame
        Cities indexed by ``insee_com`` with ``territory`` and the variable. Not modified.
    variable : str
        Numeric or yes/no column; NA values are excluded.
    weights, permutations, seed, level, epci, polygons, territory_column
        As in :func:`join_counts`.
    aggregate : {"mean", "sum", "min", "max", "any"}, optional
        How city values combine into an EPCI value at ``level="epci"`` (default: see
        :func:`local_clusters`).

    Returns
    -------
    MoranResult
        I, its expectation, analytical and permutation inference.

    Raises
    ------
    acv_geo.InputError
        If the variable is missing, non-numeric, all NA or constant.

    Examples
    --------
    >>> import acv_geo
    >>> res = morans_i(acv_geo.read_acv(), "opendata", permutations=99)
    >>> res.n, -1 < res.I < 1
    (244, True)
    """
    permutations = check_permutations(permutations, 0)
    seed = resolve_seed(seed)
    data = _prepare(cities, variable, weights, UnitOptions(level, epci, polygons, aggregate, territory_column))
    with seeded(seed), warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", UserWarning)
        mi = moran_global(data.y, data.graph, permutations)
    return _moran_result(mi, data, variable, level, permutations, seed)


def _moran_result(
    mi: MoranCore, data: _Analysis, variable: str, level: str, permutations: int, seed: int
) -> MoranResult:
    sims = (mi.p_sim, mi.EI_sim, mi.z_sim, mi.p_z_sim)
    return MoranResult(
        variable=variable,
        level=level,
        weights=data.weights.spec,
        n=data.graph.n,
        I=float(mi.I),
        expected=float(mi.EI),
        z_norm=float(mi.z_norm),
        p_norm=float(mi.p_norm),
        z_rand=float(mi.z_rand),
        p_rand=float(mi.p_rand),
        p_sim=float(sims[0]),
        mean_sim=float(sims[1]),
        z_sim=float(sims[2]),
        p_z_sim=float(sims[3]),
        permutations=permutations,
        seed=seed,
        warnings=data.notes,
    )


def _global_cores(
    y: np.ndarray, graph: Any, permutations: int, seed: int, *, join_counts: bool = True, morans_i: bool = True
) -> tuple[JoinCountsCore | None, MoranCore | None]:
    """`join_counts_core` and `moran_global` of ``y`` on ``graph``, from one sequence of draws.

    Both statistics draw ``np.random.permutation(y)`` after ``np.random.seed(seed)``, one after the
    other: Moran's I uses the first ``permutations`` draws, join counts as many more as it discards
    (inadmissible tables), so Moran's draws are always the first ones of join counts' and a single
    sequence serves both (a private ``RandomState(seed)``: the same stream, the global generator is
    untouched). Each batch of permuted rows feeds Moran's I first, then join counts, which take the
    neighbours in class 1 from Moran's lags when the weights are binary (`binary_joins`).
    """
    graph = as_adjacency(graph)
    y = np.asarray(y, dtype="float64").reshape(-1)
    jc_setup = join_counts_setup(y, graph) if join_counts else None
    mi_setup = moran_setup(y, graph) if morans_i else None
    mi_sims = jc_sims = None
    consumers: list[Any] = []
    if permutations and mi_setup is not None:
        mi_sims = MoranSims(y, mi_setup[1], permutations, mi_setup[3][:3])
        consumers.append(mi_sims)
    if permutations and jc_setup is not None:
        lags = mi_sims if mi_sims is not None and binary_joins(graph) else None
        jc_sims = TableSims(jc_setup[1], permutations, lags=lags)
        consumers.append(jc_sims)
    if consumers:
        feed_permutations(y, consumers, np.random.RandomState(seed))
    jc = None if jc_setup is None else join_counts_result(jc_setup[0], jc_setup[2], jc_sims)
    if mi_setup is None:
        return jc, None
    return jc, moran_result(mi_setup[2], mi_setup[3], None if mi_sims is None else mi_sims.sims)


def global_statistics(
    cities: gpd.GeoDataFrame,
    variable: str = "opendata",
    *,
    weights: str | WeightsResult | Graph = "knn:6",
    permutations: int = 9999,
    seed: int | None = 12345,
    join_counts: bool = True,
    morans_i: bool = True,
    level: str = "commune",
    epci: Any = None,
    polygons: Any = None,
    territory_column: str = "territory",
) -> tuple[JoinCountsResult | None, MoranResult | None]:
    """Join counts and Moran's I of one variable on the same units, from one sequence of permutations.

    Equal to ``join_counts(...)`` and ``morans_i(...)`` called with the same arguments (same units,
    weights and seed, hence esda's permutations), in about the time of one: both statistics read the
    same draws (Moran's I the first ``permutations``, join counts also those it redraws after an
    inadmissible table), drawn once and fed to both batch by batch.

    Parameters
    ----------
    cities, variable, weights, permutations, seed, level, epci, polygons, territory_column
        As in :func:`join_counts` (and :func:`morans_i`, without ``aggregate``).
    join_counts : bool, default True
        Compute the join counts (``variable`` must then be yes/no or 0/1).
    morans_i : bool, default True
        Compute Moran's I.

    Returns
    -------
    tuple of (JoinCountsResult or None, MoranResult or None)
        Each result, None where not asked for.

    Raises
    ------
    acv_geo.InputError
        As :func:`join_counts` and :func:`morans_i` do.

    Examples
    --------
    >>> import acv_geo
    >>> cities = acv_geo.read_acv()
    >>> jc, mi = global_statistics(cities, "opendata", permutations=99)
    >>> jc == join_counts(cities, "opendata", permutations=99)
    True
    >>> mi == morans_i(cities, "opendata", permutations=99)
    True
    """
    permutations = check_permutations(permutations, 0)
    seed = resolve_seed(seed)
    data = _prepare(cities, variable, weights, UnitOptions(level, epci, polygons, None, territory_column))
    if join_counts:
        check_binary(data.units.values, variable)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", UserWarning)  # as morans_i
        jc, mi = _global_cores(data.y, data.graph, permutations, seed, join_counts=join_counts, morans_i=morans_i)
    jc_result = None if jc is None else _join_counts_result(jc, data, variable, level, seed)
    mi_result = None if mi is None else _moran_result(mi, data, variable, level, permutations, seed)
    return jc_result, mi_result


def local_clusters(
    cities: gpd.GeoDataFrame,
    variable: str = "opendata",
    *,
    method: str = "lisa",
    weights: str | WeightsResult | Graph = "knn:6",
    permutations: int = 9999,
    seed: int | None = 12345,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    fdr: bool = True,
    level: str = "commune",
    epci: Any = None,
    polygons: Any = None,
    aggregate: str | None = None,
    n_jobs: int = 1,
    territory_column: str = "territory",
) -> LocalResult:
    """Local spatial clusters: LISA, Getis-Ord Gi* or local join counts, with FDR-adjusted labels.

    Parameters
    ----------
    cities : geopandas.GeoDataFrame
        Cities indexed by ``insee_com`` with ``territory`` and the variable (from
        :func:`acv_geo.read_acv`, or :func:`france_communes` for every French commune). Not
        modified.
    variable : str, default ``"opendata"``
        Column to analyse: the nullable boolean ``opendata`` or any numeric column. NA values are
        excluded (label ``"NA"``), never zero-filled.
    method : {"lisa", "gi_star", "join_count"}, default ``"lisa"``
        Local Moran's I (``esda.Moran_Local``), Getis-Ord Gi* (``esda.G_Local(star=True)``) or
        local join counts (``esda.Join_Counts_Local`` statistic, 0/1 variables only; class 1 is
        made the minority, recoding ``1 - y`` when needed).
    weights : str or WeightsResult or libpysal.graph.Graph, default ``"knn:6"``
        Spec for :func:`acv_geo.stats.weights.spatial_weights`, built on the units that have a value
        (so ``knn:6`` means six neighbours with a value); or prebuilt weights, restricted to those
        units (neighbours with NA are dropped): build them once with :func:`cluster_weights` and
        pass them to several variables and statistics.
    permutations : int, default 9999
        Conditional permutations (at least 1).
    seed : int or None, default 12345
        Seed passed to esda (None: random, recorded in ``.seed``).
    alpha : float, default 0.05
        Significance level of the labels.
    alternative : {"two-sided", "greater", "lesser", "directed", "folded"}, default ``"two-sided"``
        Alternative hypothesis of the pseudo p-values (esda's definitions; ``"directed"`` is what
        esda 2.9's classes report).
    fdr : bool, default True
        Label with Benjamini–Hochberg adjusted p-values (``p_fdr``) rather than ``p_sim``.
    level : {"commune", "epci"}, default ``"commune"``
        ``"epci"`` aggregates the cities to their EPCI polygons (rows indexed by ``siren_epci``,
        in order of first appearance among the cities). For ``opendata`` the EPCI value is whether
        the EPCI itself publishes (``opendata_epci``); other yes/no columns use "any city",
        numeric columns the mean (see ``aggregate``).
    epci : geopandas.GeoDataFrame or path, optional
        EPCI polygons (default :func:`acv_geo.read_epci`).
    polygons : geopandas.GeoDataFrame or path, optional
        Commune polygons for queen/rook at commune level when the cities are points (default
        :func:`acv_geo.read_communes`, the 244 ACV communes).
    aggregate : {"mean", "sum", "min", "max", "any"}, optional
        How city values combine into an EPCI value.
    n_jobs : int, default 1
        Processes for esda's permutation engine (results do not depend on it).
    territory_column : str, default ``"territory"``
        Column with the territory of each unit.

    Returns
    -------
    LocalResult
        ``to_frame()``: every input unit in input order, columns ``value, statistic, quadrant,
        p_sim, p_fdr, label, reason``. Labels: ``"HH", "LL", "HL", "LH"`` (lisa), ``"hot",
        "cold"`` (gi_star), ``"BB cluster"`` (join_count), ``"not significant"``, ``"isolated"``,
        ``"NA"``.

    Raises
    ------
    ValueError
        For an unknown method, level, alternative or weights spec, or bad alpha/permutations/seed.
    acv_geo.InputError
        If the variable is missing, all NA or constant; if join counts get a non-0/1 variable; if
        Gi* gets negative values; if contiguity weights lack polygons.

    Examples
    --------
    >>> import acv_geo
    >>> res = acv_geo.local_clusters(acv_geo.read_acv(), "opendata", permutations=99)
    >>> res.n, res.n_tested, list(res.to_frame().columns) == LOCAL_COLUMNS
    (244, 244, True)
    """
    options = LocalOptions.checked(
        method=method,
        permutations=permutations,
        seed=seed,
        alpha=alpha,
        alternative=alternative,
        fdr=fdr,
        n_jobs=n_jobs,
    )
    data = _prepare(cities, variable, weights, UnitOptions(level, epci, polygons, aggregate, territory_column))
    focus, recoded = focus_of(options.method, data.units.values, variable)
    ids = list(data.graph.unique_ids)
    local = local_statistic(data.y, data.graph, options, recoded=recoded)
    labelled = label_units(local, options, ids, spec=data.weights.spec, weights=data.weights.result)
    frame = local_table(data.units, ids, local, labelled)
    return _local_result(data, options, local, frame, variable, (focus, recoded))


def _local_result(
    data: _Analysis, options: LocalOptions, local: Any, frame: Any, variable: str, focus: tuple[str, bool]
) -> LocalResult:
    ids = np.asarray(list(data.graph.unique_ids), dtype=object)
    counts = {str(k): int(v) for k, v in frame["label"].value_counts(sort=True).items()}
    return LocalResult(
        method=options.method,
        variable=variable,
        level=data.level,
        weights=data.weights.spec,
        permutations=options.permutations,
        seed=options.seed,
        alpha=options.alpha,
        alternative=options.alternative,
        fdr=options.fdr,
        n=len(frame),
        n_tested=int((~np.isnan(local.p_sim)).sum()),
        n_na=int(data.units.values.isna().sum()),
        islands=tuple(str(i) for i in ids[local.is_island]),
        recoded=focus[1],
        focus=focus[0],
        counts=counts,
        warnings=(*data.notes, focus[0]) if focus[1] else data.notes,
        esda_version=esda_version(),
        frame=frame,
        weights_result=data.weights.result,
    )
