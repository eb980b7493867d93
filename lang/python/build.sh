#!/usr/bin/env bash
# build.sh - build the Python engine (CPython 3.11 + lang/python/kl_py.c) for wasm32-wasi, with its stdlib, cached.
#
#   lang/python/build.sh OUT_DIR   -> OUT_DIR/python.wasm, OUT_DIR/python-lib/ (the stdlib, mounted read-only)
#
# Sources: Debian bookworm's python3.11 and zlib source packages (apt-get
# source, lang/fetch-src.sh). CPython is cross-built with Debian's clang and
# wasi-libc as its Tools/wasm/README.md describes for WASI, extension modules
# static. The CPython build folder is kept under
# ${KERNLESS_CACHE:-~/.cache/kernless}/build/ (key: this script's configure
# part), the finished engine under .../engines/python-<key>/ (key: every
# input): a fresh clone on the same machine copies it in seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT_DIR}
root=${KERNLESS_CACHE:-$HOME/.cache/kernless}
JOBS=${KERNLESS_BUILD_JOBS:-2}
WASI_CFLAGS="--target=wasm32-wasi -O2 -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS"
WASI_LIBS="-lwasi-emulated-signal -lwasi-emulated-getpid -lwasi-emulated-process-clocks"

# Everything up to the CPython build is keyed by this block of the script.
bkey=$( { sed -n '/^# --- cpython build ---/,/^# --- end cpython build ---/p' "$0"; echo "$WASI_CFLAGS $WASI_LIBS"; } | sha256sum | cut -c1-16)
key=$( { echo "$bkey"; cat "$0" "$here"/kl_py.c "$here"/prelude.py "$here"/kernless.py "$here"/../../include/kernless/sdk.h; } | sha256sum | cut -c1-16)
cached="$root/engines/python-$key"
mkdir -p "$out"
install_out() {
  cp -f "$cached/python.wasm" "$out/python.wasm"
  rm -rf "$out/python-lib" && cp -a "$cached/python-lib" "$out/python-lib"
}
if [ -f "$cached/.done" ]; then install_out; exit 0; fi

# --- cpython build ---
# A sysroot of wasi-libc only: clang's default search list for wasm32-wasi
# also has /usr/include, whose Linux headers would mislead configure.
sysroot="$root/wasi-sysroot"
if [ ! -d "$sysroot/lib" ]; then
  mkdir -p "$sysroot/lib"
  ln -sfn /usr/include/wasm32-wasi "$sysroot/include"
  ln -sfn /usr/lib/wasm32-wasi "$sysroot/lib/wasm32-wasi"
fi
WASI_CFLAGS="--sysroot=$sysroot $WASI_CFLAGS"
src="$root/src/python3.11"
zsrc="$root/src/zlib"
bld="$root/build/cpython-$bkey"
bash "$here/../fetch-src.sh" python3.11 "$src"
bash "$here/../fetch-src.sh" zlib "$zsrc"
mkdir -p "$bld/zlib"
if [ ! -f "$bld/zlib/libz.a" ]; then
  echo "python engine: zlib for wasm32-wasi" >&2
  for f in adler32 compress crc32 deflate infback inffast inflate inftrees trees uncompr zutil; do
    clang $WASI_CFLAGS -w -c "$zsrc/$f.c" -o "$bld/zlib/$f.o"
  done
  cp "$zsrc/zlib.h" "$zsrc/zconf.h" "$bld/zlib/"
  llvm-ar-14 rcs "$bld/zlib/libz.a" "$bld"/zlib/*.o
fi
if [ ! -f "$bld/Makefile" ]; then
  echo "python engine: configure (CPython 3.11 for wasm32-wasi)" >&2
  # No host library may leak in through pkg-config; modules that need a
  # library wasi-libc lacks are left out by name (zlib is given above).
  mkdir -p "$bld/no-pkgconfig"
  ( cd "$bld" && CONFIG_SITE="$src/Tools/wasm/config.site-wasm32-wasi" \
      PKG_CONFIG_LIBDIR="$bld/no-pkgconfig" PKG_CONFIG_PATH="" \
      py_cv_module__lzma=n/a py_cv_module__bz2=n/a py_cv_module__ctypes=n/a \
      py_cv_module__sqlite3=n/a py_cv_module__uuid=n/a py_cv_module__ssl=n/a \
      py_cv_module__hashlib=n/a py_cv_module__tkinter=n/a py_cv_module__curses=n/a \
      py_cv_module__curses_panel=n/a py_cv_module_readline=n/a py_cv_module__dbm=n/a \
      py_cv_module__gdbm=n/a py_cv_module_nis=n/a py_cv_module__crypt=n/a \
      CC="clang --target=wasm32-wasi --sysroot=$sysroot" CPP="clang --target=wasm32-wasi --sysroot=$sysroot -E" \
      AR=llvm-ar-14 RANLIB=llvm-ranlib-14 \
      CFLAGS="$WASI_CFLAGS" LDFLAGS="$WASI_LIBS" \
      ZLIB_CFLAGS="-I$bld/zlib" ZLIB_LIBS="-L$bld/zlib -lz" \
      "$src/configure" -C --host=wasm32-unknown-wasi --build=x86_64-pc-linux-gnu \
        --with-build-python="$(command -v python3.11)" --disable-ipv6 --without-ensurepip \
        --disable-test-modules --without-pymalloc --prefix=/usr/local > "$bld/configure.log" 2>&1 ) ||
    { tail -30 "$bld/configure.log" >&2; rm -f "$bld/Makefile"; exit 1; }
fi
if [ ! -f "$bld/python.wasm" ]; then
  echo "python engine: make (a few minutes on 2 cores; cached after)" >&2
  ( cd "$bld" && make -j"$JOBS" python.wasm > "$bld/make.log" 2>&1 ) ||
    { tail -40 "$bld/make.log" >&2; exit 1; }
fi
# --- end cpython build ---

echo "python engine: link kl_py" >&2
t=$(mktemp -d "${TMPDIR:-/tmp}/kl-py-build.XXXXXX")
trap 'rm -rf "$t"' EXIT
clang $WASI_CFLAGS -Wall -Wextra -Werror -Wno-unused-parameter -I"$src/Include" -I"$bld" -I"$t" -I"$here/../../include" \
  -c "$here/kl_py.c" -o "$t/kl_py.o"
# CPython's own link line, with our main instead of Programs/python.o.
printf 'kl-link:\n\t$(LINKCC) $(PY_CORE_LDFLAGS) $(LINKFORSHARED) -o %s %s $(BLDLIBRARY) $(LIBS) $(MODLIBS) $(SYSLIBS) -Wl,--strip-all\n' \
  "$t/python.wasm" "$t/kl_py.o" > "$t/link.mk"
( cd "$bld" && make -s -f Makefile -f "$t/link.mk" kl-link ) >&2

echo "python engine: stdlib" >&2
lib="$t/python-lib/python3.11"
mkdir -p "$lib"
( cd "$src/Lib" && tar --exclude='test' --exclude='tests' --exclude='idlelib' --exclude='tkinter' \
    --exclude='turtledemo' --exclude='ensurepip' --exclude='lib2to3' --exclude='__pycache__' \
    --exclude='distutils' --exclude='venv' --exclude='pydoc_data' -cf - . ) | tar -xf - -C "$lib"
mkdir -p "$lib/lib-dynload"
cp "$bld"/build/lib.*/_sysconfigdata_*.py "$lib/" 2>/dev/null || true
cp "$here/prelude.py" "$lib/_kernless.py"   # the handler glue kl_py.c imports
cp "$here/kernless.py" "$lib/kernless.py"    # `import kernless`: host services
# Byte-compiled once here (any 3.11 has the same bytecode magic): the
# engine's start-up then reads .pyc files instead of compiling the stdlib.
"$(command -v python3.11)" -m compileall -q -j 2 "$lib" >/dev/null 2>&1 || true
rm -rf "$cached.part" && mkdir -p "$cached.part"
cp "$t/python.wasm" "$cached.part/" && cp -a "$t/python-lib" "$cached.part/"
touch "$cached.part/.done"
rm -rf "$cached" && mv "$cached.part" "$cached"
install_out
