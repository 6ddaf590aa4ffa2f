"""The shape of one insight, shared by the detectors (`insights`, `failure_insights`)."""

from __future__ import annotations

from dataclasses import dataclass


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
