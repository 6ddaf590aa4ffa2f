"""The example apps, profiled for real (Pyodide under Node 26, a local server on 127.0.0.1): `jspiprof run`
leaves a trace and a report, prints the top findings, and the insights name what each app does wrong."""

from __future__ import annotations

from pathlib import Path

from jspiprof.analysis import insights, summary, tables
from jspiprof.trace import read_trace

EXAMPLES = Path(__file__).parent.parent / "examples"


def profile(run_cli, tmp_path: Path, example: str, *args: str) -> tuple[str, dict]:
    done = run_cli("run", "--with", "requests", str(EXAMPLES / example), *args, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "report written to jspiprof-trace.html" in done.stderr
    assert (tmp_path / "jspiprof-trace.html").stat().st_size > 1_000_000  # plotly.js inlined
    t = tables(read_trace(tmp_path / "jspiprof-trace.jsonl"))
    return done.stderr, summary(t, insights(t))


def test_crawler_fetching_pages_one_by_one_is_told_to_fetch_them_concurrently(run_cli, tmp_path: Path):
    stderr, result = profile(run_cli, tmp_path, "crawler.py", "12")
    site = f"{EXAMPLES / 'crawler.py'}:44"  # the requests.get line in fetch()
    top = result["sites"][0]
    assert top["site"] == site and top["paths"] == ["urllib3"]
    assert top["count"] >= 13 * 2  # the index + 12 articles, 2-3 suspensions per request
    assert top["wait_ms_total"] >= 12 * 40  # every article is served after 40-69 ms
    (insight,) = result["insights"]
    assert insight["kind"] == "sequential-waits" and insight["site"] == site
    assert insight["at_stake_ms"] >= 11 * 40  # all but the longest wait could overlap
    assert f"jspiprof: finding: {insight['title']}" in stderr


def test_concurrent_crawler_has_nothing_left_to_overlap(run_cli, tmp_path: Path):
    _, result = profile(run_cli, tmp_path, "crawler_concurrent.py", "12")
    gather = next(s for s in result["sites"] if s["site"] == f"{EXAMPLES / 'crawler_concurrent.py'}:32")
    assert gather["count"] == 1 and gather["paths"] == ["asyncio.run"]  # one switch for all 12 articles
    assert result["insights"] == []


def test_job_poller_is_told_it_polls_with_time_sleep(run_cli, tmp_path: Path):
    stderr, result = profile(run_cli, tmp_path, "job_poller.py")
    (insight,) = result["insights"]
    assert insight["kind"] == "sleep-polling" and insight["site"] == f"{EXAMPLES / 'job_poller.py'}:51"
    assert f"{EXAMPLES / 'job_poller.py'}:48" in insight["evidence"][1]  # the status request it alternates with
    assert "finding: Polling with time.sleep" in stderr


def test_asyncio_run_per_lookup_is_told_to_gather(run_cli, tmp_path: Path):
    _, result = profile(run_cli, tmp_path, "exchange_rates.py")
    (insight,) = result["insights"]
    assert insight["kind"] == "sequential-waits" and insight["site"] == f"{EXAMPLES / 'exchange_rates.py'}:34"
    assert "10 suspensions (asyncio.run)" in insight["evidence"][0]
