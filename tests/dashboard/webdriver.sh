# webdriver.sh - a few WebDriver (classic, over HTTP) calls in bash with curl and jq, for tests/dashboard.
#
# Source it after tests/lib.sh. wd_start starts chromedriver and a headless
# Chromium session (WD_SESSION); wd_quit ends both. Everything else is a thin
# wrapper over one endpoint of the W3C WebDriver protocol.

WD=; WD_PID=; WD_SESSION=; WD_DIR=
WD_ELEM=element-6066-11e4-a52e-4f735466cecf   # the W3C key of an element reference

# wd METHOD PATH [JSON]: one call; prints the response body.
wd() {
  if [ $# -ge 3 ]; then
    curl -s --max-time 30 -X "$1" "$WD$2" -H 'Content-Type: application/json' --data-binary "$3"
  else
    curl -s --max-time 30 -X "$1" "$WD$2"
  fi
}

# wd_start DIR WIDTH HEIGHT: chromedriver on a free port, then one browser
# session with its profile under DIR. Returns non-zero (reason on stderr) if
# either does not come up.
wd_start() {
  local dir=$1 port caps
  WD_DIR=$dir
  mkdir -p "$dir/profile"
  chromedriver --port=0 >"$dir/chromedriver.log" 2>&1 &
  WD_PID=$!
  for _ in $(seq 1 100); do
    port=$(grep -o 'started successfully on port [0-9]*' "$dir/chromedriver.log" | grep -o '[0-9]*$')
    [ -n "$port" ] && break
    kill -0 "$WD_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "chromedriver did not start: $(head -c 300 "$dir/chromedriver.log")" >&2; return 1; }
  WD=http://127.0.0.1:$port
  # As root Chromium needs --no-sandbox; /dev/shm may be tiny in containers.
  caps=$(jq -n --arg dir "$dir/profile" --arg size "$2,$3" '{capabilities: {alwaysMatch: {
    browserName: "chrome", "goog:chromeOptions": {binary: "/usr/bin/chromium", args: [
      "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
      "--no-first-run", "--disable-extensions", ("--window-size=" + $size),
      ("--user-data-dir=" + $dir)]}}}}')
  WD_SESSION=$(wd POST /session "$caps" | jq -r '.value.sessionId // empty')
  [ -n "$WD_SESSION" ] || { echo "no browser session: $(wd POST /session "$caps" | head -c 300)" >&2; return 1; }
}

# wd_quit: close the browser (DELETE session) and stop chromedriver; any
# browser process left (its profile folder is this run's own) is killed.
wd_quit() {
  local p
  [ -n "$WD_SESSION" ] && wd DELETE "/session/$WD_SESSION" >/dev/null
  WD_SESSION=
  if [ -n "$WD_PID" ]; then kill "$WD_PID" 2>/dev/null; wait "$WD_PID" 2>/dev/null; fi
  WD_PID=
  if [ -n "$WD_DIR" ]; then
    for p in $(pgrep -f -- "--user-data-dir=$WD_DIR/profile"); do kill "$p" 2>/dev/null; done
  fi
}

# wd_go URL: navigate and wait for the load.
wd_go() { wd POST "/session/$WD_SESSION/url" "$(jq -n --arg u "$1" '{url: $u}')" >/dev/null; }

# wd_js SCRIPT: run SCRIPT (a function body; `return` a value) in the page;
# prints the value as compact JSON (strings quoted).
wd_js() {
  wd POST "/session/$WD_SESSION/execute/sync" "$(jq -n --arg s "$1" '{script: $s, args: []}')" |
    jq -c '.value'
}

# wd_text SCRIPT: like wd_js for a script returning a string; prints it raw.
wd_text() { wd_js "$1" | jq -r '. // empty' 2>/dev/null; }

# wd_until SECONDS SCRIPT: poll SCRIPT until it returns true; non-zero on timeout.
wd_until() {
  local end=$((SECONDS + $1))
  while [ $SECONDS -le $end ]; do
    [ "$(wd_js "$2")" = true ] && return 0
    sleep 0.2
  done
  return 1
}

# wd_find CSS: prints the element id of the first match (empty if none).
wd_find() {
  wd POST "/session/$WD_SESSION/element" "$(jq -n --arg v "$1" '{using: "css selector", value: $v}')" |
    jq -r --arg k "$WD_ELEM" '.value[$k] // empty'
}

# wd_click CSS: a real click on the first match (the browser's own input events).
wd_click() {
  local id
  id=$(wd_find "$1")
  [ -n "$id" ] || return 1
  wd POST "/session/$WD_SESSION/element/$id/click" '{}' | jq -e '.value == null' >/dev/null
}

# wd_type CSS TEXT: type TEXT into the first match.
wd_type() {
  local id
  id=$(wd_find "$1")
  [ -n "$id" ] || return 1
  wd POST "/session/$WD_SESSION/element/$id/value" "$(jq -n --arg t "$2" '{text: $t}')" |
    jq -e '.value == null' >/dev/null
}

# wd_window WIDTH HEIGHT: resize the browser window.
wd_window() {
  wd POST "/session/$WD_SESSION/window/rect" "{\"width\": $1, \"height\": $2}" >/dev/null
}

# wd_screenshot FILE: the viewport as a PNG.
wd_screenshot() {
  wd GET "/session/$WD_SESSION/screenshot" | jq -r '.value // empty' | base64 -d >"$1" 2>/dev/null
}
