// busy-wait-sleep: time.sleep in code run with runPython. No error: the sleep busy-waits and blocks the event
// loop (a timer due meanwhile fires late). Only a trace shows it.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
const started = performance.now();
setTimeout(() => console.log(`timer due after 10 ms fired after ${Math.round(performance.now() - started)} ms`), 10);
pyodide.runPython( // <- location
  `
import time

def wait_for_job():
    time.sleep(0.2)

wait_for_job()
`);
