"""The download cache: where it lies, its manifests, and what it holds for each source.

One folder per source (``pprn_34`` for ``pprn:34``) holds ``files/`` (the download or the extracted
archive) and ``manifest.json`` (address, ETag, size, SHA-256, date, layers). :func:`source_info`,
:func:`source_path` and :func:`resolve_source` give the path of a fetched layer, so a configuration
can name a source (``"argiles"``, ``"pprn:34"``) instead of a file; :func:`list_sources` shows the
catalogue with what is cached. The folder is ``cache_dir=``, ``ACV_GEO_CACHE_DIR`` or the user cache.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from acv_geo.sources.catalogue import CatalogueArg, Target, load_catalogue, parse_name

__all__ = [
    "MANIFEST",
    "FetchResult",
    "FetchedSource",
    "cache_root",
    "cached_source",
    "list_sources",
    "manifest_complete",
    "read_manifest",
    "resolve_source",
    "source_info",
    "source_path",
]

#: Name of the manifest file of a cached source.
MANIFEST = "manifest.json"


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    r"""Folder of the download cache.

    Parameters
    ----------
    cache_dir : path, optional
        Explicit folder. Default: ``ACV_GEO_CACHE_DIR`` if set; else the user cache folder:
        ``$XDG_CACHE_HOME/acv-geo`` or ``~/.cache/acv-geo`` on Linux, ``~/Library/Caches/acv-geo``
        on macOS, ``%LOCALAPPDATA%\acv-geo\Cache`` on Windows.

    Returns
    -------
    pathlib.Path
        The folder (not created).

    Examples
    --------
    >>> cache_root("/tmp/acv-cache").as_posix()
    '/tmp/acv-cache'
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("ACV_GEO_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "acv-geo" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "acv-geo"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / "acv-geo"


def read_manifest(key_dir: Path) -> dict[str, Any] | None:
    """The manifest of a cached source, or ``None`` if it is missing or unreadable.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> read_manifest(pathlib.Path(tempfile.mkdtemp())) is None
    True
    """
    try:
        manifest = json.loads((key_dir / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return manifest if isinstance(manifest, dict) else None


def manifest_complete(manifest: dict[str, Any] | None, key_dir: Path) -> TypeGuard[dict[str, Any]]:
    """Whether ``manifest`` lists layers and every layer file exists.

    Examples
    --------
    >>> import pathlib
    >>> manifest_complete(None, pathlib.Path(".")), manifest_complete({"layers": {}}, pathlib.Path("."))
    (False, True)
    """
    if not manifest or not isinstance(manifest.get("layers"), dict):
        return False
    return all((key_dir / lay["path"]).exists() for lay in manifest["layers"].values())


@dataclass(frozen=True)
class FetchedSource:
    """One fetched source, as recorded in its manifest.

    Attributes
    ----------
    name : str
        Source name as given (``"pprn:34"``).
    status : str
        ``"downloaded"`` (this call), ``"resumed"`` (this call, after an interrupted transfer) or
        ``"cached"`` (already in the cache).
    path : pathlib.Path
        Path of the first layer (the one :func:`source_path` returns by default).
    layer : str or None
        Layer to read inside ``path`` (GeoPackages holding several layers), else None.
    layers : dict
        Layer name -> ``(path, layer)`` for every layer of the source.
    url : str
        Address downloaded.
    sha256 : str
        SHA-256 of the downloaded file.
    size : int
        Size in bytes of the downloaded file.
    date : str
        UTC date and time of the download (ISO 8601).
    preset : str or None
        Indicator preset the source feeds.
    manifest : pathlib.Path
        Path of the manifest JSON.
    """

    name: str
    status: str
    path: Path
    layer: str | None
    layers: dict[str, tuple[Path, str | None]]
    url: str
    sha256: str
    size: int
    date: str
    preset: str | None
    manifest: Path


_RESULT_COLUMNS = ["name", "status", "path", "layer", "url", "sha256", "size", "date", "preset"]


@dataclass(frozen=True)
class FetchResult:
    """Result of :func:`acv_geo.fetch`: one :class:`FetchedSource` per requested source, in order.

    Attributes
    ----------
    sources : tuple of FetchedSource
        The fetched sources.
    cache_dir : pathlib.Path
        The cache folder used.
    """

    sources: tuple[FetchedSource, ...]
    cache_dir: Path
    _by_name: dict[str, FetchedSource] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({s.name: s for s in self.sources})

    def __getitem__(self, name: str) -> FetchedSource:
        """Fetched source by name."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"{name!r} was not fetched; fetched: {', '.join(self._by_name)}") from None

    def __len__(self) -> int:
        return len(self.sources)

    def to_frame(self) -> Any:
        """One row per source: status, path, layer, url, sha256, size, date, preset.

        Returns
        -------
        pandas.DataFrame
            Indexed by source name.
        """
        import pandas as pd

        rows = [
            {"name": s.name, "status": s.status, "path": str(s.path), "layer": s.layer, "url": s.url,
             "sha256": s.sha256, "size": s.size, "date": s.date, "preset": s.preset}
            for s in self.sources
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=_RESULT_COLUMNS).set_index("name")


def cached_source(target: Target, key_dir: Path, manifest: dict[str, Any], status: str) -> FetchedSource:
    """The :class:`FetchedSource` a manifest describes."""
    layers = {lname: (key_dir / lay["path"], lay.get("layer")) for lname, lay in manifest["layers"].items()}
    first = next(iter(layers.values()))
    return FetchedSource(
        name=target.label, status=status, path=first[0], layer=first[1], layers=layers,
        url=manifest["url"], sha256=manifest["sha256"], size=int(manifest["size"]),
        date=manifest["date"], preset=target.entry.get("preset"), manifest=key_dir / MANIFEST,
    )  # fmt: skip


def _cached_keys(root: Path, name: str) -> list[str]:
    """Cache folders of a source that hold a complete download (``pprn_34``, ``pprn_76``…)."""
    if not root.is_dir():
        return []
    return [
        d.name
        for d in sorted(root.glob(f"{name}*"))
        if (d.name == name or re.fullmatch(rf"{re.escape(name)}_[0-9AB]{{2,3}}", d.name))
        and manifest_complete(read_manifest(d), d)
    ]


def list_sources(*, cache_dir: str | os.PathLike[str] | None = None, catalogue: CatalogueArg = None) -> Any:
    """The catalogue as a table, with whether each source is in the cache.

    Parameters
    ----------
    cache_dir : path, optional
        Cache folder (default :func:`cache_root`).
    catalogue : path or mapping, optional
        Replacement catalogue.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``name``: ``title, publisher, preset, format, licence, url, url_department,
        doc, verified, note, cached`` (``cached`` lists the cached keys, e.g. ``"pprn_34"``).

    Examples
    --------
    >>> import tempfile
    >>> t = list_sources(cache_dir=tempfile.mkdtemp())
    >>> t.loc["radon", "preset"], bool(t.loc["radon", "verified"]), t.loc["radon", "cached"]
    ('radon', True, '')
    """
    import pandas as pd

    root = cache_root(cache_dir)
    rows = [
        {
            "name": name, "title": e["title"], "publisher": e["publisher"], "preset": e.get("preset"),
            "format": e["format"], "licence": e["licence"], "url": e.get("url"),
            "url_department": e.get("url_department"), "doc": e["doc"], "verified": bool(e.get("verified")),
            "note": e.get("note", ""), "cached": ", ".join(_cached_keys(root, name)),
        }
        for name, e in load_catalogue(catalogue).items()
    ]  # fmt: skip
    return pd.DataFrame(rows).set_index("name")


def source_info(
    name: str, *, cache_dir: str | os.PathLike[str] | None = None, catalogue: CatalogueArg = None
) -> FetchedSource:
    """What the cache holds for a fetched source (paths, layer names, checksum, date).

    Parameters
    ----------
    name : str
        ``NAME`` or ``NAME:DEP`` (see :func:`acv_geo.fetch`).
    cache_dir, catalogue
        As in :func:`acv_geo.fetch`.

    Returns
    -------
    FetchedSource
        With ``status="cached"``.

    Raises
    ------
    ValueError
        Unknown source name.
    FileNotFoundError
        If the source was not fetched; the message gives the command to run.

    Examples
    --------
    >>> import tempfile
    >>> source_info("radon", cache_dir=tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    FileNotFoundError: source 'radon' is not in the cache ...; run `acv-geo fetch radon --cache ...` when online
    """
    target, _ = parse_name(name, load_catalogue(catalogue))
    root = cache_root(cache_dir)
    key_dir = root / target.key
    manifest = read_manifest(key_dir)
    if not manifest_complete(manifest, key_dir):
        cache_opt = f" --cache {root}" if cache_dir is not None else ""
        raise FileNotFoundError(
            f"source {target.label!r} is not in the cache {root}; run `acv-geo fetch {target.label}{cache_opt}` "
            "when online"
        )
    return cached_source(target, key_dir, manifest, "cached")


def source_path(
    name: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    layer: str | None = None,
    catalogue: CatalogueArg = None,
) -> Path:
    """Path of a fetched layer.

    Parameters
    ----------
    name : str
        ``NAME``, ``NAME:DEP``, or with a layer: ``NAME/LAYER`` (``"admin_express_cog/epci"``).
    cache_dir : path, optional
        Cache folder (default :func:`cache_root`).
    layer : str, optional
        Layer of the source (default: its first layer). For GeoPackages holding several layers,
        the layer name to read is :attr:`FetchedSource.layers` of :func:`source_info`.
    catalogue : path or mapping, optional
        Replacement catalogue.

    Returns
    -------
    pathlib.Path
        The file to read.

    Raises
    ------
    ValueError
        Unknown source or layer.
    FileNotFoundError
        If the source was not fetched; the message says to run ``acv-geo fetch NAME``.

    Examples
    --------
    >>> source_path("radon/nope")
    Traceback (most recent call last):
    ...
    ValueError: source 'radon/nope': radon has no layer 'nope'; its layers are: table
    """
    cat = load_catalogue(catalogue)
    target, in_name = parse_name(name, cat)
    if layer is not None and in_name is not None and layer != in_name:
        raise ValueError(f"source {name!r}: layer given twice ({in_name!r} and layer={layer!r})")
    layer = layer or in_name
    if layer is not None:
        parse_name(f"{target.label}/{layer}", cat)
    info = source_info(target.label, cache_dir=cache_dir, catalogue=cat)
    if layer is None:
        return info.path
    return info.layers[layer][0]


def resolve_source(
    name_or_path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    catalogue: CatalogueArg = None,
) -> Path:
    """Path of an existing file, or of a fetched catalogue source named instead of a path.

    Parameters
    ----------
    name_or_path : str or path
        An existing file or folder, or a catalogue name (``"argiles"``, ``"pprn:34"``,
        ``"admin_express_cog/epci"``).
    cache_dir, catalogue
        As in :func:`acv_geo.fetch`.

    Returns
    -------
    pathlib.Path
        The path.

    Raises
    ------
    FileNotFoundError
        If it is neither an existing path nor a fetched source; the message says which and
        gives the ``acv-geo fetch`` command for a catalogue name.

    Examples
    --------
    >>> import acv_geo
    >>> resolve_source(acv_geo.get_path("radon")).name
    'radon_communes.csv'
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    text = str(name_or_path)
    cat = load_catalogue(catalogue)
    base = text.split("/", 1)[0].split(":", 1)[0].strip().lower()
    if base in cat:
        return source_path(text, cache_dir=cache_dir, catalogue=cat)
    raise FileNotFoundError(
        f"{text}: no such file, and not a catalogue source name (known sources: {', '.join(sorted(cat))}); "
        "give an existing path, or a source name and run `acv-geo fetch NAME` first"
    )
