// A module worker without Pyodide that starts the one with it (a nested worker), and passes its message on.
const worker = new Worker("./worker.mjs", { type: "module" });
worker.onmessage = (message) => postMessage(message.data);
