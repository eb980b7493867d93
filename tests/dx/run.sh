#!/usr/bin/env bash
# run.sh - developer experience suite: kernless.toml errors, kernless up (--watch), deploy -f, kernless new.
#
# Usage: tests/dx/run.sh BUILD. Uses BUILD/san/kernless when built (tests/lib.sh).
# The assemblyscript template's npm packages are installed once into
# BUILD/dx-npm and reused (npm's own cache under it too), so only the first
# run needs the npm registry.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/lib.sh
W=$BUILD/dx-test
rm -rf "$W"; mkdir -p "$W"
UPID=
finish() {
  up_stop
  kl_stop
  kl_finish dx
  exit $?
}
trap finish EXIT

# up_start DIR OUT [up args...]: `kernless up` in DIR on a free port, in the
# background; waits for its route list (or its end). Sets UPID and UPURL
# (empty if it never listed its routes).
up_start() {
  local dir=$1 out=$2
  shift 2
  (cd "$dir" && exec "$KL" up --listen 127.0.0.1:0 "$@" >"$out.out" 2>"$out.err") &
  UPID=$!
  UPURL=
  for _ in $(seq 1 600); do
    grep -q '^Available routes:' "$out.out" 2>/dev/null && break
    kill -0 "$UPID" 2>/dev/null || break
    sleep 0.2
  done
  UPURL=$(grep -o '^Serving http://[0-9.:]*' "$out.out" 2>/dev/null | sed 's/^Serving //')
}
up_stop() {
  if [ -n "$UPID" ]; then kill "$UPID" 2>/dev/null; wait "$UPID" 2>/dev/null; fi
  UPID=
}
# wait_body URL WANT: poll until URL answers WANT (60 s); prints the last answer.
wait_body() {
  local r=
  for _ in $(seq 1 300); do
    r=$(curl -s "$1" 2>/dev/null)
    [ "$r" = "$2" ] && break
    sleep 0.2
  done
  echo "$r"
}

# section NAME: where the suite's time goes (elapsed seconds so far).
section() { echo "--- $1 (${SECONDS}s)"; }

cc_wasm() { clang --target=wasm32-wasi -O2 "$1" -o "$2" -Wl,--strip-debug 2>>"$W/build.log"; }

section "cli help and version"
# ---- --help for every command, --version (src/cli/commands.c) -------------
# Every command: `kernless CMD --help` and `-h` print its usage on stdout
# (first line "usage: kernless CMD") and exit 0, with nothing on stderr.
CLI_CMDS="run compile wast serve deploy ls info rm logs rollback invoke dashboard new up nodes haproxy-config kv secret"
for c in $CLI_CMDS; do
  for h in --help -h; do
    out=$("$KL" "$c" "$h" 2>"$W/help.err" </dev/null); rc=$?
    t=cli_help_${c//-/_}; [ "$h" = -h ] && t=${t}_short
    if [ $rc -ne 0 ]; then fail "$t" "exit $rc: $(head -c 200 "$W/help.err")"
    elif [ "$(printf '%s\n' "$out" | head -n 1 | cut -d' ' -f1-3)" != "usage: kernless $c" ]; then
      fail "$t" "stdout does not start with 'usage: kernless $c': $(printf '%s' "$out" | head -c 200)"
    elif [ -s "$W/help.err" ]; then fail "$t" "stderr: $(head -c 200 "$W/help.err")"
    else pass "$t"; fi
  done
done
# `kernless --help` lists exactly these commands, each with a summary.
out=$("$KL" --help 2>/dev/null); rc=$?
listed=$(printf '%s\n' "$out" | sed -n '/^commands:/,$p' | sed -nE 's/^  ([a-z-]+) +[a-z].*/\1/p' | tr '\n' ' ')
check cli_help_lists_commands "0 $CLI_CMDS " "$rc $listed"
# An operand ends the options: a guest's own --help is the guest's.
out=$("$KL" run /nonexistent.wasm --help 2>&1); rc=$?
case "$out" in usage:*) fail cli_help_after_operand "printed usage: $out" ;;
  *) check cli_help_after_operand "1" "$rc" ;; esac
# --version: the release, the image ABI, the backends.
out=$("$KL" --version 2>"$W/version.err"); rc=$?
want_rel=$(sed -nE 's/^#define KL_VERSION "(.*)"/\1/p' include/kernless/version.h)
want_abi=$(sed -nE 's/^#define KL_ABI_VERSION ([0-9]+)u?/\1/p' include/kernless/abi.h)
check cli_version_rc "0" "$rc"
check cli_version_release "kernless ${want_rel:-?}" "$(printf '%s\n' "$out" | head -n 1)"
check_has cli_version_abi "image ABI version ${want_abi:-?}" "$out"
if [ -e /dev/kvm ]; then
  check_has cli_version_kvm "backend kvm: available" "$out"
else
  check_has cli_version_kvm "backend kvm: unavailable (" "$out"
fi
check_has cli_version_default "default isolation: " "$out"
# Without /dev/kvm (a private /dev): KVM unavailable and why, process used.
if unshare -m true 2>/dev/null; then
  out=$(unshare -m sh -c 'mount -t tmpfs kl-nokvm /dev && mknod -m 666 /dev/null c 1 3 &&
        mknod -m 666 /dev/zero c 1 5 && mknod -m 666 /dev/urandom c 1 9 && exec "$@"' sh \
        "$KL" --version 2>&1); rc=$?
  check cli_version_no_kvm_rc "0" "$rc"
  check_has cli_version_no_kvm_why "backend kvm: unavailable (cannot open /dev/kvm" "$out"
  check_has cli_version_no_kvm_process "backend process: available" "$out"
  check_has cli_version_no_kvm_default "default isolation: process" "$out"
else
  skip cli_version_no_kvm "unshare -m refused here (needs CAP_SYS_ADMIN)"
fi
P=$W/proj
mkdir -p "$P/static"
if cc_wasm examples/wagi-hello/hello.c "$P/hello.wasm"; then pass build_wasm
else fail build_wasm "$(head -c 300 "$W/build.log")"; exit 1; fi

section "manifest errors"
# ---- manifest errors: one line naming the file, the line and the key ------
# bad NAME LINE KEY: `up -f` on $W/bad/NAME.toml (already written) fails with
# exactly one stderr line holding "NAME.toml:LINE:" and KEY, and starts nothing.
mkdir -p "$W/bad"
cp "$P/hello.wasm" "$W/bad/"
bad() {
  local f=$W/bad/$1.toml out rc
  out=$(cd "$W/bad" && "$KL" up -f "$1.toml" --listen 127.0.0.1:0 2>&1 >/dev/null); rc=$?
  if [ $rc -eq 0 ]; then fail "manifest_$1" "exit 0"; return; fi
  if [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ]; then fail "manifest_$1" "not one line: $out"; return; fi
  case "$out" in
    "kernless: $1.toml:$2:"*"$3"*) pass "manifest_$1" ;;
    *) fail "manifest_$1" "want '$1.toml:$2:' and '$3', got: $out" ;;
  esac
  [ -e "$W/bad/.kernless" ] && fail "manifest_$1_nothing_started" "made .kernless/"
}
fn() { printf '[[function]]\nname = "%s"\nroute = "%s"\nsource = "hello.wasm"\n' "$1" "$2"; }
{ fn a /a; echo 'sorce = "x.wasm"'; } >"$W/bad/unknown_key.toml"
bad unknown_key 5 '"sorce"'
{ fn a /a; echo 'timeout_ms = "500"'; } >"$W/bad/wrong_type.toml"
bad wrong_type 5 '"timeout_ms" must be an integer, not a string'
{ fn a /a; echo; fn b /a; } >"$W/bad/dup_route.toml"
bad dup_route 8 'duplicate route "/a"'
{ fn a /a; echo; fn a /b; } >"$W/bad/dup_name.toml"
bad dup_name 7 'duplicate function name "a"'
printf '[[function]]\nname = "a"\nroute = "/a"\nsource = "missing.wasm"\n' >"$W/bad/missing_source.toml"
bad missing_source 4 'source "missing.wasm"'
{ fn a /a; echo 'files = ["nodir::/data"]'; } >"$W/bad/missing_files.toml"
bad missing_files 5 'files[0]'
{ fn a /a; echo 'memory_mb = 1'; echo 'env = { A = 1 }'; } >"$W/bad/env_type.toml"
bad env_type 6 'env.A must be a string'
{ fn a /a; echo 'memory_mb = 100000'; } >"$W/bad/range.toml"
bad range 5 '"memory_mb" must be 1 to'
printf '[[function]]\nname = "a"\nroute = "/a\nsource = "hello.wasm"\n' >"$W/bad/syntax.toml"
bad syntax 3 'TOML syntax error'
printf '[[function]]\nname = "a"\nname = "b"\n' >"$W/bad/dup_key.toml"
bad dup_key 3 'TOML syntax error'
printf '[[function]]\nname = "a"\nsource = "hello.wasm"\n' >"$W/bad/missing_key.toml"
bad missing_key 1 'missing key "route"'
fn a nope >"$W/bad/bad_route.toml"
bad bad_route 3 '"route"'
printf '[function]\nname = "a"\n' >"$W/bad/not_array.toml"
bad not_array 1 '[[function]]'
printf 'version = 2\n' >"$W/bad/top_key.toml"
bad top_key 1 '"version"'
out=$(cd "$W/bad" && "$KL" deploy -f dup_route.toml 2>&1); rc=$?
if [ $rc -ne 0 ] && [ "$out" = "$(cd "$W/bad" && "$KL" up -f dup_route.toml 2>&1)" ]; then
  pass manifest_deploy_same_error
else fail manifest_deploy_same_error "rc=$rc: $out"; fi

section "up"
# ---- kernless up: every route, env, files, a build --------------------------
cat >"$P/files.c" <<'EOF'
/* files.c - prints an env value and a file from its read-only folder. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    char line[200] = "";
    FILE *f = fopen("/static/msg.txt", "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL)
        return 3;
    printf("Content-Type: text/plain\n\nv1 %s %s", getenv("GREETING"), line);
    return 0;
}
EOF
echo "from a file" >"$P/static/msg.txt"
cat >"$P/kernless.toml" <<'EOF'
[[function]]
name = "hello"
route = "/hello"
source = "hello.wasm"

[[function]]
name = "files"
route = "/files/..."
source = "files.wasm"
build = "clang --target=wasm32-wasi -O2 -Wl,--strip-debug -o files.wasm files.c"
watch = ["files.c"]
env = { GREETING = "hi-there" }
files = ["static"]
timeout_ms = 5000
memory_mb = 64
max_open_files = 7
EOF
up_start "$P" "$W/up" --watch
if [ -n "$UPURL" ]; then pass up_starts; else fail up_starts "$(tail -c 400 "$W/up.err")"; exit 1; fi
check_has up_lists_hello "  hello: $UPURL/hello" "$(cat "$W/up.out")"
check_has up_lists_files "  files: $UPURL/files/..." "$(cat "$W/up.out")"
check up_serves_hello "Hello from Kernless!" "$(curl -s "$UPURL/hello")"
check up_serves_files "v1 hi-there from a file" "$(curl -s "$UPURL/files/x")"
# Deploys went to the admin listener up printed; functions are not served there.
UPADMIN=$(sed -n 's/^Serving .* (admin API and dashboard on \(http:[^,]*\), .*/\1/p' "$W/up.out" | head -1)
check up_admin_listener_apart "404 200" "$(curl -s -o /dev/null -w '%{http_code}' "$UPADMIN/hello") $(curl -s -o /dev/null -w '%{http_code}' "$UPADMIN/healthz")"
check_has up_ran_build "files: building: clang" "$(cat "$W/up.err")"
# The manifest's max_open_files reaches the deployed config (it was a
# deploy flag only: the key was refused as unknown).
check manifest_max_open_files "7" "$(curl -s -H "Authorization: Bearer $(cat "$P/.kernless/data/admin.token")" \
  "$UPADMIN/v1/functions/files" | jq -r '.. | objects | select(has("max_open_files")) | .max_open_files' | head -1)"

# watch_rounds N: wait until up has finished N rebuild rounds (it says
# "Watching for changes." after each, once it looks at the files again).
watch_rounds() {
  for _ in $(seq 1 300); do
    [ "$(grep -c '^Watching for changes\.$' "$W/up.out")" -ge "$1" ] && break
    sleep 0.2
  done
}
# --watch: a changed source is rebuilt and redeployed without a restart.
sed -i 's/"Content-Type: text\/plain\\n\\nv1 /"Content-Type: text\/plain\\n\\nv2 /' "$P/files.c"
check watch_redeploys "v2 hi-there from a file" "$(wait_body "$UPURL/files/x" "v2 hi-there from a file")"
watch_rounds 1
# A change that does not build leaves the last good version serving.
echo "this is not C" >>"$P/files.c"
watch_rounds 2
check_has watch_build_error "kernless: files: build failed" "$(cat "$W/up.err")"
check watch_keeps_serving "v2 hi-there from a file" "$(curl -s "$UPURL/files/x")"
# The manifest itself: a new env value is deployed, a removed function goes.
sed -i '$d' "$P/files.c"
cat >"$P/kernless.toml" <<'EOF'
[[function]]
name = "files"
route = "/files/..."
source = "files.wasm"
build = "clang --target=wasm32-wasi -O2 -Wl,--strip-debug -o files.wasm files.c"
watch = ["files.c"]
env = { GREETING = "changed" }
files = ["static"]
EOF
check watch_manifest "v2 changed from a file" "$(wait_body "$UPURL/files/x" "v2 changed from a file")"
for _ in $(seq 1 100); do grep -q '^removed hello' "$W/up.out" && break; sleep 0.2; done
check watch_removes_stale 404 "$(curl -s -o /dev/null -w '%{http_code}' "$UPURL/hello")"
# A manifest change that changes no function redeploys nothing.
n=$(grep -c '^deployed ' "$W/up.out")
echo "# a comment" >>"$P/kernless.toml"
for _ in $(seq 1 100); do [ "$(grep -c '^Available routes:' "$W/up.out")" -ge 3 ] && break; sleep 0.2; done
check watch_manifest_reloaded 3 "$(grep -c '^Available routes:' "$W/up.out")"
check watch_unchanged_not_redeployed "$n" "$(grep -c '^deployed ' "$W/up.out")"
SPORT=$UPURL
up_stop
code=$(curl -s -o /dev/null -w '%{http_code}' "$SPORT/files/x")
check up_stops_its_server 000 "$code"

section "deploy -f"
# ---- deploy -f against a running server --------------------------------------
D=$W/dep
mkdir -p "$D"
cp "$P/hello.wasm" "$D/"
cat >"$D/kernless.toml" <<'EOF'
[[function]]
name = "one"
route = "/one"
source = "hello.wasm"

[[function]]
name = "two"
route = "/two"
source = "hello.wasm"
env = { X = "y" }
EOF
kl_serve "$W/serve.out" "$W/serve.err" --data "$W/serve-data"
if [ -z "$PORT" ]; then fail serve_starts "$(tail -c 300 "$W/serve.err")"; exit 1; fi
export KERNLESS_TOKEN
KERNLESS_TOKEN=$(cat "$W/serve-data/admin.token")
out=$(cd "$D" && "$KL" deploy -f kernless.toml 2>"$W/dep.err"); rc=$?
check deploy_f_exit 0 "$rc"
check deploy_f_lines 2 "$(printf '%s\n' "$out" | grep -c '^deployed ')"
check_has deploy_f_one "deployed one version 1 at /one" "$out"
check deploy_f_serves_two "Hello from Kernless!" "$(curl -s "$U/two")"
# One function that the server rejects: one line each, exit 1.
echo "not wasm" >"$D/bad.wasm"
cat >>"$D/kernless.toml" <<'EOF'

[[function]]
name = "three"
route = "/three"
source = "bad.wasm"
EOF
out=$(cd "$D" && "$KL" deploy -f kernless.toml 2>&1); rc=$?
check deploy_f_failure_exit 1 "$rc"
check_has deploy_f_reports_two "deployed two version 2" "$out"
check_has deploy_f_reports_three "kernless: deploy three rejected" "$out"
kl_stop
unset KERNLESS_TOKEN

section "new"
# ---- kernless new ----------------------------------------------------------
out=$("$KL" new --list)
for t in c rust assemblyscript python js; do check_has "new_list_$t" "  $t " "$out"; done
out=$(cd "$W" && "$KL" new cobol x 2>&1); rc=$?
check_has new_unknown_template '2:kernless: new: no template "cobol"' "$rc:$out"
out=$(cd "$W" && "$KL" new c 'Bad Name' 2>&1); rc=$?
check_has new_bad_name '2:kernless: new: bad name' "$rc:$out"
mkdir -p "$W/taken"
out=$(cd "$W" && "$KL" new c taken 2>&1); rc=$?
check_has new_existing_folder '1:kernless: new: cannot create taken: File exists' "$rc:$out"

# new_up TEMPLATE BODY: new TEMPLATE hi, then up serves /hi with BODY.
new_up() {
  local t=$1 want=$2 dir=$W/new-$1
  mkdir -p "$dir"
  if ! (cd "$dir" && "$KL" new "$t" hi >/dev/null); then fail "new_$t" "kernless new failed"; return 1; fi
  [ -f "$dir/hi/kernless.toml" ] && pass "new_$t" || { fail "new_$t" "no hi/kernless.toml"; return 1; }
  [ -n "${3:-}" ] && $3 "$dir/hi"
  up_start "$dir/hi" "$W/up-$t"
  if [ -n "$UPURL" ]; then
    check "new_${t}_up_serves" "$want" "$(curl -s "$UPURL/hi")"
  else
    fail "new_${t}_up_serves" "up did not start: $(tail -c 400 "$W/up-$t.err")"
  fi
  up_stop
}
section "new c"
new_up c "Hello from C!"
section "new rust"
have_rust=
for rc in rustc /usr/bin/rustc; do
  sr=$("$rc" --print sysroot 2>/dev/null) || continue
  [ -d "$sr/lib/rustlib/wasm32-wasip1" ] || [ -d "$sr/lib/rustlib/wasm32-wasi" ] && have_rust=1
done
if [ -n "$have_rust" ]; then new_up rust "Hello from Rust!"
else skip new_rust_up_serves "no rustc with the wasm32-wasi target (deps.sh installs libstd-rust-dev-wasm32)"; fi

section "new assemblyscript"
# The npm packages, once per build folder; npm's cache sits beside them.
NPM=$BUILD/dx-npm
npm_ready() {
  command -v npm >/dev/null 2>&1 || return 1
  if ! cmp -s templates/assemblyscript/package.json "$NPM/package.json.src" ||
     [ ! -x "$NPM/node_modules/.bin/asc" ]; then
    rm -rf "$NPM"; mkdir -p "$NPM"
    sed 's/{{name}}/dx-npm/' templates/assemblyscript/package.json >"$NPM/package.json"
    (cd "$NPM" && npm install --no-audit --no-fund --cache "$PWD/cache" >install.log 2>&1) || return 1
    cp templates/assemblyscript/package.json "$NPM/package.json.src"
  fi
}
link_modules() { ln -s "$(cd "$NPM" && pwd)/node_modules" "$1/node_modules"; }
if npm_ready; then new_up assemblyscript "Hello from AssemblyScript!" link_modules
else skip new_assemblyscript_up_serves "npm could not install assemblyscript (no npm, or the npm registry is unreachable: $(tail -c 200 "$NPM/install.log" 2>/dev/null))"; fi

section "new python/js"
# Python and JS: served once their engines are in the binary; until then
# up must refuse with the one clear line of src/client/lang_hook.c.
for t in python js; do
  want="Hello from Python!"; [ $t = js ] && want="Hello from JS!"
  dir=$W/new-$t; mkdir -p "$dir"
  (cd "$dir" && "$KL" new $t hi >/dev/null) && [ -f "$dir/hi/kernless.toml" ] && pass "new_$t" || fail "new_$t" "no project"
  up_start "$dir/hi" "$W/up-$t"
  if [ -n "$UPURL" ]; then
    check "new_${t}_up_serves" "$want" "$(curl -s "$UPURL/hi")"
  else
    err=$(cat "$W/up-$t.err")
    check_has "new_${t}_refused_clearly" "Python/JavaScript functions are not available in this build" "$err"
    src=app.py; [ $t = js ] && src=app.js
    err=$(cd "$dir/hi" && KERNLESS_URL=http://127.0.0.1:9 "$KL" deploy hi $src --route /hi 2>&1)
    check "new_${t}_deploy_refused_clearly" \
      "kernless: deploy hi: $src: Python/JavaScript functions are not available in this build" "$err"
    skip "new_${t}_up_serves" "this build has no Python/JavaScript engine (src/client/lang_hook.c)"
  fi
  up_stop
done

# The suite ran to its end (tests/lib.sh: otherwise it counts suite_died_midway).
kl_end
