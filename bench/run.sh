#!/usr/bin/env bash
# run.sh - `make bench` driver: install what the benchmarks need, run them, write bench/RESULTS.md.
#
# Usage: bench/run.sh [BUILD] [NAME...]   (make bench B=compute runs one; several may be given)
# BENCH_ISOLATION=kvm|process picks the backend every kernless command gets (--isolation);
# default: the one `auto` picks here. Sections go to bench/results/<name>-<backend>.md, so a run
# on one backend refreshes that backend's sections and keeps the other's.
# Each benchmark bench/<name>.sh writes its section to bench/results/<name>.md and its plots to
# bench/plots/. RESULTS.md is then rebuilt from every section present, so running one benchmark
# refreshes its section and keeps the others (each section states when and where it was measured).
# Nothing in RESULTS.md is typed by hand: this script and the benchmark scripts write all of it.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
BUILD=${1:-build}
shift || true
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

ALL=(compute compile tiers start request zero http density cluster lang outbound)
# B may arrive as one word with commas or spaces ("compute,start").
SEL=()
for a in "$@"; do
  for n in ${a//,/ }; do SEL+=("$n"); done
done
[ ${#SEL[@]} -eq 0 ] && SEL=("${ALL[@]}")
for n in "${SEL[@]}"; do
  if [ ! -f "$ROOT/bench/$n.sh" ]; then
    echo "bench: unknown benchmark '$n' (known: ${ALL[*]})" >&2
    exit 2
  fi
done

export ROOT BUILD
export KL=${KERNLESS_BIN:-$BUILD/kernless}
# Raw data and built programs (not committed). BENCH_OUT_DIR moves them: inside the emulated
# machine they go to its own memory, since SQLite's WAL cannot work on the 9p share of bench/.
export OUT_DIR=${BENCH_OUT_DIR:-$ROOT/bench/out}
export RESULTS_DIR=$ROOT/bench/results    # one markdown section per benchmark
export PLOTS_DIR=$ROOT/bench/plots
mkdir -p "$OUT_DIR" "$RESULTS_DIR" "$PLOTS_DIR"

if [ ! -x "$KL" ]; then
  echo "bench: no kernless binary at $KL (run make first)" >&2
  exit 1
fi
. "$ROOT/bench/lib.sh" || exit 2   # resolves and exports BENCH_ISOLATION (needs KL)
# Benchmark a private copy of the binary and its guest runtime (found next to it): a rebuild of
# BUILD while the benchmarks run (another make on this tree) must not change or break them midway.
if [ -z "${KERNLESS_BIN:-}" ]; then
  rm -rf "$OUT_DIR/kl"
  mkdir -p "$OUT_DIR/kl"
  if ! cp -a "$KL" "$OUT_DIR/kl/kernless" || ! cp -a "$BUILD/guest" "$OUT_DIR/kl/guest"; then
    echo "bench: cannot copy $KL and $BUILD/guest" >&2
    exit 1
  fi
  export KL=$OUT_DIR/kl/kernless
fi
# Packages only the benchmarks need; the build's own come from scripts/deps.sh via make.
# gnuplot-nox: gnuplot without X, it still has the pngcairo terminal.
# node is not in the list: the machine image ships node 20, and Debian's own nodejs is older.
bench_packages() {
  need_pkgs wrk nginx fcgiwrap gnuplot-nox time curl clang lld wasi-libc libclang-rt-14-dev-wasm32
}

# KVM rows on a host without /dev/kvm (issue 13): the same run, inside the emulated machine of
# scripts/kvm-vm.sh (QEMU TCG with SVM, its kernel's KVM on top). Packages are installed here
# first, since the machine sees this host's file system read-only; only bench/ is shared
# writable, so results, plots and RESULTS.md come back. lib.sh tags those sections kvm-emulated.
if [ "$BENCH_ISOLATION" = kvm ] && [ ! -e /dev/kvm ] && [ "${KERNLESS_KVM_VM:-0}" != 1 ]; then
  bench_packages || { echo "bench: cannot install the packages" >&2; exit 1; }
  blog "no /dev/kvm here: running the KVM benchmarks inside an emulated machine (scripts/kvm-vm.sh)"
  envs=(--env BENCH_ISOLATION=kvm --env BENCH_OUT_DIR=/tmp/kernless-bench-out)
  # The knobs of the benchmarks (sizes, repeats) go along; emulation is slow, so they matter there.
  for v in $(compgen -e | grep -E '^(QUICK|KERNLESS_BIN|START_|REQUEST_|INPROC_|HTTP_|COMPUTE_|DENSITY_)'); do
    envs+=(--env "$v=${!v}")
  done
  exec bash "$ROOT/scripts/kvm-vm.sh" --scratch "$ROOT/bench" --mem "${BENCH_VM_MEM:-4096}" \
    --timeout "${BENCH_VM_TIMEOUT:-5400}" "${envs[@]}" -- bash bench/run.sh "$BUILD" "${SEL[@]}"
fi
bench_packages || { echo "bench: cannot install the packages" >&2; exit 1; }

start=$(date +%s)
failed=()
for n in "${SEL[@]}"; do
  blog "=== $n ($BENCH_ISOLATION backend)"
  t0=$(date +%s)
  if ! bash "$ROOT/bench/$n.sh"; then
    failed+=("$n")
    blog "=== $n: FAILED (see messages above; its section says what went wrong)"
  fi
  blog "=== $n done in $(( $(date +%s) - t0 )) s"
done

# ---- assemble RESULTS.md ----------------------------------------------------
R=$ROOT/bench/RESULTS.md
{
  printf '# Kernless benchmarks\n\n'
  printf '_This file is written by `make bench` (bench/run.sh); do not edit it by hand. '
  printf 'Last run: %s, commit `%s`, benchmarks: %s._\n\n' "$(bench_date)" "$(bench_commit)" "${SEL[*]}"
  printf '## Machine\n\n'
  printf '| | |\n|---|---|\n'
  printf '| CPU | %s, %s cores |\n' "$(cpu_model)" "$(nproc)"
  printf '| memory | %s |\n' "$(free -h | awk '/^Mem:/ { print $2 }')"
  printf '| OS | %s, kernel %s |\n' "$(. /etc/os-release && echo "$PRETTY_NAME")" "$(uname -r)"
  printf '| KVM | %s |\n' "$(kvm_desc)"
  printf '| isolation (last run) | %s (`--isolation %s`; `auto` picks %s here) |\n' "$BENCH_ISOLATION" "$BENCH_ISOLATION" "$(auto_isolation)"
  printf '| gcc / clang | %s / %s |\n' "$(gcc -dumpfullversion)" "$(clang --version | head -1 | sed 's/.*version //; s/ .*//')"
  printf '| wasm2c | %s |\n' "$(wasm2c --version 2>/dev/null || echo n/a)"
  printf '| node | %s |\n' "$(node --version 2>/dev/null || echo n/a)"
  printf '| nginx / wrk | %s / %s |\n' "$(nginx -v 2>&1 | sed 's/.*nginx\///')" "$(wrk -v 2>&1 | head -1 | awk '{ print $2 }')"
  printf '\nMachines are noisy (this one is shared): compare the ratios, which come from baselines '
  printf 'measured in the same run, rather than absolute times across runs.\n\n'
  printf 'Each benchmark has a section per isolation backend it was run on (`BENCH_ISOLATION=kvm|process`; '
  printf 'on a host without /dev/kvm, `BENCH_ISOLATION=kvm` runs inside an emulated machine and its sections say EMULATED), '
  printf 'its title naming the backend; each section states when, at which commit and under what load it was measured.\n\n'
  for n in "${ALL[@]}"; do
    any=0
    for iso in process kvm kvm-emulated; do
      if [ -f "$RESULTS_DIR/$n-$iso.md" ]; then cat "$RESULTS_DIR/$n-$iso.md"; any=1; fi
    done
    [ $any -eq 1 ] || printf '## %s\n\nNot run yet: `make bench B=%s`.\n\n' "$n" "$n"
  done
} >"$R"
blog "wrote $R and bench/plots/ in $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  blog "failed: ${failed[*]}"
  exit 1
fi
