"""The package layout tells the data flow: imports only point down it, no cycles, no private crossings."""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "acv_geo"

#: The steps, in data-flow order: a module may import from its own step and the steps before it.
FLOW = ("core", "sources", "read", "zones", "indicators", "stats", "outputs", "pipeline", "cli")
#: Modules outside the flow: the flat API and the 0.1 aliases (they import lazily from every step).
OUTSIDE = {"acv_geo", "acv_geo._compat", "acv_geo.__main__"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _step(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "acv_geo"


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, imported names) of every import of acv_geo in the file, lazy ones too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("acv_geo"):
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}:{node.lineno}: relative import; write `from acv_geo.… import …`")
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.startswith("acv_geo")]
    return found


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def test_the_steps_are_the_top_level_of_the_package():
    packages = sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").exists())
    modules = sorted(p.stem for p in PKG.glob("*.py") if not p.stem.startswith("_"))
    assert packages == sorted(set(FLOW) - {"zones"})
    assert modules == ["zones"]


@pytest.mark.parametrize("module", sorted(set(MODULES) - OUTSIDE))
def test_imports_point_down_the_flow(module):
    rank = FLOW.index(_step(module))
    wrong = []
    for line, imported, names in _imports(MODULES[module]):
        target = imported if imported != "acv_geo" else "acv_geo." + (names[0] if names else "")
        if target in ("acv_geo.", "acv_geo.__version__"):
            continue
        step = _step(target)
        if step not in FLOW or FLOW.index(step) > rank:
            wrong.append(f"line {line}: {imported} ({step} comes after {_step(module)})")
    assert not wrong, f"{module} imports against the data flow: " + "; ".join(wrong)


@pytest.mark.parametrize("module", sorted(set(MODULES) - OUTSIDE))
def test_no_private_name_crosses_a_package(module):
    own = module.rsplit(".", 1)[0] if MODULES[module].name != "__init__.py" else module
    crossing = [
        f"line {line}: {name} from {imported}"
        for line, imported, names in _imports(MODULES[module])
        for name in names
        if name.startswith("_") and not name.startswith("__") and own not in (imported, imported.rsplit(".", 1)[0])
    ]
    assert not crossing, f"{module} imports private names of another package: " + "; ".join(crossing)


def test_no_import_cycle_between_modules():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for _line, imported, names in _imports(path):
            for target in [imported, *(f"{imported}.{n}" for n in names)]:
                if target in MODULES and target != module and not target.startswith(module + "."):
                    graph[module].add(target)
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}  # a package's own init
    for m in OUTSIDE:
        graph.pop(m, None)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " → ".join(stack[stack.index(t) :] + [t]))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_old_module_paths_still_import_with_a_deprecation_warning():
    import acv_geo

    deprecated = r"acv_geo\.tables is deprecated since acv-geo 0\.2.*acv_geo\.indicators"
    with pytest.warns(DeprecationWarning, match=deprecated):
        from acv_geo.tables import radon_indicators
    assert radon_indicators is acv_geo.radon_indicators
    old_io = importlib.import_module("acv_geo.io")
    with pytest.warns(DeprecationWarning, match="acv_geo.io is deprecated"):
        assert old_io.read_acv is acv_geo.read_acv
    with pytest.warns(DeprecationWarning, match=r"acv_geo\.pipeline\.diagnose is deprecated"):
        from acv_geo.pipeline import diagnose
    assert diagnose is acv_geo.diagnose
    with pytest.raises(AttributeError, match="module 'acv_geo.io' has no attribute 'nope'"):
        old_io.nope  # noqa: B018


def test_every_old_module_name_resolves_every_public_name_it_had():
    # the 0.1 modules' public names (their __all__ at 0.1.0, i.e. commit fe3e731) are all still reachable
    from acv_geo._compat import MOVED, lookup

    missing = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for old, names in OLD_ALL.items():
            assert old in MOVED, old
            for name in names:
                try:
                    lookup(old, name)
                except AttributeError:
                    missing.append(f"acv_geo.{old}.{name}")
    assert not missing, "names of 0.1 modules no longer reachable: " + ", ".join(missing)


#: The ``__all__`` of each 0.1 module (acv-geo 0.1.0), which the aliases must keep serving.
OLD_ALL: dict[str, list[str]] = {
    "errors": ["InputError", "os_error_message"],
    "codes": ["clean_text", "insee_department", "normalize_insee", "normalize_siren", "slugify"],
    "territories": [
        "TERRITORIES",
        "Territory",
        "check_extent",
        "local_crs",
        "territory_at",
        "territory_of",
        "territory_of_areas",
        "territory_of_department",
    ],
    "datasets": ["DATASETS", "Dataset", "data_dir", "get_path", "list_datasets"],
    "metadata": [
        "METADATA_COLUMNS",
        "ROLES",
        "assign_role",
        "attach_metadata",
        "described_columns",
        "indicator_metadata",
        "merge_metadata",
        "scored_columns",
    ],
    "labels": ["CITY_METADATA", "LANGS", "SOURCE_LABELS", "column_label", "label_metadata"],
    "fetching": [
        "FORMATS",
        "FetchError",
        "FetchResult",
        "FetchedSource",
        "cache_root",
        "fetch",
        "list_sources",
        "load_catalogue",
        "resolve_source",
        "source_info",
        "source_path",
    ],
    "io": [
        "CITY_COLUMNS",
        "read_acv",
        "read_all_communes",
        "read_communes",
        "read_epci",
        "read_polygons",
        "repair_report",
    ],
    "opendata": ["OBSERVATORY_COLUMNS", "opendata_status", "read_observatory"],
    "coverage": [
        "Coverage",
        "MIN_FEATURES",
        "NATIONAL",
        "derive_coverage",
        "file_coverage",
        "parse_coverage",
        "zone_departments",
    ],
    "overlay": ["get_preset", "list_presets", "overlay_indicators", "overlay_report"],
    "zonal": ["ALLOWED_STATS", "zonal_indicators"],
    "tables": [
        "CATNAT_GROUPS",
        "CATNAT_GROUP_ORDER",
        "catnat_indicators",
        "join_commune_table",
        "known_risks_indicators",
        "radon_indicators",
        "read_table",
        "seismic_indicators",
    ],
    "gaspar": [
        "GASPAR_TABLES",
        "PPRN_FAMILIES",
        "azi_indicators",
        "catnat_gaspar_indicators",
        "dicrim_indicators",
        "gaspar_indicators",
        "is_gaspar_catnat",
        "pprn_indicators",
        "read_gaspar",
        "risq_indicators",
        "tri_indicators",
    ],
    "profile": ["DEFAULT_WEIGHTS", "PROFILE_COLUMNS", "SUBSCORES", "exposure_profile", "rank_candidates"],
    "services": [
        "GEORISQUES_ENDPOINTS",
        "GeometryTooLarge",
        "NATURE_LAYERS",
        "NatureLayer",
        "SERVICES",
        "ServiceClient",
        "ServiceError",
        "fetch_services",
        "georisques_indicators",
        "nature_indicators",
        "nature_layers",
        "service_base_url",
        "services_cache_dir",
    ],
    "weights": ["TerritoryGraph", "WEIGHT_KINDS", "WeightsResult", "parse_weights_spec", "spatial_weights"],
    "clusters": [
        "ALTERNATIVES",
        "JoinCountsResult",
        "LEVELS",
        "LOCAL_COLUMNS",
        "LocalResult",
        "METHODS",
        "MoranResult",
        "benjamini_hochberg",
        "france_communes",
        "join_counts",
        "local_clusters",
        "morans_i",
    ],
    "writers": ["FORMATS", "atomic_path", "write_table"],
    "maps": ["CLUSTER_COLORS", "OVERSEAS", "TOWN_MAP_COLORS", "cluster_map", "plot_map", "town_map_svg"],
    "report": ["build_report", "season2_gaps"],
    "config": [
        "ClusterSpec",
        "DEFAULT_CONFIG_TOML",
        "DiagnoseConfig",
        "LayerSpec",
        "RasterSpec",
        "TableSpec",
        "load_config",
    ],
    "engine": ["ENGINES", "dask_client", "map_zones", "spatial_chunks", "thread_count", "threaded"],
}
