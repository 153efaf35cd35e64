"""The repair report: what the readers repaired, attached to what they return.

Every reader records its repairs in ``attrs["acv_geo_repairs"]`` of the table it returns (one dict per
repair: ``kind, column, count, codes, detail, file``, see :class:`acv_geo.core.files.RepairLog`);
:func:`repair_report` shows them as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from acv_geo.core.files import RepairLog

__all__ = ["REPAIRS", "REPAIR_COLUMNS", "add_repair", "repair_report"]

#: Key of the repairs in ``DataFrame.attrs``.
REPAIRS = "acv_geo_repairs"

#: Columns of :func:`repair_report`.
REPAIR_COLUMNS = ["kind", "column", "count", "codes", "detail", "file"]


def repair_report(gdf: pd.DataFrame) -> pd.DataFrame:
    """The repairs made while reading a table.

    Parameters
    ----------
    gdf : pandas.DataFrame
        A table returned by :func:`acv_geo.read_acv`, :func:`acv_geo.read_communes`,
        :func:`acv_geo.read_epci` or an indicator function.

    Returns
    -------
    pandas.DataFrame
        One row per repair: ``kind, column, count, codes, detail, file`` (empty if none).

    Examples
    --------
    >>> import acv_geo
    >>> rep = acv_geo.repair_report(acv_geo.read_acv())
    >>> "overseas map-inset position" in set(rep["kind"])
    True
    """
    return pd.DataFrame(gdf.attrs.get(REPAIRS, []), columns=REPAIR_COLUMNS)


def add_repair(
    rows: list[dict[str, Any]], kind: str, column: str, codes: Sequence[Any] | None, detail: str, file: str
) -> None:
    """Append one repair to ``rows`` in the form of :func:`repair_report` (and log it).

    Examples
    --------
    >>> rows = []
    >>> add_repair(rows, "INSEE code repaired", "insee", ["1004→01004"], "leading zero restored", "radon.csv")
    >>> rows[0]["count"], rows[0]["codes"]
    (1, '1004→01004')
    """
    rep = RepairLog(file)
    rep.add(kind, column, None if codes is None else list(codes), detail)
    rows.extend(rep.rows)
