"""Node scripts that load Pyodide through the jspiprof hook, for tests that drive the hook from JavaScript."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

HOOK = Path(__file__).parent.parent / "js" / "hook.mjs"


def node_script(runtime, trace: Path, options: str, body: str) -> str:
    """A Node ES module that loads Pyodide through the hook (streaming to `trace`) and runs `body`."""
    return (
        textwrap.dedent(
            f"""\
        import {{ wrapLoadPyodide }} from {json.dumps(HOOK.as_uri())};
        const {{ loadPyodide }} = await import({json.dumps((runtime.pyodide_dir / "pyodide.mjs").as_uri())});
        const pyodide = await wrapLoadPyodide(loadPyodide, {{ trace: {json.dumps(str(trace))}, ...{options} }})({{
          indexURL: {json.dumps(str(runtime.pyodide_dir) + "/")},
        }});
        """
        )
        + body
        + "\npyodide.jspiprof.close(0);\n"
    )


def run_hook_script(runtime, tmp_path: Path, body: str, options: str = "{}") -> tuple[str, Path]:
    """Run `body` in a Node module that loaded Pyodide through the hook; return its stdout and the script path."""
    script = tmp_path / "driver.mjs"
    script.write_text(node_script(runtime, tmp_path / "trace.jsonl", options, body))
    done = subprocess.run([str(runtime.node), str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout, script


def line_in(script: Path, marker: str) -> str:
    """`file-URL:line` of the script line that ends with `// marker`."""
    for number, text in enumerate(script.read_text().splitlines(), start=1):
        if text.rstrip().endswith(f"// {marker}"):
            return f"{script.as_uri()}:{number}"
    raise AssertionError(f"no line marked {marker}")
