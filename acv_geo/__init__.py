"""acv-geo: risk, biodiversity and open-data diagnostics for the Action Cœur de Ville towns.

The public API is flat: ``acv_geo.read_acv()``, ``acv_geo.overlay_indicators(...)``, ...
Names are imported lazily so that ``import acv_geo`` stays cheap (no matplotlib, rasterio or
esda until a function that needs them is called): the QGIS plugin imports this package inside
QGIS.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from acv_geo import _compat

__version__ = "0.1.0"

# public name -> module of acv_geo that defines it. One line per name; keep sorted by module.
_EXPORTS: dict[str, str] = {
    "normalize_insee": "core.codes",
    "normalize_siren": "core.codes",
    "DATASETS": "core.datasets",
    "get_path": "core.datasets",
    "list_datasets": "core.datasets",
    "InputError": "core.errors",
    "read_acv": "read.cities",
    "read_all_communes": "read.communes",
    "read_communes": "read.communes",
    "read_epci": "read.communes",
    "read_polygons": "read.communes",
    "repair_report": "read.repairs",
    "indicator_metadata": "core.metadata",
    "column_label": "core.labels",
    "read_gaspar": "read.gaspar",
    "gaspar_indicators": "indicators.gaspar",
    "risq_indicators": "indicators.gaspar",
    "pprn_indicators": "indicators.gaspar",
    "azi_indicators": "indicators.gaspar",
    "tri_indicators": "indicators.gaspar",
    "dicrim_indicators": "indicators.gaspar",
    "catnat_gaspar_indicators": "indicators.gaspar",
    "nature_indicators": "indicators.services",
    "nature_layers": "indicators.services",
    "georisques_indicators": "indicators.services",
    "fetch_services": "indicators.services",
    "ServiceError": "sources.services",
    "opendata_status": "read.opendata",
    "read_observatory": "read.opendata",
    "TERRITORIES": "core.territories",
    "local_crs": "core.territories",
    "territory_of": "core.territories",
    "write_table": "outputs.writers",
    "fetch": "sources.fetching",
    "list_sources": "sources.cache",
    "source_path": "sources.cache",
    "resolve_source": "sources.cache",
    "source_info": "sources.cache",
    "spatial_weights": "stats.weights",
    "join_counts": "stats.clusters",
    "morans_i": "stats.clusters",
    "local_clusters": "stats.clusters",
    "cluster_weights": "stats.clusters",
    "france_communes": "read.national",
    "plot_map": "outputs.maps",
    "cluster_map": "outputs.maps",
    "make_zones": "zones",
    "polygon_zones": "zones",
    "list_presets": "indicators.overlay",
    "overlay_indicators": "indicators.overlay",
    "parse_zone_spec": "zones",
    "zonal_indicators": "indicators.zonal",
    "radon_indicators": "indicators.tables",
    "catnat_indicators": "indicators.tables",
    "join_commune_table": "indicators.tables",
    "seismic_indicators": "indicators.tables",
    "known_risks_indicators": "indicators.tables",
    "load_config": "pipeline.config",
    "diagnose": "pipeline.run",
    "DiagnoseResult": "pipeline.run",
    "build_report": "outputs.report",
    "exposure_profile": "indicators.profile",
    "rank_candidates": "indicators.profile",
}

__all__ = sorted([*_EXPORTS, "__version__"])


_compat.install()  # acv_geo.io, acv_geo.overlay… of 0.1 still import, with a DeprecationWarning


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'acv_geo' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from acv_geo.core.codes import normalize_insee, normalize_siren  # noqa: F401
    from acv_geo.core.datasets import DATASETS, get_path, list_datasets  # noqa: F401
    from acv_geo.core.errors import InputError  # noqa: F401
    from acv_geo.core.labels import column_label  # noqa: F401
    from acv_geo.core.metadata import indicator_metadata  # noqa: F401
    from acv_geo.core.territories import TERRITORIES, local_crs, territory_of  # noqa: F401
    from acv_geo.indicators.gaspar import (  # noqa: F401
        azi_indicators,
        catnat_gaspar_indicators,
        dicrim_indicators,
        gaspar_indicators,
        pprn_indicators,
        risq_indicators,
        tri_indicators,
    )
    from acv_geo.indicators.overlay import list_presets, overlay_indicators  # noqa: F401
    from acv_geo.indicators.profile import exposure_profile, rank_candidates  # noqa: F401
    from acv_geo.indicators.services import (  # noqa: F401
        fetch_services,
        georisques_indicators,
        nature_indicators,
        nature_layers,
    )
    from acv_geo.indicators.tables import (  # noqa: F401
        catnat_indicators,
        join_commune_table,
        known_risks_indicators,
        radon_indicators,
        seismic_indicators,
    )
    from acv_geo.indicators.zonal import zonal_indicators  # noqa: F401
    from acv_geo.outputs.maps import cluster_map, plot_map  # noqa: F401
    from acv_geo.outputs.report import build_report  # noqa: F401
    from acv_geo.outputs.writers import write_table  # noqa: F401
    from acv_geo.pipeline.config import load_config  # noqa: F401
    from acv_geo.pipeline.run import DiagnoseResult, diagnose  # noqa: F401
    from acv_geo.read.cities import read_acv  # noqa: F401
    from acv_geo.read.communes import read_all_communes, read_communes, read_epci, read_polygons  # noqa: F401
    from acv_geo.read.gaspar import read_gaspar  # noqa: F401
    from acv_geo.read.national import france_communes  # noqa: F401
    from acv_geo.read.opendata import opendata_status, read_observatory  # noqa: F401
    from acv_geo.read.repairs import repair_report  # noqa: F401
    from acv_geo.sources.cache import list_sources, resolve_source, source_info, source_path  # noqa: F401
    from acv_geo.sources.fetching import fetch  # noqa: F401
    from acv_geo.sources.services import ServiceError  # noqa: F401
    from acv_geo.stats.clusters import cluster_weights, join_counts, local_clusters, morans_i  # noqa: F401
    from acv_geo.stats.weights import spatial_weights  # noqa: F401
    from acv_geo.zones import make_zones, parse_zone_spec, polygon_zones  # noqa: F401
