"""One trace file from the streams of every Pyodide instance of a page, written as the batches arrive.

Each instance (the page's main thread, a worker) streams its own trace (`js/post-trace-writer.mjs`), with its own
ids and its own clock origin. The merger gives each an `instance` number, an `instance` line and `instance` fields,
renumbers ids so they stay unique in the whole trace (frames and sample stacks that are equal share one id), and
moves times onto the trace's clock through each instance's `origin_unix_ms`. The file is a valid trace after every
batch, so a page that crashes or closes keeps what it recorded.

A page can post anything: each line is checked as the trace reader checks it, first in its stream, then as written.
A line that is not a valid trace line is left out and costs its stream one warning; nothing else happens.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from orjson import JSONDecodeError, loads

from jspiprof.trace.checker import LineChecker
from jspiprof.trace.checks import ENTRY_END_FIELDS, LARGEST_NUMBER, LINE_TYPES, RUNTIME_VALUES, header, quoted
from jspiprof.trace.model import SCHEMA, VERSION, TraceError
from jspiprof.trace.sources import LONGEST_LINE

INSTANCES_AT_MOST = 64
"""Streams a recording takes; a page that starts more gets a warning."""
BATCHES_WAITING_AT_MOST = 64
"""Batches of one stream kept while an earlier one has not arrived."""
WHERE = ("page", "worker")
_KNOWN_FIELDS = {
    kind: frozenset(line_type.fields) | frozenset(ENTRY_END_FIELDS if kind == "entry" else ())
    for kind, line_type in LINE_TYPES.items()
}
"""The fields of each line type the format knows (an entry that ended before its line was written carries its
end's fields too)."""


@dataclass
class _Stream:
    """One instance's stream: where it runs, its batches in order, its ids mapped onto the trace's."""

    where: str
    url: str | None
    instance: int | None = None
    offset_us: float = 0.0
    next_batch: int = 0
    waiting: dict[int, list[str]] = field(default_factory=dict)
    lines: int = 0
    checker: LineChecker = field(default_factory=LineChecker)
    frames: dict[int, int] = field(default_factory=dict)
    entries: dict[int, int] = field(default_factory=dict)
    sample_stacks: dict[int, int] = field(default_factory=dict)
    refused: bool = False
    warned: bool = False
    ended_us: float | None = None
    """When the instance closed its own trace (its `end` line), on the trace's clock."""


class TraceMerger:
    """Writes the merged trace to `path` (created at the first instance's header; an older file is removed now).

    `origin_unix_ms` is the trace's time 0 (before any instance started); `program` goes into the header; `warn`
    gets each warning, one sentence.
    """

    def __init__(self, path: Path, origin_unix_ms: float, program: dict[str, Any], warn: Callable[[str], None]):
        self.path = path
        self.origin_unix_ms = origin_unix_ms
        self.program = program
        self.warn = warn
        path.unlink(missing_ok=True)
        self.file: TextIO | None = None
        self.checker = LineChecker()
        self.written = 0
        self.streams: dict[str, _Stream] = {}
        self.frame_ids: dict[tuple[Any, ...], int] = {}
        self.sample_stack_ids: dict[tuple[int, ...], int] = {}
        self.next_entry = 0
        self.next_suspension = 0
        self.dropped = 0
        self.closed = False
        self.exit_status: int | None = None
        """The program's exit status, when an instance closed its trace with one (`jspiprof run --browser`)."""
        self.warned_posts = False
        self.lock = threading.Lock()

    @property
    def started(self) -> bool:
        """Whether the trace file exists: an instance has sent its header."""
        return self.file is not None

    @property
    def instances(self) -> int:
        """How many instances have started streaming."""
        return sum(1 for stream in self.streams.values() if stream.instance is not None)

    def add(self, body: bytes) -> None:
        """Take one POSTed batch: a line naming its stream and number, then trace lines (JSON Lines)."""
        with self.lock:
            if self.closed:
                return
            text = body.decode("utf-8", errors="replace")
            meta_line, _, rest = text.partition("\n")
            meta = _batch_meta(meta_line)
            if meta is None:
                self._warn_post("it does not start with a line naming its stream")
                return
            name, where, url, number = meta
            stream = self.streams.get(name)
            if stream is None:
                if len(self.streams) >= INSTANCES_AT_MOST:
                    self._warn_post(f"the page started more than {INSTANCES_AT_MOST} Pyodide instances")
                    return
                stream = self.streams[name] = _Stream(where, url)
            if number < stream.next_batch or number in stream.waiting:
                return  # sent twice: taken already
            if len(stream.waiting) >= BATCHES_WAITING_AT_MOST:
                self._problem(
                    stream, f"more than {BATCHES_WAITING_AT_MOST} batches arrived before batch {stream.next_batch}"
                )
                return
            stream.waiting[number] = rest.split("\n")
            while stream.next_batch in stream.waiting:
                lines = stream.waiting.pop(stream.next_batch)
                stream.next_batch += 1
                for line in lines:
                    if line and not stream.refused:
                        self._take(stream, line)
            if self.file is not None:
                self.file.flush()

    def close(self) -> None:
        """Write the `end` line (when an instance started) and close the file; later batches are ignored."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if self.file is None:
                return
            end = {"type": "end", "ts_us": self._end_us(), "dropped": self.dropped, "exit_status": self.exit_status}
            self._write(end)
            self.file.close()

    def _end_us(self) -> float:
        """When the last instance closed its trace, when every one did (a program that ended: the browser's own
        closing is not part of its run); else now."""
        started = [stream for stream in self.streams.values() if stream.instance is not None and not stream.refused]
        ends = [stream.ended_us for stream in started]
        now = self._now_us()
        if ends and None not in ends:
            return min(max(end for end in ends if end is not None), now)  # a page's clock cannot end in the future
        return now

    def _now_us(self) -> float:
        return round(max(0.0, time.time_ns() / 1e6 - self.origin_unix_ms) * 1000, 3)

    def _warn_post(self, reason: str) -> None:
        if not self.warned_posts:
            self.warned_posts = True
            self.warn(f"jspiprof: a post to the trace collector was ignored: {reason}.")

    def _problem(self, stream: _Stream, reason: str) -> None:
        if not stream.warned:
            stream.warned = True
            who = f"instance {stream.instance}" if stream.instance is not None else f"a Pyodide in a {stream.where}"
            self.warn(f"jspiprof: lines of the trace of {who} were left out (the first: {reason}).")

    def _take(self, stream: _Stream, text: str) -> None:
        stream.lines += 1
        where = f"line {stream.lines} of its stream"
        if len(text) >= LONGEST_LINE:
            self._problem(stream, f"{where} is longer than {LONGEST_LINE:,} characters")
            return
        try:
            line = loads(text)
            if stream.instance is None:
                self._start(stream, header(line, where))
                return
            event = stream.checker.event(line, stream.lines, None)
        except (JSONDecodeError, TraceError) as error:
            stream.refused = stream.instance is None  # without its header nothing of it can be read
            self._problem(stream, str(error) if isinstance(error, TraceError) else f"{where} is not JSON")
            return
        if event is None:
            return  # a line type this reader does not know, or impossible numbers: the reader would skip it too
        if line["type"] == "end":
            # the trace's own end is written when the recording stops, with the exit status an instance closed with
            self.exit_status = line.get("exit_status", self.exit_status)
            stream.ended_us = round(line["ts_us"] + stream.offset_us, 3)
            return
        if line["type"] in ("snapshot", "instance"):
            return  # the trace's own instances are written by the merger
        merged = self._renumbered(stream, line)
        if merged is not None:
            self._check_and_write(stream, merged)

    def _start(self, stream: _Stream, instance_header: Any) -> None:
        offset_us = (instance_header.origin_unix_ms - self.origin_unix_ms) * 1000
        if not math.isfinite(offset_us) or abs(offset_us) > LARGEST_NUMBER:
            stream.refused = True
            self._problem(stream, f"its origin_unix_ms {quoted(instance_header.origin_unix_ms)} is not a time near now")
            return
        stream.offset_us = max(0.0, offset_us)
        stream.instance = self.instances
        runtime = {name: getattr(instance_header.runtime, name) for name in RUNTIME_VALUES}
        if self.file is None:
            self.file = self.path.open("w", encoding="utf-8")
            first = {
                "type": "header",
                "schema": SCHEMA,
                "version": VERSION,
                "origin_unix_ms": self.origin_unix_ms,
                "runtime": runtime,
                "program": self.program,
            }
            self.checker.event(first, 1, None)
            self._write(first)
        described = {
            "type": "instance",
            "instance": stream.instance,
            "ts_us": round(stream.offset_us, 3),
            "where": stream.where,
            "url": stream.url,
            "runtime": runtime,
        }
        self.checker.event(described, self.written + 1, None)
        self._write(described)

    def _renumbered(self, stream: _Stream, line: dict[str, Any]) -> dict[str, Any] | None:
        """The line with the trace's ids, times and instance (None for a frame already written)."""
        kind = line["type"]
        # Only the fields the format knows are passed on: a page may add anything, nested as deep as it likes.
        merged = {"type": kind} | {name: value for name, value in line.items() if name in _KNOWN_FIELDS[kind]}
        if merged.get("registration") is not None:
            registration = merged["registration"]
            merged["registration"] = {name: registration[name] for name in _REGISTRATION_FIELDS if name in registration}
        for name in ("start_us", "end_us", "ts_us"):
            if name in merged:
                merged[name] = round(merged[name] + stream.offset_us, 3)
        if kind == "frame":
            key = (line["file"], line["line"], line["function"], line["library"])
            known = self.frame_ids.get(key)
            if known is not None:
                stream.frames[line["id"]] = known
                return None
            stream.frames[line["id"]] = merged["id"] = self.frame_ids[key] = len(self.frame_ids)
            return merged
        if kind == "entry_end":
            merged["id"] = stream.entries[line["id"]]
            return merged
        merged["instance"] = stream.instance
        if kind == "entry":
            stream.entries[line["id"]] = merged["id"] = self.next_entry
            self.next_entry += 1
            merged["parent"] = None if line["parent"] is None else stream.entries[line["parent"]]
        elif kind in ("suspension", "failed_switch"):
            if kind == "suspension":
                merged["id"] = self.next_suspension
                self.next_suspension += 1
            merged["entry"] = None if line["entry"] is None else stream.entries[line["entry"]]
            merged["stack"] = [stream.frames[frame] for frame in line["stack"]]
        elif kind == "samples":
            merged["stacks"] = self._sample_stacks(stream, line["stacks"])
            merged["stack"] = [stream.sample_stacks[stack] for stack in line["stack"]]
            merged["entry"] = [None if entry is None else stream.entries[entry] for entry in line["entry"]]
        elif kind == "dropped":
            self.dropped += line["count"]
        return merged

    def _sample_stacks(self, stream: _Stream, stacks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The trace's definitions of a samples line's new stacks (a stack equal to one defined before keeps its id)."""
        defined = []
        for stack in stacks:
            frames = tuple(stream.frames[frame] for frame in stack["frames"])
            known = self.sample_stack_ids.get(frames)
            if known is None:
                known = self.sample_stack_ids[frames] = len(self.sample_stack_ids)
                defined.append({"id": known, "frames": list(frames)})
            stream.sample_stacks[stack["id"]] = known
        return defined

    def _check_and_write(self, stream: _Stream, line: dict[str, Any]) -> None:
        try:
            event = self.checker.event(line, self.written + 1, None)
        except TraceError as error:
            self._problem(stream, str(error))
            return
        if event is not None:
            self._write(line)

    def _write(self, line: dict[str, Any]) -> None:
        assert self.file is not None
        self.file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.written += 1


_REGISTRATION_FIELDS = ("api", "event", "location")


def _batch_meta(text: str) -> tuple[str, str, str | None, int] | None:
    """The stream, where, url and batch number of a batch's first line, or None when it names none."""
    try:
        meta = loads(text)
    except JSONDecodeError:
        return None
    if not isinstance(meta, dict):
        return None
    name, where, url, number = meta.get("stream"), meta.get("where"), meta.get("url"), meta.get("seq")
    if not (isinstance(name, str) and 0 < len(name) <= 100 and where in WHERE):
        return None
    if not (url is None or (isinstance(url, str) and len(url) <= 4096)):
        return None
    if type(number) is not int or number < 0:
        return None
    return name, where, url, number
