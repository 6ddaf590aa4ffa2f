"""Parquet and DuckDB for the commands: they need the `fleet` extra (pyarrow, duckdb), imported only when used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from jspiprof.cli.common import read_tables

_EXTRA = "Parquet needs pyarrow and duckdb: pip install 'jspiprof[fleet]'."


def export_parquet(trace_path: Path, folder: Path) -> None:
    """Write the trace as the partition `run=<trace name>` of the Parquet tables under `folder`."""
    try:
        from jspiprof.exporters import parquet
    except ImportError:
        raise click.ClickException(_EXTRA) from None
    t, _ = read_tables(trace_path)
    try:
        parquet.write(t, folder, trace_path.stem)
    except OSError as error:
        raise click.ClickException(f"Cannot write {folder}: {error.strerror or error}.") from None
    click.echo(f"parquet export written to {folder} (run={trace_path.stem})", err=True)


def is_parquet_export(folder: Path) -> bool:
    """Whether `folder` holds a Parquet export (`jspiprof export --format parquet`) rather than trace files."""
    return (folder / "suspensions").is_dir() and (folder / "runs").is_dir()


def fleet_of_parquet(folder: Path) -> dict[str, Any]:
    """The fleet numbers of a Parquet export, computed by DuckDB."""
    try:
        from jspiprof.analysis.fleet_sql import fleet_from_parquet
    except ImportError:
        raise click.ClickException(_EXTRA) from None
    import duckdb

    try:
        return fleet_from_parquet(folder)
    except duckdb.Error as error:
        raise click.ClickException(f"Cannot query the Parquet export in {folder}: {error}".rstrip(".") + ".") from None
