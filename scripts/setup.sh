#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine: system packages where missing, npm
# dependencies when the lockfile changed, then the TypeScript build. Quick when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: cmake, g++, p11-kit's pkcs11.h. Tests: the real PKCS#11 hosts and tokens, and PostgreSQL
# (its binaries only: the tests start throwaway clusters, scripts/pg-throwaway.sh).
APT_PACKAGES=(openssl curl python3-pykmip libc-ares2 cmake g++ libp11-kit-dev p11-kit opensc softhsm2 gnutls-bin
  libengine-pkcs11-openssl python3-pykcs11 python3-cryptography openjdk-17-jdk-headless cryptsetup-bin openssh-server
  postgresql)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash scripts/node18.sh

echo "setup: build"
npx tsc -p tsconfig.json
bash scripts/build-native.sh --asan
