"""`jspiprof setup` and `jspiprof run`: install the runtime, run a program inside Pyodide and record it."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import click

from jspiprof.analysis import insights, summary, tables
from jspiprof.cli.common import HOME_OPTION, TRACE_OPTION
from jspiprof.render import console, report
from jspiprof.render.output_file import same_file
from jspiprof.render.terminal import printable
from jspiprof.runtime.browser_runner import run_in_browser
from jspiprof.runtime.browser_tools import BROWSERS, browser_executable, install_browser_tools
from jspiprof.runtime.install import RuntimeProblem, cache_home, ensure_runtime, install
from jspiprof.runtime.pytest_dist import build_dist
from jspiprof.runtime.runner import Program, build_config, run_in_node
from jspiprof.runtime.wheels import download_wheels, read_requirements
from jspiprof.trace import TraceError, read_trace


@click.command()
@HOME_OPTION
@click.option(
    "--pytest",
    "for_pytest",
    is_flag=True,
    help="Also build the --dist-dir that pytest-pyodide needs (Pyodide plus wheels for pytest, tblib, urllib3) "
    "and print its path; the jspiprof pytest plugin uses it when no --dist-dir is given.",
)
@click.option(
    "--browser",
    "for_browser",
    is_flag=True,
    help="Also install npm's puppeteer-core and esbuild, which `jspiprof record` drives browsers with.",
)
def setup(home: Path | None, for_pytest: bool, for_browser: bool) -> None:
    """Install Node (with JSPI) and Pyodide into the cache; does nothing when they are already there."""
    cache = cache_home(home)
    try:
        runtime = install(cache)
        if for_browser:
            tools = install_browser_tools(cache)
            click.echo(f"jspiprof: puppeteer-core and esbuild ready in {tools.folder}", err=True)
        if for_pytest:
            click.echo(build_dist(runtime, cache))
    except RuntimeProblem as problem:
        raise click.ClickException(str(problem)) from None


def _program(script_and_args: tuple[str, ...], code: str | None, module: str | None) -> Program:
    if code is not None and module is not None:
        raise click.UsageError("Give either -c CODE or -m MODULE, not both.")
    if code is not None:
        return Program("code", code, ["-c", *script_and_args])
    if module is not None:
        return Program("module", module, [module, *script_and_args])
    if not script_and_args:
        raise click.UsageError("Give a script to run, or -c CODE, or -m MODULE.")
    script = script_and_args[0]
    if script.startswith("-") and script != "-" and not Path(script).exists():
        raise click.UsageError(
            f"No such option: {script} (see jspiprof run --help; the script's own options go after the script)."
        )
    return Program("script", script, list(script_and_args))


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-c", "code", metavar="CODE", help="Run this Python code instead of a script.")
@click.option("-m", "module", metavar="MODULE", help="Run this module as __main__ (like python -m).")
@click.option(
    "--with",
    "packages",
    metavar="PKG",
    multiple=True,
    help="Load this PyPI package (pure-Python wheel) first; repeatable.",
)
@click.option(
    "-r",
    "--requirements",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Load the packages listed in this requirements file.",
)
@click.option(
    "--node",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Run under this Node (24.20+, 25 or 26) instead of the cached Node 26.",
)
@click.option(
    "--browser",
    type=click.Choice(sorted(BROWSERS)),
    help="Run in this headless browser (Debian's chromium or firefox-esr) instead of Node.",
)
@click.option("--worker", is_flag=True, help="With --browser: run in a module worker, not on the page's main thread.")
@TRACE_OPTION
@click.option("--no-trace", is_flag=True, help="Record nothing: just run the program.")
@click.option(
    "--sample-interval",
    "sample_interval_ms",
    metavar="MS",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Sample the Python stack every MS milliseconds while Python runs (CPU time by function and line).",
)
@click.option("--no-sample", is_flag=True, help="Take no CPU samples (record only switches and entries).")
@HOME_OPTION
@click.argument("script_and_args", nargs=-1, type=click.UNPROCESSED, metavar="[SCRIPT] [ARGS]...")
def run(
    code: str | None,
    module: str | None,
    packages: tuple[str, ...],
    requirements: Path | None,
    node: Path | None,
    browser: str | None,
    worker: bool,
    trace_path: Path,
    no_trace: bool,
    sample_interval_ms: float,
    no_sample: bool,
    home: Path | None,
    script_and_args: tuple[str, ...],
) -> None:
    """Run a Python program inside Pyodide under Node with JSPI, recording its stack switches.

    The program is entered the way `pyodide.runPythonAsync` enters Python, so `run_sync`, `time.sleep`,
    `asyncio.run` and `requests` stack-switch at top level, as in Chrome.

    \b
    - sys.argv is SCRIPT ARGS... as given (['-c', ARGS...] with -c, [MODULE, ARGS...] with -m).
    - The current folder and the script's folder are mounted at their own paths inside Pyodide,
      so the program reads and writes real files; it starts in the current folder.
    - stdout and stderr are streamed live, unbuffered.
    - The exit status is the program's: sys.exit(n) gives n; an uncaught exception prints its
      traceback and gives 1.
    - Ctrl-C or SIGTERM stops Node; no process is left behind.
    - Node and Pyodide are installed into the cache on first use (see `jspiprof setup`).
    - --browser chromium|firefox runs the same program in a headless browser page instead (--worker:
      in a module worker): the current and script folders are copied into the page at their own paths
      (files over 16 MB are left out and named on stderr; .git, node_modules, __pycache__ and virtual
      environments are not copied; the files it wrote there are written back when it ends); input()
      reads end of file; there are no raw sockets (requests works, through the browser's fetch and its CORS rules).
      The trace streams to the host as with `jspiprof record`.
    - While Python runs, its stack is sampled every millisecond (--sample-interval, --no-sample): CPU
      time by function and line, on the same timeline as the switches.
    - Every stack switch, entry and failed switch is streamed to the trace (-o, default
      ./jspiprof-trace.jsonl; docs/trace-format.md); at exit its path and a summary go to stderr.
      A crash or SIGTERM still leaves a readable trace.
    """
    program = _program(script_and_args, code, module)
    if browser is not None and node is not None:
        raise click.UsageError("Give either --browser or --node, not both.")
    if worker and browser is None:
        raise click.UsageError("--worker runs the program in a browser's module worker: give --browser too.")
    if not no_trace:
        check_trace_output(trace_path, [Path(program.target)] if program.mode == "script" else [], requirements)
    cache = cache_home(home)
    try:
        runtime = ensure_runtime(cache, node)
        if browser is not None:
            browser_executable(browser)
        requested = list(packages) + (read_requirements(requirements) if requirements else [])
        wheels = download_wheels(requested, cache)
        config = build_config(program, runtime, wheels, Path.cwd())
    except RuntimeProblem as problem:
        raise click.ClickException(str(problem)) from None
    if not no_trace:
        config.trace = str(trace_path.resolve())
        config.sampleIntervalMs = None if no_sample else sample_interval_ms
    try:
        status = run_in_node(config, runtime) if browser is None else run_in_browser(config, browser, worker, cache)
    except RuntimeProblem as problem:
        raise click.ClickException(str(problem)) from None
    if not no_trace:
        print_trace_summary(trace_path)
    sys.exit(status)


TOP_INSIGHTS = 3
"""The insights printed at the end of a run, largest time at stake first (the report lists them all)."""


def check_trace_output(trace_path: Path, script: list[Path], requirements: Path | None) -> None:
    """Stop with one sentence, before Node starts, when the trace cannot be written where asked, or would replace
    the script or the requirements file."""
    folder = trace_path.absolute().parent
    if not folder.is_dir():
        raise click.ClickException(f"Cannot write the trace to {trace_path}: the folder {folder} does not exist.")
    if not os.access(folder, os.W_OK):
        raise click.ClickException(f"Cannot write the trace to {trace_path}: the folder {folder} is not writable.")
    for source in [*script, *([requirements] if requirements else [])]:
        if same_file(trace_path, source):
            raise click.ClickException(
                f"Refusing to write the trace to {trace_path}: it is {source}, an input of the run; choose another -o."
            )


def print_trace_summary(trace_path: Path) -> None:
    """Tell where the trace is and what it holds, write the report next to it and print the top insights (stderr,
    so the program's stdout stays its own)."""
    if not trace_path.is_file():
        click.echo(f"jspiprof: no trace was written to {trace_path}.", err=True)
        return
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trace = read_trace(trace_path)
    except TraceError as error:
        click.echo(f"jspiprof: trace {trace_path} is unreadable: {printable(str(error))}", err=True)
        return
    for warning in caught:
        click.echo(f"jspiprof: {printable(str(warning.message))}", err=True)
    trace_tables = tables(trace)
    found = insights(trace_tables)
    numbers = summary(trace_tables, found)
    click.echo(f"jspiprof: trace written to {trace_path}", err=True)
    click.echo(console.render_at_exit(numbers), err=True)
    output = trace_path.with_suffix(".html")
    try:
        if same_file(output, trace_path):
            click.echo(f"jspiprof: no report written: {output} is the trace itself.", err=True)
        else:
            report.write(trace_tables, found, trace_path.name, output)
            click.echo(f"jspiprof: report written to {output} (open it in a browser)", err=True)
    except OSError as error:
        click.echo(f"jspiprof: cannot write the report to {output}: {error.strerror or error}.", err=True)
    for insight in numbers["insights"][:TOP_INSIGHTS]:
        at_stake = f"about {insight['at_stake_ms']:,.1f} ms at stake"
        click.echo(f"jspiprof: finding: {printable(insight['title'])} ({at_stake})", err=True)
        click.echo(f"    {printable(insight['suggestion'])}", err=True)
