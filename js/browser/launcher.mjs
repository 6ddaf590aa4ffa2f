/**
 * What `jspiprof run` does in Pyodide once it is loaded, under Node (`js/run.mjs`) and in a page or worker
 * (`run-program.mjs`) alike: load the program's wheels, then run the program through jspiprof's launcher
 * (`jspiprof.in_pyodide.launcher.run_program`: argv, `-m`, `-c`, tracebacks, exit status).
 */

/**
 * @typedef {object} ProgramRequest what to run, as `run_program` takes it
 * @property {"script"|"module"|"code"} mode
 * @property {string} target the script's path, the module's name or the code
 * @property {string[]} argv the program's `sys.argv`
 * @property {string} cwd its working folder
 */

/**
 * Load the wheels (paths or URLs); an Error naming those Pyodide did not load (its `loadPackage` resolves anyway).
 * @param {any} pyodide @param {string[]} wheels
 */
export async function loadWheels(pyodide, wheels) {
  if (wheels.length === 0) return;
  /** @type {string[]} */
  const errors = [];
  const loaded = await pyodide.loadPackage(wheels, {
    messageCallback: () => {},
    errorCallback: (/** @type {string} */ message) => errors.push(message),
  });
  const loadedFiles = new Set(loaded.map((/** @type {{fileName: string}} */ pkg) => pkg.fileName));
  const missing = wheels.map((wheel) => wheel.slice(wheel.lastIndexOf("/") + 1)).filter((name) => !loadedFiles.has(name));
  if (missing.length > 0) {
    throw new Error(`Pyodide did not load ${missing.join(", ")}${errors.length ? ` (${errors.join("; ")})` : ""}.`);
  }
}

/**
 * Run the program as `request` says, in `pyodide`; its exit status.
 * @param {any} pyodide @param {ProgramRequest} request
 * @returns {Promise<number>}
 */
export async function runLauncher(pyodide, { mode, target, argv, cwd }) {
  const namespace = pyodide.toPy({ request: { mode, target, argv, cwd } });
  try {
    return await pyodide.runPythonAsync(
      "from jspiprof.in_pyodide.launcher import run_program\nrun_program(**request)",
      { globals: namespace },
    );
  } finally {
    namespace.destroy();
  }
}
