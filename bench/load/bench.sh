#!/usr/bin/env bash
# bench.sh MOAT_BINARY [ROUNDS] [DURATION] [SCENARIOS] — moat beside nginx, h2o and caddy in the
# same runs: corpus and certs, then per round the servers pinned to CPU 0 and the load
# generators to CPU 1. Results: $MOAT_BENCH_DIR/results/<stamp>-rN/table.md (default /tmp/moat-bench).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
B=${MOAT_BENCH_DIR:-/tmp/moat-bench}
BIN=$(cd "$(dirname "${1:?usage: bench.sh MOAT_BINARY [ROUNDS] [DURATION] [SCENARIOS]}")" && pwd)/$(basename "$1")
ROUNDS=${2:-2}
DURATION=${3:-10}
SCEN=${4:-a,b,c,d,e,f}
STAMP=$(date +%Y%m%d-%H%M%S)
"$HERE/corpus.sh" "$B/site"
"$HERE/certs.sh" "$B/certs"
trap '"$HERE/peers.sh" stop; "$HERE/moat.sh" stop' EXIT
for r in $(seq 1 "$ROUNDS"); do
  SERVER_CPUS=0 "$HERE/peers.sh" start
  SERVER_CPUS=0 "$HERE/moat.sh" start "$BIN"
  "$HERE/run.sh" --duration "$DURATION" --client-cpus 1 --scenarios "$SCEN" --label "r$r" \
    --out "$B/results/$STAMP-r$r" \
    --target nginx=https://127.0.0.1:9441 --target h2o=https://127.0.0.1:9442 \
    --target caddy=https://127.0.0.1:9443 --target moat=https://127.0.0.1:9444
done
