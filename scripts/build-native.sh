#!/usr/bin/env bash
# Puts libp11kms.so, its libnode host and p11kms.node into build/Release. A prebuild under
# prebuilds/linux-x64 whose SOURCES.sha256 matches native/ is used as is, with no compiler;
# otherwise CMake builds them. --asan also builds the AddressSanitizer + UBSan variant into
# build/asan, which the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

node native/gen-calls.js --check
sources="$(bash scripts/native-sources.sh)"
mkdir -p build/Release
prebuilt=prebuilds/linux-x64
if [ -z "${P11KMS_IGNORE_PREBUILDS:-}" ] && [ -f "$prebuilt/SOURCES.sha256" ] && [ "$(cat "$prebuilt/SOURCES.sha256")" = "$sources" ] \
   && [ -f "$prebuilt/libp11kms.so" ] && [ -f "$prebuilt/libp11kms-node.so" ]; then
  if [ "$(cat build/Release/SOURCES.sha256 2>/dev/null)" != "$sources" ]; then
    echo "native: using the matching prebuild in $prebuilt"
    cp "$prebuilt/libp11kms.so" "$prebuilt/libp11kms-node.so" build/Release/
    [ -f "$prebuilt/p11kms.node" ] && cp "$prebuilt/p11kms.node" build/Release/
    echo "$sources" > build/Release/SOURCES.sha256
  fi
elif [ "$(cat build/Release/SOURCES.sha256 2>/dev/null)" != "$sources" ]; then
  echo "native: building with CMake"
  cmake -S native -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/native -j2 >/dev/null
  cp build/native/out/libp11kms.so build/native/out/libp11kms-node.so build/native/out/p11kms.node build/Release/
  echo "$sources" > build/Release/SOURCES.sha256
fi

if [ "${1:-}" = "--asan" ] && [ "$(cat build/asan/SOURCES.sha256 2>/dev/null)" != "$sources" ]; then
  echo "native: building the AddressSanitizer + UBSan variant"
  cmake -S native -B build/native-asan -DCMAKE_BUILD_TYPE=Debug -DP11KMS_SANITIZE=ON >/dev/null
  cmake --build build/native-asan -j2 >/dev/null
  mkdir -p build/asan
  cp build/native-asan/out/libp11kms.so build/native-asan/out/libp11kms-node.so build/asan/
  echo "$sources" > build/asan/SOURCES.sha256
fi
