# mypy: ignore-errors
# (being reworked; remove this line once mypy passes on the module)
"""Spatial clusters of open-data coverage, and of any indicator.

Global statistics say *whether* a variable is spatially clustered (join counts for a yes/no
variable such as ``opendata``, Moran's I for a continuous one); local statistics say *where*
(Local Moran / LISA, Getis-Ord Gi*, local join counts). Everything runs through esda on a
:class:`libpysal.graph.Graph` built by :func:`acv_geo.stats.weights.spatial_weights`, so no edge ever
links two territories; global join counts are esda's ``Join_Counts`` computed over all
permutations at once (the same permutations and values, without its per-permutation pandas
look-ups).

Rules
-----
* Missing values (NA) are reported and excluded, never zero-filled: those units keep a row with
  label ``"NA"`` and a reason, and the weights are built on (or restricted to) the units that have
  a value.
* Units left without a neighbour are labelled ``"isolated"`` with a reason; they stay in the
  sample (as in esda and GeoDa) but get no local statistic and are not part of the FDR family.
* Local p-values come from esda's conditional-randomisation engine (``esda.crand.crand``) run with
  the statistic function of the corresponding esda class and an explicit ``seed``: with
  ``alternative="directed"`` they are identical to ``esda.Moran_Local(..., seed=seed).p_sim``
  (esda 2.9's classes do not expose ``alternative``, and always use ``"directed"``).
* Benjamini–Hochberg adjusted p-values (``p_fdr``) are computed over the tested units; labels use
  ``p_fdr`` when ``fdr=True``, ``p_sim`` otherwise.
* Global permutation tests use NumPy's global generator (esda has no ``seed=`` for them): it is
  seeded with ``seed`` for the call and restored afterwards. Join counts draw their permutations
  from it exactly as ``esda.Join_Counts`` does, so a seed gives esda's results.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError
from acv_geo.core.files import FALSE_WORDS, TRUE_WORDS
from acv_geo.core.metadata import attach_metadata

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from libpysal.graph import Graph

    from acv_geo.stats.weights import WeightsResult

__all__ = [
    "ALTERNATIVES",
    "LEVELS",
    "LOCAL_COLUMNS",
    "METHODS",
    "JoinCountsResult",
    "LocalResult",
    "MoranResult",
    "benjamini_hochberg",
    "france_communes",
    "join_counts",
    "local_clusters",
    "morans_i",
]

METHODS = ("lisa", "gi_star", "join_count")
LEVELS = ("commune", "epci")
ALTERNATIVES = ("two-sided", "greater", "lesser", "directed", "folded")
AGGREGATES = ("mean", "sum", "min", "max", "any")
#: Columns of :meth:`LocalResult.to_frame` (a contract: other modules rely on these names).
LOCAL_COLUMNS = ["value", "statistic", "quadrant", "p_sim", "p_fdr", "label", "reason"]
_QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def benjamini_hochberg(p_values: Any) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (step-up false discovery rate), NaN-aware.

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
    """
    p = np.asarray(p_values, dtype="float64")
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")
    ranked = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; expected one of {', '.join(map(repr, allowed))}")
    return value


def _check_seed(seed: Any) -> int:
    if seed is None:
        return secrets.randbelow(2**32)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed={seed!r} must be an integer between 0 and 2**32 - 1 (or None for a random one)")
    return int(seed)


def _check_permutations(permutations: Any, minimum: int) -> int:
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) or permutations < minimum:
        raise ValueError(f"permutations={permutations!r} must be an integer >= {minimum}")
    return int(permutations)


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator (which esda uses) and restore it afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _esda_version() -> str:
    import esda

    return str(getattr(esda, "__version__", "?"))


def _to_float(series: pd.Series, variable: str) -> pd.Series:
    """Values as float64 with NaN for missing; booleans become 1/0."""
    s = series
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(s.astype("Float64").to_numpy(dtype="float64", na_value=np.nan), index=s.index)
    if pd.api.types.is_numeric_dtype(s.dtype):
        out = pd.Series(pd.array(s, dtype="Float64").to_numpy(dtype="float64", na_value=np.nan), index=s.index)
    else:
        def conv(v: Any) -> float | None:
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
                return np.nan
            if isinstance(v, (bool, np.bool_)):
                return float(v)
            if isinstance(v, (int, float, np.integer, np.floating)):
                return float(v)
            t = str(v).strip().lower()
            if t == "":
                return np.nan
            if t in TRUE_WORDS:
                return 1.0
            if t in FALSE_WORDS:
                return 0.0
            try:
                return float(t.replace(",", "."))
            except ValueError:
                return None

        conv_values = [conv(v) for v in s.tolist()]
        bad = [i for i, v in zip(s.index, conv_values, strict=True) if v is None]
        if bad:
            raise InputError(
                f"column {variable!r} is not numeric: rows {', '.join(map(str, bad[:10]))} hold "
                f"{[s.loc[b] for b in bad[:3]]}; give a numeric or yes/no column"
            )
        out = pd.Series(conv_values, index=s.index, dtype="float64")
    inf = np.isinf(out.to_numpy())
    if inf.any():
        raise InputError(
            f"column {variable!r} has infinite values at {', '.join(map(str, out.index[inf][:10]))}; "
            "replace them with NA or a finite value"
        )
    return out


def _variable_values(df: pd.DataFrame, variable: str) -> pd.Series:
    if not isinstance(variable, str) or variable not in df.columns:
        usable = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])]
        raise InputError(
            f"variable {variable!r} is not a column of the cities; numeric or yes/no columns are: "
            f"{', '.join(map(str, usable)) or '(none)'}; pass variable= one of them"
        )
    return _to_float(df[variable], variable)


def _check_variation(values: pd.Series, variable: str, what: str) -> None:
    valid = values.dropna()
    if len(valid) == 0:
        raise InputError(
            f"variable {variable!r} is NA for every {what} ({len(values)}); nothing to analyse: fill the "
            "column (for opendata: derive it with acv_geo.opendata_status) or choose another variable"
        )
    if valid.nunique() < 2:
        raise InputError(
            f"variable {variable!r} is constant (every {what} with a value has {valid.iloc[0]:g}, "
            f"{len(valid)} of {len(values)}); spatial autocorrelation is undefined: choose a variable that varies"
        )
    if len(valid) < 3:
        raise InputError(
            f"variable {variable!r} has a value for only {len(valid)} {what}(s); at least 3 are needed"
        )


def _check_binary(values: pd.Series, variable: str) -> None:
    vals = set(values.dropna().unique().tolist())
    if not vals <= {0.0, 1.0}:
        shown = sorted(vals - {0.0, 1.0})[:5]
        raise InputError(
            f"join counts need a yes/no (0/1) variable; column {variable!r} has other values {shown}; "
            "use method='lisa' or 'gi_star' (or morans_i) for continuous indicators, or binarise it"
        )


# --------------------------------------------------------------------------------------------
# preparing units, values and weights
# --------------------------------------------------------------------------------------------


@dataclass
class _Prepared:
    units: Any  # GeoDataFrame indexed by insee_com or siren_epci
    values: pd.Series  # float, NaN = NA, aligned with units
    na_reason: pd.Series  # reason text for NA units
    graph: Any  # binary Graph over the valid ids
    spec: str
    weights: Any  # WeightsResult or None
    notes: list[str]
    id_name: str


def _read_polygons(polygons: Any, key: str) -> Any:
    import geopandas as gpd

    if isinstance(polygons, (str, os.PathLike)):
        path = Path(polygons)
        if not path.exists():
            raise FileNotFoundError(f"{path}: polygon file not found")
        polygons = gpd.read_file(path)
    if not isinstance(polygons, gpd.GeoDataFrame):
        raise InputError(f"polygons must be a GeoDataFrame or a file path, got {type(polygons).__name__}")
    if polygons.index.name != key:
        if key not in polygons.columns:
            raise InputError(f"polygons have no {key!r} column or index; give a layer keyed by {key}")
        polygons = polygons.set_index(key)
    from acv_geo.core.codes import normalize_insee, normalize_siren

    norm = normalize_insee if key == "insee_com" else normalize_siren
    idx = norm(pd.Series(polygons.index.astype(object), index=polygons.index))
    polygons = polygons.copy()
    polygons.index = pd.Index(idx.to_numpy(dtype=object), name=key)
    polygons = polygons[polygons.index.notna() & ~polygons.index.duplicated()]
    return polygons


def _commune_units(cities: Any, spec_kind: str | None, polygons: Any, territory_column: str) -> Any:
    """Units at commune level: the cities, with polygons swapped in for contiguity."""
    import geopandas as gpd

    if not isinstance(cities, gpd.GeoDataFrame):
        raise InputError(
            f"cities must be a GeoDataFrame (got {type(cities).__name__}); read them with acv_geo.read_acv()"
        )
    if spec_kind not in ("queen", "rook"):
        return cities
    geom = cities.geometry
    is_poly = geom.notna() & geom.geom_type.isin(["Polygon", "MultiPolygon"])
    if is_poly.all():
        return cities
    if polygons is None:
        from acv_geo.read.communes import read_communes

        polygons = read_communes()
    polys = _read_polygons(polygons, "insee_com").to_crs(cities.crs or 4326)
    geo = polys.geometry.reindex(cities.index)
    out = gpd.GeoDataFrame(
        cities.drop(columns=cities.geometry.name), geometry=geo.to_numpy(), crs=polys.crs
    )
    if territory_column not in out.columns and "territory" in polys.columns:
        out[territory_column] = polys["territory"].reindex(cities.index).to_numpy()
    return out


def _epci_units(
    cities: pd.DataFrame, variable: str, values: pd.Series, epci: Any, aggregate: str | None
) -> tuple[Any, pd.Series, pd.Series, list[str]]:
    """Aggregate city values to their EPCI; units are EPCI polygons indexed by siren_epci."""
    import geopandas as gpd

    from acv_geo.core.codes import normalize_siren

    if "siren_epci" not in cities.columns:
        raise InputError(
            "level='epci' needs a 'siren_epci' column in the cities; read them with acv_geo.read_acv()"
        )
    notes: list[str] = []
    siren = normalize_siren(cities["siren_epci"].astype(object))
    no_epci = siren.isna()
    if no_epci.any():
        notes.append(
            f"{int(no_epci.sum())} cit(ies) have no EPCI and are left out of the EPCI level: "
            + ", ".join(map(str, cities.index[no_epci.to_numpy()][:20]))
        )
    is_bool = pd.api.types.is_bool_dtype(cities[variable].dtype)
    if variable == "opendata" and "opendata_epci" in cities.columns and aggregate is None:
        vals = _to_float(cities["opendata_epci"], "opendata_epci")
        how = "opendata_epci"
    else:
        vals = values
        how = aggregate or ("any" if is_bool or set(values.dropna().unique()) <= {0.0, 1.0} else "mean")
        _choice("aggregate", how, AGGREGATES)
    frame = pd.DataFrame({"siren_epci": siren.to_numpy(), "v": vals.to_numpy(), "city": cities.index.to_numpy()})
    frame = frame[frame["siren_epci"].notna()]
    groups = frame.groupby("siren_epci", sort=False)
    if how in ("opendata_epci", "any", "max"):
        agg = groups["v"].max()
    else:
        agg = groups["v"].agg(how, skipna=True) if how != "sum" else groups["v"].sum(min_count=1)
    cities_of = groups["city"].agg(lambda s: ",".join(s))
    n_cities = groups["city"].size()
    if epci is None:
        from acv_geo.read.communes import read_epci

        epci = read_epci()
    polys = _read_polygons(epci, "siren_epci")
    missing = [s for s in agg.index if s not in polys.index]
    if missing:
        who = ", ".join(f"{s} (cities {cities_of[s]})" for s in missing[:10])
        raise InputError(
            f"{len(missing)} EPCI(s) of the cities have no polygon in the EPCI layer: {who}; pass "
            "epci= a layer holding them (acv_geo.read_epci() for the 2025 EPCIs) or fix siren_epci"
        )
    sub = polys.loc[list(agg.index)]
    units = gpd.GeoDataFrame(
        {
            "nom_epci": sub["nom_epci"].to_numpy() if "nom_epci" in sub.columns else None,
            "territory": sub["territory"].to_numpy() if "territory" in sub.columns else None,
            "n_cities": n_cities.to_numpy(),
            "cities": cities_of.to_numpy(),
        },
        geometry=sub.geometry.to_numpy(),
        crs=polys.crs,
        index=pd.Index(list(agg.index), name="siren_epci"),
    )
    if units["territory"].isna().any():
        from acv_geo.core.territories import territory_of

        first_city = cities_of.str.split(",").str[0]
        units["territory"] = [territory_of(c) for c in first_city]
    out_values = pd.Series(agg.to_numpy(dtype="float64"), index=units.index)
    reason = pd.Series(
        [f"no value for {variable!r} in any of its cities ({c})" for c in cities_of], index=units.index
    )
    notes.append(
        f"level='epci': {len(units)} EPCIs; value = "
        + (
            "whether the EPCI itself publishes open data (opendata_epci)"
            if how == "opendata_epci"
            else f"{how} of the {variable!r} values of its cities"
        )
    )
    return units, out_values, reason, notes


def _prepare(
    cities: Any,
    variable: str,
    *,
    level: str,
    weights: Any,
    epci: Any,
    polygons: Any,
    aggregate: str | None,
    territory_column: str,
) -> _Prepared:
    from libpysal.graph import Graph

    from acv_geo.stats.weights import WeightsResult, parse_weights_spec, spatial_weights

    _choice("level", level, LEVELS)
    if not isinstance(cities, pd.DataFrame):
        raise InputError(
            f"cities must be a GeoDataFrame, got {type(cities).__name__}; read them with acv_geo.read_acv()"
        )
    if len(cities) == 0:
        raise InputError("cities is empty; pass at least three cities")
    if cities.index.has_duplicates:
        dup = ", ".join(map(str, cities.index[cities.index.duplicated()].unique()[:10]))
        raise InputError(f"duplicate ids in the cities index: {dup}; each city must appear once")
    if isinstance(weights, str):
        kind, _ = parse_weights_spec(weights)
    elif isinstance(weights, (WeightsResult, Graph)):
        kind = None
    else:
        raise ValueError(
            f"weights={weights!r} must be a spec string ('knn:K', 'distance:METERS', 'queen', 'rook'), "
            "an acv_geo.stats.weights.WeightsResult or a libpysal.graph.Graph"
        )
    values = _variable_values(cities, variable)
    notes: list[str] = []
    if level == "commune":
        units = _commune_units(cities, kind, polygons, territory_column) if kind is not None else cities
        what = "city"
        reason_text = f"no value for {variable!r} (NA): excluded from the analysis, not zero-filled"
        na_reason = pd.Series(reason_text, index=cities.index, dtype=object)
        if variable == "opendata" and "opendata_reason" in cities.columns:
            extra = cities["opendata_reason"].astype(object)
            na_reason = na_reason.where(extra.isna(), na_reason + " (" + extra.astype(str) + ")")
    else:
        units, values, na_reason, ep_notes = _epci_units(cities, variable, values, epci, aggregate)
        notes += ep_notes
        what = "EPCI"
    _check_variation(values, variable, what)
    valid = values.notna().to_numpy()
    valid_ids = list(units.index[valid])
    if (~valid).any():
        notes.append(
            f"{int((~valid).sum())} {what}(s) have no value for {variable!r} and are excluded (label 'NA'): "
            + ", ".join(map(str, units.index[~valid][:20]))
            + (" ..." if (~valid).sum() > 20 else "")
        )
    wres = None
    if isinstance(weights, str):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            wres = spatial_weights(units.loc[valid_ids], weights, territory_column=territory_column)
        for w in caught:
            warnings.warn(str(w.message), w.category, stacklevel=3)
        graph = wres.graph
        spec = wres.spec
        notes += list(wres.warnings)
    else:
        given = weights.graph if isinstance(weights, WeightsResult) else weights
        spec = weights.spec if isinstance(weights, WeightsResult) else "custom graph"
        wres = weights if isinstance(weights, WeightsResult) else None
        ids = pd.Index(given.unique_ids)
        missing = [i for i in valid_ids if i not in ids]
        if missing:
            raise InputError(
                f"the weights have no node for {len(missing)} unit(s): {', '.join(map(str, missing[:10]))}; "
                "build them on the same units (acv_geo.spatial_weights(cities, ...))"
            )
        graph = given if len(ids) == len(valid_ids) else given.subgraph(valid_ids)
        if graph.transformation.upper() != "B":
            graph = graph.transform("B")
    return _Prepared(
        units=units,
        values=values,
        na_reason=na_reason,
        graph=graph,
        spec=spec,
        weights=wres,
        notes=notes,
        id_name=units.index.name or ("insee_com" if level == "commune" else "siren_epci"),
    )


# --------------------------------------------------------------------------------------------
# global statistics
# --------------------------------------------------------------------------------------------


class _JsonMixin:
    def to_dict(self) -> dict:
        """Attributes as a plain JSON-serialisable dict.

        Returns
        -------
        dict
            Every attribute; NaN becomes ``None``.
        """
        out = {}
        for k, v in asdict(self).items():  # type: ignore[call-overload]
            if isinstance(v, (np.floating, float)):
                v = None if np.isnan(v) else float(v)
            elif isinstance(v, np.integer):
                v = int(v)
            elif isinstance(v, tuple):
                v = list(v)
            out[k] = v
        return out

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON (UTF-8), atomically.

        Parameters
        ----------
        path : str or path-like
            Destination ``.json`` file.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        from acv_geo.core.files import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return Path(path)


@dataclass(frozen=True)
class JoinCountsResult(_JsonMixin):
    """Global join counts of a yes/no variable (esda.Join_Counts's statistics and permutations).

    Attributes
    ----------
    variable, level, weights : str
        What was analysed, at which level, with which weights spec.
    n, n_black : int
        Units with a value; units in class 1 ("black", e.g. publishing open data).
    joins : float
        Number of joins J (half the sum of binary weights; esda's convention for asymmetric knn).
    bb, bw, ww : float
        Observed joins 1–1, 1–0, 0–0.
    expected_bb, expected_bw, expected_ww : float
        Expectations under random assignment without replacement (non-free sampling).
    mean_bb_sim, mean_bw_sim, mean_ww_sim : float
        Means over the permutations.
    p_sim_bb, p_sim_bw : float
        One-sided permutation p-values (more BB, more BW joins than by chance).
    chi2, chi2_p, chi2_dof : float
        χ² test of the 2×2 join table; ``p_sim_chi2`` its permutation p-value.
    permutations, seed : int
        Inference settings.
    """

    variable: str
    level: str
    weights: str
    n: int
    n_black: int
    joins: float
    bb: float
    bw: float
    ww: float
    expected_bb: float
    expected_bw: float
    expected_ww: float
    mean_bb_sim: float
    mean_bw_sim: float
    mean_ww_sim: float
    p_sim_bb: float
    p_sim_bw: float
    chi2: float
    chi2_p: float
    chi2_dof: float
    p_sim_chi2: float
    permutations: int
    seed: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class MoranResult(_JsonMixin):
    """Global Moran's I (esda.Moran, row-standardised weights).

    Attributes
    ----------
    variable, level, weights : str
        What was analysed, at which level, with which weights spec.
    n : int
        Units with a value.
    I : float
        Moran's I.
    expected : float
        ``-1 / (n - 1)``.
    z_norm, p_norm, z_rand, p_rand : float
        Analytical z and two-sided p under normality and randomisation.
    p_sim, mean_sim, z_sim, p_z_sim : float
        Permutation p-value (esda's folded pseudo p), mean of the permuted I, z and p of I
        against them (NaN when ``permutations=0``).
    permutations, seed : int
        Inference settings.
    """

    variable: str
    level: str
    weights: str
    n: int
    I: float  # noqa: E741
    expected: float
    z_norm: float
    p_norm: float
    z_rand: float
    p_rand: float
    p_sim: float
    mean_sim: float
    z_sim: float
    p_z_sim: float
    permutations: int
    seed: int
    warnings: tuple[str, ...] = ()


def _valid_arrays(prep: _Prepared) -> tuple[np.ndarray, Any]:
    ids = list(prep.graph.unique_ids)
    y = prep.values.reindex(ids).to_numpy(dtype="float64")
    return y, prep.graph


# Join counts, all permutations at once.
#
# esda 2.9's Join_Counts draws ``np.random.permutation(y)`` once per permutation from NumPy's global
# generator and looks every join's two labels up in a pandas Series: with pandas 3 that costs about
# 1.8 ms per permutation (18 s of the 9,999 permutations of `acv-geo diagnose`). The functions below
# draw the very same permutations (``np.random.shuffle`` of a copy of y, one after the other, as
# ``np.random.permutation`` does) and count the joins of a whole chunk of permutations with NumPy.
# Every count is an integer, so BB, BW, WW and their means are exactly esda's; the Yates-corrected
# χ² of every table repeats scipy's chi2_contingency operation by operation (esda calls scipy once
# per permutation), checked against scipy at run time, so χ² values, the admissibility of a
# permutation (esda redraws one whose table has an expected count of 0) and the pseudo p-values
# are esda's bit for bit. Differences, where esda is wrong: a join is a pair of distinct units with
# a non-zero weight (esda also counts explicit zero-weight edges, though its J leaves them out, and
# self-loops, joining a unit to itself, so that its BB + BW + WW != J).

#: Elements of one chunk's (permutations × joins) arrays, to bound memory (int8: 16 MiB each).
_JC_CHUNK_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class _JoinCountsCore:
    """Global join counts of a 0/1 vector and their permutation distribution (see `_join_counts_core`)."""

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


def _join_edges(graph: Any) -> tuple[np.ndarray, np.ndarray]:
    """Directed joins of a Graph as positions in ``graph.unique_ids``: non-zero weight, no self-loop.

    A symmetric graph lists each join twice (i→j and j→i), as esda's adjacency list does, and every
    count is halved; in an asymmetric one (k nearest neighbours) an edge i→j whose converse j→i is
    absent thus counts as half a join, again as in esda.
    """
    adj = graph.adjacency
    ids = pd.Index(graph.unique_ids)
    focal = ids.get_indexer(adj.index.get_level_values(0))
    neighbor = ids.get_indexer(adj.index.get_level_values(1))
    keep = (adj.to_numpy() != 0) & (focal != neighbor)
    return focal[keep].astype(np.intp), neighbor[keep].astype(np.intp)


def _directed_tables(
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


def _chi2_tables(tables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Yates-corrected χ² of 2×2 join tables, with scipy's chi2_contingency's operations in its order.

    ``tables`` holds directed counts ``(ww, wb, bw, bb)`` per row; esda's table is
    ``[[ww, wb], [bw, bb]] / 2``. Returns ``(admissible, chi2)``: a table with an expected count of
    0 is inadmissible (scipy raises there, and esda draws another permutation). Each step is the
    same IEEE operation as in scipy (margins and total are exact sums of half-integers), so the
    values are scipy's bit for bit; `_chi2_check` verifies that at run time.
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


def _scipy_chi2(table: np.ndarray) -> tuple[float, float, int] | None:
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


def _chi2_check(tables: np.ndarray, stat: np.ndarray, *, exact: bool = False, sample: int = 16) -> np.ndarray:
    """χ² of every table (``stat`` from `_chi2_tables`), checked against scipy on ``sample`` distinct tables.

    Should a future scipy or NumPy compute them otherwise (another formula or summation order), or
    when ``exact`` is true, every distinct table is computed by scipy instead: slower, still esda's
    values.
    """

    def same(i: int) -> bool:
        ref = _scipy_chi2(tables[i])
        return ref is not None and (ref[0] == stat[i] or (np.isnan(ref[0]) and np.isnan(stat[i])))

    uniq, first, inverse = np.unique(tables, axis=0, return_index=True, return_inverse=True)
    picks = first[np.unique(np.linspace(0, len(uniq) - 1, min(sample, len(uniq))).astype(int))]
    if not exact and all(same(int(i)) for i in picks):
        return stat
    values = np.array([np.nan if r is None else r[0] for r in map(_scipy_chi2, uniq)])
    return values[np.asarray(inverse).reshape(-1)]


def _join_counts_core(y: Any, graph: Any, permutations: int) -> _JoinCountsCore:
    """Join counts of ``y`` (0/1, aligned with ``graph.unique_ids``) with ``permutations`` permutations.

    Draws its permutations from NumPy's global generator exactly as ``esda.Join_Counts`` does (seed
    it first), discarding and redrawing, like esda, a permutation whose 2×2 table has an expected
    count of 0. Islands stay in ``y`` and are permuted like every unit; they simply have no join.

    Raises
    ------
    acv_geo.InputError
        If the observed table has an expected count of 0 (no join touches one of the classes):
        esda raises scipy's ValueError there.
    """
    yb = np.asarray(y, dtype="float64").reshape(-1)
    n = len(yb)
    if n != graph.n:
        raise ValueError(f"y has {n} values but the graph has {graph.n} units")
    if not np.isin(yb, (0.0, 1.0)).all():
        raise ValueError("join counts need a 0/1 variable")
    y8 = yb.astype(np.int8)
    focal, neighbor = _join_edges(graph)
    out_deg = np.bincount(focal, minlength=n).astype(np.int64)
    in_deg = np.bincount(neighbor, minlength=n).astype(np.int64)
    n_edges = len(focal)
    obs = _directed_tables(y8[None, :], focal, neighbor, out_deg, in_deg)[0]
    ww, wb, bw, bb = (float(v) / 2.0 for v in obs)
    observed = _scipy_chi2(obs)
    if observed is None:
        raise InputError(
            f"join counts are undefined: the 2×2 table of joins (ww={ww:g}, wb={wb:g}, bw={bw:g}, bb={bb:g}) "
            f"has an empty row or column: no join starts from, or none reaches, one of the classes "
            f"({n_edges / 2:g} joins among {n} units, {int(y8.sum())} in class 1); use weights that connect "
            "the units of both classes (e.g. knn instead of contiguity)"
        )
    base = dict(
        n=n,
        n_black=int(y8.sum()),
        joins=n_edges / 2.0,
        bb=bb,
        bw=bw + wb,
        ww=ww,
        chi2=observed[0],
        chi2_p=observed[1],
        chi2_dof=observed[2],
        permutations=int(permutations),
    )
    if not permutations:
        return _JoinCountsCore(draws=0, **base)
    rows = max(1, _JC_CHUNK_ELEMENTS // max(n_edges, n, 1))
    kept: list[np.ndarray] = []
    kept_stat: list[np.ndarray] = []
    accepted = draws = 0
    while accepted < permutations:
        m = min(rows, permutations - accepted)  # never more than still needed: esda's exact draws
        ys = np.empty((m, n), dtype=np.int8)
        for k in range(m):
            ys[k] = y8
            np.random.shuffle(ys[k])  # = np.random.permutation(y): same draws, no copy
        draws += m
        tables = _directed_tables(ys, focal, neighbor, out_deg, in_deg)
        admissible, stat = _chi2_tables(tables)
        kept.append(tables[admissible])
        kept_stat.append(stat[admissible])
        accepted += int(admissible.sum())
    tables = np.concatenate(kept)
    # the observed table is computed by scipy: a simulated copy of it must tie with it exactly
    exact = _chi2_tables(obs[None, :])[1][0] != observed[0]
    stat = _chi2_check(tables, np.concatenate(kept_stat), exact=bool(exact))
    half = tables.astype("float64") / 2.0
    return _JoinCountsCore(
        draws=draws,
        sim_bb=half[:, 3],
        sim_bw=half[:, 2] + half[:, 1],
        sim_ww=half[:, 0],
        sim_chi2=stat,
        **base,
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
        or prebuilt weights (restricted to those units).
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
    """
    permutations = _check_permutations(permutations, 0)
    seed = _check_seed(seed)
    prep = _prepare(
        cities, variable, level=level, weights=weights, epci=epci, polygons=polygons, aggregate=None,
        territory_column=territory_column,
    )
    _check_binary(prep.values, variable)
    y, g = _valid_arrays(prep)
    with _seeded(seed):
        jc = _join_counts_core(y, g, permutations)
    n, n1 = jc.n, jc.n_black
    n0 = n - n1
    big_j = jc.joins
    pair = n * (n - 1)
    nan = float("nan")
    if permutations:
        sims = (float(np.mean(jc.sim_bb)), float(np.mean(jc.sim_bw)), float(np.mean(jc.sim_ww)))
        ps = (jc.p_sim(jc.sim_bb, jc.bb), jc.p_sim(jc.sim_bw, jc.bw), jc.p_sim(jc.sim_chi2, jc.chi2))
    else:
        sims, ps = (nan, nan, nan), (nan, nan, nan)
    return JoinCountsResult(
        variable=variable,
        level=level,
        weights=prep.spec,
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
        permutations=permutations,
        seed=seed,
        warnings=tuple(prep.notes),
    )


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
    """
    permutations = _check_permutations(permutations, 0)
    seed = _check_seed(seed)
    prep = _prepare(
        cities, variable, level=level, weights=weights, epci=epci, polygons=polygons, aggregate=aggregate,
        territory_column=territory_column,
    )
    y, g = _valid_arrays(prep)
    import esda

    with _seeded(seed), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mi = esda.Moran(y, g, transformation="r", permutations=permutations)
    nan = float("nan")
    return MoranResult(
        variable=variable,
        level=level,
        weights=prep.spec,
        n=len(y),
        I=float(mi.I),
        expected=float(mi.EI),
        z_norm=float(mi.z_norm),
        p_norm=float(mi.p_norm),
        z_rand=float(mi.z_rand),
        p_rand=float(mi.p_rand),
        p_sim=float(mi.p_sim) if permutations else nan,
        mean_sim=float(mi.EI_sim) if permutations else nan,
        z_sim=float(mi.z_sim) if permutations else nan,
        p_z_sim=float(mi.p_z_sim) if permutations else nan,
        permutations=permutations,
        seed=seed,
        warnings=tuple(prep.notes),
    )


# --------------------------------------------------------------------------------------------
# local statistics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalResult(_JsonMixin):
    """Local cluster statistics, one row per input unit.

    Attributes
    ----------
    method : str
        ``"lisa"``, ``"gi_star"`` or ``"join_count"``.
    variable, level, weights : str
        What was analysed, at which level (``"commune"``: rows are cities indexed by
        ``insee_com``; ``"epci"``: rows are EPCIs indexed by ``siren_epci``), with which weights.
    permutations, seed : int
        Conditional-permutation settings (the seed actually used).
    alpha : float
        Significance level of the labels.
    alternative : str
        Alternative hypothesis of the permutation p-values.
    fdr : bool
        Whether labels use the Benjamini–Hochberg adjusted p-values.
    n, n_tested, n_na : int
        Rows; units that got a local p-value; units with NA values.
    islands : tuple of str
        Units with no neighbour among the units that have a value.
    recoded : bool
        join_count only: the variable was recoded ``1 - y`` so that class 1 is the minority.
    focus : str
        What the statistic looks for (e.g. ``"class 1 = opendata is 1 (111 of 244)"``).
    counts : dict
        Number of rows per label.
    warnings : tuple of str
        Fallbacks and exclusions applied.
    esda_version : str
        Version of esda that computed the statistics.
    """

    method: str
    variable: str
    level: str
    weights: str
    permutations: int
    seed: int
    alpha: float
    alternative: str
    fdr: bool
    n: int
    n_tested: int
    n_na: int
    islands: tuple[str, ...]
    recoded: bool
    focus: str
    counts: dict
    warnings: tuple[str, ...]
    esda_version: str
    frame: pd.DataFrame = field(repr=False, compare=False)
    weights_result: Any = field(default=None, repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """The per-unit table, with indicator metadata attached.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``insee_com`` (or ``siren_epci`` at EPCI level), all input units in input
            order, columns ``value, statistic, quadrant, p_sim, p_fdr, label, reason``.
        """
        out = self.frame.copy()
        out.attrs = {}
        src = f"acv-geo clusters (esda {self.esda_version}), weights {self.weights}"
        stat_desc = {
            "lisa": "Local Moran's I (row-standardised weights)",
            "gi_star": "Getis-Ord Gi* (row-standardised weights with self-weight)",
            "join_count": "Local join count: number of class-1 neighbours of a class-1 unit",
        }[self.method]
        quad_desc = {
            "lisa": "LISA quadrant of value and spatial lag: HH, LH, LL, HL",
            "gi_star": "direction: hot (above expectation) or cold",
            "join_count": "BB when the unit and at least one neighbour are in class 1",
        }[self.method]
        sig = "p_fdr" if self.fdr else "p_sim"
        rows = [
            ("value", "", f"value of {self.variable!r} (yes = 1, no = 0; NA kept as NA)"),
            ("statistic", "", stat_desc),
            ("quadrant", "", quad_desc),
            ("p_sim", "", f"pseudo p-value, {self.permutations} conditional permutations, seed {self.seed}, "
             f"alternative {self.alternative}"),
            ("p_fdr", "", "Benjamini-Hochberg adjusted p-value over the tested units"),
            ("label", "", f"cluster label at alpha = {self.alpha} on {sig}"),
            ("reason", "", "why a unit has no statistic (NA value, no neighbour, not in class 1)"),
        ]
        return attach_metadata(
            out,
            [{"column": c, "unit": u, "source": src, "date": "", "description": d} for c, u, d in rows],
        )

    def to_dict(self) -> dict:
        """Settings and summary (not the per-unit table) as a JSON-serialisable dict.

        Returns
        -------
        dict
            Every attribute except the table and the weights object.
        """
        out = {}
        for k in self.__dataclass_fields__:
            if k in ("frame", "weights_result"):
                continue
            v = getattr(self, k)
            out[k] = list(v) if isinstance(v, tuple) else v
        return out


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


def _crand_p(
    z: np.ndarray,
    w: Any,
    observed: np.ndarray,
    *,
    permutations: int,
    n_jobs: int,
    stat_func: Any,
    scaling: float | None,
    seed: int,
    alternative: str,
) -> np.ndarray:
    """Run esda's conditional randomisation; pseudo p-values restored to exact float64.

    ``"two-sided"`` is the doubled one-sided p-value, ``min(1, 2 · min(P(sim ≥ obs), P(sim ≤ obs)))``,
    from two runs with the same seed (so the same permutations). esda 2.9's own "two-sided" counts
    every simulation tied with the extremes as outside: for a yes/no variable (heavily tied
    simulations) its smallest attainable p-value is about 0.16, so no unit could ever be significant.
    ``w`` is the statistic's Graph (or W); its sparse matrix is built once and each run gets a copy
    (see `_CrandWeights`).
    """
    from esda.crand import crand

    matrix = w.sparse
    # Ties: for a yes/no variable a permutation often reproduces the observed statistic exactly,
    # but esda sums it in another order, so `sim >= obs` may fail by one ulp and the tie be lost
    # (an overseas town with 4 non-publishing neighbours got p = 1/(P+1) instead of ~0.17).
    # The one-sided runs count simulations within 1e-9 (relative) of the observed value as ties.
    tol = 1e-9 * np.maximum(1.0, np.abs(observed))

    def run(alt: str) -> np.ndarray:
        obs = observed - tol if alt == "greater" else observed + tol if alt == "lesser" else observed
        with _seeded(seed):
            p32, _ = crand(
                z,
                _CrandWeights(matrix),
                obs,
                permutations,
                False,
                n_jobs,
                stat_func,
                scaling=scaling,
                seed=seed,
                island_weight=0,
                alternative=alt,
            )
        # crand stores p in float32: recover the integer count (exact), then divide in float64.
        counts = np.rint(np.asarray(p32, dtype="float64") * (permutations + 1))
        return counts / (permutations + 1.0)

    if alternative == "two-sided":
        return np.minimum(1.0, 2.0 * np.minimum(run("greater"), run("lesser")))
    return run(alternative)


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
        units (neighbours with NA are dropped).
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
    >>> res = acv_geo.local_clusters(acv_geo.read_acv(), "opendata", permutations=99)  # doctest: +SKIP
    >>> res.to_frame().label.value_counts()  # doctest: +SKIP
    """
    _choice("method", method, METHODS)
    _choice("alternative", alternative, ALTERNATIVES)
    _choice("level", level, LEVELS)
    permutations = _check_permutations(permutations, 1)
    seed = _check_seed(seed)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < float(alpha) < 1:
        raise ValueError(f"alpha={alpha!r} must be a number strictly between 0 and 1")
    if not isinstance(fdr, bool):
        raise ValueError(f"fdr={fdr!r} must be True or False")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs={n_jobs!r} must be a positive integer or -1")
    prep = _prepare(
        cities, variable, level=level, weights=weights, epci=epci, polygons=polygons, aggregate=aggregate,
        territory_column=territory_column,
    )
    notes = list(prep.notes)
    recoded = False
    focus = ""
    if method == "join_count":
        _check_binary(prep.values, variable)
        vals = prep.values.dropna()
        n1 = int((vals == 1).sum())
        if n1 > len(vals) - n1:
            recoded = True
            focus = (
                f"class 1 = {variable!r} is 0/False ({len(vals) - n1} of {len(vals)}): recoded 1 - y because "
                "the 1 class must be the minority for local join counts"
            )
            notes.append(focus)
        else:
            focus = f"class 1 = {variable!r} is 1/True ({n1} of {len(vals)})"
    elif method == "gi_star":
        neg = prep.values < 0
        if neg.any():
            raise InputError(
                f"Getis-Ord Gi* needs non-negative values; {variable!r} is negative for "
                f"{', '.join(map(str, prep.values.index[neg.to_numpy()][:10]))}; use method='lisa' or shift "
                "the variable"
            )
        focus = f"hot and cold spots of {variable!r}"
    else:
        focus = f"LISA quadrants of {variable!r}"

    y, g = _valid_arrays(prep)
    ids = list(g.unique_ids)
    isolates = set(g.isolates.tolist())
    is_island = np.array([i in isolates for i in ids])
    import esda

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "lisa":
            from esda.moran import _moran_local_crand

            ml = esda.Moran_Local(y, g, transformation="r", permutations=0)
            stat = np.asarray(ml.Is, dtype="float64")
            quad = np.array([_QUADRANTS[int(q)] for q in ml.q], dtype=object)
            p = _crand_p(
                ml.z, ml.w, ml.Is, permutations=permutations, n_jobs=n_jobs, stat_func=_moran_local_crand,
                scaling=None, seed=seed, alternative=alternative,
            )
            positive = np.ones(len(y), dtype=bool)
        elif method == "gi_star":
            from esda.getisord import _g_local_star_crand

            gl = esda.G_Local(y, g, transform="R", permutations=0, star=True)
            stat = np.asarray(gl.Gs, dtype="float64")
            quad = np.where(np.asarray(gl.Zs) > 0, "hot", "cold").astype(object)
            p = _crand_p(
                gl.y, gl.w, gl.Gs, permutations=permutations, n_jobs=n_jobs, stat_func=_g_local_star_crand,
                scaling=float(y.sum()), seed=seed, alternative=alternative,
            )
            positive = np.ones(len(y), dtype=bool)
        else:
            from esda.join_counts_local import _ljc_uni

            yy = (1.0 - y) if recoded else y.copy()
            wb = g.assign_self_weight(0).eliminate_zeros().transform("b")
            # esda 2.9's Join_Counts_Local._statistic drops islands and sorts by id, which misaligns
            # the statistic when ids are not sorted: compute LJC_i = y_i * sum_j w_ij y_j directly.
            stat = yy * np.asarray(wb.sparse @ yy, dtype="float64")
            p = _crand_p(
                yy, wb, stat, permutations=permutations, n_jobs=n_jobs, stat_func=_ljc_uni,
                scaling=None, seed=seed, alternative=alternative,
            )
            p[stat == 0] = np.nan
            card = np.asarray(wb.sparse.sum(axis=1)).ravel()
            n_1 = yy.sum()
            expected = yy * card * (n_1 - yy) / (len(yy) - 1)
            positive = stat > expected
            quad = np.where(stat > 0, "BB", None).astype(object)

    stat = stat.astype("float64").copy()
    stat[is_island] = np.nan
    p = np.asarray(p, dtype="float64").copy()
    p[is_island] = np.nan
    quad = quad.copy()
    quad[is_island] = None
    p_fdr = benjamini_hochberg(p)
    sig_p = p_fdr if fdr else p
    significant = (sig_p <= alpha) & ~np.isnan(sig_p)
    labels = np.full(len(y), "not significant", dtype=object)
    reasons = np.full(len(y), None, dtype=object)
    if method == "lisa":
        labels[significant] = quad[significant]
    elif method == "gi_star":
        labels[significant] = quad[significant]
    else:
        bb = significant & positive
        labels[bb] = "BB cluster"
        in_class = (1.0 - y if recoded else y) == 1
        reasons[(~in_class) & ~is_island] = "not in class 1: no BB join possible"
        reasons[in_class & (stat == 0) & ~is_island] = "in class 1 but no neighbour in class 1"
    labels[is_island] = "isolated"
    spec_txt = prep.spec
    for k, i in enumerate(ids):
        if is_island[k]:
            terr = None
            if prep.weights is not None:
                terr = prep.weights.territories.get(i)
            single = prep.weights is not None and any(
                c.n_units == 1 and i in c.islands for c in prep.weights.components
            )
            if single:
                reasons[k] = f"no neighbour: only unit of territory {terr} with a value"
            else:
                reasons[k] = f"no neighbour under {spec_txt} among the units with a value"

    frame = pd.DataFrame(
        {
            "value": prep.values.to_numpy(dtype="float64"),
            "statistic": np.nan,
            "quadrant": pd.Series([None] * len(prep.units), dtype=object).to_numpy(),
            "p_sim": np.nan,
            "p_fdr": np.nan,
            "label": "NA",
            "reason": prep.na_reason.reindex(prep.units.index).to_numpy(dtype=object),
        },
        index=pd.Index(list(prep.units.index), name=prep.id_name),
    )
    frame["label"] = frame["label"].astype(object)
    frame["quadrant"] = frame["quadrant"].astype(object)
    frame["reason"] = frame["reason"].astype(object)
    pos = frame.index.get_indexer(ids)
    frame.iloc[pos, frame.columns.get_loc("statistic")] = stat
    frame.iloc[pos, frame.columns.get_loc("p_sim")] = p
    frame.iloc[pos, frame.columns.get_loc("p_fdr")] = p_fdr
    for col, arr in (("quadrant", quad), ("label", labels), ("reason", reasons)):
        col_values = frame[col].to_numpy(dtype=object).copy()
        col_values[pos] = arr
        frame[col] = col_values
    counts = {str(k): int(v) for k, v in frame["label"].value_counts(sort=True).items()}
    return LocalResult(
        method=method,
        variable=variable,
        level=level,
        weights=spec_txt,
        permutations=permutations,
        seed=seed,
        alpha=float(alpha),
        alternative=alternative,
        fdr=fdr,
        n=len(frame),
        n_tested=int((~np.isnan(p)).sum()),
        n_na=int(prep.values.isna().sum()),
        islands=tuple(str(i) for i in np.asarray(ids, dtype=object)[is_island]),
        recoded=recoded,
        focus=focus,
        counts=counts,
        warnings=tuple(notes),
        esda_version=_esda_version(),
        frame=frame,
        weights_result=prep.weights,
    )


# --------------------------------------------------------------------------------------------
# every French commune
# --------------------------------------------------------------------------------------------


def france_communes(
    *,
    opendata: bool = True,
    observatory: str | os.PathLike = "odater_2022",
    polygons: Any = None,
) -> gpd.GeoDataFrame:
    """Every French commune (34,867), ready for :func:`local_clusters` beyond the ACV sample.

    :func:`acv_geo.read_all_communes` (representative points, open-data status from the
    observatory), with commune polygons swapped in when ``polygons`` is given (for queen/rook).

    Parameters
    ----------
    opendata : bool, default True
        Derive the open-data columns (``opendata``, ``opendata_com``, ``opendata_epci``, ...)
        from ``observatory``; False leaves them NA.
    observatory : str or path-like, default ``"odater_2022"``
        ODATER export passed to :func:`acv_geo.opendata_status`.
    polygons : geopandas.GeoDataFrame or path, optional
        Commune polygons keyed by ``insee_com`` (e.g. IGN ADMIN EXPRESS COG, the
        ``communes_cog2025.gpkg`` file). Communes absent from it keep their point
        (``geometry_source == "point"``); contiguity then names them: drop them or supply their
        polygons.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``insee_com``, EPSG:4326, the columns of :func:`acv_geo.read_all_communes` plus
        ``geometry_source`` (``"point"`` or ``"polygon"``).
    """
    import geopandas as gpd

    from acv_geo.read.communes import read_all_communes

    out = read_all_communes(observatory=observatory if opendata else None)
    out = out.to_crs(4326)
    out["geometry_source"] = "point"
    if polygons is not None:
        polys = _read_polygons(polygons, "insee_com").to_crs(4326)
        geo = polys.geometry.reindex(out.index)
        has = geo.notna().to_numpy() & ~geo.is_empty.fillna(True).to_numpy()
        new = out.geometry.to_numpy().copy()
        new[has] = geo.to_numpy()[has]
        out = out.set_geometry(gpd.GeoSeries(new, index=out.index, crs=4326))
        out.loc[has, "geometry_source"] = "polygon"
    return out
