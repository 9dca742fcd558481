#!/usr/bin/env bash
# Access logs in CloudFront's standard format (file layout, headers, the 33 fields of known
# requests, goaccess reading them) and the Prometheus metrics endpoint.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
HTTP_PORT=$(free_port)
METRICS_PORT=$(free_port)
CA=$T/data/ca/root.crt
make_site "$T/prod" prod
make_site "$T/test" test

cat >"$T/moat.toml" <<EOF
data_dir = "$T/data"
[edge]
https = ["127.0.0.1:$HTTPS_PORT", "[::1]:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
metrics = "127.0.0.1:$METRICS_PORT"
node_id = "itest1"
workers = 2
[sites."localhost"]
http = "redirect"
[sites."localhost".environments.production]
root = "$T/prod"
[sites."localhost".environments.testing]
root = "$T/test"
EOF
moat_start serve --config "$T/moat.toml"

B=https://localhost:$HTTPS_PORT
metric() { # metric 'NAME{LABELS}' -> value (0 when absent)
    curl -sS --max-time 10 "http://127.0.0.1:$METRICS_PORT/metrics" |
        awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? 0 : v) }'
}
M_HS0=$(metric moat_tls_handshakes_total)
M_HIT0=$(metric moat_cache_hits_total)

# --- known requests (each with a unique User-Agent to find its log line) ---
mcurl -o /dev/null -A 'itest h2 home' "$B/?a=1&b=two"
mcurl -o /dev/null -A 'itest h1 css' --http1.1 "$B/assets/site.css"
mcurl -o "$T/range" -A 'itest range' -r 100-199 "$B/big.bin"
mcurl -o /dev/null -A 'itest head' -I "$B/docs/"
mcurl -o /dev/null -A 'itest 404' "$B/nope/missing.html"
mcurl -o /dev/null -A 'itest testing' -H 'Referer: https://example.test/from' \
    --resolve "test.localhost:$HTTPS_PORT:127.0.0.1" "https://test.localhost:$HTTPS_PORT/docs/"
mcurl -o /dev/null -A 'itest ipv6' -6 "$B/img/logo.png"
curl -sS --max-time 10 -o /dev/null -A 'itest plain' "http://localhost:$HTTP_PORT/docs/?x=1"
expect_eq "range response is 100 bytes" "$(stat -c %s "$T/range")" "100"
# A few more h2 requests on one connection (cache hits, bytes).
mcurl -o /dev/null -o /dev/null -o /dev/null -A 'itest multi' "$B/" "$B/docs/" "$B/assets/app.js"
N_PROD=9 # requests above that go to production over HTTPS (incl. the 3 multi)
N_TEST=1

# --- metrics while running ---
expect_eq "metrics: production 2xx" "$(metric 'moat_requests_total{site="localhost",env="production",code_class="2xx"}')" "8"
expect_eq "metrics: production 4xx" "$(metric 'moat_requests_total{site="localhost",env="production",code_class="4xx"}')" "1"
expect_eq "metrics: testing 2xx" "$(metric 'moat_requests_total{site="localhost",env="testing",code_class="2xx"}')" "1"
# The plain-HTTP request is a redirect: 3xx somewhere under this site.
redirects=$(curl -sS "http://127.0.0.1:$METRICS_PORT/metrics" |
    awk '$1 ~ /^moat_requests_total\{site="localhost".*code_class="3xx"/ { s += $2 } END { print s + 0 }')
expect_eq "metrics: one redirect (plain HTTP)" "$redirects" "1"
prod_bytes=$(metric 'moat_response_bytes_total{site="localhost",env="production"}')
# Bodies alone: 100 (range) + css + index + docs + 404 + png + index + docs + js.
min_bytes=$((100 + $(stat -c %s "$T/prod/assets/site.css") + 2 * $(stat -c %s "$T/prod/index.html") +
    2 * $(stat -c %s "$T/prod/docs/index.html") + $(stat -c %s "$T/prod/404.html") +
    $(stat -c %s "$T/prod/img/logo.png") + $(stat -c %s "$T/prod/assets/app.js")))
check "metrics: production bytes >= bodies sent ($prod_bytes >= $min_bytes)" test "$prod_bytes" -ge "$min_bytes"
check "metrics: production bytes not the whole 3 MB file" test "$prod_bytes" -lt 1000000
hs=$(metric moat_tls_handshakes_total)
check "metrics: TLS handshakes counted ($M_HS0 -> $hs)" test "$hs" -ge $((M_HS0 + 8))
hits=$(metric moat_cache_hits_total)
check "metrics: cache hits counted ($M_HIT0 -> $hits)" test "$hits" -gt "$M_HIT0"
expect_eq "metrics: unknown hosts not counted" "$(metric 'moat_requests_total{site="_other",code_class="2xx"}')" "0"

# Failed handshakes: an unknown SNI (no default_host: refused) and plain HTTP on the TLS port.
fail_total() {
    curl -sS "http://127.0.0.1:$METRICS_PORT/metrics" |
        awk '$1 ~ /^moat_tls_handshake_failures_total/ { s += $2 } END { print s + 0 }'
}
F0=$(fail_total)
U0=$(metric 'moat_tls_handshake_failures_total{reason="unknown_name"}')
out=$(timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername nosuch.example.test </dev/null 2>&1 || true)
expect_no_match "unknown SNI: no certificate sent" "$out" "BEGIN CERTIFICATE"
timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTPS_PORT; printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&3; cat <&3 >/dev/null" || true
# The server counts a failure after its alert is on the wire: wait (bounded) for the counters
# rather than a guessed delay.
for _ in $(seq 100); do
    [ "$(fail_total)" -ge $((F0 + 2)) ] &&
        [ "$(metric 'moat_tls_handshake_failures_total{reason="unknown_name"}')" -ge $((U0 + 1)) ] && break
    sleep 0.1
done
check "metrics: handshake failures counted ($F0 -> $(fail_total))" test "$(fail_total)" -ge $((F0 + 2))
check "metrics: unknown_name failure counted" test "$(metric 'moat_tls_handshake_failures_total{reason="unknown_name"}')" -ge $((U0 + 1))

# Open connections: a TLS connection held open shows in the gauge, then goes away. (A TCP
# connection that sends nothing may not be accepted yet: the listener may defer accept.)
# The connection is held until the gauge was read (or 30 s), not for a guessed time: openssl
# may take a while to start on a loaded machine.
(while [ ! -e "$T/release-hold" ]; do sleep 0.1; done | timeout 30 openssl s_client \
    -connect "127.0.0.1:$HTTPS_PORT" -servername localhost >/dev/null 2>&1) &
HOLD=$!
open_now=0
for _ in $(seq 150); do
    open_now=$(metric moat_open_connections)
    [ "$open_now" -ge 1 ] && break
    sleep 0.1
done
check "metrics: open connection counted ($open_now)" test "$open_now" -ge 1
touch "$T/release-hold"
wait "$HOLD" || true
for _ in $(seq 100); do [ "$(metric moat_open_connections)" = 0 ] && break; sleep 0.1; done
expect_eq "metrics: open connections back to 0" "$(metric moat_open_connections)" "0"
check "metrics: connections_total counted" test "$(metric moat_connections_total)" -ge 10

# Metrics are not on the HTTPS listener, and the metrics listener only answers /metrics.
expect_eq "no /metrics on the site" "$(mcurl -o /dev/null -w '%{http_code}' "$B/metrics")" "404"
expect_eq "metrics listener: other path 404" "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/x")" "404"
expect_eq "metrics listener: POST refused" "$(curl -sS -o /dev/null -w '%{http_code}' -d x "http://127.0.0.1:$METRICS_PORT/metrics")" "405"

# --- stop (flushes the logs), then read them ---
kill -TERM "$MOAT_PID"
set +e; wait "$MOAT_PID"; rc=$?; set -e
expect_eq "stopped with exit 0" "$rc" "0"

LOGS=$T/data/logs/CloudFront
dist_re='E[A-Z2-7]{13}\.[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}\.[A-Za-z0-9]+\.gz'
prod_files=$(cd "$LOGS/production/localhost" 2>/dev/null && ls) || prod_files=""
test_files=$(cd "$LOGS/testing/localhost" 2>/dev/null && ls) || test_files=""
expect_match "production log file name" "$prod_files" "^$dist_re$"
expect_match "testing log file name" "$test_files" "^$dist_re$"
# Same site, same distribution id in both environments; files for the current UTC hour.
expect_eq "same distribution id" "${prod_files%%.*}" "${test_files%%.*}"
hour=$(date -u +%Y-%m-%d-%H)
prev=$(date -u -d '1 hour ago' +%Y-%m-%d-%H)
expect_match "file is for this UTC hour" "$prod_files" "\.($hour|$prev)\."

zcat "$LOGS"/production/localhost/*.gz >"$T/prod.log"
zcat "$LOGS"/testing/localhost/*.gz >"$T/test.log"
find "$LOGS" -name '*.gz' -exec zcat {} + >"$T/all.log"
check "gzip files are valid" bash -c "for f in \$(find '$LOGS' -name '*.gz'); do gzip -t \"\$f\" || exit 1; done"
expect_eq "first line #Version" "$(head -1 "$T/prod.log")" "#Version: 1.0"
expect_eq "#Fields line" "$(sed -n 2p "$T/prod.log")" \
    "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end"
bad=$(grep -v '^#' "$T/all.log" | awk -F'\t' 'NF != 33' | wc -l)
expect_eq "every line has 33 fields" "$bad" "0"
check "log has lines" test "$(grep -vc '^#' "$T/all.log")" -ge 10
# testing and production are kept apart
expect_eq "testing log: only the testing request" "$(grep -vc '^#' "$T/test.log")" "$N_TEST"
check "production log has no testing request" bash -c "! grep -q 'itest%20testing' '$T/prod.log'"
# + the plain-HTTP request + the /metrics 404 on the site
expect_eq "production log: every request" "$(grep -vc '^#' "$T/prod.log")" "$((N_PROD + 2))"

# field NUM UA-SUBSTRING [FILE]: field NUM (1-based) of the line whose User-Agent contains it.
field() {
    awk -F'\t' -v n="$1" -v ua="$2" '$11 ~ ua { print $n; exit }' "${3:-$T/prod.log}"
}
row() { awk -F'\t' -v ua="$1" '$11 ~ ua { for (i = 1; i <= NF; i++) printf "%s%s", $i, (i < NF ? "|" : "\n"); exit }' "${2:-$T/prod.log}"; }

L='itest%20h2%20home'
expect_match "h2 home: date" "$(field 1 "$L")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
expect_match "h2 home: time" "$(field 2 "$L")" '^[0-9]{2}:[0-9]{2}:[0-9]{2}$'
expect_eq "h2 home: x-edge-location = node_id" "$(field 3 "$L")" "itest1"
expect_eq "h2 home: c-ip" "$(field 5 "$L")" "127.0.0.1"
expect_eq "h2 home: method" "$(field 6 "$L")" "GET"
expect_eq "h2 home: cs(Host) = site" "$(field 7 "$L")" "localhost"
expect_eq "h2 home: uri-stem" "$(field 8 "$L")" "/"
expect_eq "h2 home: status" "$(field 9 "$L")" "200"
expect_eq "h2 home: referer" "$(field 10 "$L")" "-"
expect_eq "h2 home: user-agent URL-encoded" "$(field 11 "$L")" "itest%20h2%20home"
expect_eq "h2 home: query" "$(field 12 "$L")" "a=1&b=two"
expect_match "h2 home: request id" "$(field 15 "$L")" '^[A-Za-z0-9_-]{54}==$'
expect_eq "h2 home: x-host-header" "$(field 16 "$L")" "localhost"
expect_eq "h2 home: protocol" "$(field 17 "$L")" "https"
expect_match "h2 home: time-taken" "$(field 19 "$L")" '^[0-9]+\.[0-9]{3}$'
expect_eq "h2 home: ssl-protocol" "$(field 21 "$L")" "TLSv1.3"
expect_match "h2 home: ssl-cipher" "$(field 22 "$L")" '^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$'
expect_eq "h2 home: protocol-version" "$(field 24 "$L")" "HTTP/2.0"
expect_eq "h2 home: fle fields" "$(field 25 "$L")|$(field 26 "$L")" "-|-"
expect_match "h2 home: c-port" "$(field 27 "$L")" '^[1-9][0-9]*$'
expect_eq "h2 home: content-type" "$(field 30 "$L")" "text/html;%20charset=utf-8"
expect_eq "h2 home: content-len" "$(field 31 "$L")" "$(stat -c %s "$T/prod/index.html")"
expect_eq "h2 home: no range" "$(field 32 "$L")|$(field 33 "$L")" "-|-"
# sc-bytes counts what was sent to the viewer, headers included (as CloudFront does).
check "h2 home: sc-bytes counts headers and body ($(field 4 "$L") > $(field 31 "$L"))" \
    test "$(field 4 "$L")" -gt "$(stat -c %s "$T/prod/index.html")"

L='itest%20h1%20css'
expect_eq "h1 css: uri-stem" "$(field 8 "$L")" "/assets/site.css"
expect_eq "h1 css: query" "$(field 12 "$L")" "-"
expect_eq "h1 css: protocol-version" "$(field 24 "$L")" "HTTP/1.1"
expect_eq "h1 css: ssl-protocol" "$(field 21 "$L")" "TLSv1.3"
expect_eq "h1 css: content-type" "$(field 30 "$L")" "text/css;%20charset=utf-8"
check "h1 css: sc-bytes counts headers and body ($(field 4 "$L") > $(field 31 "$L"))" \
    test "$(field 4 "$L")" -gt "$(stat -c %s "$T/prod/assets/site.css")"

L='itest%20range'
expect_eq "range: status" "$(field 9 "$L")" "206"
expect_eq "range: uri-stem" "$(field 8 "$L")" "/big.bin"
expect_eq "range: start/end" "$(field 32 "$L")|$(field 33 "$L")" "100|199"
expect_eq "range: content-len" "$(field 31 "$L")" "100"

L='itest%20head'
expect_eq "head: method" "$(field 6 "$L")" "HEAD"
expect_eq "head: uri-stem" "$(field 8 "$L")" "/docs/"
expect_eq "head: status" "$(field 9 "$L")" "200"

L='itest%20404'
expect_eq "404: status" "$(field 9 "$L")" "404"
expect_eq "404: uri-stem" "$(field 8 "$L")" "/nope/missing.html"
expect_eq "404: result type" "$(field 14 "$L")" "Error"

L='itest%20testing'
expect_eq "testing: x-host-header" "$(field 16 "$L" "$T/test.log")" "test.localhost"
expect_eq "testing: uri-stem" "$(field 8 "$L" "$T/test.log")" "/docs/"
expect_eq "testing: referer" "$(field 10 "$L" "$T/test.log")" "https://example.test/from"

L='itest%20ipv6'
expect_eq "ipv6: c-ip" "$(field 5 "$L")" "::1"
expect_eq "ipv6: content-type" "$(field 30 "$L")" "image/png"

L='itest%20plain'
expect_eq "plain http: protocol" "$(field 17 "$L")" "http"
expect_eq "plain http: ssl-protocol" "$(field 21 "$L")|$(field 22 "$L")" "-|-"
expect_eq "plain http: protocol-version" "$(field 24 "$L")" "HTTP/1.1"
expect_match "plain http: redirect status" "$(field 9 "$L")" '^30[1278]$'
expect_eq "plain http: query" "$(field 12 "$L")" "x=1"
expect_match "plain http: x-host-header" "$(field 16 "$L")" "^localhost(:$HTTP_PORT)?$"

# --- goaccess reads the logs with its CloudFront preset ---
lines=$(grep -vc '^#' "$T/all.log")
if find "$LOGS" -name '*.gz' -exec zcat {} + | (cd "$T" && timeout 30 goaccess - --no-global-config \
    --log-format=CLOUDFRONT --date-format=CLOUDFRONT --time-format=CLOUDFRONT \
    --no-strict-status -o "$T/report.json") >"$T/goaccess.out" 2>&1; then
    pass "goaccess exit 0"
else
    fail "goaccess failed: $(cat "$T/goaccess.out")"
fi
# jr EXPR: evaluates a Python expression over the report `r` (prints "" when it fails).
jr() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/report.json" "$1" 2>/dev/null || true; }
expect_eq "goaccess: total requests = log lines" "$(jr 'r["general"]["total_requests"]')" "$lines"
expect_eq "goaccess: no failed lines" "$(jr 'r["general"]["failed_requests"]')" "0"
expect_match "goaccess: sees the 404" "$(jr '" ".join(d["data"] for d in r["not_found"]["data"])')" "/nope/missing.html"
expect_match "goaccess: TLS type" "$(jr '" ".join(d["data"] for d in r["tls_type"]["data"])')" "TLSv1.3"

# --- the metrics listener defaults to loopback ---
# The default is 127.0.0.1:9100, a port the demo also uses: hold the demo lock meanwhile.
exec 9>/tmp/moat-demo-ports.lock
if flock -w 120 9; then
    sed -i '/^metrics = /d' "$T/moat.toml"
    check "config without metrics key gives no loopback warning" bash -c \
        "! '$MOAT' config check '$T/moat.toml' | grep -q 'edge.metrics'"
    if python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",9100))' 2>/dev/null; then
        : >"$T/moat.log"
        moat_start serve --config "$T/moat.toml"
        wait_port 9100 15 || true
        listeners=$(ss -ltnH "sport = :9100" | awk '{ print $4 }' | sort -u | tr '\n' ' ')
        expect_eq "default metrics listener is 127.0.0.1:9100 only" "$listeners" "127.0.0.1:9100 "
        expect_match "default metrics listener answers" \
            "$(curl -sS --max-time 5 http://127.0.0.1:9100/metrics | head -c 2000)" "moat_requests_total"
        kill -TERM "$MOAT_PID"
        set +e; wait "$MOAT_PID"; set -e
    else
        fail "port 9100 is busy: cannot check the default metrics listener"
    fi
    flock -u 9
else
    fail "demo-port lock not obtained in 120 s"
fi
printf 'data_dir = "%s"\n[edge]\nhttps = []\nhttp = []\nmetrics = "0.0.0.0:%s"\n[sites."localhost"]\nroot = "%s"\n' \
    "$T/data" "$METRICS_PORT" "$T/prod" >"$T/open-metrics.toml"
expect_match "metrics on 0.0.0.0 warns" "$("$MOAT" config check "$T/open-metrics.toml" 2>&1)" \
    "^warning: .*open-metrics\.toml:[0-9]+:[0-9]+: edge\.metrics: .*loopback"

finish
