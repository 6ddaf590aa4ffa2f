"""The offline `--dist-dir` that pytest-pyodide's `run_in_pyodide` needs, built into the jspiprof cache.

The npm `pyodide` package ships no package wheels, but `run_in_pyodide` loads `pytest` and `tblib` by name
(they are listed in pyodide-lock.json, so Pyodide would fetch them from its CDN, which may be unreachable).
The dist folder is the npm pyodide folder plus pure-Python wheels from PyPI (Python 3.14, platform any) for
pytest, tblib, urllib3 and their dependencies, with their pyodide-lock.json entries pointed at those wheels
(file name, sha256, version, dependencies), since `loadPackage` checks each wheel's sha256.

The folder lives in the jspiprof cache (`<cache>/pytest-dist/...`), is built once and then reused. The pytest
plugin uses it when no `--dist-dir` is given; `jspiprof setup --pytest` builds it ahead and prints its path.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import re
import shutil
import zipfile
from pathlib import Path

from jspiprof.runtime.install import PYODIDE_VERSION, SNAPSHOT_FILE, Runtime
from jspiprof.runtime.wheels import download_wheels

DIST_PACKAGES = ("pytest", "tblib", "urllib3")
"""Packages the dist folder provides: what `run_in_pyodide` loads, and urllib3 for the in-Pyodide HTTP tests."""

_COMPLETE_MARKER = ".complete"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(item for item in archive.namelist() if item.endswith(".dist-info/METADATA"))
        return email.parser.BytesParser().parsebytes(archive.read(name))


def _requirement_names(metadata: email.message.Message) -> set[str]:
    """The names a wheel requires, markers ignored (the caller keeps only names that were downloaded)."""
    return {
        _normalize(re.split(r"[\s;<>=!~\[(]", line.strip(), maxsplit=1)[0])
        for line in metadata.get_all("Requires-Dist", [])
    }


def _adjusted_lock(lock: dict, wheels: list[Path]) -> dict:
    """`lock` with one entry per wheel describing that wheel; entries for other packages are kept as they are."""
    by_name = {_normalize(name): name for name in lock["packages"]}
    downloaded = {_normalize(str(_wheel_metadata(wheel)["Name"])): wheel for wheel in wheels}
    for name, wheel in downloaded.items():
        metadata = _wheel_metadata(wheel)
        key = by_name.get(name, name)
        entry = lock["packages"].get(key) or {
            "name": str(metadata["Name"]),
            "imports": [],
            "install_dir": "site",
            "package_type": "package",
            "tool": {},
            "unvendored_tests": False,
        }
        entry["file_name"] = wheel.name
        entry["sha256"] = hashlib.sha256(wheel.read_bytes()).hexdigest()
        entry["version"] = str(metadata["Version"])
        entry["depends"] = sorted(by_name.get(dep, dep) for dep in _requirement_names(metadata) if dep in downloaded)
        lock["packages"][key] = entry
    return lock


def _lock_versions(pyodide_dir: Path) -> dict[str, str]:
    packages = json.loads((pyodide_dir / "pyodide-lock.json").read_text())["packages"]
    return {_normalize(name): entry["version"] for name, entry in packages.items()}


def build_dist(runtime: Runtime, home: Path) -> Path:
    """The dist folder for `pytest --dist-dir`, built on first use (needs PyPI once) and reused afterwards."""
    versions = _lock_versions(runtime.pyodide_dir)
    requirements = [f"{name}=={versions[name]}" for name in DIST_PACKAGES]
    folder = home / "pytest-dist" / f"pyodide-{PYODIDE_VERSION}-{'-'.join(requirements).replace('==', '-')}"
    if (folder / _COMPLETE_MARKER).is_file():
        return folder
    wheels = download_wheels(requirements, home)
    scratch = folder.with_name(folder.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    # Copies, not symlinks: Node resolves symlinks, and Pyodide would then read the original lock file.
    shutil.copytree(runtime.pyodide_dir, scratch, ignore=shutil.ignore_patterns(f"{SNAPSHOT_FILE}*"))
    for wheel in wheels:
        shutil.copy2(wheel, scratch / wheel.name)
    lock = _adjusted_lock(json.loads((scratch / "pyodide-lock.json").read_text()), wheels)
    (scratch / "pyodide-lock.json").write_text(json.dumps(lock))
    (scratch / _COMPLETE_MARKER).write_text("\n".join(wheel.name for wheel in wheels) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)
    return folder
