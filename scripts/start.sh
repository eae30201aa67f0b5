#!/usr/bin/env bash
# `npm start`: set up what is missing, then run ingest + transcoder + web on the embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

ensure_node_modules
ensure_system_packages ffmpeg
build_web
export NEXT_TELEMETRY_DISABLED=1
exec node --disable-warning=ExperimentalWarning --import tsx scripts/start.ts
