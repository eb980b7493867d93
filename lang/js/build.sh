#!/usr/bin/env bash
# build.sh - build the JavaScript engine (QuickJS + lang/js/kl_js.c) for wasm32-wasi, cached per source and script hash.
#
#   lang/js/build.sh OUT_DIR      -> OUT_DIR/js.wasm
#
# QuickJS comes from the npm package qjsc@0.3.0 (deps/quickjs_2021_03_27,
# Bellard's 2021-03-27 release), fetched with `npm pack` and checked against
# the registry's sha512. The built engine is kept in
# ${KERNLESS_CACHE:-~/.cache/kernless}/engines/js-<key>/ where key hashes the
# package version, this script, kl_js.c and prelude.js: a fresh clone on the
# same machine reuses it and the build is skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT_DIR}
PKG=qjsc@0.3.0
SHA512=a7+cU6/IVcZbIejffdt/wZVMX6LL2MDL3HQ9Zb5Gm23G9DvBMS/z9GHFxz39bAvp2PvMOM+ypSOAyokt2DdZ2w==
QJS_DIR=deps/quickjs_2021_03_27
root=${KERNLESS_CACHE:-$HOME/.cache/kernless}
key=$( { echo "$PKG $SHA512"; cat "$0" "$here/kl_js.c" "$here/prelude.js" "$here/qjs_wasi.h" "$here/../../include/kernless/sdk.h"; } | sha256sum | cut -c1-16)
cached="$root/engines/js-$key/js.wasm"
mkdir -p "$out"
if [ -f "$cached" ]; then
  cp -f "$cached" "$out/js.wasm"
  exit 0
fi

# The package tarball, once per machine.
tgz="$root/src/qjsc-0.3.0.tgz"
if [ ! -f "$tgz" ]; then
  mkdir -p "$root/src"
  command -v npm >/dev/null || { echo "build.sh: npm is missing (scripts/deps.sh installs it)" >&2; exit 1; }
  t=$(mktemp -d)
  # --loglevel=error, not --silent: a failed fetch must say why (a registry or certificate error).
  ( cd "$t" && npm pack --loglevel=error "$PKG" >/dev/null ) \
    || { rm -rf "$t"; echo "build.sh: npm pack $PKG failed (npm's reason above)" >&2; exit 1; }
  mv "$t"/qjsc-0.3.0.tgz "$tgz.part" && rm -rf "$t"
  want=$(echo "$SHA512" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  got=$(sha512sum "$tgz.part" | cut -d' ' -f1)
  [ "$want" = "$got" ] || { rm -f "$tgz.part"; echo "build.sh: $PKG does not match its sha512" >&2; exit 1; }
  mv "$tgz.part" "$tgz"
fi

echo "building the JavaScript engine (QuickJS 2021-03-27 for wasm32-wasi; cached after)" >&2
b=$(mktemp -d "${TMPDIR:-/tmp}/kl-js-build.XXXXXX")
trap 'rm -rf "$b"' EXIT
tar -xzf "$tgz" -C "$b" "package/$QJS_DIR"
src="$b/package/$QJS_DIR"
# wasm32-wasi: no threads (Atomics), no computed goto dispatch.
perl -0pi -e 's/#if defined\(EMSCRIPTEN\) \|\| defined\(_MSC_VER\)\n#define DIRECT_DISPATCH  0/#if defined(EMSCRIPTEN) || defined(_MSC_VER) || defined(__wasi__)\n#define DIRECT_DISPATCH  0/; s/#if !defined\(EMSCRIPTEN\)\n#define CONFIG_ATOMICS/#if !defined(EMSCRIPTEN) \&\& !defined(__wasi__)\n#define CONFIG_ATOMICS/' "$src/quickjs.c"
grep -q 'defined(__wasi__)' "$src/quickjs.c" || { echo "build.sh: patching quickjs.c failed" >&2; exit 1; }
# Directed rounding for toFixed/toPrecision ties, which wasm lacks (qjs_wasi.h).
perl -pi -e 's/\bsnprintf\(buf1, buf1_size, "%\+\.\*e", n_digits - 1, d\)/kl_dir_snprintf(buf1, buf1_size, "%+.*e", n_digits - 1, d, rounding_mode)/; s/\bn = snprintf\(buf, buf_size, "%\.\*f", n_digits, d\)/n = kl_dir_snprintf(buf, buf_size, "%.*f", n_digits, d, rounding_mode)/' "$src/quickjs.c"
[ "$(grep -c kl_dir_snprintf "$src/quickjs.c")" = 2 ] || { echo "build.sh: patching quickjs.c rounding failed" >&2; exit 1; }
{ echo "static const unsigned char kl_prelude_js[] = {"
  od -An -v -tx1 "$here/prelude.js" | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'
  echo "};"
  echo "static const unsigned kl_prelude_js_len = sizeof(kl_prelude_js);"; } > "$b/prelude.h"

CC=${WASI_CC:-clang}
CFLAGS=(--target=wasm32-wasi -O2 -D_GNU_SOURCE -DCONFIG_VERSION='"2021-03-27"' -DCONFIG_BIGNUM
        -include "$here/qjs_wasi.h" -I"$src" -I"$b" -w)
objs=()
pids=()
for f in quickjs libregexp libunicode cutils libbf; do
  "$CC" "${CFLAGS[@]}" -c "$src/$f.c" -o "$b/$f.o" & pids+=($!)
  objs+=("$b/$f.o")
  # two at a time: the machine has 2 cores
  if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
"$CC" "${CFLAGS[@]}" -I"$here/../../include" -Wall -Wextra -Werror -Wno-unused-parameter -c "$here/kl_js.c" -o "$b/kl_js.o"
for p in "${pids[@]}"; do wait "$p"; done
"$CC" --target=wasm32-wasi -O2 -o "$b/js.wasm" "$b/kl_js.o" "${objs[@]}" -lm \
  -Wl,-z,stack-size=1048576 -Wl,--strip-all
mkdir -p "$(dirname "$cached")"
cp "$b/js.wasm" "$cached.part" && mv "$cached.part" "$cached"
cp -f "$cached" "$out/js.wasm"
