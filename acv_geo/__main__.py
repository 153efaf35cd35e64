"""``python -m acv_geo ARGS``: the ``acv-geo`` command line (how the QGIS plugin runs the core)."""

import sys

from acv_geo.cli import main

sys.exit(main())
