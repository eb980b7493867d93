# app.py - the lang suite's Python function: one behaviour per query string.
from lib.greet import greet

count = 0


def handle(req):
    global count
    count += 1
    q = req.query
    if q == "boom":
        raise RuntimeError("boom from the handler")
    if q == "echo":
        return {"headers": {"Content-Type": "application/octet-stream"}, "body": req.body}
    if q == "status":
        return {"status": 418, "body": "teapot\n"}
    if q == "cookies":
        return {"headers": {"Set-Cookie": ["a=1; Path=/", "b=2; Path=/"]}, "body": "cookies\n"}
    if q == "redirect":
        return {"status": 302, "headers": {"Location": "/elsewhere"}}
    if q == "json":
        return {"status": 201, "body": {"method": req.method, "n": [1, 2.5]}}
    if q == "loop":
        while True:
            pass
    if q == "churn":   # writes many pages, in memory start-up used and beyond it
        d = {str(i): [i] * 8 for i in range(20000)}
        return f"count={count} churn={len(d)}\n"
    if q == "bomb":
        a = []
        while True:
            a.append(bytearray(1 << 20))
    print("logged, not in the response")
    return (f"count={count} method={req.method} path={req.path} query={q} "
            f"x-test={req.headers.get('x-test', '')} {greet('wörld')}\n")
