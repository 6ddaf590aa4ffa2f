/**
 * One headless Firefox ESR (WebDriver BiDi, started by jspiprof's own `js/browser/launch.mjs`) that opens pages on
 * request: each line on stdin is `{"url", "ready", "value"}`; the page at `url` is opened, waited on until the JS
 * expression `ready` is true, and what the JS expression `value` gives then is written as one JSON line on stdout.
 * Firefox closes when stdin ends. The Firefox side of tests that check a page (`tests/hook_pages.py`).
 *
 * Usage: node firefox_pages.mjs NODE_MODULES
 */
import readline from "node:readline";
import { launch, loadPuppeteer } from "../js/browser/launch.mjs";

const browser = await launch(await loadPuppeteer(process.argv[2]), "firefox");
try {
  const page = await browser.newPage();
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const { url, ready, value } = JSON.parse(line);
    await page.goto(url, { waitUntil: "load", timeout: 120000 });
    await page.waitForFunction(ready, { timeout: 120000, polling: 50 });
    process.stdout.write(JSON.stringify(await page.evaluate(value)) + "\n");
  }
} finally {
  await browser.close();
}
