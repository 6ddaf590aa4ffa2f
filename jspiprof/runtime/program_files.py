"""The files `jspiprof run --browser` copies into the page: those of the current folder and the script's folder.

A page has no host file system to mount, so the files are sent whole, at their host paths. Huge files, and folders
no program reads (version control, `node_modules`, virtual environments, `__pycache__`), are left out.
"""

from __future__ import annotations

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
