#!/usr/bin/env bash
# SIGHUP reloads (valid: applied live; invalid: refused, old config keeps serving; under load:
# no request fails) and SIGTERM draining (in-flight downloads finish, new connections refused,
# exit 0 within drain_timeout).
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
CA=$T/data/ca/root.crt
make_site "$T/prod" prod
mkdir -p "$T/site2"
printf '<!doctype html><title>two</title><p>second site</p>\n' >"$T/site2/index.html"

# write_config HEADER_VALUE [EXTRA_SITE]: the config with X-Test = value, optionally site2.
write_config() {
    cat >"$T/moat.toml.new" <<EOF
data_dir = "$T/data"
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = []
metrics = ""
workers = 2
drain_timeout = "15s"
[sites."localhost"]
root = "$T/prod"
[sites."localhost".headers]
add = { "X-Test" = "$1" }
EOF
    if [ -n "${2:-}" ]; then
        printf '[sites."site2.localhost"]\nroot = "%s"\n' "$T/site2" >>"$T/moat.toml.new"
    fi
    mv "$T/moat.toml.new" "$T/moat.toml" # atomic: a reload never reads half a file
}
x_test() { mcurl -o /dev/null -D - "https://localhost:$HTTPS_PORT/" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-test" { print $2 }'; }
site2() {
    mcurl -o "$T/s2.html" -w '%{http_code}' --resolve "site2.localhost:$HTTPS_PORT:127.0.0.1" \
        "https://site2.localhost:$HTTPS_PORT/" 2>/dev/null || true
}

write_config v1
moat_start serve --config "$T/moat.toml"
PID0=$MOAT_PID
expect_eq "before reload: X-Test v1" "$(x_test)" "v1"
expect_match "before reload: site2 not served" "$(site2)" "^(000|4[0-9][0-9])$"

# --- a valid change applies without a restart ---
write_config v2 site2
check "SIGHUP (valid) handled" hup
expect_match "reload logged" "$(cat "$T/moat.log")" "reloaded config"
expect_eq "after reload: X-Test v2" "$(x_test)" "v2"
expect_eq "after reload: site2 served (cert verified)" "$(site2)" "200"
check "after reload: site2 content" grep -q 'second site' "$T/s2.html"
check "same process" kill -0 "$PID0"
# The new site's certificate really names it.
san=$(openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername site2.localhost </dev/null 2>/dev/null |
    openssl x509 -noout -ext subjectAltName 2>/dev/null | tr -d ' \n')
expect_match "site2 certificate" "$san" "DNS:site2\.localhost"

# --- an invalid config is refused; the old one keeps serving ---
cp "$T/moat.toml" "$T/good.toml"
cat >"$T/moat.toml.new" <<EOF
data_dir = "$T/data"
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = []
metrics = ""
workers = "two"
[sites."localhost"]
root = "$T/does-not-exist"
EOF
mv "$T/moat.toml.new" "$T/moat.toml"
lines_before=$(wc -l <"$T/moat.log")
check "SIGHUP (invalid) handled" hup
new_log=$(tail -n +"$((lines_before + 1))" "$T/moat.log")
expect_match "refusal logged as an error" "$new_log" "error .*reload refused"
expect_match "refusal names the bad key with file:line:col" "$new_log" "moat\.toml:[0-9]+:[0-9]+: edge\.workers: "
expect_match "refusal names the missing root" "$new_log" "moat\.toml:[0-9]+:[0-9]+: .*root: "
expect_eq "still serving: X-Test v2" "$(x_test)" "v2"
expect_eq "still serving: site2" "$(site2)" "200"
check "still the same process" kill -0 "$PID0"
cp "$T/good.toml" "$T/moat.toml"

# --- no request fails while reloading under load ---
# h2load (HTTP/2, 8 connections) and a curl loop (new TLS connection per request, verifying the
# certificate) run for ~5 s while SIGHUP arrives every 100 ms or so, alternating two valid configs
# (a loaded machine stretches each round: the margin keeps "many reloads" true there too).
curl_loop() {
    local end=$((SECONDS + 5)) ok=0 bad=0 code
    while [ "$SECONDS" -lt "$end" ]; do
        code=$(mcurl --http1.1 -o /dev/null -w '%{http_code}' "https://localhost:$HTTPS_PORT/docs/" 2>>"$T/loop.err") || code=err
        if [ "$code" = 200 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "$code" >>"$T/loop.err"; fi
    done
    echo "$ok $bad" >"$T/loop.out"
}
timeout 30 h2load -c 8 -m 4 -D 5 "https://localhost:$HTTPS_PORT/" >"$T/h2load.out" 2>&1 &
H2=$!
curl_loop &
LOOP=$!
reloads=0
start=$SECONDS
while [ $((SECONDS - start)) -lt 5 ]; do
    if [ $((reloads % 2)) -eq 0 ]; then write_config v3 site2; else write_config v2 site2; fi
    kill -HUP "$MOAT_PID"
    reloads=$((reloads + 1))
    sleep 0.1
done
set +e; wait "$H2"; h2rc=$?; wait "$LOOP"; set -e
expect_eq "h2load exit 0" "$h2rc" "0"
h2req=$(grep '^requests:' "$T/h2load.out" || true)
h2st=$(grep '^status codes:' "$T/h2load.out" || true)
echo "h2load $h2req / $h2st / $reloads reloads"
expect_match "h2load: 0 failed, 0 errored, 0 timeout" "$h2req" " 0 failed, 0 errored, 0 timeout"
done_n=$(printf '%s' "$h2req" | sed -n 's/.* \([0-9]*\) done.*/\1/p')
succ_n=$(printf '%s' "$h2req" | sed -n 's/.* \([0-9]*\) succeeded.*/\1/p')
check "h2load: many requests ($done_n)" test "${done_n:-0}" -ge 500
expect_eq "h2load: all done requests succeeded" "$succ_n" "$done_n"
expect_match "h2load: only 2xx" "$h2st" "^status codes: [0-9]+ 2xx, 0 3xx, 0 4xx, 0 5xx"
read -r loop_ok loop_bad <"$T/loop.out"
expect_eq "curl loop: no failures (of $((loop_ok + loop_bad)))" "$loop_bad" "0"
check "curl loop: requests made" test "$loop_ok" -ge 5
check "many reloads sent ($reloads)" test "$reloads" -ge 10
check "reloads logged" test "$(grep -c 'reloaded config' "$T/moat.log")" -ge 10
check "no reload refused under load" test "$(grep -c 'reload refused' "$T/moat.log")" -eq 1
check "still the same process after reload storm" kill -0 "$PID0"

# --- SIGTERM drains ---
# 40 MB downloads at 10 MB/s, one over HTTP/2 and one over HTTP/1.1, start before SIGTERM and
# must finish intact (the file is larger than loopback socket buffers, so moat is still sending
# when SIGTERM arrives); new connections are refused once SIGTERM arrives; moat exits 0 before
# drain_timeout (15 s).
head -c 40000000 /dev/urandom >"$T/prod/huge.bin"
want=$(sha256sum <"$T/prod/huge.bin" | cut -d' ' -f1)
mcurl --max-time 30 --http2 --limit-rate 10M -o "$T/dl2.bin" "https://localhost:$HTTPS_PORT/huge.bin" 2>"$T/dl2.err" &
DL2=$!
mcurl --max-time 30 --http1.1 --limit-rate 10M -o "$T/dl1.bin" "https://localhost:$HTTPS_PORT/huge.bin" 2>"$T/dl1.err" &
DL1=$!
# An idle keep-alive connection must not hold up the exit.
(sleep 20 | openssl s_client -quiet -connect "127.0.0.1:$HTTPS_PORT" -servername localhost >/dev/null 2>&1) &
IDLE=$!
# SIGTERM only once both downloads have their first bytes and the idle connection is up: on a
# loaded machine the clients may take longer than any fixed delay to get there.
for _ in $(seq 150); do
    [ -s "$T/dl2.bin" ] && [ -s "$T/dl1.bin" ] &&
        [ "$(ss -Htn state established "( dport = :$HTTPS_PORT )" | wc -l)" -ge 3 ] && break
    sleep 0.1
done
check "downloads in flight" test -s "$T/dl2.bin" -a -s "$T/dl1.bin"
t0=$(date +%s%N)
kill -TERM "$MOAT_PID"
sleep 0.3
refused=no
for _ in $(seq 20); do
    if ! curl -sS --max-time 2 --cacert "$CA" -o /dev/null "https://localhost:$HTTPS_PORT/" 2>/dev/null; then
        refused=yes
        break
    fi
    sleep 0.1
done
expect_eq "new connections refused while draining" "$refused" "yes"
check "still draining while the downloads run" kill -0 "$MOAT_PID"
set +e; wait "$DL2"; dl2rc=$?; wait "$DL1"; dl1rc=$?; set -e
t_dl=$(date +%s%N)
expect_eq "HTTP/2 download finished (curl exit 0) $(cat "$T/dl2.err")" "$dl2rc" "0"
expect_eq "HTTP/2 download intact (sha256)" "$(sha256sum <"$T/dl2.bin" | cut -d' ' -f1)" "$want"
expect_eq "HTTP/1.1 download finished (curl exit 0) $(cat "$T/dl1.err")" "$dl1rc" "0"
expect_eq "HTTP/1.1 download intact (sha256)" "$(sha256sum <"$T/dl1.bin" | cut -d' ' -f1)" "$want"
rc=timeout
for _ in $(seq 200); do
    if ! kill -0 "$MOAT_PID" 2>/dev/null; then set +e; wait "$MOAT_PID"; rc=$?; set -e; break; fi
    sleep 0.1
done
t1=$(date +%s%N)
expect_eq "SIGTERM: exit 0" "$rc" "0"
check "exited within drain_timeout ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 15000
# Soon: a server held up by the idle connection would run to drain_timeout, some 10 s after the
# downloads; a loaded machine was seen to take 0.7 s to wind down, so 2 s was too close.
check "exited soon after the last download ($(((t1 - t_dl) / 1000000)) ms)" test $(((t1 - t_dl) / 1000000)) -lt 5000
expect_match "drain logged" "$(cat "$T/moat.log")" "draining"
kill "$IDLE" 2>/dev/null || true

finish
