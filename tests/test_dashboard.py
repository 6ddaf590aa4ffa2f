"""The Jupyter dashboards (overview, compare, fleet) run top to bottom on real traces, headless, and show the same
numbers as `jspiprof stats --json`, `compare` and `fleet`; the interactive view's filters change what its figures
hold; the overview exported to HTML draws its charts in headless Chromium; `%load_ext jspiprof` adds the magics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
from chromium_pages import chromium, drawn_charts
from click.testing import CliRunner
from nbconvert import HTMLExporter
from trace_files import write_trace

import jspiprof
from jspiprof.analysis import summary, tables
from jspiprof.analysis.compare import compare
from jspiprof.analysis.diagnoses import diagnose_trace
from jspiprof.analysis.selection import Selection, selected
from jspiprof.cli import main
from jspiprof.render import views
from jspiprof.trace import read_trace

DASHBOARDS = Path(__file__).parent.parent / "dashboards"
TRACES = DASHBOARDS / "traces"
FIXTURES = Path(__file__).parent / "fixtures"

Outputs = list[nbformat.NotebookNode]


def run_notebook(
    name: str, monkeypatch: pytest.MonkeyPatch, **parameters: Path
) -> tuple[nbformat.NotebookNode, Outputs]:
    """Execute a dashboard in a fresh kernel (from its own folder, as Jupyter does); fails on any cell error."""
    for variable, value in parameters.items():
        monkeypatch.setenv(f"JSPIPROF_{variable}", str(value))
    notebook = nbformat.read(DASHBOARDS / name, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(DASHBOARDS)}}
    ).execute()
    return notebook, [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def data(outputs: Outputs, kind: str) -> list:
    return [output.data[kind] for output in outputs if kind in output.get("data", {})]


def stats_json(trace: Path) -> dict:
    done = CliRunner().invoke(main, ["stats", "--json", str(trace)])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_overview_shows_the_numbers_of_stats_json_its_charts_and_the_diagnosed_failed_switches(monkeypatch) -> None:
    trace = FIXTURES / "small.jsonl"
    expected = stats_json(trace)
    _, outputs = run_notebook("overview.ipynb", monkeypatch, TRACE=trace)

    headline = next(text for text in data(outputs, "text/plain") if "total_wait_ms" in text)
    for key in ("suspensions", "failed_switches", "total_wait_ms", "window_ms", "running_ms", "suspended_ms"):
        assert f"{key}  " in headline and f" {expected[key]}\n" in headline + "\n"
    sites_html = next(html for html in data(outputs, "text/html") if "wait_ms_total" in html)
    for site in expected["sites"]:
        assert site["site"] in sites_html and f"{site['wait_ms_total']}" in sites_html
    figures = data(outputs, "application/vnd.plotly.v1+json")
    assert len(figures) == 5 and all(figure["data"] for figure in figures)
    (problem,) = diagnose_trace(read_trace(trace))
    assert f"**{problem.class_id}**" in "".join(data(outputs, "text/markdown"))
    assert data(outputs, "application/vnd.jupyter.widget-view+json")  # the interactive view


def test_overview_opens_on_the_shipped_trace_and_lists_its_findings(monkeypatch) -> None:
    expected = stats_json(TRACES / "crawler.jsonl")
    assert expected["insights"], "the crawler waits one request after the other"
    _, outputs = run_notebook("overview.ipynb", monkeypatch)
    markdown = "".join(data(outputs, "text/markdown"))
    assert all(insight["title"] in markdown for insight in expected["insights"])


def test_compare_shows_the_numbers_of_jspiprof_compare(monkeypatch) -> None:
    before, after = TRACES / "crawler.jsonl", TRACES / "crawler_concurrent.jsonl"
    expected = compare(tables(read_trace(before)), tables(read_trace(after)))
    _, outputs = run_notebook("compare.ipynb", monkeypatch, BEFORE=before, AFTER=after)
    saved = next(text for text in data(outputs, "text/plain") if "total_wait_ms" in text)
    assert f"{expected['before']['total_wait_ms']}" in saved and f"{expected['wait_saved_ms']}" in saved
    sites_html = next(html for html in data(outputs, "text/html") if "wait_ms_saved" in html)
    top = expected["sites"][0]
    assert top["site"] in sites_html and f"{top['wait_ms_saved']}" in sites_html and "faster" in sites_html
    (figure,) = data(outputs, "application/vnd.plotly.v1+json")
    assert figure["data"][0]["type"] == "icicle"


def test_fleet_shows_the_numbers_of_jspiprof_fleet(monkeypatch, tmp_path: Path) -> None:
    site = ("/app/main.py", 10, "fetch")
    write_trace(tmp_path / "a.jsonl", [(*site, 10.0), (*site, 20.0)])
    write_trace(tmp_path / "b.jsonl", [(*site, 100.0)])
    write_trace(tmp_path / "c.jsonl", [(*site, 3.0)])
    (tmp_path / "broken.jsonl").write_text("not a trace\n")
    _, outputs = run_notebook("fleet.ipynb", monkeypatch, FLEET=tmp_path)
    sites_html = next(html for html in data(outputs, "text/html") if "wait_ms_p95" in html)
    assert "/app/main.py:10" in sites_html and "<td>93.0</td>" in sites_html  # 30 + 0.9 x (100 - 30)
    assert "3 traces, 1 skipped" in "".join(output.get("text", "") for output in outputs)


def test_the_dashboard_filters_change_what_its_figures_and_tables_hold() -> None:
    t = tables(read_trace(TRACES / "crawler.jsonl"))
    view = jspiprof.dashboard(t)
    everything = summary(t)
    assert f"<b>{everything['suspensions']:,}</b> suspensions" in view.headline.value

    view.path.value = "run_sync"
    only = summary(selected(t, Selection(path="run_sync")))
    assert 0 < only["suspensions"] < everything["suspensions"]
    assert f"<b>{only['suspensions']:,}</b> suspensions" in view.headline.value
    assert list(view.flame_graph.data[0].ids) == list(
        views.flame_graph(selected(t, Selection(path="run_sync")), "wait").data[0].ids
    )
    assert only["sites"][0]["site"] in view.sites.value and everything["sites"][0]["site"] not in view.sites.value

    view.path.value = "(all)"
    middle_ms = (t.arrays.suspensions["start_us"][everything["suspensions"] // 2] - t.start_us) / 1000
    view.window.value = (0.0, middle_ms)
    half = summary(selected(t, Selection(start_ms=0.0, end_ms=view.window.value[1])))
    assert 0 < half["suspensions"] < everything["suspensions"]
    assert f"<b>{half['suspensions']:,}</b> suspensions" in view.headline.value

    view.window.value = (0.0, view.window.max)
    view.site.value = everything["sites"][0]["site"]
    assert f"<b>{everything['sites'][0]['count']:,}</b> suspensions" in view.headline.value


def test_the_overview_exported_to_html_draws_its_charts_in_chromium(monkeypatch, tmp_path: Path) -> None:
    notebook, _ = run_notebook("overview.ipynb", monkeypatch, TRACE=TRACES / "crawler.jsonl")
    page = tmp_path / "overview.html"
    page.write_text(HTMLExporter().from_notebook_node(notebook)[0], encoding="utf-8")
    with chromium() as browser:
        charts = drawn_charts(browser, page, at_least=5)
    assert charts[1:4] == ["icicle", "icicle", "bar"]  # flame chart, flame graphs, wait histogram, depth against wait


def test_magics_show_a_trace_s_report_and_run_a_cell_in_pyodide(jspiprof_runtime, tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext jspiprof"),
            nbformat.v4.new_code_cell(f"%jspiprof_report {TRACES / 'crawler.jsonl'}"),
            nbformat.v4.new_code_cell(
                "%%jspiprof\nimport time\ntime.sleep(0.05)\nprint('slept in', __import__('sys').platform)"
            ),
        ]
    )
    nbclient.NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    report, cell = ([output for output in c.outputs] for c in notebook.cells[1:])
    expected = stats_json(TRACES / "crawler.jsonl")
    assert f"total wait: {expected['total_wait_ms']:,.1f} ms" in "".join(data(report, "text/markdown"))
    assert len(data(report, "application/vnd.plotly.v1+json")) == 2
    assert "slept in emscripten" in "".join(output.get("text", "") for output in cell)
    (text,) = data(cell, "text/markdown")
    assert "suspensions: 1 " in text and "time.sleep" in text


def test_importing_jspiprof_loads_no_host_library_as_it_is_also_imported_inside_pyodide() -> None:
    code = "import sys, jspiprof; print(sorted({'pandas', 'IPython', 'ipywidgets', 'plotly'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"
