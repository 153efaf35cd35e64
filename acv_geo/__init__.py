"""acv-geo: risk, biodiversity and open-data diagnostics for the Action Cœur de Ville towns.

The public API is flat: ``acv_geo.read_acv()``, ``acv_geo.overlay_indicators(...)``, ...
Names are imported lazily so that ``import acv_geo`` stays cheap (no matplotlib, rasterio or
esda until a function that needs them is called): the QGIS plugin imports this package inside
QGIS.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module of acv_geo that defines it. One line per name; keep sorted by module.
_EXPORTS: dict[str, str] = {
    "normalize_insee": "codes",
    "normalize_siren": "codes",
    "DATASETS": "datasets",
    "get_path": "datasets",
    "list_datasets": "datasets",
    "InputError": "errors",
    "read_acv": "io",
    "read_all_communes": "io",
    "read_communes": "io",
    "read_epci": "io",
    "read_polygons": "io",
    "repair_report": "io",
    "indicator_metadata": "metadata",
    "column_label": "labels",
    "read_gaspar": "gaspar",
    "gaspar_indicators": "gaspar",
    "risq_indicators": "gaspar",
    "pprn_indicators": "gaspar",
    "azi_indicators": "gaspar",
    "tri_indicators": "gaspar",
    "dicrim_indicators": "gaspar",
    "catnat_gaspar_indicators": "gaspar",
    "nature_indicators": "services",
    "nature_layers": "services",
    "georisques_indicators": "services",
    "fetch_services": "services",
    "ServiceError": "services",
    "opendata_status": "opendata",
    "read_observatory": "opendata",
    "TERRITORIES": "territories",
    "local_crs": "territories",
    "territory_of": "territories",
    "write_table": "writers",
    "fetch": "fetching",
    "list_sources": "fetching",
    "source_path": "fetching",
    "resolve_source": "fetching",
    "source_info": "fetching",
    "spatial_weights": "weights",
    "join_counts": "clusters",
    "morans_i": "clusters",
    "local_clusters": "clusters",
    "france_communes": "clusters",
    "plot_map": "maps",
    "cluster_map": "maps",
    "make_zones": "zones",
    "polygon_zones": "zones",
    "list_presets": "overlay",
    "overlay_indicators": "overlay",
    "parse_zone_spec": "zones",
    "zonal_indicators": "zonal",
    "radon_indicators": "tables",
    "catnat_indicators": "tables",
    "join_commune_table": "tables",
    "seismic_indicators": "tables",
    "known_risks_indicators": "tables",
    "load_config": "config",
    "diagnose": "pipeline",
    "DiagnoseResult": "pipeline",
    "build_report": "report",
    "exposure_profile": "profile",
    "rank_candidates": "profile",
}

__all__ = sorted([*_EXPORTS, "__version__"])


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
    from .clusters import france_communes, join_counts, local_clusters, morans_i  # noqa: F401
    from .codes import normalize_insee, normalize_siren  # noqa: F401
    from .config import load_config  # noqa: F401
    from .datasets import DATASETS, get_path, list_datasets  # noqa: F401
    from .errors import InputError  # noqa: F401
    from .fetching import fetch, list_sources, resolve_source, source_info, source_path  # noqa: F401
    from .gaspar import (  # noqa: F401
        azi_indicators,
        catnat_gaspar_indicators,
        dicrim_indicators,
        gaspar_indicators,
        pprn_indicators,
        read_gaspar,
        risq_indicators,
        tri_indicators,
    )
    from .io import read_acv, read_all_communes, read_communes, read_epci, repair_report  # noqa: F401
    from .labels import column_label  # noqa: F401
    from .maps import cluster_map, plot_map  # noqa: F401
    from .metadata import indicator_metadata  # noqa: F401
    from .opendata import opendata_status, read_observatory  # noqa: F401
    from .overlay import list_presets, overlay_indicators  # noqa: F401
    from .pipeline import DiagnoseResult, diagnose  # noqa: F401
    from .profile import exposure_profile, rank_candidates  # noqa: F401
    from .report import build_report  # noqa: F401
    from .services import (  # noqa: F401
        ServiceError,
        fetch_services,
        georisques_indicators,
        nature_indicators,
        nature_layers,
    )
    from .tables import (  # noqa: F401
        catnat_indicators,
        join_commune_table,
        known_risks_indicators,
        radon_indicators,
        seismic_indicators,
    )
    from .territories import TERRITORIES, local_crs, territory_of  # noqa: F401
    from .weights import spatial_weights  # noqa: F401
    from .writers import write_table  # noqa: F401
    from .zonal import zonal_indicators  # noqa: F401
    from .zones import make_zones, parse_zone_spec, polygon_zones  # noqa: F401
