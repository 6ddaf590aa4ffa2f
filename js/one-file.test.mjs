import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { embed, embeddedPythonFiles, hookCodeURL } from "./one-file.mjs";
import { packageFiles } from "./probe-bridge.mjs";

describe("one-file", () => {
  test("loaded from js/, the hook's code is the js/ folder and the Python files are read from the package", async () => {
    assert.equal(embeddedPythonFiles(), null);
    assert.equal(hookCodeURL(), new URL("./", import.meta.url).href);
    const names = (await packageFiles()).map(([name]) => name);
    assert.ok(names.includes("__init__.py") && names.includes("in_pyodide/probe.py"));
  });

  test("built into one file, its code is that file and its Python files are the embedded ones", async () => {
    embed({ "__init__.py": "x = 1\n", "in_pyodide/probe.py": "é = 2\n" }, "https://example.test/app/jspiprof-hook.mjs");
    assert.equal(hookCodeURL(), "https://example.test/app/jspiprof-hook.mjs");
    const files = await packageFiles();
    assert.deepEqual(
      files.map(([name, bytes]) => [name, new TextDecoder().decode(bytes)]),
      [
        ["__init__.py", "x = 1\n"],
        ["in_pyodide/probe.py", "é = 2\n"],
      ],
    );
  });
});
