"""Exceptions raised by acv-geo for bad input, and the plain-words message of an operating-system error."""

from __future__ import annotations

import errno
import os

__all__ = ["InputError", "os_error_message"]


class InputError(ValueError):
    """Bad input: the message names the file, the row or feature, the column and the fix.

    It subclasses :class:`ValueError` so that callers catching ``ValueError`` keep working.
    """


_FIXES = {
    errno.ENOSPC: ("the disk is full", "free some space or choose a folder on another disk"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space or choose a folder on another disk"),
    errno.EACCES: ("permission denied", "choose a folder you may write to, or change its permissions"),
    errno.EPERM: ("operation not permitted", "choose a folder you may write to, or change its permissions"),
    errno.EROFS: ("the file system is read-only", "choose a folder on a writable disk"),
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "check the path"),
    errno.EISDIR: ("is a folder, not a file", "give a file name"),
    errno.ENAMETOOLONG: ("the name is too long", "choose a shorter path"),
    errno.EMFILE: ("too many open files", "close other programs and run again"),
}


def os_error_message(exc: OSError, *, path: str | os.PathLike[str] | None = None) -> str:
    """``exc`` as one sentence that names the path, says what happened and what to do.

    Parameters
    ----------
    exc : OSError
        The error (disk full, permission denied, read-only file system…).
    path : str or path-like, optional
        The file or folder concerned when the error does not name it.

    Returns
    -------
    str
        E.g. ``"out/report.html: the disk is full; free some space or choose a folder on another disk"``.

    Examples
    --------
    >>> import errno
    >>> os_error_message(OSError(errno.ENOSPC, "No space left on device", "out/cities.gpkg"))
    'out/cities.gpkg: the disk is full; free some space or choose a folder on another disk'
    """
    where = exc.filename or path or "(file)"
    what, fix = _FIXES.get(exc.errno or -1, (exc.strerror or str(exc), "check the path and the disk"))
    return f"{where}: {what}; {fix}"
