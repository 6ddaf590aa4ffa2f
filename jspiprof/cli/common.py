"""What the commands share: the default trace, the cache option, and reading a trace with progress as one sentence."""

from __future__ import annotations

import gc
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import click

from jspiprof.analysis import Tables, tables
from jspiprof.render.terminal import printable
from jspiprof.trace import TraceError, open_trace, read_trace

DEFAULT_TRACE = Path("jspiprof-trace.jsonl")

HOME_OPTION = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="JSPIPROF_HOME",
    help="Cache folder for Node, Pyodide and wheels [env: JSPIPROF_HOME; default: ~/.cache/jspiprof].",
)

TRACE_OPTION = click.option(
    "-o",
    "--trace",
    "trace_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_TRACE,
    show_default=True,
    help="Write the trace to this file (overwritten); the report goes next to it.",
)


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


def progress_bar(shown: bool, length: int, label: str) -> Any:
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


def read_tables(trace_path: Path) -> tuple[Tables, bool]:
    """Read a trace file into analysis tables, and whether it is big (`PROGRESS_BYTES`: then a progress bar shows on
    stderr while it is read, and its outputs' while they are written); bad input is one sentence."""
    try:
        file = open_trace(trace_path)  # a FIFO or a device is refused, not waited on
    except TraceError as error:
        raise click.ClickException(str(error)) from None
    size = os.fstat(file.fileno()).st_size
    big = size >= PROGRESS_BYTES
    with file, progress_bar(big, size, f"reading {trace_path}") as progress:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                trace = read_trace(_ReadingWithProgress(file, progress.update) if big else file)
        except TraceError as error:
            raise click.ClickException(printable(str(error))) from None
        except UnicodeDecodeError:
            raise click.ClickException(f"{trace_path} is not a jspiprof trace: it is not UTF-8 text.") from None
    for warning in caught:
        click.echo(f"jspiprof: {printable(str(warning.message))}", err=True)
    gc.freeze()  # the process ends soon: spare the collector walking the trace's millions of objects again and again
    return tables(trace), big


def trace_argument(function):  # noqa: ANN001, ANN202 - a click decorator
    return click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False, path_type=Path))(function)
