"""The report's tables are written straight from the columns, exactly as `DataFrame.to_html` writes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jspiprof.render.html_table import html_table


def to_html(frame: pd.DataFrame) -> str:
    return frame.to_html(escape=True, float_format=lambda v: f"{v:,.3f}", na_rep="", border=0)


def columns(frame: pd.DataFrame, as_numpy: bool) -> dict:
    """The columns of `frame` as pandas arrays, or those of a numpy dtype as numpy arrays (as the report's stats)."""
    return {
        name: column.to_numpy() if as_numpy and isinstance(column.dtype, np.dtype) else column.array
        for name, column in frame.items()
    }


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(
            {
                "count": [3, 1],
                "wait_total_ms": [60.0, 25.0005],
                "stack_bytes_mean": [5461.333333, np.nan],
                "paths": ["urllib3, run_sync", "<time.sleep> & co"],
            },
            index=pd.CategoricalIndex(["/app/a.py:4", "/app/<b>.py:12"], name="site"),
        ),
        pd.DataFrame(
            {
                "entry": pd.array([2, None], dtype="Int64"),
                "reason": ["sync-entry", None],
                "depth": [2, 5],
                "flag": [True, False],
            },
            index=pd.Index([94.5, 108602.67912], name="at_ms"),
        ),
        pd.DataFrame(
            {"entries": [1, 600], "depth_max": [4.0, np.nan]}, index=pd.Index(["runPythonAsync", "task"], name="kind")
        ),
        pd.DataFrame({"a": [1.5]}, index=pd.Index([1e-7], name="at_ms")),
        pd.DataFrame({"a": [1.5, 2.5]}, index=pd.Index([1.0, 2.0])),
        pd.DataFrame({"a": [np.inf, -np.inf, np.nan], "n": [1, 2, 3]}, index=pd.RangeIndex(3)),
    ],
    ids=["sites", "failed switches", "kinds", "a tiny time", "no index name", "infinite"],
)
@pytest.mark.parametrize("as_numpy", [True, False], ids=["numpy", "pandas"])
def test_a_table_is_what_to_html_writes(frame: pd.DataFrame, as_numpy: bool) -> None:
    assert html_table(frame.index, columns(frame, as_numpy)) == to_html(frame)
