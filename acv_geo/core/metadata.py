"""Indicator metadata: unit, source, date and description of every output column.

Every function that computes indicators attaches one metadata row per column it creates, in
``df.attrs["acv_geo_metadata"]`` (a list of dicts, so it survives ``copy()`` and pickling).
:func:`indicator_metadata` turns it into a table; :func:`acv_geo.outputs.writers.write_table` writes that
table beside every output, so a report can say where each number comes from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

__all__ = [
    "METADATA_COLUMNS",
    "ROLES",
    "assign_role",
    "attach_metadata",
    "described_columns",
    "indicator_metadata",
    "merge_metadata",
    "scored_columns",
]

#: Columns of the metadata table. ``label_fr``/``label_en``: human label of the column (filled by
#: :func:`acv_geo.core.labels.label_metadata` when written); ``role``: what the source measures
#: (:data:`ROLES`); ``scored``: ``"yes"`` when the column enters the sub-score of its role in
#: :func:`acv_geo.exposure_profile`.
METADATA_COLUMNS = ["column", "label_fr", "label_en", "unit", "source", "date", "description", "role", "scored"]
_REQUIRED = ("column", "unit", "source", "date", "description")

#: Roles of a source: ``risk`` and ``nature`` feed the sub-scores of the same name, ``opendata`` the
#: open-data readiness shown beside them, ``context`` is shown and never scored.
ROLES: tuple[str, ...] = ("risk", "nature", "opendata", "context")
_KEY = "acv_geo_metadata"


def attach_metadata(df: pd.DataFrame, rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Attach metadata rows to ``df`` (in place) and return it.

    Parameters
    ----------
    df : pandas.DataFrame
        The indicator table.
    rows : iterable of dict
        One dict per column with keys ``column, unit, source, date, description`` and optionally
        ``label_fr, label_en, role, scored`` (empty when absent). A row for a column already
        described replaces the old one.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself.

    Raises
    ------
    ValueError
        If a row names a column that ``df`` does not have, or lacks a key.
    """
    current = {m["column"]: m for m in df.attrs.get(_KEY, [])}
    for row in rows:
        missing = [k for k in _REQUIRED if k not in row]
        if missing:
            raise ValueError(f"metadata row {row!r} lacks {missing}")
        if row["column"] not in df.columns:
            raise ValueError(f"metadata names column {row['column']!r}, which the table does not have")
        if row.get("role") and row["role"] not in ROLES:
            raise ValueError(f"metadata row {row!r}: role must be one of {ROLES}")
        current[row["column"]] = {k: ("" if row.get(k) is None else str(row.get(k))) for k in METADATA_COLUMNS}
    df.attrs[_KEY] = [current[c] for c in df.columns if c in current]
    return df


def indicator_metadata(df: pd.DataFrame) -> pd.DataFrame:
    """Metadata table of an indicator DataFrame.

    Parameters
    ----------
    df : pandas.DataFrame
        A table returned by an acv-geo indicator function.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`METADATA_COLUMNS`, one row per described column, in the table's column
        order.
    """
    rows = [m for m in df.attrs.get(_KEY, []) if m["column"] in df.columns]
    return pd.DataFrame(rows, columns=METADATA_COLUMNS)


def merge_metadata(target: pd.DataFrame, *sources: pd.DataFrame) -> pd.DataFrame:
    """Copy the metadata of ``sources`` onto ``target`` (e.g. after a join) and return it.

    Parameters
    ----------
    target : pandas.DataFrame
        Table holding the columns of the sources.
    *sources : pandas.DataFrame
        Tables whose metadata rows are copied for the columns ``target`` has.

    Returns
    -------
    pandas.DataFrame
        ``target`` itself.
    """
    rows = [m for s in sources for m in s.attrs.get(_KEY, []) if m["column"] in target.columns]
    return attach_metadata(target, rows)


def assign_role(df: pd.DataFrame, role: str, *, scored: Iterable[str] = ()) -> pd.DataFrame:
    """Give every described column of ``df`` the ``role`` of its source; mark ``scored`` ones.

    Parameters
    ----------
    df : pandas.DataFrame
        An indicator table with metadata attached.
    role : {"risk", "nature", "opendata", "context"}
        What the source measures (see :data:`ROLES`).
    scored : iterable of str, optional
        Columns that enter the sub-score of ``role`` (the others are shown, not scored). Ignored
        for the ``context`` role.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself.

    Raises
    ------
    ValueError
        Unknown role, or a scored column that ``df`` does not have.

    Examples
    --------
    >>> t = attach_metadata(pd.DataFrame({"a_pct": [1.0], "a_count": [2]}), [
    ...     {"column": c, "unit": "", "source": "s", "date": "", "description": ""} for c in ("a_pct", "a_count")])
    >>> scored_columns(assign_role(t, "risk", scored=["a_pct"]), "risk")
    ['a_pct']
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    scored = set(scored) if role != "context" else set()
    missing = sorted(scored - set(df.columns))
    if missing:
        raise ValueError(f"scored column(s) {missing} are not in the table")
    rows = df.attrs.get(_KEY, [])
    df.attrs[_KEY] = [{**m, "role": role, "scored": "yes" if m["column"] in scored else ""} for m in rows]
    return df


def scored_columns(df: pd.DataFrame, role: str) -> list[str]:
    """Columns of ``df`` whose metadata says they enter the ``role`` sub-score, in column order.

    Parameters
    ----------
    df : pandas.DataFrame
        An indicator table with metadata attached.
    role : str
        ``risk``, ``nature`` or ``opendata``.

    Returns
    -------
    list of str
    """
    marked = {m["column"] for m in df.attrs.get(_KEY, []) if m.get("role") == role and m.get("scored") == "yes"}
    return [c for c in df.columns if c in marked]


def described_columns(df: pd.DataFrame) -> set[str]:
    """Columns of ``df`` that have a metadata row."""
    return {m["column"] for m in df.attrs.get(_KEY, [])}
