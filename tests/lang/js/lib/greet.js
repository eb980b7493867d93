// greet.js - a module of the function's own folder, loaded with require().
exports.greet = who => `héllo ${who} ✓`;
