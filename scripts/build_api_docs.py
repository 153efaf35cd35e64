"""Generate docs/api.md from the numpydoc docstrings of every public name (``acv_geo.__all__``).

    python scripts/build_api_docs.py          # write docs/api.md
    python scripts/build_api_docs.py --check  # exit 1 if docs/api.md is out of date

The page is deterministic (names sorted, no date) so that a test can regenerate it and compare.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import acv_geo  # noqa: E402

OUT = ROOT / "docs" / "api.md"
_SECTION = re.compile(r"^([A-Z][A-Za-z ]+)\n-+\n", re.M)


def _signature(obj) -> str:
    try:
        sig = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return ""
    sig = re.sub(r" at 0x[0-9a-f]+", "", sig)
    return sig


def _docstring(obj) -> str:
    doc = inspect.getdoc(obj) or "(no docstring)"
    # numpydoc section headers -> bold headings; example blocks -> fenced code
    out: list[str] = []
    lines = doc.splitlines()
    i = 0
    in_code = False
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if nxt and set(nxt) == {"-"} and len(nxt) >= 3 and line.strip() and not in_code:
            out.append(f"**{line.strip()}**")
            out.append("")
            i += 2
            continue
        if line.startswith(">>>") and not in_code:
            out.append("```python")
            in_code = True
        if in_code and not line.strip():
            out.append("```")
            in_code = False
        out.append(line)
        i += 1
    if in_code:
        out.append("```")
    return "\n".join(out)


def _entry(name: str, obj) -> str:
    module = getattr(obj, "__module__", None) or "acv_geo"
    if inspect.isclass(obj):
        kind = "class"
        head = f"### `acv_geo.{name}{_signature(obj)}`"
    elif callable(obj):
        kind = "function"
        head = f"### `acv_geo.{name}{_signature(obj)}`"
    else:
        kind = "data"
        head = f"### `acv_geo.{name}`"
    if kind == "data":
        body = f"Constant of `{module}`: `{type(obj).__name__}`"
        if isinstance(obj, dict):
            body += f" with keys {', '.join(f'`{k}`' for k in list(obj)[:20])}"
        elif isinstance(obj, str):
            body += f" = `{obj}`"
        body += "."
    else:
        body = f"*{kind} in `{module}`*\n\n" + _docstring(obj)
    return f"{head}\n\n{body}\n"


def build() -> str:
    names = [n for n in acv_geo.__all__ if not n.startswith("_")]
    parts = [
        "# API reference",
        "",
        "Generated from the numpydoc docstrings of every public name of `acv_geo` "
        "(`acv_geo.__all__`) by `scripts/build_api_docs.py`; do not edit by hand. "
        "Every name is importable as `acv_geo.<name>`; `import acv_geo` stays light (names load lazily).",
        "",
        "## Index",
        "",
        " · ".join(f"[`{n}`](#acv_geo{n.lower()})" for n in names),
        "",
        "## Reference",
        "",
    ]
    for n in names:
        if n == "__version__":
            continue
        obj = getattr(acv_geo, n)
        if inspect.ismodule(obj):  # a submodule shadowing its function of the same name (diagnose, fetch)
            obj = getattr(obj, n)
        parts.append(_entry(n, obj))
    return "\n".join(parts).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if docs/api.md is not up to date")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    text = build()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; run python scripts/build_api_docs.py", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text):,} characters, {text.count('### ')} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
