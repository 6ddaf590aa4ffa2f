"""Hostile inputs for every command: a seeded mutator of traces, and the promises a command keeps on any input.

Used by tests/test_hostile_fixtures.py (every command over tests/fixtures/hostile/), tests/test_fuzz.py (~60 s in
the suite) and benchmarks/fuzz.py (a longer run). The promises: exit status 0, 1 or 2; one sentence, never a
traceback; strict JSON (no NaN or Infinity) wherever JSON is printed or written; bounded time and memory; files
written only where asked (and, on success, there); no control character from the trace on the terminal.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from jspiprof.cli import main

SECONDS = 20.0
"""Longest a command may take on any input."""
MEMORY_BYTES = 2_000_000_000
"""Most memory (peak resident set) a command may use on any input (each fixture and variant is small)."""

COMMANDS: dict[str, list[str]] = {
    "stats": ["stats", "{trace}"],
    "stats --json": ["stats", "--json", "{trace}"],
    "report": ["report", "{trace}", "-o", "{out}/report.html"],
    "export chrome": ["export", "{trace}", "--format", "chrome", "-o", "{out}/chrome.json"],
    "export speedscope": ["export", "{trace}", "--format", "speedscope", "-o", "{out}/speedscope.json"],
    "export parquet": ["export", "{trace}", "--format", "parquet", "-o", "{out}/parquet"],
    "diagnose": ["diagnose", "{trace}"],
    "diagnose --json": ["diagnose", "--json", "{trace}"],
}
"""Every command that reads a trace, with where it is told to write (`{out}`, a folder of its own)."""
PRINTS_JSON = {"stats --json", "diagnose --json"}
TERMINAL_SAFE = {"stats", "diagnose"}
"""Commands whose terminal output is checked for control characters (diagnose's own escaping is issue 21's diagnose
item: add "diagnose" here once it is in)."""
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]")
"""What a terminal acts on (a newline and a tab excepted), line separators and bidi overrides."""


@dataclass
class Outcome:
    """What one command did with one input."""

    command: str
    status: int
    stdout: str
    stderr: str
    seconds: float
    written: list[str]
    """Files in the command's output folder afterwards."""
    error: str | None = None
    """The traceback of an exception that escaped the command (in-process runs only)."""
    peak_bytes: int = 0
    """Peak resident memory (subprocess runs only)."""


def arguments(command: str, trace: Path, out: Path) -> list[str]:
    return [part.format(trace=trace, out=out) for part in COMMANDS[command]]


def run_in_process(command: str, trace: Path, out: Path) -> Outcome:
    """Run `jspiprof COMMAND` on `trace` in this process (click's CliRunner): fast, for many variants."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = CliRunner().invoke(main, arguments(command, trace, out))
    seconds = time.perf_counter() - started
    gc.unfreeze()  # the commands freeze what they read, for a process that ends soon: this one goes on
    error = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        error = "".join(traceback.format_exception(result.exception))
    return Outcome(command, result.exit_code, result.stdout, result.stderr, seconds, sorted(os.listdir(out)), error)


def run_subprocess(command: str, trace: Path, out: Path, cwd: Path) -> Outcome:
    """Run `python -m jspiprof COMMAND` on `trace` as a user would; killed after SECONDS."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "jspiprof", *arguments(command, trace, out)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(out)},
    )
    try:
        stdout, stderr = process.communicate(timeout=SECONDS)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # the largest child so far: an upper bound
    return Outcome(
        command,
        process.returncode,
        stdout.decode("utf-8", "replace"),
        stderr.decode("utf-8", "replace"),
        seconds,
        sorted(os.listdir(out)),
        peak_bytes=peak,
    )


def _strict_json(text: str) -> str | None:
    """Why `text` is not strict JSON, or None when it is."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    try:
        json.loads(text, parse_constant=refuse)
    except ValueError as error:
        return f"not strict JSON: {str(error)[:200]}"
    return None


def problems(outcome: Outcome, out: Path) -> list[str]:
    """Every promise `outcome` broke (none: it kept them all)."""
    found = []
    if outcome.error:
        found.append(f"raised:\n{outcome.error}")
    if outcome.status not in (0, 1, 2):
        found.append(f"exit status {outcome.status}")
    if "Traceback (most recent call last)" in outcome.stderr:
        found.append(f"traceback on stderr:\n{outcome.stderr[-3000:]}")
    if outcome.seconds > SECONDS:
        found.append(f"took {outcome.seconds:.1f} s")
    if outcome.peak_bytes > MEMORY_BYTES:
        found.append(f"used {outcome.peak_bytes / 1e6:,.0f} MB")
    asked = [Path(part).name for part in arguments(outcome.command, Path("trace"), out) if part.startswith(str(out))]
    if outcome.status == 0 and outcome.written != asked or outcome.status != 0 and outcome.written:
        found.append(f"exit status {outcome.status} and wrote {outcome.written} (asked: {asked})")
    if outcome.status == 0 and outcome.command in PRINTS_JSON and (why := _strict_json(outcome.stdout)):
        found.append(f"stdout {why}")
    for name in outcome.written:
        if name.endswith(".json") and (why := _strict_json((out / name).read_text(encoding="utf-8"))):
            found.append(f"{name} {why}")
    if outcome.command in TERMINAL_SAFE and (control := CONTROL.search(outcome.stdout + outcome.stderr)):
        found.append(f"control character {control.group()!r} on the terminal")
    return found


def owner(problem: str) -> str:
    """Whose item of issue 21 a problem is, by the innermost jspiprof module of its traceback: "reader"
    (jspiprof/trace/, and jspiprof/analysis/tables.py, which only turns what the reader accepted into arrays: a value
    it cannot hold is one the reader should have refused), "diagnose" (jspiprof/analysis/diagnoses.py,
    jspiprof/in_pyodide/diagnose*) or "outputs" (everything else)."""
    modules = re.findall(r'File "[^"]*/(jspiprof/[^"]+)"', problem)
    innermost = modules[-1] if modules else ""
    if innermost.startswith(("jspiprof/trace/", "jspiprof/analysis/tables.py")):
        return "reader"
    if "diagnos" in innermost:
        return "diagnose"
    return "outputs"


@dataclass
class Mutator:
    """Seeded changes to a trace's bytes, each as a hostile (or merely broken) writer of traces would make them."""

    rng: random.Random
    applied: list[str] = field(default_factory=list)

    def mutate(self, data: bytes) -> bytes:
        """`data` changed 1 to 3 times; `applied` names the changes."""
        self.applied = []
        for _ in range(self.rng.randint(1, 3)):
            name = self.rng.choice(MUTATIONS)
            self.applied.append(name)
            data = getattr(self, name)(data)
        return data

    def _lines(self, data: bytes) -> list[bytes]:
        return data.split(b"\n")

    def _a_line(self, lines: list[bytes]) -> int:
        return self.rng.randrange(len(lines))

    def flip_bytes(self, data: bytes) -> bytes:
        changed = bytearray(data)
        for _ in range(self.rng.randint(1, 8)):
            if changed:
                changed[self.rng.randrange(len(changed))] ^= 1 << self.rng.randrange(8)
        return bytes(changed)

    def truncate(self, data: bytes) -> bytes:
        return data[: self.rng.randrange(len(data) + 1)]

    def swap_lines(self, data: bytes) -> bytes:
        lines = self._lines(data)
        i, j = self._a_line(lines), self._a_line(lines)
        lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines)

    def repeat_or_drop_line(self, data: bytes) -> bytes:
        lines = self._lines(data)
        i = self._a_line(lines)
        if self.rng.random() < 0.5:
            lines.insert(i, lines[i])
        else:
            del lines[i]
        return b"\n".join(lines)

    def _change_values(self, data: bytes, new_value) -> bytes:  # noqa: ANN001 - a function of the old value
        """One JSON line with one of its values (at any depth) replaced by `new_value(old)`."""
        lines = self._lines(data)
        i = self._a_line(lines)
        try:
            obj = json.loads(lines[i])
        except (ValueError, RecursionError):  # not JSON, or nested deeper than json follows
            return data
        holders = []

        def walk(value: object) -> None:
            if isinstance(value, dict):
                holders.extend((value, key) for key in value)
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                holders.extend((value, index) for index in range(len(value)))
                for item in value:
                    walk(item)

        walk(obj)
        if not holders:
            return data
        holder, key = self.rng.choice(holders)
        holder[key] = new_value(holder[key])
        try:
            lines[i] = json.dumps(obj, ensure_ascii=self.rng.random() < 0.5).encode("utf-8", "surrogatepass")
        except RecursionError:
            return data
        return b"\n".join(lines)

    def change_type(self, data: bytes) -> bytes:
        others = [None, True, 0, -1, 1.5, "", "x", [], {}, [1, "a"], {"a": None}]
        return self._change_values(data, lambda old: self.rng.choice(others))

    def extreme_number(self, data: bytes) -> bytes:
        numbers = [-1, -1e9, -(2**63), 2**63, 2**64 + 1, 10**400, 1e308, -1e308, 5e-324, 0, 2**53 + 1]
        return self._change_values(data, lambda old: self.rng.choice(numbers))

    def deep_nesting(self, data: bytes) -> bytes:
        depth = self.rng.choice([50, 500])
        return self._change_values(data, lambda old: json.loads("[" * depth + "]" * depth))

    def deep_nesting_raw(self, data: bytes) -> bytes:
        """A line whose value nests deeper than a recursive reader can follow (written as text: json cannot)."""
        lines = self._lines(data)
        i = self._a_line(lines)
        depth = self.rng.choice([1000, 1023, 5000, 100_000])
        lines[i] = lines[i].replace(b'"stack": [', b'"stack": ' + b"[" * depth, 1).replace(b"]", b"]" * depth, 1)
        return b"\n".join(lines)

    def odd_unicode(self, data: bytes) -> bytes:
        odd = [
            "\u2028",
            "\u2029",
            "\ud800",
            "\udfff",
            "\ufeff",
            "\x00",
            "\x1b[2J",
            "\x1b]0;title\x07",
            "\u202e",
            "\x9b",
        ]
        return self._change_values(
            data, lambda old: (old if isinstance(old, str) else "") + "".join(self.rng.sample(odd, 3))
        )

    def raw_bytes(self, data: bytes) -> bytes:
        """Bytes JSON escapes would hide: a BOM in front, a NUL, a raw U+2028, CRLF, a blank line, invalid UTF-8."""
        where = self.rng.randrange(len(data) + 1)
        piece = self.rng.choice(
            [b"\xef\xbb\xbf", b"\x00", "\u2028".encode(), b"\r\n", b"\n\n", b"\xff\xfe", b"\x1b[2J"]
        )
        if piece == b"\xef\xbb\xbf":
            return piece + data
        return data[:where] + piece + data[where:]

    def long_string(self, data: bytes) -> bytes:
        size = self.rng.choice([10_000, 1_000_000])
        return self._change_values(data, lambda old: "A" * size)


MUTATIONS = [
    name for name in vars(Mutator) if not name.startswith("_") and callable(getattr(Mutator, name)) and name != "mutate"
]


def seeds(fixtures: Path) -> list[Path]:
    """The traces the mutator starts from: the project's own, valid and broken, and the hostile ones."""
    return sorted(
        [*fixtures.glob("analysis/*.jsonl"), *fixtures.glob("broken/*.jsonl"), *fixtures.glob("hostile/*.jsonl")]
    )


def summary(failures: list[tuple[str, str, str]]) -> str:
    """Failures `(owner, what was run on which input, problem)` grouped by owner and the problem's last line: how
    many, and the first input that showed it."""
    groups: dict[tuple[str, str], list[str]] = {}
    for who, what, problem in failures:
        groups.setdefault((who, problem.strip().splitlines()[-1][:160]), []).append(what)
    return "\n".join(
        f"[{who}] {len(inputs)}x {problem}\n    first: {inputs[0]}" for (who, problem), inputs in sorted(groups.items())
    )
