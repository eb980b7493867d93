#!/usr/bin/env bash
# fetch-src.sh - unpack a Debian bookworm source package (python3.11, zlib) into DEST, once; reused after.
#
#   lang/fetch-src.sh PACKAGE DEST
#
# Source packages need a deb-src entry; ours lives in its own file under
# /etc/apt/sources.list.d/ so the system's own sources are left as they are.
# Debian's patches are not applied (--skip-patches): they adapt the package
# to Debian's layout, which a wasm32-wasi build does not use.
set -euo pipefail
pkg=${1:?usage: fetch-src.sh PACKAGE DEST}
dest=${2:?usage: fetch-src.sh PACKAGE DEST}
[ -f "$dest/.unpacked" ] && exit 0
list=/etc/apt/sources.list.d/kernless-deb-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && [ ! -f "$list" ]; then
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$list"
  apt-get update -q >/dev/null
fi
command -v dpkg-source >/dev/null || apt-get install -y -q --no-install-recommends dpkg-dev >/dev/null
mkdir -p "$(dirname "$dest")"
tmp=$(mktemp -d "${dest%/}.tmp.XXXXXX")
( cd "$tmp" && apt-get source -q --download-only "$pkg" >/dev/null 2>&1 &&
  dpkg-source -x --skip-patches ./*.dsc src >/dev/null 2>&1 )
rm -rf "$dest" && mv "$tmp/src" "$dest" && rm -rf "$tmp"
touch "$dest/.unpacked"
