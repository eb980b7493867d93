# lib.sh - shared helpers for the benchmark scripts: timing, statistics, report fragments, plots.
#
# Sourced by bench/run.sh and each bench/<name>.sh. Expects ROOT (repo root), BUILD (absolute build
# dir) and KL (the kernless binary); run.sh exports them. Statistics are computed with sort + awk
# from files holding one number per line, so every figure in RESULTS.md can be traced to raw data.

# ---- logging ---------------------------------------------------------------
# Progress goes to stderr so a benchmark's stdout stays free for data.
blog() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- timing ----------------------------------------------------------------
# timed OUT ERR CMD...: run CMD with stdout to OUT and stderr to ERR (both may be /dev/null).
# Sets T_SEC (wall seconds, from bash's EPOCHREALTIME: no extra process is forked to read the
# clock, so the harness adds only its own fork+exec, the same for every runtime) and T_RC.
timed() {
  local out=$1 err=$2 t0 t1
  shift 2
  t0=$EPOCHREALTIME
  "$@" >"$out" 2>"$err"
  T_RC=$?
  t1=$EPOCHREALTIME
  T_SEC=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
}

# ---- statistics (one number per line in a file) -----------------------------
# stats FILE: prints "n median min max" (median averages the two middle values of an even count).
stats() {
  sort -g "$1" | awk '{ v[NR] = $1 }
    END {
      if (NR == 0) { print "0 nan nan nan"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%d %.9g %.9g %.9g\n", NR, m, v[1], v[NR]
    }'
}
median() { stats "$1" | awk '{ print $2 }'; }
# pctl FILE P: the P-th percentile by nearest rank (P in 0..100).
pctl() {
  sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 }
    END {
      if (NR == 0) { print "nan"; exit }
      r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
      printf "%.9g\n", v[r]
    }'
}
# ratio A B: A/B with two decimals; "n/a" when either is missing.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "" || b == "" || a == "nan" || b == "nan" || b + 0 == 0) print "n/a"
    else printf "%.2f\n", a / b }'
}
# geomean X...: geometric mean of the numeric arguments (others are skipped).
geomean() {
  printf '%s\n' "$@" | awk '$1 ~ /^[0-9.eE+-]+$/ && $1 > 0 { s += log($1); n++ }
    END { if (n) printf "%.2f\n", exp(s / n); else print "n/a" }'
}
# fmt SCALE DIGITS X: X*SCALE printed with DIGITS decimals (e.g. fmt 1000 1 0.0123 -> 12.3).
fmt() { awk -v s="$1" -v d="$2" -v x="$3" 'BEGIN {
  if (x == "" || x == "nan") print "n/a"; else printf "%.*f\n", d, x * s }'; }

# ---- provenance ------------------------------------------------------------
# The commit, marked -dirty when the tree has uncommitted changes (then the figures belong to
# code that no commit holds, and the report says so).
bench_commit() {
  local c
  c=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null) || { echo "unknown (not a git tree)"; return; }
  if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    c="$c-dirty"
  fi
  echo "$c"
}
bench_date() { date -u '+%Y-%m-%d %H:%M UTC'; }
# When, and under what load, the benchmark sourcing this file started (its section says both).
BENCH_T0_DATE=$(date -u '+%Y-%m-%d %H:%M')
BENCH_T0_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# One line under each section title: when and at which commit these figures were measured.
# Sections are kept from earlier runs when only one benchmark runs (B=name), so each carries
# its own provenance.
section_provenance() {
  printf '_Measured %s to %s at commit `%s` on %s (%s cores), **%s** (`--isolation %s`); load average at start: %s, at end: %s._\n\n' \
    "$BENCH_T0_DATE" "$(date -u '+%H:%M UTC')" "$(bench_commit)" "$(cpu_model)" "$(nproc)" "$BENCH_TITLE" "$BENCH_ISOLATION" \
    "$BENCH_T0_LOAD" "$(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "$BENCH_TAG" = kvm-emulated ]; then
    printf '**Emulated.** Every figure in this section, the baselines included, was measured inside a QEMU TCG machine (scripts/kvm-vm.sh, %s) whose Debian kernel runs KVM on emulated AMD SVM: a nested guest under software emulation. The absolute numbers say nothing about real KVM; only the ratios between rows of this one run (kernless against native, node or nginx measured beside it) tell something.\n\n' \
      "$(uname -r)"
  fi
  if [ "${QUICK:-0}" = 1 ]; then
    printf '**QUICK=1: tiny sizes and few runs, to check the harness only. These figures mean nothing; run `make bench` without QUICK.**\n\n'
  fi
}
cpu_model() { awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo; }

# ---- packages --------------------------------------------------------------
# need_pkgs PKG...: apt-get install the missing ones (bench only: not needed by make / make test).
need_pkgs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  blog "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    blog "error: need root to install ${missing[*]}"
    return 1
  fi
  # Another apt may be running on a shared machine: wait for its lock instead of failing.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
    --no-install-recommends "${missing[@]}" >/dev/null
}

# ---- isolation backend -------------------------------------------------------
# BENCH_ISOLATION: the backend every kernless command in the benchmarks gets with --isolation
# (kvm or process). Unset: the one `--isolation auto` picks on this machine, as `run -v` names it
# (it prints the line before it opens the module, so /dev/null does). Each section states it in
# its title, and its results file and plots carry it in their names (results/<name>-<backend>.md),
# so the backends keep their own rows side by side in RESULTS.md.
auto_isolation() {
  "$KL" run -v /dev/null 2>&1 | sed -n 's/^kernless: isolation: \([a-z]*\).*/\1/p' | head -n 1
}
if [ -z "${BENCH_ISOLATION:-}" ] && [ -n "${KL:-}" ]; then
  BENCH_ISOLATION=$(auto_isolation)
fi
# With no binary yet, leave it unset: the caller reports the missing binary itself.
if [ -n "${BENCH_ISOLATION:-}" ] || [ -x "${KL:-}" ]; then
  case "${BENCH_ISOLATION:-}" in
    kvm|process) export BENCH_ISOLATION ;;
    *) printf 'bench: BENCH_ISOLATION must be kvm or process (got "%s"; auto could not be resolved)\n' \
         "${BENCH_ISOLATION:-}" >&2; exit 2 ;;
  esac
fi
# BENCH_TAG names a section's results file and plots; BENCH_TITLE goes in its title. Inside the
# emulated machine of scripts/kvm-vm.sh (it sets KERNLESS_KVM_VM=1) the KVM rows get their own
# tag, kvm-emulated, so they never replace rows measured on real KVM, and their title says that
# the whole run (baselines included) ran under QEMU's software emulation.
if [ "${BENCH_ISOLATION:-}" = kvm ] && [ "${KERNLESS_KVM_VM:-0}" = 1 ]; then
  BENCH_TAG=kvm-emulated
  BENCH_TITLE="kvm backend, EMULATED in QEMU TCG"
else
  BENCH_TAG=${BENCH_ISOLATION:-}
  BENCH_TITLE="${BENCH_ISOLATION:-} backend"
fi
export BENCH_TAG BENCH_TITLE

# ---- building the programs -------------------------------------------------
# wasm_cc SRC OUT: the wasm32-wasi build the issue fixes (no SIMD flags).
wasm_cc() { clang --target=wasm32-wasi -O2 "$1" -o "$2" -Wl,--strip-debug; }
# native_cc SRC OUT: the native baseline, gcc -O2.
native_cc() { gcc -O2 "$1" -o "$2" -lm; }

# The node baseline: node's built-in WASI, its experimental warning silenced (node >= 20.11 has
# --disable-warning; an older node gets --no-warnings, which silences all warnings).
if node --disable-warning=ExperimentalWarning -e 0 >/dev/null 2>&1; then
  NODE_WASI=(node --experimental-wasi-unstable-preview1 --disable-warning=ExperimentalWarning "$ROOT/bench/node-wasi.mjs")
else
  NODE_WASI=(node --experimental-wasi-unstable-preview1 --no-warnings "$ROOT/bench/node-wasi.mjs")
fi

# ---- server availability ----------------------------------------------------
# kl_serve_reason: prints why `kernless serve` cannot be benchmarked yet, or nothing if it can.
kl_serve_reason() {
  if ! "$KL" --help 2>/dev/null | grep -qw serve; then
    echo "\`kernless serve\` is not a command of this build (\`kernless --help\` lists no serve)"
  elif ! "$KL" --help 2>/dev/null | grep -qw deploy; then
    echo "\`kernless deploy\` is not a command of this build"
  fi
}

# ---- report fragments --------------------------------------------------------
# not_available NAME TITLE REASON: the section a benchmark writes when it cannot run yet, so the
# report shows a clear gap rather than a missing or made-up number.
not_available() {
  {
    printf '## %s (%s)\n\n' "$2" "$BENCH_TITLE"
    section_provenance
    printf '| benchmark | status |\n|---|---|\n| %s | not available yet: %s |\n\n' "$1" "$3"
  } >"$RESULTS_DIR/$1-$BENCH_TAG.md"
}

# ---- plots -------------------------------------------------------------------
# plot_png OUT.png < gnuplot-commands: common terminal settings, then the caller's script.
plot_png() {
  local out=$1
  { printf 'set terminal pngcairo size 960,560 font "DejaVu Sans,11" noenhanced\n'
    printf 'set output "%s"\n' "$out"
    printf 'set grid\nset key outside right top\n'
    cat
  } | gnuplot 2>"$out.log"
  if [ -s "$out.log" ] || [ ! -s "$out" ]; then
    blog "plot $out: $(head -c 300 "$out.log")"
  else
    rm -f "$out.log"
  fi
}

# kvm_desc: what backs /dev/kvm (PVM on these machines: no VMX/SVM flag, shadow paging).
kvm_desc() {
  local flags
  [ -e /dev/kvm ] || { echo "no /dev/kvm"; return; }
  flags=$(grep -m1 -owE 'vmx|svm' /proc/cpuinfo)
  if [ -n "$flags" ]; then echo "/dev/kvm, hardware virtualisation ($flags)"
  else echo "/dev/kvm without vmx/svm in /proc/cpuinfo (a software backend such as PVM: guest ring 0 and exits are slow)"; fi
}
