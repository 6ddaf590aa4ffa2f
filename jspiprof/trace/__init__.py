"""The trace format and its reading: `read_trace(path)` gives the `Trace` every other part of jspiprof starts from.

`read_trace` picks the quickest reader this Python has, here and only here: on the host, msgspec's typed decoding of
a file's blocks (`typed_reader`); inside Pyodide, or without msgspec and numpy, each line parsed (`reader`). Both
accept exactly the same traces, with the same result, warnings and errors.
"""

from __future__ import annotations

import gc
from itertools import islice

from jspiprof.trace.model import (
    SCHEMA,
    VERSION,
    Dropped,
    End,
    Entry,
    EntryEnd,
    Event,
    FailedSwitch,
    Frame,
    Header,
    Instance,
    Registration,
    Runtime,
    SkippedLinesWarning,
    Snapshot,
    Suspension,
    Trace,
    TraceError,
    TruncatedTraceWarning,
)
from jspiprof.trace.reader import ColumnReader, file_units, iter_events
from jspiprof.trace.samples import SampleColumns, Samples
from jspiprof.trace.sources import (
    LONGEST_LINE,
    Source,
    blocks,
    is_binary_file,
    naming_the_file,
    open_trace,
    text_lines,
)

try:  # the quickest reader of a file this Python has
    from jspiprof.trace.typed_reader import TypedReader as FileReader
except ImportError:  # inside Pyodide: no msgspec, or msgspec without numpy
    FileReader = ColumnReader

CHUNK_LINES = 1024
"""An iterable of lines is checked this many lines at a time (a file: a block at a time, `sources.BLOCK_BYTES`)."""


def read_trace(source: Source) -> Trace:
    """Read and check a whole trace: a path, an open file (binary or text), or an iterable of lines (text or UTF-8
    bytes). A bad trace is a `TraceError` naming the line; lines skipped are counted in one warning."""
    collecting = gc.isenabled()
    gc.disable()  # everything read is kept: the cyclic collector's passes over millions of new objects find nothing
    try:
        with naming_the_file(source):
            if is_binary_file(source):
                return FileReader().read(file_units(blocks(source)))
            lines = text_lines(source)
            return ColumnReader().read(iter(lambda: list(islice(lines, CHUNK_LINES)), []))
    finally:
        if collecting:
            gc.enable()


__all__ = [
    "Dropped",
    "End",
    "Entry",
    "EntryEnd",
    "Event",
    "FailedSwitch",
    "Frame",
    "Header",
    "Instance",
    "LONGEST_LINE",
    "Registration",
    "Runtime",
    "SCHEMA",
    "SampleColumns",
    "Samples",
    "SkippedLinesWarning",
    "Snapshot",
    "Suspension",
    "Trace",
    "TraceError",
    "TruncatedTraceWarning",
    "VERSION",
    "iter_events",
    "open_trace",
    "read_trace",
]
