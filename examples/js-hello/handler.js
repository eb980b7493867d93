// handler.js - a JavaScript function: `kernless deploy hello-js examples/js-hello/handler.js --route /hello-js`
let requests = 0;   // top level runs once, before the snapshot: every request sees 1

function handle(request) {
  requests++;
  const who = (request.query.match(/(?:^|&)name=([^&]*)/) || [])[1] || "world";
  return `Hello, ${decodeURIComponent(who)}! (${request.method} ${request.path}, request ${requests})\n`;
}
