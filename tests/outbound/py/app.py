# app.py - the outbound suite's Python function: one host service per request, chosen by ?op=.
import kernless


def handle(request):
    q = dict(p.split("=", 1) for p in request.query.split("&") if "=" in p)
    op = q.get("op", "")
    try:
        if op == "http":
            r = kernless.http.request("GET", q["url"], headers={"X-Test": "1"})
            return "ok %d %s %s" % (r.status, r.headers.get("x-up", "-"), r.body.decode())
        if op == "count":
            s = kernless.kv.open(q.get("store", "default"))
            n = int(s.get("count") or b"0") + 1
            s.set("count", str(n))
            return "ok %d %s %s" % (n, s.exists("count"), s.keys("c"))
        if op == "var":
            return "ok " + kernless.variables.get(q["name"])
        return "bad op"
    except kernless.HttpError as e:
        return "HttpError %d %s" % (e.code, e)
    except kernless.KvError as e:
        return "KvError %d %s" % (e.code, e)
    except kernless.VariableError as e:
        return "VariableError %d %s" % (e.code, e)
