#!/usr/bin/env bash
# run.sh - lang suite: Python and JavaScript functions (pre-initialised engines) through a real `kernless serve`, and `kernless run` against python3/node.
#
# Usage: tests/lang/run.sh BUILD. For each language whose engine is built
# (BUILD/engines/js.wasm, BUILD/engines/python.wasm; `make engines`), deploys
# tests/lang/<lang>/ and checks the handler API, errors, deploy refusals,
# pre-initialisation (a global counter is 1 on every request), limits, and
# `kernless run` output against the real interpreter. The engine images are
# compiled once per machine (the shared compile cache) and reused after.
# Prints, last, "lang: N passed, N failed, N skipped".
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/lib.sh
kl_each_backend lang   # once per backend the host has (tests/lib.sh)
W=$BUILD/lang-test
rm -rf "$W"; mkdir -p "$W"
finish() {
  kl_stop
  kl_finish lang
  exit $?
}
trap finish EXIT

if [ ! -x "$KL" ]; then fail "binary" "no kernless binary at $KL"; exit 1; fi
export KERNLESS_DATA=$W/data
kl_serve "$W/serve.out" "$W/serve.err" --data "$W/data"
if [ -z "$PORT" ]; then fail "serve" "server did not start: $(tail -c 300 "$W/serve.err")"; exit 1; fi
C="curl -s --max-time 30"
code() { $C -o /dev/null -w '%{http_code}' "$@"; }

# repeat LANG APPDIR QUERY N [ENV=V...]: N requests in one warm VM (kernless run
# --repeat -v) with KERNLESS_VERIFY_RESET=1, which compares every guest page
# with the snapshot after each reset; stdout to $W/rep.out, stderr $W/rep.err.
repeat() {
  local l=$1 app=$2 q=$3 n=$4; shift 4
  local lib=()
  [ "$l" = python ] && lib=(--dir "$BUILD/engines/python-lib::/usr/local/lib")
  env KERNLESS_VERIFY_RESET=1 "$@" "$KL" run -v --repeat "$n" --env "QUERY_STRING=$q" \
    --dir "$app::/app" "${lib[@]}" "$BUILD/engines/$l.wasm" >"$W/rep.out" 2>"$W/rep.err"
}
# pages LOG: the pages the last reset copied back, from --repeat -v's summary.
pages() { sed -n 's/.*requests: .*, \([0-9]*\) pages).*/\1/p' "$1"; }

# reset_checks LANG DIR ENTRY: every reset leaves each page as the snapshot
# had it, with per-request write tracking and without (KERNLESS_DIRTY_WP=0),
# over requests that write few pages and many; and, for Python, tracking
# copies back far fewer pages than CPython's start-up touched (the control:
# the same count without tracking).
reset_checks() {
  local l=$1 app=$W/$1-repeat q wp n tracked untracked
  rm -rf "$app" && cp -r "$2" "$app" && echo "$3" >"$app/.kernless-entry"
  for wp in 1 0; do
    for q in plain churn; do
      repeat "$l" "$app" "$q" 40 KERNLESS_DIRTY_WP=$wp
      n=$(grep -c '^count=1 ' "$W/rep.out")
      if [ "$n" = 40 ] && ! grep -q 'reset check' "$W/rep.err"; then pass "${l}_reset_exact_${q}_wp$wp"
      else fail "${l}_reset_exact_${q}_wp$wp" "$n of 40 fresh; $(grep -m1 -E 'reset check|kernless:' "$W/rep.err" | head -c 300)"; fi
      [ "$q" = plain ] && { [ $wp = 1 ] && tracked=$(pages "$W/rep.err") || untracked=$(pages "$W/rep.err"); }
    done
  done
  [ "$l" = python ] || return 0
  if [ -n "$tracked" ] && [ -n "$untracked" ] && [ $((tracked * 3)) -lt "$untracked" ]; then
    pass "${l}_reset_copies_written_pages_only"
  else
    fail "${l}_reset_copies_written_pages_only" "$tracked pages a reset with tracking, $untracked without"
  fi
}

# lang_suite LANG DIR ENTRY BAD SCRIPT EXAMPLE REFERENCE...: every check for one language.
lang_suite() {
  local l=$1 dir=$2 entry=$3 bad=$4 script=$5 example=$6; shift 6
  local ref=("$@") u out hdrs rid
  if [ ! -f "$BUILD/engines/$l.wasm" ]; then
    skip "${l}_all" "the $l engine is not built ($BUILD/engines/$l.wasm; make engines)"
    return
  fi
  # ---- deploy a folder: its own modules import ----
  if "$KL" deploy "$l-fn" "$dir" --entry "$entry" --route "/$l/..." --timeout-ms 3000 \
       >"$W/$l.deploy.out" 2>"$W/$l.deploy.err"; then
    pass "${l}_deploy_folder"
  else
    fail "${l}_deploy_folder" "$(tail -c 400 "$W/$l.deploy.err")"; return
  fi
  u=$U/$l
  out=$($C -H 'X-Test: yes' "$u/sub/path?plain")
  check "${l}_handler_basic" "count=1 method=GET path=/$l/sub/path query=plain x-test=yes héllo wörld ✓" "$out"
  check "${l}_content_type" "text/plain; charset=utf-8" \
    "$($C -D - -o /dev/null "$u?plain" | tr -d '\r' | sed -n 's/^Content-Type: //p')"
  for m in POST PUT DELETE PATCH; do
    check_has "${l}_method_$m" "method=$m " "$($C -X $m "$u?plain")"
  done
  # ---- a binary-safe body both ways ----
  head -c 65536 /dev/urandom >"$W/bin.in"
  printf '\0\r\n\377\0' >>"$W/bin.in"
  $C --data-binary @"$W/bin.in" -o "$W/bin.out" "$u?echo"
  if cmp -s "$W/bin.in" "$W/bin.out"; then pass "${l}_binary_body"
  else fail "${l}_binary_body" "echoed $(stat -c %s "$W/bin.out" 2>/dev/null) of $(stat -c %s "$W/bin.in") bytes, or different"; fi
  # ---- statuses, headers, redirect, JSON ----
  check "${l}_status_418" "418" "$(code "$u?status")"
  hdrs=$($C -D - -o /dev/null "$u?cookies" | tr -d '\r')
  check "${l}_two_set_cookies" "2" "$(echo "$hdrs" | grep -c '^Set-Cookie: [ab]=')"
  hdrs=$($C -D - -o /dev/null "$u?redirect" | tr -d '\r')
  check_has "${l}_redirect_302" "HTTP/1.1 302" "$hdrs"
  check_has "${l}_redirect_location" "Location: /elsewhere" "$hdrs"
  out=$($C -D - "$u?json" | tr -d '\r')
  check_has "${l}_json_status" "HTTP/1.1 201" "$out"
  check_has "${l}_json_type" "Content-Type: application/json" "$out"
  check_has "${l}_json_body" '"method": "GET"' "$(echo "$out" | tail -1 | sed 's/":"/": "/g')"
  # ---- an exception: 500, the traceback in the log with the request id ----
  hdrs=$($C -D - -o "$W/boom.body" "$u?boom" | tr -d '\r')
  check_has "${l}_exception_500" "HTTP/1.1 500" "$hdrs"
  check "${l}_exception_not_in_response" "" "$(grep -o 'boom from the handler' "$W/boom.body")"
  rid=$(echo "$hdrs" | sed -n 's/^X-Request-Id: //p')
  out=$("$KL" logs "$l-fn" 2>&1)
  check_has "${l}_exception_traceback_logged" "boom from the handler" "$out"
  check_has "${l}_exception_request_id" "[$rid] request $rid" "$out"
  check_has "${l}_print_goes_to_log" "logged, not in the response" "$out"
  # ---- pre-initialisation: a global counter is 1 on every request ----
  seq 1 200 | while read -r _; do $C "$u?plain"; done >"$W/$l.seq"
  check "${l}_counter_sequential_200" "200" "$(grep -c '^count=1 ' "$W/$l.seq")"
  seq 1 200 | xargs -P 8 -I{} $C "$u?plain" >"$W/$l.conc"
  check "${l}_counter_concurrent_200" "200" "$(grep -c '^count=1 ' "$W/$l.conc")"
  # ---- the warm reset copies back what requests wrote (kernless run --repeat) ----
  reset_checks "$l" "$dir" "$entry"
  # ---- a syntax error refuses the deploy (422 with the line); the old one serves ----
  mkdir -p "$W/$l-bad" && cp "$bad" "$W/$l-bad/"
  out=$("$KL" deploy "$l-fn" "$W/$l-bad" --entry "$(basename "$bad")" --route "/$l/..." 2>&1)
  check_has "${l}_syntax_error_422" "HTTP 422" "$out"
  check_has "${l}_syntax_error_line" "$(basename "$bad"):3:" "$out"
  check_has "${l}_old_version_serves" "count=1 " "$($C "$u?plain")"
  # ---- a loop times out, a memory bomb hits the cap, others are served ----
  "$KL" deploy "$l-other" "$dir" --entry "$entry" --route "/$l-other" >/dev/null 2>&1
  $C -o /dev/null -w '%{http_code}' "$u?loop" >"$W/$l.loop" &
  local lp=$!
  sleep 0.5
  check_has "${l}_others_served_during_loop" "count=1 " "$($C "$U/$l-other?plain")"
  wait $lp
  check "${l}_loop_504" "504" "$(cat "$W/$l.loop")"
  out=$(code "$u?bomb")
  case $out in 500|502) pass "${l}_memory_bomb_refused" ;; *) fail "${l}_memory_bomb_refused" "HTTP $out" ;; esac
  check_has "${l}_serves_after_bomb" "count=1 " "$($C "$u?plain")"
  # ---- a single file deploys too (the README's example) ----
  if "$KL" deploy "$l-example" "$example" --route "/$l-example" >/dev/null 2>"$W/$l.example.err"; then
    check "${l}_single_file_example" "Hello, kernless! (GET /$l-example, request 1)" \
      "$($C "$U/$l-example?name=kernless")"
  else
    fail "${l}_single_file_example" "$(tail -c 300 "$W/$l.example.err")"
  fi
  # ---- `kernless run` prints what the real interpreter prints ----
  if ! command -v "${ref[0]}" >/dev/null; then
    skip "${l}_run_matches" "${ref[0]} is not installed"
    return
  fi
  printf 'line one\nline two\n' >"$W/stdin.txt"
  "$KL" run "$script" a "b c" <"$W/stdin.txt" >"$W/$l.run.out" 2>"$W/$l.run.err"
  echo "exit=$?" >>"$W/$l.run.out"
  "${ref[@]}" "$script" a "b c" <"$W/stdin.txt" >"$W/$l.ref.out" 2>&1
  echo "exit=$?" >>"$W/$l.ref.out"
  if cmp -s "$W/$l.run.out" "$W/$l.ref.out"; then pass "${l}_run_matches_${ref[0]}"
  else fail "${l}_run_matches_${ref[0]}" "$(diff "$W/$l.ref.out" "$W/$l.run.out" | head -c 600) $(head -c 300 "$W/$l.run.err")"; fi
}

lang_suite js tests/lang/js handler.js tests/lang/js/bad.js tests/lang/js/script.js \
  examples/js-hello/handler.js node
lang_suite python tests/lang/python app.py tests/lang/python/bad.py tests/lang/python/script.py \
  examples/python-hello/app.py python3

# The suite ran to its end (tests/lib.sh: otherwise it counts suite_died_midway).
kl_end
