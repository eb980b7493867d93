# app.py - a Python function: `kernless deploy hello-py examples/python-hello/app.py --route /hello-py`
from urllib.parse import parse_qs

requests = 0  # the module runs once, before the snapshot: every request sees 1


def handle(request):
    global requests
    requests += 1
    who = parse_qs(request.query).get("name", ["world"])[0]
    return f"Hello, {who}! ({request.method} {request.path}, request {requests})\n"
