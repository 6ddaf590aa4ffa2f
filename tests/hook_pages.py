"""Pages on 127.0.0.1 that load Pyodide and jspiprof's hook from this checkout, in headless Chromium driven by
selenium: what the Chromium tests of the hook serve and open."""

from __future__ import annotations

import functools
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from selenium import webdriver

from jspiprof.pytest_plugin.environment import CHROME_FLAGS
from jspiprof.runtime.browser_tools import install_browser_tools
from jspiprof.runtime.install import Runtime, cache_home

REPO = Path(__file__).parent.parent


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves a folder, JavaScript modules and wasm with their types, without logging each request."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def served_hook_page(folder: Path, pyodide_dir: Path, page: str) -> Iterator[str]:
    """The URL of `page` as `index.html` in `folder`, next to Pyodide (`/pyodide/`), the hook (`/js/`) and its Python
    probe (`/jspiprof/`), served while the block runs."""
    (folder / "pyodide").symlink_to(pyodide_dir)
    (folder / "js").symlink_to(REPO / "js")
    (folder / "jspiprof").symlink_to(REPO / "jspiprof")
    (folder / "index.html").write_text(page)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()


def chromium_options() -> webdriver.ChromeOptions:
    """Options for Debian's headless Chromium with the flags the pytest plugin starts it with."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    return options


@contextmanager
def driven_chromium(options: webdriver.ChromeOptions) -> Iterator[webdriver.Chrome]:
    """Chromium started with `options` through Debian's chromedriver, quit when the block ends."""
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService("/usr/bin/chromedriver"))
    driver.set_script_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: webdriver.Chrome, url: str) -> None:
    """Open `url` and wait until its script has set `window.pageReady`."""
    driver.get(url)
    driver.execute_async_script(
        "const done = arguments[0]; const wait = () => window.pageReady ? done() : setTimeout(wait, 20); wait();"
    )


@contextmanager
def firefox_pages(runtime: Runtime) -> Iterator[Callable[[str, str, str], Any]]:
    """One headless Firefox ESR (puppeteer-core over WebDriver BiDi, launched as `jspiprof record --browser firefox`
    launches it) for the block; `open_page(url, ready, value)` opens `url`, waits until the JS expression `ready` is
    true in the page and gives what the JS expression `value` is then."""
    tools = install_browser_tools(cache_home())
    command = [str(runtime.node), str(REPO / "tests" / "firefox_pages.mjs"), str(tools.node_modules)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as driver:
        assert driver.stdin is not None and driver.stdout is not None

        def open_page(url: str, ready: str, value: str) -> Any:
            driver.stdin.write(json.dumps({"url": url, "ready": ready, "value": value}) + "\n")
            driver.stdin.flush()
            line = driver.stdout.readline()
            assert line, "the Firefox driver ended (its error is above)"
            return json.loads(line)

        try:
            yield open_page
        finally:
            driver.stdin.close()
            driver.wait(timeout=60)
