"""The CPU hot spot finding: the function whose code costs the most Python time, told as a person looks for it
("render_rows: 48% of Python time, 93% of it in churn at line 10"), with the callers of a helper called from
several places.

Only stacks that hold some of the user's own code count: time spent wholly inside libraries (the event loop
between tasks, jspiprof's own start-up) is nothing the user can fix in their code, and neither is the time of
importing a library (`import requests` at the top of a script runs importlib below the user's line).
"""

from __future__ import annotations

from dataclasses import dataclass

from jspiprof.analysis.cpu import FrameDetails, callers_of, cpu_profile, frame_details
from jspiprof.analysis.insight import Insight, in_ms, worth_it
from jspiprof.analysis.tables import Tables

CPU_MIN_SAMPLES = 20
"""A CPU hot spot needs at least this many samples in the trace (fewer say little about where time goes)..."""
CPU_MIN_SHARE = 0.3
"""...and one function on top of the stack in at least this share of Python time, or else Python running for at
least CPU_DOMINATES of the run: a loop of tiny switches spreads its samples over the event loop's functions (the
hottest ~15-25%), which is no hot spot to fix."""
CPU_DOMINATES = 0.5
OWNER_MIN_SHARE = 0.5
"""The function named is the one whose code holds the hottest function's time: its caller (the nearest of the
user's functions below it) when that caller accounts for at least this share of it, else the function itself."""

IMPORTLIB_FILES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
"""The files of the import machinery (frozen into CPython) as `co_filename` names them."""

Function = tuple[str, str]
"""A function as the trace names it: (`co_qualname`, file)."""


@dataclass(frozen=True)
class HotSpot:
    """Where the time goes: `hottest` on top of the stack for `self_us` (its busiest `line`), inside `owner`
    (`owner_us` in all with what it calls, `owner_in_line_us` of that with `hottest` on top at `line`)."""

    hottest: Function
    self_us: float
    line: int
    owner: Function
    owner_us: float
    owner_in_line_us: float
    python_us: float


def hot_spot(tables: Tables) -> HotSpot | None:
    """The hottest function by self time over the stacks that hold user code, and the function that owns it."""
    profile = cpu_profile(tables)
    frames = frame_details(tables)
    weighted = [
        (stack, weight)
        for stack, weight in zip(profile.stacks["frames"], profile.stacks["weight_us"].tolist())
        if _in_user_code(stack, frames)
    ]
    if not weighted:
        return None
    self_us: dict[Function, float] = {}
    for stack, weight in weighted:
        self_us[_function(frames[stack[-1]])] = self_us.get(_function(frames[stack[-1]]), 0.0) + weight
    hottest = min(self_us, key=lambda function: (-self_us[function], function))
    lines: dict[int, float] = {}
    owners: dict[Function, float] = {}
    for stack, weight in weighted:
        if _function(frames[stack[-1]]) != hottest:
            continue
        lines[frames[stack[-1]].line] = lines.get(frames[stack[-1]].line, 0.0) + weight
        owner = next((frames[frame] for frame in reversed(stack[:-1]) if not frames[frame].library), None)
        if owner is not None and owner.function != "<module>":
            owners[_function(owner)] = owners.get(_function(owner), 0.0) + weight
    line = min(lines, key=lambda number: (-lines[number], number))
    owner = min(owners, key=lambda function: (-owners[function], function), default=hottest)
    if owners.get(owner, 0.0) < OWNER_MIN_SHARE * self_us[hottest] or owner == hottest:
        owner = hottest
    owner_us = owner_in_line_us = 0.0
    for stack, weight in weighted:
        functions = [_function(frames[frame]) for frame in stack]
        if owner not in functions:
            continue
        owner_us += weight
        if functions[-1] == hottest and frames[stack[-1]].line == line:
            owner_in_line_us += weight
    return HotSpot(hottest, self_us[hottest], line, owner, owner_us, owner_in_line_us, profile.python_us)


def _in_user_code(stack: list[int], frames: dict[int, FrameDetails]) -> bool:
    """True when the user's code runs in `stack` (outermost first), not a library the user's code is importing."""
    users = [depth for depth, frame in enumerate(stack) if not frames[frame].library]
    importing = [depth for depth, frame in enumerate(stack) if frames[frame].file.startswith(IMPORTLIB_FILES)]
    return bool(users) and (not importing or importing[-1] < users[-1])


def _function(frame: FrameDetails) -> Function:
    return frame.function, frame.file


def cpu_hot_spot(tables: Tables, running_us: float) -> list[Insight]:
    """The CPU hot spot finding, when one function's code takes a large share of Python time (`running_us`: the
    run's running-Python time)."""
    if len(tables.samples) < CPU_MIN_SAMPLES:
        return []
    spot = hot_spot(tables)
    if spot is None or not worth_it(tables, spot.self_us):
        return []
    share = spot.self_us / spot.python_us
    if share < CPU_MIN_SHARE and running_us < CPU_DOMINATES * tables.duration_us:
        return []
    (name, file), (owner, owner_file) = spot.hottest, spot.owner
    site = f"{file}:{spot.line}"
    within = spot.owner_in_line_us / spot.owner_us
    where = f"at line {spot.line}" if spot.owner == spot.hottest else f"in {name} at line {spot.line}"
    evidence = [
        f"{owner} ({owner_file}) runs in {spot.owner_us / spot.python_us:.0%} of Python time "
        f"({in_ms(spot.owner_us)} of {in_ms(spot.python_us)}, with what it calls); {within:.0%} of it {where}",
        f"{name} is on top of the stack for {in_ms(spot.self_us)} ({share:.0%} of Python time)",
    ]
    callers = callers_of(tables, name, file)
    if len(callers) > 1:
        shares = ", ".join(f"{row.caller} {row.self_us / spot.self_us:.0%}" for row in callers.head(5).itertuples())
        evidence.append(f"{name} is called from several places: {shares}")
    return [
        Insight(
            kind="cpu-hot-spot",
            title=f"CPU hot spot: {owner}: {spot.owner_us / spot.python_us:.0%} of Python time, {within:.0%} of it "
            + where,
            site=site,
            evidence=evidence,
            at_stake_us=spot.self_us,
            estimate=f"the sampled time with {name} on top of the stack (its own code, not what it calls)",
            suggestion=f"Make {name} cheaper (start at {site}) or call it less often"
            + (" from its busiest callers" if len(callers) > 1 else "")
            + ": cache results, move work out of the loop, or use a builtin or a vectorised library for it.",
        )
    ]
