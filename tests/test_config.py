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
    with pytest.raises(InputError, match=r"cfg\.toml: clusters\.permutation: unknown key 'permutation'; allowed "
                                         r"keys here: variables, method, weights, permutations"):
        load_config(p)


def test_unknown_top_level_section(tmp_path):
    p = _write(tmp_path, '[[layer]]\nname = "x"\nsource = "ppr_scie_76"\n')
    with pytest.raises(InputError, match=r"cfg\.toml: layer: unknown key 'layer'; allowed keys here: cities, zones, "
                                         r"layers"):
        load_config(p)


def test_missing_file_is_reported_with_the_resolved_path(tmp_path):
    p = _write(tmp_path, '[[layers]]\nname = "zones"\nsource = "data/tri_34.gpkg"\n')
    with pytest.raises(InputError, match=r"cfg\.toml: layers\[0\]\.source: 'data/tri_34\.gpkg' is not an embedded "
                                         r"dataset, an existing file \(looked for .*data/tri_34\.gpkg\)"):
        load_config(p)


def test_missing_field_checked_with_read_info(tmp_path):
    text = ('[[layers]]\nname = "pac"\nsource = "herault_pac_risques"\n\n'
            '[[layers]]\nname = "pac2"\nsource = "herault_pac_risques"\ncategory = "HAZARD"\n')
    p = _write(tmp_path, text)
    with pytest.raises(InputError, match=r"cfg\.toml: layers\[1\]\.category: field 'HAZARD' not in layer .*"
                                         r"herault_pac_risques\.gpkg \(fields: ID, COMMUNE, INSEE, ALEA, DATE_PAC"):
        load_config(p)


def test_preset_needs_its_field(tmp_path):
    p = _write(tmp_path, '[[layers]]\nname = "ppr"\nsource = "ppr_scie_76"\npreset = "pac_risques"\n')
    with pytest.raises(InputError, match=r"layers\[0\]\.preset: preset 'pac_risques' needs field 'ALEA', which "
                                         r"layer .*ppr_scie_76_perimetre\.gpkg lacks"):
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
    with pytest.raises(InputError, match=r"bad\.toml: tables\.csv\[0\]\.insee_column: column 'INSEE' not in .*"
                                         r"\(columns: CODGEO, score\)"):
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
        ({"layers": [{"name": "a", "source": "ppr_scie_76", "preset": "pac_risques", "category": "ALEA"}]},
         r"layers\[0\]\.category: give either preset or category, not both"),
        ({"layers": [{"name": "a", "source": "ppr_scie_76"}], "rasters": [{"name": "a", "source": "dem_n45e005"}]},
         r"layers/rasters: name\(s\) \['a'\] used twice"),
        ({"rasters": [{"name": "d", "source": "ppr_scie_76"}]}, r"rasters\[0\]\.source: .* is a vector/table file"),
        ({"tables": {"radon": "nowhere.csv"}}, r"tables\.radon: file 'nowhere\.csv' not found"),
        ({"layers": [{"name": "a", "source": "ppr_scie_76", "distances": "no"}]},
         r"layers\[0\]\.distances: expected true or false, got 'no'"),
        ({"layers": [{"name": "a", "source": "ppr_scie_76", "role": "hazard"}]},
         r"layers\[0\]\.role: 'hazard' is not allowed; use one of 'risk', 'nature', 'context'"),
        ({"rasters": [{"name": "d", "source": "dem_n45e005", "role": "opendata"}]},
         r"rasters\[0\]\.role: 'opendata' is not allowed; use one of 'risk', 'nature', 'context'"),
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
    cfg = load_config({"layers": [{"name": "a", "source": "herault_pac_risques", "preset": "pac_risques"},
                                  {"name": "b", "source": "ppr_scie_76"},
                                  {"name": "c", "source": "ppr_scie_76", "role": "nature", "label_en": "C"}],
                       "rasters": [{"name": "d", "source": "dem_n45e005"}]})
    assert [(x.name, x.role, x.label_en) for x in (*cfg.layers, *cfg.rasters)] == [
        ("a", "risk", ""), ("b", "context", ""), ("c", "nature", "C"), ("d", "context", "")]
    assert [(x.name, x.role) for x in (*load_config().layers, *load_config().rasters)] == [
        ("pac", "risk"), ("flood_marks", "risk"), ("ppr_scie", "risk"), ("dem", "risk")]
