"""Where a trace's lines come from: a path (of a regular file), an open file or pipe (binary or text), or an iterable
of lines; each line at most `LONGEST_LINE` long."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol

from jspiprof.trace.model import TraceError


class BinaryFile(Protocol):
    """An open binary file, or anything whose `read(size)` gives the next bytes of one (b"" at its end)."""

    def read(self, size: int, /) -> bytes: ...


Source = str | Path | BinaryFile | IO[str] | Iterable[str | bytes]
"""What `read_trace` and `iter_events` read: a path, an open file (binary or text), or an iterable of lines (text or
UTF-8 bytes)."""

LONGEST_LINE = 1 << 20
"""The most bytes (characters, for lines given as text) a trace line may hold, its newline included: 1 MiB, over
two thousand times the longest line of the recorded fixture traces (492 bytes)."""

BLOCK_BYTES = 1 << 16
"""A trace file is read this many bytes at a time, cut after the last whole line: a block and the objects parsed from
it stay in the CPU's cache (measured: 7 times fewer page faults than 1 MiB blocks)."""

BYTE_ORDER_MARK = b"\xef\xbb\xbf"


class LineTooLong(Exception):
    """A file's next line is longer than `LONGEST_LINE`: raised by `blocks`, which does not count lines (counting every
    block's newlines would cost 5% of reading a trace); the reader, which counts them, names the line (`too_long`)."""


def too_long(number: int) -> TraceError:
    """The error for line `number`, longer than `LONGEST_LINE`."""
    return TraceError(
        f"line {number}: longer than {LONGEST_LINE:,} bytes, the most a trace line may hold; the trace is corrupt."
    )


def is_binary_file(source: Source) -> bool:
    """Whether `source` is a path or a binary file: read in blocks of whole lines."""
    return isinstance(source, (str, Path)) or (hasattr(source, "read") and not isinstance(source, io.TextIOBase))


def open_trace(path: str | Path) -> IO[bytes]:
    """The trace file at `path` opened for reading; a `TraceError` when it cannot be, or is not a regular file (a
    FIFO or a device would never end: the file is opened without waiting for a FIFO's writer)."""
    try:
        file_descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise TraceError(f"Cannot read the trace {path}: {error.strerror or error}.") from None
    if not stat.S_ISREG(os.fstat(file_descriptor).st_mode):
        os.close(file_descriptor)
        raise TraceError(f"{path} is not a regular file: a trace is read from a file.")
    return os.fdopen(file_descriptor, "rb")


def blocks(source: str | Path | BinaryFile) -> Iterator[bytes]:
    """The file's bytes in blocks of whole lines (the last block's last line may lack its newline), without a leading
    byte order mark; `LineTooLong` when the next line is longer than `LONGEST_LINE`."""
    if isinstance(source, (str, Path)):
        with open_trace(source) as file:
            yield from blocks(file)
        return
    held: list[bytes | memoryview] = []  # the start of a line longer than the blocks read so far
    held_bytes = 0
    first = True
    while data := source.read(BLOCK_BYTES):
        if first and data.startswith(BYTE_ORDER_MARK):
            data = data[len(BYTE_ORDER_MARK) :]
        first = False
        cut = data.rfind(b"\n") + 1
        if not cut:
            held.append(data)
            held_bytes += len(data)
            if held_bytes > LONGEST_LINE:
                raise LineTooLong
            continue
        if held:
            if held_bytes + data.find(b"\n") + 1 > LONGEST_LINE:
                raise LineTooLong
            held.append(memoryview(data)[:cut])
            block = b"".join(held)  # one copy of the block, not two
        else:
            block = data if cut == len(data) else data[:cut]
        yield block
        held, held_bytes = ([data[cut:]], len(data) - cut) if cut < len(data) else ([], 0)
    if held:
        yield b"".join(held)


def block_lines(block: bytes) -> list[bytes]:
    """The lines of a block, each with its newline."""
    return io.BytesIO(block).readlines()


def bounded_lines(lines: Iterable[str | bytes]) -> Iterator[str | bytes]:
    """`lines`, the first without a byte order mark; a `TraceError` at the first longer than `LONGEST_LINE`."""
    number = 0
    for line in lines:
        number += 1
        if len(line) > LONGEST_LINE:
            raise too_long(number)
        if number == 1:
            line = line.removeprefix("\ufeff") if isinstance(line, str) else line.removeprefix(BYTE_ORDER_MARK)
        yield line


def text_lines(source: IO[str] | Iterable[str | bytes]) -> Iterator[str | bytes]:
    """The lines of a text file or an iterable of lines, bounded (a text file is read one bounded line at a time)."""
    if isinstance(source, io.TextIOBase):
        return bounded_lines(iter(lambda: source.readline(LONGEST_LINE + 1), ""))
    return bounded_lines(source)


def lines(source: Source) -> Iterator[str | bytes]:
    """Every line of `source`, each with its newline (the last may lack it)."""
    if is_binary_file(source):
        return (line for block in blocks(source) for line in block_lines(block))
    return text_lines(source)


@contextmanager
def naming_the_file(source: Source) -> Iterator[None]:
    """A trace file that is not UTF-8 is a `TraceError` naming the file."""
    try:
        yield
    except UnicodeDecodeError:
        if isinstance(source, (str, Path)):
            raise TraceError(f"{source} is not a jspiprof trace: it is not UTF-8 text.") from None
        raise
