import { test } from "node:test";
import assert from "node:assert/strict";
import { BROWSERS, loadPuppeteer, launchOptions } from "./launch.mjs";

test("Chromium is driven over CDP with the quiet flags, headless unless headed", () => {
  const options = launchOptions("chromium");
  assert.equal(options.browser, "chrome");
  assert.equal(options.executablePath, BROWSERS.chromium);
  assert.equal(options.headless, true);
  assert.ok(options.args.includes("--no-sandbox"));
  assert.ok(options.args.includes("--disable-quic"));
  assert.equal(launchOptions("chromium", { headed: true }).headless, false);
});

test("Firefox is driven as puppeteer's firefox (WebDriver BiDi) with Debian's firefox-esr", () => {
  const options = launchOptions("firefox", { headed: true });
  assert.deepEqual(options, {
    browser: "firefox",
    executablePath: "/usr/bin/firefox-esr",
    headless: false,
    args: [],
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
});

test("an unknown browser is one sentence naming the known ones", () => {
  assert.throws(() => launchOptions("safari"), /unknown browser "safari": use one of chromium, firefox\./);
});

test("a missing puppeteer-core says how to install it", async () => {
  await assert.rejects(loadPuppeteer("/nonexistent/node_modules"), /jspiprof setup --browser/);
});
