"""The terminal view of a trace: headline numbers, where the time went, the top sites and the insights."""

from __future__ import annotations

from typing import Any

TOP_SITES = 15


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths)))

    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]


def render(summary: dict[str, Any], top: int = TOP_SITES) -> str:
    """`summary` (from `jspiprof.analysis.summary`, with insights) as a few screens of plain text."""
    entries = ", ".join(f"{kind} {count}" for kind, count in summary["entries"].items()) or "none"
    window = summary["window_ms"] or 1
    lines = [
        f"suspensions: {summary['suspensions']:,}   failed switches: {summary['failed_switches']:,}   "
        f"total wait: {summary['total_wait_ms']:,.1f} ms   entries: {entries}",
        f"run window: {summary['window_ms']:,.1f} ms = running Python {summary['running_ms']:,.1f} ms "
        f"({100 * summary['running_ms'] / window:.0f}%) + suspended {summary['suspended_ms']:,.1f} ms "
        f"({100 * summary['suspended_ms'] / window:.0f}%) + other {summary['other_ms']:,.1f} ms "
        f"({100 * summary['other_ms'] / window:.0f}%)",
    ]
    lines += _cpu_lines(summary["cpu"], top)
    if not summary["complete"]:
        lines.append("the trace has no end line: the program crashed or was killed")
    if summary["dropped"]:
        lines.append(f"{summary['dropped']:,} events were dropped by the recorder")
    sites = summary["sites"][:top]
    if sites:
        lines += ["", f"top sites by total wait ({len(sites)} of {len(summary['sites'])}):"]
        lines += _table(
            ["site", "count", "wait ms", "p50 ms", "p95 ms", "max ms", "depth", "path"],
            [
                [
                    s["site"],
                    f"{s['count']:,}",
                    f"{s['wait_ms_total']:,.1f}",
                    f"{s['wait_ms_p50']:,.2f}",
                    f"{s['wait_ms_p95']:,.2f}",
                    f"{s['wait_ms_max']:,.2f}",
                    str(s["max_depth"]),
                    ", ".join(s["paths"]),
                ]
                for s in sites
            ],
        )
    for insight in summary.get("insights", []):
        lines += ["", f"* {insight['title']} (about {insight['at_stake_ms']:,.1f} ms at stake)"]
        lines += [f"    {line}" for line in insight["evidence"]]
        lines.append(f"    -> {insight['suggestion']}")
    return "\n".join(lines)


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
                f["function"],
                f"{f['self_ms']:,.1f}",
                f"{100 * f['self_ms'] / python_ms:.0f}%",
                f"{f['total_ms']:,.1f}",
                f["file"],
            ]
            for f in cpu["functions"][:top]
        ],
    )
    lines += ["", "hottest lines:"]
    lines += _table(
        ["line", "function", "self ms", "self %"],
        [
            [line["site"], line["function"], f"{line['self_ms']:,.1f}", f"{100 * line['self_ms'] / python_ms:.0f}%"]
            for line in cpu["lines"][:top]
        ],
    )
    gaps = cpu["long_gaps"]
    if gaps["count"]:
        lines.append(
            f"{gaps['count']:,} gaps between samples of over 10 intervals ({gaps['ms']:,.1f} ms, the longest "
            f"{gaps['longest_ms']:,.1f} ms after {gaps['longest_at']}): a long C call, or the machine was busy"
        )
    return lines
