#!/usr/bin/env bash
# Install everything the tests need (QGIS from Debian packages, a venv with the Python stack)
# and run the whole suite. Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# qgis: desktop (soak test under Xvfb) and qgis_process; python3-venv: the plugin creates its own environment;
# xvfb/xauth: a screen for QGIS desktop; qttools5-dev-tools: lrelease (the plugin's French translation check).
APT_PACKAGES="qgis python3-qgis qgis-providers python3-venv gdal-bin chromium xvfb xauth qttools5-dev-tools"
missing=0
for tool in chromium xvfb-run lrelease qgis; do command -v "$tool" >/dev/null 2>&1 || missing=1; done
if ! /usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1 || [ "$missing" = 1 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing QGIS and Chromium from Debian packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $APT_PACKAGES >/dev/null
  else
    echo "== QGIS or Chromium missing and not root: the tests that need them will be skipped"
  fi
fi

# The interpreter that can import qgis.core is Debian's; the venv sees its packages.
BASE_PY=/usr/bin/python3
if ! "$BASE_PY" -c "import venv, ensurepip" >/dev/null 2>&1; then BASE_PY=python3; fi
VENV="${ACV_GEO_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV from $BASE_PY (with system site-packages, for qgis.core)"
  "$BASE_PY" -m venv --system-site-packages "$VENV"
fi
echo "== installing acv-geo and its test dependencies"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c scripts/constraints-qgis.txt -e ".[test,dask,fetch]"

export QT_QPA_PLATFORM=offscreen
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"

echo "== ruff"
"$VENV/bin/python" -m ruff check .
"$VENV/bin/python" -m ruff format --check .
echo "== mypy"
"$VENV/bin/python" -m mypy acv_geo
echo "== pytest"
"$VENV/bin/python" -m pytest "$@"

# The same core suite against the newest releases a user gets with a plain `pip install .` (numpy 2, pandas 3,
# newest shapely/pyproj/geopandas/libpysal/esda), not only the QGIS-compatible pins above. QGIS tests are skipped
# there (no system site-packages); the plugin's own environment is built from the index by tests/qgis.
LATEST="${ACV_GEO_VENV_LATEST:-.venv-latest}"
if [ "${ACV_GEO_SKIP_LATEST:-0}" != "1" ]; then
  echo "== newest dependency releases ($LATEST)"
  if [ ! -x "$LATEST/bin/python" ]; then "$BASE_PY" -m venv "$LATEST"; fi
  "$LATEST/bin/python" -m pip install -q --disable-pip-version-check --upgrade --upgrade-strategy eager ".[test,fetch,dask]"
  "$LATEST/bin/python" -c "import numpy, pandas, shapely, pyproj, geopandas, esda; print('   numpy', numpy.__version__, \
'pandas', pandas.__version__, 'shapely', shapely.__version__, 'pyproj', pyproj.__version__, 'geopandas', \
geopandas.__version__, 'esda', esda.__version__)"
  "$LATEST/bin/python" -m pytest -p no:cacheprovider --ignore=tests/qgis "$@"
fi
