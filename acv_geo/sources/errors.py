"""The error of a failed fetch (:class:`FetchError`) and the wording of byte sizes in its messages."""

from __future__ import annotations

__all__ = ["FetchError", "human_size"]


class FetchError(RuntimeError):
    """A source could not be fetched: network failure, HTTP error, checksum or schema change.

    The message names the source, the address and what to do. Nothing half-written is left in
    the cache, except a ``.part`` file after an interrupted transfer, which the next call resumes.

    Examples
    --------
    >>> isinstance(FetchError("radon: HTTP 404"), RuntimeError)
    True
    """


def human_size(n: float) -> str:
    """A byte count in binary units, as the messages of :class:`FetchError` write it.

    Examples
    --------
    >>> human_size(1000), human_size(5000), human_size(16 * 1024**3)
    ('1000 B', '4.9 KiB', '16.0 GiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover
