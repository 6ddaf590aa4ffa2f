"""Node scripts that load Pyodide through the jspiprof hook, for tests that drive the hook from JavaScript."""

from __future__ import annotations

import json
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
