"""``acv_geo.indicators.services``: API Carto Nature and Géorisques v1 against a local fake server (never the internet).

The fake server answers in the documented schemas: API Carto's GeoJSON FeatureCollection with
``totalFeatures``/``numberMatched``/``numberReturned`` paged by ``_start``/``_limit``; Géorisques'
``{results, page, total_pages, data}`` paged by ``page``/``page_size``, Spring pages
(``content``/``totalElements``/``totalPages``/``pageNumber``) for ``gaspar/pprn``, a bare object or an
empty body for ``rga``. Every loop of the server is bounded (at most 5000 requests, 1 s of sleep).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import mapping, shape

from acv_geo import indicator_metadata, make_zones
from acv_geo.cli import main
from acv_geo.indicators.services import georisques_indicators, nature_indicators, nature_layers
from acv_geo.sources.services import (
    GEORISQUES_ENDPOINTS,
    NATURE_LAYERS,
    GeometryTooLarge,
    ServiceClient,
    ServiceError,
    _retry_after,
    service_base_url,
    services_cache_dir,
)

MAX_REQUESTS = 5000
FAST = {"rate": 0, "backoff": 0.0, "timeout": 5.0}


# --------------------------------------------------------------------------------------------
# fake API server


class _Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        srv = self.server
        parts = urlsplit(self.path)
        path = parts.path
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with srv.lock:
            srv.log.append((path, params))
            n = len(srv.log)
            queue = srv.fail.get(path)
            status = queue.pop(0) if queue else None
        if n > MAX_REQUESTS:
            return self._send(503, b'{"message":"too many requests in this test"}')
        if status is not None:
            return self._send(status, b'{"code":%d,"message":"test error"}' % status, {"Retry-After": "0"})
        mode = srv.modes.get(path)
        if mode == "always500":
            return self._send(500, b'{"type":"error","message":"upstream down"}')
        if mode == "sleep":
            time.sleep(1.0)
            return self._send(200, b'{"type":"FeatureCollection","features":[]}')
        if mode == "malformed":
            return self._send(200, b"<html><body>Maintenance</body></html>")
        if path.startswith("/nature/"):
            return self._nature(path.removeprefix("/nature/"), params)
        if path.startswith("/gr/"):
            return self._georisques(path.removeprefix("/gr/"), params)
        return self._send(404, b'{"message":"not here"}')

    def _send(self, status, body, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _nature(self, endpoint, params):
        srv = self.server
        if "geom" not in params:
            return self._send(400, b'{"code":400,"message":{"geom":"missing"}}')
        geom = shape(json.loads(params["geom"]))
        x0, y0, x1, y1 = geom.bounds
        if max(x1 - x0, y1 - y0) > srv.max_span:
            return self._send(413, b'{"message":"geometry too large"}')
        feats = [f for f in srv.nature.get(endpoint, []) if shapely.intersects(shape(f["geometry"]), geom)]
        start, limit = int(params.get("_start", 0)), min(int(params.get("_limit", 1000)), 1000)
        page = feats[start : start + limit]
        body = {
            "type": "FeatureCollection",
            "features": page,
            "totalFeatures": len(feats),
            "numberMatched": len(feats),
            "numberReturned": len(page),
            "timeStamp": "2026-01-01T00:00:00Z",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
        }
        return self._send(200, json.dumps(body).encode())

    def _georisques(self, endpoint, params):
        srv = self.server
        if endpoint == "rga":
            obj = srv.rga.get(params.get("latlon"))
            return self._send(200, b"" if obj is None else json.dumps(obj).encode())
        size = int(params.get("page_size", 10))
        if endpoint == "gaspar/pprn":
            rows = srv.gr.get(endpoint, {}).get(params.get("codeInsee"), [])
            number = int(params.get("page", 1)) - 1  # 1-based parameter, 0-based pageNumber
            page = rows[number * size : (number + 1) * size]
            body = {
                "totalElements": len(rows),
                "totalPages": max(1, -(-len(rows) // size)),
                "pageNumber": number,
                "pageSize": size,
                "content": page,
            }
            return self._send(200, json.dumps(body).encode())
        key = params.get("latlon") if endpoint == "tri_zonage" else params.get("code_insee")
        rows = srv.gr.get(endpoint, {}).get(key, [])
        page_no = int(params.get("page", 1))
        page = rows[(page_no - 1) * size : page_no * size]
        total_pages = max(1, -(-len(rows) // size)) if rows else 0
        body = {
            "results": len(rows),
            "page": page_no,
            "total_pages": total_pages,
            "data": page,
            "response_code": 200,
            "message": "",
            "next": None,
            "previous": None,
        }
        return self._send(200, json.dumps(body).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.log, srv.fail, srv.modes = [], {}, {}
    srv.nature, srv.gr, srv.rga = {}, {}, {}
    srv.max_span = 10.0
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    srv.stopped = False

    def stop():
        if not srv.stopped:
            srv.shutdown()
            srv.server_close()
            thread.join(timeout=5)
            srv.stopped = True

    srv.stop = stop
    yield srv
    stop()


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


# --------------------------------------------------------------------------------------------
# hand-built towns: 1 km squares in Lambert-93


X0, Y0 = 700_000.0, 6_600_000.0
CODES = ["34001", "34002", "34003"]


def _square(x, y, size=1000.0):
    # midpoints on the horizontal edges, so that half-squares share vertices with it
    h = size / 2
    return shapely.Polygon([(x, y), (x + h, y), (x + size, y), (x + size, y + size), (x + h, y + size), (x, y + size)])


def _towns(n=3):
    polys = [_square(X0 + 3000.0 * i, Y0) for i in range(n)]
    communes = gpd.GeoDataFrame({"insee_com": CODES[:n]}, geometry=polys, crs=2154).set_index("insee_com")
    pts = gpd.GeoSeries([p.centroid for p in polys], crs=2154).to_crs(4326)
    cities = gpd.GeoDataFrame(
        {"commune": [f"Town {c}" for c in CODES[:n]], "territory": "metropole"},
        geometry=pts.to_numpy(),
        index=pd.Index(CODES[:n], name="insee_com"),
        crs=4326,
    )
    return cities, make_zones(cities, communes=communes)


def _feature(fid, geom_2154, props):
    geom = gpd.GeoSeries([geom_2154], crs=2154).to_crs(4326).iloc[0]
    return {"type": "Feature", "id": fid, "geometry": mapping(geom), "geometry_name": "the_geom", "properties": props}


def _znieff_half_of_first():
    half = shapely.box(X0, Y0, X0 + 500.0, Y0 + 1000.0)
    return _feature(
        "znieff1.1",
        half,
        {"id_mnhn": "910030001", "nom": "Étang test", "url": "https://inpn.mnhn.fr/zone/znieff/910030001"},
    )


def _latlon(cities, code):
    p = cities.geometry.loc[code]
    return f"{round(p.x, 6):.6f},{round(p.y, 6):.6f}"


# --------------------------------------------------------------------------------------------
# nature


def test_exact_indicators_then_cache_without_server(api, cache):
    cities, zones = _towns(2)
    api.nature["znieff1"] = [_znieff_half_of_first()]
    kw = {"layers": ["znieff1", "natura_habitat"], "cache": cache, "base_url": f"{api.base}/nature", **FAST}
    df = nature_indicators(cities, zones, **kw)
    assert list(df.index) == CODES[:2] and df.index.name == "insee_com"
    assert df.loc["34001", "znieff1_pct"] == pytest.approx(50.0, abs=1e-6)
    assert df.loc["34001", "znieff1_area_m2"] == pytest.approx(500_000.0, rel=1e-6)
    assert df.loc["34001", "znieff1_count"] == 1
    assert df.loc["34001", "znieff1_names"] == "Étang test" and df.loc["34001", "znieff1_codes"] == "910030001"
    assert pd.isna(df.loc["34001", "znieff1_reason"])
    # an answer without feature: 0, never NA
    assert df.loc["34002", "znieff1_pct"] == 0.0 and df.loc["34002", "znieff1_count"] == 0
    assert df.loc["34002", "znieff1_names"] == ""
    assert (df["natura_habitat_pct"] == 0.0).all() and (df["natura_habitat_count"] == 0).all()
    meta = indicator_metadata(df).set_index("column")
    assert set(df.columns) == set(meta.index)
    assert f"{api.base}/nature/znieff1" in meta.loc["znieff1_pct", "source"]
    assert meta.loc["znieff1_pct", "unit"] == "%" and len(meta.loc["znieff1_pct", "date"]) == 10
    n = len(api.log)
    assert n == 4  # 2 towns x 2 layers, one page each
    # every answer is on disk, gzip'd JSON with its query date
    files = sorted(services_cache_dir("nature", cache).rglob("*.json.gz"))
    assert len(files) == 4
    rec = json.loads(gzip.decompress(files[0].read_bytes()))
    assert rec["service"] == "nature" and rec["date"].endswith("+00:00") and "geom" in rec["params"]
    # second run, server stopped: the cache answers, same table and metadata
    api.stop()
    again = nature_indicators(cities, zones, **kw)
    pd.testing.assert_frame_equal(df, again)
    assert indicator_metadata(df).equals(indicator_metadata(again))
    off = nature_indicators(cities, zones, **{**kw, "offline": True})
    pd.testing.assert_frame_equal(df, off)
    assert again.attrs["acv_geo_services"]["stats"]["from_cache"] == 4


def test_pagination_two_pages(api, cache):
    cities, zones = _towns(1)
    feats = [
        _feature(
            f"znieff2.{i}",
            shapely.box(X0 + 100 * i, Y0, X0 + 100 * i + 50, Y0 + 50),
            {"id_mnhn": f"91000000{i}", "nom": f"Zone {i}"},
        )
        for i in range(3)
    ]
    api.nature["znieff2"] = feats
    client = ServiceClient("nature", base_url=f"{api.base}/nature", cache=cache, page_size=2, **FAST)
    out = nature_layers(zones, layers="znieff2", client=client)
    gdf = out["znieff2"]
    assert sorted(gdf["feature_id"]) == ["znieff2.0", "znieff2.1", "znieff2.2"]
    assert gdf.crs.to_epsg() == 4326 and sorted(gdf["site_name"]) == ["Zone 0", "Zone 1", "Zone 2"]
    starts = [p["_start"] for path, p in api.log if path == "/nature/znieff2"]
    assert starts == ["0", "2"]
    assert [p["_limit"] for _, p in api.log] == ["2", "2"]
    answers = gdf.attrs["acv_geo_services"]["answers"]
    assert answers["34001"]["keys"] == ["znieff2.0", "znieff2.1", "znieff2.2"]


def test_retry_after_429_then_success(api, cache):
    cities, zones = _towns(1)
    api.nature["pn"] = []
    api.fail["/nature/pn"] = [429, 503]
    df = nature_indicators(
        cities, zones, layers="pn", cache=cache, base_url=f"{api.base}/nature", rate=0, backoff=30.0, timeout=5.0
    )  # Retry-After: 0 wins over the 30 s backoff
    assert df.loc["34001", "pn_count"] == 0 and pd.isna(df.loc["34001", "pn_reason"])
    assert len(api.log) == 3


def test_http_500_retried_then_clear_error(api, cache):
    cities, zones = _towns(2)
    api.modes["/nature/rnn"] = "always500"
    client = ServiceClient("nature", base_url=f"{api.base}/nature", cache=cache, retries=2, **FAST)
    with pytest.raises(ServiceError) as err:
        client.query("rnn", {"geom": '{"type":"Point","coordinates":[3,46]}'}, paging="wfs")
    msg = str(err.value)
    assert "API Carto" in msg and "HTTP 500" in msg and f"{api.base}/nature/rnn" in msg and "3 attempts" in msg
    assert "try again later" in msg and err.value.status == 500
    assert len(api.log) == 3
    # through the indicators: NA and the reason, never 0; nothing cached
    df = nature_indicators(cities, zones, layers="rnn", cache=cache, base_url=f"{api.base}/nature", retries=1, **FAST)
    assert df["rnn_pct"].isna().all() and df["rnn_count"].isna().all()
    assert df["rnn_reason"].str.contains("HTTP 500 after 2 attempts").all()
    assert not list(services_cache_dir("nature", cache).rglob("*.json.gz"))


def test_service_down_is_not_hammered(api, cache):
    cities, zones = _towns(3)
    api.modes["/nature/rnn"] = "always500"
    client = ServiceClient("nature", base_url=f"{api.base}/nature", cache=cache, retries=0, max_failures=2, **FAST)
    df = nature_indicators(cities, zones, layers="rnn", client=client)
    assert len(api.log) == 2
    assert df.loc["34003", "rnn_reason"].startswith("IGN API Carto, module Nature (rnn) gave no answer: not asked")


def test_timeout(api, cache):
    api.modes["/nature/pnr"] = "sleep"
    client = ServiceClient(
        "nature", base_url=f"{api.base}/nature", cache=cache, rate=0, timeout=0.2, retries=1, backoff=0.0
    )
    t0 = time.monotonic()
    with pytest.raises(ServiceError, match=r"timed out after 0.2 s \(2 attempts\)"):
        client.query("pnr", {"geom": '{"type":"Point","coordinates":[3,46]}'}, paging="wfs")
    assert time.monotonic() - t0 < 5
    assert len(api.log) == 2


def test_malformed_json_names_the_url(api, cache):
    api.modes["/gr/radon"] = "malformed"
    client = ServiceClient("georisques", base_url=f"{api.base}/gr", cache=cache, **FAST)
    with pytest.raises(ServiceError) as err:
        client.query("radon", {"code_insee": "34001"})
    msg = str(err.value)
    assert "is not valid JSON" in msg and f"{api.base}/gr/radon?code_insee=34001" in msg and "<html>" in msg
    assert len(api.log) == 1  # not retried


def test_http_400_not_retried(api, cache):
    client = ServiceClient("nature", base_url=f"{api.base}/nature", cache=cache, **FAST)
    with pytest.raises(ServiceError, match="HTTP 400") as err:
        client.query("znieff1", {}, paging="wfs")
    assert "check the address" in str(err.value) and len(api.log) == 1


def test_geometry_too_large_is_split_and_merged(api, cache):
    cities, zones = _towns(1)
    big = _feature(
        "natura.1",
        shapely.box(X0 - 100, Y0 - 100, X0 + 1100, Y0 + 1100),
        {"sitecode": "FR9101", "sitename": "Grand site"},
    )
    nw = _feature(
        "natura.2",
        shapely.box(X0 + 100, Y0 + 800, X0 + 200, Y0 + 900),
        {"sitecode": "FR9102", "sitename": "Petit site"},
    )
    api.nature["natura-oiseaux"] = [big, nw]
    span = max(b - a for a, b in zip(zones.total_bounds[:2], zones.total_bounds[2:], strict=True))
    api.max_span = span * 0.6  # the whole zone is refused, its quarters are accepted
    kw = {"layers": "natura_oiseaux", "cache": cache, "base_url": f"{api.base}/nature", **FAST}
    df = nature_indicators(cities, zones, **kw)
    assert df.loc["34001", "natura_oiseaux_count"] == 2
    assert df.loc["34001", "natura_oiseaux_names"] == "Grand site; Petit site"
    assert df.loc["34001", "natura_oiseaux_codes"] == "FR9101; FR9102"
    assert df.loc["34001", "natura_oiseaux_pct"] == pytest.approx(100.0, abs=1e-6)
    assert len(api.log) == 5  # one refusal, then 4 tiles
    layers = nature_layers(zones, **kw)
    assert sorted(layers["natura_oiseaux"]["feature_id"]) == ["natura.1", "natura.2"]  # no duplicate
    assert len(api.log) == 5  # from the cache, the refusal included
    with pytest.raises(GeometryTooLarge):
        ServiceClient("nature", base_url=f"{api.base}/nature", cache=cache, **FAST).query(
            "natura-oiseaux", {"geom": shapely.to_geojson(zones.geometry.iloc[0])}, paging="wfs"
        )
    api.stop()
    pd.testing.assert_frame_equal(df, nature_indicators(cities, zones, **{**kw, "offline": True}))


def test_long_geometry_is_simplified_to_a_cover(api, cache):
    cities, zones = _towns(1)
    # a zone with 2000 vertices: far too long for max_geom_chars=1500, sent as a simplified cover
    circle = gpd.GeoSeries([shapely.Point(X0 + 500, Y0 + 500).buffer(500, quad_segs=500)], crs=2154).to_crs(4326)
    zones = zones.set_geometry(circle.to_numpy())
    edge = _feature(
        "znieff1.9", shapely.box(X0 + 999.0, Y0 + 490, X0 + 1100, Y0 + 510), {"id_mnhn": "9", "nom": "Bord"}
    )
    api.nature["znieff1"] = [edge]
    df = nature_indicators(
        cities, zones, layers="znieff1", cache=cache, base_url=f"{api.base}/nature", max_geom_chars=1500, **FAST
    )
    ((path, params),) = api.log
    assert len(params["geom"]) < 1500
    cover = shape(json.loads(params["geom"]))
    assert cover.covers(zones.geometry.iloc[0])
    assert df.loc["34001", "znieff1_count"] == 1 and df.loc["34001", "znieff1_pct"] > 0


def test_offline_empty_cache_every_town_na_with_reason(cache):
    cities, zones = _towns(3)
    df = nature_indicators(cities, zones, cache=cache, offline=True)
    for lay in NATURE_LAYERS:
        assert df[f"{lay}_pct"].isna().all() and df[f"{lay}_count"].isna().all()
        assert df[f"{lay}_reason"].str.contains(r"not in the cache \(offline mode\)").all()
        assert df[f"{lay}_reason"].str.contains("acv-geo fetch --towns --services nature").all()
    gr = georisques_indicators(cities, cache=cache, offline=True)
    for key in GEORISQUES_ENDPOINTS:
        assert gr[f"georisques_{key}_reason"].str.contains("not in the cache").all()
    assert gr.drop(columns=[c for c in gr.columns if c.endswith("_reason")]).isna().all().all()


def test_town_without_zone_keeps_its_row(cache):
    cities, zones = _towns(2)
    zones = zones.drop(index="34002")
    df = nature_indicators(cities, zones, layers="pn", cache=cache, offline=True)
    assert list(df.index) == ["34001", "34002"]
    assert df.loc["34002", "pn_reason"] == "no zone for this city in the zones given"


# --------------------------------------------------------------------------------------------
# Géorisques


def _gr_data(api, cities):
    a, b = "34001", "34002"
    api.gr["zonage_sismique"] = {
        a: [{"code_insee": a, "libelle_commune": "A", "code_zone": "2", "zone_sismicite": "2 - FAIBLE"}]
    }
    api.gr["radon"] = {
        a: [{"code_insee": a, "libelle_commune": "A", "classe_potentiel": "3"}],
        b: [{"code_insee": b, "libelle_commune": "B", "classe_potentiel": "1"}],
    }
    api.gr["gaspar/risques"] = {
        a: [
            {
                "code_insee": a,
                "libelle_commune": "A",
                "risques_detail": [
                    {"num_risque": "11", "libelle_risque_long": "Inondation"},
                    {"num_risque": "134", "libelle_risque_long": "Mouvement de terrain"},
                ],
            }
        ]
    }
    api.gr["gaspar/catnat"] = {
        a: [
            {
                "code_national_catnat": f"INTE{i}",
                "code_insee": a,
                "libelle_commune": "A",
                "date_debut_evt": "01/01/2000",
                "libelle_risque_jo": "Inondations",
            }
            for i in range(3)
        ]
    }
    api.gr["gaspar/azi"] = {a: [{"code_insee": a, "libelle_azi": "AZI Hérault"}]}
    api.gr["gaspar/tri"] = {}
    api.gr["gaspar/dicrim"] = {}
    api.gr["gaspar/pprn"] = {a: [{"idGaspar": f"34DDTM{i}", "libPpr": f"PPR {i}"} for i in range(3)]}
    api.gr["tri_zonage"] = {_latlon(cities, a): [{"code_national_tri": "FRD_TRI_X", "code_insee": a}]}
    api.rga[_latlon(cities, a)] = {"codeExposition": "2", "exposition": "Exposition moyenne"}


def test_georisques_indicators_then_cache(api, cache):
    cities, _ = _towns(2)
    _gr_data(api, cities)
    kw = {"cache": cache, "base_url": f"{api.base}/gr", "page_size": 2, **FAST}
    df = georisques_indicators(cities, **kw)
    a, b = df.loc["34001"], df.loc["34002"]
    assert a["georisques_seismic_zone"] == 2 and a["georisques_seismic_label"] == "2 - FAIBLE"
    assert pd.isna(b["georisques_seismic_zone"]) and "without a seismic zone" in b["georisques_seismic_reason"]
    assert a["georisques_radon_class"] == 3 and b["georisques_radon_class"] == 1
    assert a["georisques_rga_class"] == 2 and a["georisques_rga_label"] == "Exposition moyenne"
    assert b["georisques_rga_class"] == 0 and "no exposure mapped" in b["georisques_rga_label"]  # empty body
    assert a["georisques_risks"] == "Inondation; Mouvement de terrain" and a["georisques_risks_count"] == 2
    assert a["georisques_catnat_count"] == 3 and b["georisques_catnat_count"] == 0  # 2 pages of 2
    assert a["georisques_pprn_count"] == 3  # Spring pages
    assert a["georisques_azi_count"] == 1 and a["georisques_tri_count"] == 0 and a["georisques_dicrim_count"] == 0
    assert a["georisques_tri_zonage_count"] == 1 and b["georisques_tri_zonage_count"] == 0
    assert df.filter(like="_reason").drop(columns="georisques_seismic_reason").isna().all().all()
    assert str(df["georisques_catnat_count"].dtype) == "Int64"
    catnat_pages = [p["page"] for path, p in api.log if path == "/gr/gaspar/catnat" and p["code_insee"] == "34001"]
    assert catnat_pages == ["1", "2"]
    pprn = [p for path, p in api.log if path == "/gr/gaspar/pprn"]
    assert {"codeInsee": "34001", "page": "1", "page_size": "2"} in pprn and "code_insee" not in pprn[0]
    assert [p for path, p in api.log if path == "/gr/rga"][0] == {"latlon": _latlon(cities, "34001")}
    meta = indicator_metadata(df).set_index("column")
    assert set(meta.index) == set(df.columns)
    assert meta.loc["georisques_catnat_count", "source"].startswith(
        "Géorisques API v1 (" + f"{api.base}/gr/gaspar/catnat"
    )
    api.stop()
    pd.testing.assert_frame_equal(df, georisques_indicators(cities, **{**kw, "offline": True}))


def test_georisques_error_is_a_reason(api, cache):
    cities, _ = _towns(1)
    api.modes["/gr/radon"] = "always500"
    df = georisques_indicators(
        cities, endpoints=["radon", "dicrim"], cache=cache, base_url=f"{api.base}/gr", retries=1, **FAST
    )
    assert pd.isna(df.loc["34001", "georisques_radon_class"])
    assert (
        "Géorisques API v1 (radon) gave no answer: HTTP 500 after 2 attempts"
        == df.loc["34001", "georisques_radon_reason"]
    )
    assert df.loc["34001", "georisques_dicrim_count"] == 0
    with pytest.raises(ServiceError, match="HTTP 500"):
        georisques_indicators(
            cities, endpoints="radon", cache=cache, base_url=f"{api.base}/gr", retries=0, errors="raise", **FAST
        )


def test_georisques_zero_based_spring_pages(api, cache):
    """A Spring endpoint whose ``page`` counts from 0: page 0 is not skipped."""

    class _Zero(_Api):
        def _georisques(self, endpoint, params):
            rows = [{"idGaspar": str(i)} for i in range(3)]
            size, number = int(params["page_size"]), int(params["page"])
            body = {
                "totalElements": 3,
                "totalPages": 2,
                "pageNumber": number,
                "pageSize": size,
                "content": rows[number * size : (number + 1) * size],
            }
            return self._send(200, json.dumps(body).encode())

    api.RequestHandlerClass = _Zero
    client = ServiceClient("georisques", base_url=f"{api.base}/gr", cache=cache, page_size=2, **FAST)
    ans = client.query("gaspar/pprn", {"codeInsee": "34001"})
    assert sorted(r["idGaspar"] for r in ans.items) == ["0", "1", "2"]
    assert [p["page"] for _, p in api.log] == ["1", "0"]


# --------------------------------------------------------------------------------------------
# client details


def test_rate_limit_spaces_requests(api, cache):
    api.nature["pn"] = []
    client = ServiceClient("nature", base_url=f"{api.base}/nature", cache=cache, rate=20, backoff=0.0)
    t0 = time.monotonic()
    for i in range(5):
        client.query("pn", {"geom": json.dumps({"type": "Point", "coordinates": [3 + i / 100, 46]})}, paging="wfs")
    assert time.monotonic() - t0 >= 0.18


def test_retry_after_forms():
    assert _retry_after("0") == 0.0 and _retry_after("2.5") == 2.5 and _retry_after(None) is None
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait
    assert _retry_after("soon") is None


def test_options_checked(monkeypatch, cache):
    with pytest.raises(ValueError, match="unknown service"):
        ServiceClient("meteo")
    with pytest.raises(ValueError, match="contradict"):
        ServiceClient("nature", offline=True, refresh=True)
    with pytest.raises(ValueError, match="rate"):
        ServiceClient("nature", rate=-1)
    with pytest.raises(ValueError, match="unknown nature layer"):
        nature_layers(_towns(1)[1], layers="apb", cache=cache, offline=True)
    monkeypatch.setenv("ACV_GEO_NATURE_URL", "http://mirror.example/nature/")
    assert service_base_url("nature") == "http://mirror.example/nature"
    with pytest.raises(ValueError, match="http"):
        service_base_url("nature", "ftp://x")


def test_service_options_progress_and_client_kind(cache):
    from acv_geo.sources.services import ServiceOptions

    cities, zones = _towns(2)
    client = ServiceOptions(cache=cache, offline=True, rate=0, page_size=7).client("georisques")
    assert (client.offline, client.rate, client.page_size) == (True, 0.0, 7)
    with pytest.raises(ValueError, match="client= is a 'georisques' client; give a 'nature' one"):
        nature_layers(zones, layers="pn", client=client)
    seen = []
    df = georisques_indicators(
        cities, endpoints=["radon", "seismic"], client=client, progress=lambda f, m: seen.append((f, m))
    )
    assert [f for f, _ in seen] == [0.25, 0.5, 0.75, 1.0, 1.0] and seen[-1][1] == "done"
    assert seen[0][1] == f"georisques radon {cities.index[0]}"
    assert df["georisques_radon_reason"].str.contains("not in the cache").all()
    with pytest.raises(ValueError, match="progress must be True, False or a callable"):
        nature_layers(zones, layers="pn", cache=cache, offline=True, progress="yes")


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_fetch_towns_then_offline(api, cache, capsys):
    base = [
        "--cache",
        str(cache),
        "--rate",
        "0",
        "--quiet",
        "--services-url",
        f"nature={api.base}/nature",
        "--services-url",
        f"georisques={api.base}/gr",
    ]
    towns = ["fetch", "--towns", "--insee", "34003,80001"]
    assert main([*towns, "--services", "nature,georisques", *base]) == 0
    out = capsys.readouterr().out
    assert "nature: 2 towns, 2 answered" in out and "georisques: 2 towns, 2 answered" in out
    n = len(api.log)
    assert n == 2 * len(NATURE_LAYERS) + 2 * len(GEORISQUES_ENDPOINTS)
    api.stop()
    assert main([*towns, "--offline", *base]) == 0
    assert "2 answered" in capsys.readouterr().out
    empty = ["--cache", str(cache / "empty"), "--quiet"]
    assert main([*towns, "--services", "georisques", "--offline", *empty]) == 2
    err = capsys.readouterr().err
    assert "georisques: 2 town(s) without answer" in err and "not in the cache" in err


def test_cli_options_checked(cache, capsys):
    assert main(["fetch", "--services", "nature", "--cache", str(cache)]) == 2
    assert "--services, --zone, --insee, --services-url and --rate apply to --towns" in capsys.readouterr().err
    assert main(["fetch", "--towns", "--services", "meteo", "--cache", str(cache)]) == 2
    assert "unknown service" in capsys.readouterr().err
    assert main(["fetch", "--towns", "--services-url", "nature", "--cache", str(cache)]) == 2
    assert "NAME=URL" in capsys.readouterr().err
    assert main(["fetch", "--towns", "--insee", "99999", "--cache", str(cache), "--offline"]) == 2
    assert "not an ACV town" in capsys.readouterr().err


def test_cli_json_events(api, cache, capsys):
    args = [
        "--json",
        "fetch",
        "--towns",
        "--insee",
        "34003",
        "--services",
        "georisques",
        "--cache",
        str(cache),
        "--rate",
        "0",
        "--services-url",
        f"georisques={api.base}/gr",
    ]
    assert main(args) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and "progress" in kinds
    result = next(e for e in events if e["event"] == "result")
    assert result["services"]["georisques"]["answered"] == 1


def test_diagnose_uses_the_cached_services_for_every_town(api, cache, tmp_path, capsys):
    """fetch --towns fills the cache; diagnose --services reads it offline: values where answered, NA + reason else."""
    import acv_geo
    from acv_geo.core.metadata import scored_columns
    from acv_geo.pipeline.config import load_config

    base = [
        "--cache",
        str(cache),
        "--rate",
        "0",
        "--quiet",
        "--services-url",
        f"nature={api.base}/nature",
        "--services-url",
        f"georisques={api.base}/gr",
    ]
    assert main(["fetch", "--towns", "--insee", "34003,80001", "--services", "nature,georisques", *base]) == 0
    capsys.readouterr()
    api.stop()
    cities = acv_geo.read_acv().loc[["34003", "80001", "11262"]]
    cfg = load_config(
        {
            "clusters": {"permutations": 9, "join_counts": False, "morans_i": False, "weights": "knn:1"},
            "maps": {"enabled": False},
        }
    )
    res = acv_geo.diagnose(
        cities,
        config=cfg,
        out_dir=tmp_path / "out",
        quiet=True,
        services=["nature", "georisques"],
        services_offline=True,
        cache=cache,
    )
    df = res.cities
    assert list(df.index) == ["34003", "80001", "11262"]
    # answered with no site: measured 0; Narbonne was not fetched: NA and the reason, never 0
    assert df.loc["34003", "znieff1_pct"] == 0.0 and df.loc["80001", "znieff1_count"] == 0
    assert pd.isna(df.loc["11262", "znieff1_pct"]) and "not in the cache" in df.loc["11262", "znieff1_reason"]
    assert pd.isna(df.loc["11262", "georisques_rga_class"])
    meta = res.metadata.set_index("column")
    assert meta.loc["znieff1_pct", "role"] == "nature" and meta.loc["georisques_rga_class", "role"] == "risk"
    # the embedded seismic zone and radon class are scored once, not again from Géorisques
    assert meta.loc["georisques_rga_class", "scored"] == "yes"
    assert meta.loc["georisques_seismic_zone", "scored"] == "" and meta.loc["seismic_zone", "scored"] == "yes"
    assert "znieff1_pct" in scored_columns(res.cities, "nature")
    assert res.cities["nature_n_indicators"].tolist() == [len(NATURE_LAYERS)] * 2 + [0]
    with pytest.raises(ValueError, match=r"unknown service\(s\) \['weather'\]; use nature, georisques"):
        acv_geo.diagnose(cities, config=cfg, out_dir=tmp_path / "o2", services=["weather"])


def test_rga_empty_answer_overseas_is_not_measured(api, cache):
    """The BRGM clay map covers mainland France and Corsica: an empty answer there is 0, overseas it is NA."""
    cities, _ = _towns(2)
    cities = cities.rename(index={"34002": "97105"})
    cities.loc["97105", "territory"] = "guadeloupe"
    df = georisques_indicators(cities, endpoints=["rga"], cache=cache, base_url=f"{api.base}/gr", **FAST)
    assert df.loc["34001", "georisques_rga_class"] == 0 and pd.isna(df.loc["34001", "georisques_rga_reason"])
    assert pd.isna(df.loc["97105", "georisques_rga_class"]) and pd.isna(df.loc["97105", "georisques_rga_label"])
    assert df.loc["97105", "georisques_rga_reason"] == (
        "the clay shrink-swell exposure map (BRGM) covers mainland France and Corsica only: not measured"
    )
