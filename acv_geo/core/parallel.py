"""Threads for vectorised geometry work, and forked processes for whole steps of a run.

shapely releases the GIL, so one call's exact intersection tests, clipping and validity checks can be
split over threads (:func:`threaded`), one per core (:func:`thread_count`; ``ACV_GEO_THREADS`` sets
the number). A step that needs only data already read can run in a forked process while the run
goes on (:class:`Forked`, where :func:`fork_context` allows a fork).
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CATEGORY_COLUMNS",
    "Forked",
    "end_children",
    "end_process",
    "fork_context",
    "one_blas_thread",
    "quiet_child",
    "start_frozen",
    "thread_count",
    "threaded",
    "threaded_map",
    "wait_first",
]

log = logging.getLogger("acv_geo")


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


def threaded_map(func: Callable[[Any], Any], items: Sequence[Any], *, threads: int | None = None) -> NDArray[Any]:
    """``[func(item) for item in items]`` as an object array, the items shared out over threads.

    For calls that release the GIL and each take a while (``shapely.union_all`` of one group,
    say): items are taken in order by :func:`thread_count` threads; with one item or one thread
    the loop runs in the calling thread.

    Examples
    --------
    >>> import shapely
    >>> groups = [shapely.box(0, 0, 1, 1), shapely.box(0, 0, 2, 2)]
    >>> threaded_map(lambda g: g.area, groups, threads=2).tolist()
    [1.0, 4.0]
    """
    threads = thread_count() if threads is None else threads
    out = np.empty(len(items), dtype=object)
    if threads <= 1 or len(items) <= 1:
        for i, item in enumerate(items):
            out[i] = func(item)
        return out
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        for i, value in enumerate(pool.map(func, items)):
            out[i] = value
    return out


#: attrs key by which an indicator function declares its per-category column families: a list of
#: ``[prefix, suffix]`` pairs (``{prefix}{value}{suffix}``, one column per category value found).
CATEGORY_COLUMNS = "acv_geo_category_columns"


def fork_context() -> Any:
    """The ``fork`` multiprocessing context when this process may fork safely, else None.

    Linux, and this process running a single thread: a child forked then inherits the imported
    modules and the data read so far, and nothing is re-run. Not with other threads alive (a fork
    could inherit a lock they hold), nor elsewhere, nor with forkserver or spawn, which re-import the
    main script of the caller (a script without ``if __name__ == "__main__"`` would run again).

    Examples
    --------
    >>> ctx = fork_context()
    >>> ctx is None or ctx.get_start_method() == "fork"
    True
    """
    import multiprocessing

    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return None
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork")


class Forked:
    """``func(*args)`` computed in a forked child process while this one goes on.

    :meth:`result` returns its value, or raises the exception it raised, as calling it here would.
    Where no fork is possible, or if the child dies, ``func`` runs here when the result is asked for.
    :meth:`close` ends a child whose result is no longer wanted.

    Examples
    --------
    >>> job = Forked(sum, [1, 2, 3])
    >>> job.result()
    6
    """

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self._func = func
        self._args = args
        self._done = False
        self._value: Any = None
        self._process: Any = None
        self._conn: Any = None
        ctx = fork_context()
        if ctx is None:
            return
        parent, child = ctx.Pipe(duplex=False)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            self._process = ctx.Process(target=_forked_main, args=(child, func, args, parent), daemon=True)
            start_frozen(self._process)
        except OSError as exc:
            log.warning("could not fork for %s (%s); it will run in this process", _name(func), exc)
            self._process = None
            return
        child.close()
        self._conn = parent

    @property
    def forked(self) -> bool:
        """Whether the work runs in a child process."""
        return self._process is not None

    def running(self) -> bool:
        """Whether a child still computes it (nothing sent back yet; False once it answered, died or never ran)."""
        return self._process is not None and not self._done and not self._conn.poll()

    def result(self) -> Any:
        """The value of ``func(*args)`` (waits for the child); the same value at every call."""
        if self._done:
            return self._value
        self._value = self._compute()
        self._done = True
        return self._value

    def _compute(self) -> Any:
        answer = None
        if self._process is not None:
            try:
                answer = self._conn.recv()
            except (EOFError, OSError) as exc:
                log.warning("the process of %s ended early (%s); running it here", _name(self._func), exc)
            self.close()
        if answer is None:
            return self._func(*self._args)
        kind, value = answer
        if kind == "error":
            raise value
        return value

    def close(self) -> None:
        """End the child (at once if it still works)."""
        if self._process is None:
            return
        self._conn.close()
        end_process(self._process)
        self._process = None


def wait_first(jobs: Sequence[Forked]) -> None:
    """Block until one of ``jobs`` that :meth:`~Forked.running` has answered (or died); at once if none runs.

    Examples
    --------
    >>> a, b = Forked(sum, [1]), Forked(sum, [2])
    >>> wait_first([a, b])
    >>> a.running() and b.running()
    False
    >>> a.result() + b.result()
    3
    """
    from multiprocessing.connection import wait

    conns = [job._conn for job in jobs if job.running()]
    if conns:
        wait(conns)


#: Child processes started by :func:`start_frozen` and not yet ended (:func:`end_process`, :func:`end_children`).
_LIVE: set[Any] = set()

#: The signals held while a child is forked: it sets its own handlers before taking them (:func:`quiet_child`).
_HELD = ("SIGINT", "SIGTERM")


def start_frozen(process: Any) -> None:
    """Start a forked ``process`` with the objects alive now out of garbage collection (``gc.freeze``).

    The child then never walks them: a collection would write into every object's header and so copy
    every memory page it shares with this process (the towns, tables and modules read so far).
    SIGINT and SIGTERM are held from before the fork until the process is registered here (in the
    child, until :func:`quiet_child` has set its handlers): a Ctrl-C cannot fall between the two and
    leave a process nobody ends (:func:`end_children` ends them; it runs at exit too).
    """
    import atexit
    import gc
    import signal

    held = {getattr(signal, name) for name in _HELD}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    gc.freeze()
    try:
        process.start()
        if not _LIVE:
            atexit.register(end_children)
        _LIVE.add(process)
    finally:
        gc.unfreeze()
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def end_process(process: Any, timeout: float = 0.5) -> None:
    """Wait up to ``timeout`` seconds for a child of :func:`start_frozen` to end, then end it (SIGTERM)."""
    process.join(timeout=timeout)
    if process.is_alive():
        process.terminate()
        process.join()
    _LIVE.discard(process)


def end_children() -> None:
    """End every child of :func:`start_frozen` still running (after an interrupt, and at exit)."""
    for process in list(_LIVE):
        end_process(process, timeout=0.0)


def one_blas_thread() -> Any:
    """A context limiting BLAS (OpenBLAS…) to one thread in this process (threadpoolctl).

    The processes of a run share the cores: a BLAS call spreading over both then stole them from the
    other processes, and OpenBLAS's idle threads spin after each call. The local cluster statistics
    (9,999 matrix-vector products per unit) burned 11.8 CPU-s in 9.5 s with two BLAS threads, 8.3 s
    in 8.3 s with one; map workers burned ≈ 60 % more CPU than the drawing. The results are the same
    (each output element is computed by the same kernel whatever the threads).

    Examples
    --------
    >>> import numpy as np
    >>> with one_blas_thread():
    ...     float(np.ones((4, 4)) @ np.ones(4) @ np.ones(4))
    16.0
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", repr(func))


def quiet_child() -> None:
    """In a forked child: Ctrl-C is for the parent (which then ends its children), SIGTERM ends it silently.

    A child inherits the parent's handlers: the CLI's turns SIGTERM into KeyboardInterrupt, and a
    Ctrl-C reaches the whole process group; each child then printed a traceback before the CLI's
    one-line message.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {getattr(signal, name) for name in _HELD})


def _forked_main(conn: Any, func: Callable[..., Any], args: tuple[Any, ...], caller_end: Any = None) -> None:
    """The child of :class:`Forked`: send ``("ok", value)`` or ``("error", exception)``.

    ``caller_end``, the caller's end of the pipe inherited by the fork, is closed first: a caller
    killed before reading would otherwise leave this child blocked on a full pipe forever (it now
    gets a broken pipe and ends).
    """
    if caller_end is not None:
        caller_end.close()
    quiet_child()
    try:
        with one_blas_thread():  # beside the run's other processes
            answer: tuple[str, Any] = ("ok", func(*args))
    except Exception as exc:  # noqa: BLE001 -- handed to the parent, which raises it
        answer = ("error", exc)
    try:
        conn.send(answer)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        conn.send(("error", RuntimeError(f"{_name(func)}: its result could not be sent back ({exc})")))
    except BrokenPipeError:
        pass  # the caller is gone: nobody wants the result
