/**
 * `jspiprof run --browser`'s side inside the browser: the harness page served by jspiprof.runtime.browser_runner
 * loads this module, which runs the program on the page's main thread or, with `--worker`, starts itself again
 * as a module worker and runs it there. It does what js/run.mjs does under Node: loads Pyodide, puts the program's
 * files at their host paths, loads its wheels, runs jspiprof's launcher (argv, `-m`, `-c`, exit status, tracebacks)
 * and sends stdout/stderr to the host as they come, then the files the program wrote and the exit status. The trace is `jspiprof record`'s: its
 * browser driver answers this module's import of pyodide.mjs with one whose `loadPyodide` goes through the hook,
 * which streams the trace to the host (jspiprof.browser).
 */
import { loadWheels, runLauncher } from "./launcher.mjs";
import { ProgramOutput } from "./program-output.mjs";
import { writeProgramFiles } from "./program-files.mjs";
import { fileTimes, writtenFiles } from "./written-files.mjs";

/**
 * @typedef {object} BrowserRunConfig what the host serves at /program/config
 * @property {boolean} worker run in a module worker instead of the page's main thread
 * @property {string} pyodideURL URL of the cached pyodide.mjs (relative to the host's root, as are the others)
 * @property {string|null} snapshotURL Pyodide's start-up snapshot in the cache (js/snapshot.mjs), when there is one
 * @property {"script"|"code"|"module"} mode what `target` is
 * @property {string} target script path, code text or module name
 * @property {string[]} argv sys.argv for the program
 * @property {string} cwd current folder inside Pyodide
 * @property {string[]} folders folders to create inside Pyodide (the current folder and the script's)
 * @property {import("./program-files.mjs").ProgramFile[]} files the files of those folders, as in /program/files
 * @property {string[]} wheels URLs of the wheels to load before the program starts
 */

const IN_WORKER = typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope;
/** The host's root for this run: its URLs hold a secret first segment, so other local users cannot read the files. */
const ROOT = new URL("../", import.meta.url);

/** POST `body` to the host at `path`. @param {string} path @param {BodyInit} body @param {Record<string, string>} [headers] */
async function post(path, body, headers = {}) {
  const response = await fetch(new URL(path, ROOT), { method: "POST", body, headers });
  if (!response.ok) throw new Error(`jspiprof: the host refused ${path} (HTTP ${response.status}).`);
}

/** GET `path` from the host. @param {string} path */
async function get(path) {
  const response = await fetch(new URL(path, ROOT));
  if (!response.ok) throw new Error(`jspiprof: the host could not serve ${path} (HTTP ${response.status}).`);
  return response;
}

/** The end of the run for the host: the program's exit status, or why it could not run (status 2). */
function finish(/** @type {{status: number}|{error: string}} */ result) {
  return post("program/exit", JSON.stringify(result));
}

/** Forward the console to the program's stdout and stderr, as under Node. @param {ProgramOutput} output */
function forwardConsole(output) {
  const text = (/** @type {unknown[]} */ args) => `${args.map(String).join(" ")}\n`;
  for (const level of ["log", "info", "debug"]) console[level] = (...args) => output.writeText("stdout", text(args));
  for (const level of ["warn", "error"]) console[level] = (...args) => output.writeText("stderr", text(args));
}

/**
 * Run the program; its exit status.
 * @param {BrowserRunConfig} config @param {ProgramOutput} output
 */
async function runProgram(config, output) {
  const { loadPyodide } = await import(new URL(config.pyodideURL, ROOT).href);
  // Starting from the snapshot skips initialising Python, most of the start-up time, as under Node.
  const snapshot = config.snapshotURL ? { _loadSnapshot: await (await get(config.snapshotURL)).arrayBuffer() } : {};
  const pyodide = await loadPyodide({ indexURL: new URL(".", new URL(config.pyodideURL, ROOT)).href, ...snapshot });
  if (pyodide.jspiprof === undefined) throw new Error("jspiprof: Pyodide was loaded without jspiprof's hook.");
  pyodide.setStdout({ write: (/** @type {Uint8Array} */ bytes) => output.write("stdout", bytes) });
  pyodide.setStderr({ write: (/** @type {Uint8Array} */ bytes) => output.write("stderr", bytes) });
  pyodide.setStdin({ stdin: () => undefined }); // no terminal in the page: input() meets the end of input
  forwardConsole(output);
  const bundle = new Uint8Array(await (await get("program/files")).arrayBuffer());
  writeProgramFiles(pyodide.FS, config.folders, config.files, bundle);
  const copied = fileTimes(pyodide.FS, config.folders);
  await loadWheels(pyodide, config.wheels.map((url) => new URL(url, ROOT).href));
  const status = await runLauncher(pyodide, config);
  await output.settled();
  await post("program/written", writtenFiles(pyodide.FS, config.folders, copied));
  await pyodide.jspiprof.close(status); // the end line, with the exit status, has reached the host
  return status;
}

/** The page with `--worker`: run this module again as a module worker, and report a worker that fails to start. */
function startWorker() {
  const worker = new Worker(import.meta.url, { type: "module" });
  worker.addEventListener("error", (event) => {
    finish({ error: `the module worker failed: ${event.message || "its script could not be loaded"}` });
  });
}

async function main() {
  const output = new ProgramOutput((sequence, stream, bytes) =>
    post("program/output", bytes, { "X-Sequence": String(sequence), "X-Stream": stream }),
  );
  try {
    /** @type {BrowserRunConfig} */
    const config = await (await get("program/config")).json();
    if (config.worker && !IN_WORKER) return startWorker();
    await finish({ status: await runProgram(config, output) });
  } catch (error) {
    await output.settled();
    await finish({ error: String(/** @type {Error} */ (error)?.message ?? error) });
  }
}

await main();
