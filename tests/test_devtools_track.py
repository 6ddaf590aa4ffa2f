"""The hook's `devtools: true` in headless Chromium: a page served from 127.0.0.1 records through the hook while
Chromium records a performance trace (chromedriver's performance log over CDP, the trace DevTools' Performance panel
reads), and the trace holds the "Python (jspiprof)" track group: entries, suspensions and failed switches, lined up
with the Network panel's requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hook_pages import chromium_options, driven_chromium, open_page, served_hook_page
from selenium import webdriver

GROUP = "Python (jspiprof)"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>jspiprof devtools</title>
<script src="/pyodide/pyodide.js"></script>
<script type="module">
import { wrapLoadPyodide } from "/js/hook.mjs";
window.runPage = async (devtools, filename) => {
  const pyodide = await wrapLoadPyodide(undefined, { devtools })({ indexURL: "/pyodide/" });
  await pyodide.runPythonAsync(`
from pyodide.ffi import run_sync
from pyodide.http import pyfetch
async def get():
    response = await pyfetch("/data.json")
    return await response.json()
run_sync(get())
`, { filename });
  try {
    pyodide.runPython("from pyodide.ffi import run_sync\\nimport asyncio\\nrun_sync(asyncio.sleep(0))", {
      filename: "sync_" + filename,
    });
  } catch (error) {}
  return pyodide.jspiprof.toJSONL();
};
window.pageReady = true;
</script></head><body></body></html>
"""


@pytest.fixture
def page_url(jspiprof_runtime, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "data.json").write_text('{"ok": 1}')
    with served_hook_page(tmp_path, jspiprof_runtime.pyodide_dir, PAGE) as url:
        yield url


@pytest.fixture
def traced_chromium() -> Iterator[webdriver.Chrome]:
    """Headless Chromium recording a performance trace of the categories DevTools' Performance panel shows."""
    options = chromium_options()
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    options.add_experimental_option(
        "perfLoggingPrefs",
        {"traceCategories": "devtools.timeline,blink.user_timing", "enableNetwork": False, "enablePage": False},
    )
    with driven_chromium(options) as driver:
        yield driver


def performance_trace(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """The trace events Chromium recorded so far."""
    events = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Tracing.dataCollected":
            events.extend(message["params"].get("value", [message["params"]]))
    return events


def test_entries_suspensions_and_failed_switches_are_a_devtools_track_lined_up_with_the_network(
    traced_chromium, page_url: str
) -> None:
    open_page(traced_chromium, page_url)
    run = "window.runPage(arguments[0], arguments[1]).then(arguments[2], (e) => arguments[2]('ERROR ' + e));"
    recorded = traced_chromium.execute_async_script(run, True, "page.py")
    assert not recorded.startswith("ERROR"), recorded
    quiet = traced_chromium.execute_async_script(run, False, "quiet.py")
    assert not quiet.startswith("ERROR"), quiet
    events = performance_trace(traced_chromium)

    spans = {}
    for event in events:
        data = event.get("args", {}).get("data", {})
        if event.get("name") == "TimeStamp" and data.get("trackGroup") == GROUP:
            spans.setdefault((data["track"], data["message"]), []).append(data)
    assert not [label for _, label in spans if "quiet.py" in label], "devtools is off unless asked for"

    line = next(n for n, text in enumerate(PAGE.splitlines(), 1) if "await pyodide.runPythonAsync(" in text)
    (entry,) = spans["entries", f"runPythonAsync from {page_url}:{line}"]
    (suspension,) = spans["suspensions", "run_sync page.py:7"]
    (failed,) = spans["failed switches", "failed switch: run_sync at sync_page.py:3 (sync-entry)"]
    assert (entry["color"], suspension["color"], failed["color"]) == ("secondary", "primary", "error")
    assert entry["start"] <= suspension["start"] < suspension["end"] <= entry["end"] < failed["start"]
    assert len(spans["entries", "task"]) >= 3, "the webloop's task steps"

    # The suspension waited for the fetch of data.json: the request was sent and finished inside it, on one clock.
    sent = [
        event
        for event in events
        if event.get("name") == "ResourceSendRequest" and event["args"]["data"]["url"].endswith("/data.json")
    ]
    request = min(sent, key=lambda event: event["ts"])["args"]["data"]["requestId"]  # page.py's, before quiet.py's
    network = {
        event["name"]: event["ts"]
        for event in events
        if event.get("name", "").startswith("Resource") and event["args"]["data"].get("requestId") == request
    }
    slack = 200  # µs: a page's clock readings are coarsened to 0.1 ms
    assert suspension["start"] - slack <= network["ResourceSendRequest"] <= network["ResourceFinish"]
    assert network["ResourceFinish"] <= suspension["end"] + slack
