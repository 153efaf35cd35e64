"""The embedded reference tables: every French commune, the departments and regions, the EPCI names.

Read once per process (cached); the frames returned are shared, so callers must not modify them.
"""

from __future__ import annotations

import functools

import pandas as pd

from acv_geo.core.datasets import get_path

__all__ = ["departements", "epci_names", "reference_communes"]


@functools.lru_cache(maxsize=1)
def reference_communes() -> pd.DataFrame:
    """Every French commune (COG 2025): name, codes, EPCI, commune SIREN and a representative point.

    Returns
    -------
    pandas.DataFrame
        Index ``insee_com``; columns ``nom_com, population_municipale, insee_dep, insee_reg, siren_epci,
        lon, lat, siren_com`` (text, but ``lon``/``lat`` floats in EPSG:4326). Shared: do not modify it.

    Examples
    --------
    >>> ref = reference_communes()
    >>> len(ref), ref.loc["01004", ["nom_com", "siren_epci", "siren_com"]].tolist()
    (34867, ['Ambérieu-en-Bugey', '240100883', '210100046'])
    """
    df = pd.read_csv(get_path("communes_france"), dtype=str, keep_default_na=False, na_values=[""])
    df["lon"] = df["lon"].astype(float)
    df["lat"] = df["lat"].astype(float)
    return df.set_index("insee_com")


@functools.lru_cache(maxsize=1)
def departements() -> pd.DataFrame:
    """The departments of 2025 with their region.

    Returns
    -------
    pandas.DataFrame
        Index ``code_dep`` (``"01"``, ``"2A"``, ``"971"``…); columns ``departement, code_reg, region``.
        Shared: do not modify it.

    Examples
    --------
    >>> departements().loc["2A"].tolist()
    ['Corse-du-Sud', '94', 'Corse']
    """
    return pd.read_csv(get_path("departements"), dtype=str).set_index("code_dep")


@functools.lru_cache(maxsize=1)
def epci_names() -> pd.Series:
    """Name of every EPCI à fiscalité propre of 2025, indexed by SIREN (from the embedded EPCI layer).

    Examples
    --------
    >>> epci_names()["245701362"]
    'CA Portes de France-Thionville'
    """
    import pyogrio

    df = pyogrio.read_dataframe(get_path("epci"), columns=["siren_epci", "nom_epci"], read_geometry=False)
    return df.set_index("siren_epci")["nom_epci"]
