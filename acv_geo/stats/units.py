"""Units of analysis: the cities (polygons swapped in for contiguity), or their EPCIs (values aggregated).

:func:`analysis_units` turns the cities and a variable into the units a statistic runs on, their
float values (NA kept, with a reason) and notes on what was excluded or aggregated. At EPCI level
each EPCI's value aggregates its cities' values (for ``opendata``: whether the EPCI itself
publishes, ``opendata_epci``), and the units are the EPCI polygons in order of first appearance
among the cities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from acv_geo.core.codes import normalize_siren
from acv_geo.core.errors import InputError
from acv_geo.read.national import keyed_polygons
from acv_geo.stats.choices import AGGREGATES, LEVELS, check_choice
from acv_geo.stats.values import check_variation, to_float, variable_values

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = [
    "AnalysisUnits",
    "UnitOptions",
    "analysis_units",
    "check_cities",
    "commune_units",
    "epci_units",
    "unit_layer",
]


@dataclass(frozen=True)
class UnitOptions:
    """How the cities become units of analysis.

    Attributes
    ----------
    level : {"commune", "epci"}
        The cities themselves, or their EPCIs.
    epci : geopandas.GeoDataFrame or path, optional
        EPCI polygons (default :func:`acv_geo.read_epci`).
    polygons : geopandas.GeoDataFrame or path, optional
        Commune polygons for contiguity at commune level when the cities are points (default
        :func:`acv_geo.read_communes`).
    aggregate : {"mean", "sum", "min", "max", "any"}, optional
        How city values combine into an EPCI value (default: ``any`` for yes/no, else ``mean``).
    territory_column : str
        Column with the territory of each unit.
    """

    level: str = "commune"
    epci: Any = field(default=None, compare=False)
    polygons: Any = field(default=None, compare=False)
    aggregate: str | None = None
    territory_column: str = "territory"

    def __post_init__(self) -> None:
        check_choice("level", self.level, LEVELS)


@dataclass(frozen=True)
class AnalysisUnits:
    """Units of analysis with the values of one variable.

    Attributes
    ----------
    units : geopandas.GeoDataFrame
        Indexed by ``insee_com`` (cities) or ``siren_epci`` (EPCIs), in output order.
    values : pandas.Series
        float64 aligned with ``units``, NaN for NA.
    na_reason : pandas.Series
        Why a unit has no value (text), aligned with ``units``.
    id_name : str
        Name of the index.
    what : str
        What a unit is, for messages: ``"city"`` or ``"EPCI"``.
    notes : tuple of str
        Aggregations and exclusions applied.
    """

    units: Any = field(repr=False)
    values: pd.Series = field(repr=False)
    na_reason: pd.Series = field(repr=False)
    id_name: str
    what: str
    notes: tuple[str, ...] = ()

    @property
    def valid_ids(self) -> list[Any]:
        """Ids of the units that have a value, in order."""
        return list(self.units.index[self.values.notna().to_numpy()])


def check_cities(cities: object) -> None:
    """Check that ``cities`` is a non-empty table without repeated ids.

    Parameters
    ----------
    cities : object
        What was passed as cities.

    Raises
    ------
    acv_geo.InputError
        If it is not a (Geo)DataFrame, is empty or has duplicate index values.

    Examples
    --------
    >>> check_cities(pd.DataFrame(index=["01001", "01001"]))
    Traceback (most recent call last):
    acv_geo.core.errors.InputError: duplicate ids in the cities index: 01001; each city must appear once
    """
    if not isinstance(cities, pd.DataFrame):
        raise InputError(
            f"cities must be a GeoDataFrame, got {type(cities).__name__}; read them with acv_geo.read_acv()"
        )
    if len(cities) == 0:
        raise InputError("cities is empty; pass at least three cities")
    if cities.index.has_duplicates:
        dup = ", ".join(map(str, cities.index[cities.index.duplicated()].unique()[:10]))
        raise InputError(f"duplicate ids in the cities index: {dup}; each city must appear once")


def commune_units(cities: Any, *, contiguity: bool, polygons: Any = None, territory_column: str = "territory") -> Any:
    """The cities as units; for contiguity, their commune polygons in place of points.

    Parameters
    ----------
    cities : geopandas.GeoDataFrame
        Cities indexed by ``insee_com``.
    contiguity : bool
        Whether the weights are queen/rook (which need polygons).
    polygons : geopandas.GeoDataFrame or path, optional
        Commune polygons (default :func:`acv_geo.read_communes`).
    territory_column : str, default ``"territory"``
        Filled from the polygons when the cities lack it.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cities`` itself when no swap is needed, else a copy with polygon geometries (None where
        the layer has no polygon for a city).

    Raises
    ------
    acv_geo.InputError
        If ``cities`` is not a GeoDataFrame.

    Examples
    --------
    >>> import acv_geo
    >>> cities = acv_geo.read_acv()
    >>> bool(commune_units(cities, contiguity=True).geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all())
    True
    """
    import geopandas as gpd

    if not isinstance(cities, gpd.GeoDataFrame):
        raise InputError(
            f"cities must be a GeoDataFrame (got {type(cities).__name__}); read them with acv_geo.read_acv()"
        )
    if not contiguity:
        return cities
    geom = cities.geometry
    if (geom.notna() & geom.geom_type.isin(["Polygon", "MultiPolygon"])).all():
        return cities
    if polygons is None:
        from acv_geo.read.communes import read_communes

        polygons = read_communes()
    polys = keyed_polygons(polygons, "insee_com").to_crs(cities.crs or 4326)
    geo = polys.geometry.reindex(cities.index)
    out = gpd.GeoDataFrame(cities.drop(columns=cities.geometry.name), geometry=geo.to_numpy(), crs=polys.crs)
    if territory_column not in out.columns and "territory" in polys.columns:
        out[territory_column] = polys["territory"].reindex(cities.index).to_numpy()
    return out


def _epci_of_cities(cities: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """Normalised ``siren_epci`` of each city, and a note naming the cities without one."""
    if "siren_epci" not in cities.columns:
        raise InputError("level='epci' needs a 'siren_epci' column in the cities; read them with acv_geo.read_acv()")
    siren = normalize_siren(cities["siren_epci"].astype(object))
    no_epci = siren.isna()
    if not no_epci.any():
        return siren, []
    return siren, [
        f"{int(no_epci.sum())} cit(ies) have no EPCI and are left out of the EPCI level: "
        + ", ".join(map(str, cities.index[no_epci.to_numpy()][:20]))
    ]


def _city_values(
    cities: pd.DataFrame, variable: str, values: pd.Series, aggregate: str | None
) -> tuple[pd.Series, str]:
    """The city values to aggregate and how: ``opendata_epci`` for opendata, else ``aggregate``."""
    if variable == "opendata" and "opendata_epci" in cities.columns and aggregate is None:
        return to_float(cities["opendata_epci"], "opendata_epci"), "opendata_epci"
    is_bool = pd.api.types.is_bool_dtype(cities[variable].dtype)
    how = aggregate or ("any" if is_bool or set(values.dropna().unique()) <= {0.0, 1.0} else "mean")
    return values, check_choice("aggregate", how, AGGREGATES)


def _aggregate(frame: pd.DataFrame, how: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per EPCI (first appearance order): aggregated value, its cities joined by commas, their number."""
    groups = frame.groupby("siren_epci", sort=False)
    if how in ("opendata_epci", "any", "max"):
        agg = groups["v"].max()
    elif how == "sum":
        agg = groups["v"].sum(min_count=1)
    else:
        agg = groups["v"].agg(how, skipna=True)
    return agg, groups["city"].agg(lambda s: ",".join(s)), groups["city"].size()


def _epci_layer(epci: Any, agg: pd.Series, cities_of: pd.Series) -> Any:
    """The EPCI polygons of ``agg``'s index, in its order; InputError naming those missing."""
    if epci is None:
        from acv_geo.read.communes import read_epci

        epci = read_epci()
    polys = keyed_polygons(epci, "siren_epci")
    missing = [s for s in agg.index if s not in polys.index]
    if missing:
        who = ", ".join(f"{s} (cities {cities_of[s]})" for s in missing[:10])
        raise InputError(
            f"{len(missing)} EPCI(s) of the cities have no polygon in the EPCI layer: {who}; pass "
            "epci= a layer holding them (acv_geo.read_epci() for the 2025 EPCIs) or fix siren_epci"
        )
    return polys.loc[list(agg.index)]


def _epci_frame(sub: Any, agg: pd.Series, cities_of: pd.Series, n_cities: pd.Series) -> Any:
    """EPCI units: name, territory (from the first city when the layer has none), cities."""
    import geopandas as gpd

    from acv_geo.core.territories import territory_of

    units = gpd.GeoDataFrame(
        {
            "nom_epci": sub["nom_epci"].to_numpy() if "nom_epci" in sub.columns else None,
            "territory": sub["territory"].to_numpy() if "territory" in sub.columns else None,
            "n_cities": n_cities.to_numpy(),
            "cities": cities_of.to_numpy(),
        },
        geometry=sub.geometry.to_numpy(),
        crs=sub.crs,
        index=pd.Index(list(agg.index), name="siren_epci"),
    )
    if units["territory"].isna().any():
        first_city = cities_of.str.split(",").str[0]
        units["territory"] = [territory_of(c) for c in first_city]
    return units


def epci_units(
    cities: pd.DataFrame, variable: str, values: pd.Series, *, epci: Any = None, aggregate: str | None = None
) -> AnalysisUnits:
    """Aggregate city values to their EPCI; units are EPCI polygons indexed by ``siren_epci``.

    Parameters
    ----------
    cities : pandas.DataFrame
        Cities indexed by ``insee_com`` with ``siren_epci`` and ``variable``.
    variable : str
        The analysed column.
    values : pandas.Series
        Its float values (:func:`acv_geo.stats.values.variable_values`).
    epci : geopandas.GeoDataFrame or path, optional
        EPCI polygons (default :func:`acv_geo.read_epci`).
    aggregate : {"mean", "sum", "min", "max", "any"}, optional
        How city values combine (default: ``opendata_epci`` for ``opendata``, ``any`` for yes/no,
        else ``mean``).

    Returns
    -------
    AnalysisUnits
        One unit per EPCI, in order of first appearance among the cities.

    Raises
    ------
    acv_geo.InputError
        If the cities have no ``siren_epci`` or an EPCI has no polygon.

    Examples
    --------
    >>> import acv_geo
    >>> cities = acv_geo.read_acv()
    >>> res = epci_units(cities, "population", variable_values(cities, "population"), aggregate="sum")
    >>> len(res.units) == cities["siren_epci"].nunique(), res.notes[-1]
    (True, "level='epci': 217 EPCIs; value = sum of the 'population' values of its cities")
    """
    siren, notes = _epci_of_cities(cities)
    vals, how = _city_values(cities, variable, values, aggregate)
    frame = pd.DataFrame({"siren_epci": siren.to_numpy(), "v": vals.to_numpy(), "city": cities.index.to_numpy()})
    agg, cities_of, n_cities = _aggregate(frame[frame["siren_epci"].notna()], how)
    units = _epci_frame(_epci_layer(epci, agg, cities_of), agg, cities_of, n_cities)
    reason = pd.Series([f"no value for {variable!r} in any of its cities ({c})" for c in cities_of], index=units.index)
    what = (
        "whether the EPCI itself publishes open data (opendata_epci)"
        if how == "opendata_epci"
        else f"{how} of the {variable!r} values of its cities"
    )
    notes.append(f"level='epci': {len(units)} EPCIs; value = {what}")
    values_out = pd.Series(agg.to_numpy(dtype="float64"), index=units.index)
    return AnalysisUnits(units, values_out, reason, "siren_epci", "EPCI", tuple(notes))


def _city_na_reason(cities: pd.DataFrame, variable: str) -> pd.Series:
    reason_text = f"no value for {variable!r} (NA): excluded from the analysis, not zero-filled"
    na_reason = pd.Series(reason_text, index=cities.index, dtype=object)
    if variable == "opendata" and "opendata_reason" in cities.columns:
        extra = cities["opendata_reason"].astype(object)
        na_reason = na_reason.where(extra.isna(), na_reason + " (" + extra.astype(str) + ")")
    return na_reason


def analysis_units(
    cities: gpd.GeoDataFrame, variable: str, options: UnitOptions, *, contiguity: bool | None
) -> AnalysisUnits:
    """The units a statistic of ``variable`` runs on, their values, and what was left out.

    Parameters
    ----------
    cities : geopandas.GeoDataFrame
        Cities indexed by ``insee_com`` (checked with :func:`check_cities`).
    variable : str
        Numeric or yes/no column.
    options : UnitOptions
        Level, EPCI and commune polygons, aggregation, territory column.
    contiguity : bool or None
        Whether the weights will be queen/rook (commune polygons are then swapped in for points);
        None when prebuilt weights are given (the cities are used as they are).

    Returns
    -------
    AnalysisUnits
        Units, values (NaN for NA), reasons and notes (a note names the units without a value).

    Raises
    ------
    acv_geo.InputError
        If the variable is missing, not numeric, all NA or constant, or the units cannot be built.

    Examples
    --------
    >>> import acv_geo
    >>> res = analysis_units(acv_geo.read_acv(), "opendata", UnitOptions(), contiguity=False)
    >>> len(res.units), int(res.values.sum()), res.what
    (244, 111, 'city')
    """
    values = variable_values(cities, variable)
    if options.level == "commune":
        units = (
            cities
            if contiguity is None
            else commune_units(
                cities, contiguity=contiguity, polygons=options.polygons, territory_column=options.territory_column
            )
        )
        id_name = units.index.name or "insee_com"
        out = AnalysisUnits(units, values, _city_na_reason(cities, variable), id_name, "city")
    else:
        out = epci_units(cities, variable, values, epci=options.epci, aggregate=options.aggregate)
    check_variation(out.values, variable, out.what)
    missing = out.values.isna().to_numpy()
    if not missing.any():
        return out
    note = (
        f"{int(missing.sum())} {out.what}(s) have no value for {variable!r} and are excluded (label 'NA'): "
        + ", ".join(map(str, out.units.index[missing][:20]))
        + (" ..." if missing.sum() > 20 else "")
    )
    return AnalysisUnits(out.units, out.values, out.na_reason, out.id_name, out.what, (*out.notes, note))


def unit_layer(cities: gpd.GeoDataFrame, options: UnitOptions, *, contiguity: bool) -> gpd.GeoDataFrame:
    """The units of ``options.level`` without values: what weights are built on.

    Parameters
    ----------
    cities : geopandas.GeoDataFrame
        Cities indexed by ``insee_com``.
    options : UnitOptions
        Level, polygons, territory column.
    contiguity : bool
        Whether the weights are queen/rook (commune polygons swapped in for points).

    Returns
    -------
    geopandas.GeoDataFrame
        The cities (:func:`commune_units`), or their EPCIs in order of first appearance (as
        :func:`epci_units` gives them).

    Examples
    --------
    >>> import acv_geo
    >>> cities = acv_geo.read_acv()
    >>> layer = unit_layer(cities, UnitOptions(level="epci"), contiguity=True)
    >>> layer.index.name, len(layer) == cities["siren_epci"].nunique()
    ('siren_epci', True)
    """
    check_cities(cities)
    if options.level == "commune":
        return commune_units(
            cities, contiguity=contiguity, polygons=options.polygons, territory_column=options.territory_column
        )
    siren, _ = _epci_of_cities(cities)
    frame = pd.DataFrame({"siren_epci": siren.to_numpy(), "v": 0.0, "city": cities.index.to_numpy()})
    agg, cities_of, n_cities = _aggregate(frame[frame["siren_epci"].notna()], "max")
    return _epci_frame(_epci_layer(options.epci, agg, cities_of), agg, cities_of, n_cities)
