"""`jspiprof diagnose` and `jspiprof doctor`: explain failed switches, and check this machine's runtimes."""

from __future__ import annotations

import json
import stat
import sys
import warnings
from pathlib import Path
from typing import BinaryIO

import click

from jspiprof.cli.common import DEFAULT_TRACE, HOME_OPTION
from jspiprof.in_pyodide.diagnose import Problem
from jspiprof.render.terminal import printable
from jspiprof.runtime.install import cache_home
from jspiprof.trace import TraceError

TEXT_LIMIT = 16 * 1024 * 1024
"""The most error text `diagnose` reads (a trace is read line by line, whatever its size)."""
START_BYTES = 64 * 1024
"""The bytes read first to tell a trace (by its header line) from error text."""


class _ReadAgain:
    """A binary file read again from its start: the bytes already read (`start`), then the rest of `file`."""

    def __init__(self, start: bytes, file: BinaryIO) -> None:
        self.start, self.file = start, file

    def read(self, size: int, /) -> bytes:
        if self.start:
            data, self.start = self.start[:size], self.start[size:]
            return data
        return self.file.read(size)


def _open(source: Path) -> BinaryIO:
    """The input to read: stdin for `-`, else a regular file (a device or a pipe could be endless)."""
    if str(source) == "-":
        return sys.stdin.buffer
    try:
        if not stat.S_ISREG(source.stat().st_mode):
            raise click.ClickException(
                f"{source} is not a regular file: give a trace, a log file or - for stdin "
                "(e.g. `... | jspiprof diagnose -`)."
            )
        return source.open("rb")
    except OSError as error:
        raise click.ClickException(
            f"Cannot read {source}: {error.strerror or error}; give a trace, a log file or - for stdin."
        ) from None


def _diagnose(source: Path, file: BinaryIO) -> list[Problem]:
    """The problems in a trace (recognised by its first line and read by the trace reader) or in error text."""
    from jspiprof.analysis.diagnoses import BYTE_ORDER_MARK, diagnose_trace, is_trace
    from jspiprof.in_pyodide.diagnose import diagnose_text
    from jspiprof.trace import read_trace

    start = file.read(START_BYTES)
    if is_trace(start):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                trace = read_trace(_ReadAgain(start.removeprefix(BYTE_ORDER_MARK), file))
        except TraceError as error:
            raise click.ClickException(f"{source} looks like a jspiprof trace but is not valid: {error}") from None
        except UnicodeDecodeError:
            raise click.ClickException(f"{source} looks like a jspiprof trace but is not UTF-8 text.") from None
        for warning in caught:
            click.echo(f"jspiprof: {warning.message}", err=True)
        return diagnose_trace(trace)
    data = start + file.read(TEXT_LIMIT + 1 - len(start))
    if len(data) > TEXT_LIMIT:
        raise click.ClickException(
            f"{source} is more than {TEXT_LIMIT // 2**20} MB of text: give the part of the log around the error."
        )
    return diagnose_text(data.decode("utf-8", errors="replace"))


@click.command()
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
    jspiprof never opens a file or URL that the trace or the text names.
    """
    source = source or DEFAULT_TRACE
    with _open(source) as file:
        problems = _diagnose(source, file)
    if as_json:
        click.echo(json.dumps([problem.to_json() for problem in problems], indent=2, allow_nan=False))
    elif not problems:
        click.echo(f"No stack-switching failure found in {'stdin' if str(source) == '-' else printable(str(source))}.")
    else:
        shown = [
            Problem(
                printable(problem.class_id),
                printable(problem.message),
                None if problem.location is None else printable(problem.location),
                printable(problem.fix),
                [printable(call) for call in problem.python_chain],
            )
            for problem in problems
        ]
        click.echo("\n\n".join(problem.render() for problem in shown))


@click.command()
@HOME_OPTION
def doctor(home: Path | None) -> None:
    """Check this machine's runtimes for JSPI and say what to fix.

    Checks Node on PATH, the cached Node, the Pyodide cache and Chromium.
    Exits with status 1 when something `jspiprof run` needs is missing.
    """
    from jspiprof.runtime.doctor import run_checks

    checks = run_checks(cache_home(home))
    for check in checks:
        click.echo(check.render())
    if any(check.status == "missing" for check in checks):
        sys.exit(1)
