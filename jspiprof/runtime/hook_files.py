"""The hook as one file, for a page that records itself: an ES module to import, and a classic script that defines
`globalThis.jspiprof`. Each holds the whole hook (`js/hook.mjs` and what it imports, bundled by npm's esbuild from the
cache) and the Python files of the probe, so a page serves nothing else of jspiprof.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from jspiprof.runtime.browser_tools import install_browser_tools
from jspiprof.runtime.install import RuntimeProblem, js_dir

MODULE_FILE = "jspiprof-hook.mjs"
"""The ES module: `import { wrapLoadPyodide } from "./jspiprof-hook.mjs"`."""
SCRIPT_FILE = "jspiprof-hook.js"
"""The classic script: `<script src="jspiprof-hook.js">` defines `globalThis.jspiprof.wrapLoadPyodide`."""
GLOBAL_NAME = "jspiprof"

_ENTRY = """import {{ embed }} from "./one-file.mjs";
embed({files}, {url});
export {{ wrapLoadPyodide }} from "./hook.mjs";
"""
_OWN_URL = {
    "esm": "import.meta.url",
    # read while the script runs (a classic script can); else its name, which its frames' URLs end with
    "iife": f'document.currentScript?.src || "{SCRIPT_FILE}"',
}


@dataclass(frozen=True)
class HookFiles:
    """The two files written: the ES module and the classic script."""

    module: Path
    script: Path


def python_files() -> dict[str, str]:
    """The Python files the hook installs into Pyodide, by path in the `jspiprof` package: `__init__.py` and the
    whole `in_pyodide/` folder."""
    package = Path(__file__).resolve().parents[1]
    names = [package / "__init__.py", *sorted((package / "in_pyodide").rglob("*.py"))]
    return {path.relative_to(package).as_posix(): path.read_text(encoding="utf-8") for path in names}


def write_hook_files(folder: Path, home: Path) -> HookFiles:
    """Write `jspiprof-hook.mjs` and `jspiprof-hook.js` into `folder` (made if missing), installing esbuild into the
    cache `home` first if it is not there."""
    esbuild = install_browser_tools(home).node_modules / "esbuild" / "bin" / "esbuild"
    folder.mkdir(parents=True, exist_ok=True)
    files = json.dumps(python_files(), ensure_ascii=False)
    written = []
    for output, format in ((folder / MODULE_FILE, "esm"), (folder / SCRIPT_FILE, "iife")):
        command = [
            str(esbuild),
            "--bundle",
            f"--format={format}",
            "--platform=browser",
            "--target=es2022",
            "--external:node:*",  # Node's modules, which the hook imports only under Node
            "--log-level=error",
            "--log-override:empty-import-meta=silent",  # the classic script never reads import.meta
            f"--sourcefile={output.name}",
            f"--outfile={output}",
        ]
        if format == "iife":
            command.append(f"--global-name={GLOBAL_NAME}")
        entry = _ENTRY.format(files=files, url=_OWN_URL[format])
        done = subprocess.run(command, input=entry, text=True, capture_output=True, cwd=js_dir())
        if done.returncode != 0:
            raise RuntimeProblem(f"esbuild could not build {output.name}: {done.stderr.strip() or done.returncode}.")
        written.append(output)
    return HookFiles(*written)
