"""ACV Geo: a QGIS Processing provider over the acv-geo library.

Loading order matters, so this module does it by hand before anything imports the geo stack:

1. The core library: if ``acv_geo`` is not importable (the usual case inside QGIS), use the copy
   bundled in the plugin zip under ``ext/acv_geo`` (data included). An ``acv_geo`` installed in
   QGIS's Python (``pip install acv-geo``) takes precedence over the bundled copy.
2. The symbol clash fix: inside QGIS (desktop or ``qgis_process``) the pip wheels of pyproj,
   shapely, pyogrio and rasterio carry their own GDAL/PROJ/GEOS, whose symbols would otherwise
   resolve to QGIS's system copies (wrong versions: GEOS errors, double free at exit). Loading
   them with ``RTLD_DEEPBIND`` makes each wheel library use its own copies. Not done in an
   external application (a script or test that starts QgsApplication itself), Linux only.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

_EXT = Path(__file__).resolve().parent / "ext"


def _core_importable() -> bool:
    """True when a regular ``acv_geo`` package (not a bare namespace folder) is importable."""
    spec = importlib.util.find_spec("acv_geo")
    return spec is not None and spec.origin not in (None, "namespace")


def _use_bundled_core() -> bool:
    """Put ``ext/`` on sys.path when ``acv_geo`` is not importable otherwise; True if done.

    Appended last: an installed ``acv_geo`` keeps precedence. A namespace-only ``acv_geo`` folder
    (e.g. the ``_data`` left by an editable install) does not count, and a regular package found
    later on sys.path wins over it.
    """
    if _core_importable() or not (_EXT / "acv_geo").is_dir():
        return False
    if str(_EXT) not in sys.path:
        sys.path.append(str(_EXT))
    return True


def _deepbind() -> bool:
    """Make later dlopen()s (the pip geo wheels) bind to their own libraries; True if set."""
    if not (hasattr(os, "RTLD_DEEPBIND") and hasattr(sys, "setdlopenflags")):
        return False
    from qgis.core import QgsApplication

    if QgsApplication.platform() == "external":
        return False
    sys.setdlopenflags(sys.getdlopenflags() | os.RTLD_DEEPBIND)
    return True


def classFactory(iface):  # noqa: N802 - name required by QGIS
    """Entry point QGIS calls with its interface (``None`` in qgis_process).

    Parameters
    ----------
    iface : QgisInterface or None

    Returns
    -------
    AcvGeoPlugin
    """
    _use_bundled_core()
    _deepbind()
    from .plugin import AcvGeoPlugin

    return AcvGeoPlugin(iface)
