#!/usr/bin/env bash
# `npm test`: the whole suite on a fresh machine — types, unit, integration, end-to-end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

started=$(date +%s)
ensure_node_modules
ensure_system_packages ffmpeg chromium python3-aiortc firefox-esr redis-server nginx
say "type-checking"
turbo run typecheck --output-logs=errors-only
tsc -p . # scripts/ and bench/
build_web
export NEXT_TELEMETRY_DISABLED=1 NODE_NO_WARNINGS=1
status=0
for project in unit integration e2e; do
  say "running $project tests"
  vitest run --project "$project" || status=1
done
say "suite finished in $(( $(date +%s) - started )) s"
exit $status
