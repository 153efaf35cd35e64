import sys

from acv_geo.cli import main

sys.exit(main())
