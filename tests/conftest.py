"""Shared fixtures.

``qgis_app``: a real QGIS (Debian's python3-qgis) started once per session, with Processing
initialised, for cross-checks against QGIS's own algorithms and for the plugin tests. Tests that
use it are skipped when ``qgis.core`` does not import (core tests still pass without QGIS).
``shared_data``: the project's ``../shared/data`` folder (tests may read it; the product may not).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present")
    return SHARED


@pytest.fixture(scope="session")
def qgis_app():
    """Start QGIS headless once; yield the QgsApplication (Processing initialised)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if "XDG_RUNTIME_DIR" not in os.environ:
        d = tempfile.mkdtemp(prefix="xdg-")
        os.chmod(d, 0o700)
        os.environ["XDG_RUNTIME_DIR"] = d
    try:
        from qgis.core import QgsApplication
    except ImportError:
        pytest.skip("qgis.core is not importable (install python3-qgis; see scripts/test.sh)")
    plugins = "/usr/share/qgis/python/plugins"
    if plugins not in sys.path:
        sys.path.insert(0, plugins)
    app = QgsApplication.instance()
    if app is None:
        QgsApplication.setPrefixPath("/usr", True)
        app = QgsApplication([], False)
        app.initQgis()
        from processing.core.Processing import Processing

        Processing.initialize()
    from qgis.core import QgsSettings

    # the tests expect QGIS in English unless they switch to French themselves: a machine whose QGIS
    # settings say French (a town-hall desktop, a screenshot script) must not change their messages
    settings = QgsSettings()
    old = settings.value("locale/userLocale", "")
    settings.setValue("locale/userLocale", "en_US")
    yield app
    settings.setValue("locale/userLocale", old)
    # No exitQgis(): layer references still alive at exit would segfault (see docs/qgis.md).


# --------------------------------------------------------------------------------------------
# local HTTP server on 127.0.0.1 (downloads are tested against it, never the internet)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        srv = self.server
        path = urlsplit(self.path).path
        srv.requests.append((path, dict(self.headers)))
        mode = srv.modes.get(path, "ok")
        if isinstance(mode, int):
            self.send_error(mode, "test error")
            return
        body = srv.files.get(path)
        if body is None:
            self.send_error(404, "not here")
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        rng = self.headers.get("Range")
        start = 0
        if rng and mode != "ignore_range":
            start = int(re.match(r"bytes=(\d+)-", rng).group(1))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", "Wed, 01 Jan 2025 00:00:00 GMT")
        self.end_headers()
        if mode in ("interrupt_once", "interrupt_then_ignore_range") and path not in srv.interrupted:
            srv.interrupted.add(path)
            self.wfile.write(chunk[: len(chunk) // 2])
            self.wfile.flush()
            self.close_connection = True
            if mode == "interrupt_then_ignore_range":
                srv.modes[path] = "ignore_range"
            return
        self.wfile.write(chunk)

    def log_message(self, *args):  # silence
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.files, srv.modes, srv.requests, srv.interrupted = {}, {}, [], set()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)
