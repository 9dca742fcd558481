#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, seeded from fuzz/seeds/<name>/.
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
dir=$1; secs=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
# Undefined behaviour fails the run like a crash does (UBSan only reports it by default).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
for bin in "$dir"/*_fuzz; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    corpus=$root/fuzz/corpus-$name
    mkdir -p "$corpus"
    dirs=("$corpus")
    [ -d "$root/fuzz/seeds/$name" ] && dirs+=("$root/fuzz/seeds/$name")
    echo "fuzz: $name for ${secs}s"
    if ! "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 "${dirs[@]}" > "$dir/$name.log" 2>&1; then
        echo "fuzz: $name FAILED"; tail -50 "$dir/$name.log"; status=1
    else
        grep -E 'stat::number_of_executed_units' "$dir/$name.log" || true
    fi
done
exit $status
