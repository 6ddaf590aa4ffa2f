/**
 * Launches the browser a recording drives, with puppeteer-core from jspiprof's cache
 * (`jspiprof/runtime/browser_tools.py`): Debian's Chromium over CDP, or Firefox ESR over WebDriver BiDi.
 *
 *   const puppeteer = await loadPuppeteer("/path/to/cache/browser-tools/node_modules");
 *   const browser = await launch(puppeteer, "firefox", { headed: false });
 */

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import chromiumFlags from "./chromium-flags.json" with { type: "json" };

/** Debian's browsers, by the names `jspiprof record --browser` takes. */
export const BROWSERS = { chromium: "/usr/bin/chromium", firefox: "/usr/bin/firefox-esr" };

/**
 * What Chromium needs to run quietly, offline and as root (`--no-sandbox`); puppeteer adds `--headless` unless
 * headed. One list in `chromium-flags.json`, which the pytest plugin's Chromium reads too.
 * @type {string[]}
 */
export const CHROMIUM_FLAGS = chromiumFlags;

/**
 * puppeteer-core, imported from the `node_modules` folder it was installed into.
 * @param {string} nodeModules
 * @returns {Promise<any>}
 */
export async function loadPuppeteer(nodeModules) {
  let entry;
  try {
    entry = createRequire(`${nodeModules}/`).resolve("puppeteer-core");
  } catch {
    throw new Error(`jspiprof: puppeteer-core is not installed in ${nodeModules}: run \`jspiprof setup --browser\`.`);
  }
  const module = await import(pathToFileURL(entry).href);
  return module.default ?? module;
}

/**
 * The options of `puppeteer.launch` for `browser`.
 * @param {"chromium"|"firefox"} browser
 * @param {{headed?: boolean, executablePath?: string}} [options] `executablePath` replaces Debian's browser
 * @returns {{browser: "chrome"|"firefox", executablePath: string, headless: boolean, args: string[], handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false}}
 */
export function launchOptions(browser, { headed = false, executablePath } = {}) {
  if (!(browser in BROWSERS)) {
    throw new Error(`jspiprof: unknown browser ${JSON.stringify(browser)}: use one of ${Object.keys(BROWSERS).join(", ")}.`);
  }
  return {
    browser: browser === "chromium" ? "chrome" : "firefox",
    executablePath: executablePath ?? BROWSERS[browser],
    headless: !headed,
    args: browser === "chromium" ? CHROMIUM_FLAGS.slice() : [],
    // The caller closes the browser on a signal, once the pages had time to send what they recorded.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  };
}

/**
 * Start `browser` (headless unless `headed`) and return puppeteer's Browser.
 * @param {any} puppeteer the module `loadPuppeteer` returns
 * @param {"chromium"|"firefox"} browser
 * @param {{headed?: boolean, executablePath?: string}} [options]
 */
export async function launch(puppeteer, browser, options = {}) {
  return puppeteer.launch(launchOptions(browser, options));
}
