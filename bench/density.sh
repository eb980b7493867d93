#!/usr/bin/env bash
# density.sh - benchmark 6: memory of kernless serve per deployed function and per concurrently running VM.
#
# Deployed functions: the server's resident memory before and after deploying (and calling once)
# many functions. Running VMs: K requests at once to bench/density/spin.c, which stays busy for
# a while so that K VMs are live together, and the server's resident memory sampled meanwhile.
# Each K gets a fresh server, because memory a server has once used stays resident and would
# hide the next level's growth. RSS is the server process's (guest memory is mapped into it);
# kernel memory KVM keeps per VM (e.g. PVM's shadow page tables) is not in it, and the machine
# is shared, so no machine-wide figure would be clean. After each level, the VMs the server keeps
# warm are measured too.
set -u
. "$(dirname "$0")/lib.sh"
W=$OUT_DIR/density
rm -rf "$W"
mkdir -p "$W"
. "$ROOT/bench/http/common.sh"
trap http_cleanup EXIT

NFUNCS=${DENSITY_FUNCS:-50}
LEVELS=(${DENSITY_LEVELS:-1 8 32})
SPIN_MS=${DENSITY_SPIN_MS:-2500}
BIG_KB=${DENSITY_BIG_KB:-4096}     # the working set of the second series
[ "${QUICK:-0}" = 1 ] && { NFUNCS=5; LEVELS=(1 4); SPIN_MS=1200; }
# The default caps (--max-per-fn 16) would queue part of the largest level: lift them so that all
# K requests of one function really hold a VM at the same time.
SERVE_ARGS="--max-per-fn 256 --max-running 512 --queue 1024"

if ! setup_kernless_serve; then
  not_available density "density: memory per function and per running VM" "$SERVE_ERR"
  exit 0
fi
wasm_cc "$ROOT/bench/density/spin.c" "$W/spin.wasm" 2>"$W/build.log" || { blog "density: spin.c does not build"; exit 1; }

# The server and every process under it: on the process backend each sandbox is a child
# process holding its guest's memory, so the server's own RSS alone would miss it.
# One ps for the whole table (a ps per process would slow the sampling below enough to stretch
# the measured elapsed time of a level).
tree_pids() {
  ps -e -o pid=,ppid= | awk -v root="$SERVE_PID" '
    { kids[$2] = kids[$2] " " $1 }
    END { todo[1] = root; n = 1; i = 1
      while (i <= n) { p = todo[i++]; printf "%s ", p
        c = split(kids[p], k, " "); for (j = 1; j <= c; j++) todo[++n] = k[j] } }'
}
# rss_kb: VmRSS summed over the server and its descendants (pages they share count once per
# process); pss_kb: their proportional set size summed (shared pages split, so no double count).
# (read with bash's own read: no process per sandbox, so sampling stays quick)
sum_field() {   # sum_field FILE-SUFFIX FIELD: FIELD's kB summed over the tree's /proc/PID/FILE
  local p k v _ s=0
  for p in $(tree_pids); do
    while read -r k v _; do
      [ "$k" = "$2" ] && { s=$((s + v)); break; }
    done 2>/dev/null <"/proc/$p/$1"
  done
  echo "$s"
}
rss_kb() { sum_field status VmRSS:; }
pss_kb() { sum_field smaps_rollup Pss:; }
nproc_tree() { tree_pids | wc -w; }
deploy() {
  KERNLESS_DATA=$W/serve/data KERNLESS_URL=$SERVE_ADMIN_URL "$KL" deploy "$@" >>"$W/deploy.log" 2>&1
}
# fresh_server: a new server with spin deployed but not yet called (a first call would leave its
# VM's memory resident and hide one VM from the count); sets RSS_IDLE.
fresh_server() {
  stop_kernless_serve
  setup_kernless_serve || { blog "density: $SERVE_ERR"; return 1; }
  deploy spin "$W/spin.wasm" --route /spin || { blog "density: deploy spin failed"; return 1; }
  check_body "$SERVE_URL/hello" || { blog "density: hello does not answer"; return 1; }
  sleep 1
  RSS_IDLE=$(rss_kb)
  PSS_IDLE=$(pss_kb)
  NPROC_IDLE=$(nproc_tree)
}

fail=0
# ---- deployed functions -------------------------------------------------------
# The same module under many names: its compile is cached, so this measures what the server
# keeps per function, not compile output.
fresh_server || exit 1
rss0=$RSS_IDLE
blog "density: deploying $NFUNCS functions"
ok=0
for ((i = 1; i <= NFUNCS; i++)); do
  deploy "f$i" "$W/serve/hello.wasm" --route "/f$i" && check_body "$SERVE_URL/f$i" && ok=$((ok + 1))
done
[ "$ok" -eq "$NFUNCS" ] || { blog "density: only $ok of $NFUNCS functions deployed and answered"; fail=1; }
sleep 1
rss1=$(rss_kb)
disk=$(du -sk "$W/serve/data" | awk '{ print $1 }')

# ---- concurrent VMs ---------------------------------------------------------------
# spin K KB: K requests at once; prints "peak_rss_kb after_rss_kb answered elapsed_s".
spin() {
  local k=$1 kb=$2 i peak=0 r pids=() t0 secs
  t0=$EPOCHREALTIME
  for ((i = 1; i <= k; i++)); do
    curl -s --max-time $(( SPIN_MS * k / 1000 + 30 )) "$SERVE_URL/spin?ms=$SPIN_MS&kb=$kb" >"$W/spin.$k.$kb.$i" &
    pids+=($!)
  done
  # Sample through the middle of the busy period, when all K should be live.
  sleep "$(awk -v m="$SPIN_MS" 'BEGIN { print m / 4000 }')"
  for i in 1 2 3 4 5 6; do
    r=$(rss_kb)
    [ "$r" -gt "$peak" ] && peak=$r
    sleep "$(awk -v m="$SPIN_MS" 'BEGIN { print m / 12000 }')"
  done
  for i in "${pids[@]}"; do wait "$i"; done
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
  sleep 0.5   # the VMs stay warm for the next requests (until --idle-ms): what do they keep?
  echo "$peak $(rss_kb) $(cat "$W"/spin."$k"."$kb".* | grep -c "^$HELLO_BODY\$") $secs $(pss_kb) $(nproc_tree)"
}
: >"$W/vms.dat"
for kb in 0 "$BIG_KB"; do
  for k in "${LEVELS[@]}"; do
    blog "density: $k VMs at once, $kb KiB working set each (fresh server)"
    fresh_server || { fail=1; continue; }
    read -r peak after answered secs pss_after nprocs < <(spin "$k" "$kb")
    [ "$answered" -eq "$k" ] || { blog "density: only $answered of $k spin requests answered"; fail=1; }
    echo "$kb $k $RSS_IDLE $peak $answered $secs $after $PSS_IDLE $pss_after $nprocs $NPROC_IDLE" >>"$W/vms.dat"
  done
done

# ---- report ------------------------------------------------------------------
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
  printf '## density: memory per function and per running VM (%s)\n\n' "$BENCH_TITLE"
  section_provenance
  printf 'Resident memory (`VmRSS`) of `kernless serve` and every process under it (summed); single measurements, not medians '
  printf '(the differences are large against the noise). '
  if [ "$BENCH_ISOLATION" = kvm ]; then
    printf 'Guest memory is mapped into the server, so it is in RSS; '
    printf 'KVM'"'"'s own kernel memory per VM (shadow page tables under PVM) is not.\n\n'
  else
    printf 'On the process backend each sandbox is a process of its own under the server, holding its guest'"'"'s memory: '
    printf 'the figures add the sandboxes'"'"' RSS to the server'"'"'s. A page two processes share (the runtime'"'"'s code, shared mappings) '
    printf 'counts once per process in that sum, so the PSS columns (`/proc/PID/smaps_rollup`, shared pages split between their users) give the figure without double counting.\n\n'
  fi
  printf '| what | figure |\n|---|---|\n'
  printf '| server RSS with two functions deployed, one called once, idle | %s MB |\n' "$(mb "$rss0")"
  printf '| after deploying and calling %s more functions (same module) | %s MB, **%s KB per function** |\n' \
    "$NFUNCS" "$(mb "$rss1")" "$(awk -v a="$rss0" -v b="$rss1" -v n="$NFUNCS" 'BEGIN { printf "%.0f", (b - a) / n }')"
  printf '| data folder on disk (registry, images, modules) | %s MB |\n\n' "$(mb "$disk")"
  printf '**Concurrent running VMs** (K requests at once, each busy %s ms of wall time; a fresh server for each row; RSS sampled while they run). ' "$SPIN_MS"
  printf '_Waves_ = elapsed / busy time: about 1 means all K really ran at once; about 2 or more means the server queued some, and the per-VM figures divide by K / (waves rounded).\n\n'
  printf '| requests at once | working set each | answered | waves | RSS idle MB | RSS peak MB | RSS per live VM MB | RSS after, VMs kept warm MB | warm VMs kept | per warm VM MB | PSS per warm VM MB |\n|---|---|---|---|---|---|---|---|---|---|---|\n'
  while read -r kb k base peak answered secs after pbase pafter nprocs nidle; do
    waves=$(awk -v s="$secs" -v m="$SPIN_MS" 'BEGIN { printf "%.1f", s / (m / 1000) }')
    # Whole waves: a level that ran at once but started slowly on a busy machine is still one wave.
    live=$(awk -v k="$k" -v w="$waves" 'BEGIN { n = int(w + 0.5); print k / (n < 1 ? 1 : n) }')
    # Warm VMs kept after the level: on the process backend each is a sandbox process, so the
    # processes the level added count them (waves do not matter then: all K ended up warm);
    # on kvm, the live VMs as before.
    warm=$live
    [ "$BENCH_ISOLATION" = process ] && [ -n "${nidle:-}" ] && [ "$((nprocs - nidle))" -gt 0 ] && warm=$((nprocs - nidle))
    printf '| %s | %s KiB | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$k" "$kb" "$answered" "$waves" "$(mb "$base")" "$(mb "$peak")" \
      "$(awk -v a="$base" -v b="$peak" -v n="$live" 'BEGIN { printf "%.2f", (b - a) / n / 1024 }')" "$(mb "$after")" \
      "$warm" "$(awk -v a="$base" -v b="$after" -v n="$warm" 'BEGIN { printf "%.2f", (b - a) / n / 1024 }')" \
      "$(awk -v a="$pbase" -v b="$pafter" -v n="$warm" 'BEGIN { printf "%.2f", (b - a) / n / 1024 }')"
  done <"$W/vms.dat"
  printf '\nThe server is started with `%s` so that no request of a level waits for a VM. ' "$SERVE_ARGS"
  printf '_RSS after_ is sampled 0.5 s after the last answer: the server keeps the VMs warm for later requests (until `--idle-ms`), so this is what idle warm VMs cost (per warm VM = (RSS after − RSS idle) / warm VMs kept; on the process backend _warm VMs kept_ is the number of sandbox processes the level added, counted after it). '
  printf 'The per-function figure above includes the warm VM each called function keeps.\n\n'
  printf '![server RSS against running VMs](plots/density-vms-'"$BENCH_TAG"'.png)\n\n'
} >"$RESULTS_DIR/density-$BENCH_TAG.md"

awk -v kb=0 '$1 == kb { print $2, $4 / 1024 }' "$W/vms.dat" >"$W/small.dat"
awk -v kb="$BIG_KB" '$1 == kb { print $2, $4 / 1024 }' "$W/vms.dat" >"$W/big.dat"
plot_png "$PLOTS_DIR/density-vms-$BENCH_TAG.png" <<EOF
set title "density: kernless serve resident memory against VMs running at once"
set xlabel "VMs running at once"
set ylabel "RSS of the server and its processes, MB"
set yrange [0:*]
set key inside left top
plot "$W/small.dat" using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "hello-sized working set", \
     "$W/big.dat" using 1:2 with linespoints lw 2 pt 5 lc rgb "#d62728" title "$BIG_KB KiB working set each"
EOF
exit $fail
