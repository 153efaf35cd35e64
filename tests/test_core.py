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


def test_progress_bar_starts_no_thread():
    """tqdm's monitor thread would stop diagnose from forking its map workers."""
    import threading

    from acv_geo.core.progress import Progress

    before = {t.ident for t in threading.enumerate()}
    bar = Progress(2, True, stream=io.StringIO())
    bar.step("lecture")
    assert {t.ident for t in threading.enumerate()} - before == set()
    bar.close()


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


def test_normalize_insee_series_equals_the_scalar_rule_on_every_kind_of_value():
    import numpy as np
    import pandas as pd

    from acv_geo.core.codes import normalize_insee, normalize_siren

    raw = ["1053", 1053.0, None, np.nan, "2b033", "75-056", "01053", pd.NA, "2A004", 12345, " 34301", "\u200e34301"]
    raw += ["1.053E3", "97411", "9741", "", "abcde", True, np.int64(6088), "06088.0"]
    series = pd.Series(raw * 3, name="code")
    assert normalize_insee(series).tolist() == [normalize_insee(v) for v in series]
    assert normalize_siren(series).tolist() == [normalize_siren(v) for v in series]
    assert normalize_insee(series.astype("string")).tolist() == [normalize_insee(v) for v in series.astype("string")]


def _fail(message):
    raise ValueError(message)


def _slow_pid():
    import os
    import time

    time.sleep(60)  # killed long before
    return os.getpid()


def test_forked_returns_raises_and_survives_a_killed_child():
    """Forked: the child's value; its exception raised here; run here if the child died."""
    import os
    import signal
    import sys

    import pytest

    from acv_geo.core.parallel import Forked, fork_context

    job = Forked(divmod, 17, 5)
    assert job.result() == (3, 2)
    assert job.result() == (3, 2) and not job.forked  # the value kept, the child gone
    calls = []
    job = Forked(lambda: calls.append(1) or len(calls))
    assert [job.result(), job.result()] == [1, 1] and len(calls) <= 1  # computed once
    with pytest.raises(ValueError, match="^no such column$"):
        Forked(_fail, "no such column").result()
    job = Forked(_slow_pid)
    if sys.platform.startswith("linux") and fork_context() is not None:
        assert job.forked
        os.kill(job._process.pid, signal.SIGKILL)
        job._process.join()
    job._func = os.getpid  # what runs here when the child is gone (not the minute-long sleep)
    assert job.result() == os.getpid()  # computed here once the child was gone
    job = Forked(_slow_pid)
    if sys.platform.startswith("linux") and fork_context() is not None:
        assert job.forked  # where a fork is possible, the close below is tested
        pid = job._process.pid
        job.close()  # not wanted any more: the child is ended at once (not after its minute-long sleep)
        assert not job.forked and not os.path.exists(f"/proc/{pid}")
