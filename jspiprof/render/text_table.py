"""Plain-text tables for the terminal: the first column left-aligned, the others right-aligned."""

from __future__ import annotations


def text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """The header, a rule and the rows, as lines of columns two spaces apart."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths)))

    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]
