"""Readers of polygon layers (communes by INSEE code, EPCIs by SIREN, any zones) and of every commune.

:func:`read_all_communes` gives every French commune as points, shaped like :func:`acv_geo.read_acv`.

The readers check the layer (CRS, unique codes, no empty layer), repair what can be repaired (codes that
lost their leading zero, invalid polygons, each reported in ``attrs["acv_geo_repairs"]``) and return
EPSG:4326 polygons indexed by their code with their ``territory``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from acv_geo.core.codes import normalize_insee, normalize_siren, slugify
from acv_geo.core.datasets import get_path
from acv_geo.core.errors import InputError
from acv_geo.core.files import RepairLog
from acv_geo.core.territories import check_extent, territory_of, territory_of_areas
from acv_geo.read.reference import departements, epci_names, reference_communes
from acv_geo.read.repairs import REPAIRS
from acv_geo.read.text import check_file

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "INSEE_FIELDS",
    "SIREN_FIELDS",
    "read_all_communes",
    "read_communes",
    "read_epci",
    "read_polygons",
]

#: Slugified field names read as the INSEE commune code (city lists and commune layers).
INSEE_FIELDS: tuple[str, ...] = (
    "insee_com",
    "code_insee_commune",
    "code_insee",
    "insee",
    "codgeo",
    "code_commune_insee",
    "code_commune",
    "com",
    "insee_commune",
    "code_insee_com",
)
#: Slugified field names read as the SIREN of an EPCI layer.
SIREN_FIELDS: tuple[str, ...] = ("siren_epci", "siren", "code_siren", "epci_siren", "code_epci", "siren_groupement")

_FORMATS = "give a GeoPackage, Shapefile, GeoJSON, FlatGeobuf or GeoParquet file"


def _read_layer(path: Path, layer: str | None, what: str) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pyogrio

    check_file(path)
    try:
        gdf = gpd.read_parquet(path) if path.suffix.lower() == ".parquet" else gpd.read_file(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise InputError(f"{path}: cannot read {what} ({exc}); {_FORMATS}") from None
    if gdf.crs is not None and len(gdf):
        check_extent(gdf.total_bounds, gdf.crs, source=str(path))
    return gdf


def _check_layer(gdf: gpd.GeoDataFrame, path: Path, what: str) -> None:
    if len(gdf) == 0:
        raise InputError(f"{path}: the {what} layer has no feature")
    if gdf.crs is None:
        raise InputError(f"{path}: the {what} layer has no CRS; assign one (e.g. ogr2ogr -a_srs EPSG:2154)")


def _key_codes(gdf: gpd.GeoDataFrame, path: Path, key: str, key_aliases: tuple[str, ...]) -> gpd.GeoDataFrame:
    """The layer with its code field normalised as the column ``key`` (unique codes checked)."""
    cols = {slugify(c): c for c in gdf.columns if c != gdf.geometry.name}
    found = next((cols[a] for a in key_aliases if a in cols), None)
    if found is None:
        raise InputError(
            f"{path}: no {key} column among {list(cols.values())[:25]}; expected one of {list(key_aliases)}"
        )
    norm = normalize_insee if key == "insee_com" else normalize_siren
    codes = norm(gdf[found])
    if codes.isna().any():
        i = int(np.flatnonzero(codes.isna().to_numpy())[0])
        raise InputError(f"{path}: feature {i + 1}, column {found!r}: {gdf[found].iloc[i]!r} is not a valid {key}")
    gdf = gdf.drop(columns=[found]).assign(**{key: codes.astype(str).to_numpy()})
    dup = gdf[key].duplicated()
    if dup.any():
        raise InputError(
            f"{path}: {key} {gdf.loc[dup, key].iloc[0]} appears in more than one feature; "
            "dissolve the layer by that code first"
        )
    return gdf


def _repair_geometries(gdf: gpd.GeoDataFrame, key: str, report: RepairLog) -> gpd.GeoDataFrame:
    import shapely

    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    if empty.any():
        report.add(
            "feature without geometry",
            "geometry",
            list(gdf.loc[empty, key]),
            "features without geometry kept with an empty geometry",
        )
    invalid = ~empty & ~gdf.geometry.is_valid
    if invalid.any():
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = shapely.make_valid(gdf.geometry[invalid].to_numpy())
        report.add(
            "invalid geometry repaired",
            "geometry",
            list(gdf.loc[invalid, key]),
            f"{int(invalid.sum())} invalid polygons repaired with make_valid",
        )
    return gdf


def _finish_polygons(
    gdf: gpd.GeoDataFrame, path: Path, key: str, key_aliases: tuple[str, ...], report: RepairLog, what: str
) -> gpd.GeoDataFrame:
    _check_layer(gdf, path, what)
    gdf = _key_codes(gdf, path, key, key_aliases)
    gdf = _repair_geometries(gdf, key, report).set_index(key)
    if gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    gdf.attrs[REPAIRS] = list(report.rows)
    return gdf


def read_communes(
    source: str | os.PathLike[str] | None = None, *, layer: str | None = None, codes: Iterable[Any] | None = None
) -> gpd.GeoDataFrame:
    """Read commune polygons indexed by INSEE code.

    Parameters
    ----------
    source : str or path-like, optional
        ``None`` for the embedded polygons of the 244 ACV communes (IGN ADMIN EXPRESS COG 2025), or
        any OGR-readable polygon layer (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet) with
        an INSEE column (``insee_com``, ``INSEE_COM``, ``code_insee``, ``codgeo``…).
    layer : str, optional
        Layer name in a multi-layer file.
    codes : iterable of str, optional
        Keep only these INSEE codes (normalised first); codes not found are reported.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``insee_com``, EPSG:4326 polygons, the layer's attributes plus ``territory``.

    Raises
    ------
    acv_geo.InputError
        Missing INSEE column, layer without CRS, duplicate codes, empty layer.

    Examples
    --------
    >>> import acv_geo
    >>> com = acv_geo.read_communes()
    >>> len(com), com.loc["2A004", "territory"]
    (244, 'metropole')
    """
    path = Path(source) if source is not None else get_path("acv_communes_polygons")
    report = RepairLog(str(path) if source is not None else "embedded ACV commune polygons")
    gdf = _read_layer(path, layer, "commune")
    gdf = _finish_polygons(gdf, path, "insee_com", INSEE_FIELDS, report, "commune")
    if codes is not None:
        wanted = [normalize_insee(c) for c in codes]
        missing = [c for c in wanted if c not in gdf.index]
        if missing:
            report.add("commune not found", "insee_com", missing, "codes asked for but absent from the layer")
        gdf = gdf.loc[[c for c in wanted if c in gdf.index]]
    gdf["territory"] = [territory_of(c) for c in gdf.index]
    gdf.attrs[REPAIRS] = list(report.rows)
    return gdf


def read_epci(source: str | os.PathLike[str] | None = None, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read EPCI polygons indexed by SIREN.

    Parameters
    ----------
    source : str or path-like, optional
        ``None`` for the embedded 1,255 EPCI à fiscalité propre of 2025 (IGN ADMIN EXPRESS COG CARTO,
        mainland and overseas at true positions), or any OGR-readable polygon layer with a SIREN
        column (``siren_epci``, ``SIREN``, ``CODE_SIREN``…).
    layer : str, optional
        Layer name in a multi-layer file.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``siren_epci`` (9-character text), EPSG:4326 polygons, the layer's attributes plus
        ``territory``.

    Raises
    ------
    acv_geo.InputError
        Missing SIREN column, layer without CRS, duplicate SIRENs, empty layer.

    Examples
    --------
    >>> import acv_geo
    >>> epci = acv_geo.read_epci()
    >>> len(epci), epci.loc["245701362", "nom_epci"]
    (1255, 'CA Portes de France-Thionville')
    """
    import shapely

    path = Path(source) if source is not None else get_path("epci")
    report = RepairLog(str(path) if source is not None else "embedded EPCI polygons")
    gdf = _read_layer(path, layer, "EPCI")
    gdf = _finish_polygons(gdf, path, "siren_epci", SIREN_FIELDS, report, "EPCI")
    # territory from the polygon's position (an EPCI SIREN does not say where it is)
    pts = shapely.point_on_surface(gdf.geometry.to_numpy())
    terr = territory_of_areas(pts, gdf.index, source=report.path, what="EPCI polygon", key="SIREN")
    gdf["territory"] = terr
    gdf.attrs[REPAIRS] = list(report.rows)
    return gdf


def read_all_communes(
    *, observatory: str | os.PathLike[str] | None = "odater_2022", previous: str | os.PathLike[str] | None = None
) -> gpd.GeoDataFrame:
    """Every French commune (34,867, COG 2025) as points, shaped like :func:`acv_geo.read_acv`.

    Use it to compare the ACV towns with all communes: the indicator and cluster functions take it
    as ``cities`` (commune zones then need a national commune polygon layer, e.g.
    ``acv_geo.read_communes("COMMUNE.shp")`` from IGN ADMIN EXPRESS, see ``acv-geo fetch``).

    Parameters
    ----------
    observatory : str or path-like or None, default ``"odater_2022"``
        Observatory export for the open-data columns (see :func:`acv_geo.opendata_status`);
        ``None`` leaves them NA.
    previous : str or path-like or None, default None
        Earlier export for the change columns.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``insee_com``; EPSG:4326 representative points (inside each commune polygon);
        columns ``commune, siren_epci, epci, region, departement, code_dep, code_reg, territory,
        population, siren_com, acv`` (True for the 244 ACV towns) and the open-data columns.

    Examples
    --------
    >>> import acv_geo
    >>> allc = acv_geo.read_all_communes()
    >>> len(allc), int(allc["acv"].sum()), allc.loc["2B033", "territory"]
    (34867, 244, 'metropole')
    """
    import geopandas as gpd

    ref = reference_communes()
    deps = departements()
    out = pd.DataFrame(index=ref.index.copy())
    out.index.name = "insee_com"
    out["commune"] = ref["nom_com"]
    out["siren_epci"] = ref["siren_epci"]
    out["epci"] = out["siren_epci"].map(epci_names())
    out["code_dep"] = ref["insee_dep"]
    out["code_reg"] = ref["insee_reg"]
    out["departement"] = out["code_dep"].map(deps["departement"])
    out["region"] = out["code_reg"].map(deps.drop_duplicates("code_reg").set_index("code_reg")["region"])
    out["territory"] = [territory_of(c) for c in out.index]
    out["population"] = pd.to_numeric(ref["population_municipale"]).round().astype("Int64")
    out["siren_com"] = ref["siren_com"]
    acv = pd.read_csv(get_path("acv_communes"), dtype=str)["insee_com"]
    out["acv"] = out.index.isin(set(acv))
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(ref["lon"], ref["lat"]), crs=4326)
    if observatory is not None:
        from acv_geo.read.opendata import opendata_status

        gdf = opendata_status(gdf, observatory=observatory, previous=previous)
    return gdf


def _polygon_kind(path: Path, layer: str | None) -> str:
    """``"commune"`` or ``"epci"`` from the layer's fields (an INSEE or a SIREN field)."""
    import pyogrio

    try:
        fields = [slugify(f) for f in pyogrio.read_info(path, layer=layer)["fields"]]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(
            f"{path}: cannot read the polygon layer ({exc}); give a GeoPackage, Shapefile, GeoJSON or FlatGeobuf file"
        ) from None
    if any(a in fields for a in INSEE_FIELDS):
        return "commune"
    if any(a in fields for a in SIREN_FIELDS):
        return "epci"
    raise InputError(
        f"{path}: no INSEE or SIREN field among {fields[:25]}; name the field that identifies "
        "each polygon (CLI --zones-id FIELD, Python key=)"
    )


def _polygons_by_key(path: Path, key: str, layer: str | None) -> gpd.GeoDataFrame:
    gdf = _read_layer(path, layer, "polygon")
    if key not in gdf.columns:
        raise InputError(f"{path}: no field {key!r}; fields: {[c for c in gdf.columns if c != 'geometry'][:25]}")
    _check_layer(gdf, path, "polygon")
    ids = gdf[key].astype(str)
    if gdf[key].isna().any() or ids.duplicated().any():
        bad = ids[gdf[key].isna() | ids.duplicated(keep=False)].unique().tolist()[:5]
        raise InputError(f"{path}: field {key!r} must identify each polygon once; empty or repeated values {bad}")
    return gdf.drop(columns=[key]).set_index(pd.Index(ids.to_numpy(), name=key))


def read_polygons(
    source: str | os.PathLike[str], *, key: str | None = None, layer: str | None = None
) -> tuple[gpd.GeoDataFrame, str]:
    """Read a polygon layer whose every polygon is a zone: communes, EPCIs, or any areas.

    Parameters
    ----------
    source : str or path-like
        Any OGR-readable polygon layer (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet).
    key : str, optional
        Field identifying each polygon (unique values), kept as the index. Default: an INSEE column
        (``insee_com``, ``code_insee``…: read as communes, see :func:`read_communes`), else a SIREN
        column (read as EPCIs, see :func:`read_epci`).
    layer : str, optional
        Layer name in a multi-layer file.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, str)
        The polygons (index ``insee_com``, ``siren_epci`` or ``key``) and their kind for
        :func:`acv_geo.polygon_zones`: ``"commune"``, ``"epci"`` or ``"polygon"``.

    Raises
    ------
    acv_geo.InputError
        No identifying field (the message lists the fields), a missing or non-unique ``key``, a layer
        without CRS or without feature.

    Examples
    --------
    >>> import acv_geo
    >>> polygons, kind = read_polygons(acv_geo.get_path("acv_communes_polygons"))
    >>> len(polygons), polygons.index.name, kind
    (244, 'insee_com', 'commune')
    """
    path = Path(source)
    check_file(path)
    if key is not None:
        return _polygons_by_key(path, key, layer), "polygon"
    kind = _polygon_kind(path, layer)
    if kind == "commune":
        return read_communes(path, layer=layer), kind
    return read_epci(path, layer=layer), kind
