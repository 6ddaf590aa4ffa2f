// blocking-api-from-sync: requests.get in a Python function that JS calls directly (urllib3's own message).
// Needs WHEELS (comma-separated wheel paths for requests and its dependencies) and URL in the environment.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
await pyodide.loadPackage(process.env.WHEELS.split(","));
pyodide.runPython(`
import requests

def get_status(url):
    return requests.get(url).status_code
`);
const getStatus = pyodide.globals.get("get_status");
console.log("status:", getStatus(process.env.URL)); // <- location
