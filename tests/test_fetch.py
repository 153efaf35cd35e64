"""``acv_geo.fetch``: downloads from a local HTTP server (never the internet), cache, archives, schema."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon

import acv_geo
from acv_geo.cli import main
from acv_geo.sources.cache import list_sources, resolve_source, source_info, source_path
from acv_geo.sources.catalogue import load_catalogue
from acv_geo.sources.errors import FetchError
from acv_geo.sources.fetching import fetch


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


# --------------------------------------------------------------------------------------------
# fixture files in the real formats


def _square(x0, y0, size=100.0):
    return Polygon([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)])


def _shapefile_zip(tmp, folder, layers):
    """zip of shapefiles: ``layers`` is {stem: GeoDataFrame}; stored under ``folder/``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for stem, gdf in layers.items():
            d = tmp / f"shp_{stem}"
            d.mkdir()
            gdf.to_file(d / f"{stem}.shp")
            for f in sorted(d.iterdir()):
                zf.write(f, f"{folder}/{f.name}")
    return buf.getvalue()


def _argiles_gdf(levels=(1, 2, 3), field="niveau"):
    return gpd.GeoDataFrame(
        {field: list(levels)},
        geometry=[_square(700000 + 1000 * i, 6600000) for i in range(len(levels))],
        crs=2154,
    )


def _zip_members(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            if isinstance(name, zipfile.ZipInfo):
                zf.writestr(name, data)
            else:
                zf.writestr(name, data)
    return buf.getvalue()


RADON_CSV = "nom_comm;insee_com;classe_potentiel\nAmbérieu-en-Bugey;01004;2\nBourg-en-Bresse;01053;1\n".encode()


def _entry(url, fmt, layers, **extra):
    e = {
        "title": "test source",
        "publisher": "tests",
        "url": url,
        "doc": "https://example.invalid/doc",
        "format": fmt,
        "licence": "Licence Ouverte",
        "preset": None,
        "layers": layers,
        "verified": True,
    }
    e.update(extra)
    return e


def _no_leftovers(key_dir: Path):
    """Nothing half-written: no manifest, no files, no .part, no staging folder."""
    if not key_dir.exists():
        return True
    return sorted(p.name for p in key_dir.iterdir()) == []


# --------------------------------------------------------------------------------------------
# good downloads


def test_csv_download_manifest_and_lookups(server, cache):
    server.files["/radon.csv"] = RADON_CSV
    cat = {
        "sources": {
            "radon": _entry(
                f"{server.base}/radon.csv",
                "csv",
                [{"name": "table", "fields": ["insee_com", "classe_potentiel"]}],
                sep=";",
                preset="radon",
            )
        }
    }
    res = fetch("radon", cache_dir=cache, catalogue=cat, progress=False)
    src = res["radon"]
    assert src.status == "downloaded" and src.preset == "radon"
    assert src.path == cache / "radon" / "files" / "radon.csv"
    assert src.path.read_bytes() == RADON_CSV
    assert src.sha256 == hashlib.sha256(RADON_CSV).hexdigest() and src.size == len(RADON_CSV)
    manifest = json.loads((cache / "radon" / "manifest.json").read_text())
    assert manifest["url"] == f"{server.base}/radon.csv"
    assert manifest["etag"] == '"' + hashlib.sha256(RADON_CSV).hexdigest()[:16] + '"'
    assert manifest["last_modified"] == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert manifest["sha256"] == src.sha256 and manifest["size"] == len(RADON_CSV)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", manifest["date"])
    assert manifest["layers"]["table"]["path"] == "files/radon.csv"
    assert sorted(p.name for p in (cache / "radon").iterdir()) == ["files", "manifest.json"]
    # lookups
    assert source_path("radon", cache_dir=cache, catalogue=cat) == src.path
    assert resolve_source("radon", cache_dir=cache, catalogue=cat) == src.path
    assert source_info("radon", cache_dir=cache, catalogue=cat).sha256 == src.sha256
    frame = res.to_frame()
    assert frame.loc["radon", "status"] == "downloaded" and frame.loc["radon", "size"] == len(RADON_CSV)
    # the fetched file feeds the real radon indicator
    cities = __import__("pandas").DataFrame(index=__import__("pandas").Index(["01004", "01053"], name="insee_com"))
    assert acv_geo.radon_indicators(cities, src.path)["radon_class"].tolist() == [2, 1]
    # second call: cached, no request; force: downloaded again
    n = len(server.requests)
    assert fetch("radon", cache_dir=cache, catalogue=cat, progress=False)["radon"].status == "cached"
    assert len(server.requests) == n
    assert fetch("radon", cache_dir=cache, catalogue=cat, progress=False, force=True)["radon"].status == "downloaded"
    assert len(server.requests) == n + 1
    # offline works from the cache
    assert fetch(["radon"], cache_dir=cache, catalogue=cat, offline=True)["radon"].path == src.path


def test_zip_of_shapefile_checked_and_found(server, cache, tmp_path):
    body = _shapefile_zip(tmp_path, "AleaRG_2025_Fxx_L93", {"AleaRG_2025_Fxx_L93": _argiles_gdf()})
    server.files["/argiles/AleaRG.zip"] = body
    cat = {
        "sources": {
            "argiles": _entry(
                f"{server.base}/argiles/AleaRG.zip",
                "zip",
                [{"name": "exposition", "member": "AleaRG*.shp", "fields": ["NIVEAU"]}],
            )
        }
    }
    src = fetch("argiles", cache_dir=cache, catalogue=cat, progress=False)["argiles"]
    assert src.path.name == "AleaRG_2025_Fxx_L93.shp" and src.path.parent.name == "AleaRG_2025_Fxx_L93"
    gdf = gpd.read_file(src.path)
    assert gdf["niveau"].tolist() == [1, 2, 3] and gdf.crs.to_epsg() == 2154
    assert gdf.area.sum() == pytest.approx(3 * 100.0 * 100.0)
    assert src.sha256 == hashlib.sha256(body).hexdigest()
    assert not any(p.suffix == ".part" for p in (cache / "argiles").iterdir())  # archive dropped after extraction


def test_merge_of_department_layers(server, cache, tmp_path):
    a = gpd.GeoDataFrame(
        {"id_tri": ["FRD_TRI_A"] * 2, "typ_inond": ["01", "01"], "scenario": ["01For", "02Moy"], "extra": [1, 2]},
        geometry=[_square(0, 0), _square(200, 0, 50)],
        crs=2154,
    )
    b = gpd.GeoDataFrame(
        {"ID_TRI": ["FRD_TRI_B"], "TYP_INOND": ["03"], "SCENARIO": ["04Fai"]}, geometry=[_square(0, 0, 10)], crs=2154
    ).to_crs(4326)
    body = _shapefile_zip(
        tmp_path,
        "tri_34",
        {
            "n_tri_a_inondable_01_01for_s_034": a,
            "n_tri_b_inondable_03_04fai_s_034": b,
            "n_tri_a_zone_s_034": a[["id_tri", "geometry"]],
        },
    )
    server.files["/di/tri_34.zip"] = body
    cat = {
        "sources": {
            "tri": _entry(
                None,
                "zip",
                [
                    {
                        "name": "inondable",
                        "member": "*inondable*_s_*.shp",
                        "merge": True,
                        "fields": ["id_tri", "typ_inond", "scenario"],
                        "keep": ["extra", "absent"],
                    }
                ],
                url_department=f"{server.base}/di/tri_{{dep}}.zip",
                preset="tri",
            )
        }
    }
    with pytest.raises(ValueError, match="published per department; name one, e.g. 'tri:34'"):
        fetch("tri", cache_dir=cache, catalogue=cat)
    src = fetch("tri:34", cache_dir=cache, catalogue=cat, progress=False)["tri:34"]
    assert src.path == cache / "tri_34" / "files" / "inondable.gpkg" and src.layer == "inondable"
    merged = gpd.read_file(src.path, layer="inondable")
    assert len(merged) == 3  # the 'zone' layer is not merged
    assert list(merged.columns) == ["id_tri", "typ_inond", "scenario", "extra", "absent", "source_file", "geometry"]
    assert merged["extra"].tolist()[:2] == [1, 2] and merged["extra"].isna().sum() == 1
    assert merged["absent"].isna().all()
    assert sorted(merged["scenario"]) == ["01For", "02Moy", "04Fai"]
    assert merged.crs.to_epsg() == 2154  # the WGS84 member was reprojected to the first member's CRS
    assert merged.area.sum() == pytest.approx(100 * 100 + 50 * 50 + 10 * 10, rel=1e-6)
    assert set(merged["source_file"]) == {
        "n_tri_a_inondable_01_01for_s_034.shp",
        "n_tri_b_inondable_03_04fai_s_034.shp",
    }
    assert source_path("tri:34", cache_dir=cache, catalogue=cat) == src.path
    with pytest.raises(FileNotFoundError, match=r"run `acv-geo fetch tri:85"):
        source_path("tri:85", cache_dir=cache, catalogue=cat)
    with pytest.raises(ValueError, match="'9Z' is not a department code"):
        fetch("tri:9Z", cache_dir=cache, catalogue=cat)


def test_geopackage_layers_and_json(server, cache, tmp_path):
    communes = gpd.GeoDataFrame(
        {"code_insee": ["01004"], "nom_officiel": ["Ambérieu-en-Bugey"]}, geometry=[_square(0, 0)], crs=2154
    )
    epci = gpd.GeoDataFrame({"code_siren": ["240100883"]}, geometry=[_square(0, 0, 300)], crs=2154)
    gpkg = tmp_path / "ADE.gpkg"
    communes.to_file(gpkg, layer="commune")
    epci.to_file(gpkg, layer="epci")
    server.files["/ade.zip"] = _zip_members([("ADMIN-EXPRESS-COG/1_DONNEES/ADE.gpkg", gpkg.read_bytes())])
    records = [
        {"Code INSEE Commune": "40192", "Opendata_COM_EPCI": "OUI"},
        {"Code INSEE Commune": "71076", "Opendata_COM_EPCI": "OUI"},
    ]
    server.files["/export/json"] = json.dumps(records).encode()
    cat = {
        "sources": {
            "ade": _entry(
                f"{server.base}/ade.zip",
                "zip",
                [
                    {
                        "name": "commune",
                        "member": "*.gpkg",
                        "layer": "commune",
                        "fields": ["code_insee", "nom_officiel"],
                    },
                    {"name": "epci", "member": "*.gpkg", "layer": "epci", "fields": ["code_siren"]},
                ],
            ),
            "cdc": _entry(
                f"{server.base}/export/json",
                "json",
                [{"name": "table", "fields": ["Code INSEE Commune", "Opendata_COM_EPCI"]}],
                filename="cdc.json",
            ),
        }
    }
    res = fetch(["ade", "cdc"], cache_dir=cache, catalogue=cat, progress=False)
    ade = res["ade"]
    assert ade.layer == "commune" and ade.layers["epci"][1] == "epci"
    assert source_path("ade/epci", cache_dir=cache, catalogue=cat) == ade.path
    assert gpd.read_file(ade.path, layer="epci")["code_siren"].tolist() == ["240100883"]
    assert json.loads(res["cdc"].path.read_text()) == records and res["cdc"].path.name == "cdc.json"
    with pytest.raises(ValueError, match="has no layer 'region'; its layers are: commune, epci"):
        source_path("ade/region", cache_dir=cache, catalogue=cat)


# --------------------------------------------------------------------------------------------
# resume


def test_interrupted_download_resumes_with_range(server, cache):
    body = bytes(range(256)) * 4096  # 1 MiB
    server.files["/big.csv"] = b"insee_com;classe_potentiel\n" + body
    server.modes["/big.csv"] = "interrupt_once"
    full = server.files["/big.csv"]
    cat = {"sources": {"big": _entry(f"{server.base}/big.csv", "csv", [{"name": "table", "fields": ["insee_com"]}])}}
    with pytest.raises(FetchError, match=r"interrupted after .*run the same command again to resume"):
        fetch("big", cache_dir=cache, catalogue=cat, progress=False)
    part = cache / "big" / "big.csv.part"
    assert part.exists() and part.stat().st_size == len(full) // 2
    assert not (cache / "big" / "manifest.json").exists() and not (cache / "big" / "files").exists()
    src = fetch("big", cache_dir=cache, catalogue=cat, progress=False)["big"]
    assert src.status == "resumed"
    path, headers = server.requests[-1]
    assert headers["Range"] == f"bytes={len(full) // 2}-"
    assert headers["If-Range"] == '"' + hashlib.sha256(full).hexdigest()[:16] + '"'
    assert src.path.read_bytes() == full and src.sha256 == hashlib.sha256(full).hexdigest()
    assert not part.exists()


def test_server_ignoring_range_restarts_cleanly(server, cache):
    full = b"insee_com;classe_potentiel\n" + b"01004;2\n" * 50000
    server.files["/r.csv"] = full
    server.modes["/r.csv"] = "interrupt_then_ignore_range"
    cat = {"sources": {"r": _entry(f"{server.base}/r.csv", "csv", [{"name": "table", "fields": ["insee_com"]}])}}
    with pytest.raises(FetchError, match="interrupted"):
        fetch("r", cache_dir=cache, catalogue=cat, progress=False)
    src = fetch("r", cache_dir=cache, catalogue=cat, progress=False)["r"]
    assert server.requests[-1][1]["Range"].startswith("bytes=")
    assert src.status == "downloaded"  # answered 200: restarted from zero, not appended
    assert src.path.read_bytes() == full and src.size == len(full)


# --------------------------------------------------------------------------------------------
# failures leave nothing half-written


def test_checksum_mismatch(server, cache):
    server.files["/radon.csv"] = RADON_CSV
    cat = {
        "sources": {
            "radon": _entry(f"{server.base}/radon.csv", "csv", [{"name": "table", "fields": []}], sha256="0" * 64)
        }
    }
    with pytest.raises(
        FetchError,
        match=r"checksum mismatch .*expected sha256 0{64} \(catalogue entry 'radon'\), "
        rf"got {hashlib.sha256(RADON_CSV).hexdigest()}",
    ):
        fetch("radon", cache_dir=cache, catalogue=cat, progress=False)
    assert _no_leftovers(cache / "radon")
    # the right checksum passes
    cat["sources"]["radon"]["sha256"] = hashlib.sha256(RADON_CSV).hexdigest()
    assert fetch("radon", cache_dir=cache, catalogue=cat, progress=False)["radon"].status == "downloaded"


def test_checksum_mismatch_keeps_previous_version(server, cache):
    server.files["/radon.csv"] = RADON_CSV
    cat = {"sources": {"radon": _entry(f"{server.base}/radon.csv", "csv", [{"name": "table", "fields": []}])}}
    first = fetch("radon", cache_dir=cache, catalogue=cat, progress=False)["radon"]
    cat["sources"]["radon"]["sha256"] = "f" * 64
    with pytest.raises(FetchError, match="checksum mismatch"):
        fetch("radon", cache_dir=cache, catalogue=cat, progress=False, force=True)
    assert first.path.read_bytes() == RADON_CSV
    assert sorted(p.name for p in (cache / "radon").iterdir()) == ["files", "manifest.json"]


@pytest.mark.parametrize(
    ("member", "why"),
    [("../evil.csv", "'..' in path"), ("/tmp/abs_evil.csv", "absolute path"), ("a/../../evil.csv", "'..' in path")],
)
def test_zip_path_traversal_refused(server, cache, tmp_path, member, why):
    server.files["/bad.zip"] = _zip_members([("ok.csv", "a;b\n1;2\n"), (member, "pwned")])
    cat = {
        "sources": {"bad": _entry(f"{server.base}/bad.zip", "zip", [{"name": "t", "member": "ok.csv", "fields": []}])}
    }
    with pytest.raises(
        FetchError,
        match=rf"archive member '{re.escape(member)}' refused \({re.escape(why)}\); "
        "nothing was extracted",
    ):
        fetch("bad", cache_dir=cache, catalogue=cat, progress=False)
    assert _no_leftovers(cache / "bad")
    assert not (cache / "evil.csv").exists() and not Path("/tmp/abs_evil.csv").exists()
    assert not list(cache.rglob("ok.csv"))


def test_zip_symlink_and_bomb_refused(server, cache):
    link = zipfile.ZipInfo("link.csv")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    server.files["/link.zip"] = _zip_members([(link, "/etc/passwd")])
    big = b"0" * (4 << 20)  # 4 MiB of zeros deflates about 1000 times
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("zeros.csv", big)
    server.files["/bomb.zip"] = buf.getvalue()
    server.files["/big.zip"] = _zip_members([("a.csv", "x" * 5000)])
    layers = [{"name": "t", "member": "*.csv", "fields": []}]
    cat = {
        "sources": {
            "link": _entry(f"{server.base}/link.zip", "zip", layers),
            "bomb": _entry(f"{server.base}/bomb.zip", "zip", layers),
            "big": _entry(f"{server.base}/big.zip", "zip", layers, max_extracted_bytes=1000),
        }
    }
    with pytest.raises(FetchError, match=r"'link.csv' refused \(symbolic link\)"):
        fetch("link", cache_dir=cache, catalogue=cat, progress=False)
    with pytest.raises(FetchError, match=r"'zeros.csv' expands \d+ times .*zip bomb"):
        fetch("bomb", cache_dir=cache, catalogue=cat, progress=False)
    with pytest.raises(FetchError, match=r"would expand to 4.9 KiB \(limit 1000 B\); refused"):
        fetch("big", cache_dir=cache, catalogue=cat, progress=False)
    for key in ("link", "bomb", "big"):
        assert _no_leftovers(cache / key)


def test_schema_change_names_missing_field(server, cache, tmp_path):
    server.files["/radon.csv"] = b"insee_com;classe\n01004;2\n"
    body = _shapefile_zip(tmp_path, "x", {"AleaRG_2025": _argiles_gdf(field="alea")})
    server.files["/argiles.zip"] = body
    cat = {
        "sources": {
            "radon": _entry(
                f"{server.base}/radon.csv", "csv", [{"name": "table", "fields": ["insee_com", "classe_potentiel"]}]
            ),
            "argiles": _entry(
                f"{server.base}/argiles.zip",
                "zip",
                [{"name": "exposition", "member": "AleaRG*.shp", "fields": ["niveau"]}],
            ),
            "moved": _entry(
                f"{server.base}/argiles.zip",
                "zip",
                [{"name": "exposition", "member": "Expo*.shp", "fields": ["niveau"]}],
            ),
        }
    }
    with pytest.raises(
        FetchError,
        match=r"radon: the source has changed its schema: radon.csv lacks the expected "
        r"field\(s\) 'classe_potentiel' \(catalogue entry 'radon', layer 'table'\); "
        r"fields found: insee_com, classe",
    ):
        fetch("radon", cache_dir=cache, catalogue=cat, progress=False)
    with pytest.raises(
        FetchError,
        match=r"AleaRG_2025.shp lacks the expected field\(s\) 'niveau' "
        r"\(catalogue entry 'argiles'",
    ):
        fetch("argiles", cache_dir=cache, catalogue=cat, progress=False)
    with pytest.raises(FetchError, match=r"no file matching 'Expo\*.shp' in the archive .*files found: x/AleaRG"):
        fetch("moved", cache_dir=cache, catalogue=cat, progress=False)
    for key in ("radon", "argiles", "moved"):
        assert _no_leftovers(cache / key)


def test_missing_geopackage_layer(server, cache, tmp_path):
    gpkg = tmp_path / "c.gpkg"
    gpd.GeoDataFrame({"code_insee": ["01004"]}, geometry=[_square(0, 0)], crs=2154).to_file(gpkg, layer="communes")
    server.files["/c.gpkg"] = gpkg.read_bytes()
    cat = {
        "sources": {
            "c": _entry(
                f"{server.base}/c.gpkg", "gpkg", [{"name": "commune", "layer": "commune", "fields": ["code_insee"]}]
            )
        }
    }
    with pytest.raises(
        FetchError,
        match=r"c.gpkg has no layer 'commune' \(catalogue entry 'c'\); layers found: "
        "communes",
    ):
        fetch("c", cache_dir=cache, catalogue=cat, progress=False)
    assert _no_leftovers(cache / "c")


@pytest.mark.parametrize("code", [404, 500])
def test_http_errors(server, cache, code):
    server.modes["/gone.zip"] = code
    url = f"{server.base}/gone.zip"
    cat = {"sources": {"gone": _entry(url, "zip", [{"name": "t", "member": "*.csv", "fields": []}])}}
    with pytest.raises(
        FetchError,
        match=rf"gone: the server answered HTTP {code} .* for {re.escape(url)}; nothing "
        r"was written\. Check the address in the catalogue entry 'gone'",
    ):
        fetch("gone", cache_dir=cache, catalogue=cat, progress=False)
    assert _no_leftovers(cache / "gone")


def test_unreachable_server(cache):
    cat = {"sources": {"x": _entry("http://127.0.0.1:9/x.csv", "csv", [{"name": "t", "fields": []}])}}
    with pytest.raises(FetchError, match=r"x: cannot reach http://127.0.0.1:9/x.csv .*--offline"):
        fetch("x", cache_dir=cache, catalogue=cat, progress=False, timeout=5)
    assert _no_leftovers(cache / "x")


def test_7z_without_py7zr(server, cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "py7zr", None)  # import py7zr -> ImportError
    server.files["/a.7z"] = b"7z\xbc\xaf\x27\x1c" + b"\0" * 32
    cat = {"sources": {"a": _entry(f"{server.base}/a.7z", "7z", [{"name": "t", "member": "*.gpkg", "fields": []}])}}
    with pytest.raises(FetchError, match=r"a 7z archive and py7zr is not installed; run `pip install py7zr`"):
        fetch("a", cache_dir=cache, catalogue=cat, progress=False)
    assert _no_leftovers(cache / "a")


# --------------------------------------------------------------------------------------------
# offline, names, options


def test_offline_empty_cache_lists_missing(cache):
    with pytest.raises(
        FetchError,
        match=r"offline: 3 source\(s\) missing from the cache .*: radon, catnat, "
        r"pprn:34\. When online, run: acv-geo fetch radon catnat pprn:34 --cache",
    ):
        fetch(["radon", "catnat", "pprn:34"], cache_dir=cache, offline=True)
    assert not cache.exists()


def test_bad_names_and_options(cache):
    with pytest.raises(ValueError, match=r"unknown source 'radom'; valid names are: admin_express_cog, argiles, azi"):
        fetch("radom", cache_dir=cache)
    with pytest.raises(ValueError, match="radon is published nationally only; fetch 'radon'"):
        fetch("radon:34", cache_dir=cache)
    with pytest.raises(ValueError, match="contradict"):
        fetch("radon", cache_dir=cache, force=True, offline=True)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        fetch("radon", cache_dir=cache, timeout=0)
    with pytest.raises(TypeError):
        fetch("radon", cache_dir=cache, retries=3)
    with pytest.raises(
        FetchError,
        match=r"azi: the catalogue has no confirmed download address.*Download it from "
        r"https://www.georisques.gouv.fr",
    ):
        fetch("azi", cache_dir=cache)
    with pytest.raises(FileNotFoundError, match=r"source 'argiles' is not in the cache .*run `acv-geo fetch argiles"):
        source_path("argiles", cache_dir=cache)
    with pytest.raises(FileNotFoundError, match=r"nope.gpkg: no such file, and not a catalogue source name"):
        resolve_source("nope.gpkg", cache_dir=cache)
    assert resolve_source(acv_geo.get_path("epci")) == acv_geo.get_path("epci")


def test_catalogue_env_var_and_validation(server, cache, tmp_path, monkeypatch):
    server.files["/radon.csv"] = RADON_CSV
    path = tmp_path / "cat.json"
    path.write_text(
        json.dumps(
            {"sources": {"mine": _entry(f"{server.base}/radon.csv", "csv", [{"name": "t", "fields": ["insee_com"]}])}}
        )
    )
    monkeypatch.setenv("ACV_GEO_CATALOGUE", str(path))
    monkeypatch.setenv("ACV_GEO_CACHE_DIR", str(cache))
    assert fetch("mine", progress=False)["mine"].path == cache / "mine" / "files" / "radon.csv"
    assert list(list_sources().index) == ["mine"] and list_sources().loc["mine", "cached"] == "mine"
    with pytest.raises(ValueError, match=r"source 'x': format 'rar' is not one of zip, 7z, csv"):
        load_catalogue({"sources": {"x": _entry("http://h/x", "rar", [{"name": "t", "fields": []}])}})
    with pytest.raises(ValueError, match="layer 't' of an archive needs a 'member' file pattern"):
        load_catalogue({"sources": {"x": _entry("http://h/x", "zip", [{"name": "t", "fields": []}])}})
    with pytest.raises(ValueError, match="'sha256' must be 64 lower-case hexadecimal digits"):
        load_catalogue({"sources": {"x": _entry("http://h/x", "csv", [{"name": "t"}], sha256="abc")}})


def test_cache_root_platform_defaults(monkeypatch, tmp_path):
    from acv_geo.sources.cache import cache_root

    monkeypatch.delenv("ACV_GEO_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert cache_root() == tmp_path / "xdg" / "acv-geo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path.home() / ".cache" / "acv-geo"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cache_root() == Path.home() / "Library" / "Caches" / "acv-geo"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert cache_root() == tmp_path / "local" / "acv-geo" / "Cache"
    monkeypatch.setenv("ACV_GEO_CACHE_DIR", str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env"


# --------------------------------------------------------------------------------------------
# the shipped catalogue


PRESETS = {
    "pac_risques",
    "tri_inondable",
    "azi",
    "pprn_zonage",
    "argiles",
    "znieff1",
    "znieff2",
    "natura2000_sic",
    "natura2000_zps",
    "parcs_regionaux",
    "parcs_nationaux",
    "reserves_naturelles",
    "radon",
    "catnat",
}


def test_shipped_catalogue():
    cat = load_catalogue()
    assert {e["preset"] for e in cat.values() if e.get("preset")} == PRESETS
    presets_file = Path(acv_geo.__file__).parent / "indicators" / "presets.json"
    if presets_file.exists():  # every layer preset named by the catalogue exists in the overlay presets
        data = json.loads(presets_file.read_text())
        assert PRESETS - {"radon", "catnat"} <= set(data.get("presets", data))
    for name, e in cat.items():
        assert e["doc"].startswith("https://"), name
        assert isinstance(e["verified"], bool), name
        if not e["verified"]:
            assert len(e.get("note", "")) > 40, name
        for url in (e.get("url"), e.get("url_department")):
            assert url is None or url.startswith("https://"), name
    assert cat["catnat"]["url"] == "https://files.georisques.fr/GASPAR/gaspar.zip"
    assert cat["admin_express_cog"]["format"] == "7z"
    assert [lay["layer"] for lay in cat["admin_express_cog"]["layers"]] == ["commune", "epci"]
    assert cat["pprn"]["url"] is None and "{dep}" in cat["pprn"]["url_department"]
    text = (Path(acv_geo.__file__).parent / "sources" / "catalogue.json").read_text().lower()
    for host in ("pypi", "pythonhosted", "npmjs", "crates.io", "rubygems", "proxy.golang", "conda", "anaconda"):
        assert host not in text


def test_acv_geo_fetch_is_the_function_in_any_import_order():
    code = (
        "import acv_geo, acv_geo.sources.cache as m, tempfile, types; d = tempfile.mkdtemp();"
        "assert isinstance(acv_geo.fetch, types.FunctionType);"
        "assert acv_geo.fetch([], cache_dir=d, offline=True).sources == ();"
        "assert acv_geo.source_path is m.source_path; print('ok')"
    )
    for prefix in ("", "import acv_geo; acv_geo.fetch;"):
        out = subprocess.run([sys.executable, "-c", prefix + code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "ok"


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_end_to_end(server, cache, tmp_path, capsys):
    server.files["/radon.csv"] = RADON_CSV
    catfile = tmp_path / "cat.json"
    catfile.write_text(
        json.dumps(
            {
                "sources": {
                    "radon": _entry(
                        f"{server.base}/radon.csv", "csv", [{"name": "t", "fields": ["insee_com"]}], preset="radon"
                    ),
                    "gone": _entry(f"{server.base}/gone.csv", "csv", [{"name": "t", "fields": []}]),
                }
            }
        )
    )
    base = ["--cache", str(cache), "--catalogue", str(catfile)]
    assert main(["fetch", "--offline", "radon", "gone", *base]) == 2
    err = capsys.readouterr().err
    assert "acv-geo: error: offline: 2 source(s) missing" in err and "acv-geo fetch radon gone --cache" in err
    assert main(["fetch", "radon", "--quiet", *base]) == 0
    out = capsys.readouterr().out
    digest = hashlib.sha256(RADON_CSV).hexdigest()
    assert f"radon: downloaded -> {cache / 'radon' / 'files' / 'radon.csv'}" in out and digest[:12] in out
    assert main(["fetch", "radon", *base]) == 0
    assert "radon: cached" in capsys.readouterr().out
    assert main(["fetch", "gone", *base]) == 2
    assert "HTTP 404" in capsys.readouterr().err
    assert main(["fetch", "--list", *base]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:5] == ["radon", "radon", "csv", "yes", "radon"]
    assert lines[2].split()[:5] == ["gone", "-", "csv", "yes", "-"]
    assert main(["fetch", "nope", *base]) == 2
    assert "unknown source 'nope'" in capsys.readouterr().err


def test_cli_progress_bar(server, cache, tmp_path, capsys):
    server.files["/radon.csv"] = RADON_CSV
    catfile = tmp_path / "cat.json"
    catfile.write_text(
        json.dumps({"sources": {"radon": _entry(f"{server.base}/radon.csv", "csv", [{"name": "t", "fields": []}])}})
    )
    assert main(["fetch", "radon", "--cache", str(cache), "--catalogue", str(catfile)]) == 0
    err = capsys.readouterr().err
    n = len(RADON_CSV)  # the tqdm bar of acv_geo.core.progress
    assert re.search(rf"radon: 100%\|.*\| {n}(\.0)?/{n}(\.0)? ", err), err


def test_fetch_progress_callable_and_checked(server, cache):
    server.files["/radon.csv"] = RADON_CSV
    cat = {"sources": {"radon": _entry(f"{server.base}/radon.csv", "csv", [{"name": "t", "fields": []}])}}
    seen = []
    fetch("radon", cache_dir=cache, catalogue=cat, progress=lambda f, m: seen.append((f, m)))
    assert seen[-1] == (1.0, "done") and (1.0, "radon") in seen
    with pytest.raises(ValueError, match="progress must be True, False or a callable progress"):
        fetch("radon", cache_dir=cache, catalogue=cat, progress="yes")
    with pytest.raises(ValueError, match="force and offline must be True or False"):
        fetch("radon", cache_dir=cache, catalogue=cat, force="yes")


def _sevenzip(members):
    py7zr = pytest.importorskip("py7zr")
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as sz:
        for name, data in members:
            sz.writestr(data, name)
    return buf.getvalue()


def test_7z_geopackage_with_two_layers(server, cache, tmp_path):
    """ADMIN EXPRESS is a 7z holding one GeoPackage with the commune and EPCI layers."""
    gpkg = tmp_path / "ADE.gpkg"
    # squares in Agde (Lambert-93): an EPCI polygon must lie in a territory acv-geo measures
    com = gpd.GeoDataFrame({"INSEE_COM": ["34003"], "NOM": ["Agde"]}, geometry=[_square(735_000, 6_245_000)], crs=2154)
    epci = gpd.GeoDataFrame({"CODE_SIREN": ["243400819"]}, geometry=[_square(735_000, 6_245_000, 500)], crs=2154)
    com.to_file(gpkg, layer="commune", driver="GPKG")
    epci.to_file(gpkg, layer="epci", driver="GPKG")
    server.files["/ade.7z"] = _sevenzip([("ADMIN-EXPRESS/1_DONNEES/ADE.gpkg", gpkg.read_bytes())])
    cat = {
        "sources": {
            "ade": _entry(
                f"{server.base}/ade.7z",
                "7z",
                [
                    {"name": "commune", "member": "*.gpkg", "layer": "commune", "fields": ["INSEE_COM"]},
                    {"name": "epci", "member": "*.gpkg", "layer": "epci", "fields": ["CODE_SIREN"]},
                ],
            )
        }
    }
    src = fetch("ade", cache_dir=cache, catalogue=cat, progress=False)["ade"]
    assert src.path.name == "ADE.gpkg"
    back = acv_geo.read_epci(src.path, layer="epci")
    assert back.index.tolist() == ["243400819"]
    assert back.to_crs(2154).area.iloc[0] == pytest.approx(500.0 * 500.0)


def test_7z_path_traversal_refused(server, cache, monkeypatch):
    py7zr = pytest.importorskip("py7zr")
    with monkeypatch.context() as m:  # py7zr refuses to *write* such a member: build the malicious archive
        m.setattr(py7zr.py7zr, "check_archive_path", lambda _name: True)
        server.files["/bad.7z"] = _sevenzip([("ok.csv", b"a;b\n1;2\n"), ("../evil.csv", b"pwned")])
    cat = {"sources": {"bad": _entry(f"{server.base}/bad.7z", "7z", [{"name": "t", "member": "ok.csv", "fields": []}])}}
    with pytest.raises(FetchError, match=r"archive member '\.\./evil\.csv' refused \(.*\); nothing was extracted"):
        fetch("bad", cache_dir=cache, catalogue=cat, progress=False)
    assert _no_leftovers(cache / "bad")
    assert not (cache / "evil.csv").exists()
