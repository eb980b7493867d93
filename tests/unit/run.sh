#!/usr/bin/env bash
# run.sh - build each tests/unit/test_*.c against the host sources with ASan/UBSan and run it.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
out=$BUILD/unit; mkdir -p "$out"
PKGS="libmicrohttpd jansson sqlite3 libcurl libseccomp nettle libcrypto tomlplusplus libpq"
CFLAGS="-std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation -D_GNU_SOURCE -Iinclude -Isrc -Itests/unit $(pkg-config --cflags $PKGS)"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
LIBS="$(pkg-config --libs $PKGS) -lstdc++ -lpthread -lm"
# Link against every host object except the one holding main() (gen/: the
# embedded `kernless new` templates; toml_json.o is C++, hence -lstdc++).
# Only objects whose source still exists: a renamed or moved file leaves its
# old object behind, whose symbols would clash with the new one's.
live_obj() {
  local o s
  while read -r o; do
    s=${o#"$BUILD/san/"}; s=${s%.o}
    if [ -e "$s.c" ] || [ -e "$s.cpp" ] || [ -e "$s.S" ]; then echo "$o"; fi
  done
}
objs="$(find "$BUILD/san/src" -name '*.o' ! -path '*/cli/main.o' 2>/dev/null | sort | live_obj)
$(find "$BUILD/san/gen" -name '*.o' 2>/dev/null | sort)"
passed=0; failed=0
for t in tests/unit/test_*.c; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .c)
  if ! gcc $CFLAGS $SAN "$t" $objs -o "$out/$name" $LIBS 2>"$out/$name.build.log"; then
    echo "FAIL $name: does not build"; cat "$out/$name.build.log" | head -20
    failed=$((failed+1)); continue
  fi
  res=$("$out/$name" 2>&1); rc=$?
  echo "$res" | grep -v '^test_.*passed' || true
  line=$(echo "$res" | grep -E 'passed, [0-9]+ failed' | tail -n1)
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/')
  f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/')
  if [ -z "$line" ]; then echo "FAIL $name: crashed (exit $rc)"; failed=$((failed+1)); continue; fi
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  echo "$name: $p passed, $f failed"
  passed=$((passed+p)); failed=$((failed+f))
done
# Shell selftests of the test machinery itself (tests/unit/selftest_*.sh).
for t in tests/unit/selftest_*.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  res=$(bash "$t" "$BUILD" 2>&1); rc=$?
  echo "$res" | grep '^FAIL' || true
  line=$(echo "$res" | grep -E "^$name: [0-9]+ passed, [0-9]+ failed\$" | tail -n1)
  if [ -z "$line" ]; then echo "FAIL $name: ended without its count (exit $rc)"; failed=$((failed+1)); continue; fi
  echo "$line"
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
  f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  passed=$((passed+p)); failed=$((failed+f))
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
