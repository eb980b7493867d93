// handler.js - the outbound suite's JavaScript function: one host service per request, chosen by ?op=.
async function handle(request) {
  const q = Object.fromEntries(request.query.split("&").filter(p => p.includes("=")).map(p => p.split("=")));
  try {
    if (q.op === "http") {
      const r = await fetch(q.url, { headers: { "X-Test": "1" } });
      return "ok " + r.status + " " + r.headers.get("x-up") + " " + (await r.text());
    }
    if (q.op === "count") {
      const s = Kernless.kv.open(q.store || "default");
      const n = Number(s.get("count") || "0") + 1;
      s.set("count", String(n));
      return "ok " + n + " " + s.exists("count") + " " + JSON.stringify(s.keys("c"));
    }
    if (q.op === "var") return "ok " + Kernless.variables.get(q.name);
    return "bad op";
  } catch (e) {
    return "Error " + e.code + " " + e.message;
  }
}
