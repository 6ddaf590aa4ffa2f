"""The `jspiprof` command line: thin click commands over the library; errors are one sentence, never a traceback.

Each module here holds a few commands; this one gathers them into the `jspiprof` group.
"""

from __future__ import annotations

import click

from jspiprof import __version__
from jspiprof.cli.compare import compare_command
from jspiprof.cli.diagnose import diagnose, doctor
from jspiprof.cli.fleet import fleet_command
from jspiprof.cli.hook import hook
from jspiprof.cli.outputs import export, report_command, stats
from jspiprof.cli.record import record
from jspiprof.cli.run import run, setup


@click.group()
@click.version_option(__version__, prog_name="jspiprof")
def main() -> None:
    """Profile and debug JSPI stack switching in Pyodide."""


for command in (
    setup,
    run,
    record,
    hook,
    stats,
    report_command,
    export,
    compare_command,
    fleet_command,
    diagnose,
    doctor,
):
    main.add_command(command)
