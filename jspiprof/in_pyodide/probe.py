"""The Python half of the profiler: runs inside Pyodide (standard library only) and is called by the JS hook.

At every stack switch the hook calls `capture()` from inside Pyodide's `saveState` (the GIL is held and the
Python frames are intact). `capture()` walks the Python stack and answers with a small integer, the id of that
stack, or, the first time it meets that stack, with its description (`describe`): one call into Python either way.
So a switch repeated from the same place costs one stack walk with dictionary lookups, and frames are interned: each
(file, function, line) gets a frame id, sent to the trace once, whichever code object ran it (each `runPython` call
compiles its own code).

It also gives programs `start()`, `stop()` and `profile` (a context manager and decorator) to record a region.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
import weakref
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_JSPIPROF_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_STDLIB_DIRS = tuple(
    {
        os.path.dirname(os.__file__) + os.sep,
        os.path.dirname(os.path.dirname(os.__file__)) + os.sep + "lib-dynload" + os.sep,
    }
)
_LAUNCHER_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher.py")
_RUNPY_FILES = ("runpy.py", "<frozen runpy>")

_SOCKET_CALLS = frozenset(
    {
        "recv",
        "recv_into",
        "recvfrom",
        "recvfrom_into",
        "send",
        "sendall",
        "sendto",
        "connect",
        "connect_ex",
        "accept",
        "create_connection",
    }
)
_SSL_CALLS = frozenset({"do_handshake", "read", "write", "unwrap", "wrap_socket"})

_BOUNDARY = -1
"""Frame id of jspiprof's launcher: the stack stops there (the program's own frames start above it)."""

_frame_ids: dict[tuple[str, str, int], int] = {}
"""Frame id of each (file, function's qualified name, line): what a frame line of the trace says."""
_new_frames: list[dict[str, Any]] = []
_stack_ids: dict[tuple[str, tuple[int, ...]], int] = {}
"""Stack id of each (path, frame ids innermost first)."""
_stacks: list[dict[str, Any]] = []
_control: Any = None
_code_frames: dict[int, tuple[weakref.ref[CodeType], dict[int, int]]] = {}
"""Each code object of the stacks captured so far, by address (`id`), until it is freed: a weakref to it, and the
frame id at each of its instructions seen (`f_lasti`)."""
_forget_code: Callable[[int], None] | None = None
"""Tells the hook a watched code object is being freed (set by `calibrate`): its address may then hold another."""


def is_library_file(filename: str) -> bool:
    """True for the standard library, Pyodide's own modules, installed packages and jspiprof itself."""
    return (
        filename.startswith("<frozen ")
        or filename.startswith(_STDLIB_DIRS)
        or filename.startswith(_JSPIPROF_DIR)
        or "/site-packages/" in filename
        or "/dist-packages/" in filename
    )


def _intern(key: tuple[str, str, int]) -> int:
    filename, function, line = key
    if filename == _LAUNCHER_FILE:
        frame_id = _BOUNDARY
    else:
        frame_id = len(_frame_ids) + 1
        _new_frames.append(
            {
                "type": "frame",
                "id": frame_id,
                "file": filename,
                "line": line,
                "function": function,
                "library": is_library_file(filename),
            }
        )
    _frame_ids[key] = frame_id
    return frame_id


def capture() -> int | str:
    """The Python stack that called into the switch (this function's caller's stack): its id, or its description
    (`describe`) the first time."""
    top = _caller_frame()
    return _stack_id(top, path_of(top))


def capture_sample() -> str:
    """The Python stack running now, for a CPU sample, as JSON for the hook: the frames not sent yet, and `chain`, the
    frame id and code address of each frame from the running one outwards, ending at jspiprof's launcher (frame id -1)
    when it is there. The hook keeps each frame's id, so that a stack made of frames it knows needs no call into
    Python; it leaves out of the stack what `capture()` leaves out (jspiprof's own frames on top, runpy's next to the
    launcher). No path is worked out (that reads the code's instructions the first time at each one, too slow)."""
    try:
        top = sys._getframe(1)
    except ValueError:
        top = None
    chain = _chain(top)  # first: it names the frames not seen before
    return json.dumps({"frames": _take_new_frames(), "chain": chain})


def _caller_frame() -> FrameType | None:
    """The innermost frame of the program's stack: the caller of the hook's call, skipping jspiprof's own wrappers."""
    try:
        top = sys._getframe(2)
    except ValueError:
        top = None
    while top is not None and top.f_code.co_filename == __file__:
        top = top.f_back  # jspiprof's own wrapper (watch_no_jspi) is not part of the program's stack
    return top


def _stack_id(top: FrameType | None, path: str) -> int | str:
    """The id of the stack from `top` outwards (up to jspiprof's launcher) asked for by `path`, or the description of a
    stack never seen before."""
    ids = [frame_id for frame_id, _ in _chain(top) if frame_id != _BOUNDARY]
    stack_key = (path, tuple(ids))
    stack_id = _stack_ids.get(stack_key)
    if stack_id is None:
        return describe(_new_stack(stack_key))
    return stack_id


def _chain(top: FrameType | None) -> list[tuple[int, int]]:
    """The frame id and code address of each frame from `top` outwards, up to and with jspiprof's launcher (whose
    frame id is `_BOUNDARY`)."""
    chain: list[tuple[int, int]] = []
    frame = top
    while frame is not None:
        code = frame.f_code
        _, frame_ids = _code_frames.get(id(code)) or _watch(code)
        instruction = frame.f_lasti
        frame_id = frame_ids.get(instruction)
        if frame_id is None:  # first time at this instruction of this code object
            key = (code.co_filename, code.co_qualname, frame.f_lineno)
            frame_id = _frame_ids.get(key)
            if frame_id is None:
                frame_id = _intern(key)
            frame_ids[instruction] = frame_id
        chain.append((frame_id, id(code)))
        if frame_id == _BOUNDARY:
            break
        frame = frame.f_back
    while frame is not None:  # below the launcher: not part of the stack, but part of the hook's key for it
        if id(frame.f_code) not in _code_frames:
            _watch(frame.f_code)
        frame = frame.f_back
    return chain


def _watch(code: CodeType) -> tuple[weakref.ref[CodeType], dict[int, int]]:
    """Start watching `code`: until it is freed, its frame ids are kept by instruction (working out a frame's line
    takes microseconds in Pyodide), and when it is freed the hook is told. The hook recognises a stack it has seen
    by its frames' code addresses; a code object compiled later at a freed one's address (each `runPython`
    compiles its own) must not be taken for the freed one."""
    watched = (weakref.ref(code, functools.partial(_freed, id(code))), {})
    _code_frames[id(code)] = watched
    return watched


def _freed(address: int, ref: weakref.ref[CodeType]) -> None:
    """Called as the code object at `address` is freed (before anything else can be allocated there)."""
    watched = _code_frames.get(address)
    if watched is not None and watched[0] is ref:
        del _code_frames[address]
    if _forget_code is not None:
        _forget_code(address)


def _new_stack(stack_key: tuple[str, tuple[int, ...]]) -> int:
    path, frame_ids = stack_key
    innermost_first = list(frame_ids)
    frames = {frame["id"]: frame for frame in _new_frames}
    while innermost_first and _frame_file(innermost_first[-1], frames).endswith(_RUNPY_FILES):
        innermost_first.pop()
    site = None
    for frame_id in innermost_first:
        frame = _frame_by_id(frame_id, frames)
        if not frame["library"]:
            site = f"{frame['file']}:{frame['line']}"
            break
    stack_id = len(_stacks)
    _stacks.append({"stack": innermost_first[::-1], "depth": len(innermost_first), "site": site, "path": path})
    _stack_ids[stack_key] = stack_id
    return stack_id


_known_frames: dict[int, dict[str, Any]] = {}


def _frame_by_id(frame_id: int, new: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return new.get(frame_id) or _known_frames[frame_id]


def _frame_file(frame_id: int, new: dict[int, dict[str, Any]]) -> str:
    return _frame_by_id(frame_id, new)["file"]


def describe(stack_id: int) -> str:
    """JSON for the hook: the frames not sent yet, then the stack's id, frame ids (outermost first), depth, site and
    path."""
    return json.dumps({"frames": _take_new_frames(), "id": stack_id, **_stacks[stack_id]})


def _take_new_frames() -> list[dict[str, Any]]:
    """The frames not sent to the hook yet (from now on sent)."""
    frames = list(_new_frames)
    for frame in frames:
        _known_frames[frame["id"]] = frame
    _new_frames.clear()
    return frames


def path_of(top: FrameType | None) -> str:
    """What asked for the switch, from the innermost Python frame (and its caller)."""
    if top is None:
        return "other"
    filename = top.f_code.co_filename
    name = top.f_code.co_name
    if "/urllib3/" in filename:
        return "urllib3"
    if filename.endswith("pyodide/webloop.py"):
        if name == "_sleep":
            return "time.sleep"
        if name == "run_until_complete":
            caller = top.f_back
            if caller is not None and caller.f_code.co_name == "_run" and caller.f_code.co_filename == filename:
                return "asyncio.run"
            return "run_until_complete"
    if filename.endswith("/ssl.py"):
        return "ssl"
    if filename.endswith("/socket.py"):
        return "socket"
    callee = _callee_name(top)
    if callee is None:
        return "other"
    if callee in _SOCKET_CALLS:
        return "socket"
    if callee in _SSL_CALLS:
        return "ssl"
    if callee == "run_sync" or _is_run_sync(top.f_globals.get(callee)):
        return "run_sync"
    return "other"


def _is_run_sync(obj: object) -> bool:
    try:
        from pyodide.ffi import run_sync
    except ImportError:
        return False
    return obj is run_sync


_callees: dict[tuple[Any, ...], str | None] = {}
"""`_callee_name` of each instruction seen (working it out reads the code's instructions: ~150 µs in Pyodide even
for a one-line program), keyed by what decides it rather than by code object: code compiled anew for each call,
whose constants differ, shares the answer, and no code object is kept alive."""


def _callee_name(frame: FrameType) -> str | None:
    """The last name of the callee of the call the frame is executing (`run_sync`, `sleep`, `recv`), if any."""
    code = frame.f_code
    key = (
        code.co_code,
        code.co_names,
        code.co_varnames,
        code.co_cellvars,
        code.co_freevars,
        code.co_linetable,
        code.co_firstlineno,
        frame.f_lasti,
    )
    if key not in _callees:
        _callees[key] = _read_callee_name(code, frame.f_lasti)
    return _callees[key]


def _read_callee_name(code: CodeType, offset: int) -> str | None:
    """`_callee_name` of the call at `offset` in `code`, from its instructions up to that call (the callee's are
    before it). Only loads of names count (not of constants), so the answer does not depend on the code's constants."""
    import dis

    loads = []
    for ins in dis.get_instructions(code):
        if ins.offset == offset:
            call = ins
            break
        if (
            ins.opname.startswith("LOAD_")
            and ins.opname != "LOAD_CONST"
            and ins.positions is not None
            and isinstance(ins.argval, str)
        ):
            loads.append(ins)
    else:
        return None
    if call.positions is None or call.positions.col_offset is None:
        return None
    start = (call.positions.lineno, call.positions.col_offset)
    best: tuple[int, str] | None = None
    for ins in loads:
        if (ins.positions.lineno, ins.positions.col_offset) != start:
            continue
        end = (ins.positions.end_lineno or 0) * 100000 + (ins.positions.end_col_offset or 0)
        if best is None or end > best[0]:
            best = (end, ins.argval)
    return None if best is None else best[1]


def calibrate(check: Callable[[list[list[int]]], bool], forget: Callable[[int], None]) -> bool:
    """Let the hook find CPython's frame layout: `check` gets `[code address, f_lasti]` of each frame of its
    caller's stack, innermost first. It is called from two instructions of this frame, so the hook can tell the
    field that moves with the instruction from fields that merely point near the code object. From then on
    `forget` is called with the address of each freed code object that was part of a captured stack."""
    global _forget_code
    _forget_code = forget
    _calibration_sample(check)
    return _calibration_sample(check)


def code_layout() -> list[list[int]]:
    """For the hook to find CPython's code object layout: for a few code objects (their files, qualified names and
    first lines differ), their address, the addresses of co_filename, co_qualname and co_linetable, co_firstlineno,
    and the line table's length and byte sum."""

    def nested() -> None:
        pass  # a qualified name unlike its name

    codes = [nested.__code__, capture.__code__, _stack_id.__code__, json.dumps.__code__]
    return [
        [id(c), id(c.co_filename), id(c.co_qualname), c.co_firstlineno, id(c.co_linetable)]
        + [len(c.co_linetable), sum(c.co_linetable)]
        for c in codes
    ]


def _calibration_sample(check: Callable[[list[list[int]]], bool]) -> bool:
    frame: FrameType | None = sys._getframe()
    frames = []
    while frame is not None:
        frames.append([id(frame.f_code), frame.f_lasti])
        frame = frame.f_back
    return bool(check(frames))


NO_JSPI_ERROR = "WebAssembly stack switching not supported in this JavaScript runtime"


def watch_no_jspi(report: Callable[[str], None]) -> None:
    """On a runtime without JSPI, have `run_sync` report each switch it refuses (then raise as before).

    Pyodide refuses those before its `saveState`, so the JS hook cannot see them. `run_sync` is replaced in
    `pyodide.ffi` and `pyodide.webloop` (which asyncio.run and run_until_complete use); code that imported
    `run_sync` before the hook was installed keeps the original.
    """
    import pyodide.ffi
    import pyodide.webloop

    original = pyodide.ffi.run_sync

    @functools.wraps(original)
    def run_sync(awaitable: Any) -> Any:
        try:
            return original(awaitable)
        except RuntimeError as error:
            if str(error) == NO_JSPI_ERROR:
                report(f"RuntimeError: {error}")
            raise

    pyodide.ffi.run_sync = run_sync
    pyodide.webloop.run_sync = run_sync


def attach(control: Any) -> None:
    """Called by the JS hook once: `control` has `start()` and `stop()` (and `recording`)."""
    global _control
    _control = control


def _hook() -> Any:
    if _control is None:
        raise RuntimeError(
            "jspiprof is not recording this Pyodide: load Pyodide through the jspiprof JS hook (wrapLoadPyodide) "
            "or run the program with `jspiprof run`."
        )
    return _control


def start() -> None:
    """Record stack switches from now on (into the trace the JS hook writes)."""
    _hook().start()


def stop() -> None:
    """Stop recording stack switches."""
    _hook().stop()


def is_recording() -> bool:
    """Whether stack switches are being recorded now."""
    return bool(_hook().isRecording())


class profile:
    """Record the stack switches of a region: `with jspiprof.profile(): ...` or `@jspiprof.profile()`.

    Recording is on inside the region and back to what it was after it (so regions nest, and under
    `jspiprof run`, which records everything, they change nothing). Results and exceptions pass through.
    """

    def __enter__(self) -> profile:
        self._was_recording = is_recording()
        start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._was_recording:
            stop()

    def __call__(self, function: F) -> F:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with profile():
                    return await function(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            with profile():
                return function(*args, **kwargs)

        return run  # type: ignore[return-value]
