"""The Jupyter dashboard runs top to bottom on a real trace and shows the same numbers as the analysis."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbclient
import nbformat
import pytest

from jspiprof import analysis
from jspiprof.trace import read_trace

DASHBOARD = Path(__file__).parent.parent / "dashboards" / "trace.ipynb"
FIXTURES = Path(__file__).parent / "fixtures"


def _run_dashboard(trace: Path, monkeypatch: pytest.MonkeyPatch) -> list[nbformat.NotebookNode]:
    monkeypatch.setenv("JSPIPROF_TRACE", str(trace))
    notebook = nbformat.read(DASHBOARD, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": os.getcwd()}}
    ).execute()
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def test_dashboard_shows_headline_numbers_charts_and_sites_of_the_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = FIXTURES / "small.jsonl"
    expected = analysis.summary(analysis.tables(read_trace(trace)))
    outputs = _run_dashboard(trace, monkeypatch)

    assert not [o for o in outputs if o.output_type == "error"]
    figures = [
        json.loads(json.dumps(o.data["application/vnd.plotly.v1+json"]))
        for o in outputs
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]
    assert len(figures) == 5 and all(figure["data"] for figure in figures)
    headline = next(
        o.data["text/plain"]
        for o in outputs
        if "text/plain" in o.get("data", {}) and "total_wait_ms" in o.data["text/plain"]
    )
    assert re.search(rf"^suspensions\s+{expected['suspensions']}$", headline, re.MULTILINE)
    assert re.search(rf"^failed_switches\s+{expected['failed_switches']}$", headline, re.MULTILINE)
    tables_html = "".join(o.data.get("text/html", "") for o in outputs if "data" in o)
    assert expected["sites"][0]["site"] in tables_html


def test_dashboard_lists_the_insights_the_analysis_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = FIXTURES / "analysis" / "hot_loop.jsonl"
    found = analysis.insights(analysis.tables(read_trace(trace)))
    assert found, "the fixture holds a hot loop"
    outputs = _run_dashboard(trace, monkeypatch)

    markdown = "".join(o.data["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {}))
    assert all(insight.title in markdown for insight in found)
