"""The HTML report: one offline file whose numbers match the trace and whose charts draw in headless Chromium."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from jspiprof.analysis import insights, tables
from jspiprof.pytest_plugin.environment import CHROME_FLAGS
from jspiprof.render.report import render
from jspiprof.trace import read_trace as load

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"

sys.path.insert(0, str(FIXTURES))
from make_patterns import Writer  # noqa: E402 - the fixture writer, for a trace too big to commit


def report_of(path: Path, out: Path) -> Path:
    t = tables(load(path))
    out.write_text(render(t, insights(t), path.name), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROME_FLAGS + ["--window-size=1400,1000", "--enable-unsafe-swiftshader"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    yield driver
    driver.quit()


def charts_drawn(browser: webdriver.Chrome, path: Path) -> dict:
    browser.get(path.as_uri())
    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('.plotly-graph-div')].every(div => div.querySelector('.main-svg'))"
        )
    )
    return browser.execute_script("""
        const divs = [...document.querySelectorAll('.plotly-graph-div')];
        return {charts: divs.length,
                svg: divs.filter(d => d.querySelector('.main-svg')).length,
                gl: divs.filter(d => d.querySelector('canvas')).length,
                traces: divs.map(d => d.data.length),
                text: document.body.innerText};""")


def errors(browser: webdriver.Chrome) -> list[dict]:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_report_is_one_offline_file_with_plotly_inlined_once(tmp_path: Path):
    html = report_of(FIXTURES / "small_app.jsonl", tmp_path / "report.html").read_text()
    assert html.count("plotly.js v") <= 2 and len(re.findall(r"<script[^>]+src=", html)) == 0  # nothing fetched
    assert html.count("Plotly.newPlot") == 5


@pytest.mark.parametrize("kernel_copy", [True, False], ids=["sendfile", "copied by Python"])
def test_written_report_is_the_rendered_page_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_copy: bool
):
    import jspiprof.render.report

    if not kernel_copy:  # as on macOS, where sendfile takes sockets only
        monkeypatch.setattr(
            jspiprof.render.report.os, "sendfile", lambda *args: (_ for _ in ()).throw(OSError("not a socket"))
        )
    t = tables(load(FIXTURES / "small_app.jsonl"))
    jspiprof.render.report.write(t, insights(t), "small_app", tmp_path / "report.html")
    assert (tmp_path / "report.html").read_bytes() == render(t, insights(t), "small_app").encode()


def test_a_report_reads_the_tables_arrays_and_never_makes_their_dataframes(tmp_path: Path):
    import jspiprof.render.report

    t = tables(load(FIXTURES / "small_app.jsonl"))
    jspiprof.render.report.write(t, insights(t), "small_app", tmp_path / "report.html")
    assert not {"suspensions", "entries", "frames"} & set(vars(t))  # each is made (and kept) when first used
    assert len(t.suspensions) == len(t.arrays.suspensions["id"]) and {"suspensions", "entries", "frames"} - set(
        vars(t)
    ) == {"entries", "frames"}


def test_a_report_that_fails_midway_leaves_no_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import jspiprof.render.report

    def failing(*args: object) -> None:
        raise RuntimeError("a chart failed")

    monkeypatch.setattr(
        jspiprof.render.report.views, "wait_histogram_spec", failing
    )  # after plotly.js is being written
    t = tables(load(FIXTURES / "small_app.jsonl"))
    with pytest.raises(RuntimeError, match="a chart failed"):
        jspiprof.render.report.write(t, insights(t), "small_app", tmp_path / "report.html")
    assert list(tmp_path.iterdir()) == []
    link = tmp_path / "link.html"  # an output the user named through a link (as /dev/stdout is) stays
    link.symlink_to(tmp_path / "target.html")
    with pytest.raises(RuntimeError, match="a chart failed"):
        jspiprof.render.report.write(t, insights(t), "small_app", link)
    assert link.is_symlink()


def test_report_renders_with_its_charts_and_hand_computed_numbers(tmp_path: Path, browser: webdriver.Chrome):
    page = charts_drawn(browser, report_of(FIXTURES / "small_app.jsonl", tmp_path / "report.html"))
    assert page["charts"] == page["svg"] == 5  # flame chart, 2 flame graphs, wait histogram, depth vs wait
    assert page["gl"] >= 2  # the flame chart and depth against wait draw with WebGL
    text = page["text"]
    # summary cards: 4 suspensions, 10+20+30+25 = 85 ms waited, 1 failed switch, 109 ms window,
    # 13.4 ms running (100 ms entry - 86.6 ms suspended), 86.6 ms suspended, 9 ms after the entry returned
    for expected in [
        "suspensions\n4",
        "total wait\n85.0 ms",
        "failed switches\n1",
        "run window\n109.0 ms",
        "running Python\n13.4 ms",
        "suspended\n86.6 ms",
        "other (JS / idle)\n9.0 ms",
    ]:
        assert expected in text
    assert (
        "/home/app/app.py:4\t3\t60.000\t20.000\t20.000\t29.000\t29.800\t30.000" in text
    )  # site row: count, total, mean, p50, p95, p99, max (ms)
    assert "1 failed stack switch (reentrant-sync-callback) at /home/app/app.py:20" in text  # its one insight
    assert "sync-entry" in text and "/home/app/app.py:20" in text  # the failed switch table
    assert "at (ms)" in text and "at_ms" not in text  # its time, under a readable header
    assert errors(browser) == []


def test_report_of_a_trace_without_any_event_still_draws(tmp_path: Path, browser: webdriver.Chrome):
    page = charts_drawn(browser, report_of(FIXTURES / "empty.jsonl", tmp_path / "report.html"))
    assert page["charts"] == page["svg"] == 5 and "suspensions\n0" in page["text"]
    assert errors(browser) == []


def test_report_shows_the_first_20_insights_and_counts_the_rest():
    from jspiprof.analysis import Insight

    t = tables(load(FIXTURES / "small_app.jsonl"))
    found = [
        Insight(
            kind="sleep-polling",
            title=f"Polling number {i}",
            site="/app/x.py:1",
            evidence=["e"],
            at_stake_us=1000.0 * (30 - i),
            estimate="e",
            suggestion="s",
        )
        for i in range(25)
    ]
    html = render(t, found, "many")
    assert (
        html.count('<div class="insight">') == 20 and "Polling number 19<" in html and "Polling number 20<" not in html
    )
    assert "5 more insights, the largest with 10.0 ms at stake" in html  # the 21st: (30 - 20) ms


def test_report_shows_the_insight_of_a_pattern(tmp_path: Path, browser: webdriver.Chrome):
    text = charts_drawn(browser, report_of(FIXTURES / "sequential.jsonl", tmp_path / "report.html"))["text"]
    assert "10 waits one after the other" not in text  # 20 suspensions, not 10
    assert "20 waits one after the other at /app/crawler.py:25" in text and "460.0 ms" in text
    assert errors(browser) == []


def test_text_from_the_trace_cannot_end_the_page_s_scripts(tmp_path: Path, browser: webdriver.Chrome):
    """A function named "</script>..." (the trace's text goes into the charts' JSON) stays text: every chart still
    draws."""
    hostile = "</script><script>document.title='broken'</script>"
    writer = Writer(tmp_path / "hostile.jsonl")
    writer.emit(
        type="entry", id=1, kind="runPythonAsync", promising=True, name=hostile, caller=None, parent=None, start_us=0.0
    )
    end = writer.suspension(
        1, "run_sync", 10.0, 100, 20, [("/app/x.py", 3, "<module>"), (f"/app/{hostile}.py", 7, hostile)]
    )
    writer.emit(type="entry_end", id=1, end_us=end + 10, outcome="return", error=None)
    writer.close(end + 20)
    report = report_of(tmp_path / "hostile.jsonl", tmp_path / "report.html")
    page = charts_drawn(browser, report)
    assert page["charts"] == page["svg"] == 5 and browser.title == "hostile.jsonl"
    assert report.read_text().count("</script>") == 2 + 5  # plotly.js and its settings, then one script per chart
    assert errors(browser) == []


def test_big_trace_report_stays_light_and_draws(tmp_path: Path, browser: webdriver.Chrome):
    """50,000 suspensions: above the level-of-detail limit, the report still draws every chart quickly."""
    writer = Writer(tmp_path / "big.jsonl")
    writer.emit(
        type="entry", id=1, kind="runPythonAsync", promising=True, name=None, caller=None, parent=None, start_us=0.0
    )
    t = 10.0
    for i in range(50_000):
        stack = [("/app/loop.py", 5, "<module>"), ("/app/loop.py", 9 + i % 3, f"work{i % 3}")]
        t = writer.suspension(1, "run_sync", t, 100 + i % 7 * 50, 20, stack) + 30
    writer.emit(type="entry_end", id=1, end_us=t, outcome="return", error=None)
    writer.close(t + 10)
    report = report_of(tmp_path / "big.jsonl", tmp_path / "report.html")
    assert report.stat().st_size < 12_000_000
    page = charts_drawn(browser, report)
    assert page["charts"] == page["svg"] == 5 and "50,000" in page["text"]
    assert errors(browser) == []


def test_flame_chart_hover_shows_each_span_s_frame_count_and_wait(tmp_path: Path, browser: webdriver.Chrome):
    """The hover labels' numbers travel as typed arrays (customdata): plotly.js must read them back span by span."""
    charts_drawn(browser, report_of(FIXTURES / "small_app.jsonl", tmp_path / "report.html"))
    hovers = browser.execute_script("""
        const every3rd = (values) => Array.from(values).filter((_, i) => i % 3 == 0);
        const withData = document.getElementById('chart-1')._fullData.filter(trace => trace.customdata);
        return Object.fromEntries(withData.map(trace => [trace.name, {
            template: trace.hovertemplate,
            name_shown: trace.hoverlabel.namelength,
            text: trace.text ? every3rd(trace.text) : null,
            data: every3rd(trace.customdata).map(row => typeof row == 'number' ? row : Array.from(row)),
        }]));""")
    # <module> is live across all 4 suspensions, fetch across the 3 requests;
    # each request waited 10, 20 and 30 ms, the sleep 25 ms
    assert hovers["your frames"] == {
        "template": "%{text}<br>across %{customdata} suspension(s)",
        "name_shown": 0,
        "text": ["&lt;module&gt; (app.py:10)", "fetch (app.py:4)"],  # shown as <module>: plotly reads its entities
        "data": [4, 3],
    }
    assert hovers["suspension: urllib3"] == {
        "template": "suspended: urllib3<br>%{customdata[0]} suspension(s), wait %{customdata[1]} ms",
        "name_shown": 0,
        "text": None,
        "data": [[1, 10], [1, 20], [1, 30]],
    }
    assert hovers["suspension: time.sleep"]["data"] == [[1, 25]]
    assert errors(browser) == []


def test_flame_chart_draws_frames_by_depth_and_suspensions_below_them():
    from jspiprof.render.views import flame_chart

    figure = flame_chart(tables(load(FIXTURES / "small_app.jsonl")))
    spans = {}
    for trace in figure.data:  # segments are (start, end, gap) triples, in ms since the first entry (1000 µs)
        spans[trace.name] = [
            (float(x0), float(x1), float(y)) for x0, x1, y in zip(trace.x[0::3], trace.x[1::3], trace.y[0::3])
        ]
    assert spans["entries"] == [(0.0, 100.0, 0.0), (94.0, 95.0, 7.0)]  # entry 1's track, then the shared track
    # <module> is live across all 4 suspensions (2000 -> 91000 µs); fetch across the 3 requests (-> 64300 µs)
    assert spans["your frames"] == [(1.0, 90.0, 1.0), (1.0, 63.3, 2.0)]
    assert spans["library frames"] == [(1.0, 63.3, 3.0), (1.0, 63.3, 4.0)]
    # each suspension one row below its innermost frame: start -> start + wait + resume
    assert spans["suspension: urllib3"] == [(1.0, 11.1, 5.0), (12.0, 32.2, 5.0), (33.0, 63.3, 5.0)]
    assert spans["suspension: time.sleep"] == [(64.0, 90.0, 2.0)]


def test_flame_graphs_weigh_stacks_by_wait_and_by_running_time_before_each_switch():
    from jspiprof.render.views import flame_graph

    t = tables(load(FIXTURES / "small_app.jsonl"))
    wait = dict(zip(flame_graph(t, "wait").data[0].labels, flame_graph(t, "wait").data[0].values))
    assert wait["all suspensions"] == 85.0  # ms
    assert wait["&lt;module&gt; (app.py:10)"] == 60.0 and wait["suspended: urllib3"] == 60.0  # 10 + 20 + 30
    assert wait["&lt;module&gt; (app.py:12)"] == 25.0 and wait["suspended: time.sleep"] == 25.0
    running = dict(zip(flame_graph(t, "running").data[0].labels, flame_graph(t, "running").data[0].values))
    # Python ran 2000-1000, 13000-12100, 34000-33200 µs before the 3 requests and 65000-64300 µs before the sleep
    assert running["all running time"] == pytest.approx(3.4)
    assert running["fetch (app.py:4)"] == pytest.approx(1.0 + 0.9 + 0.8)
    assert running["&lt;module&gt; (app.py:12)"] == pytest.approx(0.7)


CPU_FIXTURES = Path(__file__).parent / "fixtures" / "cpu"


def test_every_table_of_a_cpu_bound_report_fits_a_1400_px_page_under_readable_headers(
    tmp_path: Path, browser: webdriver.Chrome
):
    # recorded from a real run of long_paths.py in a deep folder: its sites are long file paths without a space
    charts_drawn(browser, report_of(CPU_FIXTURES / "long_paths.jsonl", tmp_path / "report.html"))
    page = browser.execute_script("""
        return {page: document.documentElement.clientWidth,
                scroll: document.documentElement.scrollWidth,
                tables: [...document.querySelectorAll('table')].map(t => ({
                    right: Math.ceil(t.getBoundingClientRect().right),
                    headers: [...t.querySelectorAll('thead th')].map(th => th.innerText)}))};""")
    assert page["page"] <= 1400  # the window's width, less a scroll bar if any
    assert len(page["tables"]) >= 5  # CPU functions and lines, sites, paths, entry kinds
    assert [table["right"] for table in page["tables"] if table["right"] > page["page"]] == []
    assert page["scroll"] <= page["page"]  # nothing else sticks out either
    headers = {header for table in page["tables"] for header in table["headers"]}
    assert not {header for header in headers if "_" in header}, headers  # words, not column names
    assert {"self (ms)", "total (ms)", "wait total (ms)"} <= headers, headers
