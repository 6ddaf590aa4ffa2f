"""The terminal view of a trace: headline numbers, where the time went, the top sites and the insights.

Both views render the dict `jspiprof.analysis.summary` computes: `render` for `jspiprof stats`, `render_at_exit`
for the few lines `jspiprof run` prints when the program ends.
"""

from __future__ import annotations

from typing import Any

from jspiprof.render.terminal import printable

TOP_SITES = 15
TOP_SITES_AT_EXIT = 8
"""The end of a run shows fewer sites: the program's own output is just above."""


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths)))

    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]


def _headline(summary: dict[str, Any]) -> str:
    entries = ", ".join(f"{printable(kind)} {count}" for kind, count in summary["entries"].items()) or "none"
    return (
        f"suspensions: {summary['suspensions']:,}   failed switches: {summary['failed_switches']:,}   "
        f"total wait: {summary['total_wait_ms']:,.1f} ms   entries: {entries}"
    )


def _warnings(summary: dict[str, Any]) -> list[str]:
    lines = []
    if summary["snapshot"]:
        lines.append("the trace is a snapshot taken while running: complete up to when it was taken")
    elif not summary["complete"]:
        lines.append("the trace has no end line: the program crashed or was killed")
    if summary["dropped"]:
        lines.append(f"{summary['dropped']:,} events were dropped by the recorder")
    if summary["callers_not_sampled"]:
        lines.append(
            f"JS callers are sampled: {summary['callers_not_sampled']:,} entries have theirs unknown, so entries per "
            "caller are a sample"
        )
    return lines


def render(summary: dict[str, Any], top: int = TOP_SITES) -> str:
    """`summary` (from `jspiprof.analysis.summary`, with insights) as a few screens of plain text; every string from the
    trace is shown with its control characters escaped (`jspiprof.render.terminal.printable`)."""
    window = summary["window_ms"] or 1
    lines = [
        _headline(summary),
        f"run window: {summary['window_ms']:,.1f} ms = running Python {summary['running_ms']:,.1f} ms "
        f"({100 * summary['running_ms'] / window:.0f}%) + suspended {summary['suspended_ms']:,.1f} ms "
        f"({100 * summary['suspended_ms'] / window:.0f}%) + other {summary['other_ms']:,.1f} ms "
        f"({100 * summary['other_ms'] / window:.0f}%)",
        *_instance_lines(summary["instances"]),
        *_cpu_lines(summary["cpu"], TOP_SITES),
        *_warnings(summary),
    ]
    sites = summary["sites"][:top]
    if sites:
        lines += ["", f"top sites by total wait ({len(sites)} of {len(summary['sites'])}):"]
        lines += _table(
            ["site", "count", "wait ms", "p50 ms", "p95 ms", "max ms", "depth", "path"],
            [
                [
                    printable(site["site"]),
                    f"{site['count']:,}",
                    f"{site['wait_ms_total']:,.1f}",
                    f"{site['wait_ms_p50']:,.2f}",
                    f"{site['wait_ms_p95']:,.2f}",
                    f"{site['wait_ms_max']:,.2f}",
                    str(site["max_depth"]),
                    printable(", ".join(site["paths"])),
                ]
                for site in sites
            ],
        )
    for insight in summary.get("insights", []):
        lines += ["", f"* {printable(insight['title'])} (about {insight['at_stake_ms']:,.1f} ms at stake)"]
        lines += [f"    {printable(line)}" for line in insight["evidence"]]
        lines.append(f"    -> {printable(insight['suggestion'])}")
    return "\n".join(lines)


def render_at_exit(summary: dict[str, Any], top: int = TOP_SITES_AT_EXIT) -> str:
    """`summary` in a few lines: the headline, suspensions per path, and the sites that waited longest."""
    lines = [_headline(summary)]
    if summary["paths"]:
        lines.append(
            "by path: "
            + ", ".join(f"{printable(path)} {numbers['count']:,}" for path, numbers in summary["paths"].items())
        )
    sites = summary["sites"][:top]
    if sites:
        lines.append(f"top sites by total wait ({len(sites)} of {len(summary['sites'])}):")
        lines += [
            f"  {site['wait_ms_total']:>10,.1f} ms  {site['count']:>5,}x  {printable(site['site'])}" for site in sites
        ]
    return "\n".join(lines + _warnings(summary))


def _instance_lines(instances: list[dict[str, Any]]) -> list[str]:
    """A table of the Pyodide instances (a page and its workers), when there is more than one."""
    if len(instances) < 2:
        return []
    lines = ["", f"{len(instances)} Pyodide instances:"]
    lines += _table(
        ["instance", "where", "url", "entries", "suspensions", "wait ms", "python ms"],
        [
            [
                str(instance["instance"]),
                printable(instance["where"]),
                printable(instance["url"] or ""),
                f"{instance['entries']:,}",
                f"{instance['suspensions']:,}",
                f"{instance['wait_ms']:,.1f}",
                f"{instance['python_ms']:,.1f}",
            ]
            for instance in instances
        ],
    )
    return lines


def _cpu_lines(cpu: dict[str, Any], top: int) -> list[str]:
    """Where running Python's time went, from the CPU samples (nothing when the trace has none)."""
    if not cpu["samples"]:
        return []
    explained = "" if cpu["explained"] is None else f" ({100 * cpu['explained']:.0f}% of running Python)"
    lines = [
        "",
        f"CPU: {cpu['samples']:,} samples every {cpu['interval_ms']:g} ms = {cpu['python_ms']:,.1f} ms{explained}",
    ]
    python_ms = cpu["python_ms"] or 1
    lines += _table(
        ["function", "self ms", "self %", "total ms", "file"],
        [
            [
                printable(f["function"]),
                f"{f['self_ms']:,.1f}",
                f"{100 * f['self_ms'] / python_ms:.0f}%",
                f"{f['total_ms']:,.1f}",
                printable(f["file"]),
            ]
            for f in cpu["functions"][:top]
        ],
    )
    lines += ["", "hottest lines:"]
    lines += _table(
        ["line", "function", "self ms", "self %"],
        [
            [
                printable(line["site"]),
                printable(line["function"]),
                f"{line['self_ms']:,.1f}",
                f"{100 * line['self_ms'] / python_ms:.0f}%",
            ]
            for line in cpu["lines"][:top]
        ],
    )
    gaps = cpu["long_gaps"]
    if gaps["count"]:
        lines.append(
            f"{gaps['ms']:,.1f} ms of it from {gaps['count']:,} gaps between samples of over 10 intervals (the "
            f"longest {gaps['longest_ms']:,.1f} ms, ending in {printable(gaps['longest_at'])}): long C or JS calls, "
            "counted as time of the frame and line on top when Python checked again"
        )
    if gaps["left_out_count"]:
        lines.append(
            f"{gaps['left_out_count']:,} more long gaps ({gaps['left_out_ms']:,.1f} ms) ended on lines that mostly "
            "run without gaps (the machine was busy) or in library code only (start-up): left out"
        )
    return lines
