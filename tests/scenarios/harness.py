"""Runs the misuse scenarios as users run them and returns what their console or log printed.

- Node scripts (`node/*.mjs`) import `pyodide` by package name: each runs in a folder whose `node_modules`
  links to the runtime cache's npm folder, with `node SCRIPT`; the text is stdout + stderr.
- Browser pages (`browser/*.html`) load `pyodide/pyodide.js` from a server on 127.0.0.1 in headless Debian
  Chromium; the text is what DevTools would print: "Uncaught " + the error's stack for uncaught errors and
  rejections, and console.log/error arguments (an injected listener collects them; the pages stay as written).

`expected_location(path, base)` reads the `<- location` marker of a scenario: a `// <- location` JS line is
`BASE/NAME:LINE`; a `# <- location` line in a Python template literal is `<exec>:LINE` counted in that code.
Run this file (`python tests/scenarios/harness.py`) to recapture `tests/fixtures/diagnose/`.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "diagnose"
SYSTEM_NODE = Path("/usr/bin/node")  # Node 20: no standard JSPI
_CAPTURE_CONSOLE = """
window.__console = [];
const describe = (value) => (value && value.stack ? String(value.stack) : String(value));
window.addEventListener("error", (event) =>
  window.__console.push("Uncaught " + (event.error ? describe(event.error) : event.message)));
window.addEventListener("unhandledrejection", (event) =>
  window.__console.push("Uncaught (in promise) " + describe(event.reason)));
for (const level of ["log", "warn", "error"]) {
  const original = console[level];
  console[level] = (...args) => { window.__console.push(args.map(describe).join(" ")); original.apply(console, args); };
}
"""


def expected_location(path: Path, base: str) -> str:
    """The location a diagnosis must name for the scenario at `path` (JS files are at `base/NAME`)."""
    lines = path.read_text().splitlines()
    marker = next(number for number, line in enumerate(lines, 1) if "<- location" in line)
    if "// <- location" in lines[marker - 1]:
        return f"{base}/{path.name}:{marker}"
    opening = next(number for number in range(marker - 1, 0, -1) if "`" in lines[number - 1])
    return f"<exec>:{marker - opening + 1}"


def node_workdir(folder: Path, npm_folder: Path) -> Path:
    """A folder where `import ... from "pyodide"` resolves to the runtime cache's Pyodide."""
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "node_modules"
    if not link.exists():
        link.symlink_to(npm_folder / "node_modules")
    return folder


def hooked(script: Path, js_dir: Path, options: str = "{ trace: process.env.JSPIPROF_TRACE }") -> str:
    """The scenario's source with loadPyodide wrapped by jspiprof's hook, as a user wires it (same line numbers)."""
    source = script.read_text()
    original = 'import { loadPyodide } from "pyodide";'
    assert original in source, f"{script.name} does not import loadPyodide from pyodide"
    wired = (
        'import { loadPyodide as loadPyodideOriginal } from "pyodide"; '
        f'import {{ wrapLoadPyodide }} from "{(js_dir / "hook.mjs").as_uri()}"; '
        f"const loadPyodide = wrapLoadPyodide(loadPyodideOriginal, {options});"
    )
    return source.replace(original, wired, 1)


def run_node(
    script: Path, node: Path, workdir: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> tuple[int, str]:
    """Copy `script` into `workdir` and run it with `node`; the exit status and stdout + stderr as printed."""
    target = workdir / script.name
    if script.resolve() != target.resolve():
        shutil.copyfile(script, target)
    log = workdir / f"{script.stem}.log"
    with log.open("w") as output:  # a file, not a pipe: Node exits before flushing a 1.2 MB write to a pipe
        done = subprocess.run(
            [str(node), target.name],
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
    return done.returncode, log.read_text()


@dataclass
class Browser:
    """Headless Debian Chromium driven by selenium, with the pages' folder served on 127.0.0.1."""

    driver: object
    base: str
    folder: Path

    def run_script(self, script: str) -> object:
        """Run JS in the page and return its value."""
        return self.driver.execute_script(script)  # type: ignore[attr-defined]

    def open(self, page: str, click: str | None = None, settle: float = 1.5) -> str:
        """Load `page`, wait for its title to become "ready", click the element with id `click`; the console text."""
        driver = self.driver
        driver.get(f"{self.base}/{page}")  # type: ignore[attr-defined]
        deadline = time.monotonic() + 60
        while driver.title != "ready" and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        if click is not None:
            driver.find_element("id", click).click()  # type: ignore[attr-defined]
        time.sleep(settle)
        return "\n".join(driver.execute_script("return window.__console"))  # type: ignore[attr-defined]

    @property
    def user_agent(self) -> str:
        return self.driver.execute_script("return navigator.userAgent")  # type: ignore[attr-defined]


@contextmanager
def browser(pyodide_dir: Path, folder: Path) -> Iterator[Browser]:
    """Serve the browser scenarios (with `pyodide/` linked in `folder`) and drive headless Chromium on them."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    folder.mkdir(parents=True, exist_ok=True)
    for page in (HERE / "browser").glob("*.html"):
        shutil.copyfile(page, folder / page.name)
    if not (folder / "pyodide").exists():
        (folder / "pyodide").symlink_to(pyodide_dir)
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _CAPTURE_CONSOLE})
        yield Browser(driver, f"http://127.0.0.1:{server.server_address[1]}", folder)
    finally:
        driver.quit()
        server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass


def _trim(text: str) -> str:
    """Node echoes the whole minified source line of pyodide.asm.mjs (1.2 MB) above an uncaught error: shorten it."""
    return (
        "\n".join(
            line if len(line) <= 2000 else line[:200] + " [... line shortened by the capture ...]"
            for line in text.splitlines()
        )
        + "\n"
    )


def capture_all() -> None:
    """Run every scenario and write its printed text to tests/fixtures/diagnose/ (see README.md there)."""
    sys.path.insert(0, str(HERE.parent.parent))
    from jspiprof.runtime.install import cache_home, install
    from jspiprof.runtime.wheels import download_wheels

    runtime = install(cache_home(), quiet=True)
    npm_folder = runtime.pyodide_dir.parent.parent
    workdir = node_workdir(Path("/tmp/jspiprof-scenarios/node"), npm_folder)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    wheels = download_wheels(["requests"], cache_home())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(HERE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"WHEELS": ",".join(map(str, wheels)), "URL": f"http://127.0.0.1:{server.server_address[1]}/harness.py"}
    for script in sorted((HERE / "node").glob(os.environ.get("ONLY", "*") + ".mjs")):
        node = SYSTEM_NODE if script.name.startswith("no_jspi") else runtime.node
        _, text = run_node(script, node, workdir, env)
        (FIXTURES / f"node-{script.stem}.txt").write_text(_trim(text))
        print("captured", script.name, file=sys.stderr)
    server.shutdown()
    clicks = {"click_listener.html": "save", "pyproxy_call.html": "save"}
    with browser(runtime.pyodide_dir, Path("/tmp/jspiprof-scenarios/browser")) as chromium:
        for page in sorted((HERE / "browser").glob(os.environ.get("ONLY", "*") + ".html")):
            text = chromium.open(page.name, clicks.get(page.name))
            (FIXTURES / f"chromium-{page.stem}.txt").write_text(_trim(text))
            print("captured", page.name, file=sys.stderr)


if __name__ == "__main__":
    capture_all()
