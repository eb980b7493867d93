#!/usr/bin/env bash
# kvm-vm.sh - run a command as root inside an emulated x86-64 machine that has /dev/kvm.
#
#   scripts/kvm-vm.sh [--timeout S] [--scratch DIR] [--mem MB] [--cpus N] [--env NAME=VALUE]... -- CMD ARGS...
#
# For hosts without /dev/kvm (DESIGN-NOTES 0A): QEMU's software emulation
# (TCG) emulates AMD SVM, so Debian's own kernel booted in it loads kvm-amd
# and /dev/kvm appears. This script boots the installed linux-image-amd64
# kernel under qemu-system-x86_64 with a tiny initramfs (busybox-static and
# the kernel modules for KVM, virtio-9p and overlayfs, built once and cached
# under build/kvm-vm/), and runs CMD there:
#
# - The host's root file system is shared read-only over virtio-9p, and CMD
#   runs chrooted into it, so it sees the same binaries, libraries and paths
#   as on the host, in the same working directory. An overlay over it keeps
#   the rest of the tree (/tmp included, whose files stay visible) writable
#   inside, in the VM's memory; those writes are thrown away. The checkout this script belongs to stays strictly
#   read-only. --scratch DIR (created if missing) is shared read-write at the
#   same path: results to keep go there.
# - CMD gets a clean environment (PATH, HOME=/root, LANG, TMPDIR=/tmp,
#   KERNLESS_KVM_VM=1, and each --env), stdin from /dev/null. Its stdout and
#   stderr stream back to this script's, and its exit status is this
#   script's. 124: the --timeout (default 900 s) ran out; 125: the VM failed
#   (the console log's tail is printed).
# - KVM_VM_CACHE overrides the cache folder, KVM_VM_KERNEL the kernel
#   version (default: the newest /boot/vmlinuz-* that has kvm-amd.ko).
#   KVM_VM_VERBOSE=1 prints the kernel console. KVM_VM_CPU sets QEMU's -cpu
#   (default max; EPYC and qemu64,+svm work too), KVM_VM_KVM_AMD the kvm-amd
#   module parameters (e.g. npt=0).
#
# Needs qemu-system-x86, linux-image-amd64 and busybox-static
# (scripts/deps.sh installs them). Works from any folder; needs no root on
# the host unless the kernel image is readable only by root (Debian's is 0644).
set -euo pipefail

SELF=$(readlink -f "$0")
ROOT=$(dirname "$(dirname "$SELF")")
# One vCPU by default: with 2 (multi-threaded TCG), a nested guest that KVM
# runs for many short requests froze the emulated kernel every few thousand
# requests (soft lockup on the vCPU in KVM_RUN, timers stopped on the other;
# `kernless run --repeat 200` of a memory-growing module, measured
# 2026-12-04); with 1 it ran 14,400 such requests clean, and faster.
TIMEOUT=900 SCRATCH= MEM=3072 CPUS=1 ENVS=()

usage() { sed -n '4p' "$SELF" | sed 's/^# *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    --scratch) SCRATCH=${2:?}; shift 2 ;;
    --mem) MEM=${2:?}; shift 2 ;;
    --cpus) CPUS=${2:?}; shift 2 ;;
    --env) case "${2:-}" in [A-Za-z_]*=*) ENVS+=("$2") ;; *) usage ;; esac; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "kvm-vm: unknown option '$1' (the command goes after --)" >&2; usage ;;
  esac
done
[ $# -gt 0 ] || usage

die() { echo "kvm-vm: $*" >&2; exit 125; }
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (scripts/deps.sh installs qemu-system-x86)"
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 \
  || die "a static /bin/busybox is needed (scripts/deps.sh installs busybox-static)"

# The kernel: Debian's linux-image-amd64, whose modules include kvm-amd.
KVER=${KVM_VM_KERNEL:-}
if [ -z "$KVER" ]; then
  for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -rV); do
    if [ -f "/lib/modules/$k/kernel/arch/x86/kvm/kvm-amd.ko" ] || [ -f "/lib/modules/$k/kernel/arch/x86/kvm/kvm-amd.ko.xz" ]; then
      KVER=$k; break
    fi
  done
fi
[ -n "$KVER" ] && [ -r "/boot/vmlinuz-$KVER" ] && [ -d "/lib/modules/$KVER" ] \
  || die "no readable /boot/vmlinuz-* with kvm-amd in /lib/modules (scripts/deps.sh installs linux-image-amd64)"
MODDIR=/lib/modules/$KVER

# The initramfs, cached by kernel version and this script's content.
CACHE=${KVM_VM_CACHE:-$ROOT/build/kvm-vm}
mkdir -p "$CACHE"
KEY=$( (echo "$KVER"; cat "$SELF"; ls -l "$BUSYBOX" "$MODDIR/modules.dep") | sha256sum | cut -c1-16)
INITRD=$CACHE/initrd-$KVER-$KEY.cpio
MODS="irqbypass kvm ccp kvm-amd virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
      9pnet 9pnet_virtio netfs fscache 9p overlay"

build_initrd() {
  local d; d=$(mktemp -d "$CACHE/initrd.XXXXXX")
  mkdir -p "$d"/{bin,dev,proc,sys,host,newroot,ctl,lib/modules}
  cp "$BUSYBOX" "$d/bin/busybox"
  # The modules in load order: each one's dependencies (modules.dep) first.
  local order=() seen=" " m path dep
  add_mod() {
    local name=$1 line p
    line=$(grep -E "(^|/)${name//[-_]/[-_]}\.ko(\.xz|\.zst|\.gz)?:" "$MODDIR/modules.dep" | head -n 1) || true
    [ -n "$line" ] || { grep -qE "/${name//[-_]/[-_]}\.ko" "$MODDIR/modules.builtin" || die "module $name not found for $KVER"; return 0; }
    p=${line%%:*}
    case "$seen" in *" $p "*) return 0 ;; esac
    seen="$seen$p "
    for dep in ${line#*:}; do add_mod "$(basename "${dep%%.ko*}")"; done
    order+=("$p")
  }
  for m in $MODS; do add_mod "$m"; done
  : >"$d/modules"
  for path in "${order[@]}"; do
    mkdir -p "$d/lib/modules/$(dirname "$path")"
    case "$path" in
      *.xz) xz -dc "$MODDIR/$path" >"$d/lib/modules/${path%.xz}"; path=${path%.xz} ;;
      *.zst) zstd -qdc "$MODDIR/$path" >"$d/lib/modules/${path%.zst}"; path=${path%.zst} ;;
      *) cp "$MODDIR/$path" "$d/lib/modules/$path" ;;
    esac
    echo "/lib/modules/$path" >>"$d/modules"
  done
  cat >"$d/init" <<'INIT'
#!/bin/busybox sh
# PID 1 of the kvm-vm.sh machine: load KVM, mount the shares, run the job, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
fail() { echo "kvm-vm-init: $*"; echo 125 >/ctl/rc 2>/dev/null; sync; poweroff -f; }
o=trans=virtio,version=9p2000.L,msize=512000
# virtio, 9p and overlay first; then the control share says how to load KVM.
for m in $(grep -v /kvm/ /modules); do insmod "$m" || echo "kvm-vm-init: insmod $m failed"; done
mount -t 9p -o $o,cache=none ctl /ctl || fail "cannot mount the control share"
. /ctl/vars
for m in $(grep /kvm/ /modules); do
  case $m in */kvm-amd.ko) p=$KVM_AMD_PARAMS ;; *) p= ;; esac
  insmod "$m" $p || echo "kvm-vm-init: insmod $m $p failed"
done
[ -c /dev/kvm ] || fail "/dev/kvm did not appear (kvm-amd: $(dmesg | grep -i -m1 svm))"
mount -t 9p -o $o,ro,cache=loose hostroot /host || fail "cannot mount the host root"
mount -t tmpfs -o size=75% upper /newroot || fail "tmpfs"
mkdir -p /newroot/u /newroot/w /newroot/r
mount -t overlay -o lowerdir=/host,upperdir=/newroot/u,workdir=/newroot/w root /newroot/r \
  || fail "overlay over the host root failed"
R=/newroot/r
mount -t proc proc $R/proc; mount -t sysfs sys $R/sys; mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm; mount -t devpts devpts $R/dev/pts; mount -t tmpfs shm $R/dev/shm
# devtmpfs lacks the fd links udev would make: bash process substitution needs /dev/fd.
ln -sf /proc/self/fd $R/dev/fd; ln -sf /proc/self/fd/0 $R/dev/stdin
ln -sf /proc/self/fd/1 $R/dev/stdout; ln -sf /proc/self/fd/2 $R/dev/stderr
mkdir -p "$R$KVM_VM_CHECKOUT" && mount --bind "/host$KVM_VM_CHECKOUT" "$R$KVM_VM_CHECKOUT" \
  || fail "cannot bind the checkout"
mkdir -p "$R$KVM_VM_SCRATCH" && mount -t 9p -o $o,cache=none scratch "$R$KVM_VM_SCRATCH" \
  || fail "cannot mount the scratch share at $KVM_VM_SCRATCH"
mkdir -p $R/run/kvm-vm && mount --bind /ctl $R/run/kvm-vm
echo "kvm-vm-init: ready after $(cut -d' ' -f1 /proc/uptime) s of guest uptime"
chroot $R /usr/bin/env -i /bin/bash /run/kvm-vm/job.sh </dev/null >/ctl/out 2>/ctl/err
echo $? >/ctl/rc.tmp && mv /ctl/rc.tmp /ctl/rc
sync
poweroff -f
INIT
  chmod 755 "$d/init"
  (cd "$d" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null) >"$d.cpio"
  mv "$d.cpio" "$INITRD"
  rm -rf "$d"
  ls "$CACHE"/initrd-*.cpio 2>/dev/null | grep -vxF "$INITRD" | xargs -r rm -f || true
}
[ -s "$INITRD" ] || build_initrd

# The kernel, uncompressed: QEMU boots its ELF directly through the PVH entry
# point, which saves the ~8 s that decompressing the bzImage takes under TCG.
# qboot is a faster firmware than SeaBIOS. Either falls back when missing.
KERNEL=/boot/vmlinuz-$KVER FIRMWARE=()
VMLINUX=$CACHE/vmlinux-$KVER
if [ ! -s "$VMLINUX" ] && command -v python3 >/dev/null; then
  python3 - "/boot/vmlinuz-$KVER" "$VMLINUX.tmp" <<'PY' && mv "$VMLINUX.tmp" "$VMLINUX" || rm -f "$VMLINUX.tmp"
import lzma, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\xfd7zXZ\x00')
out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[i:]) if i >= 0 else b''
if out[:4] != b'\x7fELF' or b'Xen\x00' not in out[:0x4000000]:
    sys.exit(1)
open(sys.argv[2], 'wb').write(out)
PY
fi
[ -s "$VMLINUX" ] && KERNEL=$VMLINUX
[ -f /usr/share/qemu/qboot.rom ] && FIRMWARE=(-bios /usr/share/qemu/qboot.rom)

# The job: control share (job script, output, status, console log).
CTL=$(mktemp -d "${TMPDIR:-/tmp}/kvm-vm.XXXXXX")
OWN_SCRATCH=
if [ -z "$SCRATCH" ]; then SCRATCH=$CTL/scratch; OWN_SCRATCH=1; fi
mkdir -p "$SCRATCH"
SCRATCH=$(readlink -f "$SCRATCH")
QPID= TPIDS=()
cleanup() {
  [ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
  for p in "${TPIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$CTL"
  true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

q() { printf '%q' "$1"; }
{
  echo "KVM_VM_CHECKOUT=$(q "$ROOT")"
  echo "KVM_VM_SCRATCH=$(q "$SCRATCH")"
  echo "KVM_AMD_PARAMS=$(q "${KVM_VM_KVM_AMD:-}")"
} >"$CTL/vars"
{
  echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TMPDIR=/tmp KERNLESS_KVM_VM=1"
  for e in ${ENVS[@]+"${ENVS[@]}"}; do echo "export ${e%%=*}=$(q "${e#*=}")"; done
  echo "cd $(q "$PWD") || exit 125"
  printf 'exec'; for a in "$@"; do printf ' %s' "$(q "$a")"; done; echo
} >"$CTL/job.sh"
: >"$CTL/out"; : >"$CTL/err"

start=$(date +%s%N)
qemu-system-x86_64 -nodefaults -no-user-config -nographic -no-reboot \
  -M pc -accel tcg -cpu "${KVM_VM_CPU:-max}" -smp "$CPUS" -m "$MEM" \
  ${FIRMWARE[@]+"${FIRMWARE[@]}"} -kernel "$KERNEL" -initrd "$INITRD" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init" \
  -serial "file:$CTL/console.log" -monitor none -display none \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
  -virtfs "local,path=$SCRATCH,mount_tag=scratch,security_model=none,multidevs=remap" \
  -virtfs "local,path=$CTL,mount_tag=ctl,security_model=none,multidevs=remap" \
  </dev/null >"$CTL/qemu.log" 2>&1 &
QPID=$!
tail -n +1 -s 0.2 -f --pid=$QPID "$CTL/out" & TPIDS+=($!)
tail -n +1 -s 0.2 -f --pid=$QPID "$CTL/err" >&2 & TPIDS+=($!)

timed_out=
deadline=$(( $(date +%s) + TIMEOUT ))
while kill -0 "$QPID" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then timed_out=1; kill "$QPID" 2>/dev/null; break; fi
  sleep 0.2
done
wait "$QPID" 2>/dev/null || true
QPID=
for p in "${TPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
TPIDS=()
[ "${KVM_VM_VERBOSE:-0}" = 1 ] && cat "$CTL/console.log" >&2
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ -n "$timed_out" ]; then
  echo "kvm-vm: timed out after $TIMEOUT s" >&2
  exit 124
fi
if [ ! -s "$CTL/rc" ]; then
  echo "kvm-vm: the VM ended without an exit status; console and QEMU log:" >&2
  tail -n 25 "$CTL/console.log" "$CTL/qemu.log" >&2
  exit 125
fi
rc=$(cat "$CTL/rc")
if [ "$rc" = 125 ] && grep -q "^kvm-vm-init:" "$CTL/console.log"; then
  grep "^kvm-vm-init:" "$CTL/console.log" | grep -v ready >&2 || true
fi
if [ "${KVM_VM_TIMES:-0}" = 1 ]; then
  echo "kvm-vm: $(grep -o 'ready after [0-9.]* s' "$CTL/console.log" | head -n 1) (boot), $((ms / 1000)).$(printf %03d $((ms % 1000))) s in all" >&2
fi
[ -n "$OWN_SCRATCH" ] && rm -rf "$SCRATCH"
exit "$rc"
