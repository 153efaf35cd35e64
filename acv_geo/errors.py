"""Exceptions raised by acv-geo for bad input."""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input: the message names the file, the row or feature, the column and the fix.

    It subclasses :class:`ValueError` so that callers catching ``ValueError`` keep working.
    """
