"""The analysed variable as float64 (yes/no words and decimal commas understood) and its checks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from acv_geo.core.errors import InputError
from acv_geo.core.files import FALSE_WORDS, TRUE_WORDS

__all__ = ["check_binary", "check_variation", "to_float", "variable_values"]


def _floats(values: np.ndarray) -> np.ndarray:
    """``float(v)`` of each object, NaN where that fails (vectorised; element-wise only on failure)."""
    try:
        return values.astype("float64")
    except (TypeError, ValueError):
        pass

    def one(v: object) -> float:
        try:
            return float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return np.nan

    return np.array([one(v) for v in values], dtype="float64")


def _text_floats(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Values of stripped lower-case texts: yes/no words, numbers with ``.`` or ``,``; and which fail."""
    out = np.full(len(text), np.nan)
    yes = text.isin(TRUE_WORDS).to_numpy()
    no = text.isin(FALSE_WORDS).to_numpy()
    out[yes], out[no] = 1.0, 0.0
    rest = ~(yes | no) & (text != "").to_numpy()
    numbers = text[rest].str.replace(",", ".", regex=False).to_numpy(dtype=object)
    parsed = _floats(numbers)
    nan_words = np.isin(numbers, ["nan", "+nan", "-nan"])
    out[rest] = parsed
    bad = np.zeros(len(text), dtype=bool)
    bad[rest] = np.isnan(parsed) & ~nan_words
    return out, bad


def _texts(series: pd.Series) -> pd.Series:
    """Stripped lower-case text of the string values, NaN for any other value."""
    try:
        return series.str.strip().str.lower()
    except AttributeError:  # pandas refuses .str when no value is a string
        return pd.Series(np.nan, index=series.index, dtype=object)


def _object_floats(series: pd.Series, variable: str) -> pd.Series:
    """Float values of an object column: numbers, booleans, yes/no words, decimal commas."""
    missing = series.isna().to_numpy()
    text = _texts(series.astype(object).where(~missing))
    is_text = text.notna().to_numpy()
    out = np.full(len(series), np.nan)
    others = ~missing & ~is_text
    out[others] = _floats(series.to_numpy(dtype=object)[others])
    bad = others & np.isnan(out)
    out[is_text], bad[is_text] = _text_floats(text[is_text])
    if bad.any():
        rows = series.index[bad]
        raise InputError(
            f"column {variable!r} is not numeric: rows {', '.join(map(str, rows[:10]))} hold "
            f"{series[bad].iloc[:3].tolist()}; give a numeric or yes/no column"
        )
    return pd.Series(out, index=series.index, dtype="float64")


def to_float(series: pd.Series, variable: str) -> pd.Series:
    """Values as float64 with NaN for missing; booleans and yes/no words become 1/0.

    Parameters
    ----------
    series : pandas.Series
        Numeric, boolean (nullable or not) or text column; texts may be yes/no words
        (:data:`acv_geo.core.files.TRUE_WORDS`, ``FALSE_WORDS``) or numbers with a decimal comma.
    variable : str
        Column name, for the messages.

    Returns
    -------
    pandas.Series
        float64, same index, NaN where the value is missing or empty.

    Raises
    ------
    acv_geo.InputError
        If a value is neither a number nor a yes/no word, or is infinite.

    Examples
    --------
    >>> to_float(pd.Series(["oui", "Non", "2,5", None, " "]), "x").tolist()
    [1.0, 0.0, 2.5, nan, nan]
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
        return pd.Series(values, index=series.index)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = pd.array(series, dtype="Float64").to_numpy(dtype="float64", na_value=np.nan)
        out = pd.Series(values, index=series.index)
    else:
        out = _object_floats(series, variable)
    inf = np.isinf(out.to_numpy())
    if inf.any():
        raise InputError(
            f"column {variable!r} has infinite values at {', '.join(map(str, out.index[inf][:10]))}; "
            "replace them with NA or a finite value"
        )
    return out


def variable_values(df: pd.DataFrame, variable: str) -> pd.Series:
    """The column ``variable`` of ``df`` as float64 (see :func:`to_float`).

    Parameters
    ----------
    df : pandas.DataFrame
        The cities (or any table).
    variable : str
        Column to read.

    Returns
    -------
    pandas.Series
        float64 values, NaN for missing.

    Raises
    ------
    acv_geo.InputError
        If ``variable`` is not a column (the message lists the numeric and yes/no columns).

    Examples
    --------
    >>> variable_values(pd.DataFrame({"flag": [True, False]}), "flag").tolist()
    [1.0, 0.0]
    """
    if not isinstance(variable, str) or variable not in df.columns:
        usable = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])]
        raise InputError(
            f"variable {variable!r} is not a column of the cities; numeric or yes/no columns are: "
            f"{', '.join(map(str, usable)) or '(none)'}; pass variable= one of them"
        )
    return to_float(df[variable], variable)


def check_variation(values: pd.Series, variable: str, what: str) -> None:
    """Check that ``values`` can show spatial autocorrelation: 3 values or more, not all equal.

    Parameters
    ----------
    values : pandas.Series
        float64 values, NaN for missing.
    variable : str
        Column name, for the messages.
    what : str
        What a unit is (``"city"``, ``"EPCI"``), for the messages.

    Raises
    ------
    acv_geo.InputError
        If every value is NA, the values are constant, or fewer than 3 units have one.

    Examples
    --------
    >>> check_variation(pd.Series([1.0, 0.0, 1.0]), "opendata", "city")
    """
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
        raise InputError(f"variable {variable!r} has a value for only {len(valid)} {what}(s); at least 3 are needed")


def check_binary(values: pd.Series, variable: str) -> None:
    """Check that ``values`` are 0/1 (NaN allowed), as join counts need.

    Parameters
    ----------
    values : pandas.Series
        float64 values.
    variable : str
        Column name, for the message.

    Raises
    ------
    acv_geo.InputError
        If another value occurs (the message shows a few).

    Examples
    --------
    >>> check_binary(pd.Series([0.0, 1.0, float("nan")]), "opendata")
    """
    vals = set(values.dropna().unique().tolist())
    if not vals <= {0.0, 1.0}:
        shown = sorted(vals - {0.0, 1.0})[:5]
        raise InputError(
            f"join counts need a yes/no (0/1) variable; column {variable!r} has other values {shown}; "
            "use method='lisa' or 'gi_star' (or morans_i) for continuous indicators, or binarise it"
        )
