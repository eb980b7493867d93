#!/usr/bin/env bash
# fetch-src.sh - unpack Debian bookworm's python3.11 source package into $1 (once; reused after).
set -euo pipefail
dest=${1:?usage: fetch-src.sh DEST}
[ -f "$dest/.unpacked" ] && exit 0
# Source packages need a deb-src entry; ours lives in its own file so the
# system's sources are left as they are.
list=/etc/apt/sources.list.d/kernless-deb-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && [ ! -f "$list" ]; then
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$list"
  apt-get update -q >/dev/null
fi
command -v dpkg-source >/dev/null || apt-get install -y -q --no-install-recommends dpkg-dev >/dev/null
mkdir -p "$(dirname "$dest")"
tmp=$(mktemp -d "${dest%/}.tmp.XXXXXX")
( cd "$tmp" && apt-get source -q --download-only python3.11 >/dev/null && dpkg-source -x --skip-patches python3.11_*.dsc src >/dev/null )
rm -rf "$dest" && mv "$tmp/src" "$dest" && rm -rf "$tmp"
touch "$dest/.unpacked"
