#!/usr/bin/env python3
# upstream.py - the outbound suite's real HTTP server on loopback: plain pages, redirects, a big body, a slow answer.
#
#   upstream.py PORT OTHER_PORT   (OTHER_PORT: a port the functions may not reach, for redirects)
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

PORT, OTHER = int(sys.argv[1]), int(sys.argv[2])

class H(BaseHTTPRequestHandler):
    def send(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        if u.path == "/hello":
            return self.send(200, b"hello-upstream", [("X-Up", "1")])
        if u.path == "/headers":   # what the function sent
            return self.send(200, ("x-test=%s" % self.headers.get("X-Test")).encode())
        if u.path == "/redir-ok":
            return self.send(302, b"", [("Location", "http://127.0.0.1:%d/hello" % PORT)])
        if u.path == "/redir-bad":
            return self.send(302, b"", [("Location", "http://127.0.0.1:%d/hello" % OTHER)])
        if u.path == "/redir-loop":
            return self.send(302, b"", [("Location", "/redir-loop")])
        if u.path == "/bytes":
            return self.send(200, b"x" * int(q.get("n", ["10"])[0]))
        if u.path == "/slow":
            time.sleep(int(q.get("ms", ["100"])[0]) / 1000)
            return self.send(200, b"slow-done")
        return self.send(404, b"no such page")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        return self.send(200, b"posted:" + body)

    def log_message(self, *a):
        pass

ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
