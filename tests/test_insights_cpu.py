"""Insights on traces recorded from real runs (`tests/fixtures/cpu/*.py` under `jspiprof run`, sampling at 1 ms):
each must fire where its pattern is and stay silent where it is not."""

from __future__ import annotations

import re
from pathlib import Path

from jspiprof.analysis.insights import insights
from jspiprof.analysis.tables import tables
from jspiprof.trace import read_trace

FIXTURES = Path(__file__).parent / "fixtures" / "cpu"


def kinds_and_titles(name: str) -> list[tuple[str, str]]:
    return [(insight.kind, insight.title) for insight in insights(tables(read_trace(FIXTURES / f"{name}.jsonl")))]


def test_cpu_batches_with_pauses_between_them_are_a_hot_spot_not_polling() -> None:
    found = kinds_and_titles("batches")
    assert [kind for kind, _ in found] == ["cpu-hot-spot"]
    # crunch is called from render_rows only: the finding names the function the user reads, then where it spends
    assert re.fullmatch(r"CPU hot spot: render_rows: \d+% of Python time, 100% of it in crunch at line 7", found[0][1])


def test_a_recursion_that_sleeps_at_each_level_is_not_polling() -> None:
    assert kinds_and_titles("recursion") == []


def test_sleeping_until_a_job_is_done_is_polling_and_no_cpu_hot_spot() -> None:
    assert kinds_and_titles("polling") == [
        ("sleep-polling", "Polling with time.sleep at /tmp/samp/fx/polling.py:11"),
    ]


def test_a_loop_of_tiny_switches_is_a_hot_loop_and_its_event_loop_work_no_cpu_hot_spot() -> None:
    assert [kind for kind, _ in kinds_and_titles("tick_loop")] == ["hot-loop"]


def test_when_python_running_dominates_the_hottest_of_even_functions_is_named() -> None:
    (found,) = kinds_and_titles("flat")  # four functions with identical loops, a quarter of the time each
    assert found[0] == "cpu-hot-spot"
    assert re.fullmatch(
        r"CPU hot spot: (first|second|third|fourth): \d+% of Python time, 100% of it at line \d+", found[1]
    )
