"""Analysis of a trace: `tables(trace)` makes `Tables`, the pivot every analysis, view and exporter takes; then
per-site statistics, time accounting, insights and the summary `jspiprof stats` and `jspiprof run` print."""

from jspiprof.analysis.insights import Insight, insights, longest_sequential_run
from jspiprof.analysis.stats import (
    TimeAccounting,
    kind_stats,
    path_stats,
    running_before_switch,
    site_stats,
    time_accounting,
    wait_stats,
)
from jspiprof.analysis.summary import summary
from jspiprof.analysis.tables import LIBRARY_SITE, Tables, tables

__all__ = [
    "LIBRARY_SITE",
    "Insight",
    "Tables",
    "TimeAccounting",
    "insights",
    "kind_stats",
    "longest_sequential_run",
    "path_stats",
    "running_before_switch",
    "site_stats",
    "summary",
    "tables",
    "time_accounting",
    "wait_stats",
]
