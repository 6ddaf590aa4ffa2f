"""The package's shape, read from its source (docs/architecture.md): no import cycles between jspiprof modules, no
module over 500 lines, no private name imported across modules, and the code shipped into Pyodide imports only
the standard library, `pyodide`/`js` and itself."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jspiprof

PACKAGE = Path(jspiprof.__file__).parent
MAX_LINES = 500

# Known cases that other branches of today's work fix: the lead empties these lists at merge. A case that no
# longer happens fails the test too, so that the lists only ever shrink.
KNOWN_LONG_MODULES: set[str] = set()
KNOWN_CYCLES: set[frozenset[str]] = set()
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Import:
    """One name a module imports: `module` (absolute), and `name` when imported from it (`from module import name`)."""

    module: str
    name: str | None
    line: int


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    lines: int
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    def imports(self) -> Iterator[Import]:
        """Every import in the module, at any depth (imports inside functions count too), made absolute."""
        package = self.name if self.is_package else self.name.rpartition(".")[0]
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(alias.name, None, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level > 0:
                    parts = package.split(".")
                    anchor = ".".join(parts[: len(parts) - node.level + 1])
                    base = f"{anchor}.{base}" if base else anchor
                for alias in node.names:
                    yield Import(base, alias.name, node.lineno)


def read_modules() -> dict[str, Module]:
    """Every module of the jspiprof package, by dotted name."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        text = path.read_text(encoding="utf-8")
        modules[name] = Module(name, path, len(text.splitlines()), ast.parse(text, filename=str(path)))
    return modules


MODULES = read_modules()


def imported_module(target: Import) -> str | None:
    """The jspiprof module an import loads: `from a import b` loads the module a.b when there is one, else a."""
    if target.name is not None and f"{target.module}.{target.name}" in MODULES:
        return f"{target.module}.{target.name}"
    return target.module if target.module in MODULES else None


def import_graph() -> dict[str, set[str]]:
    """Each jspiprof module -> the jspiprof modules it imports."""
    return {
        name: {found for target in module.imports() if (found := imported_module(target)) not in (None, name)}
        for name, module in MODULES.items()
    }


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(name: str) -> None:
        index[name] = lowest[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for imported in sorted(graph[name]):
            if imported not in index:
                visit(imported)
                lowest[name] = min(lowest[name], lowest[imported])
            elif imported in on_stack:
                lowest[name] = min(lowest[name], index[imported])
        if lowest[name] == index[name]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == name:
                    break
            groups.append(group)

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return groups


def private_imports() -> set[tuple[str, str, str]]:
    """(importing module, source module, `_name`) for each private name a jspiprof module takes from another one,
    imported by name or read as an attribute of a module it imported (`install._cache`, `jspiprof.x._y`)."""
    found = set()
    for name, module in MODULES.items():
        modules_by_local_name = {}
        for target in module.imports():
            source = imported_module(target)
            if source is None or source == name:
                continue
            if target.name is None:
                modules_by_local_name[source] = source
            elif source == f"{target.module}.{target.name}":
                modules_by_local_name[target.name] = source
            elif is_private(target.name):
                found.add((name, source, target.name))
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                modules_by_local_name.update((alias.asname, alias.name) for alias in node.names if alias.asname)
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Attribute) and is_private(node.attr):
                source = modules_by_local_name.get(ast.unparse(node.value))
                if source is not None and source != name:
                    found.add((name, source, node.attr))
    return found


def is_in_pyodide(name: str) -> bool:
    return name == "jspiprof.in_pyodide" or name.startswith("jspiprof.in_pyodide.")


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def unexpected(found: set, known: set, what: str) -> str:
    """The assertion message: new cases to fix, and known cases that are gone (to remove from the allow-list)."""
    lines = [f"{what}: {case}" for case in sorted(map(sorted_case, found - known))]
    lines += [f"fixed, remove it from the allow-list: {case}" for case in sorted(map(sorted_case, known - found))]
    return "\n".join(lines)


def sorted_case(case: object) -> str:
    return " <-> ".join(sorted(case)) if isinstance(case, frozenset) else str(case)


def test_no_jspiprof_modules_import_each_other_in_a_cycle() -> None:
    cycles = {frozenset(group) for group in strongly_connected(import_graph()) if len(group) > 1}
    assert cycles == KNOWN_CYCLES, unexpected(cycles, KNOWN_CYCLES, "import cycle")


def test_no_module_is_over_500_lines() -> None:
    long_modules = {name for name, module in MODULES.items() if module.lines > MAX_LINES}
    assert long_modules == KNOWN_LONG_MODULES, unexpected(long_modules, KNOWN_LONG_MODULES, f"over {MAX_LINES} lines")


def test_no_private_name_is_imported_from_another_jspiprof_module() -> None:
    names = private_imports()
    found = {(importer, source) for importer, source, _ in names}
    listed = "\n".join(f"{importer} takes {source}.{name}" for importer, source, name in sorted(names))
    assert found == KNOWN_PRIVATE_IMPORTS, unexpected(found, KNOWN_PRIVATE_IMPORTS, "private names imported") + (
        f"\n\nall private imports:\n{listed}"
    )


HOST_ENTRY_POINTS = {"jspiprof.notebook.dashboard", "jspiprof.notebook.magics"}
"""What `jspiprof/__init__.py` imports inside `dashboard()` and `load_ipython_extension()`: called only in a host
Jupyter kernel, never inside Pyodide."""


def test_code_shipped_into_pyodide_imports_only_the_standard_library_pyodide_and_itself() -> None:
    shipped = [module for name, module in MODULES.items() if name == "jspiprof" or is_in_pyodide(name)]
    assert len(shipped) > 2
    outside = set()
    for module in shipped:
        for target in module.imports():
            top = target.module.split(".")[0]
            if module.name == "jspiprof" and target.module in HOST_ENTRY_POINTS:
                continue
            if not (is_in_pyodide(target.module) or top in sys.stdlib_module_names or top in ("pyodide", "js")):
                outside.add(f"{module.name} imports {target.module} (line {target.line})")
    assert not outside, "\n".join(sorted(outside))
