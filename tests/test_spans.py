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
        writer.emit(
            type="entry", id=entry, kind="task", promising=True, name=None, caller=None, parent=None, start_us=0.0
        )
    t = 10.0
    for i in range(3000):
        stack = [("/app/main.py", 1, "<module>"), ("/app/main.py", 5 + i % 4, "loop")] + [
            ("/app/work.py", 10 + d, f"step{d}") for d in range(i % 10)
        ]
        t = writer.suspension(1 + i % 3, ["run_sync", "time.sleep"][i % 7 % 2], t, 50 + i % 13 * 40, 10, stack) + (
            5 if i % 50 else 4000
        )
    writer.close(t + 10)
    return tables(read_trace(path))


def test_column_spans_cover_every_suspension_once(busy) -> None:
    suspensions, frames = spans.column_spans(busy, busy.duration_us / 200)
    assert suspensions["count"].sum() == 3000
    assert suspensions["wait_us"].sum() == pytest.approx(busy.suspensions["wait_us"].sum())
    # the outermost frame of each entry spans all of that entry's suspensions, column after column
    frames = pd.DataFrame(frames)
    outer = frames[frames["depth"] == 1].groupby("entry")["count"].sum()
    assert outer.to_dict() == {1: 1000, 2: 1000, 3: 1000}


def test_suspensions_before_the_first_entry_a_gap_apart_are_two_spans(tmp_path: Path) -> None:
    path = tmp_path / "early.jsonl"
    writer = Writer(path)
    late = [("/app/main.py", 1, "<module>"), ("/app/main.py", 3, "late")]
    early = [("/app/main.py", 1, "<module>"), ("/app/main.py", 7, "early")]
    writer.suspension(None, "run_sync", 190_000.0, 10, 5, late)  # outside any entry, late (its stack is seen first)
    writer.suspension(None, "run_sync", 0.0, 10, 5, early)  # outside any entry, 100 columns before the first entry...
    writer.suspension(None, "run_sync", 50_000.0, 10, 5, early)  # ...and again 50 columns later
    writer.emit(
        type="entry",
        id=1,
        kind="runPythonAsync",
        promising=True,
        name=None,
        caller=None,
        parent=None,
        start_us=100_000.0,
    )
    writer.suspension(1, "time.sleep", 120_000.0, 10, 5, late)
    writer.emit(type="entry_end", id=1, end_us=200_000.0, outcome="return", error=None)
    writer.close(200_010.0)
    suspensions, _ = spans.column_spans(tables(read_trace(path)), 1000.0)
    got = sorted(zip(suspensions["start_us"].tolist(), suspensions["end_us"].tolist(), suspensions["count"].tolist()))
    assert got == [(0.0, 15.0, 1), (50_000.0, 50_015.0, 1), (120_000.0, 120_015.0, 1), (190_000.0, 190_015.0, 1)]


def frame_spans_one_by_one(t, spans: dict) -> list[tuple]:
    """Frame spans worked out frame after frame: per entry and function path from the outermost frame down, the spans
    (of suspensions) whose stacks hold that path, earliest first, merged while their columns overlap or touch."""
    functions = dict(zip(t.frames["id"], zip(t.frames["file"], t.frames["function"])))
    holding: dict[tuple, list[int]] = {}
    for i, (entry, stack_id) in enumerate(zip(spans["entry"].tolist(), spans["stack_id"].tolist())):
        names = tuple(functions[frame] for frame in t.stacks[stack_id])
        for depth in range(1, len(names) + 1):
            holding.setdefault((entry, names[:depth]), []).append(i)
    found = []
    for (entry, names), rows in holding.items():
        runs: list[list] = []  # frame, start, end, count, last column
        for i in sorted(rows, key=lambda i: (spans["column"][i], spans["start_us"][i], i)):
            if runs and spans["column"][i] <= runs[-1][4] + 1:
                run = runs[-1]
                run[2], run[3], run[4] = (
                    max(run[2], spans["end_us"][i]),
                    run[3] + spans["count"][i],
                    max(run[4], spans["last"][i]),
                )
            else:
                frame = t.stacks[spans["stack_id"][i]][len(names) - 1]
                runs.append([frame, spans["start_us"][i], spans["end_us"][i], spans["count"][i], spans["last"][i]])
        found += [(entry, len(names), *run[:4]) for run in runs]
    return sorted(found)


@pytest.mark.parametrize("columns", [200, 2000, 7])
@pytest.mark.parametrize("chains", [0.0, 1.0], ids=["frame by frame", "chain by chain"])
def test_frame_spans_are_the_unions_of_the_columns_of_the_spans_that_hold_each_frame(
    busy,
    columns: int,
    chains: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spans, "CHAINS_WORTH", chains)  # <module> and loop, held by every stack, are a chain
    suspensions, frames = spans.column_spans(busy, busy.duration_us / columns)
    got = sorted(zip(*(frames[name].tolist() for name in ("entry", "depth", "frame", "start_us", "end_us", "count"))))
    assert got == frame_spans_one_by_one(busy, suspensions)
