"""The files `jspiprof run --browser` copies into the page: the current and script folders, without what no program
reads and without huge files, sent as one bundle the page cuts at the listed sizes; and back, what the program
wrote in those folders.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jspiprof.runtime import program_files
from jspiprof.runtime.program_files import ProgramFile, collect_program_files, file_bundle, write_back


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


def _written(*files: tuple[str, bytes]) -> bytes:
    """A body as the page sends it: the listing line, then the bytes."""
    listing = json.dumps([{"path": path, "size": len(data)} for path, data in files]).encode()
    return listing + b"\n" + b"".join(data for _, data in files)


def test_written_files_come_back_inside_the_folders_only(tmp_path: Path) -> None:
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    (work / "escape").symlink_to(outside, target_is_directory=True)
    body = _written(
        (str(work / "new" / "result.txt"), b"new"),
        (str(tmp_path / "elsewhere.txt"), b"no"),
        (str(work / "escape" / "through-a-link.txt"), b"no"),
        ("relative.txt", b"no"),
    )
    assert write_back(body, [str(work)]) == [
        f"{tmp_path / 'elsewhere.txt'} is outside the current and script folders",
        f"{work / 'escape' / 'through-a-link.txt'} is outside the current and script folders",
        "relative.txt is outside the current and script folders",
    ]
    assert (work / "new" / "result.txt").read_bytes() == b"new"
    assert not (tmp_path / "elsewhere.txt").exists() and not outside.exists()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json\n", "the page's list of written files could not be read"),
        (b'[{"path": "/x"}]\n', "the page's list of written files could not be read"),
        (b'[{"path": "/x", "size": 5}]\nabc', "the page's written files do not add up to the bytes it sent"),
    ],
)
def test_a_body_that_does_not_add_up_writes_nothing_and_says_so(tmp_path: Path, body: bytes, problem: str) -> None:
    assert write_back(body, [str(tmp_path)]) == [problem]
    assert list(tmp_path.iterdir()) == []
