"""The flame chart's level of detail: frames and suspensions as spans over the time columns they occupy."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pandas as pd
import pytest

from jspiprof.analysis import tables
from jspiprof.trace import read_trace

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"
sys.path.insert(0, str(FIXTURES))
from make_patterns import Writer  # noqa: E402 - the fixture writer

spans = importlib.import_module("jspiprof.analysis.spans")


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory):
    """3 entries taking turns over 3,000 suspensions at 40 stacks that share their outer frames."""
    path = tmp_path_factory.mktemp("spans") / "busy.jsonl"
    writer = Writer(path)
    for entry in (1, 2, 3):
        writer.emit(type="entry", id=entry, kind="task", promising=True, name=None, caller=None, parent=None, start_us=0.0)
    t = 10.0
    for i in range(3000):
        stack = [("/app/main.py", 1, "<module>"), ("/app/main.py", 5 + i % 4, "loop")] + [("/app/work.py", 10 + d, f"step{d}") for d in range(i % 10)]
        t = writer.suspension(1 + i % 3, ["run_sync", "time.sleep"][i % 7 % 2], t, 50 + i % 13 * 40, 10, stack) + (5 if i % 50 else 4000)
    writer.close(t + 10)
    return tables(read_trace(path))


def test_column_spans_cover_every_suspension_once(busy) -> None:
    suspensions, frames = spans.column_spans(busy, busy.duration_us / 200)
    assert suspensions["count"].sum() == 3000
    assert suspensions["wait_us"].sum() == pytest.approx(busy.suspensions["wait_us"].sum())
    # the outermost frame of each entry spans all of that entry's suspensions, column after column
    outer = frames[frames["depth"] == 1].groupby("entry")["count"].sum()
    assert outer.to_dict() == {1: 1000, 2: 1000, 3: 1000}


def test_frame_cells_sorted_by_one_integer_or_by_several_keys_give_the_same_spans(busy, monkeypatch: pytest.MonkeyPatch) -> None:
    quick = spans.column_spans(busy, busy.duration_us / 200)
    monkeypatch.setattr(spans, "_INT64_LIMIT", 0)  # as if the cells' keys did not fit in one 64-bit integer
    for got, expected in zip(spans.column_spans(busy, busy.duration_us / 200), quick):
        pd.testing.assert_frame_equal(got, expected)
