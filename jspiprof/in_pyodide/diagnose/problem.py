"""A diagnosed problem (its class, what happened, where, the fix) and the classes there are."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

CLASSES = (
    "sync-runpython",
    "sync-pyproxy-call",
    "sync-js-callback",
    "reentrant-sync-callback",
    "blocking-api-from-sync",
    "no-jspi",
    "not-awaitable",
    "pyodide-internal",
    "busy-wait-sleep",
)
"""The problem classes, by id."""


@dataclass
class Problem:
    """A diagnosed problem: class id, what happened and where, the location to change, and the fix."""

    class_id: str
    message: str
    location: str | None
    fix: str
    python_chain: list[str] = field(default_factory=list)
    edit: tuple[str, str] | None = None
    """The fix as a text substitution (old, new): on the `location` line for a JS file, else in the Python code."""

    def to_json(self) -> dict[str, str | None]:
        return {"class": self.class_id, "message": self.message, "location": self.location, "fix": self.fix}

    def render(self) -> str:
        """Plain text for a terminal, a console or an exception note."""
        lines = [f"[{self.class_id}] {self.message}"]
        if self.location:
            lines.append(f"  where: {self.location}")
        if self.python_chain:
            lines.append("  Python chain: " + " -> ".join(self.python_chain))
        lines.append("  fix: " + self.fix.replace("\n", "\n       "))
        return "\n".join(lines)


def merge_repeats(problems: list[Problem]) -> list[Problem]:
    """Each problem once, in order of first appearance; a repeated one says how many times it happened."""
    counts = Counter((problem.class_id, problem.location, problem.message) for problem in problems)
    merged: list[Problem] = []
    seen: set[tuple[str, str | None, str]] = set()
    for problem in problems:
        key = (problem.class_id, problem.location, problem.message)
        if key in seen:
            continue
        seen.add(key)
        if counts[key] > 1:
            problem.message += f" (happened {counts[key]} times)"
        merged.append(problem)
    return merged
