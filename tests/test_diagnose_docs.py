"""docs/api.md is generated from the docstrings and must be up to date; the public entry points."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_api_md_is_up_to_date():
    spec = importlib.util.spec_from_file_location("build_api_docs", ROOT / "scripts" / "build_api_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (ROOT / "docs" / "api.md").read_text(encoding="utf-8") == mod.build(), (
        "docs/api.md is out of date: run python scripts/build_api_docs.py"
    )


def test_config_docs_are_generated_from_the_schema():
    from acv_geo.pipeline.schema import example_toml, reference_markdown

    assert (ROOT / "examples" / "diagnose.toml").read_text(encoding="utf-8") == example_toml(), (
        "examples/diagnose.toml is out of date: run python -m acv_geo.pipeline.schema"
    )
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == reference_markdown(), (
        "docs/configuration.md is out of date: run python -m acv_geo.pipeline.schema"
    )


def test_diagnose_is_the_function_even_after_its_module_loaded():
    import types

    import acv_geo.pipeline.run  # binds the submodule on the package, under another name

    assert isinstance(acv_geo.diagnose, types.FunctionType)
    assert acv_geo.diagnose is acv_geo.pipeline.run.diagnose
    assert acv_geo.load_config().clusters.permutations == 9999
    assert "diagnose" in acv_geo.__all__ and "load_config" in acv_geo.__all__
