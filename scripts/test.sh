#!/usr/bin/env bash
# Every test, against real processes. `npm test` runs scripts/setup.sh first (pretest).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tap "dist/test/**/*.test.js" "$@"
