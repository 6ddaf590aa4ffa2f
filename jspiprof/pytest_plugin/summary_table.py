"""The end-of-session table of `--jspiprof`: suspensions, failed switches and wait per test, the longest wait first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jspiprof.analysis import summary
from jspiprof.pytest_plugin.recording import RecordedTrace


@dataclass(frozen=True)
class TableRow:
    """One recorded test's line in the table."""

    node_id: str
    suspensions: int
    failed_switches: int
    wait_ms: float


def row_of(node_id: str, recorded: RecordedTrace) -> TableRow:
    """The test's numbers, from `jspiprof.analysis` (as `jspiprof stats` shows them)."""
    numbers = summary(recorded.tables)
    return TableRow(node_id, numbers["suspensions"], numbers["failed_switches"], numbers["total_wait_ms"])


def table(rows: list[TableRow], directory: Path, limit: int) -> list[str]:
    """The table's lines: the tests with the longest wait (then the most suspensions) first, at most `limit`."""
    heaviest = sorted(rows, key=lambda row: (-row.wait_ms, -row.suspensions, -row.failed_switches, row.node_id))
    lines = [f"{'suspensions':>11} {'failed':>6} {'wait ms':>10}  test"]
    lines += [
        f"{row.suspensions:>11} {row.failed_switches:>6} {row.wait_ms:>10,.1f}  {row.node_id}"
        for row in heaviest[:limit]
    ]
    if len(rows) > limit:
        lines.append(f"... and {len(rows) - limit} more")
    lines.append(f"{len(rows)} traces in {directory} (jspiprof report TRACE, jspiprof stats TRACE)")
    return lines
