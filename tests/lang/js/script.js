// script.js - `kernless run` and node must print the same for this.
const input = require("fs").readFileSync(0, "utf8");
console.log("args", process.argv.slice(2));
console.log(1 / 3, 1e21, 2 ** 53, -0, 0.1 + 0.2, 5e-7, NaN, -Infinity);
console.log([1, "a", { b: null, c: [true, undefined] }], "ünï ✓", input.trim().split("\n").length);
console.log((0.5).toFixed(0), (2.675).toFixed(2), (1.45).toFixed(1), (255).toString(16), parseInt("0x1f"));
class Point { constructor(x, y) { this.x = x; this.y = y; } get len() { return Math.hypot(this.x, this.y); } }
const { x, ...rest } = { x: 1, y: 2, z: 3 };
console.log(new Point(3, 4).len, x, rest, [...new Set([3, 1, 3])], `${x + 1}`, 2n ** 70n);
console.log(JSON.stringify({ a: [1, 2.5, "é"], b: { c: null } }), new Map([["k", 1]]), [..."héllo"].length);
Promise.resolve(7).then(v => { console.log("promise", v); process.exit(3); });
