"""acv_geo.pipeline.config: the diagnose configuration is validated up front, with pinned messages."""

from __future__ import annotations

from pathlib import Path

import pytest

import acv_geo
from acv_geo.core.errors import InputError
from acv_geo.pipeline.config import DEFAULT_CONFIG_TOML, load_config

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, text: str, name: str = "cfg.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_default_config_content():
    cfg = load_config()
    assert [x.name for x in cfg.layers] == ["pac", "flood_marks", "ppr_scie"]
    assert cfg.layers[0].preset == "pac_risques"
    assert cfg.layers[0].path == acv_geo.get_path("herault_pac_risques")
    assert cfg.layers[1].zones == ("commune", "buffer:2000")
    assert cfg.rasters[0].threshold == (300.0,)
    assert [t.kind for t in cfg.tables] == ["radon", "catnat", "seismic", "known_risks"]
    assert (cfg.clusters.weights, cfg.clusters.permutations, cfg.clusters.seed) == ("knn:6", 9999, 20250401)
    assert cfg.path is None


def test_example_file_is_the_default():
    ex = load_config(ROOT / "examples" / "diagnose.toml")
    d1, d2 = ex.to_dict(), load_config().to_dict()
    d1.pop("path"), d2.pop("path")
    assert d1 == d2


def test_overrides_merge_inside_a_section():
    cfg = load_config(overrides={"clusters": {"permutations": 99}})
    assert cfg.clusters.permutations == 99 and cfg.clusters.weights == "knn:6"
    assert len(cfg.layers) == 3


def test_unknown_key_names_file_and_key_path(tmp_path):
    p = _write(tmp_path, DEFAULT_CONFIG_TOML.replace("permutations = 9999", "permutation = 99"))
    with pytest.raises(
        InputError,
        match=r"cfg\.toml: clusters\.permutation: unknown key 'permutation'; allowed "
        r"keys here: variables, method, weights, permutations, seed, alpha, "
        r"join_counts, morans_i; did you mean `permutations = 9999`\?$",
    ):
        load_config(p)


def test_unknown_top_level_section(tmp_path):
    p = _write(tmp_path, '[[layer]]\nname = "x"\nsource = "ppr_scie_76"\n')
    with pytest.raises(
        InputError,
        match=r"cfg\.toml: layer: unknown key 'layer'; allowed keys here: cities, zones, "
        r"layers, .*, report; did you mean `\[\[layers\]\]`\?$",
    ):
        load_config(p)


def test_unknown_key_without_a_close_match_asks_to_check_the_spelling():
    with pytest.raises(
        InputError,
        match=r"^config: maps\.size: unknown key 'size'; allowed keys here: enabled, dpi, "
        r"columns \(check the spelling\)$",
    ):
        load_config({"maps": {"size": 3}})


def test_missing_file_is_reported_with_the_resolved_path(tmp_path):
    p = _write(tmp_path, '[[layers]]\nname = "zones"\nsource = "data/tri_34.gpkg"\n')
    with pytest.raises(
        InputError,
        match=r"cfg\.toml: layers\[0\]\.source: 'data/tri_34\.gpkg' is not an embedded "
        r"dataset, an existing file \(looked for .*data/tri_34\.gpkg\)",
    ):
        load_config(p)


def test_missing_field_checked_with_read_info(tmp_path):
    text = (
        '[[layers]]\nname = "pac"\nsource = "herault_pac_risques"\n\n'
        '[[layers]]\nname = "pac2"\nsource = "herault_pac_risques"\ncategory = "HAZARD"\n'
    )
    p = _write(tmp_path, text)
    with pytest.raises(
        InputError,
        match=r"cfg\.toml: layers\[1\]\.category: field 'HAZARD' not in layer .*"
        r"herault_pac_risques\.gpkg \(fields: ID, COMMUNE, INSEE, ALEA, DATE_PAC",
    ):
        load_config(p)


def test_preset_needs_its_field(tmp_path):
    p = _write(tmp_path, '[[layers]]\nname = "ppr"\nsource = "ppr_scie_76"\npreset = "pac_risques"\n')
    with pytest.raises(
        InputError,
        match=r"layers\[0\]\.preset: preset 'pac_risques' needs field 'ALEA', which "
        r"layer .*ppr_scie_76_perimetre\.gpkg lacks",
    ):
        load_config(p)


def test_missing_required_key():
    with pytest.raises(InputError, match=r"^config: rasters\[0\]\.source: missing required key; add `source = "):
        load_config({"rasters": [{"name": "dem"}]})


def test_relative_paths_start_from_the_config_folder(tmp_path):
    sub = tmp_path / "project"
    sub.mkdir()
    (sub / "mine.csv").write_text("CODGEO;score\n01004;3\n", encoding="utf-8")
    p = _write(sub, '[[tables.csv]]\npath = "mine.csv"\ninsee_column = "CODGEO"\nprefix = "mine"\n')
    cfg = load_config(p)
    assert cfg.tables[-1].path == sub / "mine.csv"
    p2 = _write(sub, '[[tables.csv]]\npath = "mine.csv"\ninsee_column = "INSEE"\n', "bad.toml")
    with pytest.raises(
        InputError,
        match=r"bad\.toml: tables\.csv\[0\]\.insee_column: column 'INSEE' not in .*"
        r"\(columns: CODGEO, score\)",
    ):
        load_config(p2)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"zones": {"kinds": ["buffer:-3"]}}, r"zones\.kinds\[0\]: zone specification 'buffer:-3'"),
        ({"clusters": {"weights": "knn6"}}, r"clusters\.weights: unknown weights spec 'knn6'"),
        ({"clusters": {"alpha": 5}}, r"clusters\.alpha: expected a number between 0 and 1"),
        ({"clusters": {"permutations": "many"}}, r"clusters\.permutations: expected a whole number ≥ 1"),
        ({"profile": {"weights": {"risk": 1, "cost": 2}}}, r"profile\.weights\.cost: unknown key 'cost'"),
        ({"layers": {"name": "x"}}, r"layers: expected a list of tables"),
        ({"layers": [{"name": "Bad Name", "source": "ppr_scie_76"}]}, r"layers\[0\]\.name: 'Bad Name' is not a valid"),
        (
            {"layers": [{"name": "a", "source": "ppr_scie_76", "preset": "pac_risques", "category": "ALEA"}]},
            r"layers\[0\]\.category: give either preset or category, not both",
        ),
        (
            {"layers": [{"name": "a", "source": "ppr_scie_76"}], "rasters": [{"name": "a", "source": "dem_n45e005"}]},
            r"layers/rasters: name\(s\) \['a'\] used twice",
        ),
        ({"rasters": [{"name": "d", "source": "ppr_scie_76"}]}, r"rasters\[0\]\.source: .* is a vector/table file"),
        ({"tables": {"radon": "nowhere.csv"}}, r"tables\.radon: file 'nowhere\.csv' not found"),
        (
            {"layers": [{"name": "a", "source": "ppr_scie_76", "distances": "no"}]},
            r"layers\[0\]\.distances: expected true or false, got 'no'",
        ),
        (
            {"layers": [{"name": "a", "source": "ppr_scie_76", "role": "hazard"}]},
            r"layers\[0\]\.role: 'hazard' is not allowed; use one of 'risk', 'nature', 'context'",
        ),
        (
            {"rasters": [{"name": "d", "source": "dem_n45e005", "role": "opendata"}]},
            r"rasters\[0\]\.role: 'opendata' is not allowed; use one of 'risk', 'nature', 'context'",
        ),
        (
            {"clusters": {"method": "gi"}},
            r"clusters\.method: 'gi' is not allowed; use one of lisa, gi_star, join_count$",
        ),
        ({"profile": {"weights": {"risk": -1}}}, r"profile\.weights\.risk: expected a number ≥ 0, got -1$"),
        ({"tables": {"radon": 3}}, r"tables\.radon: expected true, false or a file path, got 3$"),
        ({"tables": {"catnat_since": 1700}}, r"tables\.catnat_since: expected a whole number ≥ 1800, got 1700$"),
        ({"tables": {"gaspar_tables": ["ppr"]}}, r"tables\.gaspar_tables\[0\]: 'ppr' is not a GASPAR table; use risq"),
        (
            {"tables": {"csv": [{"path": str(ROOT / "pyproject.toml"), "prefix": "Mine"}]}},
            r"tables\.csv\[0\]\.prefix: 'Mine' is not a valid column prefix",
        ),
        (
            {"rasters": [{"name": "d", "source": "dem_n45e005", "stats": ["avg"]}]},
            r"rasters\[0\]\.stats\[0\]: unknown statistic 'avg'; allowed: count, sum, .* and percentiles such as p10$",
        ),
        (
            {"rasters": [{"name": "d", "source": "dem_n45e005", "threshold": [1, "x"]}]},
            r"rasters\[0\]\.threshold\[1\]: expected a number, got 'x'$",
        ),
        ({"cities": {"observatory": ""}}, r"cities\.observatory: expected a non-empty text value, got ''$"),
        (
            {"zones": {"kinds": ["commune", "commune"]}},
            r"zones\.kinds: zone kinds repeated in \['commune', 'commune'\]",
        ),
    ],
)
def test_bad_values(data, match):
    with pytest.raises(InputError, match=match):
        load_config(data)


def test_invalid_toml_and_missing_config(tmp_path):
    p = _write(tmp_path, "[clusters\npermutations = 9\n")
    with pytest.raises(InputError, match=r"cfg\.toml: not valid TOML"):
        load_config(p)
    with pytest.raises(FileNotFoundError, match=r"nope\.toml: config file not found"):
        load_config(tmp_path / "nope.toml")


def test_layer_distances_switch_reaches_the_overlay():
    from acv_geo.pipeline.run import _overlay

    cfg = load_config({"layers": [{"name": "ppr", "source": "ppr_scie_76", "distances": False}]})
    assert cfg.layers[0].distances is False and load_config().layers[0].distances is True
    zones = acv_geo.make_zones(acv_geo.read_acv().loc[["76217", "34003"]])
    df = _overlay(zones, cfg.layers[0], "commune")
    assert not [c for c in df.columns if c.endswith("_dist_m")]
    assert df.loc["76217", "ppr_area_m2"] == pytest.approx(892_328.0, rel=1e-6)  # as in test_overlay


def test_roles_default_to_the_preset_else_context():
    cfg = load_config(
        {
            "layers": [
                {"name": "a", "source": "herault_pac_risques", "preset": "pac_risques"},
                {"name": "b", "source": "ppr_scie_76"},
                {"name": "c", "source": "ppr_scie_76", "role": "nature", "label_en": "C"},
            ],
            "rasters": [{"name": "d", "source": "dem_n45e005"}],
        }
    )
    assert [(x.name, x.role, x.label_en) for x in (*cfg.layers, *cfg.rasters)] == [
        ("a", "risk", ""),
        ("b", "context", ""),
        ("c", "nature", "C"),
        ("d", "context", ""),
    ]
    assert [(x.name, x.role) for x in (*load_config().layers, *load_config().rasters)] == [
        ("pac", "risk"),
        ("flood_marks", "risk"),
        ("ppr_scie", "risk"),
        ("dem", "risk"),
    ]


def test_values_read_and_defaults_come_from_the_schema():
    cfg = load_config(
        {
            "layers": [
                {"name": "a", "source": "ppr_scie_76", "date": 2020, "zones": "buffer:500", "coverage": "national"}
            ],
            "rasters": [{"name": "d", "source": "dem_n45e005", "threshold": 5, "stats": ["p10"]}],
            "tables": {"radon": False, "known_risks": False, "catnat_since": 1995},
            "cities": {"observatory": "none"},
            "zones": {"kinds": ["epci"]},
            "profile": {"weights": {"risk": 1}},
            "maps": {"columns": "radon_class"},
        }
    )
    layer, raster = cfg.layers[0], cfg.rasters[0]
    assert (layer.date, layer.zones, layer.label, layer.coverage.national) == ("2020", ("buffer:500",), "a", True)
    assert (raster.threshold, raster.stats, raster.zones, raster.band, raster.role) == (
        (5.0,),
        ("p10",),
        ("epci",),
        1,
        "context",
    )
    assert raster.date == "2021 release" and raster.provenance.startswith("Copernicus DEM")
    assert [(t.kind, t.since) for t in cfg.tables] == [("catnat", 1995), ("seismic", None)]
    assert cfg.observatory is None and cfg.profile_weights == {"risk": 1.0} and cfg.map_columns == ("radon_class",)
    empty = load_config({})
    assert empty.profile_weights == {} and empty.clusters == acv_geo.pipeline.config.ClusterSpec()
    assert (empty.zones, empty.observatory, empty.maps_dpi, empty.profile_top) == (("commune",), "odater_2022", 100, 20)


def test_schema_only_check_keeps_the_paths_it_does_not_look_for():
    # fixed in 0.2: [cities] communes/epci were dropped (None) when files were not checked
    cfg = load_config({"cities": {"communes": "c.shp", "epci": "e.shp", "source": "l.csv"}}, check_files=False)
    assert (cfg.communes, cfg.epci, cfg.cities_source) == (Path("c.shp"), Path("e.shp"), Path("l.csv"))
    with pytest.raises(InputError, match=r"^config: layers\[0\]\.source: expected a non-empty text value, got 3$"):
        load_config({"layers": [{"name": "a", "source": 3}]}, check_files=False)


def test_every_schema_example_is_a_valid_value():
    import tomllib

    from acv_geo.pipeline import schema

    ck = schema.Checker("config", ROOT, check_files=False)
    for kind in [k.type for k in schema.ROOT.keys] + [
        schema.TABLES.key("csv").type,
        schema.PROFILE.key("weights").type,
    ]:
        section = kind.section
        for key in section.keys:
            if isinstance(key.type, (schema.Table, schema.Entries)):
                continue
            value = tomllib.loads(key.sample())[key.name]
            key.type.check(ck, key, value, f"{section.path}.{key.name}")  # raises if the example is wrong
            if key.default not in (None, ""):  # label_en = "": the label
                assert key.type.check(ck, key, tomllib.loads(f"x = {schema.toml_value(key.default)}")["x"], "d") == (
                    tuple(key.default) if isinstance(key.default, (tuple, list)) else key.default
                )


def test_profile_weight_defaults_are_the_profile_module_s():
    from acv_geo.indicators.profile import DEFAULT_WEIGHTS
    from acv_geo.pipeline.schema import PROFILE

    assert PROFILE.default("weights") == DEFAULT_WEIGHTS


def test_default_config_text_is_generated_from_the_schema():
    import tomllib

    from acv_geo.pipeline.schema import DEFAULT_ENTRIES, default_toml

    data = tomllib.loads(DEFAULT_CONFIG_TOML)
    assert DEFAULT_CONFIG_TOML == default_toml()
    assert data["layers"] == list(DEFAULT_ENTRIES["layers"]) and data["rasters"] == list(DEFAULT_ENTRIES["rasters"])
    assert data["clusters"] == {
        "variables": ["opendata"],
        "method": "lisa",
        "weights": "knn:6",
        "permutations": 9999,
        "seed": 20250401,
        "alpha": 0.05,
        "join_counts": True,
        "morans_i": True,
    }
    assert data["tables"] == {"radon": True, "catnat": True, "seismic": True, "known_risks": True}
    assert list(data) == ["cities", "zones", "layers", "rasters", "tables", "clusters", "profile", "maps", "report"]


def test_the_dataclasses_hold_every_key_of_their_section():
    from dataclasses import fields

    from acv_geo.pipeline.config import ClusterSpec, LayerSpec, RasterSpec
    from acv_geo.pipeline.schema import CLUSTERS, LAYER, RASTER

    assert [f.name for f in fields(ClusterSpec)] == list(CLUSTERS.names)  # built as ClusterSpec(**values)
    for spec, section in ((LayerSpec, LAYER), (RasterSpec, RASTER)):
        names = [f.name for f in fields(spec)]
        assert [n for n in names if n not in ("path", "provenance")] == list(section.names)
