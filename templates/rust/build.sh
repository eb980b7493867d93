#!/bin/sh
# build.sh - compile src/main.rs to {{name}}.wasm with the first rustc that has a WASI standard library.
# The target is wasm32-wasip1 since Rust 1.78 and wasm32-wasi before (Debian 12's rustc 1.63).
for rc in rustc /usr/bin/rustc; do
  sysroot=$("$rc" --print sysroot 2>/dev/null) || continue
  for t in wasm32-wasip1 wasm32-wasi; do
    if [ -d "$sysroot/lib/rustlib/$t" ]; then
      exec "$rc" --edition 2021 --target "$t" -O -C strip=debuginfo -o {{name}}.wasm src/main.rs
    fi
  done
done
echo "build.sh: no rustc with the wasm32-wasi target (apt install rustc libstd-rust-dev-wasm32)" >&2
exit 1
