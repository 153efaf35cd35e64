"""Threads for vectorised geometry work, shared by the indicator functions and the engines.

shapely releases the GIL, so one call's exact intersection tests, clipping and validity checks can be
split over threads (:func:`threaded`), one per core (:func:`thread_count`; ``ACV_GEO_THREADS`` sets
the number).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["CATEGORY_COLUMNS", "thread_count", "threaded"]


def thread_count() -> int:
    """Threads for the vectorised geometry work of one call (shapely releases the GIL).

    ``ACV_GEO_THREADS`` (a whole number ≥ 1) when set; otherwise the cores this process may use
    when called from the main thread, and 1 from any other thread — a Dask worker, a QGIS
    Processing task or the caller's own pool already run in parallel, and nesting threads there
    would only oversubscribe the cores.

    Examples
    --------
    >>> import os
    >>> os.environ["ACV_GEO_THREADS"] = "3"
    >>> thread_count()
    3
    >>> del os.environ["ACV_GEO_THREADS"]
    """
    env = os.environ.get("ACV_GEO_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"ACV_GEO_THREADS must be a whole number ≥ 1, got {env!r}")
        return int(env)
    if threading.current_thread() is not threading.main_thread():
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def threaded(
    func: Callable[..., NDArray[Any]],
    *arrays: NDArray[Any],
    threads: int | None = None,
    min_size: int = 200,
    **kwargs: Any,
) -> NDArray[Any]:
    """Apply a vectorised shapely function to aligned arrays, split over threads.

    ``func(a[i:j], b[i:j], **kwargs)`` runs on consecutive slices in a thread pool and the results
    are concatenated, so the result equals ``func(*arrays, **kwargs)`` element by element.

    Parameters
    ----------
    func : callable
        A shapely function that releases the GIL (``shapely.intersection``, ``shapely.covers``…).
    *arrays : numpy.ndarray
        Arrays of the same length.
    threads : int, optional
        Default :func:`thread_count`.
    min_size : int, default 200
        Below this many elements (per thread) the call runs in the calling thread.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> a = shapely.box(np.arange(5), 0, np.arange(5) + 2, 1)
    >>> threaded(shapely.area, a, threads=2, min_size=1).tolist()
    [2.0, 2.0, 2.0, 2.0, 2.0]
    """
    n = len(arrays[0])
    threads = thread_count() if threads is None else threads
    k = min(threads, n // max(1, min_size))
    if k <= 1:
        return func(*arrays, **kwargs)
    from concurrent.futures import ThreadPoolExecutor

    bounds = np.linspace(0, n, k + 1).astype(int)
    with ThreadPoolExecutor(k) as pool:
        parts = list(
            pool.map(
                lambda ij: func(*(a[ij[0] : ij[1]] for a in arrays), **kwargs),
                zip(bounds[:-1], bounds[1:], strict=True),
            )
        )
    return np.concatenate(parts)


#: attrs key by which an indicator function declares its per-category column families: a list of
#: ``[prefix, suffix]`` pairs (``{prefix}{value}{suffix}``, one column per category value found).
CATEGORY_COLUMNS = "acv_geo_category_columns"
