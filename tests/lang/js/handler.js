// handler.js - the lang suite's JavaScript function: one behaviour per query string.
const lib = require("./lib/greet.js");
let count = 0;

function handle(req) {
  count++;
  switch (req.query) {
    case "boom": throw new Error("boom from the handler");
    case "echo": return { headers: { "Content-Type": "application/octet-stream" }, body: req.bodyBytes };
    case "status": return { status: 418, body: "teapot\n" };
    case "cookies": return { headers: { "Set-Cookie": ["a=1; Path=/", "b=2; Path=/"] }, body: "cookies\n" };
    case "redirect": return { status: 302, headers: { Location: "/elsewhere" } };
    case "json": return { status: 201, body: { method: req.method, n: [1, 2.5] } };
    case "loop": for (;;) {}
    /* 16 MiB typed arrays filled natively: the cap is reached in a few steps
     * however loaded the machine is (element-wise arrays could take longer
     * than the 3 s timeout under load and answer 504 instead). */
    case "churn": {   // writes many pages, in memory start-up used and beyond it
      const d = {};
      for (let i = 0; i < 20000; i++) d[String(i)] = new Array(8).fill(i);
      return `count=${count} churn=${Object.keys(d).length}\n`;
    }
    case "bomb": { const a = []; for (;;) a.push(new Uint8Array(1 << 24).fill(7)); }
  }
  console.log("logged, not in the response");
  return `count=${count} method=${req.method} path=${req.path} query=${req.query} ` +
         `x-test=${req.headers["x-test"] || ""} ${lib.greet("wörld")}\n`;
}
