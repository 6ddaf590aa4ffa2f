"""The one-screen summary `jspiprof run` prints at exit (standard library only; computed from a `Trace`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from jspiprof.render.terminal import printable
from jspiprof.trace import Trace

TOP_SITES = 8


@dataclass(frozen=True)
class SiteWait:
    """Total wait of the suspensions that one user line led to."""

    site: str
    suspensions: int
    wait_us: float


@dataclass(frozen=True)
class RunSummary:
    """What a recorded run did: switch counts, total wait, paths and the sites that waited longest."""

    suspensions: int
    failed_switches: int
    total_wait_us: float
    paths: dict[str, int]
    top_sites: list[SiteWait]
    complete: bool
    dropped: int


def summarize(trace: Trace, top: int = TOP_SITES) -> RunSummary:
    """Count the suspensions and failed switches of a trace and rank its sites by total wait."""
    columns = trace.suspension_columns
    waits: dict[str, float] = defaultdict(float)
    counts: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    for number, wait_us in zip(columns.shape, columns.wait_us):
        shape = columns.shapes[number]
        site = shape.site or "(library code only)"
        waits[site] += wait_us
        counts[site] += 1
        paths[shape.path] += 1
    ranked = sorted(waits, key=lambda site: (-waits[site], site))[:top]
    return RunSummary(
        suspensions=len(columns),
        failed_switches=len(trace.failed_switches),
        total_wait_us=sum(columns.wait_us),
        paths=dict(paths.most_common()),
        top_sites=[SiteWait(site, counts[site], waits[site]) for site in ranked],
        complete=trace.complete,
        dropped=trace.dropped_count,
    )


def _ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


def format_summary(summary: RunSummary) -> str:
    """A few lines of text for a terminal (control characters from the trace escaped)."""
    lines = [
        f"suspensions: {summary.suspensions}   failed switches: {summary.failed_switches}   total wait: {_ms(summary.total_wait_us)}"
    ]
    if summary.paths:
        lines.append("by path: " + ", ".join(f"{path} {count}" for path, count in summary.paths.items()))
    if summary.top_sites:
        lines.append("top sites by wait:")
        lines += [f"  {_ms(s.wait_us):>10}  {s.suspensions:>5}x  {s.site}" for s in summary.top_sites]
    if not summary.complete:
        lines.append("(the trace has no end line: the program was stopped before it could close it)")
    if summary.dropped:
        lines.append(f"({summary.dropped} events were dropped: the in-memory buffer was full)")
    return "\n".join(map(printable, lines))  # sites and paths come from the trace
