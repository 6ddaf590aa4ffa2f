"""A report of a trace whose strings hold HTML and plotly markup, drawn in headless Chromium: the strings stay text."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver
from test_report import browser, charts_drawn, errors, report_of  # noqa: F401 - `browser` is a fixture

from jspiprof.render import views

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"


def test_markup_in_a_trace_is_shown_as_text_and_every_chart_draws(tmp_path: Path, browser: webdriver.Chrome):  # noqa: F811
    """`<!--<script>`, `</script>`, `<a href>`, `<b>`, `<br>`, U+2028 and URLs in function, file, site, entry and
    program names: all 5 charts draw, no link or bold text is made from them, the title stays the trace's name."""
    report = report_of(HOSTILE / "html-markup.jsonl", tmp_path / "report.html")
    page = charts_drawn(browser, report)
    assert page["charts"] == page["svg"] == 5
    assert browser.title == "html-markup.jsonl"
    made = browser.execute_script("""
        const charts = [...document.querySelectorAll('.plotly-graph-div')];
        return {links: charts.flatMap(d => [...d.querySelectorAll('a')]).length + document.links.length,
                bold: charts.flatMap(d => [...d.querySelectorAll('tspan')])
                            .filter(t => (t.getAttribute('style') || '').includes('bold')).length,
                images: document.images.length,
                ticks: charts.flatMap(d => [...d.querySelectorAll('.ytick text')]).map(t => t.textContent)};""")
    assert made["links"] == made["bold"] == made["images"] == 0
    assert 'entry 1 runPythonAsync <b>entry</b><a href="https://evil.example/">x</a>' in made["ticks"]
    assert errors(browser) == []


def test_inline_json_stays_inside_its_script_whatever_its_strings_hold(
    tmp_path: Path,
    browser: webdriver.Chrome,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
):
    """With the labels' own escaping turned off, the trace's `<!--<script>` and `</script>` reach the charts' JSON as
    they are: the JSON is still written so that the page's scripts end where they should and all 5 charts draw."""
    monkeypatch.setattr(views, "label_text", str)
    report = report_of(HOSTILE / "html-markup.jsonl", tmp_path / "report.html")
    assert "<!--<script>" not in report.read_text()
    page = charts_drawn(browser, report)
    assert page["charts"] == page["svg"] == 5
    assert browser.title == "html-markup.jsonl"
    assert errors(browser) == []
