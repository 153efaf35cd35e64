"""The fixed choices of the cluster statistics: methods, their titles and labels, levels, alternatives.

Plain data, no heavy import: the CLI builds its options from them and ``scripts/plugin_choices.py``
ships them to the QGIS plugin (``choices.json``), so the three never disagree.

Examples
--------
>>> METHODS
('lisa', 'gi_star', 'join_count')
>>> cluster_labels("gi_star")
('hot', 'cold', 'not significant', 'isolated', 'NA')
"""

from __future__ import annotations

__all__ = [
    "AGGREGATES",
    "ALTERNATIVES",
    "LEVELS",
    "LOCAL_COLUMNS",
    "METHODS",
    "METHOD_LABELS",
    "METHOD_TITLES",
    "OTHER_LABELS",
    "check_choice",
    "cluster_labels",
]

#: Local statistics: Local Moran's I (LISA), Getis-Ord Gi*, local join counts.
METHODS: tuple[str, ...] = ("lisa", "gi_star", "join_count")
#: Display title of each method.
METHOD_TITLES: dict[str, str] = {
    "lisa": "Local Moran's I (LISA)",
    "gi_star": "Getis-Ord Gi* (hot and cold spots)",
    "join_count": "Local join counts (yes/no)",
}
#: Labels of a significant unit, per method.
METHOD_LABELS: dict[str, tuple[str, ...]] = {
    "lisa": ("HH", "LL", "HL", "LH"),
    "gi_star": ("hot", "cold"),
    "join_count": ("BB cluster",),
}
#: Labels of the units with no significant cluster, whatever the method.
OTHER_LABELS: tuple[str, ...] = ("not significant", "isolated", "NA")
#: Units of analysis: the cities, or their EPCIs (values aggregated).
LEVELS: tuple[str, ...] = ("commune", "epci")
#: Alternative hypotheses of the permutation p-values (esda's definitions, plus a doubled two-sided).
ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "lesser", "directed", "folded")
#: How city values combine into an EPCI value.
AGGREGATES: tuple[str, ...] = ("mean", "sum", "min", "max", "any")
#: Columns of :meth:`acv_geo.stats.results.LocalResult.to_frame` (a contract: other modules rely on them).
LOCAL_COLUMNS: list[str] = ["value", "statistic", "quadrant", "p_sim", "p_fdr", "label", "reason"]


def cluster_labels(method: str) -> tuple[str, ...]:
    """Every label a unit can get with ``method``: the significant ones first.

    Parameters
    ----------
    method : {"lisa", "gi_star", "join_count"}
        A local statistic.

    Returns
    -------
    tuple of str
        The method's labels, then ``"not significant"``, ``"isolated"``, ``"NA"``.

    Examples
    --------
    >>> cluster_labels("lisa")
    ('HH', 'LL', 'HL', 'LH', 'not significant', 'isolated', 'NA')
    """
    return METHOD_LABELS[method] + OTHER_LABELS


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``.

    Parameters
    ----------
    name : str
        Argument name, for the message.
    value : object
        The value given.
    allowed : tuple of str
        The allowed values.

    Returns
    -------
    str
        ``value``.

    Raises
    ------
    ValueError
        If ``value`` is not allowed; the message lists the allowed values.

    Examples
    --------
    >>> check_choice("level", "epci", LEVELS)
    'epci'
    >>> check_choice("level", "region", LEVELS)
    Traceback (most recent call last):
    ValueError: level='region' is not allowed; expected one of 'commune', 'epci'
    """
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; expected one of {', '.join(map(repr, allowed))}")
    return value
