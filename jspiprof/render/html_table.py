"""A table as the HTML `DataFrame.to_html(escape=True, na_rep="", border=0)` writes, numbers with three decimals and
thousands separators, written straight from the columns (to_html and its DataFrame cost milliseconds per table)."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping
from math import isnan
from typing import Any

import numpy as np
import pandas as pd

INDENT = "  "


def _escaped(value: object) -> str:
    return html.escape(str(value), quote=False)


def _texts(kind: str) -> Callable[[object], str]:
    """How to_html writes a value of a column of this dtype kind: floats with three decimals, integers plainly."""
    return (lambda v: f"{v:,.3f}") if kind == "f" else str if kind in "iub" else _escaped


def _cells(column: Any) -> list[str]:
    """The text of each value of a column (a numpy or pandas array): missing values empty (but pandas' NA of a
    nullable integer column is "<NA>")."""
    kind = column.dtype.kind
    if isinstance(column, np.ndarray) and kind in "iub":  # never missing
        return list(map(str, column.tolist()))
    if isinstance(column, np.ndarray) and kind == "f":
        return ["" if isnan(value) else f"{value:,.3f}" for value in column.tolist()]
    values = np.asarray(column, dtype=object)
    text = _texts(kind)
    return [
        (_escaped(value) if value is pd.NA else "") if gap else text(value)
        for value, gap in zip(values.tolist(), pd.isna(values).tolist())
    ]


def _index_cells(index: pd.Index) -> list[str]:
    """The row labels as to_html writes them (a float index in pandas' own float format, not with three decimals)."""
    if index.dtype.kind == "f":
        return [text.strip() for text in pd.Series(index.to_numpy()).to_string(index=False).split("\n")]
    return _cells(index.array)


def _rows(index: pd.Index, columns: Mapping[Any, Any]) -> Iterator[str]:
    yield '<table class="dataframe">'
    yield f"{INDENT}<thead>"
    yield f'{INDENT * 2}<tr style="text-align: right;">'
    yield f"{INDENT * 3}<th></th>"
    for name in columns:
        yield f"{INDENT * 3}<th>{_escaped(name)}</th>"
    yield f"{INDENT * 2}</tr>"
    if index.name is not None:
        yield f"{INDENT * 2}<tr>"
        yield f"{INDENT * 3}<th>{_escaped(index.name)}</th>"
        for _ in columns:
            yield f"{INDENT * 3}<th></th>"
        yield f"{INDENT * 2}</tr>"
    yield f"{INDENT}</thead>"
    yield f"{INDENT}<tbody>"
    for label, *cells in zip(_index_cells(index), *map(_cells, columns.values())):
        yield f"{INDENT * 2}<tr>"
        yield f"{INDENT * 3}<th>{label}</th>"
        for cell in cells:
            yield f"{INDENT * 3}<td>{cell}</td>"
        yield f"{INDENT * 2}</tr>"
    yield f"{INDENT}</tbody>"
    yield "</table>"


def html_table(index: pd.Index, columns: Mapping[Any, Any]) -> str:
    """The table of `columns` (numpy or pandas arrays, each as long as `index`), with `index` as its first column:
    what `pd.DataFrame(columns, index=index).to_html(...)` writes."""
    return "\n".join(_rows(index, columns))
