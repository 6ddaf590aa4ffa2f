"""`jspiprof hook -o DIR`: the hook as one file, for a page that records itself."""

from __future__ import annotations

from pathlib import Path

import click

from jspiprof.cli.common import HOME_OPTION
from jspiprof.runtime.hook_files import write_hook_files
from jspiprof.runtime.install import RuntimeProblem, cache_home


@click.command()
@HOME_OPTION
@click.option(
    "-o",
    "--output",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write jspiprof-hook.mjs and jspiprof-hook.js into (made if missing).",
)
def hook(home: Path | None, folder: Path) -> None:
    """Write the hook as one file, twice: jspiprof-hook.mjs, an ES module to import, and jspiprof-hook.js, a classic
    script that defines globalThis.jspiprof. Either holds the whole hook and its Python probe: serve it next to the
    page, wrap loadPyodide with its wrapLoadPyodide, and take the trace with pyodide.jspiprof.toJSONL()."""
    try:
        written = write_hook_files(folder, cache_home(home))
    except RuntimeProblem as problem:
        raise click.ClickException(str(problem)) from None
    except OSError as error:
        raise click.ClickException(f"Cannot write the hook into {folder}: {error.strerror or error}.") from None
    click.echo(f"jspiprof: wrote {written.module} (import it) and {written.script} (a classic <script>)", err=True)
