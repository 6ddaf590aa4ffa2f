"""The fixes for a synchronous entry, by how JS entered Python: `runPython`, a direct PyProxy call, a JS callback.

They name the JS location from the error text or the trace, never the JS source there: jspiprof does not open the
files or URLs that an error text or a trace names (they may come from anyone).
"""

from __future__ import annotations

from jspiprof.in_pyodide.diagnose.entry_point import EntryPoint, Registered


def fix_runpython(entry: EntryPoint) -> str:
    where = f" at {entry.caller.location}" if entry.caller else ""
    return (
        f"Replace `pyodide.runPython(code)`{where} with `await pyodide.runPythonAsync(code)` (inside an async function "
        "or an ES module; it resolves to the same result). Python code run that way may call run_sync, time.sleep, "
        "asyncio.run and requests at top level. If the code must stay synchronous, guard the blocking call: "
        "`if can_run_sync(): run_sync(aw)` else fall back (e.g. `asyncio.ensure_future(aw)`)."
    )


def fix_pyproxy_call(entry: EntryPoint, function: str) -> str:
    where = f" at {entry.caller.location}" if entry.caller else ""
    return (
        f"Call it promising: replace `pyFunc(...)`{where} (pyFunc: your PyProxy of `{function}`) with "
        "`await pyFunc.callPromising(...)` (use `callPromisingKwargs(..., {key: value})` for keyword arguments). It "
        "returns a Promise of the result: await it (or `.then(...)`) and handle rejections with `.catch(...)`, because "
        f"Python errors now arrive as a rejected Promise instead of an exception. Or make `{function}` an `async def` "
        "and await the Promise JS gets back."
    )


def fix_js_callback(entry: EntryPoint, function: str) -> str:
    if entry.via is not None and entry.via.function.startswith("Array."):
        method = entry.via.function.removeprefix("Array.")
        where = f" at {entry.caller.location}" if entry.caller else ""
        return (
            f"Array.{method} calls `{function}` synchronously{where}: call it promising per item and await all the "
            f"Promises: replace `items.{method}({function})` with "
            f"`await Promise.all(items.map((item) => {function}.callPromising(item)))` (or a `for ... of` loop with "
            f"`await {function}.callPromising(item)` to run them one after another). Or make `{function}` an "
            f"`async def` and `await Promise.all(items.map({function}))`."
        )
    return (
        f"Make the handler `async def {function}(...)`: JS then gets a Promise and Pyodide runs the body as an "
        "asyncio task, where run_sync, time.sleep and `await` work (keep the `create_proxy(...)` if you had one). "
        "Or, from JS, register a wrapper that enters promising: "
        f"`(...args) => {function}.callPromising(...args).catch(console.error)` "
        '(e.g. `button.addEventListener("click", (event) => onSave.callPromising(event).catch(console.error))`, '
        f"`setTimeout(() => {function}.callPromising(), ms)`)."
    )


_PROMISING_WRAPPERS = {
    "addEventListener": (
        'target.addEventListener("{event}", (event) => {function}.callPromising(event).catch(console.error))'
    ),
    "property": "target.on{event} = (event) => {function}.callPromising(event).catch(console.error)",
    "setTimeout": "setTimeout(() => {function}.callPromising().catch(console.error), ms)",
    "setInterval": "setInterval(() => {function}.callPromising().catch(console.error), ms)",
    "requestAnimationFrame": "requestAnimationFrame((time) => {function}.callPromising(time).catch(console.error))",
    "queueMicrotask": "queueMicrotask(() => {function}.callPromising().catch(console.error))",
    "Promise.then": "promise.then((value) => {function}.callPromising(value))",
}


def fix_registered_callback(registered: Registered, function: str) -> str:
    """The fix for a callback JS code registered (`registered`) and then called synchronously: when Python registered
    it, make the handler async and keep its `create_proxy`; when JS did, change that JS registration."""
    where = f" at {registered.location}" if registered.location else ""
    wrapper = _PROMISING_WRAPPERS.get(registered.api, "(...args) => {function}.callPromising(...args)")
    code = wrapper.format(event=registered.event, function=function)
    if not registered.by_python():
        return (
            f"Change the JS registration{where}: register a function that calls `{function}` promising instead of "
            f"the PyProxy itself, `{code}`, so the callback enters Python with callPromising and may wait. Or make "
            f"the handler `async def {function}(...)`: the registration{where} then stays as it is, JS gets a Promise "
            "and Pyodide runs the body as an asyncio task, where run_sync, time.sleep and `await` work."
        )
    return (
        f"Make the handler `async def {function}(...)`: JS then gets a Promise and Pyodide runs the body as an asyncio "
        "task, where run_sync, time.sleep and `await` work (keep the `create_proxy(...)` that registers it"
        f"{where}). Or register a wrapper that enters promising{where}: `{code}`."
    )


def entry_fix(entry: EntryPoint, function: str) -> str:
    """The fix for the synchronous entry `entry` of the Python function `function`."""
    if entry.registered is not None:
        return fix_registered_callback(entry.registered, function)
    if entry.kind == "runPython":
        return fix_runpython(entry)
    if entry.kind == "call" and entry.caller is not None and entry.via is None:
        return fix_pyproxy_call(entry, function)
    if entry.kind == "unknown":
        return (
            "If JS calls it directly: " + fix_pyproxy_call(entry, function) + " If JS calls it as a callback "
            "(event listener, timer, array method): " + fix_js_callback(entry, function) + " (Log `error.stack`, not "
            "`error.message`, to see which JS code called it.)"
        )
    return fix_js_callback(entry, function)


def suggested_edit(entry: EntryPoint, function: str) -> tuple[str, str] | None:
    """The fix as a substitution in the Python code, when it is one: a callback JS calls becomes an `async def`."""
    if entry.kind == "call" and (entry.via is not None or entry.caller is None) and function != "the function":
        return f"def {function}(", f"async def {function}("
    return None
