"""Insights fire on traces that show their pattern, with hand-derived figures, and stay silent otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from jspiprof.analysis import insights, tables
from jspiprof.trace import read_trace as load

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"


def found(name: str):
    return insights(tables(load(FIXTURES / f"{name}.jsonl")))


def test_no_insight_on_a_trace_without_any_pattern_but_its_one_failed_switch():
    assert [insight.kind for insight in found("small_app")] == ["failed-switches"]


def test_sequential_requests_in_a_loop():
    (insight,) = found("sequential")
    assert insight.kind == "sequential-waits" and insight.site == "/app/crawler.py:25"
    # 10 pages x (50 ms + 1 ms) = 510 ms waited; run concurrently ~ the longest wait, 50 ms: 460 ms at stake
    assert insight.at_stake_us == pytest.approx(460000)
    assert "20 suspensions" in insight.evidence[0]


def test_hot_loop_of_tiny_switches():
    (insight,) = found("hot_loop")
    assert insight.kind == "hot-loop" and insight.site == "/app/loop.py:8"
    assert insight.at_stake_us == pytest.approx(500 * (30 + 20))  # every switch's wait + resume


def test_time_sleep_polling():
    (insight,) = found("polling")
    assert insight.kind == "sleep-polling" and insight.site == "/app/poller.py:18"
    # 2 polling loops (a 300 ms gap >= the 200 ms interval splits them) x 100 ms + 10 sleeps x 0.1 ms resume
    assert insight.at_stake_us == pytest.approx(2 * 100000 + 10 * 100)
    # the status requests between the first and the last sleep: all 10 but the one before the first sleep
    assert insight.evidence[1] == "alternating with 9 waits at /app/poller.py:15 (the check being polled)"


def test_deep_stacks():
    insights_ = found("deep")
    assert {i.kind for i in insights_} == {"deep-stack"}
    assert {i.site for i in insights_} == {"/app/deep.py:5", "/app/deep.py:7"}
    assert all(i.at_stake_us == pytest.approx(10 * 1000) for i in insights_)  # 10 resumes of 1 ms per site
