"""A self-contained HTML page (works offline) of headings, tables and plotly figures, for compare and fleet."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
    "th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
    "td:first-child,th:first-child{text-align:left}.cards span{display:inline-block;margin:0 2em 1em 0}"
    ".cards b{display:block;font-size:20px}"
)

Section = str | go.Figure
"""A part of the page: HTML (text escaped, as `cards`, `heading` and `table` make it) or a figure."""


def cards(numbers: dict[str, str]) -> str:
    """Headline numbers as a row of labelled values."""
    return (
        '<div class="cards">'
        + "".join(f"<span>{html.escape(label)}<b>{html.escape(value)}</b></span>" for label, value in numbers.items())
        + "</div>"
    )


def heading(text: str) -> str:
    return f"<h2>{html.escape(text)}</h2>"


def paragraph(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def table(rows: Sequence[dict[str, Any]], empty: str) -> str:
    """Rows of one dict each as an HTML table, or `empty` in a paragraph when there are none."""
    return pd.DataFrame(list(rows)).to_html(index=False, na_rep="") if rows else f"<p>{html.escape(empty)}</p>"


def render(title: str, sections: Sequence[Section]) -> str:
    """The page: plotly.js is embedded once, before the first figure."""
    parts, plotly_included = [], False
    for section in sections:
        if isinstance(section, go.Figure):
            parts.append(pio.to_html(section, full_html=False, include_plotlyjs=not plotly_included))
            plotly_included = True
        else:
            parts.append(section)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{''.join(parts)}</body></html>"
    )
