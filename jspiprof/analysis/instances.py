"""The Pyodide instances of a trace (a page, its workers, a Node process): their labels, each one's own tables, and
the per-instance numbers `jspiprof stats` prints."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from jspiprof.analysis.stats import rounded_ms, site_rows, time_accounting
from jspiprof.analysis.tables import Tables
from jspiprof.trace.samples import SampleColumns


def _short_url(where: str, url: str | None) -> str:
    """A page's URL whole; a worker's script as `.../name.mjs`; nothing for Node."""
    if url is None:
        return ""
    if where != "worker":
        return url
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return f".../{name}" if name else url


def instance_labels(tables: Tables) -> dict[int, str]:
    """Each instance's label, by number: where it ran and its URL ("page http://...", "worker .../w.mjs"), with its
    number when two would read the same."""
    labels = {i.instance: f"{i.where} {_short_url(i.where, i.url)}".strip() for i in tables.instances}
    repeated = {label for label in labels.values() if list(labels.values()).count(label) > 1}
    return {number: f"{label} #{number}" if label in repeated else label for number, label in labels.items()}


def of_instance(tables: Tables, instance: int) -> Tables:
    """The tables of one instance: its entries, suspensions, failed switches and samples (frames and stacks whole), its
    run window from its first entry to the end of the trace."""
    arrays = tables.arrays

    def rows(columns: dict[str, Any]) -> dict[str, Any]:
        keep = columns["instance"] == instance
        return {name: column[keep] for name, column in columns.items()}

    failed_keep = np.flatnonzero(arrays.failed_switches["instance"] == instance)
    entries = rows(arrays.entries)
    return replace(
        tables,
        arrays=replace(
            arrays,
            suspensions=rows(arrays.suspensions),
            entries=entries,
            failed_switches=rows(arrays.failed_switches),
        ),
        start_us=float(entries["start_us"].min()) if len(entries["start_us"]) else tables.start_us,
        samples=_samples_of(tables.samples, instance),
        failed_problems=[tables.failed_problems[row] for row in failed_keep.tolist()] if tables.failed_problems else [],
        instances=[i for i in tables.instances if i.instance == instance],
    )


def _samples_of(samples: SampleColumns, instance: int) -> SampleColumns:
    keep = np.flatnonzero(np.frombuffer(samples.instance, dtype=np.int64) == instance).tolist()
    if len(keep) == len(samples):
        return samples
    chosen = SampleColumns(stacks=samples.stacks, interval_us=samples.interval_us)
    chosen.time_us.extend(samples.time_us[row] for row in keep)
    chosen.stack.extend(samples.stack[row] for row in keep)
    chosen.entry.extend(samples.entry[row] for row in keep)
    chosen.instance.extend([instance] * len(keep))
    return chosen


def instance_summaries(tables: Tables) -> list[dict[str, Any]]:
    """Per instance: its number, where it ran, its URL, its entries and suspensions, its total wait and its running
    Python (in the time accounting of its own entries), in ms, and its own `sites` (as `stats --json` lists a trace's:
    the same location in two instances is two pieces of code, `<exec>` above all)."""
    summaries = []
    for instance in tables.instances:
        own = of_instance(tables, instance.instance)
        summaries.append(
            {
                "instance": instance.instance,
                "where": instance.where,
                "url": instance.url,
                "entries": len(own.arrays.entries["id"]),
                "suspensions": len(own.arrays.suspensions["id"]),
                "wait_ms": rounded_ms(own.arrays.suspensions["wait_us"].sum()),
                "python_ms": rounded_ms(time_accounting(own).running_us),
                "sites": site_rows(own),
            }
        )
    return summaries
