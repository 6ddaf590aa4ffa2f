"""The JS hook in a real browser page: headless Chromium (JSPI on by default) loads pyodide.js and js/hook.mjs
from 127.0.0.1; the trace comes back as JSON Lines text from the in-memory buffer."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hook_pages import chromium_options, driven_chromium, open_page, served_hook_page
from selenium import webdriver

from jspiprof.trace import read_trace

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>jspiprof hook</title>
<script src="/pyodide/pyodide.js"></script>
<script type="module">
import { wrapLoadPyodide } from "/js/hook.mjs";
window.recordInPage = async (bufferSize) => {
  const pyodide = await wrapLoadPyodide(undefined, { bufferSize })({ indexURL: "/pyodide/" });
  await pyodide.runPythonAsync(`
import asyncio, time
from pyodide.ffi import run_sync
async def pause():
    await asyncio.sleep(0.005)
    return 1
run_sync(pause())
time.sleep(0.005)
`, { filename: "page.py" });
  try {
    pyodide.runPython("from pyodide.ffi import run_sync\\nimport asyncio\\nrun_sync(asyncio.sleep(0))", {
      filename: "sync.py",
    });
  } catch (error) {}
  return pyodide.jspiprof.toJSONL();
};
window.sampleInPage = async () => {
  const pyodide = await wrapLoadPyodide(undefined, { sampleIntervalMs: 0.2 })({ indexURL: "/pyodide/" });
  pyodide.runPython(`
def churn(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total
for _ in range(10):
    churn(90000)
    churn(30000)
`, { filename: "cpu.py" });
  return pyodide.jspiprof.toJSONL();
};
window.listenInPage = async () => {
  const pyodide = await wrapLoadPyodide(undefined, {})({ indexURL: "/pyodide/" });
  const button = window.button = document.body.appendChild(document.createElement("button"));
  await pyodide.runPythonAsync(`
import asyncio, js
from pyodide.ffi import create_proxy, run_sync

def on_click(event):
    run_sync(asyncio.sleep(0))

js.button.addEventListener("click", create_proxy(on_click))
js.requestAnimationFrame(create_proxy(on_click))
`, { filename: "listen.py" });
  button.onclick = pyodide.globals.get("on_click");  // page property
  button.click();
  await new Promise((resolve) => setTimeout(resolve, 200));
  return pyodide.jspiprof.toJSONL();
};
window.pageReady = true;
</script></head><body></body></html>
"""


@pytest.fixture
def page_url(jspiprof_runtime, tmp_path: Path) -> Iterator[str]:
    with served_hook_page(tmp_path, jspiprof_runtime.pyodide_dir, PAGE) as url:
        yield url


@pytest.fixture
def chromium() -> Iterator[webdriver.Chrome]:
    with driven_chromium(chromium_options()) as driver:
        yield driver


def record_in_page(chromium: webdriver.Chrome, page_url: str, buffer_size: int) -> str:
    open_page(chromium, page_url)
    script = (
        "const done = arguments[arguments.length - 1]; "
        "window.recordInPage(arguments[0]).then(done, (e) => done('ERROR ' + e));"
    )
    return chromium.execute_async_script(script, buffer_size)


def test_a_browser_page_records_suspensions_and_a_failed_switch(chromium, page_url: str, tmp_path: Path) -> None:
    text = record_in_page(chromium, page_url, 100000)
    assert not text.startswith("ERROR"), text
    (tmp_path / "page.jsonl").write_text(text)
    trace = read_trace(tmp_path / "page.jsonl")
    assert trace.header.runtime.host == "browser" and trace.header.runtime.jspi == "WebAssembly.Suspending"
    assert "Chrome" in trace.header.runtime.host_version
    assert [(s.path, s.site) for s in trace.suspensions] == [("run_sync", "page.py:7"), ("time.sleep", "page.py:8")]
    (failed,) = trace.failed_switches
    assert (failed.site, failed.reason, trace.entries[failed.entry].kind) == ("sync.py:3", "sync-entry", "runPython")
    run_python_line = next(n for n, line in enumerate(PAGE.splitlines(), 1) if "pyodide.runPython(" in line)
    assert trace.entries[failed.entry].caller == page_url.replace("index.html", f"index.html:{run_python_line}")
    assert trace.dropped_count == 0


def test_a_full_browser_buffer_counts_what_it_dropped(chromium, page_url: str, tmp_path: Path) -> None:
    (tmp_path / "page.jsonl").write_text(record_in_page(chromium, page_url, 5))
    trace = read_trace(tmp_path / "page.jsonl")
    assert trace.dropped_count > 0
    kept = len((tmp_path / "page.jsonl").read_text().splitlines())
    assert kept == 1 + 5 + 1 + 1  # header, the first 5 events, the dropped line, the snapshot line
    assert trace.snapshot_us is not None and trace.end is None


def test_a_browser_page_samples_where_python_spends_its_time(chromium, page_url: str, tmp_path: Path) -> None:
    open_page(chromium, page_url)
    text = chromium.execute_async_script("window.sampleInPage().then(arguments[0], (e) => arguments[0]('ERROR ' + e));")
    assert not text.startswith("ERROR"), text
    (tmp_path / "page.jsonl").write_text(text)
    trace = read_trace(tmp_path / "page.jsonl")
    tops = Counter(
        (trace.frames[frames[-1]].function, trace.frames[frames[-1]].line)
        for frames in map(trace.samples.stacks.__getitem__, trace.samples.stack)
    )
    assert sum(tops.values()) > 100
    assert tops.most_common(1)[0][0] == ("churn", 5)
    callers = Counter(
        trace.frames[frames[-2]].line
        for frames in map(trace.samples.stacks.__getitem__, trace.samples.stack)
        if trace.frames[frames[-1]].function == "churn"
    )
    assert abs(callers[8] / (callers[8] + callers[9]) - 0.75) <= 0.05  # churn(90000) at line 8, churn(30000) at 9


def test_a_browser_listener_failure_is_located_where_the_listener_was_registered(
    chromium, page_url: str, tmp_path: Path, run_cli
) -> None:
    open_page(chromium, page_url)
    text = chromium.execute_async_script("window.listenInPage().then(arguments[0], (e) => arguments[0]('ERROR ' + e));")
    assert not text.startswith("ERROR"), text
    (tmp_path / "page.jsonl").write_text(text)
    property_line = next(n for n, line in enumerate(PAGE.splitlines(), 1) if line.endswith("// page property"))
    problems = json.loads(run_cli("diagnose", "--json", str(tmp_path / "page.jsonl")).stdout)
    # One function registered three ways (from Python, from Python, from the page's JS): three problems, each at
    # the line that registered it.
    assert sorted((problem["class"], problem["location"]) for problem in problems) == [
        ("sync-js-callback", page_url.replace("index.html", f"index.html:{property_line}")),
        ("sync-js-callback", "listen.py:8"),
        ("sync-js-callback", "listen.py:9"),
    ]
