"""`jspiprof record URL`: record every Pyodide a page starts, in a real Chromium or Firefox, into one trace."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlparse

import click

from jspiprof.browser import record_page
from jspiprof.cli.common import HOME_OPTION, TRACE_OPTION
from jspiprof.cli.run import check_trace_output, print_trace_summary
from jspiprof.runtime.browser_tools import BROWSERS
from jspiprof.runtime.install import RuntimeProblem, cache_home


@click.command()
@click.argument("url")
@click.option(
    "--browser",
    type=click.Choice(sorted(BROWSERS)),
    default="chromium",
    show_default=True,
    help="Debian's Chromium (driven over CDP) or Firefox ESR (over WebDriver BiDi).",
)
@click.option(
    "--headed",
    is_flag=True,
    help="Show the browser's window (needs a display), with a 'Python (jspiprof)' track in DevTools' Performance "
    "panel; headless otherwise.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop recording after this many seconds (otherwise on Ctrl-C, or when the page or the browser closes).",
)
@TRACE_OPTION
@HOME_OPTION
def record(url: str, browser: str, headed: bool, seconds: float | None, trace_path: Path, home: Path | None) -> None:
    """Open URL in a real browser and record every Pyodide the page starts, on its main thread and in its module
    workers, into one trace, without changing the page.

    \b
    - Requests for pyodide.js / pyodide.mjs (any URL, pages and module workers) are answered with a loader whose
      loadPyodide goes through jspiprof's hook; Pyodide from jsDelivr in this version is served from the cache.
    - Each Pyodide streams its trace to jspiprof on 127.0.0.1 every 100 ms: the trace file is readable at any
      moment, and a page that crashes or closes keeps what it recorded.
    - At the end the trace's summary, report (next to the trace, .html) and findings are printed, as after
      `jspiprof run`.
    """
    if urlparse(url).scheme not in ("http", "https"):
        raise click.UsageError(
            f"Give an http:// or https:// URL, not {url!r} (serve the page, e.g. python -m http.server)."
        )
    check_trace_output(trace_path, [], None)
    click.echo(f"jspiprof: recording {url} in {browser} (Ctrl-C to stop)...", err=True)
    try:
        # Someone clicking around in a headed browser may open DevTools: draw the switches there too.
        recorded = record_page(
            url,
            trace_path,
            browser=browser,
            headed=headed,
            seconds=seconds,
            home=cache_home(home),
            hook_options={"devtools": headed},
        )
    except RuntimeProblem as problem:
        raise click.ClickException(str(problem)) from None
    instances = "1 Pyodide instance" if recorded.instances == 1 else f"{recorded.instances} Pyodide instances"
    click.echo(f"jspiprof: recording ended ({recorded.reason}): {instances} recorded.", err=True)
    if recorded.trace is None:
        click.echo("jspiprof: no Pyodide started in the page, so there is no trace.", err=True)
        sys.exit(1)
    print_trace_summary(recorded.trace)
