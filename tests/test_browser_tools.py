"""`jspiprof setup --browser`: npm's puppeteer-core and esbuild at their pinned versions in the cache."""

from __future__ import annotations

import json
from pathlib import Path

from jspiprof.runtime.browser_tools import BROWSER_TOOLS, browser_tools_folder, missing_browser_tools
from jspiprof.runtime.install import cache_home


def test_an_empty_cache_lacks_both_tools(tmp_path: Path) -> None:
    assert missing_browser_tools(tmp_path) == [f"{name}@{version}" for name, version in BROWSER_TOOLS.items()]


def test_a_tool_at_another_version_is_installed_again(tmp_path: Path) -> None:
    for name, version in BROWSER_TOOLS.items():
        package = browser_tools_folder(tmp_path) / "node_modules" / name
        package.mkdir(parents=True)
        other = "1.0.0" if name == "esbuild" else version
        (package / "package.json").write_text(json.dumps({"name": name, "version": other}))
    assert missing_browser_tools(tmp_path) == [f"esbuild@{BROWSER_TOOLS['esbuild']}"]


def test_setup_installs_them_once_and_then_does_nothing(run_cli) -> None:
    done = run_cli("setup", "--browser")
    assert done.returncode == 0, done.stderr
    assert missing_browser_tools(cache_home()) == []
    again = run_cli("setup", "--browser")
    assert "installing puppeteer-core" not in again.stderr
    assert "puppeteer-core and esbuild ready" in again.stderr
