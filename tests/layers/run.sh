#!/usr/bin/env bash
# layers/run.sh - the link-level layering of src/ (src/layers.txt), checked from the built objects with nm.
#
# Why from the objects: a header can declare another file's function, which
# hides the real dependency from the include graph; the linker's view cannot
# lie. Controls first prove the checker fails on what it must catch (an
# upward edge, a cycle of three files, a folder missing from the order, a
# private folder used by another), then
# the real tree is checked: every violation is one failed check naming it.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
source tests/lib.sh
CHECK=scripts/link-graph.py
T=$(mktemp -d)
trap 'rm -rf "$T"; kl_finish layers' EXIT

# fixture DIR FILE=BODY...: a tiny tree src/<folder>/<file>.c compiled to obj/src/...
fixture() {
  local d=$1 spec f body; shift
  for spec in "$@"; do
    f=${spec%%=*}; body=${spec#*=}
    mkdir -p "$d/src/$(dirname "$f")" "$d/obj/src/$(dirname "$f")"
    printf '%s\n' "$body" >"$d/src/$f.c"
    gcc -O0 -c "$d/src/$f.c" -o "$d/obj/src/$f.o" || return 1
  done
}

# Control: low uses only itself, high uses low: clean.
fixture "$T/ok" "low/a=int a(void){return 1;}" "high/b=int a(void); int b(void){return a();}"
printf 'low\nhigh\n' >"$T/ok/layers"
out=$(python3 $CHECK "$T/ok/obj" --src "$T/ok/src" --layers "$T/ok/layers" 2>&1); rc=$?
check layers_control_clean_tree_passes "0" "$rc"

# Control: low calls up into high.
fixture "$T/up" "low/a=int b(void); int a(void){return b();}" "high/b=int b(void){return 2;}"
printf 'low\nhigh\n' >"$T/up/layers"
out=$(python3 $CHECK "$T/up/obj" --src "$T/up/src" --layers "$T/up/layers" 2>&1); rc=$?
check_err layers_control_upward_edge_fails "$rc" "upward edge low -> high: low/a -> high/b (b)" "$out"

# Control: three files of one folder in a ring.
fixture "$T/cyc" "m/x=int y(void); int x(void){return y();}" "m/y=int z(void); int y(void){return z();}" \
        "m/z=int x(void); int z(void){return x();}"
printf 'm\n' >"$T/cyc/layers"
out=$(python3 $CHECK "$T/cyc/obj" --src "$T/cyc/src" --layers "$T/cyc/layers" 2>&1); rc=$?
check_err layers_control_three_file_cycle_fails "$rc" "cycle of 3 files: m/x m/y m/z" "$out"
check_has layers_control_cycle_names_its_edges "m/z -> m/x (x)" "$out"

# Control: a folder the order does not name.
printf 'low\n' >"$T/ok/layers"
out=$(python3 $CHECK "$T/ok/obj" --src "$T/ok/src" --layers "$T/ok/layers" 2>&1); rc=$?
check_err layers_control_unlisted_folder_fails "$rc" "upward edge high -> low" "$out"

# Control: a folder marked private (a VM backend) used by a folder above it:
# not upward, but only the backend itself may link against it.
fixture "$T/priv" "vm/v=int v(void){return 0;}" "vm/kvm/k=int v(void); int k(void){return v();}" \
        "inst/i=int k(void); int i(void){return k();}"
printf 'vm\nvm/kvm private\ninst\n' >"$T/priv/layers"
out=$(python3 $CHECK "$T/priv/obj" --src "$T/priv/src" --layers "$T/priv/layers" 2>&1); rc=$?
check_err layers_control_private_folder_fails "$rc" "private folder used inst -> vm/kvm: inst/i -> vm/kvm/k (k)" "$out"

# Control: an object whose source is gone (a moved file) is not read.
fixture "$T/stale" "low/a=int a(void){return 1;}" "high/b=int b(void){return 2;}"
mkdir -p "$T/stale/obj/src/low" && cp "$T/up/obj/src/low/a.o" "$T/stale/obj/src/low/old.o"
printf 'low\nhigh\n' >"$T/stale/layers"
out=$(python3 $CHECK "$T/stale/obj" --src "$T/stale/src" --layers "$T/stale/layers" 2>&1); rc=$?
check layers_control_stale_object_ignored "0" "$rc"

# The tree itself.
if [ ! -d "$BUILD/obj/src" ]; then
  fail layers_tree "no objects in $BUILD/obj/src (build first)"
else
  out=$(python3 $CHECK "$BUILD/obj" --src src --layers src/layers.txt 2>&1); rc=$?
  bad=$(printf '%s\n' "$out" | grep -E '^(upward edge|private folder|cycle of)')
  if [ -n "$bad" ]; then
    while IFS= read -r l; do fail layers_tree "$l"; done <<<"$bad"
    printf '%s\n' "$out" | grep -E '^  [a-z]' | grep ' -> .*(' | head -40
  else
    check layers_tree_no_upward_edge_no_cycle "0" "$rc"
  fi
  # Every host folder of src/ is in the order (a new folder must be placed).
  for d in $(find src -name '*.c' -not -path 'src/guest/*' -not -path 'src/sandbox/*' -printf '%h\n' | sed 's|^src/||' | sort -u); do
    if grep -qxE "$d( .*)?" <(sed 's/#.*//; s/[[:space:]]*$//' src/layers.txt); then pass "layers_lists_$d"
    else fail "layers_lists_$d" "src/$d has sources but no line in src/layers.txt"; fi
  done
fi
kl_end
