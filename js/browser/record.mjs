/**
 * `jspiprof record`'s browser side: opens a URL in Chromium or Firefox and profiles every Pyodide the page starts
 * (on its main thread, in its module workers and in the pages it opens) without changing the page: requests for
 * Pyodide's loader are answered with one whose `loadPyodide` goes through jspiprof's hook (`interception.mjs`), and
 * the hook streams each instance's trace to the host's collector (`post-trace-writer.mjs`), which merges them into
 * one trace.
 *
 * Usage: node record.mjs FD   (FD: the pipe from jspiprof.browser.recording, as for run.mjs: the settings,
 * RecordSettings below, as one line of JSON; this Node ends when the pipe does)
 * It tells the host what happens as JSON lines on stdout: {"event": "opened"}, {"event": "page-error", "message"},
 * {"event": "closed", "reason"} and {"event": "failed", "message"} (then exit status 1).
 * SIGTERM stops the recording: the instances get time to send their last batch, then the browser closes.
 */
import fs from "node:fs";
import path from "node:path";
import { endWithParent, readSettings } from "../lifeline.mjs";
import { interceptBrowserRequests } from "./browser-requests.mjs";
import { launch, loadPuppeteer } from "./launch.mjs";
import { cdnFile, classicWrapper, contentType, moduleWrapper, pyodideLoader, realURL } from "./interception.mjs";

/**
 * @typedef {object} RecordSettings
 * @property {string} url the page to open
 * @property {"chromium"|"firefox"} browser
 * @property {boolean} headed show the browser's window
 * @property {string} nodeModules where puppeteer-core is installed
 * @property {string} hookURL jspiprof's `hook.mjs`, served by the host
 * @property {string} collectorURL where the instances POST their traces
 * @property {string} pyodideDir the cached Pyodide folder, which answers `cdnPrefix`
 * @property {string} cdnPrefix the jsDelivr folder of the cached Pyodide version
 * @property {number} flushIntervalMs how often the instances send their traces
 * @property {object} hookOptions more options of the hook for every instance (`jspiprof run --browser`: program, sampling)
 */

const CORS = { "Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin" };

/** Tell the host. @param {object} message */
function tell(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

/**
 * The real `pyodide.js` at `url`: from the cache for the CDN's copy, else fetched; null when it cannot be had.
 * @param {string} url @param {RecordSettings} settings
 */
async function realClassicLoader(url, settings) {
  const file = cdnFile(url, settings.cdnPrefix);
  if (file !== null) return fs.readFileSync(path.join(settings.pyodideDir, file), "utf8");
  const response = await fetch(url).catch(() => null);
  return response?.ok ? response.text() : null;
}

/**
 * Answer one request of the page or its workers.
 * @param {any} request puppeteer's HTTPRequest @param {RecordSettings} settings
 */
async function answer(request, settings) {
  const url = request.url();
  if (!/^https?:/.test(url)) return request.continue();
  const options = { ...settings.hookOptions, collector: settings.collectorURL, flushIntervalMs: settings.flushIntervalMs };
  const loader = pyodideLoader(url);
  if (loader === "module") {
    const body = moduleWrapper(realURL(url), settings.hookURL, options);
    return request.respond({ status: 200, contentType: "text/javascript", headers: CORS, body });
  }
  if (loader === "classic") {
    const real = await realClassicLoader(url, settings);
    if (real === null) {
      tell({ event: "page-error", message: `jspiprof could not fetch ${url} itself: the Pyodide it loads is not recorded` });
      return request.continue();
    }
    const body = classicWrapper(real, settings.hookURL, options);
    return request.respond({ status: 200, contentType: "text/javascript", headers: CORS, body });
  }
  const file = cdnFile(url, settings.cdnPrefix);
  if (file === null) return request.continue();
  const filePath = path.join(settings.pyodideDir, file);
  if (!fs.existsSync(filePath)) return request.respond({ status: 404, contentType: "text/plain", headers: CORS, body: "" });
  return request.respond({ status: 200, contentType: contentType(file), headers: CORS, body: fs.readFileSync(filePath) });
}

/**
 * Answer `request` as `answer` does; tell the host when it cannot.
 * @param {any} request puppeteer's HTTPRequest, or a `PausedRequest` @param {RecordSettings} settings
 */
function handle(request, settings) {
  answer(request, settings).catch((error) => {
    tell({ event: "page-error", message: `jspiprof could not answer ${request.url()}: ${error.message}` });
    if (!request.isInterceptResolutionHandled()) request.continue().catch(() => {});
  });
}

/**
 * Answer the requests of `page`, of its workers and of every page opened later (window.open, target=_blank links),
 * and tell the host of their errors.
 * @param {any} browser puppeteer's Browser @param {any} page its first page @param {RecordSettings} settings
 */
async function interceptEveryPage(browser, page, settings) {
  /** @param {any} opened */
  const listen = (opened) =>
    opened.on("pageerror", (/** @type {any} */ error) => tell({ event: "page-error", message: String(error?.message ?? error) }));
  /** @param {any} opened */
  const intercept = async (opened) => {
    await opened.setRequestInterception(true);
    opened.on("request", (/** @type {any} */ request) => handle(request, settings));
  };
  if (settings.browser === "chromium") {
    // CDP pauses the requests of the whole browser: a page opened later is answered from its first request, before
    // puppeteer could attach to it and intercept it.
    await interceptBrowserRequests(await browser.target().createCDPSession(), (request) => handle(request, settings));
  } else {
    await intercept(page); // WebDriver BiDi intercepts page by page: each new page when it appears, below
  }
  listen(page);
  browser.on("targetcreated", async (/** @type {any} */ target) => {
    const opened = target.type() === "page" ? await target.page().catch(() => null) : null;
    if (opened === null || opened === page) return;
    listen(opened);
    if (settings.browser !== "chromium") await intercept(opened).catch(() => {});
  });
}

async function main() {
  const fd = Number(process.argv[2]);
  /** @type {RecordSettings} */
  const settings = readSettings(fd);
  await endWithParent(fd);
  const puppeteer = await loadPuppeteer(settings.nodeModules);
  const browser = await launch(puppeteer, settings.browser, { headed: settings.headed });
  let stopping = false;
  /** Let the instances send their last batch, close the browser and leave. @param {string} reason */
  const stop = async (reason) => {
    if (stopping) return;
    stopping = true;
    await new Promise((resolve) => setTimeout(resolve, 3 * settings.flushIntervalMs));
    tell({ event: "closed", reason });
    await Promise.race([browser.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000))]);
    process.exit(0);
  };
  process.on("SIGTERM", () => stop("stopped"));
  browser.on("disconnected", () => stop("the browser closed"));
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  await interceptEveryPage(browser, page, settings);
  page.on("error", () => stop("the page crashed"));
  page.on("close", () => stop("the page closed"));
  try {
    const response = await page.goto(settings.url, { waitUntil: "load", timeout: 60000 });
    if (response !== null && !response.ok()) {
      tell({ event: "page-error", message: `${settings.url} answered HTTP ${response.status()}` });
    }
  } catch (error) {
    tell({ event: "failed", message: `cannot open ${settings.url}: ${error.message.split("\n")[0]}` });
    stopping = true; // the browser's end below is this failure's, not a reason to stop in order
    await browser.close().catch(() => {});
    process.exit(1);
  }
  tell({ event: "opened" });
}

main().catch((error) => {
  tell({ event: "failed", message: String(error?.message ?? error).split("\n")[0] });
  process.exit(1);
});
