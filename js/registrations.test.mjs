// Registrations of Python callables as JS callbacks, seen through a fake realm: the callback APIs hand the real API
// a function that calls the proxy as its registration, listeners keep the proxy itself, and the location is where
// the registering call is (or the Python line, when Pyodide's own code made it).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hookRegistrations, registeringFrame, registrationLocator } from "./registrations.mjs";

/** A realm with the callback APIs, recording what they were handed. */
function fakeRealm() {
  const handed = [];
  class FakeEventTarget {
    addEventListener(type, listener) {
      handed.push(["addEventListener", type, listener]);
    }
  }
  class Signal extends FakeEventTarget {
    set onabort(value) {
      handed.push(["onabort", value]);
    }
    get onabort() {
      return handed.findLast(([what]) => what === "onabort")?.[1] ?? null;
    }
  }
  Object.defineProperty(Signal.prototype, "onabort", { configurable: true });
  const scope = {
    setTimeout: (callback, delay) => handed.push(["setTimeout", callback, delay]),
    queueMicrotask: (callback) => handed.push(["queueMicrotask", callback]),
    Promise: { prototype: { then: (onFulfilled, onRejected) => handed.push(["then", onFulfilled, onRejected]) } },
    EventTarget: FakeEventTarget,
    Signal,
  };
  return { scope, handed };
}

/** Two fake PyProxies and a registrar that records the calls it is asked to make. */
function fakeRegistrar(location = "app.py:3") {
  const proxies = new Set([() => "first", () => "second"]);
  const calls = [];
  const registrar = {
    isPyProxy: (value) => proxies.has(value),
    identity: (proxy) => proxy,
    register: (api, event) => ({ api, event, location }),
    call: (proxy, registration, thisArg, args) => {
      calls.push({ registration, args });
      return proxy(...args);
    },
  };
  return { registrar, calls, proxies: [...proxies] };
}

describe("callback APIs", () => {
  test("a timer gets a function that calls the proxy as its registration; a JS callback is handed over as it is", () => {
    const { scope, handed } = fakeRealm();
    const { registrar, calls, proxies } = fakeRegistrar();
    hookRegistrations(scope, registrar);
    const plain = () => "js";
    scope.setTimeout(proxies[0], 10);
    scope.setTimeout(plain, 20);
    scope.queueMicrotask(proxies[1]);
    const [[, wrapped, delay], [, unchanged], [, microtask]] = handed;
    assert.equal(delay, 10);
    assert.equal(unchanged, plain);
    assert.notEqual(wrapped, proxies[0]);
    assert.equal(wrapped("tick"), "first");
    assert.equal(microtask(), "second");
    assert.deepEqual(calls, [
      { registration: { api: "setTimeout", event: null, location: "app.py:3" }, args: ["tick"] },
      { registration: { api: "queueMicrotask", event: null, location: "app.py:3" }, args: [] },
    ]);
  });

  test("a wrapped timer keeps the symbol properties of the original (Node's util.promisify.custom)", () => {
    const { scope } = fakeRealm();
    const custom = Symbol.for("nodejs.util.promisify.custom");
    const promised = () => Promise.resolve();
    scope.setTimeout[custom] = promised;
    hookRegistrations(scope, fakeRegistrar().registrar);
    assert.equal(scope.setTimeout[custom], promised);
    assert.equal(scope.setTimeout.name, "setTimeout");
  });

  test("a Promise's then registers each proxy it is handed", () => {
    const { scope, handed } = fakeRealm();
    const { registrar, calls, proxies } = fakeRegistrar();
    hookRegistrations(scope, registrar);
    scope.Promise.prototype.then(proxies[0], proxies[1]);
    const [[, onFulfilled, onRejected]] = handed;
    onFulfilled(1);
    onRejected(2);
    assert.deepEqual(
      calls.map(({ registration, args }) => [registration.api, args]),
      [["Promise.then", [1]], ["Promise.then", [2]]],
    );
  });

  test("a listener keeps the proxy itself, and its registration is found from the event it is called with", () => {
    const { scope, handed } = fakeRealm();
    const { registrar, proxies } = fakeRegistrar();
    const registrationOf = hookRegistrations(scope, registrar);
    const target = new scope.EventTarget();
    target.addEventListener("click", proxies[0]);
    const signal = new scope.Signal();
    signal.onabort = proxies[1];
    assert.deepEqual(handed, [["addEventListener", "click", proxies[0]], ["onabort", proxies[1]]]);
    assert.equal(signal.onabort, proxies[1]);
    assert.deepEqual(registrationOf(proxies[0], [{ type: "click" }]), {
      api: "addEventListener",
      event: "click",
      location: "app.py:3",
    });
    assert.deepEqual(registrationOf(proxies[1], [{ type: "abort" }]), { api: "property", event: "abort", location: "app.py:3" });
    assert.equal(registrationOf(proxies[0], [{ type: "keydown" }]), null, "another event: not that registration");
    assert.equal(registrationOf(proxies[0], []), null, "called directly: no registration");
  });

  test("a realm's APIs are wrapped once, whichever Pyodide of the realm registers", () => {
    const { scope, handed } = fakeRealm();
    const first = fakeRegistrar("first.py:1");
    const second = fakeRegistrar("second.py:2");
    hookRegistrations(scope, first.registrar);
    hookRegistrations(scope, second.registrar);
    scope.setTimeout(second.proxies[0], 1);
    handed[0][1]();
    assert.deepEqual(first.calls, []);
    assert.equal(second.calls[0].registration.location, "second.py:2");
  });
});

describe("registration location", () => {
  const here = import.meta.url;
  const folder = new URL("./", here).href;
  const hookFile = new URL("./registrations.mjs", here).href; // stands for jspiprof's folder here

  test("the registering JS line, past jspiprof's own frames", () => {
    const locate = registrationLocator(hookFile, ["file:///nowhere/pyodide/"], () => "python");
    const line = new Error().stack.split("\n")[1].match(/:(\d+):\d+\)?$/)[1];
    assert.equal(locate(), `${here}:${Number(line) + 1}`);
  });

  test("the Python line when the first frame outside jspiprof is Pyodide's own code", () => {
    const locate = registrationLocator(hookFile, [folder], () => "app.py:7");
    assert.equal(locate(), "app.py:7");
  });

  test("in a Firefox stack: the first frame outside jspiprof, or Pyodide's", () => {
    const hook = "http://127.0.0.1:8000/js/";
    const pyodide = ["http://127.0.0.1:8000/pyodide/"];
    const fromPage = [
      "jspiprofRegisteredCallback@http://127.0.0.1:8000/js/registrations.mjs:97:20",
      "setTimeout@http://127.0.0.1:8000/js/registrations.mjs:60:9",
      "start@http://127.0.0.1:8000/app.js:12:3",
    ].join("\n");
    assert.equal(registeringFrame(fromPage, hook, pyodide), "http://127.0.0.1:8000/app.js:12");
    const fromPython = [
      "setTimeout@http://127.0.0.1:8000/js/registrations.mjs:60:9",
      "@http://127.0.0.1:8000/pyodide/pyodide.asm.wasm:wasm-function[275]:0x65562",
      "callJsFunction@http://127.0.0.1:8000/pyodide/pyodide.asm.js:1:5000",
    ].join("\n");
    assert.equal(registeringFrame(fromPython, hook, pyodide), "pyodide");
    assert.equal(registeringFrame("", hook, pyodide), null);
  });
});
