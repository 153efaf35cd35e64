"""``acv-geo tables`` and ``acv-geo zonal`` command lines."""

from __future__ import annotations

import pandas as pd
import pytest

import acv_geo
from acv_geo.cli import main


def test_tables_cli_embedded(tmp_path, capsys):
    out = tmp_path / "t.csv"
    assert main(["tables", "--radon", "--catnat", "--since", "2000", "--out", str(out)]) == 0
    df = pd.read_csv(out, dtype={"insee_com": str})
    assert len(df) == 244 and df["insee_com"].is_unique
    row = df.set_index("insee_com").loc["01004"]
    assert row["radon_class"] == 2 and row["catnat_drought_count"] == 5 and row["catnat_flood_count"] == 1
    meta = pd.read_csv(tmp_path / "t.metadata.csv")
    assert {"radon_class", "catnat_total_count"} <= set(meta["column"])
    assert "244 cities" in capsys.readouterr().out


def test_tables_cli_user_table_and_errors(tmp_path, capsys):
    t = tmp_path / "pop.csv"
    t.write_text("code;val\n1004;7\n")
    out = tmp_path / "o.csv"
    assert main(["tables", "--table", str(t), "--insee-column", "code", "--prefix", "p", "--out", str(out)]) == 0
    df = pd.read_csv(out, dtype={"insee_com": str}).set_index("insee_com")
    assert df.loc["01004", "p_val"] == 7 and df["p_val"].notna().sum() == 1
    assert df["p_reason"].notna().sum() == 243
    assert main(["tables", "--out", str(out)]) == 2
    assert "nothing to join" in capsys.readouterr().err


def test_zonal_cli(tmp_path):
    out = tmp_path / "z.csv"
    rc = main(
        [
            "zonal",
            "--raster",
            str(acv_geo.get_path("dem_n45e005")),
            "--stats",
            "count,mean",
            "--threshold",
            "300",
            "--name",
            "dem",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    df = pd.read_csv(out, dtype={"insee_com": str}).set_index("insee_com")
    assert len(df) == 244
    assert df.loc["73065", "dem_mean"] == pytest.approx(309.28, abs=0.01)
    assert pd.isna(df.loc["34003", "dem_count"])  # Agde is off the DEM tile: not measured


def test_zonal_cli_bad_raster(tmp_path, capsys):
    bad = tmp_path / "x.tif"
    bad.write_text("no")
    rc = main(["zonal", "--raster", str(bad), "--out", str(tmp_path / "z.csv")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "x.tif" in err
