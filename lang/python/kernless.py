# kernless.py - `import kernless`: outbound HTTP, key-value stores and variables from a Python function (the host's kernless.svc).
#
#   r = kernless.http.request("GET", "https://api.example.com/x", headers={"Accept": "text/plain"})
#   r.status, r.headers["content-type"], r.body
#   store = kernless.kv.open("default"); store.set("n", b"1"); store.get("n")
#   kernless.variables.get("api_key")
#
# Each works only for what the function declared (kernless.toml:
# allowed_outbound_hosts, key_value_stores, variables); a refused or failed
# call raises HttpError or KvError (VariableError for variables), with the
# host's reason and its code (.code, one of the E* constants).
import _kernless_svc as _svc

_HTTP, _GET, _SET, _DELETE, _EXISTS, _KEYS, _VAR = 1, 2, 3, 4, 5, 6, 7
EDENIED, ENOENT, ELIMIT, EINVAL, EFAILED, ETIMEOUT = 1, 2, 3, 4, 5, 6


class KernlessError(Exception):
    """A host service refused or failed a call; .code says why (kernless/abi.h kl_svc_err)."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


class HttpError(KernlessError):
    pass


class KvError(KernlessError):
    pass


class VariableError(KernlessError, KeyError):
    def __str__(self):
        return self.reason


def _b(v):
    if v is None:
        return b""
    return v.encode() if isinstance(v, str) else bytes(v)


def _call(err_cls, op, a=b"", b=b"", c=b"", d=b""):
    err, status, reason, result, hdr_len = _svc.call(op, _b(a), _b(b), _b(c), _b(d))
    if err:
        raise err_cls(err, reason)
    return status, result, hdr_len


class Response:
    """An outbound response: .status, .headers (dict, lower-case names), .body (bytes)."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<kernless.Response %d, %d bytes>" % (self.status, len(self.body))


class http:
    @staticmethod
    def request(method, url, headers=None, body=None):
        """Make an outbound request; raises HttpError when refused or failed."""
        lines = "".join("%s: %s\n" % (k, v) for k, v in (headers or {}).items())
        status, result, hdr_len = _call(HttpError, _HTTP, method, url, lines, body)
        hdrs = {}
        for line in result[:hdr_len].decode("latin-1").split("\n"):
            name, sep, value = line.partition(": ")
            if sep:
                hdrs[name] = value if name not in hdrs else hdrs[name] + ", " + value
        return Response(status, hdrs, result[hdr_len:])


class Store:
    """A key-value store the function declared (key_value_stores)."""

    def __init__(self, name):
        self.name = name

    def get(self, key):
        try:
            return _call(KvError, _GET, self.name, key)[1]
        except KvError as e:
            if e.code == ENOENT:
                return None
            raise

    def set(self, key, value):
        _call(KvError, _SET, self.name, key, b"", value)

    def delete(self, key):
        _call(KvError, _DELETE, self.name, key)

    def exists(self, key):
        return _call(KvError, _EXISTS, self.name, key)[0] == 1

    def keys(self, prefix=""):
        raw = _call(KvError, _KEYS, self.name, prefix)[1]
        return [k.decode("utf-8", "surrogateescape") for k in raw.split(b"\0")[:-1]]


class kv:
    @staticmethod
    def open(name):
        return Store(name)


class variables:
    @staticmethod
    def get(name):
        """The variable's value (a str); VariableError (a KeyError) when it is not declared."""
        return _call(VariableError, _VAR, name)[1].decode("utf-8")
