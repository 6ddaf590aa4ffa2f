"""Output files that are written whole or not at all, and never onto the file they were made from."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def same_file(output: Path, source: Path) -> bool:
    """Whether writing `output` would replace `source` (the same file, by any path or link)."""
    try:
        return os.path.samefile(output, source)
    except OSError:  # one of them does not exist (yet)
        return False


@contextlib.contextmanager
def written_whole(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """A file open in `mode` ("wb" or "w", UTF-8) whose content becomes `path` only once all of it is written: it is
    a new file next to `path`, renamed over it at the end. When anything fails (a full disk), `path` is left as it was
    and no partial file stays. A `path` that exists and is not a regular file (/dev/stdout, a pipe) is written
    directly; a link is followed."""
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):
        with open(path, mode, encoding=None if "b" in mode else "utf-8") as file:
            yield file
        return
    target = Path(os.path.realpath(path))
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, mode, encoding=None if "b" in mode else "utf-8") as file:
            yield file
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
