#!/usr/bin/env bash
# deps.sh - install the Debian packages Kernless needs to build and test, if any are missing.
set -euo pipefail

# One package per line, with why it is needed.
PKGS=(
  build-essential          # gcc, make: host code and the guest runtime
  pkg-config               # library flags
  wabt                     # wasm2c, wasm-validate, wast2json
  tcc                      # TinyCC: the baseline tier compiles wasm2c output with it (compile/tier.c)
  clang lld                # wasm32-wasi test modules; clang build check; libFuzzer
  wasi-libc libclang-rt-14-dev-wasm32   # C -> wasm32-wasi
  libclang-rt-14-dev       # sanitizer and fuzzer runtimes for clang
  rustc libstd-rust-dev-wasm32          # Rust -> wasm32-wasi
  libmicrohttpd-dev        # HTTP serving
  libjansson-dev           # JSON
  libtomlplusplus-dev      # kernless.toml, read by toml++ (src/client/toml_json.cpp, the one C++ file; g++ is in build-essential)
  libsqlite3-dev           # the registry
  libpq-dev                # the shared registry of a cluster (serve --registry postgresql://...)
  postgresql               # tests/cluster and `make cluster` start a real PostgreSQL 15
  haproxy                  # tests/cluster and `make cluster`: the front of a cluster
  libcurl4-openssl-dev     # the CLI client
  libseccomp-dev           # vCPU thread seccomp filter
  nettle-dev               # SHA-256 for image hashes and cache keys (no 1 ms init)
  libssl-dev               # base64 in the CLI client
  curl                     # tests talk HTTP like a user would
  jq                       # the WASI test suite runner reads the suite's JSON specs
  python3                  # tests/hostile writes some hostile module binaries with it; kvm-vm.sh unpacks the kernel
  qemu-system-x86          # scripts/kvm-vm.sh: an emulated machine (TCG, AMD SVM) with /dev/kvm, for tests/kvm
  linux-image-amd64        # scripts/kvm-vm.sh boots this kernel (its kvm-amd, 9p, virtio, overlay modules)
  busybox-static           # scripts/kvm-vm.sh: the init and tools of that machine's tiny initramfs
  xxd                      # the dashboard's files become C arrays in the binary (xxd -i)
  chromium chromium-driver # tests/dashboard drives the web dashboard in a real headless browser (WebDriver)
  procps                   # pgrep: tests check no compiler is left running (absent from minimal/container Debian)
  llvm-14                  # llvm-ar-14: archives of wasm32 objects (the Python engine's build)
  dpkg-dev                 # dpkg-source: lang/fetch-src.sh unpacks Debian source packages (python3.11, zlib)
)
# npm: lang/js/build.sh fetches QuickJS's sources with it, and the
# assemblyscript template (kernless new assemblyscript) installs its compiler
# with it. Any npm will do, and nodesource's nodejs bundles one while
# conflicting with Debian's npm package, so the command is what is checked.
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: error: need root to run apt-get (missing: ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# linux-image-amd64's postinst would spend minutes building /boot/initrd.img,
# which nothing here boots (kvm-vm.sh builds its own): the kernel hook skips it.
export INITRD=No
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
