#!/usr/bin/env bash
# run.sh - `make run`: start kernless serve on 127.0.0.1:8080 (admin on :8081), deploy the example WAGI functions, stay in the foreground.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
KL=$BUILD/kernless
LISTEN=${KERNLESS_LISTEN:-127.0.0.1:8080}
ADMIN_LISTEN=${KERNLESS_ADMIN_LISTEN:-127.0.0.1:8081}
export KERNLESS_DATA=${KERNLESS_DATA:-$BUILD/run-data}
# Functions are served on FN; the CLI talks to the admin listener.
FN=http://$LISTEN
export KERNLESS_URL=http://$ADMIN_LISTEN
unset KERNLESS_TOKEN
OUT=$BUILD/run-examples
mkdir -p "$OUT"

echo "run: building the example functions into $OUT"
for c in wagi-hello/hello wagi-echo/echo wagi-redirect/redirect wagi-cookies/cookies; do
  clang --target=wasm32-wasi -O2 "examples/$c.c" -o "$OUT/$(basename "$c").wasm" -Wl,--strip-debug
done
# Debian's rustc has the wasm32-wasi std; a rustup rustc earlier on PATH may not.
/usr/bin/rustc --target wasm32-wasi -O -C strip=debuginfo examples/wagi-echo-rust/echo.rs \
  -o "$OUT/echo_rs.wasm"

"$KL" serve --listen "$LISTEN" --admin-listen "$ADMIN_LISTEN" --data "$KERNLESS_DATA" &
SPID=$!
# Stop the server with this script, however it ends.
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do
  curl -sf "$KERNLESS_URL/healthz" >/dev/null 2>&1 && break
  kill -0 $SPID 2>/dev/null || { echo "run: the server did not start" >&2; exit 1; }
  sleep 0.1
done

deploy() { "$KL" deploy "$@" || { echo "run: deploy $1 failed" >&2; exit 1; }; }
deploy hello "$OUT/hello.wasm" --route /hello
deploy echo "$OUT/echo.wasm" --route '/echo/...' --env ECHO_GREETING=hi
deploy echo-rust "$OUT/echo_rs.wasm" --route '/rust/...'
deploy redirect "$OUT/redirect.wasm" --route /go --env REDIRECT_TO=/hello
deploy cookies "$OUT/cookies.wasm" --route /cookies
# Source functions: the engines' images are compiled once per machine.
LANG_LINES=
if [ -f "$BUILD/engines/js.wasm" ]; then
  deploy hello-js examples/js-hello/handler.js --route /hello-js
  LANG_LINES+="  curl '$FN/hello-js?name=js'        # examples/js-hello/handler.js"$'\n'
fi
if [ -f "$BUILD/engines/python.wasm" ]; then
  deploy hello-py examples/python-hello/app.py --route /hello-py
  LANG_LINES+="  curl '$FN/hello-py?name=python'    # examples/python-hello/app.py"$'\n'
fi

DASHBOARD=$("$KL" dashboard) || DASHBOARD="(kernless dashboard failed)"
cat <<EOF

Kernless is serving functions on $FN (data in $KERNLESS_DATA). Try:
  curl $FN/hello
  curl -X POST '$FN/echo/some/path?a=1&b=2' -H 'X-Demo: yes' -d 'hello body'
  curl '$FN/rust/any/path?q=rust' -d 'hello rust'
  curl -i $FN/go
  curl -i $FN/cookies
${LANG_LINES}Manage it on the admin listener $KERNLESS_URL (the CLI's default; it finds the
admin token through KERNLESS_DATA):
  KERNLESS_DATA=$KERNLESS_DATA $KL ls
  KERNLESS_DATA=$KERNLESS_DATA $KL logs echo -f
  curl -H "Authorization: Bearer \$(cat $KERNLESS_DATA/admin.token)" $KERNLESS_URL/metrics
The web dashboard, logged in (the token is in the #fragment, which the browser never sends):
  $DASHBOARD
Press Ctrl-C to stop.
EOF
wait $SPID
