"""The `jspiprof` command line: thin click commands over the library; errors are one sentence, never a traceback."""

from __future__ import annotations

import gc
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import click

from jspiprof import __version__
from jspiprof.analysis import Tables, insights, summary, tables
from jspiprof.exporters import chrome, speedscope
from jspiprof.render import console, report
from jspiprof.render.run_summary import format_summary, summarize
from jspiprof.runtime.install import RuntimeProblem, cache_home, ensure_runtime, install
from jspiprof.runtime.runner import Program, build_config, run_in_node
from jspiprof.runtime.wheels import download_wheels, read_requirements
from jspiprof.trace import Trace, TraceError, read_trace

DEFAULT_TRACE = Path("jspiprof-trace.jsonl")

_HOME_OPTION = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="JSPIPROF_HOME",
    help="Cache folder for Node, Pyodide and wheels [env: JSPIPROF_HOME; default: ~/.cache/jspiprof].",
)


@click.group()
@click.version_option(__version__, prog_name="jspiprof")
def main() -> None:
    """Profile and debug JSPI stack switching in Pyodide."""


@main.command()
@_HOME_OPTION
def setup(home: Path | None) -> None:
    """Install Node (with JSPI) and Pyodide into the cache; does nothing when they are already there."""
    try:
        install(cache_home(home))
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


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
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
    "-o",
    "--trace",
    "trace_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_TRACE,
    show_default=True,
    help="Record the stack switches into this trace file (overwritten).",
)
@click.option("--no-trace", is_flag=True, help="Record nothing: just run the program.")
@_HOME_OPTION
@click.argument("script_and_args", nargs=-1, type=click.UNPROCESSED, metavar="[SCRIPT] [ARGS]...")
def run(
    code: str | None,
    module: str | None,
    packages: tuple[str, ...],
    requirements: Path | None,
    node: Path | None,
    trace_path: Path,
    no_trace: bool,
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
    - Every stack switch, entry and failed switch is streamed to the trace (-o, default
      ./jspiprof-trace.jsonl; docs/trace-format.md); at exit its path and a summary go to stderr.
      A crash or SIGTERM still leaves a readable trace.
    """
    program = _program(script_and_args, code, module)
    cache = cache_home(home)
    try:
        runtime = ensure_runtime(cache, node)
        requested = list(packages) + (read_requirements(requirements) if requirements else [])
        wheels = download_wheels(requested, cache)
        config = build_config(program, runtime, wheels, Path.cwd())
    except RuntimeProblem as problem:
        raise click.ClickException(str(problem)) from None
    if not no_trace:
        config.trace = str(trace_path.resolve())
    status = run_in_node(config, runtime)
    if not no_trace:
        _print_trace_summary(trace_path)
    sys.exit(status)


def _print_trace_summary(trace_path: Path) -> None:
    """Tell where the trace is and what it holds (stderr, so the program's stdout stays its own)."""
    if not trace_path.is_file():
        click.echo(f"jspiprof: no trace was written to {trace_path} (Node ended before Pyodide was loaded).", err=True)
        return
    try:
        trace = read_trace(trace_path)
    except TraceError as error:
        click.echo(f"jspiprof: trace {trace_path} is unreadable: {error}", err=True)
        return
    click.echo(f"jspiprof: trace written to {trace_path}", err=True)
    click.echo(format_summary(summarize(trace)), err=True)
    _write_run_report(trace, trace_path)


TOP_FINDINGS = 3


def _write_run_report(trace: Trace, trace_path: Path) -> None:
    """Write the HTML report next to the trace and print the top findings (stderr)."""
    t = tables(trace)
    found = insights(t)
    output = trace_path.with_suffix(".html")
    try:
        report.write(t, found, trace_path.name, output)
    except OSError as error:
        click.echo(f"jspiprof: cannot write the report to {output}: {error.strerror or error}.", err=True)
    else:
        click.echo(f"jspiprof: report written to {output} (open it in a browser)", err=True)
    for insight in found[:TOP_FINDINGS]:
        click.echo(
            f"jspiprof: finding: {insight.title} (about {insight.at_stake_us / 1000:,.1f} ms at stake)", err=True
        )
        click.echo(f"    {insight.suggestion}", err=True)


PROGRESS_BYTES = 10_000_000
"""Traces at least this big (a tenth of a second of reading, or more) show progress bars on stderr as they are read and
their outputs written; smaller ones are done before a bar could be read."""


class _NoProgress:
    """Stands for a progress bar where none is shown."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def update(self, steps: int) -> None:
        pass


def _progress(shown: bool, length: int, label: str) -> Any:
    """A click progress bar on stderr of `length` steps, or, when not `shown`, one that shows nothing."""
    return click.progressbar(length=length, label=label, file=sys.stderr) if shown else _NoProgress()


class _ReadingWithProgress:
    """A binary file whose reads advance a progress bar (`advance`, given the bytes read)."""

    def __init__(self, file: BinaryIO, advance: Callable[[int], object]) -> None:
        self.file, self.advance = file, advance

    def read(self, size: int, /) -> bytes:
        data = self.file.read(size)
        self.advance(len(data))
        return data


def _read_tables(trace_path: Path) -> tuple[Tables, bool]:
    """Read a trace file into analysis tables, and whether it is big (`PROGRESS_BYTES`: then a progress bar shows on
    stderr while it is read, and its outputs' while they are written); bad input is one sentence."""
    try:
        size = trace_path.stat().st_size
        file = trace_path.open("rb")
    except OSError as error:
        raise click.ClickException(f"Cannot read the trace {trace_path}: {error.strerror or error}.") from None
    big = size >= PROGRESS_BYTES
    with file, _progress(big, size, f"reading {trace_path}") as progress:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                trace = read_trace(_ReadingWithProgress(file, progress.update) if big else file)
        except TraceError as error:
            raise click.ClickException(str(error)) from None
        except UnicodeDecodeError:
            raise click.ClickException(f"{trace_path} is not a jspiprof trace: it is not UTF-8 text.") from None
    for warning in caught:
        click.echo(f"jspiprof: {warning.message}", err=True)
    gc.freeze()  # a command's process ends soon: spare the cyclic collector walking the trace's millions of objects again and again
    return tables(trace), big


def _trace_argument(function):  # noqa: ANN001, ANN202 - a click decorator
    return click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False, path_type=Path))(function)


@main.command()
@_trace_argument
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def stats(trace_path: Path, as_json: bool) -> None:
    """Print a trace's numbers: suspensions, failed switches, waits per site, time accounting and insights.

    With --json: one object with suspensions, failed_switches, total_wait_ms, entries (kind -> count),
    sites (largest total wait first; site, count, wait_ms_total/mean/p50/p95/p99/max, max_depth, ...),
    paths, kinds, running/suspended/other ms and insights.
    """
    t, _ = _read_tables(trace_path)
    result = summary(t, insights(t))
    click.echo(json.dumps(result, indent=1) if as_json else console.render(result))


@main.command("report")
@_trace_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write [default: TRACE with .html].",
)
def report_command(trace_path: Path, output: Path | None) -> None:
    """Write a self-contained HTML report (works offline): summary, insights, flame chart and graphs, tables."""
    output = output or trace_path.with_suffix(".html")
    t, big = _read_tables(trace_path)
    with _progress(big, 1, f"writing {output}") as progress:
        try:
            report.write(t, insights(t), trace_path.name, output)
        except OSError as error:
            raise click.ClickException(f"Cannot write the report to {output}: {error.strerror or error}.") from None
        progress.update(1)
    click.echo(f"report written to {output}", err=True)


_EXPORTERS = {"chrome": (chrome.write, ".chrome.json"), "speedscope": (speedscope.write, ".speedscope.json")}


@main.command()
@_trace_argument
@click.option(
    "--format",
    "format_",
    type=click.Choice(sorted(_EXPORTERS)),
    required=True,
    help="chrome: trace event JSON for Perfetto / chrome://tracing; speedscope: speedscope's file format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write [default: TRACE with .chrome.json / .speedscope.json].",
)
def export(trace_path: Path, format_: str, output: Path | None) -> None:
    """Export a trace to a format that existing viewers open (Perfetto, chrome://tracing, speedscope)."""
    write, suffix = _EXPORTERS[format_]
    output = output or trace_path.with_suffix(suffix)
    t, big = _read_tables(trace_path)
    program = " ".join(t.header.program.get("argv", [])) if t.header.program else trace_path.name
    with _progress(big, 1, f"writing {output}") as progress:
        try:
            with output.open("w", encoding="utf-8") as out:
                write(t, out, program)
        except OSError as error:
            raise click.ClickException(f"Cannot write {output}: {error.strerror or error}.") from None
        progress.update(1)
    click.echo(f"{format_} export written to {output}", err=True)


@main.command()
@click.argument(
    "source",
    metavar="[TRACE | FILE | -]",
    required=False,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
)
@click.option("--json", "as_json", is_flag=True, help='Print a JSON list of {"class", "message", "location", "fix"}.')
def diagnose(source: Path | None, as_json: bool) -> None:
    """Explain every stack-switching failure, with the exact fix.

    SOURCE is a jspiprof trace (recognised by its header line) or plain error text: a Python traceback and/or
    JS stack copied from a browser console or a Node log. `-` reads stdin; no SOURCE reads ./jspiprof-trace.jsonl.
    """
    from jspiprof.analysis.diagnoses import diagnose_input

    source = source or DEFAULT_TRACE
    if str(source) == "-":
        content = sys.stdin.read()
    else:
        try:
            content = source.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise click.ClickException(
                f"Cannot read {source}: {error.strerror or error}; give a trace, a log file or - for stdin."
            ) from None
    try:
        problems = diagnose_input(content)
    except TraceError as error:
        raise click.ClickException(f"{source} looks like a jspiprof trace but is not valid: {error}") from None
    if as_json:
        click.echo(json.dumps([problem.to_json() for problem in problems], indent=2))
    elif not problems:
        click.echo(f"No stack-switching failure found in {'stdin' if str(source) == '-' else source}.")
    else:
        click.echo("\n\n".join(problem.render() for problem in problems))


@main.command()
@_HOME_OPTION
def doctor(home: Path | None) -> None:
    """Check this machine's runtimes for JSPI (Node on PATH, the cached Node, the Pyodide cache, Chromium) and say what to fix.

    Exits with status 1 when something `jspiprof run` needs is missing.
    """
    from jspiprof.runtime.doctor import run_checks

    checks = run_checks(cache_home(home))
    for check in checks:
        click.echo(check.render())
    if any(check.status == "missing" for check in checks):
        sys.exit(1)
