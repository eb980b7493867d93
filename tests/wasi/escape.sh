# escape.sh - sandbox escape tests for WASI preopens; sourced by tests/wasi/run.sh (uses report, BUILD, ROOT, TMP).
#
# Each case runs tests/wasi/escape/escape.c (as wasm) under the ASan build
# with a fresh tree:
#   outside/          never reachable: secret, dir/
#   box/              --dir box::/box (read-write), with symlinks pointing out
#   ro/               --dir-ro ro::/ro
# The guest checks every attempt's errno; the host then checks that nothing
# outside box/ changed (names, sizes, link counts, contents, mtimes).

ESC_SRC=$ROOT/tests/wasi/escape/escape.c
ESC_OUT=$BUILD/wasi-escape
ESC_KL=$BUILD/san/kernless
[ -x "$ESC_KL" ] || ESC_KL=$BUILD/kernless

# A fresh tree for one case in $1.
esc_tree() {
  local t=$1
  rm -rf "$t"
  mkdir -p "$t/outside/dir" "$t/box/sub" "$t/ro/dir" "$t/ro/empty"
  printf 'SECRET\n' >"$t/outside/secret"
  printf 'SECRET\n' >"$t/outside/file"   # what race/file reads if a swap ever wins
  printf 'inside\n' >"$t/box/file"
  printf 'inner\n' >"$t/box/sub/inner"
  printf 'readonly\n' >"$t/ro/data"
  printf 'f\n' >"$t/ro/dir/f"
  ln -s ../.. "$t/box/sub/up"
  ln -s ../outside "$t/box/rel_out"
  ln -s ../outside/new "$t/box/dangling_out"
  ln -s "$t/outside/new" "$t/box/dangling_abs"
  ln -s "$t/outside" "$t/box/abs_out"
  ln -s /etc "$t/box/abs_etc"
  ln -s loop2 "$t/box/loop1"
  ln -s loop1 "$t/box/loop2"
  ln -s self "$t/box/self"
  ln -s sub "$t/box/sub_link"
}

# Everything the guest must not change, as one listing.
esc_snapshot() {
  (cd "$1" && find outside ro -printf '%p %y %s %n %T@ %l\n' | sort && find outside ro -type f -exec md5sum {} + | sort)
}

# esc_case NAME [extra escape.wasm args]: run one case and report it.
esc_case() {
  local name=$1 t=$TMP/esc/$1 before after out rc why="" note=""
  shift
  esc_tree "$t"
  before=$(esc_snapshot "$t")
  if [ "$name" = race ]; then
    # Swap box/race between a directory (file: "inside") and a symlink out while the guest opens race/file.
    mkdir -p "$t/box/race.dir" && printf 'inside\n' >"$t/box/race.dir/file"
    ln -s ../outside "$t/box/race.link"
    cp -a "$t/box/race.dir" "$t/box/race"
    touch "$t/swap"
    ( while [ -e "$t/swap" ]; do
        mv -T "$t/box/race" "$t/box/race.parked"; cp -a "$t/box/race.link" "$t/box/race"
        sleep 0.002
        rm -f "$t/box/race"; mv -T "$t/box/race.parked" "$t/box/race"
      done 2>/dev/null ) &
    local swapper=$!
    sleep 0.05   # let the swapping start
  fi
  out=$(cd "$t" && "$ESC_KL" run --timeout-ms 60000 --dir box::/box --dir-ro ro::/ro "$ESC_OUT/escape.wasm" \
        "$name" "$@" </dev/null 2>"$t/stderr")
  rc=$?
  if [ "$name" = race ]; then
    rm -f "$t/swap"
    wait "$swapper" 2>/dev/null
    note=$(grep -m1 '^race:' <<<"$out")
  fi
  after=$(esc_snapshot "$t")
  [ "$rc" -eq 0 ] || why="exit status $rc"
  grep -qx ok <<<"$out" || why+="${why:+; }$(grep -m3 FAIL <<<"$out" | tr '\n' '|')"
  [ "$before" = "$after" ] || why+="${why:+; }the tree outside box/ changed: $(diff <(echo "$before") <(echo "$after") | head -c 300 | tr '\n' '|')"
  case $name in
    rename-out|link-out)
      [ -f "$t/box/file" ] && [ "$(stat -c %h "$t/box/file")" = 1 ] || why+="${why:+; }box/file was moved or linked"
      [ ! -e "$t/box/stolen" ] || why+="${why:+; }an outside file was brought in" ;;
  esac
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$t/stderr"; then
    why+="${why:+; }sanitizer: $(grep -m1 -E 'ERROR|runtime error' "$t/stderr")"
  fi
  if [ -z "$why" ]; then report "PASS escape/$name${note:+ ($note)}"
  else report "FAIL escape/$name: $why; stderr: $(head -c 200 "$t/stderr" | tr '\n' '|')"; fi
}

# A preopen that does not exist, or is not a directory, is a clear error before any VM runs.
esc_bad_dir() {
  local t=$TMP/esc/bad out rc why=""
  mkdir -p "$t" && : >"$t/plain"
  out=$("$ESC_KL" run --dir "$t/missing::/x" "$ESC_OUT/escape.wasm" dotdot 2>&1); rc=$?
  [ "$rc" -ne 0 ] && grep -q -- "--dir $t/missing: No such file or directory" <<<"$out" ||
    why="missing dir: exit $rc, output '$(head -c 200 <<<"$out")'"
  out=$("$ESC_KL" run --dir-ro "$t/plain" "$ESC_OUT/escape.wasm" dotdot 2>&1); rc=$?
  [ "$rc" -ne 0 ] && grep -q -- "--dir $t/plain: Not a directory" <<<"$out" ||
    why+="${why:+; }plain file: exit $rc, output '$(head -c 200 <<<"$out")'"
  grep -qE 'Sanitizer|runtime error' <<<"$out" && why+="${why:+; }sanitizer report"
  if [ -z "$why" ]; then report "PASS escape/bad-preopen"; else report "FAIL escape/bad-preopen: $why"; fi
}

esc_start=$(date +%s)
mkdir -p "$ESC_OUT" "$TMP/esc"
if ! command -v clang >/dev/null; then
  report "FAIL escape/build: clang not found (run scripts/deps.sh)"
elif [ ! "$ESC_OUT/escape.wasm" -nt "$ESC_SRC" ] &&
     ! clang --target=wasm32-wasi -O2 -Wall -Wextra -Werror "$ESC_SRC" -o "$ESC_OUT/escape.wasm" \
       -Wl,--strip-debug 2>"$ESC_OUT/build.log"; then
  report "FAIL escape/build: $(head -c 300 "$ESC_OUT/build.log" | tr '\n' '|')"
else
  for c in dotdot absolute symlink-out symlink-loop dotdot-symlink-dir rename-out link-out readonly; do
    esc_case "$c"
  done
  esc_case race 5000
  esc_bad_dir
fi
echo "wasi-escape: done in $(( $(date +%s) - esc_start ))s with $ESC_KL"
