#!/usr/bin/env python3
"""Keep the QGIS plugin's translations up to date: extract, merge into the .ts, compile the .qm.

Every display string of the plugin goes through ``tr("...")`` (or ``noop("...")`` where it is defined
and ``tr`` where it is shown), or is an algorithm's ``DISPLAY``/``HELP``/``GROUP`` class attribute.
This script collects them by reading the source (ast), merges them into
``qgis_plugin/acv_geo_qgis/i18n/acv_geo_qgis_<lang>.ts`` (Qt Linguist format: new strings are added
as unfinished; strings no longer used are dropped) and compiles the ``.qm`` with ``lrelease``
(Debian package qttools5-dev-tools).

Usage: python scripts/build_translations.py [--check]
  --check: exit 1 when a string has no translation or the .qm is not the compiled .ts
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "qgis_plugin" / "acv_geo_qgis"
I18N = PLUGIN / "i18n"
CONTEXT = "AcvGeo"
LANGUAGES = ("fr",)
_CALLS = {"tr", "noop"}
_ATTRS = {"DISPLAY", "HELP", "GROUP"}
#: Entries of choices.json (written from the core by scripts/plugin_choices.py) whose values the plugin shows
#: through ``tr(...)`` of a variable, so the source scan cannot see them.
_CHOICE_TITLES = ("cluster_method_titles",)


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return left + right if left is not None and right is not None else None
    return None


def _class_strings(node: ast.ClassDef) -> list[str]:
    out = []
    for stmt in node.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id in _ATTRS
        ):
            text = _text(stmt.value)
            if text:
                out.append(text)
    return out


def source_strings() -> list[str]:
    """Every translatable string of the plugin, in order of appearance, once."""
    seen: dict[str, None] = {}
    for path in sorted(PLUGIN.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args:
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                text = _text(node.args[0])
                if name in _CALLS and text:
                    seen.setdefault(text, None)
            elif isinstance(node, ast.ClassDef):
                for text in _class_strings(node):
                    seen.setdefault(text, None)
    choices = json.loads((PLUGIN / "choices.json").read_text(encoding="utf-8"))
    for key in _CHOICE_TITLES:
        for text in choices[key].values():
            seen.setdefault(text, None)
    return list(seen)


def read_ts(path: Path) -> dict[str, str]:
    """source → translation of a .ts file (empty for unfinished ones)."""
    if not path.exists():
        return {}
    out = {}
    for msg in ET.parse(path).getroot().iter("message"):
        tr = msg.find("translation")
        done = tr is not None and tr.get("type") not in ("unfinished", "obsolete", "vanished")
        out[msg.findtext("source") or ""] = (tr.text or "") if done else ""
    return out


def write_ts(path: Path, lang: str, strings: list[str], known: dict[str, str]) -> None:
    """Write the .ts: every source string, its translation or an unfinished mark."""
    root = ET.Element("TS", version="2.1", language=lang)
    ctx = ET.SubElement(root, "context")
    ET.SubElement(ctx, "name").text = CONTEXT
    for src in strings:
        msg = ET.SubElement(ctx, "message")
        ET.SubElement(msg, "source").text = src
        tr = ET.SubElement(msg, "translation")
        if known.get(src):
            tr.text = known[src]
        else:
            tr.set("type", "unfinished")
    ET.indent(root)
    text = '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + ET.tostring(root, encoding="unicode") + "\n"
    path.write_text(text, encoding="utf-8")


def lrelease() -> str:
    for name in ("lrelease", "lrelease-qt5"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("build_translations: lrelease not found; install Debian's qttools5-dev-tools")


def compile_qm(ts: Path, qm: Path) -> None:
    """Compile ``ts`` into ``qm`` with lrelease."""
    subprocess.run([lrelease(), "-silent", str(ts), "-qm", str(qm)], check=True)


def check(lang: str, strings: list[str]) -> list[str]:
    """Problems of one language: missing translations, a .qm that is not the compiled .ts."""
    ts = I18N / f"acv_geo_qgis_{lang}.ts"
    qm = ts.with_suffix(".qm")
    known = read_ts(ts)
    problems = [f"{ts.name}: no translation for {s!r}" for s in strings if not known.get(s)]
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / qm.name
        compile_qm(ts, fresh)
        if not qm.exists() or qm.read_bytes() != fresh.read_bytes():
            problems.append(f"{qm.name} is not the compiled {ts.name}: run python scripts/build_translations.py")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail on a missing translation or a stale .qm")
    args = ap.parse_args(argv)
    strings = source_strings()
    if args.check:
        problems = [p for lang in LANGUAGES for p in check(lang, strings)]
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    I18N.mkdir(exist_ok=True)
    for lang in LANGUAGES:
        ts = I18N / f"acv_geo_qgis_{lang}.ts"
        known = read_ts(ts)
        write_ts(ts, lang, strings, known)
        compile_qm(ts, ts.with_suffix(".qm"))
        missing = sum(1 for s in strings if not known.get(s))
        print(f"{ts.name}: {len(strings)} strings, {missing} without translation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
