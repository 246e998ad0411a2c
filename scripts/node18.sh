#!/usr/bin/env bash
# Debian bookworm's Node 18 (libnode108): the runtime the PKCS#11 module embeds. It cannot be
# apt-installed next to the machine's Node 20, so its packages are unpacked under .deps/node18.
# libnode aborts at start unless the "externalized builtins" are at their compiled-in paths
# under /usr/share/nodejs, so those few files are copied there.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=.deps/node18
VERSION=18.20.4+dfsg-1~deb12u3
NODE18="$PREFIX/usr/bin/node"

if [ -x "$NODE18" ] && [ -f /usr/share/nodejs/cjs-module-lexer/lexer.js ] && [ -d /usr/share/nodejs/acorn ] && [ -d /usr/share/nodejs/undici ] \
   && LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu" "$NODE18" -e '' 2>/dev/null; then
  exit 0
fi

echo "setup: unpacking Debian's Node 18 (libnode108) into $PREFIX"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
dpkg-query -W -f='${Status}' libc-ares2 2>/dev/null | grep -q "install ok installed" || {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libc-ares2 >/dev/null
}
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
(cd "$debs" && chmod 777 . && apt-get download -qq "nodejs=$VERSION" "libnode108=$VERSION" "libnode-dev=$VERSION" node-cjs-module-lexer node-acorn node-undici >/dev/null 2>&1) || {
  $SUDO apt-get update -qq
  (cd "$debs" && apt-get download -qq "nodejs=$VERSION" "libnode108=$VERSION" "libnode-dev=$VERSION" node-cjs-module-lexer node-acorn node-undici >/dev/null)
}
rm -rf "$PREFIX"
mkdir -p "$PREFIX"
for deb in "$debs"/*.deb; do dpkg -x "$deb" "$PREFIX"; done
$SUDO mkdir -p /usr/share/nodejs
for module in cjs-module-lexer acorn acorn-walk undici; do
  [ -e "/usr/share/nodejs/$module" ] || $SUDO cp -a "$PREFIX/usr/share/nodejs/$module" /usr/share/nodejs/
done
LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu" "$NODE18" -e 'if (!process.version.startsWith("v18.")) process.exit(1)'
