#!/usr/bin/env bash
# deploy_bench.sh MOAT [ROUNDS] — wall time of publishing the 500-file corpus (bench/load/corpus.sh)
# with `moat deploy`, and of promoting it, against `aws s3 sync` and `rclone sync` into moat's own
# S3 API (content/testing/<site>/, which moat releases after the settle delay).
#
# Each round starts `moat serve --demo` on a fresh data folder (so the first deploy is cold: the
# store holds none of the corpus) with three store-served sites on free loopback ports:
#   localhost         moat deploy / promote / approve (approvals = 1: the demo approver approves)
#   awscli.localhost  aws s3 sync (approvals = 0: `moat promote` alone moves production)
#   rclone.localhost  rclone sync
# and measures, in this order: a) the cold deploy, d) aws full sync, e) rclone full sync (each S3
# sync's release waited for, so no background release work overlaps the next step), then after
# changing one small html page: b) the deploy, d) aws sync + the time until test.awscli.localhost
# serves the change (the settle path), e) rclone sync; then c) promote + approve (and approve
# alone: it is the call that moves production) and promote with approvals = 0.
# One TOTP approval per round and a fresh server per round: no code is ever replayed.
#
# Prints a table of medians (and writes it, with every sample, to $MOAT_BENCH_DIR/release-<stamp>/).
# Needs: aws (cli v1 or v2), rclone, curl, python3, brotli, gzip, openssl.
set -euo pipefail

MOAT=${1:?usage: deploy_bench.sh PATH_TO_MOAT [ROUNDS]}
MOAT=$(cd "$(dirname "$MOAT")" && pwd)/$(basename "$MOAT")
ROUNDS=${2:-5}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${MOAT_BENCH_DIR:-/tmp/moat-bench}/release-$(date -u +%Y%m%dT%H%M%SZ)
T=$(mktemp -d "${TMPDIR:-/tmp}/moat-deploy-bench.XXXXXX")
SAMPLES="$OUT/samples.tsv"
MOAT_PID=""
mkdir -p "$OUT"
for t in aws rclone curl python3; do
    command -v "$t" >/dev/null || { echo "deploy_bench.sh: missing $t" >&2; exit 1; }
done

stop_moat() {
    [ -n "$MOAT_PID" ] || return 0
    kill -TERM "$MOAT_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$MOAT_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MOAT_PID" 2>/dev/null || true
    wait "$MOAT_PID" 2>/dev/null || true
    MOAT_PID=""
}
cleanup() {
    stop_moat
    if [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

# A free TCP port on loopback (random, as tests/integration/lib.sh does).
free_port() {
    python3 - <<'PY'
import random, socket
for _ in range(200):
    port = random.randint(20000, 60999)
    try:
        s = socket.socket()
        s.bind(("127.0.0.1", port))
        s.close()
    except OSError:
        continue
    print(port)
    break
PY
}

wait_port() {
    for _ in $(seq 300); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 never opened" >&2
    return 1
}

now() { date +%s.%N; }
# sample OP START END: records END - START seconds for OP.
sample() { python3 -c "print('$1\t%.3f' % ($3 - $2))" >>"$SAMPLES"; }
# timed OP CMD...: runs CMD (output to $T/last.out), records its wall time.
timed() {
    local op=$1 t0 t1
    shift
    t0=$(now)
    "$@" >"$T/last.out" 2>&1 || { echo "$op failed:" >&2; cat "$T/last.out" >&2; return 1; }
    t1=$(now)
    sample "$op" "$t0" "$t1"
}

# deploy_phases OP: records the phases `moat deploy` timed (MOAT_DEPLOY_TIMINGS) as "OP: phase".
deploy_phases() {
    awk -v op="$1" '$1 == "moat" && $3 == "timing" {printf "%s: %s\t%s\n", op, $4, $5}' \
        "$T/last.out" >>"$SAMPLES"
}

# The moat CLI as a demo principal; aws-cli and rclone with the demo S3 key.
m() {
    local profile=$1
    shift
    MOAT_DEPLOY_TIMINGS=1 timeout 300 "$MOAT" "$@" --credentials "$D/demo-principals" --profile "$profile"
}
s3sync() { timeout 300 aws --endpoint-url "$EP" --ca-bundle "$CA" s3 sync "$@" --only-show-errors; }
# AWS_CA_BUNDLE (set on some machines) makes rclone's AWS SDK refuse its own --ca-cert.
rc() { env -u AWS_CA_BUNDLE timeout 300 rclone --config "$T/rclone.conf" --ca-cert "$CA" -q "$@"; }

# get HOST PATH: the body served for that host (empty on any failure).
get() {
    curl -sS --max-time 10 --cacert "$CA" --resolve "$1:$HTTPS_PORT:127.0.0.1" \
        "https://$1:$HTTPS_PORT$2" 2>/dev/null || true
}
# served_at HOST PATH TEXT [SECONDS]: polls every 50 ms until the body contains TEXT; prints the
# time it did (fails after SECONDS, default 60).
served_at() {
    local end
    end=$(python3 -c "import time; print(time.time() + ${4:-60})")
    while :; do
        if [[ "$(get "$1" "$2")" == *"$3"* ]]; then
            now
            return 0
        fi
        python3 -c "import sys, time; sys.exit(time.time() > $end)" || {
            echo "$1$2 never served '$3'" >&2
            return 1
        }
        sleep 0.05
    done
}

start_moat() {
    HTTPS_PORT=$(free_port)
    local http_port s3_port
    http_port=$(free_port)
    s3_port=$(free_port)
    ADMIN_PORT=$(free_port)
    D="$T/r$1/data"
    mkdir -p "$D"
    cat >"$D/moat.toml" <<TOML
data_dir = "."
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = ["127.0.0.1:$http_port"]
metrics = ""
workers = 2
[s3]
listen = ["127.0.0.1:$s3_port"]
hosts = ["localhost"]
[admin]
listen = ["127.0.0.1:$ADMIN_PORT"]
[sites."localhost"]
store = true
approvals = 1
[sites."awscli.localhost"]
store = true
approvals = 0
[sites."rclone.localhost"]
store = true
approvals = 0
TOML
    "$MOAT" serve --demo --data "$D" >>"$T/r$1/moat.log" 2>&1 &
    MOAT_PID=$!
    wait_port "$HTTPS_PORT"
    wait_port "$ADMIN_PORT"
    for _ in $(seq 100); do
        [ -s "$D/demo-principals" ] && [ -s "$D/demo-s3-credentials" ] && break
        sleep 0.1
    done
    kill -0 "$MOAT_PID" || { cat "$T/r$1/moat.log"; return 1; }
    CA="$D/ca/root.crt"
    EP="https://localhost:$s3_port"
    export AWS_SHARED_CREDENTIALS_FILE="$D/demo-s3-credentials" AWS_PROFILE=moat-demo
    export AWS_CONFIG_FILE="$T/aws-config"
    printf '[profile moat-demo]\nregion = us-east-1\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n' \
        >"$AWS_CONFIG_FILE"
    cat >"$T/rclone.conf" <<CONF
[moat]
type = s3
provider = Other
access_key_id = $(awk '/^aws_access_key_id/ {print $3}' "$D/demo-s3-credentials")
secret_access_key = $(awk '/^aws_secret_access_key/ {print $3}' "$D/demo-s3-credentials")
endpoint = $EP
region = us-east-1
force_path_style = true
CONF
}

"$HERE/../load/corpus.sh" "$T/corpus" >"$T/corpus.log"
head -1 "$T/corpus.log"
rm "$T/corpus/.moat-corpus"

round() {
    local r=$1 w="$T/r$1/site" page t0 t1 t2 id rc_
    start_moat "$r"
    cp -a "$T/corpus" "$w"

    # ---- full publications (cold store) ----
    timed "a deploy, first (cold)" m demo-deployer deploy "$w" --site localhost
    deploy_phases "a deploy, first (cold)"
    [[ "$(get test.localhost /many/p499.html)" == *"page 499"* ]] || { echo "deploy not served" >&2; return 1; }

    t0=$(now)
    s3sync "$w" s3://content/testing/awscli.localhost/
    t1=$(now)
    t2=$(served_at test.awscli.localhost /many/p499.html "page 499")
    sample "d aws s3 sync, full" "$t0" "$t1"
    sample "d aws s3 sync, full: served after upload end" "$t1" "$t2"

    t0=$(now)
    rc sync "$w" moat:content/testing/rclone.localhost
    t1=$(now)
    t2=$(served_at test.rclone.localhost /many/p499.html "page 499")
    sample "e rclone sync, full" "$t0" "$t1"
    sample "e rclone sync, full: served after upload end" "$t1" "$t2"

    # ---- one small page changed ----
    page=$(printf 'p%03d.html' $((r * 37 % 500)))
    printf '<p>changed in round %s</p>\n' "$r" >>"$w/many/$page"
    timed "b deploy, one file changed" m demo-deployer deploy "$w" --site localhost
    deploy_phases "b deploy, one file changed"
    id=$(sed -n 's/^release \(r[0-9]*\) .*/\1/p' "$T/last.out")
    grep -q "uploaded 1 " "$T/last.out" || { echo "one-file deploy uploaded more:" >&2; cat "$T/last.out" >&2; }
    [[ "$(get test.localhost "/many/$page")" == *"changed in round $r"* ]] ||
        { echo "one-file deploy not served at once" >&2; return 1; }

    t0=$(now)
    s3sync "$w" s3://content/testing/awscli.localhost/
    t1=$(now)
    t2=$(served_at test.awscli.localhost "/many/$page" "changed in round $r")
    sample "d aws s3 sync, one file changed" "$t0" "$t1"
    sample "d aws s3 sync, one file: served after upload end" "$t1" "$t2"
    sample "d aws s3 sync, one file: start to served" "$t0" "$t2"

    t0=$(now)
    rc sync "$w" moat:content/testing/rclone.localhost
    t1=$(now)
    t2=$(served_at test.rclone.localhost "/many/$page" "changed in round $r")
    sample "e rclone sync, one file changed" "$t0" "$t1"
    sample "e rclone sync, one file: start to served" "$t0" "$t2"

    # ---- promotion ----
    t0=$(now)
    m demo-deployer promote localhost >"$T/last.out" 2>&1 && rc_=0 || rc_=$?
    [ "$rc_" = 3 ] || { echo "promote did not wait for approval (exit $rc_):" >&2; cat "$T/last.out" >&2; return 1; }
    t1=$(now)
    # Production switches before approve returns (the S3 view of production is mirrored after
    # the switch, inside the call): poll for the change meanwhile.
    served_at localhost "/many/$page" "changed in round $r" >"$T/prod.at" &
    local poller=$!
    timed "c approve alone (moves production)" m demo-approver approve localhost "$id"
    t2=$(now)
    wait "$poller"
    sample "c approve: production serves the change" "$t1" "$(cat "$T/prod.at")"
    sample "c promote (request, approvals = 1)" "$t0" "$t1"
    sample "c promote + approve" "$t0" "$t2"
    [[ "$(get localhost "/many/$page")" == *"changed in round $r"* ]] ||
        { echo "approved release not served on production" >&2; return 1; }
    timed "c promote, approvals = 0" m demo-deployer promote awscli.localhost
    [[ "$(get awscli.localhost "/many/$page")" == *"changed in round $r"* ]] ||
        { echo "promoted release not served on awscli.localhost" >&2; return 1; }

    stop_moat
    [ -n "${KEEP:-}" ] || rm -rf "$T/r$r"
}

for r in $(seq "$ROUNDS"); do
    echo "round $r/$ROUNDS ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
    round "$r"
done

# Medians; ratios against the moat deploy of the same kind (full: a, one file: b, promotion: b).
python3 - "$SAMPLES" "$ROUNDS" <<'PY' | tee "$OUT/table.md"
import statistics, sys
samples = {}
for line in open(sys.argv[1]):
    op, s = line.rstrip("\n").split("\t")
    samples.setdefault(op, []).append(float(s))
med = {op: statistics.median(v) for op, v in samples.items()}
full, one = med["a deploy, first (cold)"], med["b deploy, one file changed"]
print("| operation | median s | min-max s | vs moat deploy |")
print("| --- | ---: | ---: | ---: |")
for op in sorted(samples, key=lambda o: (o[0], "full" not in o and "first" not in o, o)):
    base = full if ("full" in op or "first" in op) else one
    v = samples[op]
    print("| %s | %.2f | %.2f-%.2f | %.2fx |" % (op, med[op], min(v), max(v), med[op] / base))
print("\n%s rounds; samples in %s" % (sys.argv[2], sys.argv[1]))
PY
