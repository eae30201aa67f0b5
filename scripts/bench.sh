#!/usr/bin/env bash
# `npm run bench`: latency as a viewer sees it, start-up times, transcoder speed, fan-out and a
# soak on this machine; writes bench/results/*.json, bench/results/summary.md and README's Performance
# table. `npm run bench -- --quick` shortens every scenario (a smoke run, not figures to publish).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

quick=""
for arg in "$@"; do
  case "$arg" in
    --quick) quick="--quick" ;;
    *) fail "unknown argument: $arg (supported: --quick)" ;;
  esac
done

started=$(date +%s)
ensure_node_modules
ensure_system_packages ffmpeg chromium redis-server nginx
build_web
export NODE_NO_WARNINGS=1
mkdir -p bench/results

status=0
run() { # run NAME CMD... — a failing bench is reported, the others still run
  local name=$1
  shift
  say "bench: $name (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  "$@" || { status=1; printf '\033[1;31monair\033[0m bench %s failed\n' "$name" >&2; }
}

run latency tsx bench/latency.ts $quick
if [ -f bench/transcode.ts ]; then
  if [ -n "$quick" ]; then BENCH_SECONDS=5 run transcode tsx bench/transcode.ts; else run transcode tsx bench/transcode.ts; fi
fi
# Renditions per viewer over a shaped link (root: netns + tc): drop → fitting rendition, longest freeze (~2 min; --quick: ~1 min).
run renditions tsx bench/renditions.ts $quick
# Fan-out ramps until the ingest's core, loss or the canary stops it (~4 min; --quick: ~1 min).
[ -f bench/fanout.ts ] && run fanout tsx bench/fanout.ts $quick
# Cluster faults: transcoder failover and Redis restart recovery, timed (~2 min; --quick: ~40 s).
run cluster tsx bench/cluster.ts $quick
# Edge fan-out: viewers on two edges pulling from one origin against the origin alone (~3 min; --quick: ~1.5 min).
run edge tsx bench/edge.ts $quick
# HLS origin load: LL-HLS clients on one transcoder, then through nginx proxy_cache (~4 min; --quick: ~1.5 min).
run hls-load tsx bench/hls-load.ts $quick
# Soak: the whole stack under viewer churn, memory / fds / event-loop delay over time (10 min; --quick: 90 s).
run soak tsx bench/soak.ts $quick
run summary tsx bench/summary.ts

say "bench finished in $(( $(date +%s) - started )) s (load average $(cut -d' ' -f1-3 /proc/loadavg)); see bench/results/summary.md"
exit $status
