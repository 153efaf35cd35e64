"""The ``acv-geo diagnose`` configuration schema, declared once.

Every section of the TOML file is a :class:`Section`; every key a :class:`Key` naming its value type
(a :class:`KeyType`: :class:`Text`, :class:`Int`, :class:`File`, :class:`Zones`...), its default, an
example and a one-line help. Everything else is derived from that single declaration:

* the checks: :class:`Checker` walks a parsed TOML document along the schema, rejects unknown keys
  (listing the allowed ones and suggesting the closest, with :mod:`difflib`), missing required keys
  (with an example line to add) and wrong types or choices, each message naming the key path;
* the embedded default configuration (:func:`default_toml`, the text of
  :data:`acv_geo.pipeline.config.DEFAULT_CONFIG_TOML`): the keys' defaults plus the default layers and
  rasters (:data:`DEFAULT_ENTRIES`);
* the documentation: ``examples/diagnose.toml`` (:func:`example_toml`: the default, commented, every
  other key shown commented out) and ``docs/configuration.md`` (:func:`reference_markdown`). Both are
  written by ``python -m acv_geo.pipeline.schema`` and a test checks they are up to date.

Why plain frozen dataclasses rather than pydantic or a JSON Schema: the standard library only (QGIS's
Python installs acv-geo with pip, and a pydantic major version clash with another plugin would break
it), messages pinned word for word (``layers[2].category: ...`` with the fix), and checks that need
the config file's folder and the embedded datasets (:class:`File`, :class:`Source`), which a schema
language would leave to hand-written validators anyway. The cross-key checks (preset *or* category,
fields present in a layer, GASPAR tables not doubling an embedded table) stay in
:mod:`acv_geo.pipeline.config`, which builds the :class:`~acv_geo.pipeline.config.DiagnoseConfig`.

Examples
--------
>>> CLUSTERS.key("permutations").default
9999
>>> Checker("config", Path(".")).table({"method": "lisa", "seed": 7}, CLUSTERS, "clusters")["seed"]
7
>>> Checker("config", Path(".")).table({"permutation": 99}, CLUSTERS, "clusters")
Traceback (most recent call last):
...
acv_geo.core.errors.InputError: config: clusters.permutation: unknown key 'permutation'; ... `permutations = 9999`?
"""

from __future__ import annotations

import difflib
import json
import math
import os
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from acv_geo.core.errors import InputError

__all__ = [
    "CITIES",
    "CLUSTERS",
    "CSV",
    "DEFAULT_ENTRIES",
    "LAYER",
    "MAPS",
    "PROFILE",
    "RASTER",
    "REPORT",
    "ROLES",
    "ROOT",
    "TABLES",
    "ZONES",
    "Bool",
    "Checker",
    "Entries",
    "File",
    "FlagOrFile",
    "Int",
    "Key",
    "KeyType",
    "Name",
    "Number",
    "Numbers",
    "Observatory",
    "Resolved",
    "Section",
    "Source",
    "Stats",
    "Table",
    "Text",
    "Texts",
    "Values",
    "WeightsSpec",
    "Zones",
    "default_toml",
    "example_toml",
    "reference_markdown",
    "toml_value",
]

#: Roles of a layer, raster or user table (:data:`acv_geo.core.metadata.ROLES`).
ROLES = ("risk", "nature", "context")
_ZONE_HELP = "'commune', 'epci' or 'buffer:METERS' (e.g. 'buffer:500')"
_NAME_OK = "abcdefghijklmnopqrstuvwxyz0123456789_"
_WIDTH = 110  # of the generated TOML and Markdown lines


# --------------------------------------------------------------------------------------------
# keys and sections


@dataclass(frozen=True)
class Key:
    """One key of a section.

    Attributes
    ----------
    name : str
        The TOML key.
    type : KeyType
        Checks and converts the value.
    help : str
        One line for the docs and the commented example.
    default : object
        Value when absent (None: absent, or derived as ``default_doc`` says).
    example : str
        TOML text shown in messages and docs (default: the default's).
    required : bool
        The key must be given.
    default_doc : str
        Words for a default that the code derives (``"the layer's name"``).
    in_default : bool
        Written in the default configuration when its default is not empty.
    """

    name: str
    type: KeyType
    help: str
    default: Any = None
    example: str = ""
    required: bool = False
    default_doc: str = ""
    in_default: bool = True

    def sample(self) -> str:
        """The example as a TOML line, for messages: ``permutations = 9999`` or ``[[layers]]``."""
        if isinstance(self.type, (Table, Entries)) and not self.example:
            return self.type.header()
        value = self.example or toml_value(self.default)
        return f"{self.name} = {value}"


@dataclass(frozen=True)
class Section:
    """A TOML table (``[clusters]``) or array of tables (``[[layers]]``).

    Attributes
    ----------
    path : str
        Dotted name (``"tables.csv"``; ``""``: the whole file).
    keys : tuple of Key
        Its keys, in documentation order.
    help : str
        What the section is for (docs and commented example).
    """

    path: str
    keys: tuple[Key, ...]
    help: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """Allowed key names, in order."""
        return tuple(k.name for k in self.keys)

    def key(self, name: str) -> Key:
        """The key called ``name`` (KeyError if none)."""
        for k in self.keys:
            if k.name == name:
                return k
        raise KeyError(f"{self.path or 'config'} has no key {name!r}")

    def default(self, name: str) -> Any:
        """Default of a key (for the dataclass defaults of :mod:`acv_geo.pipeline.config`)."""
        return self.key(name).default


class Values(dict[str, Any]):
    """The checked keys of one table; an absent key reads as its default (``"key" in values``: given)."""

    def __init__(self, section: Section, given: Mapping[str, Any]) -> None:
        super().__init__(given)
        self.section = section

    def __missing__(self, name: str) -> Any:
        return self.section.key(name).default

    def complete(self) -> dict[str, Any]:
        """Every key of the section: the value given, else the default."""
        return {name: self[name] for name in self.section.names}

    def sub(self, name: str) -> Values:
        """The checked sub-table ``name`` (empty, so all defaults, when the file has none)."""
        if name in self:
            return self[name]
        key_type = self.section.key(name).type
        if not isinstance(key_type, Table):
            raise TypeError(f"{name!r} is not a table")
        return Values(key_type.section, {})


class Resolved(NamedTuple):
    """A checked source: the text written, the file, its publisher and date (embedded datasets)."""

    text: str
    path: Path
    provenance: str
    date: str


# --------------------------------------------------------------------------------------------
# value types


class KeyType:
    """How a key's value is checked (:meth:`check`) and described in the docs (:meth:`describe`)."""

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> Any:
        """The value converted, or ``ck.fail(where, ...)`` raised."""
        raise NotImplementedError

    def describe(self) -> str:
        """Value form for the reference docs."""
        raise NotImplementedError


def _options(choices: tuple[str, ...] | Callable[[], Sequence[str]]) -> tuple[str, ...]:
    return tuple(choices() if callable(choices) else choices)


@dataclass(frozen=True)
class Text(KeyType):
    """Non-empty text, optionally one of ``choices`` (a tuple, or a function giving them lazily)."""

    choices: tuple[str, ...] | Callable[[], Sequence[str]] = ()
    error: str = "{value!r} is not allowed; use one of {quoted}"
    stringify: bool = False  # str() first: date = 2019 reads as "2019"

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> str:
        """The value checked and converted (:meth:`KeyType.check`)."""
        text = ck.string(str(value) if self.stringify else value, where)
        allowed = _options(self.choices)
        if allowed and text not in allowed:
            raise ck.fail(
                where, self.error.format(value=text, quoted=", ".join(map(repr, allowed)), plain=", ".join(allowed))
            )
        return text

    def describe(self) -> str:
        """The form of the value, for the docs."""
        allowed = _options(self.choices)
        return "one of " + ", ".join(f"`{toml_value(c)}`" for c in allowed) if allowed else "text"


@dataclass(frozen=True)
class Texts(KeyType):
    """A list of non-empty texts (a single text is a list of one), optionally each one of ``choices``."""

    choices: tuple[str, ...] | Callable[[], Sequence[str]] = ()
    error: str = "{value!r} is not allowed; use one of {quoted}"

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> tuple[str, ...]:
        """The value checked and converted (:meth:`KeyType.check`)."""
        items = ck.strings(value, where)
        item = Text(self.choices, self.error)
        return tuple(item.check(ck, key, x, f"{where}[{i}]") for i, x in enumerate(items))

    def describe(self) -> str:
        """The form of the value, for the docs."""
        allowed = _options(self.choices)
        return "list of " + ", ".join(f"`{toml_value(c)}`" for c in allowed) if allowed else "list of texts"


@dataclass(frozen=True)
class Bool(KeyType):
    """``true`` or ``false``."""

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> bool:
        """The value checked and converted (:meth:`KeyType.check`)."""
        if not isinstance(value, bool):
            raise ck.fail(where, f"expected true or false, got {value!r}")
        return value

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return "`true` or `false`"


@dataclass(frozen=True)
class Int(KeyType):
    """A whole number ≥ ``minimum``."""

    minimum: int

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> int:
        """The value checked and converted (:meth:`KeyType.check`)."""
        if isinstance(value, bool) or not isinstance(value, int) or value < self.minimum:
            raise ck.fail(where, f"expected a whole number ≥ {self.minimum}, got {value!r}")
        return value

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return f"whole number ≥ {self.minimum}"


@dataclass(frozen=True)
class Number(KeyType):
    """A finite number; ≥ ``low`` if given, strictly between ``low`` and ``high`` if both are given."""

    low: float | None = None
    high: float | None = None

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> float:
        """The value checked and converted (:meth:`KeyType.check`)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ck.fail(where, f"expected a number, got {value!r}")
        number = float(value)
        if self.low is not None and self.high is not None and not self.low < number < self.high:
            raise ck.fail(
                where, f"expected a number between {self.low:g} and {self.high:g} (e.g. {key.example}), got {number!r}"
            )
        if self.low is not None and self.high is None and number < self.low:
            raise ck.fail(where, f"expected a number ≥ {self.low:g}, got {value!r}")
        return number

    def describe(self) -> str:
        """The form of the value, for the docs."""
        if self.low is not None and self.high is not None:
            return f"number between {self.low:g} and {self.high:g}"
        return "number" if self.low is None else f"number ≥ {self.low:g}"


@dataclass(frozen=True)
class Numbers(KeyType):
    """A number or a list of numbers."""

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> tuple[float, ...]:
        """The value checked and converted (:meth:`KeyType.check`)."""
        items = value if isinstance(value, list) else [value]
        return tuple(Number().check(ck, key, x, f"{where}[{i}]") for i, x in enumerate(items))

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return "list of numbers"


@dataclass(frozen=True)
class Name(KeyType):
    """A column prefix: a lowercase letter, then lowercase letters, digits and ``_``."""

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> str:
        """The value checked and converted (:meth:`KeyType.check`)."""
        s = ck.string(value, where)
        if not (s[0].isalpha() and all(c in _NAME_OK for c in s)):
            raise ck.fail(
                where, f'{s!r} is not a valid column prefix; use lowercase letters, digits and _ (e.g. "pac")'
            )
        return s

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return "column prefix (lowercase letters, digits, `_`)"


@dataclass(frozen=True)
class File(KeyType):
    """An existing file (relative to the config file's folder); not looked for when files are not checked."""

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> Path:
        """The value checked and converted (:meth:`KeyType.check`)."""
        return ck.file(value, where) if ck.check_files else Path(ck.string(value, where))

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return "file path"


@dataclass(frozen=True)
class Source(KeyType):
    """An embedded dataset name, a file path, or a catalogue layer fetched with ``acv-geo fetch``."""

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> Resolved:
        """The value checked and converted (:meth:`KeyType.check`)."""
        if ck.check_files:
            return ck.source(value, where)
        text = ck.string(value, where)
        return Resolved(text, Path(text), "", "")

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return "embedded dataset, fetched catalogue name or file path"


@dataclass(frozen=True)
class FlagOrFile(KeyType):
    """``true`` (the embedded table), ``false`` (skipped) or a file path."""

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> bool | Path:
        """The value checked and converted (:meth:`KeyType.check`)."""
        if isinstance(value, bool):
            return value
        if not isinstance(value, str):
            raise ck.fail(where, f"expected true, false or a file path, got {value!r}")
        return File().check(ck, key, value, where)

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return "`true` (embedded), `false` or a file path"


@dataclass(frozen=True)
class Observatory(KeyType):
    """An embedded observatory name, a file path, or ``"none"`` (read as None)."""

    embedded: tuple[str, ...] = ("odater_2022", "odater_2020")

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> str | None:
        """The value checked and converted (:meth:`KeyType.check`)."""
        text = ck.string(value, where)
        if text.lower() == "none":
            return None
        if text in self.embedded or not ck.check_files:
            return text
        return str(ck.file(text, where))

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return ", ".join(f"`{toml_value(x)}`" for x in self.embedded) + ', a file path or `"none"`'


@dataclass(frozen=True)
class Zones(KeyType):
    """Zone kinds: ``commune``, ``epci``, ``buffer:METERS``; at least one, none twice."""

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> tuple[str, ...]:
        """The value checked and converted (:meth:`KeyType.check`)."""
        from acv_geo.zones import parse_zone_spec

        specs = ck.strings(value, where)
        if not specs:
            raise ck.fail(where, f"give at least one zone kind: {_ZONE_HELP}")
        out = []
        for i, s in enumerate(specs):
            try:
                kind, radius = parse_zone_spec(s)
            except ValueError as exc:
                raise ck.fail(f"{where}[{i}]", str(exc)) from None
            out.append(kind if radius is None else f"buffer:{radius:g}")
        if len(set(out)) != len(out):
            raise ck.fail(where, f"zone kinds repeated in {list(specs)}; list each once")
        return tuple(out)

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return 'list of `"commune"`, `"epci"`, `"buffer:METERS"`'


@dataclass(frozen=True)
class Coverage(KeyType):
    """Departments a layer surveys, or ``"national"`` (:func:`acv_geo.indicators.coverage.parse_coverage`)."""

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> Any:
        """The value checked and converted (:meth:`KeyType.check`)."""
        from acv_geo.indicators.coverage import parse_coverage

        try:
            return parse_coverage(value, where=where)
        except ValueError as exc:
            raise ck.fail(where, str(exc).split(": ", 1)[1]) from None

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return '`"national"` or list of department codes'


@dataclass(frozen=True)
class Stats(KeyType):
    """Zonal statistics: :data:`acv_geo.indicators.zonal.ALLOWED_STATS` and percentiles ``pNN``."""

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> tuple[str, ...]:
        """The value checked and converted (:meth:`KeyType.check`)."""
        from acv_geo.indicators.zonal import ALLOWED_STATS

        stats = ck.strings(value, where)
        for j, s in enumerate(stats):
            if s not in ALLOWED_STATS and not (s.startswith("p") and s[1:].replace(".", "", 1).isdigit()):
                raise ck.fail(
                    f"{where}[{j}]",
                    f"unknown statistic {s!r}; allowed: {', '.join(ALLOWED_STATS)} and percentiles such as p10",
                )
        return stats

    def describe(self) -> str:
        """The form of the value, for the docs."""
        from acv_geo.indicators.zonal import ALLOWED_STATS

        return "list of " + ", ".join(f"`{s}`" for s in ALLOWED_STATS) + ", percentiles `p10`…"


@dataclass(frozen=True)
class WeightsSpec(KeyType):
    """A spatial weights specification (:func:`acv_geo.stats.weights.parse_weights_spec`)."""

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> str:
        """The value checked and converted (:meth:`KeyType.check`)."""
        from acv_geo.stats.weights import parse_weights_spec

        text = ck.string(value, where)
        try:
            parse_weights_spec(text)
        except ValueError as exc:
            raise ck.fail(where, str(exc)) from None
        return text

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return '`"knn:K"`, `"distance:METERS"`, `"queen"` or `"rook"`'


@dataclass(frozen=True)
class Table(KeyType):
    """A sub-table checked along ``section``: ``[cities]`` or an inline ``{ risk = 0.6 }``."""

    section: Section

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> Values:
        """The value checked and converted (:meth:`KeyType.check`)."""
        return ck.table(value, self.section, where)

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return f"table (`{self.header()}` below)"

    def header(self) -> str:
        """The TOML header of the section."""
        return f"[{self.section.path}]"


@dataclass(frozen=True)
class Entries(KeyType):
    """An array of tables (``[[layers]]``), each checked along ``section``."""

    section: Section
    noun: str  # "write each {noun} as a [[...]] section"

    def check(self, ck: Checker, key: Key, value: Any, where: str) -> tuple[Values, ...]:
        """The value checked and converted (:meth:`KeyType.check`)."""
        if not isinstance(value, list):
            raise ck.fail(where, f"expected a list of tables: write each {self.noun} as a {self.header()} section")
        return tuple(ck.table(raw, self.section, f"{where}[{i}]") for i, raw in enumerate(value))

    def describe(self) -> str:
        """The form of the value, for the docs."""
        return f"repeated `{self.header()}`"

    def header(self) -> str:
        """The TOML header of the section."""
        return f"[[{self.section.path}]]"


# --------------------------------------------------------------------------------------------
# the checker


class Checker:
    """Checks a parsed config along the schema; every message starts with the config's name.

    Parameters
    ----------
    label : str
        Config file name (or ``"config"``), the first words of every message.
    base : pathlib.Path
        Folder that relative paths start from.
    check_files : bool, default True
        Look for files and resolve sources (``False``: the schema only).
    """

    def __init__(self, label: str, base: Path, check_files: bool = True) -> None:
        self.label = label
        self.base = base
        self.check_files = check_files

    def fail(self, where: str, msg: str) -> InputError:
        """The error to raise for the key path ``where``."""
        return InputError(f"{self.label}: {where}: {msg}")

    def table(self, raw: Any, section: Section, where: str) -> Values:
        """Check a table's keys (unknown, required) then each value, in the schema's order."""
        if not isinstance(raw, Mapping):
            raise self.fail(where or "(top level)", f"expected a table ({{...}} or [section]), got {raw!r}")
        for name in raw:
            if name not in section.names:
                raise self.fail(_join(where, name), _unknown(name, section))
        for key in section.keys:
            if key.required and key.name not in raw:
                raise self.fail(_join(where, key.name), f"missing required key; add `{key.sample()}`")
        given = {
            k.name: k.type.check(self, k, raw[k.name], _join(where, k.name)) for k in section.keys if k.name in raw
        }
        return Values(section, given)

    def string(self, value: Any, where: str) -> str:
        """Non-empty text."""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"expected a non-empty text value, got {value!r}")
        return value

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        """A list of non-empty texts (a text alone: a list of one)."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
            raise self.fail(where, f'expected a list of text values such as ["a", "b"], got {value!r}')
        return tuple(value)

    def file(self, value: Any, where: str) -> Path:
        """An existing file, relative paths from :attr:`base`."""
        s = self.string(value, where)
        p = Path(os.path.expanduser(s))
        if not p.is_absolute():
            p = self.base / p
        if not p.exists():
            raise self.fail(
                where,
                f"file {s!r} not found (looked for {p}); fix the path (relative paths start "
                f"from the config file's folder {self.base})",
            )
        return p

    def source(self, value: Any, where: str) -> Resolved:
        """Resolve an embedded dataset name, a path, or a fetched catalogue name."""
        from acv_geo.core.datasets import DATASETS, get_path

        s = self.string(value, where)
        if s in DATASETS:
            d = DATASETS[s]
            return Resolved(s, get_path(s), d.source, d.date)
        p = Path(os.path.expanduser(s))
        if not p.is_absolute():
            p = self.base / p
        if p.exists():
            return Resolved(s, p, p.name, "")
        fetched, why = _fetched(s)
        if fetched is not None:
            return Resolved(s, fetched, s, "")
        raise self.fail(
            where,
            f"{s!r} is not an embedded dataset, an existing file (looked for {p}) nor a fetched catalogue "
            f"layer; fix the path, use an embedded name ({', '.join(sorted(DATASETS))}) or download it "
            f"with `acv-geo fetch NAME`" + (f" ({why})" if why else ""),
        )


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _unknown(name: str, section: Section) -> str:
    msg = f"unknown key {name!r}; allowed keys here: {', '.join(section.names)}"
    close = difflib.get_close_matches(name, section.names, n=1, cutoff=0.6)
    return msg + (f"; did you mean `{section.key(close[0]).sample()}`?" if close else " (check the spelling)")


def _fetched(name: str) -> tuple[Path | None, str]:
    """Path of a catalogue layer already fetched, else ``(None, why)``."""
    from acv_geo.sources.cache import resolve_source

    try:
        p = Path(resolve_source(name))
    except (ValueError, FileNotFoundError, OSError, KeyError) as exc:
        return None, str(exc)
    return (p, "") if p.exists() else (None, "")


def _cluster_methods() -> Sequence[str]:
    from acv_geo.stats.choices import METHODS

    return METHODS


def _gaspar_tables() -> Sequence[str]:
    from acv_geo.read.gaspar import GASPAR_TABLES

    return GASPAR_TABLES


# --------------------------------------------------------------------------------------------
# the schema

_ROLE = Text(ROLES)
_LABEL_EN = Key("label_en", Text(), "English title (`--lang en`)", "", '"Title in English"', default_doc="label")

CITIES = Section(
    "cities",
    (
        Key(
            "source",
            File(),
            "ACV city list: a CDC/ANCT export",
            example='"cdc_export.csv"',
            default_doc="the embedded ANCT list of 244 towns",
        ),
        Key(
            "observatory",
            Observatory(),
            'open-data observatory: embedded name, path, or "none" (no open-data status)',
            "odater_2022",
        ),
        Key(
            "communes", File(), "commune polygons", example='"COMMUNE.shp"', default_doc="the embedded 244 ACV communes"
        ),
        Key("epci", File(), "EPCI polygons", example='"EPCI.shp"', default_doc="the embedded 1,255 EPCIs"),
    ),
    "The cities and their polygons.",
)

ZONES = Section(
    "zones",
    (
        Key(
            "kinds",
            Zones(),
            "default zones of layers and rasters: commune, epci, buffer:M (disc around the town centre)",
            ("commune",),
        ),
    ),
    "Default zones of every layer and raster (each may override them with its own `zones = [...]`).",
)

LAYER = Section(
    "layers",
    (
        Key("name", Name(), "column prefix of its indicators", example='"pac"', required=True),
        Key(
            "source",
            Source(),
            "embedded name, fetched catalogue name (`acv-geo fetch NAME`) or path",
            example='"herault_pac_risques"',
            required=True,
        ),
        Key(
            "preset",
            Text(),
            "a preset of acv_geo.indicators.overlay (`acv_geo.list_presets()`) ...",
            example='"pac_risques"',
        ),
        Key("category", Text(), "... or a category field (not both)", example='"ALEA"'),
        Key("layer", Text(), "layer inside a multi-layer file", example='"layer_name"'),
        Key("zones", Zones(), "zones of this layer", example='["commune", "buffer:2000"]', default_doc="[zones] kinds"),
        Key("label", Text(), "title in maps and report (French)", example='"Title"', default_doc="name"),
        Key(
            "date",
            Text(stringify=True),
            "date of the data, for the metadata",
            example='"2024"',
            default_doc="the embedded dataset's date, else empty",
        ),
        Key("distances", Bool(), "false: skip the `*_dist_m` columns (faster at national scale)", True),
        Key(
            "coverage",
            Coverage(),
            'departments the layer surveys, or "national"; outside: NA and a reason, never 0',
            example='["34"]',
            default_doc="derived from its features",
        ),
        Key(
            "role",
            _ROLE,
            "risk | nature | context: the sub-score its share enters (context: shown, never scored)",
            example='"risk"',
            default_doc="the preset's role, else context",
        ),
        _LABEL_EN,
    ),
    "Vector layers overlaid on the zones: area share, count, distance (per category with preset/category).",
)

RASTER = Section(
    "rasters",
    (
        Key("name", Name(), "column prefix of its indicators", example='"dem"', required=True),
        Key(
            "source", Source(), "embedded name, fetched catalogue name or path", example='"dem_n45e005"', required=True
        ),
        Key("stats", Stats(), "statistics per zone", (), '["mean", "min", "max"]'),
        Key("threshold", Numbers(), "share of the zone below each value (`{name}_below_{t}_pct`)", (), "[300]"),
        Key("categorical", Bool(), "share of each class (`{name}_class_{value}_pct`)", False),
        Key("band", Int(1), "band read (1-based)", 1),
        Key("unit", Text(), "unit of the values", example='"m"'),
        Key("zones", Zones(), "zones of this raster", example='["commune"]', default_doc="[zones] kinds"),
        Key("label", Text(), "title in maps and report (French)", example='"Title"', default_doc="name"),
        Key(
            "date",
            Text(stringify=True),
            "date of the data, for the metadata",
            example='"2021"',
            default_doc="the embedded dataset's date, else empty",
        ),
        Key("role", _ROLE, "threshold shares (else the mean) enter this sub-score", "context", '"risk"'),
        _LABEL_EN,
    ),
    "Rasters summarised per zone, with exact partial-pixel coverage. The embedded DEM tile covers 7 towns of the "
    "Alpine foreland (Chambéry, Voiron, Bourgoin-Jallieu, ...): 300 m separates their valley floors (136-300 m) "
    "from the hills, so dem_below_300_pct is the share of the commune on valley-floor land. On a coastal DEM use "
    "threshold = [5] (submersion exposure).",
)

CSV = Section(
    "tables.csv",
    (
        Key("path", File(), "the table (CSV, Excel, Parquet...)", example='"table.csv"', required=True),
        Key(
            "insee_column",
            Text(),
            "INSEE code column",
            example='"CODGEO"',
            default_doc="detected (insee_com, code_insee, CODGEO, DEPCOM…)",
        ),
        Key("columns", Texts(), "columns kept", example='["x"]', default_doc="all"),
        Key("prefix", Name(), "column prefix", example='"mine"', default_doc="none"),
        Key(
            "role",
            _ROLE,
            "risk | nature: its numeric columns enter that sub-score (context: shown, never scored)",
            "context",
            '"context"',
        ),
    ),
    "Any per-commune table, joined on the INSEE code.",
)

TABLES = Section(
    "tables",
    (
        Key("radon", FlagOrFile(), "radon potential (IRSN): true (embedded), false, or a path", True),
        Key("catnat", FlagOrFile(), "CatNat decrees (CCR): true (embedded), false, or a path", True),
        Key(
            "catnat_since",
            Int(1800),
            "count only CatNat events from this year on",
            example="1982",
            default_doc="all years",
        ),
        Key("seismic", Bool(), "seismic zone of every commune (décret 2010-1255, embedded)", True),
        Key("known_risks", Bool(), "natural risks known per commune (GASPAR DDRM, embedded)", True),
        Key(
            "gaspar",
            Source(),
            "the GASPAR archive (`acv-geo fetch gaspar`, or a zip/folder path)",
            example='"gaspar"',
            default_doc="not joined",
        ),
        Key(
            "gaspar_tables",
            Texts(_gaspar_tables, "{value!r} is not a GASPAR table; use {plain}"),
            "GASPAR tables joined (also risq, catnat when the embedded known_risks / catnat are off)",
            ("pprn", "azi", "tri", "dicrim"),
            in_default=False,
        ),
        Key("csv", Entries(CSV, "one"), "per-commune tables", ()),
    ),
    "Per-commune tables: true = embedded table, false = skipped, or a path.",
)

CLUSTERS = Section(
    "clusters",
    (
        Key("variables", Texts(), "city columns (or indicator columns) tested", ("opendata",)),
        Key(
            "method", Text(_cluster_methods, "{value!r} is not allowed; use one of {plain}"), "local statistic", "lisa"
        ),
        Key(
            "weights",
            WeightsSpec(),
            "spatial weights: knn:K, distance:METERS, queen, rook (knn never links two territories)",
            "knn:6",
        ),
        Key("permutations", Int(1), "conditional permutations (fewer, e.g. 99, for a quick run)", 9999),
        Key("seed", Int(0), "random seed", 20250401),
        Key("alpha", Number(0, 1), "significance level (FDR-adjusted labels)", 0.05, "0.05"),
        Key("join_counts", Bool(), "global join-count test for boolean variables", True),
        Key("morans_i", Bool(), "global Moran's I", True),
    ),
    "Spatial clusters of open data: LISA (local Moran) with FDR-adjusted labels, global join counts, Moran's I.",
)

_WEIGHTS = Section(
    "profile.weights",
    tuple(
        Key(name, Number(low=0), f"weight of the {name} sub-score", w)
        for name, w in (("risk", 0.6), ("nature", 0.4), ("opendata", 0.0))  # = indicators.profile.DEFAULT_WEIGHTS
    ),
)

PROFILE = Section(
    "profile",
    (
        Key(
            "weights",
            Table(_WEIGHTS),
            "weights of the risk, nature and open-data sub-scores",
            {k.name: k.default for k in _WEIGHTS.keys},
            "{ risk = 0.6, nature = 0.4, opendata = 0.0 }",
        ),
        Key("top", Int(1), "length of the ranking shown", 20),
    ),
    "Exposure profile: weights of the sub-scores; length of the ranking.",
)

MAPS = Section(
    "maps",
    (
        Key("enabled", Bool(), "draw the maps", True),
        Key("dpi", Int(30), "map resolution", 100),
        Key(
            "columns",
            Texts(),
            "indicators to map",
            (),
            '["radon_class"]',
            default_doc="every main risk and nature indicator",
        ),
    ),
    "Maps: open-data status, clusters, one choropleth per indicator.",
)

REPORT = Section(
    "report",
    (Key("title", Text(), "report title", "Action Cœur de Ville: risks, nature and open data"),),
    "The HTML report.",
)

#: The whole file: its sections.
ROOT = Section(
    "",
    (
        Key("cities", Table(CITIES), CITIES.help),
        Key("zones", Table(ZONES), ZONES.help),
        Key("layers", Entries(LAYER, "layer"), LAYER.help, ()),
        Key("rasters", Entries(RASTER, "raster"), RASTER.help, ()),
        Key("tables", Table(TABLES), TABLES.help),
        Key("clusters", Table(CLUSTERS), CLUSTERS.help),
        Key("profile", Table(PROFILE), PROFILE.help),
        Key("maps", Table(MAPS), MAPS.help),
        Key("report", Table(REPORT), REPORT.help),
    ),
)

#: The entries of the default configuration's arrays of tables (key order as written).
DEFAULT_ENTRIES: dict[str, tuple[dict[str, Any], ...]] = {
    "layers": (
        {
            "name": "pac",
            "source": "herault_pac_risques",
            "preset": "pac_risques",
            "label": "Zones de risque portées à connaissance (PAC, Hérault)",
            "label_en": "Risk zones notified by the State (PAC, Hérault)",
            "role": "risk",
            "coverage": ["34"],
        },
        {
            "name": "flood_marks",
            "source": "reperes_crues_34",
            "zones": ["commune", "buffer:2000"],
            "label": "Repères de crues historiques (Hérault)",
            "label_en": "Historical flood marks (Hérault)",
            "role": "risk",
            "coverage": ["34"],
        },
        {
            "name": "ppr_scie",
            "source": "ppr_scie_76",
            "label": "Périmètre du PPRN de la vallée de la Scie (Seine-Maritime)",
            "label_en": "PPRN perimeter of the Scie basin (Seine-Maritime)",
            "role": "risk",
            "coverage": ["76"],
        },
    ),
    "rasters": (
        {
            "name": "dem",
            "source": "dem_n45e005",
            "stats": ["mean", "min", "max", "coverage_pct"],
            "threshold": [300],
            "unit": "m",
            "label": "Altitude (Copernicus DEM GLO-30, dalle N45E005)",
            "label_en": "Elevation (Copernicus DEM GLO-30, tile N45E005)",
            "role": "risk",
        },
    ),
}


# --------------------------------------------------------------------------------------------
# rendering: the default TOML, the commented example, the reference


def toml_value(value: Any) -> str:
    """TOML text of a value.

    Examples
    --------
    >>> toml_value({"risk": 0.6, "opendata": 0.0}), toml_value(("commune", "buffer:2000")), toml_value(True)
    ('{ risk = 0.6, opendata = 0.0 }', '["commune", "buffer:2000"]', 'true')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _written(key: Key) -> bool:
    """A key the default configuration writes: a non-empty default of a plain key."""
    return key.in_default and key.default not in (None, (), {}) and not isinstance(key.type, Entries)


def _blocks(commented: bool) -> list[list[str]]:
    """The default configuration as blocks of lines (one per section or entry)."""
    blocks: list[list[str]] = []
    for top in ROOT.keys:
        if isinstance(top.type, Entries):
            section = top.type.section
            entries = DEFAULT_ENTRIES.get(section.path, ())
            for i, entry in enumerate(entries):
                lines = _entry_lines(section, entry, commented and i == 0)
                blocks.append(([*_comment(section.help)] if commented and i == 0 else []) + lines)
            continue
        assert isinstance(top.type, Table)
        section = top.type.section
        lines = [f"[{section.path}]"]
        shown = {k.name: k.default for k in section.keys if _written(k)}
        lines += _entry_lines(section, shown, commented)[1:]
        for key in section.keys:
            if commented and isinstance(key.type, Entries):  # [[tables.csv]]: none by default, all commented
                sub = _entry_lines(key.type.section, {}, True)
                lines += ["", *_comment(key.type.section.help), "# " + sub[0], *sub[1:]]
        blocks.append(([*_comment(section.help)] if commented else []) + lines)
    return blocks


def _entry_lines(section: Section, values: Mapping[str, Any], commented: bool) -> list[str]:
    """``[[section]]`` and its key lines; ``commented``: with help, the other keys commented out."""
    lines = [f"[[{section.path}]]"]
    for name, value in values.items():
        lines += _key_line(section.key(name), f"{name} = {toml_value(value)}", commented)
    if commented:
        for key in section.keys:
            if key.name not in values and not isinstance(key.type, Entries):
                lines += _key_line(key, "# " + key.sample(), True)
    return lines


def _key_line(key: Key, line: str, commented: bool) -> list[str]:
    if not commented:
        return [line]
    note = ("REQUIRED: " if key.required else "") + key.help
    if len(line) + 3 + len(note) <= _WIDTH:
        return [f"{line}  # {note}"]
    return [*_comment(note), line]


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent="# ", subsequent_indent="# ") if text else []


def default_toml() -> str:
    r"""The embedded default configuration (:data:`acv_geo.pipeline.config.DEFAULT_CONFIG_TOML`).

    Examples
    --------
    >>> print(default_toml().split("\n\n")[-2])
    [maps]
    enabled = true
    dpi = 100
    """
    return "\n\n".join("\n".join(b) for b in _blocks(commented=False)) + "\n"


_EXAMPLE_HEAD = """\
# acv-geo diagnose configuration: the embedded default, commented.
# Generated from acv_geo.pipeline.schema by `python -m acv_geo.pipeline.schema`: edit the schema, not this file.
#
#   acv-geo diagnose --config examples/diagnose.toml --out diag/
#
# Every key is optional unless marked REQUIRED; the keys commented out show the other settings.
# Paths are relative to this file's folder. A source is an embedded dataset name (acv_geo.list_datasets()),
# a file path, or the name of a layer downloaded with `acv-geo fetch NAME` (e.g. "tri", "azi", "pprn:34",
# "znieff1"). Zone kinds: "commune" (commune polygon), "epci" (EPCI polygon), "buffer:METERS" (disc around
# the town centre). Mistakes are reported before anything runs, with the key path (layers[2].category).
"""


def example_toml() -> str:
    """``examples/diagnose.toml``: the default configuration, every key explained, the others commented out."""
    return _EXAMPLE_HEAD + "\n" + "\n\n".join("\n".join(b) for b in _blocks(commented=True)) + "\n"


_REFERENCE_HEAD = """\
# Configuration reference

<!-- Generated from acv_geo/pipeline/schema.py by `python -m acv_geo.pipeline.schema`: edit the schema. -->

`acv-geo diagnose --config FILE` reads a TOML file; `acv_geo.load_config(FILE)` checks it before anything
runs (unknown keys, wrong types, missing files, fields absent from a layer) and names the key path of
any mistake (`layers[2].category`). Every key is optional unless marked **required**; relative paths
start from the config file's folder. [examples/diagnose.toml](../examples/diagnose.toml) is the embedded
default, commented; [adding-a-layer.md](adding-a-layer.md) shows worked additions.
"""


def reference_markdown() -> str:
    """``docs/configuration.md``: one table of keys per section."""
    out = [_REFERENCE_HEAD]
    for kind in _tables_of(ROOT):
        section = kind.section
        out += [f"## `{kind.header()}`", ""] + ([section.help, ""] if section.help else [])
        out += ["| key | value | default | meaning |", "|---|---|---|---|"]
        out += [_reference_row(key) for key in section.keys]
        out.append("")
    return "\n".join(out)


def _tables_of(section: Section) -> list[Table | Entries]:
    """The tables and arrays of tables under ``section``, depth first."""
    out: list[Table | Entries] = []
    for key in section.keys:
        if isinstance(key.type, (Table, Entries)):
            out += [key.type, *_tables_of(key.type.section)]
    return out


def _reference_row(key: Key) -> str:
    if key.required:
        default = "**required**"
    elif key.default_doc:
        default = key.default_doc
    elif key.default is None or isinstance(key.type, Entries):
        default = "none"
    else:
        default = f"`{toml_value(key.default)}`"
    cells = (f"`{key.name}`", key.type.describe(), default, key.help)
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def write_docs(root: Path) -> list[Path]:
    """Write ``examples/diagnose.toml`` and ``docs/configuration.md`` under the repository ``root``."""
    out = [root / "examples" / "diagnose.toml", root / "docs" / "configuration.md"]
    out[0].write_text(example_toml(), encoding="utf-8")
    out[1].write_text(reference_markdown(), encoding="utf-8")
    return out


if __name__ == "__main__":  # python -m acv_geo.pipeline.schema  (from the repository root)
    for written in write_docs(Path.cwd()):
        print(written)
