#!/usr/bin/env bash
# `moat serve --demo`: the banner, the example site on the demo's fixed ports (8443 HTTPS,
# 8080 HTTP, 9100 metrics), certificates for localhost / 127.0.0.1 / ::1, Ctrl-C, and a second
# start that keeps the CA and the user's edits.
source "$(dirname "$0")/lib.sh"

# The demo's ports are fixed: one demo test at a time on this machine.
LOCK=/tmp/moat-demo-ports.lock
exec 9>"$LOCK"
if ! flock -w 120 9; then
    echo "FAIL: another demo test held $LOCK for 120 s" >&2
    exit 1
fi

# moat's listeners may share a port with another moat (SO_REUSEPORT), so a busy port would not
# stop the demo from starting: check that nothing listens before starting it.
ports_free() {
    python3 - <<'EOF'
import socket, sys
busy = []
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    for port in (8443, 8080, 9100, 9000, 9001):
        s = socket.socket(fam, socket.SOCK_STREAM)
        # SO_REUSEADDR: TIME_WAIT leftovers are fine, a listener is not (Linux still refuses).
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            busy.append(f"{host}:{port} ({e.strerror})")
        finally:
            s.close()
if busy:
    print("demo ports busy: " + ", ".join(busy), file=sys.stderr)
    sys.exit(1)
EOF
}
if ! ports_free; then
    echo "FAIL: the demo needs ports 8443, 8080, 9100, 9000 and 9001 free on 127.0.0.1 and ::1" >&2
    exit 1
fi

HTTPS_PORT=8443
DATA=$T/data
CA=$DATA/ca/root.crt

start_demo() {
    : >"$T/moat.log"
    moat_start serve --demo --data "$DATA"
    wait_port 8080 && wait_port 9100
    # The banner is printed once the listeners are bound; give stdout a moment.
    for _ in $(seq 300); do grep -q 'Ctrl-C stops' "$T/moat.log" && break; sleep 0.1; done
}

# stop_demo SIGNAL: sends it, waits up to 10 s; sets STOP_RC and STOP_SECS.
stop_demo() {
    local sig=$1 t0 t1
    t0=$(date +%s%N)
    kill -"$sig" "$MOAT_PID"
    STOP_RC=timeout
    for _ in $(seq 100); do
        if ! kill -0 "$MOAT_PID" 2>/dev/null; then
            set +e; wait "$MOAT_PID"; STOP_RC=$?; set -e
            break
        fi
        sleep 0.1
    done
    t1=$(date +%s%N)
    STOP_SECS=$(((t1 - t0) / 1000000000))
}

fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

# --- first start ---
start_demo

# The banner names the CA file (an absolute path) and how to trust it.
banner=$(cat "$T/moat.log")
check "CA file exists" test -s "$CA"
ca_real=$(realpath "$CA")
banner_ca=$(printf '%s\n' "$banner" | sed -n "s/.*internal CA: //p" | head -1)
expect_eq "banner names the CA path" "$(realpath -m "$banner_ca")" "$ca_real"
expect_no_match "banner paths are clean (no //)" "$banner_ca" "//"
expect_match "banner shows curl --cacert" "$banner" "curl --cacert [^ ]*root\.crt https://localhost:8443/"
expect_match "banner names the testing host" "$banner" "https://test\.localhost:8443/"
expect_match "banner names the metrics URL" "$banner" "http://127\.0\.0\.1:9100/metrics"

# get URL ARGS...: "status|http_version|content_type|redirect_url|ssl_verify_result"
get() {
    local url=$1
    shift
    mcurl -o "$T/body" -w '%{http_code}|%{http_version}|%{content_type}|%{redirect_url}|%{ssl_verify_result}' "$@" "$url" ||
        echo "curl-failed"
}

# HTTP/2 + TLS 1.3 on the home page.
out=$(mcurl -v -o "$T/home.html" https://localhost:8443/ 2>&1) || true
expect_match "TLS 1.3" "$out" "SSL connection using TLSv1\.3"
expect_match "ALPN h2" "$out" "ALPN: server accepted h2"
expect_match "home over HTTP/2 200" "$out" "< HTTP/2 200"
check "home is the production example" grep -q 'It works: moat is serving this site (production)' "$T/home.html"
check "home links the css" grep -q 'href="/css/site.css"' "$T/home.html"
check "home loads the js from a file (no inline script)" grep -q '<script src="/js/app.js"></script>' "$T/home.html"

expect_eq "/docs/ index" "$(get https://localhost:8443/docs/)" "200|2|text/html; charset=utf-8||0"
check "/docs/ is docs/index.html" grep -q '<h1>Docs</h1>' "$T/body"
expect_eq "/docs redirects to /docs/" "$(get https://localhost:8443/docs)" "301|2||https://localhost:8443/docs/|0"
expect_eq "css" "$(get https://localhost:8443/css/site.css)" "200|2|text/css; charset=utf-8||0"
expect_eq "js" "$(get https://localhost:8443/js/app.js)" "200|2|text/javascript; charset=utf-8||0"
expect_eq "png" "$(get https://localhost:8443/img/logo.png)" "200|2|image/png||0"
expect_eq "png magic" "$(head -c 8 "$T/body" | od -An -tx1 | tr -d ' \n')" "89504e470d0a1a0a"
expect_eq "missing page: 404" "$(get https://localhost:8443/missing-page)" "404|2|text/html; charset=utf-8||0"
check "missing page: the site's 404.html" grep -q '404: nothing here' "$T/body"

# Plain HTTP: the home page redirects to HTTPS, anything else is refused.
expect_eq "http / redirects" "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' http://localhost:8080/)" \
    "301 https://localhost:8443/"
expect_eq "http /docs/ is 403" "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' http://localhost:8080/docs/)" "403"
expect_eq "http /missing is 403" "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' 'http://localhost:8080/missing?a=1')" "403"
expect_eq "http over ::1 redirects" "$(curl -sS -g --max-time 10 -o /dev/null -w '%{http_code}' 'http://[::1]:8080/')" "301"

# The testing copy on test.localhost.
expect_eq "testing host" "$(get https://test.localhost:8443/ --resolve test.localhost:8443:127.0.0.1)" \
    "200|2|text/html; charset=utf-8||0"
check "testing host serves the testing copy" grep -q 'It works: moat is serving this site (testing)' "$T/body"

# The certificate is valid for localhost, 127.0.0.1 and ::1 (curl verifies the name or IP).
expect_match "cert valid for 127.0.0.1" "$(get https://127.0.0.1:8443/)" '^[23][0-9][0-9]\|2\|.*\|0$'
expect_match "cert valid for ::1 (-6)" "$(get 'https://[::1]:8443/' -6 -g)" '^[23][0-9][0-9]\|2\|.*\|0$'
expect_match "localhost over ::1" "$(get https://localhost:8443/ -6)" '^200\|2\|'
san=$(openssl s_client -connect 127.0.0.1:8443 -servername localhost </dev/null 2>/dev/null |
    openssl x509 -noout -ext subjectAltName 2>/dev/null | tr -d ' \n')
expect_match "SAN has localhost" "$san" "DNS:localhost(,|$)"
expect_match "SAN has 127.0.0.1" "$san" "IPAddress:127\.0\.0\.1(,|$)"
expect_match "SAN has ::1" "$san" "IPAddress:0:0:0:0:0:0:0:1(,|$)"
check "leaf verifies against the demo CA" bash -c \
    "openssl s_client -connect 127.0.0.1:8443 -servername localhost -CAfile '$CA' -verify_return_error </dev/null 2>&1 | grep -q 'Verify return code: 0 (ok)'"

# Metrics on loopback.
metrics=$(curl -sS --max-time 10 http://127.0.0.1:9100/metrics || true)
expect_match "metrics: production 2xx counted" "$metrics" \
    'moat_requests_total\{site="localhost",env="production",code_class="2xx"\} [1-9]'
expect_match "metrics: testing 2xx counted" "$metrics" \
    'moat_requests_total\{site="localhost",env="testing",code_class="2xx"\} [1-9]'
expect_match "metrics: 404 counted as 4xx" "$metrics" \
    'moat_requests_total\{site="localhost",env="production",code_class="4xx"\} [1-9]'

# Ctrl-C stops it cleanly.
stop_demo INT
expect_eq "SIGINT: exit 0" "$STOP_RC" "0"
check "SIGINT: stopped within 5 s" test "$STOP_SECS" -le 5
check "SIGINT: ports released" ports_free

# --- second start: same CA, user's edits kept ---
fp1=$(fingerprint "$CA")
printf '<!doctype html><title>edited</title><p>my edited home</p>\n' >"$DATA/demo/production/index.html"
printf '\n# my comment\n' >>"$DATA/moat.toml"
start_demo
expect_eq "second start: same CA root" "$(fingerprint "$CA")" "$fp1"
expect_eq "second start: served cert still verifies" "$(get https://localhost:8443/)" "200|2|text/html; charset=utf-8||0"
check "second start: edited folder kept" grep -q 'my edited home' "$DATA/demo/production/index.html"
# Production serves its release (kept across restarts), not the folder it was first made from.
check "second start: production still serves its first release" grep -q 'moat demo (production)' "$T/body"
rel=$(timeout 60 "$MOAT" releases localhost --credentials "$DATA/demo-principals" 2>&1 || true)
expect_match "second start: the demo principals still work, no release re-made" "$rel" "r2"
expect_no_match "second start: no third release" "$rel" "r3" 
check "second start: edited config kept" grep -q '# my comment' "$DATA/moat.toml"
expect_eq "CA key is private (0600)" "$(stat -c %a "$DATA/ca/root.key")" "600"
expect_eq "CA folder is private (0700)" "$(stat -c %a "$DATA/ca")" "700"
stop_demo INT
expect_eq "second SIGINT: exit 0" "$STOP_RC" "0"

finish
