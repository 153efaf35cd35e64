"""Composite exposure profile of the cities: risk, nature and open-data readiness.

:func:`exposure_profile` turns indicator tables (CatNat counts, radon class, zonal shares of
low-lying land, nature-area shares, open-data status…) into three sub-scores in [0, 1] and one
weighted composite score, then ranks the cities; :func:`rank_candidates` lists the best ranked.

How the scores are made
-----------------------
1. **Contributing columns.** Each indicator table says, in its metadata, the *role* of its source
   (``risk``, ``nature``, ``opendata`` or ``context``, see :data:`acv_geo.core.metadata.ROLES`) and
   which of its columns are *scored* (e.g. the share of the commune in a risk zone, not its area,
   count and distance as well): a sub-score takes the scored columns of its role, never a guess
   from column names. Columns without metadata count only if listed in :data:`PROFILE_COLUMNS`
   (the national indicators of :mod:`acv_geo.indicators.tables` and ``opendata_level``); ``columns=``
   overrides the choice. A column contributes only if it **covers the cities being
   compared**: it has a value for at least ``min_coverage`` of them (half, by default). A regional
   layer measured in 5 of 244 towns is left out (named in ``attrs["acv_geo_profile"]["excluded"]``),
   so it cannot rank the other 239 by the absence of data.
2. **Normalisation, per column.** A numeric column becomes its *percentile rank* in [0, 1] among
   the cities that have a value: ``(rank - 1) / (n - 1)`` with average ranks for ties (lowest value
   0, highest 1, every value equal → 0.5, a single city → 0.5). A boolean column counts as 0/1;
   ``opendata_level`` counts ``commune`` 1, ``epci`` 0.5, ``none`` 0.
3. **Sub-score** = mean of the city's normalised columns that are not missing; ``<NA>`` when the
   city has fewer than ``min_indicators`` of them (reported in ``profile_reason``).
   ``<s>_n_indicators`` says how many indicators each sub-score rests on.
4. **Composite** ``exposure_score`` = ``Σ wₛ·scoreₛ / Σ wₛ`` over the sub-scores the city has
   (weights renormalised over available sub-scores; the missing ones are named in
   ``profile_reason``). Default weights: :data:`DEFAULT_WEIGHTS`: the open-data readiness is
   computed and shown **beside** the exposure (``opendata_score``) but weighs 0 in it, so publishing
   data never makes a town look more exposed.
5. **rank**: 1 = highest composite (ties share the best rank); ``<NA>`` without composite.

A high composite marks a city where a risk/biodiversity diagnostic matters most: high past disaster
exposure and large nature stakes, among indicators measured for the cities compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from acv_geo.core.metadata import attach_metadata, described_columns, scored_columns

__all__ = ["DEFAULT_WEIGHTS", "PROFILE_COLUMNS", "SUBSCORES", "exposure_profile", "rank_candidates"]

#: Sub-scores, in output order.
SUBSCORES: tuple[str, ...] = ("risk", "nature", "opendata")

#: Default weights of the sub-scores in the composite (renormalised to sum to 1).
DEFAULT_WEIGHTS: dict[str, float] = {"risk": 0.6, "nature": 0.4, "opendata": 0.0}

#: Columns that contribute to each sub-score when their table carries no metadata (a table made by
#: hand); tables from acv-geo's functions say it in their metadata (``role``/``scored``).
#: Higher values always mean more exposure / more nature / more readiness.
PROFILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "risk": (
        "catnat_total_count",  # acv_geo.indicators.tables.catnat_indicators
        "radon_class",  # acv_geo.indicators.tables.radon_indicators
        "seismic_zone",  # acv_geo.indicators.tables.seismic_indicators
        "risks_known_count",  # acv_geo.indicators.tables.known_risks_indicators
    ),
    "nature": (),
    "opendata": ("opendata_level", "opendata"),
}

_LEVEL = {"commune": 1.0, "epci": 0.5, "none": 0.0}


def _check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    merged = dict(DEFAULT_WEIGHTS)
    if weights is None:
        return merged
    if not isinstance(weights, Mapping):
        raise ValueError(f"weights must be a dict such as {DEFAULT_WEIGHTS}, got {type(weights).__name__}")
    unknown = sorted(set(weights) - set(SUBSCORES))
    if unknown:
        raise ValueError(f"unknown weight key(s) {unknown}; allowed: {list(SUBSCORES)}")
    for k, v in weights.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not np.isfinite(v) or v < 0:
            raise ValueError(f"weight {k!r} must be a finite number >= 0, got {v!r}")
        merged[k] = float(v)
    if sum(merged.values()) <= 0:
        raise ValueError(f"weights {merged} sum to 0; give at least one positive weight")
    return merged


def _percentile_rank(values: pd.Series) -> pd.Series:
    """``(rank - 1) / (n - 1)`` with average ranks; 0.5 when n is 1 or all values tie."""
    x = pd.to_numeric(values, errors="coerce").astype("float64")
    n = int(x.notna().sum())
    r = x.rank(method="average")
    if n <= 1:
        return r.where(r.isna(), 0.5)
    return (r - 1) / (n - 1)


def _normalise(name: str, values: pd.Series) -> pd.Series:
    if name == "opendata_level":
        return (
            values.astype(object)
            .map(lambda v: _LEVEL.get(str(v).lower()) if isinstance(v, str) else np.nan)
            .astype("float64")
        )
    if pd.api.types.is_bool_dtype(values):
        return values.astype("Float64").astype("float64")
    return _percentile_rank(values)


def _contributing(
    spec: Mapping[str, Sequence[str]], tables: Sequence[pd.DataFrame], names: Sequence[str], overridden: set[str]
) -> dict[str, list[str]]:
    """Columns of each sub-score: given names, else scored columns of the role, else fallbacks."""
    described: set[str] = set().union(*(described_columns(t) for t in tables))
    out: dict[str, list[str]] = {}
    for s in SUBSCORES:
        if s in overridden:
            cols = [c for c in spec[s] if c in names]
        else:
            marked = {c for t in tables for c in scored_columns(t, s)}
            cols = [c for c in names if c in marked or (c in spec[s] and c not in described)]
        out[s] = list(dict.fromkeys(cols))
    return out


def exposure_profile(
    cities: pd.DataFrame,
    *indicator_tables: pd.DataFrame,
    weights: Mapping[str, float] | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
    min_coverage: float = 0.5,
    min_indicators: int = 1,
) -> pd.DataFrame:
    """Risk, nature and open-data sub-scores, weighted composite and rank of every city.

    See the module documentation for the exact normalisation.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com``; their own columns (e.g. ``opendata_level``) contribute.
    *indicator_tables : pandas.DataFrame
        Indicator tables indexed by ``insee_com`` (from :mod:`acv_geo.indicators.tables`,
        :mod:`acv_geo.indicators.zonal`…). Cities missing from a table count as missing values.
    weights : dict, optional
        Weights of ``risk``, ``nature``, ``opendata`` (non-negative); keys not given keep their
        :data:`DEFAULT_WEIGHTS`. Unknown keys raise ``ValueError``.
    columns : dict, optional
        Contributing columns (exact names) per sub-score, replacing the choice made from the
        metadata for the sub-scores given.
    min_coverage : float, default 0.5
        Share of the cities a column must have a value for to contribute (0 < x ≤ 1).
    min_indicators : int, default 1
        Indicators a city needs in a sub-score for that sub-score to have a value.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``cities``: ``risk_score``, ``nature_score``, ``opendata_score``,
        ``<s>_n_indicators`` (``Int64``), ``exposure_score`` (floats in [0, 1] or NaN), ``rank``
        (``Int64``) and ``profile_reason``. ``attrs["acv_geo_profile"]`` records the columns used,
        the columns excluded for low coverage, and the weights.

    Raises
    ------
    ValueError
        Unknown weight or sub-score key, negative weights, a table not indexed like the cities
        (duplicate codes), or no contributing column at all.

    Examples
    --------
    >>> idx = pd.Index(["01004", "38053", "73065"], name="insee_com")
    >>> t = pd.DataFrame({"catnat_total_count": [9, 3, 10]}, index=idx)
    >>> p = exposure_profile(pd.DataFrame(index=idx), t, weights={"nature": 0})
    >>> p["risk_score"].tolist(), p["rank"].tolist()
    ([0.5, 0.0, 1.0], [2, 3, 1])
    """
    w = _check_weights(weights)
    spec = _check_options(min_coverage, min_indicators, columns)
    if not isinstance(cities, pd.DataFrame):
        raise ValueError(f"cities must be a DataFrame indexed by insee_com, not {type(cities).__name__}")
    idx = cities.index
    data = _gather(cities, indicator_tables)
    contributing = _contributing(spec, [cities, *indicator_tables], list(data), set(columns or ()))
    used, excluded, scores, counts = _subscores(data, contributing, idx, columns is None, min_coverage, min_indicators)
    if not any(used.values()):
        raise ValueError(
            "no contributing column found for any sub-score; give tables such as "
            "catnat_indicators(cities) or cities with opendata_level (see acv_geo.indicators.profile.PROFILE_COLUMNS)"
        )
    sub = pd.DataFrame({f"{s}_score": scores[s].astype("float64") for s in SUBSCORES}, index=idx)
    n_ind = pd.DataFrame({f"{s}_n_indicators": counts[s].astype("Int64") for s in SUBSCORES}, index=idx)
    out = pd.concat([sub, n_ind], axis=1)
    avail = ~np.isnan(sub.to_numpy())
    out["exposure_score"] = _composite(sub.to_numpy(), w)
    out["rank"] = out["exposure_score"].rank(method="min", ascending=False).astype("Float64").astype("Int64")
    out["profile_reason"] = pd.array(_reasons(avail, w, used, min_indicators), dtype="string")
    attach_metadata(out, _metadata(used, w))
    out.attrs["acv_geo_profile"] = {
        "columns": used,
        "weights": w,
        "excluded": excluded,
        "min_coverage": min_coverage,
        "min_indicators": min_indicators,
    }
    return out


def _check_options(
    min_coverage: float, min_indicators: int, columns: Mapping[str, Sequence[str]] | None
) -> dict[str, tuple[str, ...]]:
    """Checked options; the contributing columns asked for each sub-score (PROFILE_COLUMNS by default)."""
    if isinstance(min_coverage, bool) or not isinstance(min_coverage, (int, float)) or not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage must be a share in (0, 1], got {min_coverage!r}")
    if isinstance(min_indicators, bool) or not isinstance(min_indicators, (int, np.integer)) or min_indicators < 1:
        raise ValueError(f"min_indicators must be a whole number >= 1, got {min_indicators!r}")
    spec = dict(PROFILE_COLUMNS)
    if columns is not None:
        unknown = sorted(set(columns) - set(SUBSCORES))
        if unknown:
            raise ValueError(f"unknown sub-score(s) {unknown} in columns=; allowed: {list(SUBSCORES)}")
        spec.update({k: tuple([v] if isinstance(v, str) else v) for k, v in columns.items()})
    return spec


def _gather(cities: pd.DataFrame, tables: Sequence[pd.DataFrame]) -> dict[str, pd.Series]:
    """Every candidate column, aligned on the cities (a table's column overrides a city column)."""
    idx = cities.index
    geom = getattr(cities, "_geometry_column_name", None)
    data: dict[str, pd.Series] = {c: cities[c] for c in cities.columns if c != geom and not c.endswith("_reason")}
    for k, t in enumerate(tables):
        if not isinstance(t, pd.DataFrame):
            raise ValueError(f"indicator table #{k + 1} is a {type(t).__name__}, not a DataFrame")
        if t.index.has_duplicates:
            raise ValueError(f"indicator table #{k + 1} has duplicate index codes; one row per city expected")
        aligned = t.reindex(idx)
        for c in t.columns:
            if c.endswith("_reason"):
                continue
            if c in data and c in cities.columns:
                data[c] = aligned[c]  # a table overrides a city column of the same name
            else:
                data.setdefault(c, aligned[c])
    return data


def _subscores(
    data: dict[str, pd.Series],
    contributing: dict[str, list[str]],
    idx: pd.Index,
    default: bool,
    min_coverage: float,
    min_indicators: int,
) -> tuple[dict, dict, dict, dict]:
    """Columns used and excluded (low coverage), sub-scores and indicator counts of each sub-score."""
    used: dict[str, list[str]] = {}
    excluded: dict[str, float] = {}
    scores: dict[str, pd.Series] = {}
    counts: dict[str, pd.Series] = {}
    for s in SUBSCORES:
        cols = contributing[s]
        if s == "opendata" and "opendata_level" in cols and "opendata" in cols and default:
            cols.remove("opendata")  # the level already says whether the city publishes
        share = {c: float(pd.Series(data[c]).notna().mean()) if len(idx) else 0.0 for c in cols}
        excluded.update({c: round(v, 4) for c, v in share.items() if v < min_coverage})
        cols = [c for c in cols if share[c] >= min_coverage]
        used[s] = cols
        if cols:
            norm = pd.concat([_normalise(c, data[c]).rename(c) for c in cols], axis=1)
            counts[s] = norm.notna().sum(axis=1)
            scores[s] = norm.mean(axis=1, skipna=True).where(counts[s] >= min_indicators)
        else:
            counts[s] = pd.Series(0, index=idx)
            scores[s] = pd.Series(np.nan, index=idx)
    return used, excluded, scores, counts


def _composite(vals: np.ndarray, w: dict[str, float]) -> np.ndarray:
    """Weighted mean of the sub-scores each city has (weights renormalised over them)."""
    wv = np.array([w[s] for s in SUBSCORES])
    avail = ~np.isnan(vals)
    wsum = (avail * wv).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(wsum > 0, np.nansum(np.nan_to_num(vals) * wv, axis=1) / np.where(wsum > 0, wsum, 1), np.nan)


def _reasons(avail: np.ndarray, w: dict[str, float], used: dict[str, list[str]], min_indicators: int) -> list:
    """Which weighted sub-scores each city lacks, and why."""
    reasons: list[str | None] = []
    for i in range(len(avail)):
        missing = [s for j, s in enumerate(SUBSCORES) if not avail[i, j] and w[s] > 0]
        if not missing:
            reasons.append(None)
        elif len(missing) == sum(1 for s in SUBSCORES if w[s] > 0):
            reasons.append("no value for any weighted sub-score: no rank")
        else:
            why = [
                f"{s} (no contributing column)"
                if not used[s]
                else f"{s} (fewer than {min_indicators} of its indicators measured)"
                if min_indicators > 1
                else f"{s} (all its values missing)"
                for s in missing
            ]
            reasons.append("composite without " + ", ".join(why) + "; weights renormalised over the others")
    return reasons


def _metadata(used: dict[str, list[str]], w: dict[str, float]) -> list[dict]:
    desc = {
        f"{s}_score": (f"{s.capitalize()} sub-score: mean percentile rank (0-1) of {', '.join(used[s]) or 'no column'}")
        for s in SUBSCORES
    }
    return [
        *({"column": c, "unit": "0-1", "source": "acv-geo", "date": "", "description": d} for c, d in desc.items()),
        *(
            {
                "column": f"{s}_n_indicators",
                "unit": "count",
                "source": "acv-geo",
                "date": "",
                "description": f"Indicators the {s} sub-score of the city rests on (measured, among "
                f"{', '.join(used[s]) or 'none'})",
            }
            for s in SUBSCORES
        ),
        {
            "column": "exposure_score",
            "unit": "0-1",
            "source": "acv-geo",
            "date": "",
            "description": "Weighted mean of the sub-scores (" + ", ".join(f"{s} {w[s]:g}" for s in SUBSCORES) + ")",
        },
        {
            "column": "rank",
            "unit": "rank",
            "source": "acv-geo",
            "date": "",
            "description": "Rank of the composite score, 1 = highest",
        },
        {
            "column": "profile_reason",
            "unit": "",
            "source": "acv-geo",
            "date": "",
            "description": "Which sub-scores are missing from the composite",
        },
    ]


def rank_candidates(profile: pd.DataFrame, *, top: int | None = None) -> pd.DataFrame:
    """Cities sorted by rank (best first), unranked cities last.

    Parameters
    ----------
    profile : pandas.DataFrame
        Output of :func:`exposure_profile`.
    top : int, optional
        Keep only the ``top`` first rows.

    Returns
    -------
    pandas.DataFrame
        The profile rows, sorted by ``rank`` then by INSEE code (ties).

    Raises
    ------
    ValueError
        If ``profile`` has no ``rank`` column or ``top`` is not a positive integer.

    Examples
    --------
    >>> idx = pd.Index(["01004", "38053"], name="insee_com")
    >>> p = exposure_profile(pd.DataFrame(index=idx), pd.DataFrame({"radon_class": [2, 3]}, index=idx))
    >>> rank_candidates(p, top=1).index.tolist()
    ['38053']
    """
    if not isinstance(profile, pd.DataFrame) or "rank" not in profile.columns:
        raise ValueError("profile must be the table returned by exposure_profile (it has a 'rank' column)")
    if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1):
        raise ValueError(f"top must be a positive integer, got {top!r}")
    order = pd.DataFrame(
        {
            "r": profile["rank"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
            "c": np.asarray(profile.index, dtype=object).astype(str),
        }
    )
    pos = order.sort_values(["r", "c"], na_position="last", kind="mergesort").index.to_numpy()
    out = profile.iloc[pos]
    out.attrs = dict(profile.attrs)
    return out if top is None else out.iloc[: int(top)]
