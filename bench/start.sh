#!/usr/bin/env bash
# start.sh - benchmark 3: time to completion of a hello-world process: native, kernless (cached .wasm and .kimg), node WASI.
#
# Many short runs, round-robin over the runtimes so that load changes hit all alike; p50/p99 of
# each. kernless runs with -v, and its own split of the time (image load, VM setup, guest run) is
# parsed from stderr, so the rest (process start, KVM open, teardown) can be told apart.
set -u
. "$(dirname "$0")/lib.sh"

REPS=${START_REPS:-200}
NODE_REPS=${START_NODE_REPS:-$REPS}
[ "${QUICK:-0}" = 1 ] && { REPS=20; NODE_REPS=5; }
W=$OUT_DIR/start
rm -rf "$W"
mkdir -p "$W/t"

src=$ROOT/examples/hello/hello.c
if ! native_cc "$src" "$W/hello" 2>"$W/build.log" || ! wasm_cc "$src" "$W/hello.wasm" 2>>"$W/build.log" ||
   ! "$KL" compile "$W/hello.wasm" -o "$W/hello.kimg" 2>>"$W/build.log"; then
  blog "start: hello does not build: $(head -c 300 "$W/build.log")"
  exit 1
fi
"$W/hello" >"$W/expected"
"$KL" run --isolation "$BENCH_ISOLATION" "$W/hello.wasm" >/dev/null 2>&1   # fill the image cache: the runs below must hit it

# kernless --help starts no VM: it measures the binary's own process start (exec, dynamic
# linking of its libraries), the floor under every kernless command.
TARGETS=(native kernless-help kernless-wasm kernless-kimg node)
declare -A COLOR=([native]="#000000" [kernless-help]="#7f7f7f" [kernless-wasm]="#1f77b4"
  [kernless-kimg]="#2ca02c" [node]="#ff7f0e")
declare -A LABEL=([native]="native process (gcc -O2)" [kernless-help]="kernless --help (no VM)"
  [kernless-wasm]="kernless run hello.wasm (cached)" [kernless-kimg]="kernless run hello.kimg"
  [node]="node WASI")
"$KL" --help >"$W/help.expected" 2>&1
declare -A BAD
fail=0
# One run of TARGET; records its time and, for kernless, the -v split.
run_target() {
  local t=$1
  case $t in
    native)        timed "$W/out" "$W/err" "$W/hello" ;;
    kernless-wasm) timed "$W/out" "$W/err" "$KL" run --isolation "$BENCH_ISOLATION" -v "$W/hello.wasm" ;;
    kernless-kimg) timed "$W/out" "$W/err" "$KL" run --isolation "$BENCH_ISOLATION" -v "$W/hello.kimg" ;;
    node)          timed "$W/out" "$W/err" "${NODE_WASI[@]}" "$W/hello.wasm" ;;
    kernless-help) timed "$W/out" "$W/err" "$KL" --help ;;
  esac
  local want=$W/expected
  [ "$t" = kernless-help ] && want=$W/help.expected
  if [ "$T_RC" -ne 0 ] || ! cmp -s "$W/out" "$want"; then
    BAD[$t]="wrong output or exit $T_RC: $(head -c 200 "$W/err" | tr '\n|' '  ')"
    blog "start: $t: ${BAD[$t]}"
    fail=1
    return
  fi
  echo "$T_SEC" >>"$W/t/$t"
  case $t in
    kernless-*)
      for k in load setup run; do
        sed -n "s/.*[ ,]$k \([0-9.]*\) ms.*/\1/p" "$W/err" | head -n 1 >>"$W/t/$t.$k"
      done
      if grep -q "kernless: compiled" "$W/err"; then
        BAD[$t]="the image cache missed: this run compiled"
        fail=1
      fi ;;
  esac
}

blog "start: $REPS runs each (node: $NODE_REPS)"
for ((r = 1; r <= REPS; r++)); do
  for t in "${TARGETS[@]}"; do
    [ -n "${BAD[$t]:-}" ] && continue
    [ "$t" = node ] && [ "$r" -gt "$NODE_REPS" ] && continue
    run_target "$t"
  done
done

# ---- report ------------------------------------------------------------------
ms() { awk -v x="$1" 'BEGIN { if (x == "nan" || x == "") print "n/a"; else printf "%.2f", x * 1000 }'; }
np50=$(pctl "$W/t/native" 50 2>/dev/null)
{
  printf '## start: hello-world process, time to completion (%s)\n\n' "$BENCH_TITLE"
  section_provenance
  printf 'The same `examples/hello/hello.c` as a native process (`gcc -O2`), under `kernless run` '
  printf '(the .wasm, whose image the cache already holds, and a .kimg written by `kernless compile`), and '
  printf 'under node 20'"'"'s WASI. Wall time of the whole process as the shell starts it; %s runs per runtime (node: %s), ' "$REPS" "$NODE_REPS"
  printf 'round-robin. Every run'"'"'s output was checked.\n\n'
  printf '| runtime | runs | p50 ms | p99 ms | min ms | max ms | p50 / native p50 |\n|---|---|---|---|---|---|---|\n'
  : >"$W/cdf.list"
  for t in "${TARGETS[@]}"; do
    f=$W/t/$t
    if [ -n "${BAD[$t]:-}" ] || [ ! -s "$f" ]; then
      printf '| %s | | **%s** | | | | |\n' "${LABEL[$t]}" "${BAD[$t]:-no runs}"
      continue
    fi
    read -r n _ mn mx < <(stats "$f")
    p50=$(pctl "$f" 50); p99=$(pctl "$f" 99)
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${LABEL[$t]}" "$n" "$(ms "$p50")" "$(ms "$p99")" \
      "$(ms "$mn")" "$(ms "$mx")" "$(ratio "$p50" "$np50")"
    # Empirical CDF for the plot: sorted times in ms against the fraction of runs.
    sort -g "$f" | awk -v n="$n" '{ printf "%.4f %.5f\n", $1 * 1000, NR / n }' >"$W/$t.cdf"
    echo "$t" >>"$W/cdf.list"
  done
  printf '\n**Where kernless spends it** (from `kernless run -v`: `load` = image load or cache lookup, '
  printf '`setup` = VM creation and guest memory set-up, `run` = guest execution until exit; '
  printf '`other` = total − the three: process start, KVM open, teardown):\n\n'
  printf '| runtime | load p50 / p99 ms | setup p50 / p99 ms | run p50 / p99 ms | other p50 ms |\n|---|---|---|---|---|\n'
  for t in kernless-wasm kernless-kimg; do
    [ -s "$W/t/$t" ] && [ -z "${BAD[$t]:-}" ] || continue
    cells=()
    for k in load setup run; do
      if [ -s "$W/t/$t.$k" ]; then cells+=("$(pctl "$W/t/$t.$k" 50) / $(pctl "$W/t/$t.$k" 99)")
      else cells+=("n/a"); fi
    done
    # "other" per run: total minus the parts that run reported (missing parts count as 0).
    other=$(paste -d' ' "$W/t/$t" "$W/t/$t.load" "$W/t/$t.setup" "$W/t/$t.run" 2>/dev/null |
      awk '{ print $1 * 1000 - $2 - $3 - $4 }' >"$W/t/$t.other"; pctl "$W/t/$t.other" 50)
    printf '| %s | %s | %s | %s | %s |\n' "${LABEL[$t]}" "${cells[0]}" "${cells[1]}" "${cells[2]}" \
      "$(awk -v x="$other" 'BEGIN { printf "%.2f", x }')"
  done
  printf '\nThe kernless binary loads %s shared libraries (`ldd`); `kernless --help` above is that cost alone.\n' \
    "$(ldd "$KL" 2>/dev/null | grep -c '=>')"
  printf '\n![start latency distribution](plots/start-cdf-'"$BENCH_TAG"'.png)\n\n'
} >"$RESULTS_DIR/start-$BENCH_TAG.md"

{
  printf 'set title "start: hello-world time to completion, distribution over runs"\n'
  printf 'set logscale x\nset xlabel "wall time, ms (log scale)"\nset ylabel "fraction of runs"\n'
  printf 'set yrange [0:1.02]\nset key inside right bottom\nset mxtics 10\n'
  sep="plot"
  while read -r t; do
    printf '%s "%s" using 1:2 with steps lw 2 lc rgb "%s" title "%s"' "$sep" "$W/$t.cdf" "${COLOR[$t]}" "${LABEL[$t]}"
    sep=", \\"$'\n'
  done <"$W/cdf.list"
  printf '\n'
} | plot_png "$PLOTS_DIR/start-cdf-$BENCH_TAG.png"
exit $fail
