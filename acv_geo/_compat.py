"""The module paths of acv-geo 0.1 (``acv_geo.io``, ``acv_geo.overlay``…), kept for one release.

acv-geo 0.2 groups its modules by step (``core``, ``sources``, ``read``, ``indicators``, ``stats``,
``outputs``, ``pipeline``). ``import acv_geo.overlay`` or ``from acv_geo.tables import radon_indicators``
still work: they give a module that looks each name up in the new modules, with a
``DeprecationWarning`` naming the new path. The flat API (``acv_geo.overlay_indicators``…) is not
deprecated.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

__all__ = ["MOVED"]

#: old module (under ``acv_geo.``) -> the new modules that hold its public names, in lookup order.
MOVED: dict[str, tuple[str, ...]] = {
    "errors": ("core.errors",),
    "codes": ("core.codes",),
    "territories": ("core.territories",),
    "datasets": ("core.datasets",),
    "metadata": ("core.metadata",),
    "labels": ("core.labels",),
    "fetching": ("sources.fetching", "sources.cache", "sources.catalogue", "sources.errors", "sources.archives"),
    "io": ("read.cities", "read.communes", "read.repairs"),
    "opendata": ("read.opendata",),
    "coverage": ("indicators.coverage",),
    "overlay": ("indicators.overlay",),
    "zonal": ("indicators.zonal",),
    "tables": ("indicators.tables", "read.tables"),
    "gaspar": ("indicators.gaspar", "read.gaspar"),
    "profile": ("indicators.profile",),
    "services": ("indicators.services", "sources.services", "sources.service_zones"),
    "weights": ("stats.weights",),
    "clusters": ("stats.clusters", "read.national"),
    "writers": ("outputs.writers",),
    "maps": ("outputs.maps",),
    "report": ("outputs.report",),
    "config": ("pipeline.config",),
    "engine": ("pipeline.engine", "core.parallel"),
}


def _warn(old: str, new: str, stacklevel: int = 3) -> None:
    warnings.warn(
        f"acv_geo.{old} is deprecated since acv-geo 0.2 and will be removed in 0.3; import from acv_geo.{new} "
        "(or use the flat API, e.g. acv_geo.read_acv)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def lookup(old: str, name: str) -> Any:
    """The object ``name`` of the 0.1 module ``acv_geo.<old>``, from the module that now holds it.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     f = lookup("overlay", "overlay_indicators")
    >>> f.__module__, caught[0].category.__name__
    ('acv_geo.indicators.overlay', 'DeprecationWarning')
    """
    for new in MOVED[old]:
        module = importlib.import_module(f"acv_geo.{new}")
        if hasattr(module, name):
            _warn(old, new, stacklevel=4)
            return getattr(module, name)
    raise AttributeError(
        f"module 'acv_geo.{old}' has no attribute {name!r} (its names moved to "
        + ", ".join(f"acv_geo.{n}" for n in MOVED[old])
        + ")"
    )


class _OldModule(types.ModuleType):
    """Stands for a 0.1 module: every attribute is looked up in the new modules."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return lookup(self.__name__.rpartition(".")[2], name)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        head, _, old = fullname.rpartition(".")
        if head != "acv_geo" or old not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        old = spec.name.rpartition(".")[2]
        module = _OldModule(spec.name, f"Deprecated: see {', '.join('acv_geo.' + n for n in MOVED[old])}.")
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def install() -> None:
    """Make ``import acv_geo.<old module>`` work (once per process)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
