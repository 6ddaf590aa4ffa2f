"""`jspiprof diagnose` and `jspiprof doctor`: explain failed switches, and check this machine's runtimes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from jspiprof.cli.common import DEFAULT_TRACE, HOME_OPTION
from jspiprof.runtime.install import cache_home
from jspiprof.trace import TraceError


@click.command()
@click.argument(
    "source",
    metavar="[TRACE | FILE | -]",
    required=False,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
)
@click.option("--json", "as_json", is_flag=True, help='Print a JSON list of {"class", "message", "location", "fix"}.')
def diagnose(source: Path | None, as_json: bool) -> None:
    """Explain every stack-switching failure, with the exact fix.

    SOURCE is a jspiprof trace (recognised by its header line) or plain error text: a Python traceback and/or
    JS stack copied from a browser console or a Node log. `-` reads stdin; no SOURCE reads ./jspiprof-trace.jsonl.
    """
    from jspiprof.analysis.diagnoses import diagnose_input

    source = source or DEFAULT_TRACE
    if str(source) == "-":
        content = sys.stdin.read()
    else:
        try:
            content = source.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise click.ClickException(
                f"Cannot read {source}: {error.strerror or error}; give a trace, a log file or - for stdin."
            ) from None
    try:
        problems = diagnose_input(content)
    except TraceError as error:
        raise click.ClickException(f"{source} looks like a jspiprof trace but is not valid: {error}") from None
    if as_json:
        click.echo(json.dumps([problem.to_json() for problem in problems], indent=2))
    elif not problems:
        click.echo(f"No stack-switching failure found in {'stdin' if str(source) == '-' else source}.")
    else:
        click.echo("\n\n".join(problem.render() for problem in problems))


@click.command()
@HOME_OPTION
def doctor(home: Path | None) -> None:
    """Check this machine's runtimes for JSPI and say what to fix.

    Checks Node on PATH, the cached Node, the Pyodide cache and Chromium.
    Exits with status 1 when something `jspiprof run` needs is missing.
    """
    from jspiprof.runtime.doctor import run_checks

    checks = run_checks(cache_home(home))
    for check in checks:
        click.echo(check.render())
    if any(check.status == "missing" for check in checks):
        sys.exit(1)
