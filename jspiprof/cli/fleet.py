"""`jspiprof fleet`: many traces of the same app, summarised per site across runs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from jspiprof.analysis.fleet import fleet, read_folder, trace_files
from jspiprof.cli.common import progress_bar
from jspiprof.cli.parquet import fleet_of_parquet, is_parquet_export
from jspiprof.render import fleet as fleet_view

PROGRESS_TRACES = 50
"""Folders with at least this many traces show a progress bar on stderr while they are read."""


@click.command("fleet")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write an HTML report to this file."
)
def fleet_command(folder: Path, as_json: bool, output: Path | None) -> None:
    """Summarise many traces of the same app (every *.jsonl under DIR): per site, in how many runs it appears and
    its count and wait per run (p50, p95, max), and the worst runs by total wait, named by trace file.

    With --json: {"traces", "skipped", "sites": [{"site", "runs", "count_p50", ..., "wait_ms_p50", "wait_ms_p95",
    "wait_ms_max", "worst_trace"}, ...] (largest wait p95 first), "worst_runs": [...]}.
    Traces that cannot be read are skipped with a warning. DIR may instead be a Parquet export of many traces
    (`jspiprof export --format parquet -o DIR`): the same numbers are then computed by DuckDB in SQL.
    """
    if not folder.is_dir():
        raise click.ClickException(f"{folder} is not a folder of traces.")
    if is_parquet_export(folder):
        result = {**fleet_of_parquet(folder), "skipped": 0}
    else:
        paths = len(trace_files(folder))
        with progress_bar(paths >= PROGRESS_TRACES, paths, f"reading {folder}") as progress:
            runs, skipped = read_folder(folder, progress.update)
        if skipped:
            click.echo(f"jspiprof: skipped {len(skipped):,} unreadable traces, the first: {skipped[0]}", err=True)
        if not runs:
            raise click.ClickException(f"No readable trace (*.jsonl) in {folder}.")
        result = {**fleet(runs), "skipped": len(skipped)}
    click.echo(json.dumps(result, indent=1) if as_json else fleet_view.render(result))
    if output is not None:
        try:
            output.write_text(fleet_view.html(result, f"fleet of {folder}"), encoding="utf-8")
        except OSError as error:
            raise click.ClickException(f"Cannot write the report to {output}: {error.strerror or error}.") from None
        click.echo(f"report written to {output}", err=True)
