# prelude.py - installed as _kernless.py in the engine's stdlib: load the user's module, turn a CGI request into handle(request).
import sys, os
# json and traceback are imported when first needed: every module imported
# here is memory the start-up touches, and each request's reset copies back
# every page ever touched.

sys.dont_write_bytecode = True
_kl_handler = None
_kl_entry = None


def load(entry):
    """Import the entry file as a module (its folder is importable), find handle()."""
    global _kl_handler, _kl_entry
    _kl_entry = entry
    sys.path.insert(0, "/app")
    # The plain import system (not importlib.util, whose imports would add
    # to the pages every reset copies back): lib/app.py is module lib.app.
    name = entry[:-3].replace("/", ".")
    __import__(name)
    mod = sys.modules[name]
    if not (getattr(mod, "__file__", None) or "").startswith("/app/"):
        raise ImportError("%s: the module name %r is taken by the standard library; "
                          "rename the file" % (entry, name))
    h = getattr(mod, "handle", None)
    if not callable(h):
        raise TypeError(entry + " defines no function handle(request)")
    _kl_handler = h


def report(how, ev):
    """Print an exception's traceback; at load, end with 'file:line: Error: msg'."""
    import traceback
    et, tb = type(ev), ev.__traceback__
    text = "".join(traceback.format_exception(et, ev, tb))
    rid = _kl_env.get("X_REQUEST_ID", "") if how == "request" else ""
    if rid:
        text = "request " + rid + ": " + text
    if how == "load":
        where = None
        if isinstance(ev, SyntaxError) and ev.filename:
            where = (ev.filename, ev.lineno)
        else:
            for fr in traceback.extract_tb(tb):
                if fr.filename.startswith("/app/"):
                    where = (fr.filename, fr.lineno)
        msg = ev.msg if isinstance(ev, SyntaxError) else str(ev)
        if where:
            text += "%s:%s: %s: %s\n" % (where[0].replace("/app/", "", 1), where[1], et.__name__, msg)
    sys.stderr.write(text)
    sys.stderr.flush()


class Request:
    """What handle(request) gets: method, path, query, headers (lower-case names), body (bytes)."""
    __slots__ = ("method", "path", "query", "headers", "body", "id")

    def __init__(self, env, body):
        self.method = env.get("REQUEST_METHOD", "GET")
        self.path = (env.get("SCRIPT_NAME", "") + env.get("PATH_INFO", "")) or "/"
        self.query = env.get("QUERY_STRING", "")
        h = {}
        for k, v in env.items():
            if k.startswith("HTTP_"):
                h[k[5:].lower().replace("_", "-")] = v
        if env.get("CONTENT_TYPE"):
            h["content-type"] = env["CONTENT_TYPE"]
        if env.get("CONTENT_LENGTH", "0") not in ("", "0"):
            h["content-length"] = env["CONTENT_LENGTH"]
        self.headers = h
        self.body = body
        self.id = env.get("X_REQUEST_ID", "")

    def json(self):
        import json
        return json.loads(self.body)

    def __getitem__(self, k):
        return getattr(self, k)

    def __repr__(self):
        return "Request(%s %s)" % (self.method, self.path)


def _kl_run_coroutine(c):
    """Drive an async handler to its result. WASI has no sockets, so asyncio's
    event loop cannot start; awaits that need no loop (asyncio.sleep(0),
    other coroutines) work, the rest raise."""
    try:
        while True:
            c.send(None)
    except StopIteration as done:
        return done.value


_kl_env = {}
_TOKEN = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _kl_header(name, value):
    name, value = str(name), str(value)
    if not name or set(name) - _TOKEN or any(c in value for c in "\r\n\0"):
        raise ValueError("invalid response header %r" % name)
    return "%s: %s\r\n" % (name, value)


def serve(env, body):
    """Serve one request: call handle(), write the CGI response on stdout."""
    global _kl_env
    _kl_env = env
    os.environ.clear()
    os.environ.update(env)
    if "random" in sys.modules:   # its state was in the snapshot: every request would repeat it
        sys.modules["random"].seed()
    out = sys.stdout
    sys.stdout = sys.stderr       # print() in a handler goes to the function's log
    try:
        r = _kl_handler(Request(env, body))
        if hasattr(r, "send") and hasattr(r, "__await__"):
            r = _kl_run_coroutine(r)   # async def handle(request)
    finally:
        sys.stdout = out
    status, headers, data = 200, {}, r
    if isinstance(r, dict):
        status = r.get("status", 200)
        headers = r.get("headers") or {}
        data = r.get("body", b"")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 999:
        raise ValueError("response status must be an integer 100-999, got %r" % (status,))
    head = "Status: %d\r\n" % status
    typed = False
    items = headers.items() if isinstance(headers, dict) else headers
    for name, value in items:
        typed = typed or str(name).lower() == "content-type"
        for one in value if isinstance(value, (list, tuple)) else [value]:
            head += _kl_header(name, one)
    if data is None:
        data = b""
    elif isinstance(data, str):
        data = data.encode("utf-8")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
    else:
        import json
        data = json.dumps(data).encode("utf-8")
        if not typed:
            head += "Content-Type: application/json\r\n"
            typed = True
    if not typed:
        head += "Content-Type: text/plain; charset=utf-8\r\n"
    b = sys.stdout.buffer
    b.write(head.encode("utf-8") + b"\r\n")
    b.write(data)
    b.flush()
