"""Machine-readable events of ``acv-geo --json``: one JSON object per line on standard output.

A program that runs ``acv-geo`` in a child process (the QGIS plugin does) reads these lines to show
progress, log lines and warnings as they happen, and to get the exit status and the message of an
error without parsing human text. Every line is a JSON object with an ``event`` key:

========== ==================================================================================
event      other keys
========== ==================================================================================
start      ``protocol`` (this format's version, 1), ``version`` (acv-geo), ``command``
progress   ``fraction`` (0 to 1), ``message``
log        ``level`` (``INFO``, ``WARNING``…), ``message`` (the ``acv_geo`` log records: repairs…)
warning    ``message`` (a Python warning raised by the core, or a warning of the run's result such as
           ``DiagnoseResult.warnings``: plain text, one event each)
info       ``message`` (a line the command would have printed)
result     free keys: the numbers a command reports (``n_cities``…)
error      ``message``, ``code`` (exit code), ``traceback`` (for unexpected failures only)
end        ``code`` (the exit code: 0 ok, 2 bad input, 1 unexpected failure, 130 cancelled)
========== ==================================================================================

Without ``--json`` every function here is a no-op except :func:`progress_callback`, which then
returns ``None`` (the commands keep their own progress bars).
"""

from __future__ import annotations

import io
import json
import logging
import sys
import warnings
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["PROTOCOL", "emit", "enabled", "progress", "progress_callback", "result", "start", "stop"]

#: Version of the event format; the QGIS plugin checks it.
PROTOCOL = 1

_state: dict[str, Any] = {"out": None, "restore": None}


def enabled() -> bool:
    """True when ``--json`` is on for this process."""
    return _state["out"] is not None


def emit(event: str, **fields: Any) -> None:
    """Write one event line (no-op without ``--json``)."""
    out: TextIO | None = _state["out"]
    if out is None:
        return
    out.write(json.dumps({"event": event, **fields}, ensure_ascii=False, default=str) + "\n")
    out.flush()


def progress(fraction: float, message: str = "") -> None:
    """Report progress, ``fraction`` in [0, 1] (no-op without ``--json``)."""
    emit("progress", fraction=round(min(max(float(fraction), 0.0), 1.0), 4), message=message)


def progress_callback() -> Callable[[float, str], None] | None:
    """:func:`progress` with ``--json``, else ``None`` (for a core function's ``progress=``)."""
    return progress if enabled() else None


def result(**fields: Any) -> None:
    """Report the numbers a command produced (no-op without ``--json``)."""
    emit("result", **fields)


class _InfoLines(io.TextIOBase):
    """A text stream turning each printed line into an ``info`` event."""

    def __init__(self) -> None:
        self._buffer = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if line.strip():
                emit("info", message=line.removeprefix("acv-geo: "))
        return len(text)

    def flush(self) -> None:
        pass


class _LogEvents(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        emit("log", level=record.levelname, message=record.getMessage())


def _warning_event(
    message: Any, category: type, filename: str, lineno: int, file: Any = None, line: str | None = None
) -> None:
    if issubclass(category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
        return
    emit("warning", message=str(message))


def start(command: str) -> None:
    """Switch this process to JSON events: stdout carries events only, logs and warnings become events."""
    from acv_geo import __version__

    root = logging.getLogger("acv_geo")
    handler = _LogEvents(logging.INFO)
    saved = (sys.stdout, root.level, root.propagate, warnings.showwarning)

    def restore() -> None:
        sys.stdout, level, root.propagate, warnings.showwarning = saved
        root.setLevel(level)
        root.removeHandler(handler)

    _state["out"], _state["restore"] = sys.stdout, restore
    sys.stdout = _InfoLines()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    warnings.showwarning = _warning_event
    emit("start", protocol=PROTOCOL, version=__version__, command=command)


def stop() -> None:
    """Undo :func:`start` (stdout, logging and warnings as they were)."""
    if _state["restore"] is not None:
        _state["restore"]()
    _state["out"], _state["restore"] = None, None
