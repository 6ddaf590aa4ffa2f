"""The shape of one insight, shared by the detectors (`insights`, `failure_insights`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jspiprof.analysis.tables import Tables

MIN_AT_STAKE_US = 10_000.0
MIN_AT_STAKE_SHARE = 0.02


@dataclass
class Insight:
    """One finding: what (`title`), where (`site`), why we think so (`evidence`), the time at stake, and a fix."""

    kind: str
    title: str
    site: str
    evidence: list[str]
    at_stake_us: float
    estimate: str
    suggestion: str


def in_ms(us: float) -> str:
    """Microseconds as milliseconds for a person: `1,234.5 ms`."""
    return f"{us / 1000:,.1f} ms"


def worth_it(tables: Tables, at_stake_us: float | np.ndarray) -> bool | np.ndarray:
    """Whether that much time at stake (a number, or an array of them) is worth an insight: at least
    `MIN_AT_STAKE_US` and `MIN_AT_STAKE_SHARE` of the run's window."""
    return (at_stake_us >= MIN_AT_STAKE_US) & (at_stake_us >= MIN_AT_STAKE_SHARE * tables.duration_us)
