/**
 * Remembers where a Python callable (a PyProxy) was registered as a JS callback, so that its entries can say so
 * (`registration` in `docs/trace-format.md`). The JS APIs that take callbacks are wrapped once per realm:
 * - `setTimeout`, `setInterval`, `requestAnimationFrame`, `queueMicrotask` and `Promise.prototype.then` get a small
 *   JS function in place of the PyProxy, which calls it as that registration (they never hand the callback back);
 * - `EventTarget.prototype.addEventListener` and the `on*` event handler properties (`el.onclick = proxy`) keep the
 *   PyProxy itself (`removeEventListener` and the property's getter must see it): the registration is kept per
 *   PyProxy and event name, and found again from the event the listener is called with.
 * The location is captured once, at registration: the JS `file:line` of the registering call, or, when Python
 * registered it through Pyodide's JS proxies (`js.setTimeout(create_proxy(f), 0)`), the Python line that did.
 */

/**
 * @typedef {object} Registration how JS code got hold of a Python callable
 * @property {string} api `addEventListener`, `setTimeout`, `setInterval`, `requestAnimationFrame`,
 *   `queueMicrotask`, `Promise.then` or `property`
 * @property {string|null} event the event name, for `addEventListener` and `property`
 * @property {string|null} location `file:line` of the registering call (JS, or the Python line that made it)
 *
 * @typedef {object} Registrar what the wrapped APIs ask of one Pyodide
 * @property {(value: unknown) => boolean} isPyProxy
 * @property {(proxy: any) => object} identity what stays the same for one PyProxy, whether JS holds it or Pyodide
 *   calls it (a call reaches the proxy's target, not the proxy itself)
 * @property {(api: string, event: string|null) => Registration} register a registration made here, now
 * @property {(proxy: any, registration: Registration, thisArg: unknown, args: unknown[]) => unknown} call
 *   call `proxy` as the callback of `registration`
 */

/** The JS APIs whose callback is swapped for a function that calls the PyProxy as its registration. */
const TIMERS = ["setTimeout", "setInterval", "requestAnimationFrame", "queueMicrotask"];
/**
 * Where the wrapped APIs of a realm keep the Pyodides they serve (a realm may load several) and the listeners'
 * registrations.
 */
const REALM = Symbol.for("jspiprof.registrations");

/**
 * @typedef {object} Realm
 * @property {Registrar[]} registrars
 * @property {WeakMap<object, Map<string, Registration>>} listeners listeners and event handler properties, by
 *   PyProxy: their registration per event name
 */

/**
 * The registrar that owns `value` (a PyProxy of one of this realm's Pyodides), if any.
 * @param {Registrar[]} registrars @param {unknown} value
 */
function ownerOf(registrars, value) {
  if (typeof value !== "function" && (typeof value !== "object" || value === null)) return undefined;
  return registrars.find((registrar) => registrar.isPyProxy(value));
}

/**
 * Wrap `scope`'s callback APIs (once per realm) and let `registrar` see the PyProxies registered through them.
 * @param {any} scope the global object (`globalThis`)
 * @param {Registrar} registrar
 * @returns {(proxy: any, args: unknown[]) => Registration|null} the registration of a listener or event handler
 *   property being called with `args` (null when it is not one)
 */
export function hookRegistrations(scope, registrar) {
  /** @type {Realm|undefined} */
  let realm = scope[REALM];
  if (realm === undefined) {
    realm = { registrars: [], listeners: new WeakMap() };
    Object.defineProperty(scope, REALM, { value: realm });
    wrapApis(scope, realm);
  }
  realm.registrars.push(registrar);
  const listeners = realm.listeners;
  return (proxy, args) => {
    const byEvent = listeners.get(registrar.identity(proxy));
    if (byEvent === undefined) return null;
    const event = /** @type {any} */ (args[0]);
    return (typeof event?.type === "string" && byEvent.get(event.type)) || null;
  };
}

/** @param {any} scope @param {Realm} realm */
function wrapApis(scope, { registrars, listeners }) {
  /**
   * Keep the registration of a listener or event handler property.
   * @param {Registrar} owner @param {any} proxy @param {string} api @param {string} event
   */
  const rememberListener = (owner, proxy, api, event) => {
    const registration = owner.register(api, event);
    const key = owner.identity(proxy);
    let byEvent = listeners.get(key);
    if (byEvent === undefined) listeners.set(key, (byEvent = new Map()));
    byEvent.set(/** @type {string} */ (registration.event), registration);
  };
  /** The callback to hand to the real API: a JS function calling the PyProxy as this registration. */
  const asCallback = (/** @type {any} */ callback, /** @type {string} */ api) => {
    const owner = ownerOf(registrars, callback);
    if (owner === undefined) return callback;
    const registration = owner.register(api, null);
    return function jspiprofRegisteredCallback(/** @type {unknown[]} */ ...args) {
      return owner.call(callback, registration, this, args);
    };
  };
  for (const api of TIMERS) {
    const original = scope[api];
    if (typeof original !== "function") continue;
    const wrapped = {
      [api](/** @type {any} */ callback, /** @type {unknown[]} */ ...rest) {
        return Reflect.apply(original, this, [asCallback(callback, api), ...rest]);
      },
    }[api];
    // Node's timers carry `util.promisify.custom`: `promisify(setTimeout)` must keep working.
    for (const symbol of Object.getOwnPropertySymbols(original)) {
      Object.defineProperty(wrapped, symbol, /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(original, symbol)));
    }
    scope[api] = wrapped;
  }
  const then = scope.Promise.prototype.then;
  scope.Promise.prototype.then = function then_(/** @type {any} */ onFulfilled, /** @type {any} */ onRejected) {
    return Reflect.apply(then, this, [asCallback(onFulfilled, "Promise.then"), asCallback(onRejected, "Promise.then")]);
  };
  Object.defineProperty(scope.Promise.prototype.then, "name", { value: "then" });

  const EventTarget = scope.EventTarget;
  if (typeof EventTarget !== "function") return;
  const addEventListener = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function addEventListener_(/** @type {unknown} */ type, /** @type {any} */ listener, /** @type {unknown[]} */ ...rest) {
    const owner = ownerOf(registrars, listener);
    if (owner !== undefined) rememberListener(owner, listener, "addEventListener", String(type));
    return Reflect.apply(addEventListener, this, [type, listener, ...rest]);
  };
  Object.defineProperty(EventTarget.prototype.addEventListener, "name", { value: "addEventListener" });
  for (const holder of eventHandlerHolders(scope, EventTarget)) {
    for (const name of Object.getOwnPropertyNames(holder)) {
      const descriptor = name.startsWith("on") ? Object.getOwnPropertyDescriptor(holder, name) : undefined;
      if (descriptor?.set === undefined || !descriptor.configurable) continue;
      const set = descriptor.set;
      const event = name.slice(2);
      descriptor.set = function (/** @type {any} */ value) {
        const owner = ownerOf(registrars, value);
        if (owner !== undefined) rememberListener(owner, value, "property", event);
        Reflect.apply(set, this, [value]);
      };
      Object.defineProperty(holder, name, descriptor);
    }
  }
}

/**
 * The objects whose own `on*` accessors are event handler properties: the prototypes of the realm's EventTarget
 * classes (`HTMLElement`, `AbortSignal`, `WebSocket`, ...) and, in a page, the global object itself.
 * @param {any} scope @param {any} EventTarget
 */
function eventHandlerHolders(scope, EventTarget) {
  const holders = EventTarget.prototype.isPrototypeOf(scope) ? [scope] : [];
  for (const name of Object.getOwnPropertyNames(scope)) {
    // Classes are plain data properties: a getter on the global object is never run here.
    const value = /^[A-Z]/.test(name) ? Object.getOwnPropertyDescriptor(scope, name)?.value : undefined;
    const prototype = typeof value === "function" ? value.prototype : undefined;
    if (prototype && EventTarget.prototype.isPrototypeOf(prototype)) holders.push(prototype);
  }
  return holders;
}

/** A stack line's `file` and `line`: V8's `    at f (file:line:column)` or `    at file:line:column`, Firefox's `f@file:line:column`. */
const FRAME = /(?:\(|@|at )([^\s()@]+):(\d+):\d+\)?$/;
/** A file that can be a caller: a URL or an absolute path (not `node:internal/...`, not `<anonymous>`, not wasm). */
const CALLER_FILE = /^(?:(?!wasm:)[a-z][a-z0-9+.-]*:\/\/|\/)/i;

/**
 * The registering call in a JS stack (`Error().stack` text, V8's or Firefox's): the first frame outside jspiprof's
 * files, as `file:line`, or `"pyodide"` when that frame is Pyodide's own code (Python made the call through
 * Pyodide's JS proxies), or null when there is no such frame.
 * @param {string} stack @param {string} hookDir jspiprof's JS code (URL prefix)
 * @param {string[]} pyodidePrefixes the URL prefixes (and paths) of Pyodide's files
 * @returns {string|null}
 */
export function registeringFrame(stack, hookDir, pyodidePrefixes) {
  for (const line of stack.split("\n")) {
    const frame = FRAME.exec(line);
    if (frame === null || !CALLER_FILE.test(frame[1]) || frame[1].startsWith(hookDir)) continue;
    if (pyodidePrefixes.some((prefix) => frame[1].startsWith(prefix))) return "pyodide";
    return `${frame[1]}:${frame[2]}`;
  }
  return null;
}

/**
 * The finder of a registration's location: the registering JS line, or, when Python made the registration through
 * Pyodide's JS proxies, the Python line that made it (`pythonSite()`, the site of the Python stack now).
 * @param {string} hookDir @param {string[]} pyodidePrefixes as for `registeringFrame`
 * @param {() => string|null} pythonSite
 * @returns {() => string|null}
 */
export function registrationLocator(hookDir, pyodidePrefixes, pythonSite) {
  return () => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 30;
    const stack = new Error().stack ?? "";
    Error.stackTraceLimit = limit;
    const frame = registeringFrame(stack, hookDir, pyodidePrefixes);
    return frame === null || frame === "pyodide" ? pythonSite() : frame;
  };
}
