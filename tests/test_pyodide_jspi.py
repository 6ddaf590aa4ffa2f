"""JSPI stack switching inside real Pyodide, in each runtime (Node 26 and headless Chromium).

These pin down the behaviour jspiprof profiles: where Python may stack-switch, where it may not, and that
a suspension lets the JS event loop run. Some carry stack-switching budgets (jspiprof's pytest plugin): each
switches exactly as often as the behaviour it pins down needs.
"""

import pytest
from pytest_pyodide import run_in_pyodide

_SYNC_RUN_SYNC = """
import asyncio
from pyodide.ffi import run_sync

def wait_then(value):
    return run_sync(asyncio.sleep(0.01, value))

wait_then
"""


@pytest.mark.jspiprof_budget(max_suspensions=1, max_failed_switches=0)
@run_in_pyodide
def test_run_sync_suspends_under_run_python_async(selenium) -> None:
    import asyncio

    from pyodide.ffi import can_run_sync, run_sync

    async def answer_later() -> int:
        await asyncio.sleep(0.02)
        return 42

    assert can_run_sync()
    assert run_sync(answer_later()) == 42


@pytest.mark.jspiprof_budget(max_suspensions=0, max_failed_switches=1)
def test_run_sync_from_run_python_raises_cannot_stack_switch(selenium) -> None:
    error = selenium.run_js(
        f"""
        try {{
            pyodide.runPython({_SYNC_RUN_SYNC + "wait_then('x')"!r});
            return null;
        }} catch (e) {{
            return [e.constructor.name, e.type, e.message];
        }}
        """
    )
    assert error is not None, "run_sync under runPython must fail"
    name, error_type, message = error
    assert (name, error_type) == ("PythonError", "RuntimeError")
    assert "Cannot stack switch because the Python entrypoint was a synchronous function" in message


def test_direct_sync_call_raises_cannot_stack_switch(selenium) -> None:
    error = selenium.run_js(
        f"""
        const wait_then = pyodide.runPython({_SYNC_RUN_SYNC!r});
        try {{
            wait_then("x");
            return null;
        }} catch (e) {{
            return [e.constructor.name, e.type, e.message];
        }} finally {{
            wait_then.destroy();
        }}
        """
    )
    assert error is not None, "run_sync in a directly called sync function must fail"
    name, error_type, message = error
    assert (name, error_type) == ("PythonError", "RuntimeError")
    assert "Use pyFunc.callPromising() to fix" in message


def test_call_promising_allows_run_sync_in_a_sync_function(selenium) -> None:
    result = selenium.run_js(
        f"""
        const wait_then = pyodide.runPython({_SYNC_RUN_SYNC!r});
        try {{
            const pending = wait_then.callPromising("x");
            // a thenable: Promise realms differ in Node's vm
            return [typeof pending.then === "function", await pending];
        }} finally {{
            wait_then.destroy();
        }}
        """
    )
    assert result == [True, "x"]


@pytest.mark.jspiprof_budget(max_suspensions=1, max_failed_switches=1)
def test_time_sleep_lets_js_timers_tick_only_when_it_can_stack_switch(selenium) -> None:
    ticks = selenium.run_js(
        """
        let ticks = 0;
        const timer = setInterval(() => ticks++, 10);
        try {
            pyodide.runPython("import time; time.sleep(0.2)");  // sync entry: busy-waits, the loop is blocked
            const whileBlocked = ticks;
            await pyodide.runPythonAsync("import time; time.sleep(0.3)");  // suspends: the loop keeps running
            return [whileBlocked, ticks - whileBlocked];
        } finally {
            clearInterval(timer);
        }
        """
    )
    while_blocked, while_suspended = ticks
    assert while_blocked == 0
    assert while_suspended >= 10, f"only {while_suspended} ticks of a 10 ms interval during a 300 ms time.sleep"


def test_asyncio_run_inside_a_sync_function_called_with_call_promising(selenium) -> None:
    result = selenium.run_js(
        """
        let ticks = 0;
        const timer = setInterval(() => ticks++, 10);
        const main = pyodide.runPython(`
import asyncio

def main():
    async def work():
        await asyncio.sleep(0.2)
        return "done"
    return asyncio.run(work())

main
`);
        try {
            const value = await main.callPromising();
            return [value, ticks];
        } finally {
            clearInterval(timer);
            main.destroy();
        }
        """
    )
    value, ticks = result
    assert value == "done"
    assert ticks >= 5


@pytest.mark.jspiprof_budget(max_suspensions=3, max_sequential_waits=3, max_failed_switches=0)
def test_urllib3_get_reaches_a_local_server(selenium, http_server: str) -> None:
    @run_in_pyodide(packages=["urllib3"])
    def get_json(selenium, url: str) -> tuple[int, dict]:
        import urllib3

        response = urllib3.request("GET", url)
        return response.status, response.json()

    status, body = get_json(selenium, f"{http_server}/json?n=7")
    assert status == 200
    assert body == {"n": 7, "path": "/json"}
