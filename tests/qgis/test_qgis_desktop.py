"""QGIS desktop under Xvfb, French UI, plugin installed from the zip: 20 runs from the dialogs, no crash.

The earlier plugin, which loaded the pip geo stack into QGIS's process, crashed QGIS (signal 11 in a
Processing worker thread) in 4 of 5 such sessions. The driver script (drivers/desktop_soak.py) runs
every algorithm from its dialog — the user's path: a Processing task in a worker thread — 20 times
in one session, two full diagnostics included, takes screenshots, and quits QGIS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.qgis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).parent / "drivers" / "desktop_soak.py"


def _image_stats(path: Path) -> tuple[int, int, float]:
    from matplotlib.image import imread

    img = imread(path)
    return img.shape[1], img.shape[0], float(img[..., :3].std())


@pytest.fixture(scope="module")
def soak(tmp_path_factory, plugin_zip):
    if not (shutil.which("xvfb-run") and shutil.which("qgis")):
        pytest.skip("QGIS desktop or xvfb-run not installed (see scripts/test.sh)")
    base = tmp_path_factory.mktemp("desktop")
    home, out = base / "home", base / "out"
    profile = home / ".local/share/QGIS/QGIS3/profiles/default"
    with zipfile.ZipFile(plugin_zip) as zf:
        zf.extractall(profile / "python" / "plugins")
    ini = profile / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(
        "[PythonPlugins]\nacv_geo_qgis=true\n\n[locale]\noverrideFlag=true\nuserLocale=fr_FR\n\n"
        "[qgis]\ncheckVersion=false\nshowTips=false\n",
        encoding="utf-8",
    )
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QGIS_", "PYTHON", "QT_QPA", "VIRTUAL_ENV"))}
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:  # QGIS's Python finds its prefix through PATH: an activated venv's python hid the qgis module
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(venv))
    env.update(
        HOME=str(home),
        ACV_GEO_PYTHON=sys.executable,
        ACV_SOAK_OUT=str(out),
        ACV_SOAK_DATA=str(ROOT / "data"),
        XDG_RUNTIME_DIR=str(base),
    )
    cmd = [
        "xvfb-run",
        "-a",
        "-s",
        "-screen 0 1600x1000x24",
        "qgis",
        "--nologo",
        "--noversioncheck",
        "--code",
        str(DRIVER),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500)
    records = (
        [json.loads(line) for line in (out / "soak.jsonl").read_text().splitlines()]
        if (out / "soak.jsonl").exists()
        else []
    )
    return proc, records, out


def test_twenty_dialog_runs_without_a_crash(soak):
    proc, records, _ = soak
    runs = [r for r in records if r["event"] == "run"]
    failed = [r for r in runs if not r["ok"]]
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])
    assert records and records[-1]["event"] == "done", proc.stderr[-3000:]
    assert len(runs) == 20 and not failed, failed
    assert sum(r["alg"] == "acvgeo:diagnose" for r in runs) == 2
    assert records[-1]["foreign_modules"] == []
    assert records[-1]["layers"] >= 8  # the outputs were loaded into the project


def test_screenshots_of_the_toolbox_and_a_dialog(soak):
    _, _, out = soak
    for name, min_size in (("toolbox.png", (1200, 700)), ("dialog.png", (500, 400))):
        w, h, spread = _image_stats(out / name)
        assert w >= min_size[0] and h >= min_size[1], (name, w, h)
        assert spread > 0.05, (name, spread)  # not a blank image
