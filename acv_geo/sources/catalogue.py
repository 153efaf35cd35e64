"""The catalogue of official sources (``catalogue.json``): loading, validation and source names.

For each source the catalogue gives its publisher, official download address, documentation page,
format, licence, the layers it must contain with their expected fields, and the indicator preset it
feeds. :func:`load_catalogue` reads and validates it; :func:`parse_name` turns ``NAME``,
``NAME:DEP``, ``NAME/LAYER`` into a :class:`Target` (what to download) and a layer name.
The catalogue can be replaced with ``catalogue=`` or the ``ACV_GEO_CATALOGUE`` environment variable.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeAlias

from acv_geo.sources.archives import safe_filename
from acv_geo.sources.errors import FetchError

__all__ = ["ARCHIVES", "FORMATS", "CatalogueArg", "Target", "load_catalogue", "parse_name"]

#: Download formats a catalogue entry may declare.
FORMATS = ("zip", "7z", "csv", "json", "geojson", "gpkg", "shp", "parquet")
#: The formats that are archives (their layers name a ``member`` file pattern).
ARCHIVES = ("zip", "7z")
#: What a ``catalogue`` parameter accepts: a JSON file or an already-loaded mapping.
CatalogueArg: TypeAlias = "str | os.PathLike[str] | Mapping[str, Any] | None"

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_DEP_RE = re.compile(r"^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-6])$")
_REQUIRED = ("title", "publisher", "doc", "format", "licence", "layers")


def _default_catalogue_path() -> Path:
    return Path(__file__).resolve().parent / "catalogue.json"


def load_catalogue(catalogue: CatalogueArg = None) -> dict[str, dict[str, Any]]:
    """Load and validate the source catalogue.

    Parameters
    ----------
    catalogue : path or mapping, optional
        A JSON file or an already-loaded mapping with a ``"sources"`` key (or the sources
        mapping itself). Default: the ``ACV_GEO_CATALOGUE`` environment variable if set, else the
        catalogue shipped with acv-geo.

    Returns
    -------
    dict
        Source name -> entry (a copy; the input is not modified).

    Raises
    ------
    ValueError
        If an entry lacks a required key, has an unknown format or a malformed layer.

    Examples
    --------
    >>> cat = load_catalogue()
    >>> cat["radon"]["preset"], cat["catnat"]["format"]
    ('radon', 'zip')
    """
    data, label = _read_catalogue(catalogue)
    sources = data.get("sources", data) if isinstance(data, dict) else None
    if not isinstance(sources, dict):
        raise ValueError(f"{label}: expected a JSON object with a 'sources' object")
    for name, entry in sources.items():
        _check_entry(name, entry, label)
    return sources


def _read_catalogue(catalogue: CatalogueArg) -> tuple[Any, str]:
    """The catalogue's JSON data (a deep copy of a mapping) and how to name it in messages."""
    if catalogue is None:
        env = os.environ.get("ACV_GEO_CATALOGUE")
        catalogue = Path(env) if env else _default_catalogue_path()
    if isinstance(catalogue, Mapping):
        return json.loads(json.dumps(catalogue)), "catalogue mapping"  # deep copy, JSON types only
    path = Path(catalogue)
    try:
        return json.loads(path.read_text(encoding="utf-8")), str(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: source catalogue not found") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: the source catalogue is not valid JSON ({exc})") from None


def _check_entry(name: str, entry: Any, label: str) -> None:
    where = f"{label}: source {name!r}"
    if not _NAME_RE.match(name):
        raise ValueError(f"{where}: names are lower-case letters, digits and '_' (e.g. 'pprn')")
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object")
    for key in _REQUIRED:
        if key not in entry:
            raise ValueError(f"{where}: missing key {key!r}")
    if "url" not in entry and "url_department" not in entry:
        raise ValueError(f"{where}: give 'url' (null if unknown) or 'url_department'")
    if entry["format"] not in FORMATS:
        raise ValueError(f"{where}: format {entry['format']!r} is not one of {', '.join(FORMATS)}")
    dep_url = entry.get("url_department")
    if dep_url is not None and "{dep}" not in dep_url:
        raise ValueError(f"{where}: 'url_department' must contain '{{dep}}'")
    _check_layers(entry, where)
    if entry.get("filename") is not None:
        try:
            safe_filename(str(entry["filename"]), what=where)
        except FetchError as exc:
            raise ValueError(str(exc)) from None
    sha = entry.get("sha256")
    if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", str(sha)):
        raise ValueError(f"{where}: 'sha256' must be 64 lower-case hexadecimal digits")


def _check_layers(entry: dict[str, Any], where: str) -> None:
    layers = entry["layers"]
    if not isinstance(layers, list) or not layers:
        raise ValueError(f"{where}: 'layers' must be a non-empty list")
    seen = set()
    for lay in layers:
        if not isinstance(lay, dict) or "name" not in lay or not isinstance(lay.get("fields", []), list):
            raise ValueError(f"{where}: each layer needs a 'name' and a list of 'fields'")
        if lay["name"] in seen:
            raise ValueError(f"{where}: layer {lay['name']!r} is declared twice")
        seen.add(lay["name"])
        if entry["format"] in ARCHIVES and not lay.get("member"):
            raise ValueError(f"{where}: layer {lay['name']!r} of an archive needs a 'member' file pattern")


@dataclass(frozen=True)
class Target:
    """One thing to download: a catalogue source, optionally restricted to one department.

    Examples
    --------
    >>> t, layer = parse_name("pprn:34", load_catalogue())
    >>> t.key, t.label, layer
    ('pprn_34', 'pprn:34', None)
    """

    name: str
    department: str | None
    entry: dict[str, Any]

    @property
    def key(self) -> str:
        """Folder of the source in the cache (``pprn_34``)."""
        return self.name if self.department is None else f"{self.name}_{self.department}"

    @property
    def label(self) -> str:
        """Name of the source in messages (``pprn:34``)."""
        return self.name if self.department is None else f"{self.name}:{self.department}"

    @property
    def url(self) -> str | None:
        """Download address, or ``None`` when the catalogue has none."""
        if self.department is None:
            url: str | None = self.entry.get("url")
            return url
        return str(self.entry["url_department"]).replace("{dep}", self.department)

    @property
    def filename(self) -> str:
        """Name of the downloaded file: the entry's ``filename``, else the address's last part."""
        if self.department is None and self.entry.get("filename"):
            return safe_filename(str(self.entry["filename"]), what=f"{self.label}: catalogue entry {self.name!r}")
        url = self.url or ""
        base = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
        if not base or "." not in base or base.strip(".") == "":
            base = f"{self.key}.{self.entry['format']}"
        return safe_filename(base, what=f"{self.label}: download address {url}")


def _split_spec(text: str) -> tuple[str, str | None, str | None]:
    """``NAME[:DEP][/LAYER]`` -> name (lower case), department (two digits at least) and layer."""
    layer = dep = None
    if "/" in text:
        text, layer = text.split("/", 1)
    if ":" in text:
        text, dep = text.split(":", 1)
        dep = dep.strip().upper()
        if len(dep) == 1 and dep.isdigit():
            dep = "0" + dep
    return text.strip().lower(), dep, layer


def parse_name(spec: str, catalogue: Mapping[str, dict[str, Any]]) -> tuple[Target, str | None]:
    """``NAME``, ``NAME:DEP``, ``NAME/LAYER`` or ``NAME:DEP/LAYER`` -> target and layer.

    Raises
    ------
    ValueError
        Unknown source or layer, bad department code, or a department for a national source.

    Examples
    --------
    >>> t, layer = parse_name("admin_express_cog/epci", load_catalogue())
    >>> t.label, layer
    ('admin_express_cog', 'epci')
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"source name {spec!r} is not text; valid names: {', '.join(sorted(catalogue))}")
    name, dep, layer = _split_spec(spec.strip())
    if name not in catalogue:
        raise ValueError(f"unknown source {spec!r}; valid names are: {', '.join(sorted(catalogue))}")
    entry = catalogue[name]
    if dep is not None:
        if not _DEP_RE.match(dep):
            raise ValueError(f"source {spec!r}: {dep!r} is not a department code (01..95, 2A, 2B, 971..976)")
        if not entry.get("url_department"):
            raise ValueError(f"source {spec!r}: {name} is published nationally only; fetch {name!r}")
    if layer is not None and layer not in [lay["name"] for lay in entry["layers"]]:
        names = ", ".join(lay["name"] for lay in entry["layers"])
        raise ValueError(f"source {spec!r}: {name} has no layer {layer!r}; its layers are: {names}")
    return Target(name, dep, entry), layer
