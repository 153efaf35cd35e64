"""Run one ``acv-geo`` command in a separate process and relay its events to a Processing feedback.

The child is ``<python> -m acv_geo --json COMMAND ARGS``: each line it prints is a JSON event
(see ``acv_geo.cli._events``): progress goes to ``feedback.setProgress``/``setProgressText``, log
lines and warnings to the algorithm log, the ``error`` event becomes a :class:`QgsProcessingException`
carrying the core's message. Cancel (``feedback.isCanceled()``) sends SIGTERM to the child's process
group (the core then removes its temporary files; its outputs are written atomically, so earlier
outputs stay as they were), then SIGKILL after :data:`GRACE` seconds.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

from qgis.core import QgsProcessingException

from . import environment
from .translation import tr

#: Seconds between the polite stop (SIGTERM) and the kill of a cancelled child.
GRACE = 1.0
#: Version of the event format this plugin reads.
PROTOCOL = 1


def _push_warning(feedback, text: str) -> None:
    if hasattr(feedback, "pushWarning"):
        feedback.pushWarning(text)
    else:  # pragma: no cover - QGIS < 3.16.2
        feedback.reportError(text, False)


def core_python(feedback) -> str:
    """The interpreter that runs the core; upgrades the plugin's environment first when needed."""
    st = environment.status()
    if st.ready and st.upgrade:
        feedback.pushInfo(st.message)
        try:
            return str(environment.install(feedback.pushConsoleInfo, lambda p: None, feedback.isCanceled))
        except environment.SetupError as exc:
            raise QgsProcessingException(str(exc)) from exc
    if not st.ready or st.python is None:
        raise QgsProcessingException(st.message)
    return st.python


def _reader(stream, tag: str, out: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        out.put((tag, line.rstrip("\r\n")))
    out.put((tag, None))


def _spawn(cmd: list[str], cwd: str | None) -> subprocess.Popen:
    kwargs: dict = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | getattr(subprocess, "CREATE_NO_WINDOW", 0)
    else:
        kwargs["start_new_session"] = True  # its own process group: cancel stops Dask workers too
    return subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=cwd,
        env=environment.clean_environ(),
        **kwargs,
    )


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the child's group, then SIGKILL it after GRACE seconds."""
    if proc.poll() is not None:
        return
    try:
        if sys.platform == "win32":
            proc.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(GRACE)
    except (subprocess.TimeoutExpired, OSError):
        pass
    if proc.poll() is None:
        try:
            if sys.platform == "win32":
                subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
            else:
                os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    proc.wait()


class _Named:
    """A feedback whose messages name the user's layers instead of the temporary files."""

    def __init__(self, feedback, labels: dict[str, str]) -> None:
        self._feedback = feedback
        self.labels = sorted(labels.items(), key=lambda kv: -len(kv[0]))

    def name(self, text: str) -> str:
        for path, label in self.labels:
            text = text.replace(path, label)
        return text

    def __getattr__(self, attr):
        method = getattr(self._feedback, attr)
        if attr in ("pushInfo", "pushWarning", "reportError", "pushDebugInfo", "pushConsoleInfo"):
            return lambda text, *a: method(self.name(text), *a)
        return method


class CoreRun:
    """What one child run reported: the ``result`` event's fields, warnings, the exit code."""

    def __init__(self) -> None:
        self.result: dict = {}
        self.warnings: list[str] = []
        self.error: str | None = None
        self.code: int | None = None
        self.stderr: list[str] = []


def run_core(
    args: list[str],
    feedback,
    *,
    cwd: str | None = None,
    python: str | None = None,
    labels: dict[str, str] | None = None,
) -> CoreRun:
    """Run ``acv-geo --json ARGS`` in a child process; return what it reported.

    ``labels`` maps the temporary files handed to the core to what the user knows them as (the
    layer's name): the core's messages name those instead.

    Raises
    ------
    QgsProcessingException
        The core's error message (bad input), an unexpected failure (with the end of its log), or
        the user's cancel.
    """
    python = python or core_python(feedback)
    cmd = [python, "-m", "acv_geo", "--json", *args]
    feedback.pushCommandInfo(environment.quote_command(cmd))
    try:
        proc = _spawn(cmd, cwd)
    except OSError as exc:
        raise QgsProcessingException(tr("Could not start the acv-geo interpreter {}: {}").format(python, exc)) from exc
    feedback.pushDebugInfo(tr("acv-geo process {} started").format(proc.pid))
    lines: queue.Queue = queue.Queue()
    threads = [
        threading.Thread(target=_reader, args=(s, t, lines), daemon=True)
        for s, t in ((proc.stdout, "out"), (proc.stderr, "err"))
    ]
    for t in threads:
        t.start()
    try:
        return _relay(proc, lines, _Named(feedback, labels or {}))
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _relay(proc: subprocess.Popen, lines: queue.Queue, feedback) -> CoreRun:
    """Relay the child's lines until it ends; stop it on cancel."""
    run = CoreRun()
    open_streams = 2
    t0 = time.monotonic()
    while open_streams:
        if feedback.isCanceled():
            _stop(proc)
            raise QgsProcessingException(
                tr("Cancelled: the acv-geo process was stopped; earlier outputs are left as they were.")
            )
        try:
            tag, line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if line is None:
            open_streams -= 1
        elif tag == "err":
            run.stderr.append(line)
            if line.strip():
                feedback.pushDebugInfo(line)
        else:
            _event(line, run, feedback)
    code = proc.wait()
    run.code = code if run.code is None else run.code
    feedback.pushDebugInfo(tr("acv-geo finished in {:.1f} s (exit code {})").format(time.monotonic() - t0, code))
    if run.error is not None:
        raise QgsProcessingException(feedback.name(run.error))
    if code != 0:
        tail = "\n".join(x for x in run.stderr[-15:] if x.strip()) or tr("(no message)")
        raise QgsProcessingException(tr("acv-geo stopped with exit code {}:\n{}").format(code, feedback.name(tail)))
    return run


def _event(line: str, run: CoreRun, feedback) -> None:
    try:
        ev = json.loads(line)
        kind = ev["event"]
    except (ValueError, KeyError, TypeError):
        feedback.pushConsoleInfo(line)
        return
    if kind == "progress":
        feedback.setProgress(100.0 * float(ev.get("fraction", 0)))
        if ev.get("message") and hasattr(feedback, "setProgressText"):
            feedback.setProgressText(str(ev["message"]))
    elif kind == "log":
        if ev.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            _push_warning(feedback, ev.get("message", ""))
        else:
            feedback.pushInfo(ev.get("message", ""))
    elif kind == "warning":
        run.warnings.append(feedback.name(ev.get("message", "")))
        _push_warning(feedback, ev.get("message", ""))
    elif kind == "info":
        feedback.pushInfo(ev.get("message", ""))
    elif kind == "result":
        run.result.update({k: v for k, v in ev.items() if k != "event"})
    elif kind == "error":
        run.error = ev.get("message", "")
        if ev.get("traceback"):
            feedback.pushDebugInfo(ev["traceback"])
    elif kind == "end":
        run.code = int(ev.get("code", 0))
    elif kind == "start" and int(ev.get("protocol", PROTOCOL)) != PROTOCOL:
        _push_warning(
            feedback,
            tr(
                "acv-geo {} speaks event protocol {}, this plugin {}: update the plugin or run 'Install acv-geo'."
            ).format(ev.get("version"), ev.get("protocol"), PROTOCOL),
        )
