"""Stack-switching budgets: what `@pytest.mark.jspiprof_budget(...)` limits, measured on a test's own trace.

Every number comes from `jspiprof.analysis`, the same as `jspiprof stats --json` prints for that trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jspiprof.analysis import Tables, longest_sequential_run, summary

BUDGETS = {
    "max_suspensions": "suspensions",
    "max_wait_ms": "wait_ms",
    "max_failed_switches": "failed_switches",
    "max_sequential_waits": "sequential_waits",
    "max_cpu_ms": "cpu_ms",
}
"""Each budget a marker may set, and the `Measures` field it limits."""

TOP_SITES = 5
"""How many sites a budget failure lists."""


@dataclass(frozen=True)
class Measures:
    """A test's numbers, as its budgets see them.

    - `suspensions`, `failed_switches`: counts; `wait_ms`: total wait of its suspensions.
    - `sequential_waits`: the most waits made one after another at one site (`sequential_site`) in one entry.
    - `cpu_ms`: time Python ran: sampled CPU time (`cpu.python_ms` of `jspiprof stats --json`) when the trace has
      CPU samples, else running Python from the time accounting (`running_ms`).
    - `sites`: (site, suspensions, wait ms), most suspensions first; `failed_sites`: (site, failed switches).
    """

    suspensions: int
    wait_ms: float
    failed_switches: int
    sequential_waits: int
    sequential_site: str | None
    cpu_ms: float
    sites: list[tuple[str, int, float]]
    failed_sites: list[tuple[str, int]]


def measure(t: Tables) -> Measures:
    """The numbers every budget is checked against."""
    numbers = summary(t)
    longest, longest_site = longest_sequential_run(t)
    sites = sorted(
        ((site["site"], site["count"], site["wait_ms_total"]) for site in numbers["sites"]),
        key=lambda site: (-site[1], -site[2]),
    )
    failed = t.failed_switches["site"].fillna("<library>").value_counts() if len(t.failed_switches) else {}
    return Measures(
        suspensions=numbers["suspensions"],
        wait_ms=numbers["total_wait_ms"],
        failed_switches=numbers["failed_switches"],
        sequential_waits=longest,
        sequential_site=longest_site,
        cpu_ms=numbers["cpu"]["python_ms"] if numbers["cpu"]["samples"] else numbers["running_ms"],
        sites=sites,
        failed_sites=[(str(site), int(count)) for site, count in dict(failed).items()],
    )


def limits_of(marker_kwargs: dict[str, object]) -> dict[str, float]:
    """The budgets a marker sets; a ValueError names an unknown budget or a limit that is not a number."""
    unknown = sorted(set(marker_kwargs) - set(BUDGETS))
    if unknown:
        raise ValueError(f"unknown budget {', '.join(unknown)}; the budgets are {', '.join(BUDGETS)}.")
    for name, limit in marker_kwargs.items():
        if isinstance(limit, bool) or not isinstance(limit, int | float):
            raise ValueError(f"the budget {name}={limit!r} is not a number.")
    return {name: float(limit) for name, limit in marker_kwargs.items()}  # type: ignore[arg-type]


def _measured(name: str, measures: Measures) -> str:
    value = getattr(measures, BUDGETS[name])
    if name == "max_sequential_waits":
        return f"{value} waits one after another at {measures.sequential_site}"
    if name.endswith("_ms"):
        return f"{value:,.1f} ms" + (" of Python CPU time" if name == "max_cpu_ms" else " of waiting")
    return f"{value} {BUDGETS[name].replace('_', ' ')}"


def exceeded(limits: dict[str, float], measures: Measures) -> list[str]:
    """One line per budget the test went over: the budget, its limit and the measured value."""
    return [
        f"{name}={limit:g} exceeded: measured {_measured(name, measures)}"
        for name, limit in limits.items()
        if getattr(measures, BUDGETS[name]) > limit
    ]


def failure_message(over: list[str], measures: Measures, trace_path: Path) -> str:
    """The failure a test over budget reports: the budgets it went over, its top sites, and where its trace is."""
    lines = [f"jspiprof budget: {line}" for line in over]
    if measures.sites:
        lines.append("top sites (suspensions, wait):")
        lines += [f"  {site}: {count} suspensions, {wait:,.1f} ms" for site, count, wait in measures.sites[:TOP_SITES]]
    if measures.failed_sites:
        lines.append("failed switches:")
        lines += [f"  {site}: {count} failed switches" for site, count in measures.failed_sites[:TOP_SITES]]
    lines.append(f"trace: {trace_path} (jspiprof report {trace_path})")
    return "\n".join(lines)
