#!/usr/bin/env bash
# compile.sh - benchmark 2: `kernless compile` (wasm2c + cc + link) time and peak memory per MB of wasm, per optimisation level.
#
# Modules: hello, the compute programs, and two generated programs with many functions
# (bench/compile/genbig.c) for the size scaling. Configurations: --opt 0/1/2 with gcc (the default
# compiler) and --opt 0/2 with KERNLESS_CC=clang. `kernless compile` never reads the image cache;
# XDG_CACHE_HOME still points at an empty folder so nothing is shared with other runs.
# Peak memory is /usr/bin/time's %M: the largest resident set of kernless and every process it
# waited for (wasm2c, cc1, ld), which is the compile step's real memory high-water mark.
set -u
. "$(dirname "$0")/lib.sh"

REPS=${COMPILE_REPS:-3}
BIG_REPS=${COMPILE_BIG_REPS:-2}      # for modules over 256 KiB, whose gcc -O2 compile is long
RUNTIME=${COMPILE_RUNTIME:-1}        # also time the compute programs' images once per config
W=$OUT_DIR/compile
rm -rf "$W"
mkdir -p "$W/src" "$W/bin" "$W/img" "$W/t" "$W/cache" "$W/log"
export XDG_CACHE_HOME=$W/cache

CONFIGS=("gcc-O0" "gcc-O1" "gcc-O2" "clang-O0" "clang-O2")
if [ "${QUICK:-0}" = 1 ]; then
  GEN=(60 200); REPS=1; BIG_REPS=1
  COMPUTE=(nbody json)
else
  GEN=(250 1000)
  # Four of the compute programs: they are all 30-45 KB, so more add time, not information.
  COMPUTE=(nbody sha256 json btree)
fi
# Arguments for the correctness check of every image (small: the check is about the answer).
declare -A CHECK_ARGS=([nbody]="20000" [fannkuch]="8 1" [spectralnorm]="300" [mandelbrot]="400"
  [sha256]="1 1" [binarytrees]="10" [json]="500 2" [btree]="20000")
# Arguments for the run-time comparison: about 0.2 s natively, a fifth of the compute benchmark's
# sizes, because --opt 0 code runs about ten times slower and this is one run per configuration.
declare -A RUN_ARGS=([nbody]="2000000" [fannkuch]="10 1" [spectralnorm]="2000" [mandelbrot]="1800"
  [sha256]="16 3" [binarytrees]="16" [json]="12000 4" [btree]="200000")

# ---- build the modules -------------------------------------------------------
MODS=()
build() {   # build NAME SRC: native and wasm builds of one program
  if native_cc "$2" "$W/bin/$1" 2>"$W/log/$1.build" && wasm_cc "$2" "$W/bin/$1.wasm" 2>>"$W/log/$1.build"; then
    MODS+=("$1")
  else
    blog "compile: $1 does not build: $(head -c 300 "$W/log/$1.build")"
    return 1
  fi
}
fail=0
build hello "$ROOT/examples/hello/hello.c" || fail=1
for p in "${COMPUTE[@]}"; do build "$p" "$ROOT/bench/compute/$p.c" || fail=1; done
gcc -O2 "$ROOT/bench/compile/genbig.c" -o "$W/bin/genbig" || { blog "compile: genbig does not build"; exit 1; }
for n in "${GEN[@]}"; do
  "$W/bin/genbig" "$n" >"$W/src/gen$n.c"
  build "gen$n" "$W/src/gen$n.c" || fail=1
  CHECK_ARGS[gen$n]=""
done
CHECK_ARGS[hello]=""
size() { stat -c %s "$W/bin/$1.wasm"; }

# compile_one MOD CONFIG: one timed compile; appends seconds and peak KiB to $W/t/MOD.CONFIG.{s,kb}
compile_one() {
  local mod=$1 cfg=$2 cc=gcc opt
  opt=${cfg#*-O}
  [ "${cfg%%-*}" = clang ] && cc=clang
  timed /dev/null "$W/log/$mod.$cfg.err" env KERNLESS_CC="$cc" /usr/bin/time -f %M -o "$W/t/$mod.$cfg.mem" \
    "$KL" compile --opt "$opt" "$W/bin/$mod.wasm" -o "$W/img/$mod.$cfg.kimg"
  if [ "$T_RC" -ne 0 ]; then
    blog "compile: $mod with $cfg failed: $(tail -c 300 "$W/log/$mod.$cfg.err")"
    echo "compile failed (exit $T_RC)" >"$W/t/$mod.$cfg.bad"
    return 1
  fi
  echo "$T_SEC" >>"$W/t/$mod.$cfg.s"
  tail -n 1 "$W/t/$mod.$cfg.mem" >>"$W/t/$mod.$cfg.kb"
}

# Repetitions are the outer loop, so a load change on this shared machine spreads over all.
for ((r = 1; r <= REPS; r++)); do
  blog "compile: round $r of $REPS"
  for mod in "${MODS[@]}"; do
    [ "$(size "$mod")" -gt 262144 ] && [ "$r" -gt "$BIG_REPS" ] && continue
    for cfg in "${CONFIGS[@]}"; do
      [ -f "$W/t/$mod.$cfg.bad" ] && continue
      compile_one "$mod" "$cfg" || fail=1
    done
  done
done

# ---- every image must give the native answer ----------------------------------
blog "compile: checking every image against the native output"
for mod in "${MODS[@]}"; do
  read -r -a args <<<"${CHECK_ARGS[$mod]}"
  "$W/bin/$mod" "${args[@]}" >"$W/log/$mod.expected" 2>/dev/null
  for cfg in "${CONFIGS[@]}"; do
    [ -f "$W/t/$mod.$cfg.bad" ] && continue
    if ! "$KL" run --isolation "$BENCH_ISOLATION" "$W/img/$mod.$cfg.kimg" "${args[@]}" >"$W/log/$mod.$cfg.out" 2>"$W/log/$mod.$cfg.runerr" ||
       ! cmp -s "$W/log/$mod.$cfg.out" "$W/log/$mod.expected"; then
      echo "wrong output or failed run" >"$W/t/$mod.$cfg.bad"
      blog "compile: $mod compiled with $cfg gives a wrong answer: $(head -c 200 "$W/log/$mod.$cfg.runerr")"
      fail=1
    fi
  done
done

# ---- run time of the code each configuration makes (one full-size run each) --------------
if [ "$RUNTIME" = 1 ]; then
  blog "compile: one timed run of each compute program per configuration"
  for mod in "${COMPUTE[@]}"; do
    [ -x "$W/bin/$mod" ] || continue
    read -r -a args <<<"${RUN_ARGS[$mod]}"
    timed "$W/log/$mod.run.expected" /dev/null "$W/bin/$mod" "${args[@]}"
    echo "$T_SEC" >"$W/t/$mod.native.run"
    for cfg in "${CONFIGS[@]}"; do
      [ -f "$W/t/$mod.$cfg.bad" ] && continue
      timed "$W/log/$mod.$cfg.run" /dev/null "$KL" run --isolation "$BENCH_ISOLATION" "$W/img/$mod.$cfg.kimg" "${args[@]}"
      if [ "$T_RC" -eq 0 ] && cmp -s "$W/log/$mod.$cfg.run" "$W/log/$mod.run.expected"; then
        echo "$T_SEC" >"$W/t/$mod.$cfg.run"
      else
        echo "wrong output in the timed run" >"$W/t/$mod.$cfg.bad"
        fail=1
      fi
    done
  done
fi

# ---- report ------------------------------------------------------------------
label() {   # the configuration as a user selects it
  case $1 in
    gcc-O*) echo "\`--opt ${1#gcc-O}\`" ;;
    clang-O*) echo "\`KERNLESS_CC=clang --opt ${1#clang-O}\`" ;;
  esac
}
# Per config: sum of median seconds and of MB over all modules that compiled with it.
: >"$W/scaling.dat"
for mod in "${MODS[@]}"; do
  line="$(size "$mod")"
  for cfg in "${CONFIGS[@]}"; do
    if [ -f "$W/t/$mod.$cfg.bad" ] || [ ! -s "$W/t/$mod.$cfg.s" ]; then line="$line NaN NaN"
    else line="$line $(median "$W/t/$mod.$cfg.s") $(median "$W/t/$mod.$cfg.kb")"; fi
  done
  echo "$mod $line" >>"$W/scaling.dat"
done
big=${MODS[${#MODS[@]} - 1]}
{
  printf '## compile: wasm2c + C compiler time and peak memory per MB of wasm (%s)\n\n' "$BENCH_TITLE"
  section_provenance
  printf '`kernless compile [--opt N] module.wasm -o m.kimg` (validate, wasm2c, cc, link), timed as a whole; '
  printf 'peak memory is `/usr/bin/time -f %%M`, the largest resident set among kernless and the tools it ran. '
  printf 'Modules: `hello`, the compute programs, and `genN`, a generated C program with N distinct functions '
  printf '(`bench/compile/genbig.c`). Median (min–max) over %s runs (%s for modules over 256 KiB). ' "$REPS" "$BIG_REPS"
  printf 'Every image was run and its output compared with the native build'"'"'s.\n\n'
  printf '| configuration | s per MB, all modules | s per MB, %s (%s KB) | marginal s per MB | fixed cost: hello s | peak memory, max MB | compute run time / native, geomean |\n' "$big" "$(( $(size "$big") / 1000 ))"
  printf '|---|---|---|---|---|---|---|\n'
  col=3   # scaling.dat: module, size, then seconds and KiB per configuration
  for cfg in "${CONFIGS[@]}"; do
    tot=$(awk -v c="$col" '$(c) != "NaN" { s += $(c); b += $2 } END { if (b) printf "%.1f", s / (b / 1e6); else print "n/a" }' "$W/scaling.dat")
    bigs=$(awk -v c="$col" -v m="$big" '$1 == m && $(c) != "NaN" { printf "%.1f", $(c) / ($2 / 1e6) }' "$W/scaling.dat")
    slope=$(awk -v c="$col" -v a="gen${GEN[0]}" -v b="gen${GEN[1]}" '$1 == a { sa = $2; ta = $(c) } $1 == b { sb = $2; tb = $(c) }
      END { if (ta != "" && tb != "" && ta != "NaN" && tb != "NaN" && sb > sa) printf "%.1f", (tb - ta) / ((sb - sa) / 1e6); else print "n/a" }' "$W/scaling.dat")
    hs=$(awk -v c="$col" '$1 == "hello" && $(c) != "NaN" { printf "%.2f", $(c) }' "$W/scaling.dat")
    mem=$(awk -v c="$((col + 1))" '$(c) != "NaN" && $(c) > m { m = $(c) } END { printf "%.0f", m / 1024 }' "$W/scaling.dat")
    rr=()
    for mod in "${COMPUTE[@]}"; do
      [ -s "$W/t/$mod.$cfg.run" ] && [ -s "$W/t/$mod.native.run" ] &&
        rr+=("$(awk -v a="$(cat "$W/t/$mod.$cfg.run")" -v b="$(cat "$W/t/$mod.native.run")" 'BEGIN { printf "%.4f", a / b }')")
    done
    rt=$( [ "$RUNTIME" = 1 ] && geomean "${rr[@]}" || echo "not measured")
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(label "$cfg")" "$tot" "${bigs:-n/a}" "$slope" "${hs:-n/a}" "$mem" "$rt"
    col=$((col + 2))
  done
  printf '\n_s per MB, all modules_ is total median time over total size, so the fixed cost of every small module counts; '
  printf '_marginal_ is the slope between the two generated modules (%s and %s), the cost of each further MB. ' "${GEN[0]/#/gen}" "${GEN[1]/#/gen}"
  printf 'The last column is one run per compute program (about a fifth of the compute benchmark'"'"'s sizes, see `RUN_ARGS` in bench/compile.sh) of the image each configuration made, against one native run: '
  printf 'it shows what the compile time buys, not a precise ratio.\n\n'
  printf '**Compile time, seconds, median (min–max):**\n\n| module | wasm KB |'
  for cfg in "${CONFIGS[@]}"; do printf ' %s |' "$(label "$cfg")"; done
  printf '\n|---|---|'
  for cfg in "${CONFIGS[@]}"; do printf -- '---|'; done
  printf '\n'
  for mod in "${MODS[@]}"; do
    printf '| %s | %s |' "$mod" "$(awk -v b="$(size "$mod")" 'BEGIN { printf "%.1f", b / 1000 }')"
    for cfg in "${CONFIGS[@]}"; do
      if [ -f "$W/t/$mod.$cfg.bad" ]; then printf ' **%s** |' "$(cat "$W/t/$mod.$cfg.bad")"
      else stats "$W/t/$mod.$cfg.s" | awk '{ printf " %.2f (%.2f–%.2f) |", $2, $3, $4 }'; fi
    done
    printf '\n'
  done
  printf '\n**Peak memory, MB (median):**\n\n| module |'
  for cfg in "${CONFIGS[@]}"; do printf ' %s |' "$(label "$cfg")"; done
  printf '\n|---|'
  for cfg in "${CONFIGS[@]}"; do printf -- '---|'; done
  printf '\n'
  for mod in "${MODS[@]}"; do
    printf '| %s |' "$mod"
    for cfg in "${CONFIGS[@]}"; do
      if [ -s "$W/t/$mod.$cfg.kb" ]; then printf ' %s |' "$(awk -v k="$(median "$W/t/$mod.$cfg.kb")" 'BEGIN { printf "%.0f", k / 1024 }')"
      else printf ' n/a |'; fi
    done
    printf '\n'
  done
  printf '\n![compile time against module size](plots/compile-time-'"$BENCH_TAG"'.png)\n![peak memory against module size](plots/compile-memory-'"$BENCH_TAG"'.png)\n\n'
} >"$RESULTS_DIR/compile-$BENCH_TAG.md"

# One line per configuration through the modules, sorted by size (log-log: sizes span 20x).
sort -k2,2n "$W/scaling.dat" >"$W/scaling.sorted"
COLORS=("#9467bd" "#2ca02c" "#1f77b4" "#ff7f0e" "#d62728")
plot_cmd() {   # plot_cmd FIRSTCOL DIVISOR: a plot line per configuration (its columns are 2 apart)
  local c=$1 sep="plot" i=0
  for cfg in "${CONFIGS[@]}"; do
    printf '%s "%s" using ($2/1000):($%s/%s) with linespoints lw 2 pt %d lc rgb "%s" title "%s"' \
      "$sep" "$W/scaling.sorted" "$c" "$2" $((5 + i)) "${COLORS[i]}" "$(label "$cfg" | tr -d '`')"
    sep=", \\"$'\n'"    "
    c=$((c + 2)); i=$((i + 1))
  done
  printf '\n'
}
plot_png "$PLOTS_DIR/compile-time-$BENCH_TAG.png" <<EOF
set title "compile: kernless compile time against wasm size (median)"
set logscale xy
set xlabel "wasm module size, KB"
set ylabel "compile time, s"
set key inside left top
$(plot_cmd 3 1)
EOF
plot_png "$PLOTS_DIR/compile-memory-$BENCH_TAG.png" <<EOF
set title "compile: peak memory (kernless and the tools it runs) against wasm size"
set logscale x
set xlabel "wasm module size, KB"
set ylabel "peak resident memory, MB"
set yrange [0:*]
set key inside left top
$(plot_cmd 4 1024)
EOF
exit $fail
