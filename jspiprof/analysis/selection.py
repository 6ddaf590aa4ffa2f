"""A selection of a trace's suspensions (by entry kind, path, site and time window), as tables the analysis and the
views take like any other."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from jspiprof.analysis.tables import Tables


@dataclass(frozen=True)
class Selection:
    """Which suspensions to keep; a field left None keeps them all. Times in ms from the start of the run window."""

    entry_kind: str | None = None
    path: str | None = None
    site: str | None = None
    start_ms: float | None = None
    end_ms: float | None = None


def selected(t: Tables, selection: Selection) -> Tables:
    """The tables with only the suspensions in `selection` (entries, frames and failed switches are kept whole)."""
    s = t.arrays.suspensions
    keep = np.ones(len(s["id"]), dtype=bool)
    for column, value in (("kind", selection.entry_kind), ("path", selection.path), ("site", selection.site)):
        if value is not None:
            keep &= np.asarray(s[column] == value, dtype=bool)
    since_start_ms = (s["start_us"] - t.start_us) / 1000
    if selection.start_ms is not None:
        keep &= since_start_ms >= selection.start_ms
    if selection.end_ms is not None:
        keep &= since_start_ms <= selection.end_ms
    return replace(t, arrays=replace(t.arrays, suspensions={name: column[keep] for name, column in s.items()}))
