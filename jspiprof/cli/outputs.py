"""`jspiprof stats`, `report` and `export`: a trace's numbers, its HTML report, and files for other viewers."""

from __future__ import annotations

from pathlib import Path

import click

from jspiprof.analysis import insights, summary
from jspiprof.cli.common import progress_bar, read_tables, trace_argument
from jspiprof.cli.parquet import export_parquet
from jspiprof.exporters import chrome, speedscope
from jspiprof.render import console, report, strict_json
from jspiprof.render.output_file import same_file, written_whole


def refuse_overwriting(output: Path, trace_path: Path) -> None:
    """Stop with one sentence when `output` is the trace itself: an output never replaces its input."""
    if same_file(output, trace_path):
        raise click.ClickException(f"Refusing to write {output}: it is the trace being read; choose another -o.")


@click.command()
@trace_argument
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def stats(trace_path: Path, as_json: bool) -> None:
    """Print a trace's numbers: suspensions, failed switches, waits per site, time accounting, CPU time by function
    and line (from the samples) and insights.

    With --json: one object with suspensions, failed_switches, total_wait_ms, entries (kind -> count),
    sites (largest total wait first; site, count, wait_ms_total/mean/p50/p95/p99/max, max_depth, ...),
    paths, kinds, running/suspended/other ms, cpu (samples, interval_ms, python_ms, functions by self time with
    self_ms/total_ms, lines, long_gaps), instances (each Pyodide's where, url, entries, suspensions, wait_ms,
    python_ms and its own sites) and insights.
    """
    tables, _ = read_tables(trace_path)
    result = summary(tables, insights(tables))
    click.echo(strict_json.dumps(result, indent=1) if as_json else console.render(result))


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
    refuse_overwriting(output, trace_path)
    tables, big = read_tables(trace_path)
    with progress_bar(big, 1, f"writing {output}") as progress:
        try:
            report.write(tables, insights(tables), trace_path.name, output)
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
    type=click.Choice(sorted([*_EXPORTERS, "parquet"])),
    required=True,
    help="chrome: trace event JSON for Perfetto / chrome://tracing; speedscope: speedscope's file format; "
    "parquet: a folder of Parquet tables, one per event type, partitioned by run (docs/parquet.md).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="File (parquet: folder) to write [default: TRACE with .perfetto.json / .speedscope.json / .parquet].",
)
def export(trace_path: Path, format_: str, output: Path | None) -> None:
    """Export a trace to a format that existing viewers open (Perfetto, chrome://tracing, speedscope), or to Parquet
    for SQL over many traces (DuckDB, `jspiprof fleet`)."""
    if format_ == "parquet":
        export_parquet(trace_path, output or trace_path.with_suffix(".parquet"))
        return
    write, suffix = _EXPORTERS[format_]
    output = output or trace_path.with_suffix(suffix)
    refuse_overwriting(output, trace_path)
    tables, big = read_tables(trace_path)
    program = tables.header.command_line or trace_path.name
    with progress_bar(big, 1, f"writing {output}") as progress:
        try:
            with written_whole(output, "w") as out:
                write(tables, out, program)
        except OSError as error:
            raise click.ClickException(f"Cannot write {output}: {error.strerror or error}.") from None
        progress.update(1)
    click.echo(f"{format_} export written to {output}", err=True)
