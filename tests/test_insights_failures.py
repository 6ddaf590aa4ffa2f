"""Insights on what could not stack switch, on traces recorded from real runs (`tests/fixtures/failures/*.py` under
`jspiprof run`): a `time.sleep` that busy-waited in a callback JS called synchronously, and a `run_sync` that failed
there. Each must fire where its pattern is and stay silent where it is not; the fixes are `jspiprof diagnose`'s."""

from __future__ import annotations

from pathlib import Path

import pytest

from jspiprof.analysis.diagnoses import diagnose_trace
from jspiprof.analysis.insights import insights
from jspiprof.analysis.tables import tables
from jspiprof.trace import read_trace

FIXTURES = Path(__file__).parent / "fixtures" / "failures"
CPU_FIXTURES = Path(__file__).parent / "fixtures" / "cpu"


def found(path: Path):
    return insights(tables(read_trace(path)))


def test_a_busy_waiting_sleep_is_a_finding_with_the_blocked_time_at_stake() -> None:
    (insight,) = found(FIXTURES / "busy_wait.jsonl")
    assert insight.kind == "busy-wait"
    assert insight.site == "/tmp/fsx/busy_wait.py:8"
    assert insight.title == "time.sleep busy-waited 4 times at /tmp/fsx/busy_wait.py:8, blocking the event loop"
    assert insight.at_stake_us == pytest.approx(4 * 50_000)  # four time.sleep(0.05), as the error texts say
    assert insight.evidence[0] == "4 time.sleep calls could not stack switch and busy-waited, 200.0 ms blocked in total"
    assert "4 callback entries (save_draft, not promising: synchronous)" in insight.evidence[1]
    (problem,) = diagnose_trace(read_trace(FIXTURES / "busy_wait.jsonl"))
    assert problem.class_id == "busy-wait-sleep" and insight.suggestion == problem.fix
    assert "callPromising" in insight.suggestion and "await asyncio.sleep(t)" in insight.suggestion
    assert "give no duration" not in insight.estimate


def test_a_busy_wait_whose_duration_the_trace_lacks_is_timed_to_its_entry_end(tmp_path: Path) -> None:
    text = (FIXTURES / "busy_wait.jsonl").read_text()
    trace = tmp_path / "no_duration.jsonl"
    trace.write_text(text.replace('"error":"time.sleep(0.05) busy-waited', '"error":"time.sleep busy-waited'))
    (insight,) = found(trace)
    # each failed switch to its entry's end (read from the fixture): 63.8 + 50.6 + 50.8 + 50.8 ms
    assert insight.at_stake_us == pytest.approx(63_830.0 + 50_632.8 + 50_818.3 + 50_768.1, abs=1)
    assert "4 of them give no duration: the time from the sleep to the end of its entry" in insight.estimate


def test_failed_switches_are_a_finding_per_site_and_class_with_their_entries_time_at_stake() -> None:
    found_here = found(FIXTURES / "failed_switch.jsonl")
    assert [insight.kind for insight in found_here] == ["failed-switches", "cpu-hot-spot"]  # by time at stake
    insight = found_here[0]
    assert insight.title == "5 failed stack switches (reentrant-sync-callback) at /tmp/fsx/failed_switch.py:13"
    trace = tables(read_trace(FIXTURES / "failed_switch.jsonl"))
    callbacks = trace.arrays.entries["kind"] == "callback"
    assert insight.at_stake_us == pytest.approx(trace.arrays.entries["duration_us"][callbacks].sum())
    assert insight.evidence[0].startswith("5 failed stack switches (run_sync; reason sync-entry) in 5 callback entries")
    (problem,) = diagnose_trace(read_trace(FIXTURES / "failed_switch.jsonl"))
    assert problem.class_id == "reentrant-sync-callback" and insight.suggestion == problem.fix


@pytest.mark.parametrize("name", ["batches", "recursion", "polling", "tick_loop", "flat"])
def test_no_failure_insight_where_every_switch_worked(name: str) -> None:
    kinds = {insight.kind for insight in found(CPU_FIXTURES / f"{name}.jsonl")}
    assert not kinds & {"busy-wait", "failed-switches"}


def test_a_busy_wait_is_no_failed_switch_insight_and_no_polling() -> None:
    kinds = [insight.kind for insight in found(FIXTURES / "busy_wait.jsonl")]
    assert kinds == ["busy-wait"]
