#!/usr/bin/env bash
# ACME failures while a certificate is already served: one good issuance from pebble of a 300 s
# certificate, then the same state restarted against each failure with renew_before_fraction =
# 0.99 (due for renewal 3 s after issuance). Each gives a clear error in the log and in
# `moat certs`, backs off, and the old certificate keeps serving:
#   a bad directory URL, the CA unreachable, a failing challenge (pebble's tls-alpn-01 port
#   has nobody listening), a CA whose certificate is not trusted (verification stays on), and
#   a 429 with Retry-After (a small python stub CA).
source "$(dirname "$0")/lib.sh"
source "$HERE/../acme/peers.sh"

HTTP_PORT=$(free_port)
CLOSED_PORT=$(free_port)
peers_ca
knot_start "$(free_port)"
pebble_start "$(free_port)" "$(free_port)" "$HTTP_PORT" "$CLOSED_PORT" 300
# Picked after the peers started, just before use: another test may take a port picked early.
HTTPS_PORT=$(free_port)
make_site "$T/site" prod

config() {  # config DIRECTORY_URL CHALLENGE [FRACTION]
    cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"

[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
metrics = ""
workers = 1

[sites."site.example.test"]
root = "$T/site"
tls = "acme"

[acme]
directory = "$1"
${NO_CA:+# }ca_bundle = "$T/ca/ca.pem"
challenge = "$2"
renew_before_fraction = ${3:-0.5}
EOF
}

config "https://127.0.0.1:$PEBBLE_PORT/dir" http-01
moat_start serve --config "$T/moat.toml"
good=$(wait_cert site.example.test 30) || { fail "no first certificate"; cat "$T/moat.log"; }
kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true
cp -a "$T/data" "$T/data.good"
sleep 3  # past the renewal time (1% of 300 s into the lifetime)

# run_case NAME DIRECTORY CHALLENGE ERROR_REGEX: restart on the good state; expect the error.
run_case() {
    rm -rf "$T/data"
    cp -a "$T/data.good" "$T/data"
    config "$2" "$3" 0.99
    : > "$T/moat.log"
    moat_start serve --config "$T/moat.toml"
    for _ in $(seq 240); do grep -q 'certificate order failed' "$T/moat.log" && break; sleep 0.25; done
    local line
    line=$(grep "certificate order failed" "$T/moat.log" | head -1 || true)
    echo "  $1: $line"
    expect_match "$1: clear error" "$line" "$4"
    expect_match "$1: old certificate named as still serving" "$line" 'serving=old certificate'
    expect_match "$1: backs off" "$line" 'retry_in=[0-9]+s'
    expect_eq "$1: old certificate still served" "$(served_serial site.example.test)" "$good"
    expect_eq "$1: and verifies" "$(pcurl site.example.test / -o /dev/null -w '%{http_code}')" 200
    local certs
    certs=$(certs_failing)
    expect_match "$1: moat certs shows the failure" "$certs" 'failing.*\(1 failures\)'
    check "$1: backoff shared with the other processes (backoff.json)" \
        grep -q '"failures":1' "$T/data/acme/certs/site.example.test/backoff.json"
    kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true
}

run_case "bad directory URL" "https://127.0.0.1:$PEBBLE_PORT/no-such-directory" http-01 \
    'ACME directory https://127.0.0.1:[0-9]+/no-such-directory: HTTP 404 \(is the directory URL right\?\)'
run_case "CA unreachable" "https://127.0.0.1:$CLOSED_PORT/dir" http-01 \
    'ACME directory: https://127.0.0.1:[0-9]+/dir: .*(Connection refused|Couldn.t connect)'
run_case "failing challenge" "https://127.0.0.1:$PEBBLE_PORT/dir" tls-alpn-01 \
    'tls-alpn-01 for site.example.test failed: urn:ietf:params:acme:error:(connection|tls|unauthorized).*tls-alpn-01'

NO_CA=1 run_case "CA not trusted (no ca_bundle)" "https://127.0.0.1:$PEBBLE_PORT/dir" http-01 \
    'ACME directory: https://127.0.0.1:[0-9]+/dir: SSL certificate problem'

STUB_PORT=$(free_port)
python3 "$HERE/../acme/ratelimit_stub.py" "$STUB_PORT" "$T/ca/leaf.pem" "$T/ca/leaf.key" &
PIDS+=($!)
wait_port "$STUB_PORT"
run_case "429 with Retry-After" "https://127.0.0.1:$STUB_PORT/dir" http-01 \
    'rateLimited \(HTTP 429\): too many new orders recently \(retry after 3600s\)'
expect_match "429: next attempt after Retry-After" "$(grep 'certificate order failed' "$T/moat.log" | head -1)" 'retry_in=3600s'
finish
