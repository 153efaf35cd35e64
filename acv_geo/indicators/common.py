"""Pieces shared by the per-commune table indicators (:mod:`acv_geo.indicators.tables` and ``gaspar``).

The cities' codes checked (:func:`city_codes`), nullable integers (:func:`int_array`), text cells
(:func:`stripped_text`), the order of GASPAR risk codes (:func:`code_key`) and their labels
(:func:`ddrm_labels`), the metadata rows of a set of columns (:func:`metadata_rows`,
:func:`known_risks_metadata`) and the reasons given to towns a table says nothing about
(:func:`absent_reasons`, :func:`blank_absent`); :func:`finish_indicators` attaches the metadata,
role and repairs every indicator table ends with.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from acv_geo.core.datasets import get_path
from acv_geo.core.errors import InputError
from acv_geo.core.metadata import assign_role, attach_metadata
from acv_geo.read.repairs import REPAIRS

__all__ = [
    "absent_reasons",
    "blank_absent",
    "city_codes",
    "code_key",
    "ddrm_labels",
    "finish_indicators",
    "int_array",
    "known_risks_metadata",
    "metadata_rows",
    "stripped_text",
]

#: Column → (unit, description): the metadata of indicator columns before their source and date are added.
ColumnDescriptions = Mapping[str, tuple[str, str]]


def city_codes(cities: Any) -> pd.Index:
    """The INSEE codes of the cities, checked to be the index of a DataFrame.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com`` (e.g. :func:`acv_geo.read_acv`).

    Returns
    -------
    pandas.Index
        ``cities.index``.

    Raises
    ------
    InputError
        If ``cities`` is not a DataFrame, or has an ``insee_com`` column but another index.

    Examples
    --------
    >>> city_codes(pd.DataFrame(index=pd.Index(["01004"], name="insee_com"))).tolist()
    ['01004']
    >>> city_codes(pd.DataFrame({"insee_com": ["01004"]}))
    Traceback (most recent call last):
    ...
    acv_geo.core.errors.InputError: cities are not indexed by insee_com; ...
    """
    if not isinstance(cities, pd.DataFrame):
        raise InputError(
            f"cities must be a DataFrame indexed by insee_com (e.g. acv_geo.read_acv()), not {type(cities).__name__}"
        )
    idx = cities.index
    if idx.name != "insee_com" and "insee_com" in cities.columns:
        raise InputError(
            "cities are not indexed by insee_com; call cities.set_index('insee_com') first "
            "(acv_geo.read_acv() returns them indexed)"
        )
    return idx


def int_array(values: Any) -> Any:
    """Nullable integers (``Int64``) from numbers with NaN; what is not a number becomes ``<NA>``.

    Parameters
    ----------
    values : pandas.Series or array-like
        Numbers (floats with NaN, integers, numeric text).

    Returns
    -------
    pandas.arrays.IntegerArray
        ``Int64`` values.

    Examples
    --------
    >>> int_array(pd.Series([1.0, float("nan"), 3.0])).tolist()
    [1, <NA>, 3]
    """
    return pd.array(
        pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan), dtype="Float64"
    ).astype("Int64")


def stripped_text(values: pd.Series) -> pd.Series:
    """Each cell as stripped text, ``""`` where missing.

    Examples
    --------
    >>> stripped_text(pd.Series([" ICB ", None, 12])).tolist()
    ['ICB', '', '12']
    """
    return values.astype(object).where(values.notna(), "").map(lambda v: str(v).strip())


def code_key(code: str) -> tuple[int, str]:
    """Sort key of a GASPAR risk code: numeric codes in numeric order, then the others (``AUTRE``).

    Examples
    --------
    >>> sorted(["AUTRE", "112", "13", "11"], key=code_key)
    ['11', '13', '112', 'AUTRE']
    """
    return (int(code), code) if code.isdigit() else (10**6, code)


@functools.lru_cache(maxsize=1)
def ddrm_labels() -> dict[str, str]:
    """GASPAR risk code → label, from the embedded ``ddrm_risk_codes`` dataset (do not modify the dict).

    Examples
    --------
    >>> ddrm_labels()["13"]
    'Séisme'
    """
    return dict(pd.read_csv(get_path("ddrm_risk_codes"), dtype=str).itertuples(index=False, name=None))


def metadata_rows(columns: ColumnDescriptions, source: str, date: str) -> list[dict[str, str]]:
    """The metadata rows (:func:`acv_geo.core.metadata.attach_metadata`) of columns sharing a source and a date.

    Parameters
    ----------
    columns : mapping of str to (str, str)
        Column → (unit, description).
    source, date : str
        Where and when the values come from.

    Returns
    -------
    list of dict
        One row per column: ``column, unit, source, date, description``.

    Examples
    --------
    >>> metadata_rows({"radon_class": ("class 1-3", "IRSN radon class")}, "IRSN", "2018")
    [{'column': 'radon_class', 'unit': 'class 1-3', 'source': 'IRSN', 'date': '2018', 'description': 'IRSN ...'}]
    """
    return [{"column": c, "unit": u, "source": source, "date": date, "description": d} for c, (u, d) in columns.items()]


def known_risks_metadata(
    families: Mapping[str, Iterable[str]], labels: Mapping[str, str]
) -> dict[str, tuple[str, str]]:
    """Units and descriptions of the columns ``risk_<family>_known``, ``risks_known_count`` and ``risks_known``.

    Parameters
    ----------
    families : mapping of str to sequence of str
        Family → its GASPAR risk codes (:data:`acv_geo.indicators.tables.RISK_FAMILIES`).
    labels : mapping of str to str
        GASPAR risk code → label (:func:`ddrm_labels`).

    Returns
    -------
    dict
        Column → (unit, description), in output order.

    Examples
    --------
    >>> meta = known_risks_metadata({"earthquake": ("13",)}, {"13": "Séisme"})
    >>> list(meta)
    ['risk_earthquake_known', 'risks_known_count', 'risks_known']
    >>> meta["risk_earthquake_known"][1]
    'The departmental risk file (DDRM) lists a earthquake risk for the commune (GASPAR codes 13 Séisme)'
    """
    meta: dict[str, tuple[str, str]] = {}
    for fam, fam_codes in families.items():
        names = ", ".join(f"{c} {labels.get(c, '')}".strip() for c in fam_codes)
        meta[f"risk_{fam}_known"] = (
            "bool",
            f"The departmental risk file (DDRM) lists a {fam.replace('_', ' ')} risk for the commune "
            f"(GASPAR codes {names})",
        )
    meta["risks_known_count"] = ("families", f"Number of natural risk families known ({', '.join(families)})")
    meta["risks_known"] = ("", "Main risks known for the commune (GASPAR labels)")
    return meta


def absent_reasons(absent: Any, reason: str) -> Any:
    """``reason`` where ``absent`` is true, ``<NA>`` elsewhere, as a ``string`` array.

    Examples
    --------
    >>> absent_reasons([True, False], "not in the table").tolist()
    ['not in the table', <NA>]
    """
    # numpy's stubs leave None out of ArrayLike, but np.where(..., None, ...) is valid (an object array)
    return pd.array(np.where(absent, reason, None), dtype="string")  # type: ignore[call-overload]


def blank_absent(out: pd.DataFrame, absent: Any, reason_col: str, reason: str) -> None:
    """Set every column but ``reason_col`` to ``<NA>`` on the ``absent`` rows, and give them ``reason``.

    A new ``reason_col`` is a ``string`` column, ``<NA>`` on the other rows; an existing one keeps
    their values.

    Parameters
    ----------
    out : pandas.DataFrame
        The indicators, changed in place.
    absent : array-like of bool
        The rows of the towns the table says nothing about.
    reason_col, reason : str
        The reason column and what it says for those towns.

    Examples
    --------
    >>> out = pd.DataFrame({"n": pd.array([1, 2], dtype="Int64")})
    >>> blank_absent(out, [False, True], "n_reason", "not in the table")
    >>> out["n"].tolist(), out["n_reason"].tolist()
    ([1, <NA>], [<NA>, 'not in the table'])
    """
    cols = [c for c in out.columns if c != reason_col]
    out.loc[absent, cols] = pd.NA
    if reason_col in out.columns:
        out.loc[absent, reason_col] = reason
    else:
        out[reason_col] = absent_reasons(absent, reason)


def finish_indicators(
    out: pd.DataFrame,
    metadata: Iterable[dict[str, str]],
    repairs: list[dict[str, Any]],
    *,
    role: str = "risk",
    scored: Iterable[str] = (),
) -> pd.DataFrame:
    """Attach the metadata rows, the ``role`` (``scored`` columns marked) and the repairs to ``out``.

    Parameters
    ----------
    out : pandas.DataFrame
        The indicators, changed in place.
    metadata : iterable of dict
        Their metadata rows (:func:`metadata_rows`).
    repairs : list of dict
        The repairs of the input tables (``attrs["acv_geo_repairs"]``).
    role : {"risk", "nature", "opendata", "context"}, default "risk"
        What the columns measure (:func:`acv_geo.core.metadata.assign_role`).
    scored : iterable of str, optional
        The columns that enter the sub-score of ``role``.

    Returns
    -------
    pandas.DataFrame
        ``out`` itself.

    Examples
    --------
    >>> out = pd.DataFrame({"n": [1]})
    >>> out = finish_indicators(out, metadata_rows({"n": ("", "a count")}, "src", ""), [], scored=["n"])
    >>> out.attrs["acv_geo_metadata"][0]["scored"], out.attrs["acv_geo_repairs"]
    ('yes', [])
    """
    attach_metadata(out, metadata)
    assign_role(out, role, scored=scored)
    out.attrs[REPAIRS] = repairs
    return out
