"""``python -m acv_geo ARGS``: the ``acv-geo`` command line (how the QGIS plugin runs the core)."""

import sys

from .cli import main

sys.exit(main())
