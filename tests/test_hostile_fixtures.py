"""Every command over every hostile input in tests/fixtures/hostile/ (ours, the reader's `reader-*`, diagnose's
`diagnose-*`), run as a user runs it: each keeps the promises of `hostile_inputs.problems`."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_inputs import COMMANDS, problems, run_subprocess

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("fixture", sorted(path.name for path in HOSTILE.iterdir()))
def test_every_command_keeps_its_promises_on_every_hostile_input(tmp_path: Path, fixture: str, command: str):
    """Exit status 0, 1 or 2, no traceback, strict JSON, at most 20 s and 2 GB, files written only where asked."""
    out = tmp_path / "out"
    outcome = run_subprocess(command, HOSTILE / fixture, out, cwd=tmp_path)
    assert problems(outcome, out) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]  # nothing in the working folder
