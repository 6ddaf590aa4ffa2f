"""What `stats`, `report` and `export` write from a hostile trace: strict JSON, escaped terminal text, one sentence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from jspiprof.cli import main

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
ANALYSIS = Path(__file__).parent / "fixtures" / "analysis"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]")
"""Control characters a terminal acts on (a newline and a tab excepted), and separators and bidi overrides."""


def strict_json(text: str) -> object:
    """`text` parsed as JSON by a parser that refuses NaN and Infinity."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def jspiprof(*args: str | Path) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)
    return done.exit_code, done.stdout, done.stderr


def test_speedscope_export_of_suspensions_without_entry_is_strict_json(tmp_path: Path):
    """A suspension outside any entry has no running time before it: its weight is 0, not NaN."""
    status, _, _ = jspiprof("export", ANALYSIS / "no_entry.jsonl", "--format", "speedscope", "-o", tmp_path / "s.json")
    assert status == 0
    document = strict_json((tmp_path / "s.json").read_text())
    running = document["profiles"][1]
    assert running["weights"] == [1000.0, 900.0, 800.0, 0.0] and running["endValue"] == 2700.0


def test_stats_json_of_waits_that_overflow_is_strict_json():
    """Waits beyond 2^53 µs (their sum more than a float holds) are skipped by the reader, with a counted warning:
    the totals stay finite, never Infinity or NaN."""
    status, out, err = jspiprof("stats", "--json", HOSTILE / "overflow-waits.jsonl")
    assert status == 0
    result = strict_json(out)
    assert result["total_wait_ms"] == 0.0 and result["suspensions"] == 0
    assert "4 lines of the trace were skipped for impossible values" in err


@pytest.mark.parametrize("fixture", ["argv-not-strings.jsonl", "argv-a-number.jsonl"])
@pytest.mark.parametrize("format_", ["chrome", "speedscope"])
def test_exports_name_the_program_whatever_its_argv_holds(tmp_path: Path, fixture: str, format_: str):
    status, _, err = jspiprof("export", HOSTILE / fixture, "--format", format_, "-o", tmp_path / "out.json")
    assert status == 0, err
    document = strict_json((tmp_path / "out.json").read_text())
    program = document["otherData"]["program"] if format_ == "chrome" else document["name"]
    assert program == ("1 None {'a': [2]} 3.5" if fixture == "argv-not-strings.jsonl" else fixture)


def test_stats_shows_the_trace_s_control_characters_escaped_never_sends_them():
    """Clear-screen, set-title, a C1 CSI, a bidi override, U+2028 and a carriage return in sites, files, functions
    and entry names: each is printed as its escape (ESC as the four characters \\x1b)."""
    status, out, _ = jspiprof("stats", HOSTILE / "terminal-escapes.jsonl")
    assert status == 0
    assert not CONTROL.search(out)
    assert "/home/app/\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07\\x9b31m\\u202e\\u2028\\x0dapp.py:4" in out
