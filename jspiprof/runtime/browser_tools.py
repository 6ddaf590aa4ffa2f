"""Finds or installs what `jspiprof record` needs to drive a browser: npm's puppeteer-core and esbuild.

They go into the cache (`cache_home()/browser-tools`), next to the Node and Pyodide of `install.py`. No browser
is downloaded: record drives Debian's `chromium` and `firefox-esr` (`make browser` installs them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jspiprof.runtime.install import RuntimeProblem, js_dir, npm_install

BROWSER_TOOLS = {"puppeteer-core": "25.19.0", "esbuild": "0.28.2"}
"""The npm packages and their pinned versions."""

BROWSERS = {"chromium": Path("/usr/bin/chromium"), "firefox": Path("/usr/bin/firefox-esr")}
"""The browsers record drives, by name: Debian's packages."""

CHROMIUM_FLAGS: list[str] = json.loads((js_dir() / "browser" / "chromium-flags.json").read_text())
"""What Chromium needs to run quietly, offline and as root (`--no-sandbox`), headless or not: the one list that
record's launcher (`js/browser/launch.mjs`) and the pytest plugin's Chromium start it with."""


@dataclass(frozen=True)
class BrowserTools:
    """The cache folder whose `node_modules` holds puppeteer-core and esbuild."""

    folder: Path

    @property
    def node_modules(self) -> Path:
        """The folder Node resolves `puppeteer-core` and `esbuild` from."""
        return self.folder / "node_modules"


def browser_tools_folder(home: Path) -> Path:
    """The npm folder in the cache `home` that holds the browser tools (they may not be installed yet)."""
    return home / "browser-tools"


def _installed_version(node_modules: Path, package: str) -> str | None:
    try:
        return json.loads((node_modules / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def missing_browser_tools(home: Path) -> list[str]:
    """The pinned packages not installed at their version in the cache `home` (none: ready)."""
    node_modules = browser_tools_folder(home) / "node_modules"
    return [
        f"{package}@{version}"
        for package, version in BROWSER_TOOLS.items()
        if _installed_version(node_modules, package) != version
    ]


def install_browser_tools(home: Path) -> BrowserTools:
    """Install puppeteer-core and esbuild into the cache `home` unless they are there; return where they are."""
    folder = browser_tools_folder(home)
    missing = missing_browser_tools(home)
    if missing:
        npm_install(
            folder,
            [f"{package}@{version}" for package, version in BROWSER_TOOLS.items()],
            "puppeteer-core and esbuild (about 45 MB, no browser)",
            environment={"PUPPETEER_SKIP_DOWNLOAD": "1"},
        )
    if missing_browser_tools(home):
        raise RuntimeProblem(
            f"The browser tools in {folder} are incomplete after installing: "
            "delete that folder and run `jspiprof setup --browser` again."
        )
    return BrowserTools(folder)


def browser_executable(browser: str) -> Path:
    """The executable of `browser` ("chromium" or "firefox"); one sentence saying how to install it when missing."""
    executable = BROWSERS[browser]
    if not executable.is_file():
        package = "chromium" if browser == "chromium" else "firefox-esr"
        raise RuntimeProblem(f"{executable} was not found: install Debian's {package} (make browser), then retry.")
    return executable
