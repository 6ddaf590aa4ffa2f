"""`jspiprof.dashboard(trace)`: a trace in Jupyter, filtered by entry kind, path, site and time window, with the
headline numbers, the flame graph, the wait histogram and the site table following the filters."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import plotly.graph_objects as go

from jspiprof.analysis import Tables, site_stats, summary, tables
from jspiprof.analysis.selection import Selection, selected
from jspiprof.render import views
from jspiprof.trace import Trace, read_trace

ALL = "(all)"


def _choices(values: object) -> list[str]:
    return [ALL, *sorted(map(str, values.categories))]  # type: ignore[attr-defined]  # a pandas Categorical


def _headline(t: Tables) -> str:
    numbers = summary(t)
    return (
        f"<b>{numbers['suspensions']:,}</b> suspensions, <b>{numbers['total_wait_ms']:,.1f} ms</b> total wait, "
        f"<b>{len(numbers['sites'])}</b> sites"
    )


class Dashboard(widgets.VBox):
    """The dashboard widget: `controls` (entry kind, path, site, time window), then `headline`, `flame_graph`,
    `wait_histogram` (plotly FigureWidgets) and `sites` (HTML table), all of the `selection` of `tables`."""

    def __init__(self, t: Tables) -> None:
        s = t.arrays.suspensions
        self.tables = t
        self.entry_kind = widgets.Dropdown(options=_choices(s["kind"]), description="entry")
        self.path = widgets.Dropdown(options=_choices(s["path"]), description="path")
        self.site = widgets.Dropdown(options=_choices(s["site"]), description="site", layout={"width": "60%"})
        window_ms = max(t.duration_us / 1000, 0.001)
        self.window = widgets.FloatRangeSlider(
            value=(0.0, window_ms), min=0.0, max=window_ms, step=window_ms / 1000, description="window ms"
        )
        self.headline = widgets.HTML()
        self.flame_graph = go.FigureWidget()
        self.wait_histogram = go.FigureWidget()
        self.sites = widgets.HTML()
        controls = [self.entry_kind, self.path, self.site, self.window]
        for control in controls:
            control.observe(lambda _change: self.update(), names="value")
        super().__init__(
            [
                widgets.HBox(controls[:2]),
                self.site,
                self.window,
                self.headline,
                self.flame_graph,
                self.wait_histogram,
                self.sites,
            ]
        )
        self.update()

    @property
    def selection(self) -> Selection:
        """What the controls select."""
        start_ms, end_ms = self.window.value

        def chosen(dropdown: widgets.Dropdown) -> str | None:
            return None if dropdown.value == ALL else dropdown.value

        return Selection(chosen(self.entry_kind), chosen(self.path), chosen(self.site), start_ms, end_ms)

    def update(self) -> None:
        """Redraw every view for the current selection."""
        t = selected(self.tables, self.selection)
        self.headline.value = _headline(t)
        for widget, figure in (
            (self.flame_graph, views.flame_graph(t, "wait")),
            (self.wait_histogram, views.wait_histogram(t)),
        ):
            with widget.batch_update():
                widget.data = ()
                widget.add_traces(list(figure.data))
                widget.layout = figure.layout
        self.sites.value = site_stats(t).to_html(float_format="{:,.1f}".format)


def dashboard(trace: str | Path | Trace | Tables) -> Dashboard:
    """An interactive view of a trace (a path, a `Trace` or its `Tables`) for Jupyter: pick an entry kind, a path, a
    site or a time window and the numbers, charts and tables follow."""
    if isinstance(trace, Tables):
        return Dashboard(trace)
    return Dashboard(tables(trace if isinstance(trace, Trace) else read_trace(trace)))
