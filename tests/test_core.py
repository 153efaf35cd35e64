"""The shared pieces of acv_geo.core: progress, text files, atomic writes."""

import io


def test_progress_bar_ends_full_when_steps_were_skipped():
    from acv_geo.core.progress import Progress

    stream = io.StringIO()
    bar = Progress(4, True, desc="diagnostic", stream=stream)
    bar.step("lecture")
    bar.step("cartes")
    bar.close()
    assert bar.done == 4 and bar.fraction == 1.0
    assert "4/4" in stream.getvalue().replace("\r", "\n").splitlines()[-1]


def test_progress_callable_gets_fractions_and_a_final_done():
    from acv_geo.core.progress import Progress

    seen = []
    bar = Progress(3, lambda f, m: seen.append((round(f, 3), m)))
    for label in ("lecture", "indicateurs"):
        bar.step(label)
    bar.close()
    assert seen == [(0.0, "lecture"), (0.333, "indicateurs"), (1.0, "done")]


def test_sniffer_and_yes_no_words():
    from acv_geo.core.files import parse_bool, sniff_separator

    assert sniff_separator('insee;nom;"a,b"\n34301;Sète;"x,y"\n') == ";"
    assert sniff_separator("insee\tnom\n34301\tSète\n") == "\t"
    assert sniff_separator("") is None
    assert [parse_bool(v) for v in ("Oui", "NON", "vrai", "F", "2", "")] == [True, False, True, False, None, None]


def test_atomic_path_leaves_the_old_file_when_the_block_fails(tmp_path):
    import pytest

    from acv_geo.core.files import atomic_path

    out = tmp_path / "indicators.csv"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["indicators.csv"]
