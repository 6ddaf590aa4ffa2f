"""`jspiprof stats`, `report` and `export`: a trace's numbers, its HTML report, and files for other viewers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from jspiprof.analysis import insights, summary
from jspiprof.cli.common import progress_bar, read_tables, trace_argument
from jspiprof.exporters import chrome, speedscope
from jspiprof.render import console, report


@click.command()
@trace_argument
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def stats(trace_path: Path, as_json: bool) -> None:
    """Print a trace's numbers: suspensions, failed switches, waits per site, time accounting, CPU time by function
    and line (from the samples) and insights.

    With --json: one object with suspensions, failed_switches, total_wait_ms, entries (kind -> count),
    sites (largest total wait first; site, count, wait_ms_total/mean/p50/p95/p99/max, max_depth, ...),
    paths, kinds, running/suspended/other ms, cpu (samples, interval_ms, python_ms, functions by self time with
    self_ms/total_ms, lines, long_gaps) and insights.
    """
    t, _ = read_tables(trace_path)
    result = summary(t, insights(t))
    click.echo(json.dumps(result, indent=1) if as_json else console.render(result))


@click.command("report")
@trace_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write [default: TRACE with .html].",
)
def report_command(trace_path: Path, output: Path | None) -> None:
    """Write a self-contained HTML report (works offline): summary, insights, flame chart and graphs, tables."""
    output = output or trace_path.with_suffix(".html")
    t, big = read_tables(trace_path)
    with progress_bar(big, 1, f"writing {output}") as progress:
        try:
            report.write(t, insights(t), trace_path.name, output)
        except OSError as error:
            raise click.ClickException(f"Cannot write the report to {output}: {error.strerror or error}.") from None
        progress.update(1)
    click.echo(f"report written to {output}", err=True)


_EXPORTERS = {"chrome": (chrome.write, ".perfetto.json"), "speedscope": (speedscope.write, ".speedscope.json")}
"""Each format's writer and default suffix. Not `.chrome.json`: speedscope takes such a file for a DevTools timeline
(it picks its importer by name) and fails to open it."""


@click.command()
@trace_argument
@click.option(
    "--format",
    "format_",
    type=click.Choice(sorted(_EXPORTERS)),
    required=True,
    help="chrome: trace event JSON for Perfetto / chrome://tracing; speedscope: speedscope's file format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write [default: TRACE with .perfetto.json / .speedscope.json].",
)
def export(trace_path: Path, format_: str, output: Path | None) -> None:
    """Export a trace to a format that existing viewers open (Perfetto, chrome://tracing, speedscope)."""
    write, suffix = _EXPORTERS[format_]
    output = output or trace_path.with_suffix(suffix)
    t, big = read_tables(trace_path)
    program = " ".join(t.header.program.get("argv", [])) if t.header.program else trace_path.name
    with progress_bar(big, 1, f"writing {output}") as progress:
        try:
            with output.open("w", encoding="utf-8") as out:
                write(t, out, program)
        except OSError as error:
            raise click.ClickException(f"Cannot write {output}: {error.strerror or error}.") from None
        progress.update(1)
    click.echo(f"{format_} export written to {output}", err=True)
