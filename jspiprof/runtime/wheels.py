"""Pure-Python wheels from PyPI for the app that runs inside Pyodide (Python 3.14, platform `any`).

Offline Pyodide cannot reach its own package CDN, so `jspiprof run --with PKG` downloads wheels with pip
into the cache once and loads them into Pyodide from local paths.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

from jspiprof.runtime.install import RuntimeProblem

PYODIDE_PYTHON = "3.14"
_COMPLETE_MARKER = ".complete"


def read_requirements(path: Path) -> list[str]:
    """The requirement lines of a requirements file, without comments, blank lines and pip options."""
    try:
        text = path.read_text()
    except OSError as error:
        raise RuntimeProblem(f"Cannot read the requirements file {path}: {error.strerror}.") from error
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def _no_pure_wheel(pip_output: str) -> str | None:
    """The requirement pip found no pure-Python wheel for, if that is why it failed."""
    match = re.search(r"No matching distribution found for ([^\s]+)", pip_output)
    return match[1] if match else None


def download_wheels(requirements: list[str], home: Path) -> list[Path]:
    """Download the wheels for `requirements` and their dependencies into the cache; return their paths.

    A set of requirements already downloaded is reused without asking PyPI again.
    """
    if not requirements:
        return []
    key = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:16]
    folder = home / "wheels" / key
    if not (folder / _COMPLETE_MARKER).is_file():
        folder.mkdir(parents=True, exist_ok=True)
        print(
            f"jspiprof: downloading wheels for {', '.join(requirements)} (Python {PYODIDE_PYTHON}, pure Python)...",
            file=sys.stderr,
            flush=True,
        )
        command = [
            sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--progress-bar", "on",
            "--only-binary=:all:", "--python-version", PYODIDE_PYTHON, "--platform", "any",
            "--implementation", "py", "--abi", "none", "--dest", str(folder), *requirements,
        ]  # fmt: skip
        done = subprocess.run(command, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            missing = _no_pure_wheel(done.stderr)
            if missing:
                raise RuntimeProblem(
                    f"{missing} has no pure-Python wheel on PyPI for Python {PYODIDE_PYTHON}, "
                    "so it cannot be loaded into Pyodide offline."
                )
            last = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "unknown error")
            raise RuntimeProblem(f"pip could not download wheels for {', '.join(requirements)} ({last.strip()}).")
        (folder / _COMPLETE_MARKER).write_text("\n".join(requirements) + "\n")
    return sorted(folder.glob("*.whl"))
