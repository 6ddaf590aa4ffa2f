"""Checks this machine's runtimes for JSPI: Node on PATH, the cached Node, the Pyodide cache, Chromium.

Each check is one line saying what was found and, when something is wrong, what to install or change.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from jspiprof.runtime.install import (
    NODE_VERSION,
    PYODIDE_VERSION,
    cached_node,
    cached_pyodide,
    missing_pyodide_files,
    probe_node,
    runtime_folder,
)

CHROME_JSPI_MAJOR = 137


@dataclass(frozen=True)
class Check:
    """One finding: `status` is "ok", "warn" (works, but worth changing) or "missing" (jspiprof needs it)."""

    name: str
    status: str
    detail: str

    def render(self) -> str:
        return f"{self.status:<7} {self.name}: {self.detail}"


def _node_version(node: Path) -> str | None:
    try:
        done = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def node_advice(version: str) -> str:
    """What to do for a Node without JSPI, by its version."""
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    if (major, minor) >= (24, 20):
        return "its JSPI is off: remove any --no-experimental-wasm-jspi or NODE_OPTIONS that turn it off"
    if major == 24:
        return "start it with --experimental-wasm-jspi, or upgrade to Node 24.20+ or 26 (JSPI on by default)"
    return "it has no standard JSPI: install Node 24.20+ or 26 (or use `jspiprof run`, which uses the cached Node 26)"


def check_node(name: str, node: Path | None, needed: bool) -> Check:
    """A Node binary: its version and whether it runs JSPI with no flag, with --experimental-wasm-jspi, or not at
    all."""
    absent = "missing" if needed else "warn"
    if node is None or not node.is_file():
        fix = "run `jspiprof setup`" if needed else "install Node 24.20+ or 26 if you run Pyodide with node yourself"
        return Check(name, absent, f"not found: {fix}")
    version = _node_version(node)
    if version is None:
        return Check(name, absent, f"{node} does not start: reinstall it" + (" (`jspiprof setup`)" if needed else ""))
    probed = probe_node(node)
    if probed is None:
        return Check(name, absent, f"{node} is Node {version} without JSPI: {node_advice(version)}")
    flags = probed[1]
    if flags:
        return Check(
            name,
            "warn",
            f"{node} is Node {version}: JSPI only with {' '.join(flags)} (pass it, or upgrade to 24.20+/26)",
        )
    refuses = (
        " (it refuses --experimental-wasm-jspi: pass no flag)" if int(version.lstrip("v").split(".")[0]) >= 26 else ""
    )
    return Check(name, "ok", f"{node} is Node {version} with JSPI on by default{refuses}")


def check_pyodide(home: Path) -> Check:
    """The cached Pyodide npm package is complete."""
    folder = cached_pyodide(home)
    missing = missing_pyodide_files(folder)
    if missing:
        return Check(
            "Pyodide cache",
            "missing",
            f"{folder} lacks {', '.join(missing)}: delete {runtime_folder(home)} and run `jspiprof setup`",
        )
    return Check("Pyodide cache", "ok", f"Pyodide {PYODIDE_VERSION} complete in {folder}")


def _version_of(program: str) -> tuple[str | None, int | None]:
    try:
        done = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    match = re.search(r"(\d+)\.\d+\.\d+\.\d+", done.stdout)
    return (done.stdout.strip(), int(match[1])) if match else (done.stdout.strip() or None, None)


def check_chromium() -> list[Check]:
    """Debian chromium (JSPI from 137 on) and a chromedriver of the same major version, for browser tests."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    checks: list[Check] = []
    browser_major: int | None = None
    if browser is None:
        checks.append(
            Check(
                "Chromium",
                "warn",
                "not found: install it for browser runs and tests (Debian: apt-get install chromium)",
            )
        )
    else:
        text, browser_major = _version_of(browser)
        if browser_major is None:
            checks.append(Check("Chromium", "warn", f"{browser} did not report its version ({text}): reinstall it"))
        elif browser_major < CHROME_JSPI_MAJOR:
            checks.append(Check("Chromium", "warn", f"{browser} is {text}: JSPI needs {CHROME_JSPI_MAJOR}+, update it"))
        else:
            checks.append(Check("Chromium", "ok", f"{browser} is {text} (JSPI on by default)"))
    if driver is None:
        checks.append(
            Check(
                "chromedriver",
                "warn",
                "not found: install it to drive Chromium in tests (Debian: apt-get install chromium-driver)",
            )
        )
    else:
        text, driver_major = _version_of(driver)
        if browser_major is not None and driver_major is not None and driver_major != browser_major:
            checks.append(
                Check(
                    "chromedriver",
                    "warn",
                    f"{driver} is {text}, but Chromium is {browser_major}: install the matching chromium-driver",
                )
            )
        else:
            checks.append(Check("chromedriver", "ok", f"{driver} is {text}"))
    return checks


def run_checks(home: Path) -> list[Check]:
    """Every check, in the order they are printed."""
    on_path = shutil.which("node")
    return [
        check_node("node on PATH", Path(on_path) if on_path else None, needed=False),
        check_node(f"cached Node {NODE_VERSION}", cached_node(home), needed=True),
        check_pyodide(home),
        *check_chromium(),
    ]
