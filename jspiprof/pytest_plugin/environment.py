"""pytest-pyodide set up for JSPI: a Node with JSPI first on PATH, an offline dist folder, Chromium's flags.

Done only when the session collected pytest-pyodide tests (tests that use its `runtime` fixture).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from jspiprof.runtime.browser_tools import CHROMIUM_FLAGS
from jspiprof.runtime.install import RuntimeProblem, cache_home, install
from jspiprof.runtime.pytest_dist import build_dist

CHROME_FLAGS = ["--headless", *CHROMIUM_FLAGS]
"""What headless Chromium needs to run quietly (and as root); added to pytest-pyodide's own flags."""

JSPI_FIXTURES = ("selenium_jspi", "selenium_jspi_worker", "selenium_also_with_jspi")
"""pytest-pyodide fixtures that start Node with `--experimental-wasm-stack-switching`, which Node 26 refuses."""


def selected_runtimes(config: pytest.Config) -> set[str]:
    """The runtimes of `--runtime` (`node,chrome-no-host` -> {"node", "chrome"}; `host` left out)."""
    names = {name.strip().removesuffix("-no-host") for name in str(config.option.runtime).split(",")}
    return names - {"host", ""}


def _dist_dir_given(config: pytest.Config) -> bool:
    """Whether `--dist-dir` names a Pyodide folder (pytest-pyodide's default, ./pyodide, usually does not exist)."""
    return (Path(config.option.dist_dir) / "pyodide.mjs").is_file()


def prepare(config: pytest.Config) -> None:
    """Put the cached Node 26 first on PATH (for `--runtime node`), point `--dist-dir` at the cached dist folder
    unless one was given, and add Chromium's flags (for `--runtime chrome`, which needs chromium and chromedriver)."""
    from pytest_pyodide.config import get_global_config

    runtimes = selected_runtimes(config)
    if "chrome" in runtimes and not (shutil.which("chromium") and shutil.which("chromedriver")):
        raise pytest.UsageError(
            "--runtime chrome needs chromium and chromedriver on PATH (Debian: apt-get install chromium "
            "chromium-driver), or pass --runtime node."
        )
    home = cache_home()
    try:
        runtime = install(home, quiet=True)
        if not _dist_dir_given(config):
            config.option.dist_dir = build_dist(runtime, home)
            pytest.pyodide_dist_dir = config.option.dist_dir  # what run_in_pyodide reads
    except RuntimeProblem as problem:
        raise pytest.UsageError(str(problem)) from None
    path = os.environ.get("PATH", "")
    if "node" in runtimes and not path.startswith(f"{runtime.node.parent}{os.pathsep}"):
        os.environ["PATH"] = f"{runtime.node.parent}{os.pathsep}{path}"
    settings = get_global_config()
    flags = settings.get_flags("chrome")
    settings.set_flags("chrome", flags + [flag for flag in CHROME_FLAGS if flag not in flags])


def refuse_jspi_fixture(item: pytest.Item) -> None:
    """Fail a Node test that uses a `selenium_jspi*` fixture with what to use instead (Node would not start)."""
    used = [name for name in JSPI_FIXTURES if name in getattr(item, "fixturenames", ())]
    callspec = getattr(item, "callspec", None)
    if used and callspec is not None and callspec.params.get("runtime") == "node":
        pytest.fail(
            f"{used[0]} starts Node with --experimental-wasm-stack-switching, which Node 26 refuses; use the "
            "`selenium` fixture: the Node that jspiprof puts first on PATH has JSPI on.",
            pytrace=False,
        )
