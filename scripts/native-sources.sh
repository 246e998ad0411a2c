#!/usr/bin/env bash
# One digest over everything the native build reads, to match prebuilds to sources.
set -euo pipefail
cd "$(dirname "$0")/.."
find native -type f \( -name '*.c' -o -name '*.cc' -o -name '*.h' -o -name '*.json' -o -name '*.txt' -o -name '*.map' \) -print0 \
  | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
