"""The Python environment that runs the acv-geo core, outside QGIS's process.

QGIS's own Python never imports the geo stack (numpy, pandas, shapely, pyproj, GDAL wheels…): their
compiled GDAL/PROJ/GEOS would sit next to QGIS's copies in one process and crash it. The core runs
in a separate interpreter, found in this order:

1. the ``ACV_GEO_PYTHON`` environment variable, then the ``acv_geo/python`` setting: an interpreter
   that already has acv-geo installed (a developer's virtual environment, a conda env…);
2. the plugin's own environment, ``<QGIS profile>/acv_geo/env``, created by *Install acv-geo*
   (:func:`install`) from the wheel bundled in the plugin zip (``wheels/``) and the package index.

Only the standard library and ``qgis.core`` are used here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from qgis.core import QgsApplication, QgsSettings

from .translation import tr

PLUGIN_DIR = Path(__file__).resolve().parent
WHEELS = PLUGIN_DIR / "wheels"
MARKER = "acv_geo_env.json"
#: Extras of acv-geo installed into the environment (fetch: 7z archives of IGN).
EXTRAS = "fetch"
ENV_VAR = "ACV_GEO_PYTHON"
SETTING_PYTHON = "acv_geo/python"
SETTING_BASE_PYTHON = "acv_geo/base_python"
SETTING_INDEX_URL = "acv_geo/index_url"

#: Variables QGIS sets for its own GDAL/PROJ/Python that must not reach the core's interpreter.
FOREIGN_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PROJ_LIB",
    "PROJ_DATA",
    "GDAL_DATA",
    "GDAL_DRIVER_PATH",
    "GDAL_FILENAME_IS_UTF8",
    "GEOTIFF_CSV",
    "QGIS_PREFIX_PATH",
    "LD_PRELOAD",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
)
_NETWORK = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Max retries exceeded|Name or service not known|"
    r"Temporary failure in name resolution|ConnectionRefused|Connection refused|No matching distribution found|"
    r"Could not find a version that satisfies|ProxyError|SSLError|timed out|getaddrinfo failed",
)


@dataclass(frozen=True)
class Status:
    """Where the core's interpreter is and whether it can run.

    Attributes
    ----------
    python : str or None
        Interpreter to run (``python -m acv_geo``), or None when there is none yet.
    ready : bool
        True when ``python`` can be used as it is.
    upgrade : bool
        True when the plugin's environment holds an older acv-geo than the bundled wheel.
    message : str
        What is missing and what to do, in the user's language (empty when ready).
    """

    python: str | None
    ready: bool
    upgrade: bool
    message: str


def env_dir() -> Path:
    """The plugin's own environment: ``<QGIS profile folder>/acv_geo/env``."""
    return Path(QgsApplication.qgisSettingsDirPath()) / "acv_geo" / "env"


def env_python(folder: Path | None = None) -> Path:
    """The interpreter of a virtual environment folder (default: :func:`env_dir`)."""
    folder = folder or env_dir()
    return folder / "Scripts" / "python.exe" if sys.platform == "win32" else folder / "bin" / "python"


def bundled_wheel() -> Path | None:
    """The acv-geo wheel shipped in the plugin zip (newest name), or None in a source checkout."""
    wheels = sorted(WHEELS.glob("acv_geo-*.whl"))
    return wheels[-1] if wheels else None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _setting(key: str) -> str:
    value = QgsSettings().value(key, "")
    return str(value or "").strip()


def configured_python() -> str | None:
    """The interpreter named by ``ACV_GEO_PYTHON`` or the ``acv_geo/python`` setting, if any."""
    return os.environ.get(ENV_VAR, "").strip() or _setting(SETTING_PYTHON) or None


def base_python() -> str | None:
    """The Python that creates the environment: the setting, else QGIS's own (Windows, macOS) or python3."""
    chosen = _setting(SETTING_BASE_PYTHON)
    if chosen:
        return chosen
    if sys.platform == "win32":
        candidate = Path(sys.prefix) / "python.exe"  # sys.executable is qgis-bin.exe
        return str(candidate) if candidate.exists() else shutil.which("python3") or shutil.which("python")
    if sys.platform == "darwin":
        candidate = Path(sys.prefix) / "bin" / "python3"
        return str(candidate) if candidate.exists() else shutil.which("python3")
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else shutil.which("python3")


def read_marker(folder: Path | None = None) -> dict:
    """What :func:`install` recorded in the environment (empty when it never finished)."""
    try:
        return json.loads(((folder or env_dir()) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def status() -> Status:
    """Find the core's interpreter and say whether it is ready (no process started)."""
    chosen = configured_python()
    if chosen:
        if Path(chosen).exists() or shutil.which(chosen):
            return Status(chosen, True, False, "")
        return Status(
            None,
            False,
            False,
            tr(
                "The Python interpreter chosen for acv-geo ({}) does not exist; fix the setting or the "
                "ACV_GEO_PYTHON variable, or clear it and run 'Install acv-geo'."
            ).format(chosen),
        )
    python = env_python()
    marker = read_marker()
    wheel = bundled_wheel()
    if not python.exists() or not marker:
        if wheel is None:
            return Status(
                None,
                False,
                False,
                tr(
                    "acv-geo is not installed and this copy of the plugin carries no acv-geo wheel: install the "
                    "plugin from its zip, or set ACV_GEO_PYTHON to a Python that has acv-geo."
                ),
            )
        return Status(
            None,
            False,
            False,
            tr(
                "acv-geo is not installed yet. Run 'Install acv-geo' (Processing toolbox › ACV Geo › Setup, or the "
                "Plugins › ACV Geo menu): it creates its own Python environment, QGIS's Python is not modified."
            ),
        )
    if wheel is not None and marker.get("sha256") != _sha256(wheel):
        return Status(
            str(python),
            True,
            True,
            tr(
                "The plugin carries a newer acv-geo ({}) than its environment ({}); it is upgraded before the next "
                "run, or now with 'Install acv-geo'."
            ).format(_wheel_version(wheel), marker.get("version", "?")),
        )
    return Status(str(python), True, False, "")


def _wheel_version(wheel: Path) -> str:
    parts = wheel.name.split("-")
    return parts[1] if len(parts) > 1 else "?"


def clean_environ() -> dict[str, str]:
    """The environment of a child interpreter: QGIS's GDAL/PROJ/Python variables removed, UTF-8 output."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_VARIABLES}
    env.update(PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1", PYTHONNOUSERSITE="1")
    return env


def quote_command(cmd: list[str]) -> str:
    """A command line the user can copy into a terminal of their system."""
    return subprocess.list2cmdline(cmd) if sys.platform == "win32" else shlex.join(cmd)


def pip_command(python: str, wheel: Path, index_url: str | None) -> list[str]:
    """The pip call that installs the wheel and its dependencies into the environment."""
    cmd = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", "--upgrade"]
    if index_url:
        cmd += ["--index-url", index_url]
    return [*cmd, f"{wheel}[{EXTRAS}]"]


def manual_commands(base: str, folder: Path, wheel: Path, index_url: str | None) -> str:
    """The full commands to create the environment by hand."""
    return "\n".join(
        [
            quote_command([base, "-m", "venv", str(folder)]),
            quote_command(pip_command(str(env_python(folder)), wheel, index_url)),
        ]
    )


class SetupError(RuntimeError):
    """The environment could not be created; the message says why and what to run by hand."""


def _stream(cmd: list[str], on_line, is_canceled) -> tuple[int, list[str]]:
    """Run ``cmd``, call ``on_line`` for each output line; kill it if ``is_canceled()``; (code, lines)."""
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=clean_environ(),
        **_no_window(),
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        lines.append(line)
        on_line(line)
        if is_canceled():
            proc.kill()
            break
    return proc.wait(), lines


def _no_window() -> dict:
    if sys.platform == "win32":
        return {"creationflags": getattr(subprocess, "CREATE_NO_WINDOW", 0)}
    return {}


def install(log, progress, is_canceled=lambda: False, *, index_url: str | None = None) -> Path:
    """Create (or upgrade) the plugin's environment from the bundled wheel; return its interpreter.

    Parameters
    ----------
    log : callable
        ``log(text)`` for each line of pip's output.
    progress : callable
        ``progress(percent)``.
    is_canceled : callable
        True stops pip.
    index_url : str, optional
        Package index (default: the ``acv_geo/index_url`` setting, else pip's own configuration).

    Raises
    ------
    SetupError
        No wheel, no base Python, ``venv`` missing, the index unreachable or pip failing; the message
        carries the full commands to run by hand.
    """
    wheel = bundled_wheel()
    if wheel is None:
        raise SetupError(
            tr("This copy of the plugin carries no acv-geo wheel (wheels/ folder): install the plugin from its zip.")
        )
    index_url = index_url or _setting(SETTING_INDEX_URL) or None
    base = base_python()
    folder = env_dir()
    by_hand = manual_commands(base or "python3", folder, wheel, index_url)
    if not base:
        raise SetupError(
            tr(
                "No Python 3 interpreter found to create the environment; install Python 3 or choose "
                "one in the setting acv_geo/base_python. Commands to run by hand:\n{}"
            ).format(by_hand)
        )
    t0 = time.monotonic()
    python = env_python(folder)
    if not (python.exists() and read_marker(folder)):
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        log(tr("Creating the environment {} with {}").format(folder, base))
        code, lines = _stream([base, "-m", "venv", str(folder)], log, is_canceled)
        if code != 0:
            shutil.rmtree(folder, ignore_errors=True)
            hint = tr(" On Debian/Ubuntu: sudo apt install python3-venv.") if "ensurepip" in "\n".join(lines) else ""
            raise SetupError(
                tr("Could not create the environment ({}).{} Commands to run by hand:\n{}").format(
                    (lines or ["?"])[-1], hint, by_hand
                )
            )
    progress(10)
    cmd = pip_command(str(python), wheel, index_url)
    log(quote_command(cmd))
    seen = [0]

    def on_line(line: str) -> None:
        log(line)
        if line.startswith(("Collecting", "Processing", "Requirement already satisfied")):
            seen[0] += 1
            progress(min(10 + 2 * seen[0], 75))
        elif line.startswith("Installing collected packages"):
            progress(80)

    code, lines = _stream(cmd, on_line, is_canceled)
    if is_canceled():
        raise SetupError(tr("Installation cancelled; run 'Install acv-geo' again to finish it."))
    if code != 0:
        text = "\n".join(lines[-30:])
        if _NETWORK.search(text):
            raise SetupError(
                tr(
                    "The Python package index {} could not be reached, or does not serve the packages acv-geo needs. "
                    "Check the network or proxy (or set another index in the setting acv_geo/index_url), then run "
                    "'Install acv-geo' again, or run by hand:\n{}"
                ).format(index_url or "(pip default)", by_hand)
            )
        raise SetupError(
            tr("pip failed (exit code {}): {}\nCommands to run by hand:\n{}").format(
                code, (lines or ["?"])[-1], by_hand
            )
        )
    progress(90)
    check = subprocess.run(
        [str(python), "-m", "acv_geo", "--version"],
        capture_output=True,
        text=True,
        env=clean_environ(),
        timeout=120,
        **_no_window(),
    )
    if check.returncode != 0:
        raise SetupError(tr("acv-geo was installed but does not start: {}").format(check.stderr.strip()[-2000:]))
    marker = {
        "version": check.stdout.strip().split()[-1],
        "wheel": wheel.name,
        "sha256": _sha256(wheel),
        "base_python": base,
        "index_url": index_url,
        "seconds": round(time.monotonic() - t0, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(marker, f, indent=2)
    os.replace(tmp, folder / MARKER)
    progress(100)
    return python
