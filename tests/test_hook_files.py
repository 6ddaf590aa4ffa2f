"""The hook as one file (`jspiprof hook -o DIR`) in real headless Chromium and Firefox: a page that serves only
Pyodide, the one file and itself records its Python, as an ES module import or a classic script; its live export
reads as a snapshot, and the app's errors show neither jspiprof's frames nor a console location in jspiprof."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from chromium_pages import chromium
from click.testing import CliRunner
from hook_pages import QuietHandler, firefox_pages
from selenium import webdriver

from jspiprof import cli
from jspiprof.runtime.hook_files import MODULE_FILE, SCRIPT_FILE

APP_BODY = """
  const pyodide = await wrapLoadPyodide(loadPyodide)({ indexURL: "/pyodide/" });
  await pyodide.runPythonAsync("import asyncio\\nfrom pyodide.ffi import run_sync\\nrun_sync(asyncio.sleep(0.01))");
  try {
    pyodide.runPython("import asyncio\\nfrom pyodide.ffi import run_sync\\nrun_sync(asyncio.sleep(0))"); // caught
  } catch (error) {
    window.caught = error.stack;
  }
  window.trace = pyodide.jspiprof.toJSONL();
  addEventListener("error", (event) => {
    window.uncaught = { file: event.filename, stack: event.error.stack };
  });
  addEventListener("unhandledrejection", (event) => {
    window.rejected = event.reason.stack;
  });
  pyodide.runPythonAsync("raise KeyError('rejected')"); // rejected
  setTimeout(() => pyodide.runPython("raise ValueError('not caught by the app')")); // uncaught
"""
APPS = {
    "module": (
        "module.html",
        '<script type="module" src="app.mjs"></script>',
        "app.mjs",
        f'import {{ wrapLoadPyodide }} from "./{MODULE_FILE}";\n'
        'import { loadPyodide } from "./pyodide/pyodide.mjs";\n' + APP_BODY,
    ),
    "classic script": (
        "classic.html",
        f'<script src="pyodide/pyodide.js"></script><script src="{SCRIPT_FILE}"></script>'
        '<script src="app.js"></script>',
        "app.js",
        "const { wrapLoadPyodide } = globalThis.jspiprof;\n(async () => {" + APP_BODY + "})();\n",
    ),
}


def line_of(source: str, marker: str) -> int:
    return next(number for number, line in enumerate(source.splitlines(), 1) if marker in line)


class _Handler(QuietHandler):
    requested: list[str]

    def do_GET(self) -> None:
        self.requested.append(self.path)
        super().do_GET()


@pytest.fixture(scope="module")
def site(jspiprof_runtime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str], Path]]:
    """A site on 127.0.0.1 with Pyodide, the two files `jspiprof hook` writes, and the two apps; what it was asked."""
    folder = tmp_path_factory.mktemp("site")
    done = CliRunner().invoke(cli.main, ["hook", "-o", str(folder)])
    assert done.exit_code == 0, done.output
    (folder / "pyodide").symlink_to(jspiprof_runtime.pyodide_dir)
    for page, tag, app, source in APPS.values():
        (folder / page).write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{tag}</body></html>")
        (folder / app).write_text(source)
    requested: list[str] = []
    handler = type("Handler", (_Handler,), {"requested": requested})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", requested, folder
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        driver.set_script_timeout(120)
        yield driver


READY = "window.uncaught && window.rejected"
"""The app's uncaught error and its rejection have happened."""
SEEN = "({caught: window.caught, trace: window.trace, uncaught: window.uncaught, rejected: window.rejected})"
"""What the app saw: its caught error's stack, its live export, its uncaught error and its rejection's stack."""


def run_app(browser: webdriver.Chrome, url: str) -> dict:
    """Open the app's page and wait until its uncaught error and its rejection have happened."""
    browser.get(url)
    return browser.execute_async_script(
        f"const done = arguments[0];const wait = () => {READY} ? done({SEEN}) : setTimeout(wait, 50);wait();"
    )


def check_app(form: str, seen: dict, requested: list[str], base: str, tmp_path: Path) -> None:
    """The app in `form` recorded itself with nothing of jspiprof but the one file, its live export reads as a
    snapshot, and its errors show no jspiprof frame and point at the app's lines."""
    page, _, app, source = APPS[form]
    served = {path.lstrip("/").split("/")[0] for path in requested}
    hook_file = MODULE_FILE if form == "module" else SCRIPT_FILE
    assert served <= {page, app, hook_file, "pyodide", "favicon.ico"}, "nothing of jspiprof but the one file"

    (tmp_path / "live.jsonl").write_text(seen["trace"])
    stats = CliRunner().invoke(cli.main, ["stats", "--json", str(tmp_path / "live.jsonl")])
    assert stats.exit_code == 0, stats.output
    numbers = json.loads(stats.stdout)
    assert (numbers["snapshot"], numbers["complete"]) == (True, False)
    assert numbers["suspensions"] == 1 and numbers["paths"] == {
        "run_sync": {"count": 1, "wait_ms_total": pytest.approx(numbers["total_wait_ms"])}
    }
    assert numbers["failed_switches"] == 1
    said = CliRunner().invoke(cli.main, ["stats", str(tmp_path / "live.jsonl")]).stdout
    assert "a snapshot taken while running" in said and "crashed" not in said

    app_url = base + app
    for stack in (seen["caught"], seen["uncaught"]["stack"], seen["rejected"]):
        assert hook_file not in stack, stack
    caught_line = line_of(source, "// caught")
    # the first JS frame outside Pyodide (Chromium: "    at f (URL:line:column)", Firefox: "f@URL:line:column")
    first_of_app = next(line for line in seen["caught"].splitlines() if "http://" in line and "/pyodide/" not in line)
    assert f"{app_url}:{caught_line}:" in first_of_app, seen["caught"]
    uncaught_line = line_of(source, "// uncaught")
    assert f"{app_url}:{uncaught_line}:" in seen["uncaught"]["stack"]
    assert "/pyodide/" in seen["uncaught"]["file"], "the console points where the error came from, not at jspiprof"


@pytest.mark.parametrize("form", APPS)
def test_a_page_records_itself_with_the_one_file_hook(form: str, site, browser, tmp_path: Path) -> None:
    base, requested, _ = site
    requested.clear()
    check_app(form, run_app(browser, base + APPS[form][0]), requested, base, tmp_path)


def test_a_page_records_itself_with_the_one_file_hook_in_firefox(jspiprof_runtime, site, tmp_path: Path) -> None:
    base, requested, _ = site
    with firefox_pages(jspiprof_runtime) as open_page:
        for form in APPS:
            requested.clear()
            check_app(form, open_page(base + APPS[form][0], READY, SEEN), requested, base, tmp_path)
