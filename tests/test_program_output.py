"""The host's side of a browser run's output: the page's numbered chunks of stdout and stderr are written in number
order, and none that arrived is lost."""

from __future__ import annotations

import io

from jspiprof.runtime.program_server import OrderedOutput


def test_chunks_are_written_in_number_order_and_those_after_a_lost_one_when_the_run_ends() -> None:
    streams = {"stdout": io.BytesIO(), "stderr": io.BytesIO()}
    output = OrderedOutput(streams)
    output.add(1, "stdout", b"b")
    output.add(0, "stdout", b"a")
    output.add(3, "stderr", b"d")  # chunk 2 never comes: the page could not send it
    output.add(4, "stdout", b"e")
    assert (streams["stdout"].getvalue(), streams["stderr"].getvalue()) == (b"ab", b"")
    output.finish()
    assert (streams["stdout"].getvalue(), streams["stderr"].getvalue()) == (b"abe", b"d")
