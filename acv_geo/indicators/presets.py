"""Layer presets of the overlay: the official layers users download, described as data.

Each preset (``presets.json`` beside this module) names a layer's category field, the labels of
its values used in column names, its geometry, source, licence, address and role (Géorisques TRI,
AZI, PPRN zoning, clay shrink-swell, CNIG « PAC risques », INPN ZNIEFF, Natura 2000, parks,
reserves). :func:`acv_geo.indicators.overlay.overlay_indicators` takes one with ``preset=``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

__all__ = ["get_preset", "list_presets"]


@functools.lru_cache(maxsize=1)
def _presets() -> dict[str, dict]:
    with open(Path(__file__).with_name("presets.json"), encoding="utf-8") as fh:
        return json.load(fh)


def list_presets() -> list[str]:
    """Names of the layer presets accepted by ``overlay_indicators(preset=...)``.

    Returns
    -------
    list of str
        Sorted preset names.

    Examples
    --------
    >>> "pac_risques" in list_presets()
    True
    """
    return sorted(_presets())


def get_preset(name: str) -> dict[str, Any]:
    """Description of one layer preset.

    Parameters
    ----------
    name : str
        One of :func:`list_presets`.

    Returns
    -------
    dict
        Keys ``label, layer_hint, category, fields, labels, geometry, source, licence, url``
        (and ``role``, ``date`` where the preset sets them).

    Raises
    ------
    ValueError
        If ``name`` is not a preset; the message lists the valid names.

    Examples
    --------
    >>> get_preset("pac_risques")["category"]
    'ALEA'
    """
    try:
        return dict(_presets()[name])
    except (KeyError, TypeError):
        raise ValueError(f"unknown preset {name!r}; valid presets are: {', '.join(list_presets())}") from None
