import { test } from "node:test";
import assert from "node:assert/strict";
import { loadWheels, runLauncher } from "./launcher.mjs";

/** A Pyodide that loads the wheels named in `loads` and runs code by answering `status`. */
function fakePyodide({ loads = [], status = 0 } = {}) {
  const seen = { loaded: null, code: null, globals: null, destroyed: false };
  return {
    seen,
    loadPackage: async (wheels, { errorCallback }) => {
      seen.loaded = wheels;
      for (const wheel of wheels) if (!loads.some((name) => wheel.endsWith(name))) errorCallback(`no ${wheel}`);
      return loads.map((fileName) => ({ fileName }));
    },
    toPy: (value) => ({ value, destroy: () => (seen.destroyed = true) }),
    runPythonAsync: async (code, { globals }) => {
      seen.code = code;
      seen.globals = globals.value;
      if (status instanceof Error) throw status;
      return status;
    },
  };
}

test("wheels given by path or URL load, and none is nothing to do", async () => {
  const pyodide = fakePyodide({ loads: ["a-1.0-py3-none-any.whl", "b-2.0-py3-none-any.whl"] });
  await loadWheels(pyodide, ["/cache/wheels/a-1.0-py3-none-any.whl", "http://127.0.0.1:9/w/b-2.0-py3-none-any.whl"]);
  assert.deepEqual(pyodide.seen.loaded, [
    "/cache/wheels/a-1.0-py3-none-any.whl",
    "http://127.0.0.1:9/w/b-2.0-py3-none-any.whl",
  ]);
  const idle = fakePyodide();
  await loadWheels(idle, []);
  assert.equal(idle.seen.loaded, null);
});

test("a wheel Pyodide did not load is named, with what Pyodide said", async () => {
  const pyodide = fakePyodide({ loads: ["a-1.0-py3-none-any.whl"] });
  await assert.rejects(
    loadWheels(pyodide, ["/w/a-1.0-py3-none-any.whl", "/w/b-2.0-py3-none-any.whl"]),
    { message: "Pyodide did not load b-2.0-py3-none-any.whl (no /w/b-2.0-py3-none-any.whl)." },
  );
});

test("the program runs through jspiprof's launcher with its request, and its exit status comes back", async () => {
  const pyodide = fakePyodide({ status: 3 });
  const config = { mode: "script", target: "app.py", argv: ["app.py", "-v"], cwd: "/srv", wheels: [] };
  assert.equal(await runLauncher(pyodide, config), 3);
  assert.equal(pyodide.seen.code, "from jspiprof.in_pyodide.launcher import run_program\nrun_program(**request)");
  assert.deepEqual(pyodide.seen.globals, { request: { mode: "script", target: "app.py", argv: ["app.py", "-v"], cwd: "/srv" } });
  assert.equal(pyodide.seen.destroyed, true);
});

test("the request's namespace is freed when the launcher throws too", async () => {
  const pyodide = fakePyodide({ status: new Error("broken") });
  await assert.rejects(runLauncher(pyodide, { mode: "code", target: "1", argv: ["-c"], cwd: "/" }), /broken/);
  assert.equal(pyodide.seen.destroyed, true);
});
