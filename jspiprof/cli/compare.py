"""`jspiprof compare`: what changed between two traces of the same app."""

from __future__ import annotations

import json
from pathlib import Path

import click

from jspiprof.analysis.compare import compare, differential_flame_graph, stack_cpu
from jspiprof.cli.common import read_tables
from jspiprof.render import compare as compare_view


@click.command("compare")
@click.argument("before_path", metavar="BEFORE", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("after_path", metavar="AFTER", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write an HTML report to this file."
)
def compare_command(before_path: Path, after_path: Path, as_json: bool, output: Path | None) -> None:
    """Compare two traces: per site and function, what got faster or slower, what is new and what is gone.

    Sites match by file:line and function, then, when lines moved, by file and function (in line order).
    With --json: {"before": stats of BEFORE, "after": stats of AFTER, "wait_saved_ms", "window_saved_ms",
    "sites": [...], "functions": [...], "cpu_python_ms", "cpu_functions": [...] (CPU moved per function, from the
    samples), "cpu_note"}. With -o: an HTML page with differential flame graphs of wait and of CPU.
    """
    before, _ = read_tables(before_path)
    after, _ = read_tables(after_path)
    result = compare(before, after)
    click.echo(json.dumps(result, indent=1) if as_json else compare_view.render(result))
    if output is not None:
        page = compare_view.html(
            result,
            differential_flame_graph(before, after),
            f"{before_path.name} -> {after_path.name}",
            differential_flame_graph(before, after, stack_cpu),
        )
        try:
            output.write_text(page, encoding="utf-8")
        except OSError as error:
            raise click.ClickException(f"Cannot write the report to {output}: {error.strerror or error}.") from None
        click.echo(f"report written to {output}", err=True)
