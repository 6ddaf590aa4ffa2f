"""The probe answers the hook in one call into Python: a stack it has never named comes with its description, a stack
named before by its id alone (the probe is plain Python: it runs the same on the host)."""

from __future__ import annotations

import json

from jspiprof.in_pyodide import probe


def switch_here() -> int | str:
    return probe.capture()


def sample_here() -> int | str:
    return probe.capture_sample()


def test_a_new_stack_comes_described_and_then_by_its_id() -> None:
    first, again = [switch_here() for _ in range(2)]  # the same stack twice
    description = json.loads(first)
    assert again == description["id"]
    innermost = description["stack"][-1]
    frame = next(frame for frame in description["frames"] if frame["id"] == innermost)
    assert (frame["function"], frame["file"]) == ("switch_here", __file__)


def test_a_sample_of_the_same_lines_is_a_stack_of_its_own() -> None:
    switch, sample, sample_again = [capture() for capture in (switch_here, sample_here, sample_here)]
    described = json.loads(sample)
    assert described["path"] == probe.SAMPLE_PATH
    assert described["id"] != json.loads(switch)["id"]
    assert sample_again == described["id"]
