"""The layers of an installed source: found, checked against the catalogue's fields, merged if asked.

Each layer's fields are read (``pyogrio.read_info`` / ``list_layers`` for vector files, the header
line for CSV, the record keys for JSON, the schema for Parquet) and compared with the catalogue,
case-insensitively (``"A|B"`` accepts either name). A publisher's schema change raises a
:class:`~acv_geo.sources.errors.FetchError` naming the file, the missing fields and the fields found.
"""

from __future__ import annotations

import csv
import fnmatch
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from acv_geo.core.errors import InputError
from acv_geo.core.files import RepairLog, decode_text, sniff_separator
from acv_geo.sources.catalogue import ARCHIVES, Target
from acv_geo.sources.errors import FetchError

__all__ = ["build_layers", "find_members", "match_fields", "read_fields"]


def find_members(root: Path, pattern: str) -> list[Path]:
    """Files under ``root`` whose name or relative path matches ``pattern`` (case-insensitive), sorted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "x").mkdir(); _ = (d / "x" / "A.SHP").write_text("")
    >>> [p.name for p in find_members(d, "*.shp")], [p.name for p in find_members(d, "x/*")]
    (['A.SHP'], ['A.SHP'])
    """
    pat = pattern.lower()
    found = [
        p
        for p in root.rglob("*")
        if p.is_file()
        and (fnmatch.fnmatch(p.name.lower(), pat) or fnmatch.fnmatch(p.relative_to(root).as_posix().lower(), pat))
    ]
    return sorted(found)


def _csv_header(path: Path, sep: str | None) -> list[str]:
    """Field names of a CSV file's header line; the separator is sniffed unless ``sep`` is given."""
    with path.open("rb") as fh:
        raw = fh.readline()
    try:
        line = decode_text(path, raw, None, RepairLog(str(path)))
    except (InputError, UnicodeDecodeError) as exc:
        raise FetchError(f"{path.name}: the header line is not text ({exc})") from None
    line = line.rstrip("\r\n")
    sep = sep or sniff_separator(line, lines=1) or ";"
    return [c.strip() for c in next(csv.reader([line], delimiter=sep), [])]


def _json_keys(path: Path) -> list[str] | None:
    """Keys of a JSON table (a list of records, or one object); ``None`` for GeoJSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FetchError(f"{path.name}: not valid JSON ({exc})") from None
    if isinstance(data, list):
        keys: dict[str, None] = {}
        for rec in data[:100]:
            if isinstance(rec, dict):
                keys.update(dict.fromkeys(rec))
        return list(keys)
    if isinstance(data, dict) and data.get("type") != "FeatureCollection":
        return list(data)
    return None


def read_fields(path: Path, layer: str | None = None, sep: str | None = None) -> list[str]:
    r"""Field names of a table or vector layer file.

    Parameters
    ----------
    path : pathlib.Path
        CSV (header line), JSON (record keys), Parquet (schema) or any vector format pyogrio reads.
    layer : str, optional
        Layer inside a multi-layer file (GeoPackage).
    sep : str, optional
        CSV separator (default: sniffed from the header line).

    Raises
    ------
    FetchError
        If the file cannot be read as a table or layer.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "radon.csv"
    >>> _ = p.write_text("nom_comm;insee_com;classe_potentiel\nSète;34301;2\n", encoding="utf-8")
    >>> read_fields(p)
    ['nom_comm', 'insee_com', 'classe_potentiel']
    """
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _csv_header(path, sep)
    if suffix == ".json":
        keys = _json_keys(path)
        if keys is not None:
            return keys
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError / DataLayerError
        raise FetchError(f"{path.name}: cannot be read as a table or layer ({exc})") from None
    return [str(f) for f in info["fields"]]


def match_fields(expected: Iterable[str], actual: list[str]) -> tuple[dict[str, str], list[str]]:
    """Canonical expected field -> actual field, and the expected fields that are missing.

    Examples
    --------
    >>> match_fields(["INSEE_COM|code", "niveau"], ["Code", "alea"])
    ({'INSEE_COM': 'Code'}, ['niveau'])
    """
    lower = {a.lower().lstrip("\ufeff"): a for a in actual}
    mapping, missing = {}, []
    for spec in expected:
        alts = [s.strip() for s in spec.split("|")]
        hit = next((lower[a.lower()] for a in alts if a.lower() in lower), None)
        if hit is None:
            missing.append(spec)
        else:
            mapping[alts[0]] = hit
    return mapping, missing


def _schema_error(target: Target, lay: dict[str, Any], where: str, missing: list[str], actual: list[str]) -> FetchError:
    shown = ", ".join(actual[:40]) + (" …" if len(actual) > 40 else "")
    return FetchError(
        f"{target.label}: the source has changed its schema: {where} lacks the expected field(s) "
        f"{', '.join(repr(m) for m in missing)} (catalogue entry {target.name!r}, layer {lay['name']!r}); "
        f"fields found: {shown or 'none'}. Update the catalogue entry or report it "
        f"(documentation: {target.entry.get('doc')})"
    )


def _layer_names(path: Path) -> list[str]:
    import pyogrio

    try:
        return [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception:
        return []


def _layer_members(target: Target, lay: dict[str, Any], files: Path, downloaded: Path) -> list[Path]:
    """The files of one catalogue layer: the download itself, or the archive members matching ``member``."""
    if target.entry["format"] not in ARCHIVES:
        return [downloaded]
    members = find_members(files, lay["member"])
    if not members:
        listing = sorted(p.relative_to(files).as_posix() for p in files.rglob("*") if p.is_file())
        shown = ", ".join(listing[:20]) + (" …" if len(listing) > 20 else "")
        raise FetchError(
            f"{target.label}: the source has changed: no file matching {lay['member']!r} in the archive "
            f"(catalogue entry {target.name!r}, layer {lay['name']!r}); files found: {shown or 'none'}"
        )
    if len(members) > 1 and not lay.get("merge"):
        raise FetchError(
            f"{target.label}: {len(members)} files match {lay['member']!r} for layer {lay['name']!r} "
            f"(catalogue entry {target.name!r}): {', '.join(m.name for m in members[:10])}; "
            'make the pattern more precise or set "merge": true'
        )
    return members


def _check_member(target: Target, lay: dict[str, Any], member: Path) -> None:
    """Raise if ``member`` lacks the layer (GeoPackage) or a field the catalogue expects."""
    gpkg_layer = lay.get("layer")
    if gpkg_layer is not None:
        names = _layer_names(member)
        if gpkg_layer not in names:
            raise FetchError(
                f"{target.label}: the source has changed its schema: {member.name} has no layer "
                f"{gpkg_layer!r} (catalogue entry {target.name!r}); layers found: {', '.join(names) or 'none'}"
            )
    actual = read_fields(member, gpkg_layer, lay.get("sep", target.entry.get("sep")))
    _, missing = match_fields(lay.get("fields", []), actual)
    if missing:
        where = member.name if gpkg_layer is None else f"layer {gpkg_layer!r} of {member.name}"
        raise _schema_error(target, lay, where, missing, actual)


def build_layers(target: Target, files: Path, downloaded: Path) -> dict[str, dict[str, Any]]:
    """Locate, check and (when asked) merge every catalogue layer; return the manifest records.

    Parameters
    ----------
    target : Target
        The source.
    files : pathlib.Path
        Folder of the extracted archive (or of the download).
    downloaded : pathlib.Path
        The downloaded file (for sources that are not archives).

    Returns
    -------
    dict
        Layer name -> ``{"path", "layer", "fields", "members"}`` (paths relative to ``files``' parent).

    Raises
    ------
    FetchError
        A layer is missing, ambiguous, or lacks an expected field.
    """
    records: dict[str, dict[str, Any]] = {}
    for lay in target.entry["layers"]:
        fields = lay.get("fields", [])
        members = _layer_members(target, lay, files, downloaded)
        for member in members:
            _check_member(target, lay, member)
        if lay.get("merge") and len(members) > 1:
            path, layer_name = files / f"{lay['name']}.gpkg", lay["name"]
            _merge(members, path, layer_name, fields, lay.get("keep", []))
        else:
            path, layer_name = members[0], lay.get("layer")
        records[lay["name"]] = {
            "path": path.relative_to(files.parent).as_posix(),
            "layer": layer_name,
            "fields": fields,
            "members": [m.relative_to(files.parent).as_posix() for m in members],
        }
    return records


def _merge(members: list[Path], out: Path, layer: str, fields: list[str], keep: list[str]) -> None:
    """Append the expected (and ``keep``) fields and geometry of every member into one GeoPackage layer."""
    import pyogrio

    canon = [f.split("|")[0].strip() for f in [*fields, *keep]]
    crs = None
    for i, member in enumerate(members):
        gdf = pyogrio.read_dataframe(member)
        mapping, _ = match_fields([*fields, *keep], [str(c) for c in gdf.columns if c != "geometry"])
        data = {name: (gdf[mapping[name]] if name in mapping else None) for name in canon}
        data["source_file"] = member.name
        keep_df = gdf[["geometry"]].assign(**data)[[*canon, "source_file", "geometry"]]
        if crs is None:
            crs = keep_df.crs
        elif keep_df.crs is not None and crs is not None and keep_df.crs != crs:
            keep_df = keep_df.to_crs(crs)
        pyogrio.write_dataframe(keep_df, out, layer=layer, driver="GPKG", append=i > 0, promote_to_multi=True)
