// app.js - a Kernless function in JavaScript: handle() gets the request and returns the body.
function handle(request) {
  return "Hello from JS!";
}
