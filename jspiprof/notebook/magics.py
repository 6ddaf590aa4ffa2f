"""IPython magics for a host Jupyter kernel (`%load_ext jspiprof`):

- `%jspiprof_report TRACE`: the trace's headline numbers and findings, flame chart and flame graph, inline;
- `%%jspiprof [RUN OPTIONS]`: runs the cell's code under `jspiprof run` (real Pyodide under Node 26, its output
  shown as it ends), then shows the report of the trace it recorded.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import Markdown, display

from jspiprof.analysis import insights, summary, tables
from jspiprof.render import console, views
from jspiprof.trace import TraceError, read_trace


def show_report(trace_path: Path) -> None:
    """Display a trace's report in the notebook: summary and findings (as `jspiprof stats`), flame chart and graph."""
    try:
        t = tables(read_trace(trace_path))
    except (OSError, TraceError) as error:
        print(f"jspiprof: cannot read the trace {trace_path}: {error}", file=sys.stderr)
        return
    display(Markdown(f"```\n{console.render(summary(t, insights(t)))}\n```"))
    display(views.flame_chart(t))
    display(views.flame_graph(t, "wait"))


@magics_class
class JspiprofMagics(Magics):
    @line_magic
    def jspiprof_report(self, line: str) -> None:
        """%jspiprof_report TRACE: show a trace's report inline."""
        show_report(Path(line.strip() or "jspiprof-trace.jsonl").expanduser())

    @cell_magic
    def jspiprof(self, line: str, cell: str) -> None:
        """%%jspiprof [jspiprof run options, e.g. --with requests]: run the cell in Pyodide and show its report."""
        with tempfile.TemporaryDirectory(prefix="jspiprof-cell-") as folder:
            script, trace = Path(folder) / "cell.py", Path(folder) / "trace.jsonl"
            script.write_text(cell, encoding="utf-8")
            done = subprocess.run(
                [sys.executable, "-m", "jspiprof", "run", *shlex.split(line), "-o", str(trace), str(script)],
                capture_output=True,
                text=True,
            )
            print(done.stdout, end="")
            if done.returncode != 0:
                print(done.stderr, end="", file=sys.stderr)
            if trace.exists():
                show_report(trace)


def load(ipython: object) -> None:
    """Register the magics with an IPython shell."""
    ipython.register_magics(JspiprofMagics)  # type: ignore[attr-defined]
