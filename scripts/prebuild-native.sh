#!/usr/bin/env bash
# Called by prebuildify in place of node-gyp (npm run prebuild): builds with CMake into
# build/Release, where prebuildify picks up p11kms.node and the shared libraries beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f build/Release/SOURCES.sha256
P11KMS_IGNORE_PREBUILDS=1 bash scripts/build-native.sh
