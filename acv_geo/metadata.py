"""Indicator metadata: unit, source, date and description of every output column.

Every function that computes indicators attaches one metadata row per column it creates, in
``df.attrs["acv_geo_metadata"]`` (a list of dicts, so it survives ``copy()`` and pickling).
:func:`indicator_metadata` turns it into a table; :func:`acv_geo.writers.write_table` writes that
table beside every output, so a report can say where each number comes from.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = ["METADATA_COLUMNS", "attach_metadata", "indicator_metadata", "merge_metadata"]

METADATA_COLUMNS = ["column", "unit", "source", "date", "description"]
_KEY = "acv_geo_metadata"


def attach_metadata(df: pd.DataFrame, rows: Iterable[dict]) -> pd.DataFrame:
    """Attach metadata rows to ``df`` (in place) and return it.

    Parameters
    ----------
    df : pandas.DataFrame
        The indicator table.
    rows : iterable of dict
        One dict per column with keys ``column, unit, source, date, description``. A row for a
        column already described replaces the old one.

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
        missing = [k for k in METADATA_COLUMNS if k not in row]
        if missing:
            raise ValueError(f"metadata row {row!r} lacks {missing}")
        if row["column"] not in df.columns:
            raise ValueError(f"metadata names column {row['column']!r}, which the table does not have")
        current[row["column"]] = {k: ("" if row[k] is None else str(row[k])) for k in METADATA_COLUMNS}
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
        Columns ``column, unit, source, date, description``, one row per described column, in
        the table's column order.
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
