"""The files `jspiprof run --browser` copies into the page: the current and script folders, without what no program
reads and without huge files, sent as one bundle the page cuts at the listed sizes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jspiprof.runtime import program_files
from jspiprof.runtime.program_files import ProgramFile, collect_program_files, file_bundle


def _write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_every_file_of_the_folders_is_listed_but_version_control_caches_and_environments(
    tmp_path: Path,
) -> None:
    work, scripts = tmp_path / "work", tmp_path / "scripts"
    kept = [_write(work / "b.txt", "bb"), _write(work / "a" / "data.csv", "1,2\n"), _write(scripts / "app.py", "")]
    for skipped in (".git/HEAD", "node_modules/x/index.js", "pkg/__pycache__/m.pyc", "env/lib/site.py"):
        _write(work / skipped)
    _write(work / "env" / "pyvenv.cfg")
    (work / "loop").symlink_to(work, target_is_directory=True)
    collected = collect_program_files([str(work), str(scripts)])
    assert collected.files == [ProgramFile(str(path), path.stat().st_size) for path in kept]
    assert collected.left_out == []
    assert collected.folders == [str(work), str(scripts)]


def test_huge_files_and_files_beyond_the_total_are_left_out_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(program_files, "MAX_TOTAL_BYTES", 5 * 1024 * 1024)
    _write(tmp_path / "a.bin")
    os.truncate(tmp_path / "a.bin", 4 * 1024 * 1024)
    _write(tmp_path / "b.bin")
    os.truncate(tmp_path / "b.bin", 2 * 1024 * 1024)
    _write(tmp_path / "c.bin")
    os.truncate(tmp_path / "c.bin", program_files.MAX_FILE_BYTES + 1)
    _write(tmp_path / "d.txt", "small")
    collected = collect_program_files([str(tmp_path)])
    assert [Path(file.path).name for file in collected.files] == ["a.bin", "d.txt"]
    assert collected.left_out == [
        f"{tmp_path / 'b.bin'} (the files before it fill 5 MB)",
        f"{tmp_path / 'c.bin'} (16 MB, over 16 MB)",
    ]


def test_the_bundle_holds_each_file_at_its_listed_size_even_when_it_changed_since(tmp_path: Path) -> None:
    grew, shrank, gone = (
        _write(tmp_path / "grew", "abc"),
        _write(tmp_path / "shrank", "defg"),
        _write(tmp_path / "gone"),
    )
    listed = collect_program_files([str(tmp_path)]).files
    grew.write_text("abcXYZ")
    shrank.write_text("d")
    gone.unlink()
    assert b"".join(file_bundle(listed)) == b"\0" + b"abc" + b"d\0\0\0"  # gone, grew, shrank: in path order
