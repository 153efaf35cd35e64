"""ACV Geo: a QGIS Processing provider that runs the acv-geo analyses outside QGIS's process.

The plugin imports nothing but QGIS and the standard library: no numpy, pandas, shapely, pyproj or
GDAL wheel ever enters QGIS's process (their own GDAL/PROJ/GEOS next to QGIS's crashed QGIS). Each
algorithm runs ``python -m acv_geo --json ...`` in a dedicated environment (see :mod:`.environment`),
streams its progress into the dialog, and can be cancelled at any time.
"""

from __future__ import annotations


def classFactory(iface):  # noqa: N802 - name required by QGIS
    """Entry point QGIS calls with its interface (``None`` in qgis_process).

    Parameters
    ----------
    iface : QgisInterface or None

    Returns
    -------
    AcvGeoPlugin
    """
    from .plugin import AcvGeoPlugin
    from .translation import install_translator

    install_translator()
    return AcvGeoPlugin(iface)
