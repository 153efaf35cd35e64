"""Progress of a long call, one way for the whole package (exactextract style).

A function that takes ``progress`` accepts:

- ``False`` or ``None``: silent;
- ``True``: a progress bar on stderr (:mod:`tqdm`);
- a callable ``progress(fraction, message)``, with ``fraction`` in [0, 1]: for GUIs (the QGIS plugin,
  the CLI's ``--json`` events). The library never prints anything else.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any, TypeAlias

__all__ = ["Progress", "ProgressArg", "check_progress"]

#: What a ``progress`` parameter accepts.
ProgressArg: TypeAlias = "bool | Callable[[float, str], Any] | None"


def check_progress(progress: Any, name: str = "progress") -> None:
    """Raise ``ValueError`` unless ``progress`` is a bool, ``None`` or a callable.

    Examples
    --------
    >>> check_progress(True); check_progress(print)
    >>> check_progress("yes")
    Traceback (most recent call last):
    ...
    ValueError: progress must be True, False or a callable progress(fraction, message), not 'yes'
    """
    if progress is None or isinstance(progress, bool) or callable(progress):
        return
    raise ValueError(f"{name} must be True, False or a callable progress(fraction, message), not {progress!r}")


class Progress:
    """Steps (or units such as bytes) done out of a total, reported as ``progress`` asks.

    Parameters
    ----------
    total : int or None
        Steps (or units) expected; ``None`` when unknown (then the fraction stays 0).
    progress : bool, None or callable
        See the module docstring.
    desc : str, default ""
        What is progressing (shown before the bar).
    unit : str, default "step"
        Unit of the bar; ``"B"`` shows bytes with binary prefixes.
    initial : int, default 0
        Units already done (a resumed download).
    stream : file-like, optional
        Where the bar is drawn (default stderr).

    Attributes
    ----------
    timings : dict
        Seconds spent in each labelled step (:meth:`step`), in order.

    Examples
    --------
    >>> seen = []
    >>> p = Progress(2, lambda f, m: seen.append((f, m)))
    >>> p.step("lecture"); p.step("cartes"); p.close()
    >>> seen
    [(0.0, 'lecture'), (0.5, 'cartes'), (1.0, 'done')]
    >>> list(p.timings)
    ['lecture', 'cartes']
    """

    def __init__(
        self,
        total: int | None,
        progress: ProgressArg,
        *,
        desc: str = "",
        unit: str = "step",
        initial: int = 0,
        stream: Any = None,
    ) -> None:
        check_progress(progress)
        self.total = total
        self.done = initial
        self.callback = progress if callable(progress) and not isinstance(progress, bool) else None
        self.timings: dict[str, float] = {}
        self._label = ""
        self._t = time.perf_counter()
        self._bar = None
        if progress is True:
            byte_unit = unit == "B"
            self._bar = _quiet_tqdm()(
                total=total,
                initial=initial,
                desc=desc or None,
                unit=unit,
                unit_scale=byte_unit,
                unit_divisor=1024 if byte_unit else 1000,
                file=stream or sys.stderr,
                leave=True,
                dynamic_ncols=True,
                mininterval=0.2,
            )

    @property
    def fraction(self) -> float:
        """Share of the total done, in [0, 1] (0 when the total is unknown)."""
        return min(self.done / self.total, 1.0) if self.total else 0.0

    def step(self, label: str) -> None:
        """Close the current step (if any) and start the step ``label``."""
        now = time.perf_counter()
        if self._label:
            self.timings[self._label] = self.timings.get(self._label, 0.0) + now - self._t
            self._advance(1)
        self._t, self._label = now, label
        if label:
            self._report(label)

    def update(self, n: int, message: str = "") -> None:
        """Add ``n`` units done (bytes of a download, zones of a chunk)."""
        self._advance(n)
        self._report(message or self._label)

    def _advance(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)

    def _report(self, message: str) -> None:
        if self.callback is not None:
            self.callback(self.fraction, message)
        elif self._bar is not None and message:
            self._bar.set_postfix_str(message[:60], refresh=False)

    def close(self) -> None:
        """Close the last step; the fraction becomes 1 when the total is known."""
        if self._label:
            self.step("")
        if self.total and self.done < self.total:  # fewer steps ran than announced (a skipped step)
            self._advance(self.total - self.done)
        if self.callback is not None:
            self.callback(self.fraction, "done")
        if self._bar is not None:
            self._bar.close()


@functools.cache
def _quiet_tqdm() -> Any:
    """The bar class of ``tqdm.auto`` without its monitor thread.

    The monitor wakes every 10 s to redraw stalled bars; a thread alive stops ``diagnose`` from
    forking its map workers (a fork could inherit a lock it holds), so with a bar on screen every
    map was drawn in the main process. Each step of a run updates the bar anyway.
    """
    from tqdm.auto import tqdm

    class Bar(tqdm):  # type: ignore[misc]
        monitor_interval = 0

    return Bar
