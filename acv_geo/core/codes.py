"""INSEE commune codes and SIREN numbers: normalisation and validation.

French open data often exports codes as numbers: ``01053`` becomes ``1053`` (or ``1053.0``),
a SIREN ``200070993`` becomes ``200070993.0`` or ``2.00070993E8``. Every reader and table
loader of acv-geo goes through :func:`normalize_insee` and :func:`normalize_siren` so that codes
are 5- and 9-character text everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import overload

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "clean_text",
    "codes_in",
    "insee_department",
    "insee_departments",
    "normalize_insee",
    "normalize_siren",
    "slugify",
]

_INSEE_RE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_FLOAT_RE = re.compile(r"^(\d+)\.0*$")
_SCI_RE = re.compile(r"^\d+(?:\.\d+)?[eE]\+?\d+$")
_INVISIBLE = dict.fromkeys(map(ord, "\u200e\u200f\u200b\ufeff\u00a0\u2060"), None)


@overload
def clean_text(value: str) -> str: ...
@overload
def clean_text(value: object) -> object: ...
def clean_text(value: object) -> object:
    """Strip invisible marks (U+200E, BOM, NBSP…) and surrounding blanks from a text value.

    Parameters
    ----------
    value : object
        Any cell value; non-strings are returned unchanged.

    Returns
    -------
    object
        The cleaned string, or ``value`` itself.

    Examples
    --------
    >>> clean_text("\u200e213500010 ")
    '213500010'
    """
    if isinstance(value, str):
        return value.translate(_INVISIBLE).strip()
    return value


def _as_digits(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else str(value)
    text = clean_text(str(value))
    if text == "":
        return None
    m = _FLOAT_RE.match(text)
    if m:
        return m.group(1)
    if _SCI_RE.match(text):
        f = float(text)
        return str(int(f)) if f.is_integer() else text
    return text


def codes_in(values: Iterable[object], codes: Iterable[object]) -> NDArray[np.bool_]:
    """Whether each of ``values`` is one of ``codes``, by hashing (``Index.isin`` of Arrow strings loops).

    Examples
    --------
    >>> codes_in(pd.Index(["34301", "11262", None]), {"34301", "01053"}).tolist()
    [True, False, False]
    """
    known = pd.Index(pd.unique(_objects(codes)))
    return np.asarray(known.get_indexer(_objects(values)) >= 0, dtype=bool)


def _objects(values: Iterable[object]) -> NDArray[np.object_]:
    """``values`` as an object array; pandas and NumPy containers converted at once.

    Iterating an Arrow string array in Python costs about 1 µs per value.
    """
    if isinstance(values, (pd.Series, pd.Index, np.ndarray, pd.api.extensions.ExtensionArray)):
        return np.asarray(values, dtype=object)
    return np.asarray(list(values), dtype=object)


def _per_unique(
    values: pd.Series, func: Callable[[object], str | None], valid: re.Pattern[str] | None = None
) -> pd.Series:
    """``func`` applied to each distinct value once (codes repeat: one row per decree, per plan…).

    Values whose text already matches ``valid`` are their own normal form and skip ``func``.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniq = np.asarray(uniques, dtype=object)
    mapped = np.empty(len(uniq) + 1, dtype=object)  # the last slot, index -1, is NA -> None
    todo = np.ones(len(uniq), dtype=bool)
    if valid is not None and len(uniq):
        text = uniq.astype(str)
        todo = ~pd.Series(text, dtype=object).str.fullmatch(valid.pattern).to_numpy(dtype=bool)
        mapped[:-1][~todo] = text[~todo]
    mapped[:-1][todo] = [func(v) for v in uniq[todo]]
    return pd.Series(mapped[codes], index=values.index, name=values.name, dtype=object)


@overload
def normalize_insee(values: pd.Series) -> pd.Series: ...
# pandas ships no type information (no pandas-stubs here): pd.Series is Any for mypy, so it deems the
# first overload to cover every argument; the pair still documents the contract and types with stubs.
@overload
def normalize_insee(values: object) -> str | None: ...  # type: ignore[overload-cannot-match]
def normalize_insee(values: pd.Series | object) -> pd.Series | str | None:
    """Normalise INSEE commune codes to 5-character text.

    Repairs codes exported as numbers (``1053`` or ``1053.0`` → ``01053``), upper-cases Corsica
    (``2a004`` → ``2A004``) and strips invisible characters. Codes that cannot be repaired come
    back as ``<NA>`` (for a Series) or ``None`` (for a scalar); callers report them.

    Parameters
    ----------
    values : pandas.Series or scalar
        Raw codes.

    Returns
    -------
    pandas.Series or str or None
        Normalised codes, same index as the input (dtype ``object``).

    Examples
    --------
    >>> normalize_insee("1053")
    '01053'
    >>> normalize_insee(2004.0)
    '02004'
    >>> normalize_insee("75-056") is None
    True
    >>> normalize_insee("2b033")
    '2B033'
    """
    if isinstance(values, pd.Series):
        return _per_unique(values, normalize_insee, _INSEE_RE)
    text = _as_digits(values)
    if text is None:
        return None
    text = text.upper()
    if text.isdigit() and len(text) == 4:
        text = "0" + text
    return text if _INSEE_RE.match(text) else None


@overload
def normalize_siren(values: pd.Series) -> pd.Series: ...
# pandas ships no type information (no pandas-stubs here): pd.Series is Any for mypy, so it deems the
# first overload to cover every argument; the pair still documents the contract and types with stubs.
@overload
def normalize_siren(values: object) -> str | None: ...  # type: ignore[overload-cannot-match]
def normalize_siren(values: pd.Series | object) -> pd.Series | str | None:
    """Normalise SIREN numbers to 9-character text.

    Repairs SIRENs exported as numbers (``200070993.0``, ``2.00070993E8``), leading zeros lost
    (8 digits) and invisible characters (the ODATER 2022 export has one U+200E prefix).

    Parameters
    ----------
    values : pandas.Series or scalar
        Raw SIRENs.

    Returns
    -------
    pandas.Series or str or None
        Normalised SIRENs (``None`` where not repairable).

    Examples
    --------
    >>> normalize_siren(200070993.0)
    '200070993'
    >>> normalize_siren("\u200e213500010")
    '213500010'
    """
    if isinstance(values, pd.Series):
        return _per_unique(values, normalize_siren)
    text = _as_digits(values)
    if text is None:
        return None
    text = text.replace(" ", "")
    if not text.isdigit():
        return None
    if len(text) < 9:
        text = text.zfill(9)
    return text if len(text) == 9 else None


def insee_department(insee_com: str) -> str:
    """Department code of a normalised INSEE commune code.

    Parameters
    ----------
    insee_com : str
        5-character INSEE code.

    Returns
    -------
    str
        ``"971"``…``"976"`` overseas, ``"2A"``/``"2B"`` in Corsica, else the first two characters.

    Examples
    --------
    >>> insee_department("97105"), insee_department("2A004"), insee_department("01053")
    ('971', '2A', '01')
    """
    return insee_com[:3] if insee_com.startswith("97") else insee_com[:2]


def insee_departments(codes: Iterable[object]) -> NDArray[np.object_]:
    """:func:`insee_department` of many codes at once (as whole string columns: 35,000 codes in milliseconds).

    Examples
    --------
    >>> insee_departments(pd.Index(["97105", "2A004", "01053"])).tolist()
    ['971', '2A', '01']
    """
    text = pd.Series(_objects(codes), dtype="string")
    out: NDArray[np.object_] = text.str[:2].where(~text.str.startswith("97"), text.str[:3]).to_numpy(dtype=object)
    return out


def slugify(text: str) -> str:
    """ASCII, lowercase, underscore-separated form of a label, for column names.

    Parameters
    ----------
    text : str
        Any label (``"Inondation - débordement"``).

    Returns
    -------
    str
        ``"inondation_debordement"``; ``"x"`` if nothing is left.

    Examples
    --------
    >>> slugify("Zones Naturelles d'Intérêt (type 1)")
    'zones_naturelles_d_interet_type_1'
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return slug or "x"
