#!/usr/bin/env bash
# compute.sh - benchmark 1: CPU-bound programs natively (gcc -O2), under `kernless run` and under node's WASI.
#
# Each program in bench/compute/ is built natively and to wasm32-wasi, run once per runtime as a
# warm-up (that run also fills kernless's image cache), then RUNS times per runtime, interleaved
# (native, kernless, node, native, ...) so that a load change on this shared machine hits all
# three alike. Every run's stdout must equal the native output: a wrong answer gets no ratio.
set -u
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
W=$OUT_DIR/compute
rm -rf "$W"
mkdir -p "$W/bin" "$W/times" "$W/runs"

# Program and its arguments: sized to run about 0.6 s natively on this machine when it is quiet
# (more when it is busy), so that the whole of `make bench` stays within its time budget.
# QUICK=1 uses tiny sizes, for checking the harness itself.
if [ "${QUICK:-0}" = 1 ]; then
  PROGS=("nbody 20000" "fannkuch 8 1" "spectralnorm 300" "mandelbrot 400" "sha256 1 1"
         "binarytrees 10" "json 500 2" "btree 20000" "libm 20000" "strtod 5000" "sortalloc 5000 2")
else
  PROGS=("nbody 6000000" "fannkuch 10 3" "spectralnorm 3500" "mandelbrot 3000" "sha256 16 10"
         "binarytrees 17" "json 20000 10" "btree 350000"
         # Issue 22: libm (musl's sin/exp/fmod bit-cast floats), printf/strtod, qsort/malloc.
         "libm 10000000" "strtod 600000" "sortalloc 200000 5")
fi
# native-clang is a second native build (clang -O2): the wasm goes through clang's optimiser
# before wasm2c and gcc, so against gcc alone a ratio can reflect the compilers, not the runtime.
RUNTIMES=(native native-clang kernless node)

# run_one RUNTIME NAME ARGS...: one timed run; sets T_SEC/T_RC and T_CPU (user + system
# seconds of the process and the children it waited for: the process backend's sandbox, the KVM
# vCPU thread's guest time, node's compiler and GC threads); output in $W/runs/NAME.RUNTIME.out.
# CPU time is what a run costs the machine, and it moves far less than wall time when other
# work shares the cores.
run_one() {
  local rt=$1 name=$2 out err cpu
  shift 2
  out=$W/runs/$name.$rt.out
  err=$W/runs/$name.$rt.err
  cpu=$W/runs/$name.$rt.cpu
  local tm=(/usr/bin/time -q -f '%U %S' -o "$cpu")
  case $rt in
    native)   timed "$out" "$err" "${tm[@]}" "$W/bin/$name" "$@" ;;
    native-clang) timed "$out" "$err" "${tm[@]}" "$W/bin/$name.clang" "$@" ;;
    kernless) timed "$out" "$err" "${tm[@]}" "$KL" run --isolation "$BENCH_ISOLATION" "$W/bin/$name.wasm" "$@" ;;
    node)     timed "$out" "$err" "${tm[@]}" "${NODE_WASI[@]}" "$W/bin/$name.wasm" "$@" ;;
  esac
  T_CPU=$(awk 'NF == 2 { printf "%.6f", $1 + $2 }' "$cpu" 2>/dev/null)
}

fail=0
declare -A BAD   # "name.runtime" -> why its numbers are not reported
for spec in "${PROGS[@]}"; do
  read -r -a words <<<"$spec"
  name=${words[0]}
  args=("${words[@]:1}")
  src=$ROOT/bench/compute/$name.c
  if ! native_cc "$src" "$W/bin/$name" 2>"$W/bin/$name.log" ||
     ! clang -O2 "$src" -o "$W/bin/$name.clang" -lm 2>>"$W/bin/$name.log" ||
     ! wasm_cc "$src" "$W/bin/$name.wasm" 2>>"$W/bin/$name.log"; then
    blog "compute: $name does not build: $(head -c 300 "$W/bin/$name.log")"
    BAD[$name.native]="does not build"
    fail=1
    continue
  fi
  # Warm-up: file cache for all three, and kernless's compile into its image cache.
  blog "compute: $name: warm-up (kernless compiles it into its cache now)"
  for rt in "${RUNTIMES[@]}"; do
    run_one "$rt" "$name" "${args[@]}"
    cp "$W/runs/$name.$rt.out" "$W/runs/$name.$rt.first"
    if [ "$rt" = native ]; then
      cp "$W/runs/$name.native.out" "$W/runs/$name.expected"
      [ "$T_RC" -eq 0 ] || { BAD[$name.native]="native exit $T_RC"; fail=1; }
    fi
  done
  [ -n "${BAD[$name.native]:-}" ] && continue
  for ((r = 1; r <= RUNS; r++)); do
    for rt in "${RUNTIMES[@]}"; do
      [ -n "${BAD[$name.$rt]:-}" ] && continue
      run_one "$rt" "$name" "${args[@]}"
      if [ "$T_RC" -ne 0 ]; then
        BAD[$name.$rt]="exit status $T_RC: $(head -c 200 "$W/runs/$name.$rt.err" | tr '\n|' '  ')"
      elif ! cmp -s "$W/runs/$name.$rt.out" "$W/runs/$name.expected"; then
        BAD[$name.$rt]="wrong output (differs from the native run)"
      else
        echo "$T_SEC" >>"$W/times/$name.$rt"
        [ -n "$T_CPU" ] && echo "$T_CPU" >>"$W/times/$name.$rt.cpu"
        continue
      fi
      blog "compute: $name under $rt: ${BAD[$name.$rt]}"
      fail=1
    done
  done
  blog "compute: $name: native $(median "$W/times/$name.native" 2>/dev/null) s," \
       "kernless $(median "$W/times/$name.kernless" 2>/dev/null) s, node $(median "$W/times/$name.node" 2>/dev/null) s"
done

# ---- report ----------------------------------------------------------------
# cell NAME RT: "median (min-max)" in seconds, or the reason there is no number.
cell() {
  local f=$W/times/$1.$2
  if [ -n "${BAD[$1.$2]:-}" ]; then echo "**${BAD[$1.$2]}**"; return; fi
  [ -s "$f" ] || { echo "n/a"; return; }
  stats "$f" | awk '{ printf "%.3f (%.3f–%.3f)", $2, $3, $4 }'
}
# cpu_table: the same runs in CPU seconds (user + system, children included), median per runtime.
cpu_table() {
  local spec words name nm km nom kr nr kc=() nc=() slower=()
  printf '**CPU time** of the same runs (user + system seconds of the whole process tree, median; '
  printf 'what each run cost the machine, steadier than wall time on a shared machine):\n\n'
  printf '| program | native CPU s | kernless CPU s | kernless / native | node CPU s | node / native |\n'
  printf '|---|---|---|---|---|---|\n'
  for spec in "${PROGS[@]}"; do
    read -r -a words <<<"$spec"
    name=${words[0]}
    nm=""; km=""; nom=""
    [ -z "${BAD[$name.native]:-}" ] && [ -s "$W/times/$name.native.cpu" ] && nm=$(median "$W/times/$name.native.cpu")
    [ -z "${BAD[$name.kernless]:-}" ] && [ -s "$W/times/$name.kernless.cpu" ] && km=$(median "$W/times/$name.kernless.cpu")
    [ -z "${BAD[$name.node]:-}" ] && [ -s "$W/times/$name.node.cpu" ] && nom=$(median "$W/times/$name.node.cpu")
    kr=$(ratio "$km" "$nm"); nr=$(ratio "$nom" "$nm")
    kc+=("$kr"); nc+=("$nr")
    awk -v k="$kr" -v n="$nr" 'BEGIN { exit !(k != "n/a" && n != "n/a" && k + 0 > n + 0) }' && slower+=("$name")
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$(fmt 1 2 "$nm")" "$(fmt 1 2 "$km")" "$kr" "$(fmt 1 2 "$nom")" "$nr"
  done
  printf '| **geometric mean** | | | **%s** | | **%s** |\n\n' "$(geomean "${kc[@]}")" "$(geomean "${nc[@]}")"
  printf 'In CPU time: kernless %sx native (geometric mean); slower than node: %s.\n\n' \
    "$(geomean "${kc[@]}")" "${slower[*]:-none}"
}
kratios=(); nratios=(); kcratios=()
: >"$W/ratios.dat"
{
  printf '## compute: CPU-bound programs, native vs kernless vs node (%s)\n\n' "$BENCH_TITLE"
  section_provenance
  printf 'Each program is the project'"'"'s own C (`bench/compute/`), built with `gcc -O2` (native) and '
  printf '`clang --target=wasm32-wasi -O2` (wasm, no SIMD). kernless runs the wasm with `kernless run` '
  printf 'from its image cache (`--opt 2`, the default), after a warm-up run; node 20 runs the same wasm with its '
  printf 'built-in WASI (`bench/node-wasi.mjs`). Times are wall-clock seconds of the whole process, '
  printf 'median (min–max) over %s runs per runtime, interleaved. Ratio = median / native median (lower is better). ' "$RUNS"
  printf 'Every run'"'"'s output was compared with the native output; a mismatch would show instead of a ratio. '
  printf 'The last two columns are a second native build with `clang -O2`: the wasm passes through clang'"'"'s optimiser before wasm2c and gcc, '
  printf 'so where gcc and clang differ natively, the ratio to native clang is the fairer measure of what the runtime costs.\n\n'
  printf '| program | args | native s | kernless s | kernless / native | node s | node / native | native clang -O2 s | kernless / native clang |\n'
  printf '|---|---|---|---|---|---|---|---|---|\n'
  for spec in "${PROGS[@]}"; do
    read -r -a words <<<"$spec"
    name=${words[0]}
    nm=$(median "$W/times/$name.native" 2>/dev/null)
    km=""; nom=""
    [ -z "${BAD[$name.kernless]:-}" ] && [ -s "$W/times/$name.kernless" ] && km=$(median "$W/times/$name.kernless")
    [ -z "${BAD[$name.node]:-}" ] && [ -s "$W/times/$name.node" ] && nom=$(median "$W/times/$name.node")
    cm=""
    [ -z "${BAD[$name.native-clang]:-}" ] && [ -s "$W/times/$name.native-clang" ] && cm=$(median "$W/times/$name.native-clang")
    kr=$(ratio "$km" "$nm"); nr=$(ratio "$nom" "$nm"); kc=$(ratio "$km" "$cm"); cr=$(ratio "$cm" "$nm")
    [ -n "${BAD[$name.native]:-}" ] && { kr=n/a; nr=n/a; cr=n/a; }
    kratios+=("$kr"); nratios+=("$nr"); kcratios+=("$kc")
    echo "$name $kr $nr $cr" | sed 's|n/a|NaN|g' >>"$W/ratios.dat"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "${words[*]:1}" "$(cell "$name" native)" \
      "$(cell "$name" kernless)" "$kr" "$(cell "$name" node)" "$nr" "$(cell "$name" native-clang)" "$kc"
  done
  kg=$(geomean "${kratios[@]}"); ng=$(geomean "${nratios[@]}"); kcg=$(geomean "${kcratios[@]}")
  echo "geomean $kg $ng $(geomean "$(awk '$1 != "geomean" { print $4 }' "$W/ratios.dat")")" | sed 's|n/a|NaN|g' >>"$W/ratios.dat"
  printf '| **geometric mean** | | | | **%s** | | **%s** | | **%s** |\n\n' "$kg" "$ng" "$kcg"
  goal=$(awk -v g="$kg" 'BEGIN { if (g == "n/a") print "not measured"; else if (g <= 1.05) print "met"; else print "**not met**" }')
  printf 'Goal: kernless within 1.05x of native (geometric mean): %s (%sx against gcc -O2; %sx against clang -O2).' "$goal" "$kg" "$kcg"
  # Issue 22's second goal: no program slower under kernless than under node.
  slower=$(awk '$1 != "geomean" && $2 != "NaN" && $3 != "NaN" && $2 > $3 { printf "%s%s (%.2fx vs node %.2fx)", s, $1, $2, $3; s = ", " }' "$W/ratios.dat")
  printf ' Slower than node: %s.' "${slower:-none}"
  printf ' Worst program: %s.\n\n' "$(awk '$1 != "geomean" && $2 != "NaN" { if ($2 > m) { m = $2; n = $1 } } END { if (n) printf "%s at %.2fx", n, m; else print "n/a" }' "$W/ratios.dat")"
  printf '![ratio to native per program](plots/compute-ratio-'"$BENCH_TAG"'.png)\n\n'
  cpu_table
} >"$RESULTS_DIR/compute-$BENCH_TAG.md"

plot_png "$PLOTS_DIR/compute-ratio-$BENCH_TAG.png" <<EOF
set title "compute: run time relative to native gcc -O2 (median of $RUNS runs; lower is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "time / native time"
set yrange [0:*]
set xtics rotate by -30
set key inside left top
set arrow from graph 0, first 1.0 to graph 1, first 1.0 nohead lw 2 lc rgb "black"
set arrow from graph 0, first 1.05 to graph 1, first 1.05 nohead dt 2 lw 1.5 lc rgb "#aa0000"
set label "1.05x goal" at graph 0.01, first 1.05 left offset 0,0.7 tc rgb "#aa0000"
plot "$W/ratios.dat" using 2:xtic(1) title "kernless run" lc rgb "#1f77b4", \
     "" using 3 title "node 20 WASI" lc rgb "#ff7f0e", \
     "" using 4 title "native clang -O2" lc rgb "#999999"
EOF
exit $fail
