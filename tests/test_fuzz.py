"""Seeded mutations of the fixture traces through the reader and every command, for about a minute: each keeps the
promises of `hostile_inputs.problems` (benchmarks/fuzz.py runs the same for longer)."""

from __future__ import annotations

import random
import time
import traceback
from pathlib import Path

import pytest
from hostile_inputs import COMMANDS, Mutator, owner, problems, run_in_process, run_subprocess, seeds, summary

from jspiprof.trace import TraceError, read_trace

FIXTURES = Path(__file__).parent / "fixtures"
SECONDS = 50.0
"""How long the in-process part runs (variants are tried until then; the same seed gives the same variants)."""
PENDING_ELSEWHERE: set[str] = set()
"""Owners of issue 21's items that are not on this branch yet: their failures are listed, as an expected failure.
Empty this set once the reader's and diagnose's work is merged."""


def read(path: Path) -> str | None:
    """The reader's promise on its own: a trace, or a TraceError (a sentence); anything else is a failure."""
    try:
        read_trace(path)
    except TraceError:
        pass
    except UnicodeDecodeError:
        pass  # a sentence in every command (jspiprof.cli.common)
    except Exception as error:  # noqa: BLE001 - what the fuzzer looks for
        return "reader raised:\n" + "".join(traceback.format_exception(error))
    return None


def test_mutated_traces_keep_every_command_s_promises(tmp_path: Path):
    rng = random.Random(21)
    mutator = Mutator(rng)
    corpus = seeds(FIXTURES)
    failures: list[tuple[str, str, str]] = []  # (owner, what, problem)
    tried = 0
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        seed = rng.choice(corpus)
        trace = tmp_path / f"variant-{tried}.jsonl"
        trace.write_bytes(mutator.mutate(seed.read_bytes()))
        what = f"{seed.name} + {' + '.join(mutator.applied)} ({trace.name})"
        before = len(failures)
        if problem := read(trace):
            failures.append((owner(problem), f"read_trace {what}", problem))
        for command in COMMANDS:
            out = tmp_path / f"out-{tried}-{command.replace(' ', '')}"
            for found in problems(run_in_process(command, trace, out), out):
                failures.append((owner(found), f"{command} {what}", found))
        if tried % 10 and len(failures) == before:
            trace.unlink()  # kept: every tenth (for the few subprocess runs below), and the failing ones
        tried += 1
    assert tried >= 20, f"only {tried} variants in {SECONDS} s"
    kept = [tmp_path / f"variant-{number}.jsonl" for number in (0, 10, 20)]
    for trace in kept:
        for command in ("stats --json", "report"):
            out = tmp_path / f"sub-{trace.stem}-{command.replace(' ', '')}"
            for found in problems(run_subprocess(command, trace, out, cwd=tmp_path), out):
                failures.append((owner(found), f"{command} {trace.name} (subprocess)", found))
    ours = [failure for failure in failures if failure[0] not in PENDING_ELSEWHERE]
    assert ours == [], f"{len(ours)} failures in {tried} variants:\n{summary(ours)}"
    if failures:
        pending = f"{len(failures)} failures in {tried} variants, of items not on this branch yet"
        pytest.xfail(f"{pending}:\n{summary(failures)}")
