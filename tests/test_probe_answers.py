"""The probe answers the hook in one call into Python: a switch's stack it has never named comes with its description,
one named before by its id alone; a sample gets the frame id of each frame, with its code (the probe is plain Python:
it runs the same on the host)."""

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


def test_a_sample_names_each_frame_along_the_chain_with_its_code() -> None:
    first, again = [sample_here() for _ in range(2)]  # the same stack twice
    first, again = json.loads(first), json.loads(again)
    innermost_id, innermost_code = first["chain"][0]
    assert innermost_code == id(sample_here.__code__)
    frame = next(frame for frame in first["frames"] if frame["id"] == innermost_id)
    assert (frame["function"], frame["line"]) == ("sample_here", sample_here.__code__.co_firstlineno + 1)
    assert again == {"frames": [], "chain": first["chain"]}, "each frame is sent once"
