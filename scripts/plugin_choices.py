#!/usr/bin/env python3
"""Write qgis_plugin/acv_geo_qgis/choices.json: the fixed choices of the plugin's dialogs, from the core.

The plugin never imports acv_geo (it runs it in another process), so the lists its dialogs offer
(layer presets, catalogue sources, zonal statistics, weights kinds, cluster methods...) are taken
from the core here, once, and shipped as data; tests/test_qgis_plugin_build.py fails when the file
is out of date. Usage: python scripts/plugin_choices.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "qgis_plugin" / "acv_geo_qgis" / "choices.json"


def choices() -> dict:
    from acv_geo import __version__
    from acv_geo.indicators.overlay import list_presets
    from acv_geo.indicators.profile import DEFAULT_WEIGHTS, SUBSCORES
    from acv_geo.indicators.zonal import ALLOWED_STATS
    from acv_geo.sources.cache import list_sources
    from acv_geo.stats.choices import ALTERNATIVES, LEVELS, METHOD_TITLES, METHODS, cluster_labels
    from acv_geo.stats.weights import WEIGHT_KINDS
    from acv_geo.zones import ZONE_KINDS

    sources = list_sources(cache_dir=ROOT / ".no-cache")
    return {
        "core_version": __version__,
        "presets": list_presets(),
        "sources": [
            {
                "name": n,
                "title": str(r["title"]),
                "national": bool(isinstance(r["url"], str) and r["url"]),
                "per_department": bool(isinstance(r["url_department"], str) and r["url_department"]),
            }
            for n, r in sources.iterrows()
        ],
        "zonal_stats": list(ALLOWED_STATS),
        "weight_kinds": list(WEIGHT_KINDS),
        "cluster_methods": list(METHODS),
        "cluster_method_titles": {m: METHOD_TITLES[m] for m in METHODS},
        "cluster_labels": {m: list(cluster_labels(m)) for m in METHODS},
        "cluster_levels": list(LEVELS),
        "alternatives": list(ALTERNATIVES),
        "zone_kinds": list(ZONE_KINDS),
        "subscores": list(SUBSCORES),
        "default_weights": dict(DEFAULT_WEIGHTS),
    }


def text() -> str:
    return json.dumps(choices(), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when the file is out of date")
    args = ap.parse_args(argv)
    new = text()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != new:
            print(f"{OUT} is out of date: run python scripts/plugin_choices.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(new, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
