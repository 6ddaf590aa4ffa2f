"""Depth against wait bins the waits itself, as numpy's histogram2d does."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from jspiprof.analysis import Tables, tables
from jspiprof.render import views
from jspiprof.trace import read_trace

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "analysis"))
from make_patterns import Writer  # noqa: E402 - the fixture writer


@pytest.fixture(scope="module")
def waits(tmp_path_factory: pytest.TempPathFactory) -> Tables:
    """21,000 suspensions (past the scatter limit: a heatmap) at depths 1-12, waits from 0.1 µs to 10 s, some
    repeated."""
    path = tmp_path_factory.mktemp("views") / "waits.jsonl"
    writer = Writer(path)
    writer.emit(
        type="entry", id=1, kind="runPythonAsync", promising=True, name=None, caller=None, parent=None, start_us=0.0
    )
    rng = np.random.default_rng(11)
    t = 10.0
    for i, wait in enumerate(np.round(rng.lognormal(7.0, 3.0, 21_000).clip(0.1, 1e7), 1).tolist()):
        stack = [("/app/main.py", 1, "<module>")] + [("/app/work.py", 10 + d, f"step{d}") for d in range(i % 12)]
        t = (
            writer.suspension(
                1, ["run_sync", "time.sleep", "urllib3"][i % 3], t, 1000.0 if i % 97 == 0 else wait, 10, stack
            )
            + 5
        )
    writer.close(t + 10)
    return tables(read_trace(path))


def test_depth_against_wait_heatmap_counts_are_np_histogram2d_ones(waits: Tables) -> None:
    s = waits.suspensions
    ms, depth = s["wait_us"].to_numpy() / 1000, s["depth"].to_numpy()
    edges = views._wait_bins(ms)
    expected, _, _ = np.histogram2d(
        depth.astype(float), np.clip(ms, edges[0], edges[-1]), bins=[np.arange(1, 14), edges]
    )
    (heatmap,) = views.depth_vs_wait_spec(waits)["data"]
    assert heatmap["type"] == "heatmap" and (heatmap["customdata"] == expected.T).all()


def test_a_wait_on_an_edge_falls_in_the_bin_it_opens_and_the_last_edge_in_the_last_bin() -> None:
    edges = np.array([0.1, 1.0, 10.0])
    assert list(views._bin_of(np.array([0.01, 0.1, 0.5, 1.0, 10.0, 99.0, np.nan]), edges)) == [0, 0, 0, 1, 1, 1, -1]


@pytest.mark.parametrize("budget, exact", [(100, True), (99, False)])
def test_the_flame_chart_draws_each_span_only_when_suspensions_and_frame_spans_fit_the_budget(
    budget: int, exact: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = tables(
        read_trace(Path(__file__).parent / "fixtures" / "analysis" / "deep.jsonl")
    )  # 20 suspensions, 80 frame spans
    monkeypatch.setattr(views, "SPAN_BUDGET", budget)
    suspensions, frames = views._spans(t, t.duration_us / views.COLUMNS)
    assert ("column" not in suspensions) == exact
    assert len(suspensions["count"]) == 20 if exact else sum(suspensions["count"]) == 20
