"""Package-level promises: light import, datasets registry, territories, codes, writers, CLI."""

from __future__ import annotations

import re
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

import acv_geo
from acv_geo.cli import main
from acv_geo.core.metadata import attach_metadata


def test_import_is_light():
    code = (
        "import sys, acv_geo; acv_geo.__version__; "
        "heavy = [m for m in ('matplotlib', 'rasterio', 'esda', 'libpysal', 'geopandas', 'exactextract') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_resolve():
    """Every public name is the object its module defines and exports (lazy import, no copy)."""
    import importlib

    for name in acv_geo.__all__:
        if name == "__version__":
            assert re.fullmatch(r"\d+\.\d+(\.\d+)?\S*", acv_geo.__version__)
            continue
        module = importlib.import_module(f"acv_geo.{acv_geo._EXPORTS[name]}")
        assert getattr(acv_geo, name) is getattr(module, name), name
        assert name in module.__all__, f"{name} is exported by acv_geo but not in {module.__name__}.__all__"
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        acv_geo.nope  # noqa: B018


def test_datasets_registry():
    names = acv_geo.list_datasets()
    for n in names:
        assert acv_geo.get_path(n).is_file(), n
    with pytest.raises(ValueError, match=r"unknown dataset 'radom'; valid names are: acv_communes, "):
        acv_geo.get_path("radom")


def test_data_folder_is_small():
    total = sum(acv_geo.get_path(n).stat().st_size for n in acv_geo.list_datasets())
    assert total < 15e6


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1053", "01053"),
        ("01053", "01053"),
        (1053, "01053"),
        ("1053.0", "01053"),
        ("2a004", "2A004"),
        ("\u200e97105", "97105"),
        ("", None),
        (None, None),
        ("123", None),
        ("2C004", None),
    ],
)
def test_normalize_insee(raw, expected):
    assert acv_geo.normalize_insee(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (200070993.0, "200070993"),
        ("2.00070993E8", "200070993"),
        ("20007099", "020007099"),
        ("\u200e213500010", "213500010"),
        ("abc", None),
        ("1234567890", None),
    ],
)
def test_normalize_siren(raw, expected):
    assert acv_geo.normalize_siren(raw) == expected


def test_territory_of():
    assert [acv_geo.territory_of(c) for c in ("97105", "97209", "97302", "97407", "97611", "2B033", "01053")] == [
        "guadeloupe",
        "martinique",
        "guyane",
        "reunion",
        "mayotte",
        "metropole",
        "metropole",
    ]
    with pytest.raises(ValueError, match="'975' is not 5 characters long"):
        acv_geo.territory_of("975")


def _table():
    df = gpd.GeoDataFrame(
        {"x_pct": [1.5, 2.0]},
        index=pd.Index(["01053", "2A004"], name="insee_com"),
        geometry=[Point(5, 46), Point(8.7, 41.9)],
        crs=4326,
    )
    return attach_metadata(
        df, [{"column": "x_pct", "unit": "%", "source": "test", "date": "2025", "description": "share"}]
    )


@pytest.mark.parametrize("ext", [".gpkg", ".geojson", ".csv", ".parquet"])
def test_write_table_roundtrip_keeps_codes(tmp_path, ext):
    path = acv_geo.write_table(_table(), tmp_path / f"out{ext}")
    if ext == ".csv":
        back = pd.read_csv(path, dtype={"insee_com": str})
    elif ext == ".parquet":
        back = gpd.read_parquet(path)
    else:
        back = gpd.read_file(path)
    assert back["insee_com"].tolist() == ["01053", "2A004"]
    assert back["x_pct"].tolist() == [1.5, 2.0]
    meta = pd.read_csv(tmp_path / "out.metadata.csv", dtype=str, keep_default_na=False)
    assert meta.to_dict("records") == [
        {
            "column": "insee_com",
            "label_fr": "Code INSEE de la commune",
            "label_en": "INSEE commune code",
            "unit": "code",
            "source": "",
            "date": "",
            "description": "Official commune code (COG 2025)",
            "role": "context",
            "scored": "",
        },
        {
            "column": "x_pct",
            "label_fr": "x : part de la zone (%)",
            "label_en": "x: share of the zone (%)",
            "unit": "%",
            "source": "test",
            "date": "2025",
            "description": "share",
            "role": "",
            "scored": "",
        },
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"out{ext}", "out.metadata.csv"])


def test_gpkg_written_row_by_row_where_gdal_has_no_arrow_write(tmp_path, monkeypatch):
    """GDAL < 3.8 refuses the Arrow write: the same layer is written the classic way."""
    import pyogrio

    arrow = acv_geo.write_table(_table(), tmp_path / "arrow.gpkg")
    real = pyogrio.write_dataframe
    calls = []

    def old_gdal(*args, use_arrow=False, **kwargs):
        calls.append(use_arrow)
        if use_arrow:
            raise RuntimeError("GDAL >= 3.8 required to write using arrow")
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", old_gdal)
    classic = acv_geo.write_table(_table(), tmp_path / "classic.gpkg")
    assert calls == [True, False]
    a, b = gpd.read_file(arrow), gpd.read_file(classic)
    assert a.equals(b) and a["insee_com"].tolist() == ["01053", "2A004"]
    assert list(pyogrio.read_info(arrow)["ogr_types"]) == list(pyogrio.read_info(classic)["ogr_types"])


def test_write_table_errors_leave_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"unknown output format '\.shp'; use one of \.gpkg, \.geojson"):
        acv_geo.write_table(_table(), tmp_path / "out.shp")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        acv_geo.write_table(_table(), tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        acv_geo.write_table(_table(), tmp_path / "no" / "out.csv")
    assert list(tmp_path.iterdir()) == []


def test_cli_cities(tmp_path, capsys):
    out = tmp_path / "cities.gpkg"
    assert main(["cities", "--out", str(out)]) == 0
    msg = capsys.readouterr().out
    assert "244 cities written" in msg and "111 publish open data" in msg
    back = gpd.read_file(out, layer="cities")
    assert len(back) == 244 and back["insee_com"].is_unique
    assert back.set_index("insee_com").loc["2A004", "commune"] == "Ajaccio"


def test_cli_bad_source(tmp_path, capsys):
    assert main(["cities", "--source", str(tmp_path / "x.csv"), "--out", str(tmp_path / "o.csv")]) == 2
    assert "acv-geo: error: " in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()
