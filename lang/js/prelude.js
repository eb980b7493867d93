/* prelude.js - what the Kernless JS engine adds to QuickJS: console, process, require, TextEncoder/Decoder and the handler glue. */
"use strict";
(function (g) {
  const write = g.__kl_write, read = g.__kl_read, dec = g.__kl_utf8_decode, enc = g.__kl_utf8_encode;
  const evalScript = g.__kl_eval, exitNow = g.__kl_exit, svc = g.__kl_svc;
  Object.defineProperty(Math, "random", { value: g.__kl_random, writable: true, configurable: true });
  for (const k of ["__kl_write", "__kl_read", "__kl_utf8_decode", "__kl_utf8_encode", "__kl_eval", "__kl_exit", "__kl_random", "__kl_svc"])
    delete g[k];
  let logFd = 1;   /* console.log: stdout for commands, the log (stderr) for handlers */

  /* ---- inspect: node's util.inspect for the common cases ---- */
  const ident = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  function quote(s) {
    const q = s.includes("'") && !s.includes('"') ? '"' : "'";
    return q + s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\t/g, "\\t")
      .replace(q === "'" ? /'/g : /"/g, "\\" + q) + q;
  }
  function key(k) { return typeof k === "symbol" ? "[" + k.toString() + "]" : ident.test(k) ? k : quote(k); }
  function num(n) { return Object.is(n, -0) ? "-0" : String(n); }
  function ctorName(o) {
    const p = Object.getPrototypeOf(o);
    if (p === null) return "[Object: null prototype]";
    const c = p.constructor;
    return c && typeof c.name === "string" ? c.name : "Object";
  }
  function wrap(open, items, close, ind, prefix) {
    if (items.length === 0) return (prefix || "") + open + close;
    const one = (prefix || "") + open + " " + items.join(", ") + " " + close;
    if (one.length + ind <= 72 && !one.includes("\n")) return one;
    const pad = " ".repeat(ind + 2);
    return (prefix || "") + open + "\n" + pad + items.join(",\n" + pad) + "\n" + " ".repeat(ind) + close;
  }
  function inspect(v, depth, seen, ind, top) {
    switch (typeof v) {
      case "string": return top ? v : quote(v);
      case "number": return num(v);
      case "bigint": return v + "n";
      case "boolean": return String(v);
      case "undefined": return "undefined";
      case "symbol": return v.toString();
      case "function": {
        const isClass = /^class\b/.test(Function.prototype.toString.call(v));
        return isClass ? "[class " + (v.name || "(anonymous)") + "]"
                       : "[Function: " + (v.name || "(anonymous)") + "]";
      }
    }
    if (v === null) return "null";
    if (seen.includes(v)) return "[Circular *1]";
    if (v instanceof Error) return v.stack ? String(v) + "\n" + v.stack.replace(/\n$/, "") : String(v);
    if (v instanceof Date) return isNaN(v) ? "Invalid Date" : v.toISOString();
    if (v instanceof RegExp) return String(v);
    if (v instanceof Promise) return "Promise { <pending> }";
    if (depth > 2) return Array.isArray(v) ? "[Array]" : "[" + ctorName(v) + "]";
    const sub = x => inspect(x, depth + 1, seen.concat([v]), ind + 2, false);
    if (Array.isArray(v)) {
      const items = [];
      let holes = 0;
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) { holes++; continue; }
        if (holes) { items.push("<" + holes + " empty item" + (holes > 1 ? "s" : "") + ">"); holes = 0; }
        if (items.length >= 100) { items.push("... " + (v.length - i) + " more items"); holes = 0; break; }
        items.push(sub(v[i]));
      }
      if (holes) items.push("<" + holes + " empty item" + (holes > 1 ? "s" : "") + ">");
      return wrap("[", items, "]", ind);
    }
    if (v instanceof Map) {
      const items = [];
      v.forEach((val, k) => items.push(sub(k) + " => " + sub(val)));
      return wrap("{", items, "}", ind, "Map(" + v.size + ") ");
    }
    if (v instanceof Set) {
      const items = [];
      v.forEach(val => items.push(sub(val)));
      return wrap("{", items, "}", ind, "Set(" + v.size + ") ");
    }
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const items = Array.prototype.slice.call(v, 0, 100).map(x => typeof x === "bigint" ? x + "n" : num(x));
      if (v.length > 100) items.push("... " + (v.length - 100) + " more items");
      return wrap("[", items, "]", ind, ctorName(v) + "(" + v.length + ") ");
    }
    const items = [];
    for (const k of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, k);
      if (!d.enumerable) continue;
      const val = d.get ? (d.set ? "[Getter/Setter]" : "[Getter]") : d.set ? "[Setter]" : sub(d.value);
      items.push(key(k) + ": " + val);
    }
    const name = ctorName(v);
    return wrap("{", items, "}", ind, name === "Object" ? "" : name + " ");
  }
  function format(args) {
    let out = [], i = 0;
    if (typeof args[0] === "string" && args.length > 1 && args[0].includes("%")) {
      i = 1;
      out.push(args[0].replace(/%([sdifjoOc%])/g, (m, c) => {
        if (c === "%") return "%";
        if (i >= args.length) return m;
        const a = args[i++];
        switch (c) {
          case "s": return typeof a === "string" ? a : typeof a === "bigint" ? a + "n" : inspect(a, 1, [], 0, true);
          case "d": case "i": {
            if (typeof a === "bigint") return a + "n";
            const n = Number(a);
            return num(c === "i" ? Math.trunc(n) : n);
          }
          case "f": return num(parseFloat(a));
          case "j": return JSON.stringify(a);
          case "c": return "";
          default: return inspect(a, 0, [], 0, false);
        }
      }));
    }
    for (; i < args.length; i++) out.push(inspect(args[i], 0, [], 0, true));
    return out.join(" ");
  }
  const say = fd => (...a) => write(fd, format(a) + "\n");
  g.console = {
    log: (...a) => write(logFd, format(a) + "\n"), info: (...a) => write(logFd, format(a) + "\n"),
    debug: (...a) => write(logFd, format(a) + "\n"), error: say(2), warn: say(2),
  };

  /* ---- TextEncoder / TextDecoder (UTF-8 only) ---- */
  g.TextEncoder = class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(s = "") { return new Uint8Array(enc(String(s))); }
  };
  g.TextDecoder = class TextDecoder {
    get encoding() { return "utf-8"; }
    decode(b) { return b === undefined ? "" : dec(b); }
  };

  /* ---- process ---- */
  g.process = {
    argv: [], env: {}, exitCode: undefined, platform: "wasi",
    exit(code) { exitNow(code === undefined ? (this.exitCode || 0) : code); },
    stdout: { write(s) { write(1, s); return true; } },
    stderr: { write(s) { write(2, s); return true; } },
  };

  /* ---- require: the function's own files, CommonJS style, plus a small fs ---- */
  function normalize(path) {
    const out = [];
    for (const part of path.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") out.pop(); else out.push(part);
    }
    return "/" + out.join("/");
  }
  function dirname(p) { return p.slice(0, p.lastIndexOf("/")) || "/"; }
  const fs = {
    readFileSync(p, opt) {
      const b = read(p === 0 || p === "/dev/stdin" ? 0 : String(p));
      if (b === null) {
        const e = new Error("ENOENT: no such file or directory, open '" + p + "'");
        e.code = "ENOENT";
        throw e;
      }
      const encoding = typeof opt === "string" ? opt : opt && opt.encoding;
      return encoding ? dec(b) : new Uint8Array(b);
    },
    existsSync(p) { return read(String(p)) !== null; },
  };
  const cache = Object.create(null);
  function makeRequire(dir) {
    return function require(name) {
      if (name === "fs" || name === "node:fs") return fs;
      if (!/^\.{0,2}\//.test(name))
        throw new Error("Cannot find module '" + name + "' (only the function's own files and 'fs')");
      let path = normalize(name.startsWith("/") ? name : dir + "/" + name);
      let src = read(path);
      if (src === null && !path.endsWith(".js")) src = read(path += ".js");
      if (src === null) throw new Error("Cannot find module '" + name + "'");
      if (cache[path]) return cache[path].exports;
      const module = { exports: {}, filename: path };
      cache[path] = module;
      const fn = evalScript("(function (exports, require, module, __filename, __dirname) {" +
                            dec(src) + "\n})", path);
      fn.call(module.exports, module.exports, makeRequire(dirname(path)), module, path, dirname(path));
      return module.exports;
    };
  }

  /* Evaluate the entry file as a global script (its top-level functions are globals). */
  function loadEntry(path) {
    const src = read(path);
    if (src === null) throw new Error("cannot read " + path);
    g.require = makeRequire(dirname(path));
    g.module = { exports: {}, filename: path };
    g.exports = g.module.exports;
    g.__filename = path;
    g.__dirname = dirname(path);
    evalScript(dec(src), path);
  }

  /* ---- errors ---- */
  /* The prelude's own frames are noise in a user's traceback. */
  const userStack = e => (e.stack || "").split("\n").filter(l => !l.includes("<kernless prelude>")).join("\n");
  g.__kl_report = function (e, how) {
    let text;
    if (e instanceof Error) {
      const stack = userStack(e).replace(/\n$/, "");
      const where = (stack.match(/\(?([^\s()]+:\d+)/) || [])[1];
      text = stack ? String(e) + "\n" + stack : String(e);
      if (how === "load" && where)   /* the last line says where, for the deploy's answer */
        text += "\n" + where.replace(/^\/app\//, "") + ": " + String(e);
    } else {
      text = "Uncaught " + inspect(e, 0, [], 0, false);
    }
    if (how === "request" && process.env.X_REQUEST_ID)
      text = "request " + process.env.X_REQUEST_ID + ": " + text;
    if (how === "uncaught" && e instanceof Error) text = "Uncaught " + text;
    write(2, text + "\n");
  };

  /* ---- `kernless run script.js args...` ---- */
  g.__kl_main = function (argv, env) {
    process.argv = ["kernless"].concat(argv);
    process.env = env;
    loadEntry(argv[0]);
  };

  /* ---- host services: fetch, Kernless.kv, Kernless.variables (kernless/sdk.h) ---- */
  /* Only what the function declared (allowed_outbound_hosts, key_value_stores,
   * variables); a refused or failed call throws (fetch: rejects) an Error
   * whose .code is the host's kl_svc_err. */
  const SVC = { http: 1, get: 2, set: 3, del: 4, exists: 5, keys: 6, vari: 7 };
  function call(what, op, a, b, c, d) {
    const [err, status, reason, result, hdrLen] = svc(op, a, b, c, d);
    if (err) { const e = new Error(reason); e.code = err; throw e; }
    return { status, result, hdrLen };
  }
  class Headers {
    constructor(init) {
      this.map = new Map();
      if (init) for (const k of Object.keys(init)) this.map.set(k.toLowerCase(), String(init[k]));
    }
    get(name) { const v = this.map.get(String(name).toLowerCase()); return v === undefined ? null : v; }
    has(name) { return this.map.has(String(name).toLowerCase()); }
    forEach(fn) { for (const [k, v] of this.map) fn(v, k, this); }
    entries() { return this.map.entries(); }
    [Symbol.iterator]() { return this.map.entries(); }
  }
  class Response {
    constructor(status, headers, bytes) { this.status = status; this.headers = headers; this._bytes = bytes; }
    get ok() { return this.status >= 200 && this.status < 300; }
    arrayBuffer() { return Promise.resolve(this._bytes); }
    text() { return Promise.resolve(dec(this._bytes)); }
    json() { return this.text().then(JSON.parse); }
  }
  g.fetch = function (url, init) {
    return new Promise(resolve => {
      const o = init || {}, hs = o.headers || {};
      const lines = Object.keys(hs).map(k => k + ": " + hs[k] + "\n").join("");
      const r = call("fetch", SVC.http, String(o.method || "GET").toUpperCase(), String(url), lines,
                     o.body === undefined || o.body === null ? undefined : o.body);
      const head = new Headers();
      for (const line of dec(r.result.slice(0, r.hdrLen)).split("\n")) {
        const i = line.indexOf(": ");
        if (i > 0) {
          const k = line.slice(0, i), v = line.slice(i + 2);
          head.map.set(k, head.map.has(k) ? head.map.get(k) + ", " + v : v);
        }
      }
      resolve(new Response(r.status, head, r.result.slice(r.hdrLen)));
    });
  };
  g.Headers = Headers;
  g.Response = Response;
  class Store {
    constructor(name) { this.name = String(name); }
    get(key) {
      try { return dec(call("kv", SVC.get, this.name, String(key)).result); }
      catch (e) { if (e.code === 2) return null; throw e; }
    }
    set(key, value) {
      call("kv", SVC.set, this.name, String(key), undefined,
           typeof value === "string" || ArrayBuffer.isView(value) || value instanceof ArrayBuffer ? value : String(value));
    }
    delete(key) { call("kv", SVC.del, this.name, String(key)); }
    exists(key) { return call("kv", SVC.exists, this.name, String(key)).status === 1; }
    keys(prefix) {
      const s = dec(call("kv", SVC.keys, this.name, String(prefix || "")).result);
      return s ? s.split("\0").slice(0, -1) : [];
    }
  }
  g.Kernless = Object.freeze({
    kv: Object.freeze({ open: name => new Store(name) }),
    variables: Object.freeze({ get: name => dec(call("variables", SVC.vari, String(name)).result) }),
  });

  /* ---- handlers ---- */
  let handler, result, failed = false, failure, settled = false;
  g.__kl_load = function (entry) {
    logFd = 2;
    loadEntry("/app/" + entry);
    handler = typeof g.handle === "function" ? g.handle
      : g.module.exports && typeof g.module.exports.handle === "function" ? g.module.exports.handle
      : undefined;
    if (!handler) throw new Error(entry + " defines no function handle(request)");
  };
  function requestOf(env, bytes) {
    const headers = {};
    for (const k of Object.keys(env)) {
      if (k.startsWith("HTTP_")) headers[k.slice(5).toLowerCase().replace(/_/g, "-")] = env[k];
    }
    if (env.CONTENT_TYPE) headers["content-type"] = env.CONTENT_TYPE;
    if (env.CONTENT_LENGTH && env.CONTENT_LENGTH !== "0") headers["content-length"] = env.CONTENT_LENGTH;
    const body = new Uint8Array(bytes);
    return {
      method: env.REQUEST_METHOD || "GET",
      path: (env.SCRIPT_NAME || "") + (env.PATH_INFO || "") || "/",
      query: env.QUERY_STRING || "",
      headers,
      bodyBytes: body,
      get body() { return dec(body); },
      json() { return JSON.parse(dec(body)); },
      id: env.X_REQUEST_ID || "",
    };
  }
  g.__kl_serve = function (env, bytes) {
    process.env = env;
    const r = handler(requestOf(env, bytes));
    if (r instanceof Promise) r.then(v => { settled = true; result = v; }, e => { settled = failed = true; failure = e; });
    else { settled = true; result = r; }
  };
  function header(name, value) {
    const v = String(value);
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(v))
      throw new TypeError("invalid response header " + JSON.stringify(name));
    return name + ": " + v + "\r\n";
  }
  g.__kl_finish = function () {
    if (failed) throw failure;
    if (!settled) throw new Error("handle(request) returned a promise that never settled");
    let status = 200, headers = {}, body = result;
    if (result !== null && typeof result === "object" && !ArrayBuffer.isView(result) &&
        !(result instanceof ArrayBuffer)) {
      status = result.status === undefined ? 200 : result.status;
      headers = result.headers || {};
      body = result.body;
    }
    if (!Number.isInteger(status) || status < 100 || status > 999)
      throw new TypeError("response status must be an integer 100-999, got " + String(status));
    let head = "Status: " + status + "\r\n", typed = false;
    for (const name of Object.keys(headers)) {
      const v = headers[name];
      if (name.toLowerCase() === "content-type") typed = true;
      for (const one of Array.isArray(v) ? v : [v]) head += header(name, one);
    }
    if (body === undefined || body === null) body = "";
    else if (typeof body !== "string" && !ArrayBuffer.isView(body) && !(body instanceof ArrayBuffer)) {
      body = JSON.stringify(body);
      if (!typed) { head += "Content-Type: application/json\r\n"; typed = true; }
    }
    if (!typed) head += "Content-Type: text/plain; charset=utf-8\r\n";
    write(1, head + "\r\n");
    write(1, typeof body === "string" ? body : body);
  };
})(globalThis);
