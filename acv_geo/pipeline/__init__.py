"""The diagnose run; the only package that imports all the others, besides the CLI.

One concept per module:

- ``schema``: every key of the TOML configuration, its type, default and help, stated once;
- ``config``: the checks across keys and the validated configuration (:func:`acv_geo.load_config`);
- ``run``: the orchestration of every step (:func:`acv_geo.diagnose`);
- ``engine``: spatial chunks of zones, run locally or on Dask.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    # acv-geo 0.1 had a module acv_geo.pipeline (now acv_geo.pipeline.run): its names, deprecated.
    if name.startswith("__"):
        raise AttributeError(name)
    import importlib
    import warnings

    run = importlib.import_module("acv_geo.pipeline.run")

    if not hasattr(run, name):
        raise AttributeError(f"module 'acv_geo.pipeline' has no attribute {name!r}")
    warnings.warn(
        f"acv_geo.pipeline.{name} is deprecated since acv-geo 0.2 and will be removed in 0.3; import "
        f"it from acv_geo.pipeline.run (or use acv_geo.diagnose)",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(run, name)
