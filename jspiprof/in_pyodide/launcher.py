"""Runs a user's program inside Pyodide the way CPython's command line would (standard library only).

`jspiprof run` enters Python through `runPythonAsync`, so the program may stack-switch at top level.
"""

import atexit
import io
import os
import runpy
import sys
import traceback
from types import ModuleType, TracebackType

from jspiprof.in_pyodide.diagnose import add_notes


def exit_status(code: object) -> int:
    """The process exit status CPython gives for `sys.exit(code)`; a non-integer is printed to stderr."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _user_traceback(tb: TracebackType | None) -> TracebackType | None:
    """Drop the launcher's and runpy's frames from the top of a traceback, as `python app.py` shows it."""
    machinery = (__file__, runpy.__file__)
    while tb is not None and (
        tb.tb_frame.f_code.co_filename in machinery or tb.tb_frame.f_code.co_filename.startswith("<frozen")
    ):
        tb = tb.tb_next
    return tb


def _run_script(path: str) -> None:
    """Run a script file as the `__main__` module like `python path` (runpy would replace sys.argv[0] with `path`)."""
    with io.open_code(path) as file:
        code = compile(file.read(), path, "exec")
    main = ModuleType("__main__")
    main.__file__ = path
    sys.modules["__main__"] = main
    exec(code, main.__dict__)


def run_program(mode: str, target: str, argv: list[str], cwd: str) -> int:
    """Run a script (`mode="script"`), code (`"code"`) or module (`"module"`) as `__main__`, then its `atexit`
    functions, as CPython does at exit; return its exit status."""
    status = _run_main(mode, target, argv, cwd)
    atexit._run_exitfuncs()  # prints what a function raises ("Exception ignored in atexit callback"), as at exit
    sys.stdout.flush()
    sys.stderr.flush()
    return status


def _run_main(mode: str, target: str, argv: list[str], cwd: str) -> int:
    os.chdir(cwd)
    sys.argv = list(argv)
    try:
        if mode == "script":
            # like `python app.py`: the script's folder, not the current folder ('' in Pyodide's default path,
            # where e.g. a `js/` folder would shadow Pyodide's `js` module)
            sys.path[:] = [entry for entry in sys.path if entry != ""]
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            _run_script(target)
        elif mode == "module":
            sys.path.insert(0, cwd)
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, "")
            main = sys.modules["__main__"]
            namespace = {"__name__": "__main__", "__builtins__": main.__builtins__}
            exec(compile(target, "<string>", "exec"), namespace)
    except SystemExit as stop:
        return exit_status(stop.code)
    except BaseException as error:  # noqa: BLE001 - an uncaught exception ends the program, as in CPython
        add_notes(error)  # a stack-switching failure gets its diagnosis and fix under the traceback
        traceback.print_exception(type(error), error, _user_traceback(error.__traceback__), file=sys.stderr)
        return 1
    return 0
