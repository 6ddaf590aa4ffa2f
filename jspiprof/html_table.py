"""A DataFrame as the HTML table `DataFrame.to_html(escape=True, na_rep="", border=0)` writes, numbers with three
decimals and thousands separators, written straight from the columns (to_html costs a few ms even for a few rows)."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

INDENT = "  "


def _escaped(value: object) -> str:
    return html.escape(str(value), quote=False)


def _texts(kind: str) -> Callable[[object], str]:
    """How to_html writes a value of a column of this dtype kind: floats with three decimals, integers plainly."""
    return (lambda v: f"{v:,.3f}") if kind == "f" else str if kind in "iub" else _escaped


def _cells(values: np.ndarray, missing: np.ndarray, kind: str) -> list[str]:
    """The text of each value of a column: missing values empty (but pandas' NA of a nullable integer column is "<NA>")."""
    text = _texts(kind)
    return [(_escaped(value) if value is pd.NA else "") if gap else text(value) for value, gap in zip(values.tolist(), missing.tolist())]


def _index_cells(index: pd.Index) -> list[str]:
    """The row labels as to_html writes them (a float index in pandas' own float format, not with three decimals)."""
    if index.dtype.kind == "f":
        return [text.strip() for text in pd.Series(index.to_numpy()).to_string(index=False).split("\n")]
    values = index.to_numpy(dtype=object)
    return _cells(values, pd.isna(values), index.dtype.kind)


def _rows(frame: pd.DataFrame) -> Iterator[str]:
    yield '<table class="dataframe">'
    yield f"{INDENT}<thead>"
    yield f'{INDENT * 2}<tr style="text-align: right;">'
    yield f"{INDENT * 3}<th></th>"
    for name in frame.columns:
        yield f"{INDENT * 3}<th>{_escaped(name)}</th>"
    yield f"{INDENT * 2}</tr>"
    if frame.index.name is not None:
        yield f"{INDENT * 2}<tr>"
        yield f"{INDENT * 3}<th>{_escaped(frame.index.name)}</th>"
        for _ in frame.columns:
            yield f"{INDENT * 3}<th></th>"
        yield f"{INDENT * 2}</tr>"
    yield f"{INDENT}</thead>"
    yield f"{INDENT}<tbody>"
    values = frame.to_numpy(dtype=object)
    missing = pd.isna(values)
    columns = [_cells(values[:, i], missing[:, i], dtype.kind) for i, dtype in enumerate(frame.dtypes)]
    for label, *cells in zip(_index_cells(frame.index), *columns):
        yield f"{INDENT * 2}<tr>"
        yield f"{INDENT * 3}<th>{label}</th>"
        for cell in cells:
            yield f"{INDENT * 3}<td>{cell}</td>"
        yield f"{INDENT * 2}</tr>"
    yield f"{INDENT}</tbody>"
    yield "</table>"


def html_table(frame: pd.DataFrame) -> str:
    """The table of `frame` (its index as the first column)."""
    return "\n".join(_rows(frame))

