"""The files `jspiprof run --browser` copies into the page: those of the current folder and the script's folder,
and back: the files the program wrote there.

A page has no host file system to mount, so the files are sent whole, at their host paths. Huge files, and folders
no program reads (version control, `node_modules`, virtual environments, `__pycache__`), are left out. What the
program wrote in those folders is written back when it has ended, as it would be under Node.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 16 * 1024 * 1024
"""A file bigger than this is left out of the page (and the run says so)."""

MAX_TOTAL_BYTES = 256 * 1024 * 1024
"""Files beyond this total are left out: the page holds them all in memory."""

LEFT_OUT_FOLDERS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__"})
"""Folders never copied; a virtual environment (a folder with a `pyvenv.cfg`) is not copied either."""

_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ProgramFile:
    """One file copied into the page, at the same absolute path."""

    path: str
    size: int


@dataclass
class ProgramFiles:
    """The folders to create in the page, the files to copy into them, and the files left out (one reason each)."""

    folders: list[str]
    files: list[ProgramFile] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(file.size for file in self.files)


def _is_left_out_folder(folder: Path) -> bool:
    return folder.name in LEFT_OUT_FOLDERS or (folder / "pyvenv.cfg").is_file()


def collect_program_files(folders: list[str]) -> ProgramFiles:
    """Every regular file under `folders`, up to the size limits: each folder's files by name, then its subfolders
    by name (symbolic links to folders are not followed)."""
    collected = ProgramFiles(folders=list(folders))
    total = 0
    for top in folders:
        for folder, subfolders, names in os.walk(top):
            subfolders[:] = sorted(name for name in subfolders if not _is_left_out_folder(Path(folder) / name))
            for name in sorted(names):
                path = Path(folder) / name
                try:
                    size = path.stat().st_size
                    readable = path.is_file() and os.access(path, os.R_OK)
                except OSError:
                    continue
                if not readable:
                    continue
                if size > MAX_FILE_BYTES:
                    collected.left_out.append(f"{path} ({size / 2**20:.0f} MB, over {MAX_FILE_BYTES // 2**20} MB)")
                elif total + size > MAX_TOTAL_BYTES:
                    collected.left_out.append(f"{path} (the files before it fill {MAX_TOTAL_BYTES // 2**20} MB)")
                else:
                    collected.files.append(ProgramFile(str(path), size))
                    total += size
    return collected


def file_bundle(files: list[ProgramFile]) -> Iterator[bytes]:
    """The bytes of `files`, one after the other, each exactly its listed size (a file that changed or vanished
    since it was listed is cut or padded with zero bytes, so the page finds every file at its offset)."""
    for file in files:
        left = file.size
        try:
            with open(file.path, "rb") as source:
                while left > 0 and (chunk := source.read(min(left, _CHUNK_BYTES))):
                    left -= len(chunk)
                    yield chunk
        except OSError:
            pass
        if left > 0:
            yield bytes(left)


def write_back(body: bytes, folders: list[str]) -> list[str]:
    """Write the files a program wrote in the page (a listing line of JSON paths and sizes, then their bytes) to
    their paths, each only if it is inside `folders`; one sentence for each file or body that was not written."""
    listing, _, data = body.partition(b"\n")
    try:
        files = [ProgramFile(str(item["path"]), int(item["size"])) for item in json.loads(listing)]
    except (ValueError, TypeError, KeyError):
        return ["the page's list of written files could not be read"]
    if any(file.size < 0 for file in files) or sum(file.size for file in files) != len(data):
        return ["the page's written files do not add up to the bytes it sent"]
    roots = [Path(folder).resolve() for folder in folders]
    problems: list[str] = []
    offset = 0
    for file in files:
        target = Path(file.path)
        content = data[offset : offset + file.size]
        offset += file.size
        if not target.is_absolute() or not any(target.parent.resolve().is_relative_to(root) for root in roots):
            problems.append(f"{file.path} is outside the current and script folders")
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        except OSError as error:
            problems.append(f"{file.path} could not be written ({error.strerror or error})")
    return problems
