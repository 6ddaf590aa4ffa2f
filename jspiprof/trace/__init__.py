"""The trace format and its reading: `read_trace(path)` gives the `Trace` every other part of jspiprof takes."""

from jspiprof.trace.reader import (
    SCHEMA,
    Entry,
    FailedSwitch,
    Frame,
    Header,
    Suspension,
    Trace,
    TraceError,
    TruncatedTraceWarning,
    iter_events,
    read_trace,
)

__all__ = [
    "Entry",
    "FailedSwitch",
    "Frame",
    "SCHEMA",
    "Header",
    "Suspension",
    "Trace",
    "TraceError",
    "TruncatedTraceWarning",
    "iter_events",
    "read_trace",
]
