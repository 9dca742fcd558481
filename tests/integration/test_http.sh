#!/usr/bin/env bash
# HTTP/1.1 and HTTP/2 behaviour over real clients (curl, nghttp, h2load) and raw sockets
# (python3): keep-alive, pipelining, HTTP/2 settings and many streams, both address families,
# the clear-text port, strict request parsing, size limits and their settings, methods.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
HTTP_PORT=$(free_port)
export CA="$T/data/ca/root.crt"
make_site "$T/site" prod

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"

[edge]
https = ["127.0.0.1:$HTTPS_PORT", "[::1]:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT", "[::1]:$HTTP_PORT"]
metrics = ""
workers = 2

[sites."a.moat.test"]
root = "$T/site"

[sites."127.0.0.1"]
root = "$T/site"

[sites."::1"]
root = "$T/site"
EOF
moat_start serve --config "$T/moat.toml"
MAIN_PID=$MOAT_PID
MAIN_PORT=$HTTPS_PORT

# raw.py MODE PORT [HOST]: sends stdin in one write over TLS (SNI HOST unless it is
# 127.0.0.1 or ::1, which are reached without SNI; ALPN http/1.1) or
# plain TCP, prints everything received until the server closes or stays quiet for 2 s once
# it has answered (up to 10 s for the first bytes: a loaded machine may be slower than 2 s).
cat > "$T/raw.py" <<'PY'
import socket, ssl, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
host = sys.argv[3] if len(sys.argv) > 3 else "a.moat.test"
addr = "::1" if host == "::1" else "127.0.0.1"
sni = None if host in ("::1", "127.0.0.1") else host  # IP literals: no SNI
payload = sys.stdin.buffer.read()
s = socket.create_connection((addr, port), timeout=5)
if mode == "tls":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    s = ctx.wrap_socket(s, server_hostname=sni)
s.sendall(payload)
out = b""
deadline = time.time() + 12
try:
    while time.time() < deadline:
        s.settimeout(2 if out else 10)
        b = s.recv(65536)
        if not b:
            break
        out += b
except (socket.timeout, ssl.SSLError, ConnectionResetError):
    pass
sys.stdout.buffer.write(out)
PY
raw() { timeout 20 python3 "$T/raw.py" "$@" || true; }
# Status codes of every response in a raw reply, space separated.
statuses() { grep -a -o -E '^HTTP/1\.[01] [0-9]{3}' | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//'; }
req_status() { raw tls "$MAIN_PORT" | statuses; }
plain_status() { raw plain "$HTTP_PORT" | statuses; }
code() { mcurl -o /dev/null -w '%{http_code}' "$@"; }
# code_and FORMAT ARGS...: the status, a space, then the -w FORMAT.
code_and() { local f=$1; shift; mcurl -o /dev/null -w "%{http_code} $f" "$@"; }
U="https://a.moat.test:$HTTPS_PORT"
R=(--resolve "a.moat.test:$HTTPS_PORT:127.0.0.1")

# ---- HTTP/1.1 basics and keep-alive ----
expect_eq "HTTP/1.1 GET" "$(code_and '%{http_version}' --http1.1 "${R[@]}" "$U/")" "200 1.1"
out=$(mcurl -v --http1.1 "${R[@]}" -o /dev/null -o /dev/null "$U/" "$U/docs/" 2>&1)
expect_match "keep-alive: second request re-uses the connection" "$out" 'Re-using existing connection'
expect_eq "keep-alive: one connect for three requests" \
    "$(mcurl --http1.1 "${R[@]}" -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}' \
        "$U/" "$U/docs/" "$U/assets/app.js" | tr -d '\n')" "100"
expect_eq "HEAD has headers only" "$(mcurl --http1.1 "${R[@]}" -I -o /dev/null -w '%{http_code} %{size_download}' "$U/")" "200 0"

# ---- pipelining: three requests in one write, three answers in order ----
out=$(printf 'GET / HTTP/1.1\r\nHost: a.moat.test\r\n\r\nGET /docs/ HTTP/1.1\r\nHost: a.moat.test\r\n\r\nGET /nope HTTP/1.1\r\nHost: a.moat.test\r\nConnection: close\r\n\r\n' \
    | raw tls "$MAIN_PORT")
expect_eq "pipelined: three statuses in order" "$(statuses <<<"$out")" "200 200 404"
expect_eq "pipelined: bodies in order" \
    "$(grep -a -o -E 'prod (home|docs|not found page)' <<<"$out" | tr '\n' ',')" \
    "prod home,prod docs,prod not found page,"
out=$(printf 'GET / HTTP/1.1\r\nHost: a.moat.test\r\n\r\nGET /docs/ HTTP/1.1\r\nHost: a.moat.test\r\n\r\nGET /nope HTTP/1.1\r\nHost: a.moat.test\r\nConnection: close\r\n\r\n' \
    | raw plain "$HTTP_PORT")
expect_eq "pipelined on the clear-text port" "$(statuses <<<"$out")" "301 403 403"
# Connection: close with nothing after it closes at once; with bytes after it the server
# lingers, so the kernel does not answer them with RST and cut the response (RFC 9112 §9.6).
big_size=$(stat -c %s "$T/site/big.bin")
got=$(printf 'GET /big.bin HTTP/1.1\r\nHost: a.moat.test\r\nConnection: close\r\n\r\n' \
    | raw tls "$MAIN_PORT" | wc -c)
expect_eq "close after the response: whole body" "$(( got > big_size ))" 1
got=$(printf 'GET /big.bin HTTP/1.1\r\nHost: a.moat.test\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a.moat.test\r\n\r\n' \
    | raw tls "$MAIN_PORT" | wc -c)
expect_eq "close with unread bytes after it: whole body, no reset" "$(( got > big_size ))" 1

# ---- HTTP/2 ----
expect_eq "curl --http2" "$(code_and '%{http_version}' --http2 "${R[@]}" "$U/")" "200 2"
out=$(timeout 15 nghttp -nv "https://127.0.0.1:$HTTPS_PORT/" 2>&1 || true)
expect_match "nghttp: h2 negotiated" "$out" 'The negotiated protocol: h2'
expect_match "nghttp: SETTINGS max concurrent streams" "$out" 'SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):128'
expect_match "nghttp: SETTINGS max header list" "$out" 'SETTINGS_MAX_HEADER_LIST_SIZE\(0x06\):16384'
expect_match "nghttp: SETTINGS no RFC 7540 priorities" "$out" 'SETTINGS_NO_RFC7540_PRIORITIES\(0x09\):1'
expect_match "nghttp: :status 200" "$out" ':status: 200'
expect_no_match "nghttp: no connection-specific headers" "$out" 'recv \(stream_id=[0-9]+\) (connection|keep-alive|transfer-encoding):'
# Rows of nghttp -s statistics with status 200.
ok200() { awk '$1 ~ /^[0-9]+$/ && $5 == 200' | wc -l; }
urls=()
for i in $(seq 50); do urls+=("https://127.0.0.1:$HTTPS_PORT/assets/app.js?i=$i"); done
out=$(timeout 20 nghttp -n -s "${urls[@]}" 2>&1 || true)
expect_eq "nghttp: 50 streams on one connection, all answered" \
    "$(ok200 <<<"$out")" 50
out=$(timeout 20 nghttp -n -s -m 50 "https://127.0.0.1:$HTTPS_PORT/docs/" 2>&1 || true)
expect_eq "nghttp -m 50: 50 responses" "$(ok200 <<<"$out")" 50
out=$(timeout 40 h2load -n 2000 -c 4 -m 20 "https://127.0.0.1:$HTTPS_PORT/assets/app.js" 2>&1 || true)
expect_match "h2load: 2000 requests, none failed" "$out" 'requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored'
expect_match "h2load: all 2xx" "$out" 'status codes: 2000 2xx'
expect_match "h2load: h2" "$out" 'Application protocol: h2'
out=$(timeout 40 h2load -n 400 -c 4 --h1 "https://127.0.0.1:$HTTPS_PORT/assets/app.js" 2>&1 || true)
expect_match "h2load --h1: 400 keep-alive requests" "$out" '400 succeeded, 0 failed, 0 errored'
# Many big responses on one connection: flow control and interleaving keep data intact.
want=$(sha256sum "$T/site/big.bin" | cut -d' ' -f1)
mcurl --no-progress-meter --http2 "${R[@]}" --parallel --parallel-max 5 -o "$T/p1" -o "$T/p2" -o "$T/p3" \
    "$U/big.bin" "$U/big.bin" "$U/big.bin"
for f in p1 p2 p3; do
    expect_eq "h2 parallel big download $f intact" "$(sha256sum "$T/$f" | cut -d' ' -f1)" "$want"
done

# ---- both address families, both protocols ----
expect_eq "IPv4 HTTP/1.1" "$(code_and '%{remote_ip}' -4 --http1.1 "https://127.0.0.1:$HTTPS_PORT/")" "200 127.0.0.1"
expect_eq "IPv6 HTTP/1.1" "$(code_and '%{remote_ip}' -6 --http1.1 "https://[::1]:$HTTPS_PORT/")" "200 ::1"
expect_eq "IPv4 HTTP/2" "$(code_and '%{http_version}' -4 --http2 "https://127.0.0.1:$HTTPS_PORT/")" "200 2"
expect_eq "IPv6 HTTP/2" "$(code_and '%{http_version}' -6 --http2 "https://[::1]:$HTTPS_PORT/")" "200 2"
expect_eq "IPv6 with SNI" "$(code_and '%{remote_ip}' -6 --resolve "a.moat.test:$HTTPS_PORT:::1" "$U/")" "200 ::1"
expect_eq "clear-text port: paths other than / refused (redirect-home)" \
    "$(curl -sS -4 --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: a.moat.test' "http://127.0.0.1:$HTTP_PORT/docs/?x=1")" \
    "403 "
expect_eq "clear-text port IPv4 / -> HTTPS" \
    "$(curl -sS -4 --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: a.moat.test' "http://127.0.0.1:$HTTP_PORT/")" \
    "301 https://a.moat.test:$HTTPS_PORT/"
expect_eq "clear-text port IPv6" \
    "$(curl -sS -6 --max-time 10 -o /dev/null -w '%{http_code}' -H 'Host: a.moat.test' "http://[::1]:$HTTP_PORT/")" 301
out=$(curl -sS -v --max-time 10 -o /dev/null -o /dev/null -H 'Host: a.moat.test' \
    "http://127.0.0.1:$HTTP_PORT/" "http://127.0.0.1:$HTTP_PORT/" 2>&1)
expect_match "clear-text keep-alive" "$out" 'Re-using existing connection'

# ---- strict parsing (raw TLS, HTTP/1.1) ----
H='Host: a.moat.test\r\n'
expect_eq "valid raw request" "$(printf "GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n" | req_status)" 200
expect_eq "Content-Length + Transfer-Encoding -> 400" \
    "$(printf "POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" | req_status)" 400
expect_eq "two different Content-Length -> 400" \
    "$(printf "GET / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab" | req_status)" 400
expect_eq "Transfer-Encoding not ending in chunked -> 400" \
    "$(printf "GET / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n" | req_status)" 400
expect_eq "obs-fold -> 400" "$(printf "GET / HTTP/1.1\r\n${H}X-A: one\r\n two\r\n\r\n" | req_status)" 400
expect_eq "bare LF line ends -> 400" "$(printf 'GET / HTTP/1.1\nHost: a.moat.test\n\n' | req_status)" 400
expect_eq "bare LF inside the head -> 400" "$(printf "GET / HTTP/1.1\r\n${H}X-A: 1\nX-B: 2\r\n\r\n" | req_status)" 400
expect_eq "bare CR -> 400" "$(printf "GET / HTTP/1.1\r\n${H}X-A: 1\rX-B: 2\r\n\r\n" | req_status)" 400
expect_eq "control char in header value -> 400" "$(printf "GET / HTTP/1.1\r\n${H}X-A: a\001b\r\n\r\n" | req_status)" 400
expect_eq "NUL in header value -> 400" "$(printf "GET / HTTP/1.1\r\n${H}X-A: a\000b\r\n\r\n" | req_status)" 400
expect_eq "space before colon -> 400" "$(printf "GET / HTTP/1.1\r\n${H}X-A : b\r\n\r\n" | req_status)" 400
expect_eq "missing Host on HTTP/1.1 -> 400" "$(printf 'GET / HTTP/1.1\r\nX-A: b\r\n\r\n' | req_status)" 400
expect_eq "duplicate Host -> 400" "$(printf "GET / HTTP/1.1\r\n${H}${H}\r\n" | req_status)" 400
expect_eq "invalid Host -> 400" "$(printf 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n' | req_status)" 400
expect_eq "HTTP/1.0 without Host works" "$(printf 'GET / HTTP/1.0\r\n\r\n' | req_status)" 200
expect_eq "HTTP/1.0 without Host, no SNI, IPv4" \
    "$(printf 'GET / HTTP/1.0\r\n\r\n' | raw tls "$MAIN_PORT" 127.0.0.1 | statuses)" 200
expect_eq "HTTP/1.0 without Host, no SNI, IPv6" \
    "$(printf 'GET / HTTP/1.0\r\n\r\n' | raw tls "$MAIN_PORT" ::1 | statuses)" 200
out=$(printf 'GET /docs/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n' | raw tls "$MAIN_PORT")
expect_eq "HTTP/1.0 keep-alive on request" "$(statuses <<<"$out")" "200 200"
expect_match "HTTP/1.0 keep-alive answered with Keep-Alive" "$(tr -d '\r' <<<"$out")" '^Connection: keep-alive$'
expect_eq "HTTP/2.0 request line -> 505" "$(printf "GET / HTTP/2.0\r\n${H}\r\n" | req_status)" 505
expect_eq "lower-case version -> 400" "$(printf "GET / http/1.1\r\n${H}\r\n" | req_status)" 400
expect_eq "fragment in target -> 400" "$(printf "GET /#x HTTP/1.1\r\n${H}\r\n" | req_status)" 400
expect_eq "bad percent-encoding -> 400" "$(printf "GET /%%zz HTTP/1.1\r\n${H}\r\n" | req_status)" 400
expect_eq "CONNECT authority-form -> 400" "$(printf "CONNECT a.moat.test:443 HTTP/1.1\r\n${H}\r\n" | req_status)" 400
expect_eq "absolute-form works" \
    "$(printf "GET https://a.moat.test/ HTTP/1.1\r\n${H}Connection: close\r\n\r\n" | req_status)" 200
expect_eq "error closes the connection (no second answer)" \
    "$(printf "GET / HTTP/1.1\r\nX: y\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n" | req_status)" 400
expect_eq "bare LF on the clear-text port -> 400" "$(printf 'GET / HTTP/1.1\nHost: a.moat.test\n\n' | plain_status)" 400
expect_eq "missing Host on the clear-text port -> 400" "$(printf 'GET / HTTP/1.1\r\n\r\n' | plain_status)" 400

# ---- size limits with the defaults (16384 head, 8192 target) ----
pad() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }
expect_eq "default: 3000-byte header accepted" \
    "$(printf "GET / HTTP/1.1\r\n${H}X-Big: %s\r\nConnection: close\r\n\r\n" "$(pad 3000)" | req_status)" 200
expect_eq "default: 20000-byte header -> 431" \
    "$(printf "GET / HTTP/1.1\r\n${H}X-Big: %s\r\n\r\n" "$(pad 20000)" | req_status)" 431
expect_eq "default: 101 header fields -> 431" \
    "$(for i in $(seq 101); do printf 'X-F%d: v\r\n' "$i"; done | { printf "GET / HTTP/1.1\r\n${H}"; cat; printf '\r\n'; } | req_status)" 431
expect_eq "default: 1000-byte target accepted (404)" \
    "$(printf "GET /%s HTTP/1.1\r\n${H}Connection: close\r\n\r\n" "$(pad 1000)" | req_status)" 404
expect_eq "default: 9000-byte target -> 414" \
    "$(printf "GET /%s HTTP/1.1\r\n${H}\r\n" "$(pad 9000)" | req_status)" 414
expect_eq "curl: 20000-byte header -> 431" "$(code --http1.1 "${R[@]}" -H "X-Big: $(pad 20000)" "$U/")" 431
expect_eq "curl h2: 20000-byte header -> 431" "$(code --http2 "${R[@]}" -H "X-Big: $(pad 20000)" "$U/")" 431

# ---- methods ----
for m in POST PUT DELETE OPTIONS PATCH; do
    for v in --http1.1 --http2; do
        out=$(mcurl "$v" "${R[@]}" -X "$m" -D - -o /dev/null "$U/" | tr -d '\r')
        expect_match "$m $v -> 405" "$out" '^HTTP/[0-9.]+ 405'
        expect_match "$m $v: Allow: GET, HEAD" "$out" '^[Aa]llow: GET, HEAD$'
    done
done
out=$(mcurl --http1.1 "${R[@]}" -d 'x=1' -D - -o /dev/null "$U/" | tr -d '\r')
expect_match "POST with a body -> 405" "$out" '^HTTP/1.1 405'
# A body larger than the server reads (64 KiB on HTTP/2) is answered, not reset.
head -c 3000000 /dev/urandom > "$T/upload.bin"
for v in --http1.1 --http2; do
    expect_eq "POST with a 3 MB body $v -> 405" \
        "$(code "$v" "${R[@]}" --data-binary @"$T/upload.bin" "$U/")" 405
done
expect_eq "lower-case get is another method -> 405" \
    "$(printf "get / HTTP/1.1\r\n${H}Connection: close\r\n\r\n" | req_status)" 405

# ---- a second server with smaller head limits: the settings move the thresholds ----
HTTPS_PORT=$(free_port)
sed -e "s/127.0.0.1:$MAIN_PORT/127.0.0.1:$HTTPS_PORT/; s/\[::1\]:$MAIN_PORT/[::1]:$HTTPS_PORT/" \
    -e '/^http = /d' -e "s|^data_dir = .*|data_dir = \"$T/data2\"|" \
    -e 's/^\[edge\]$/[edge]\nmax_header_bytes = 2048\nmax_target_bytes = 512\nmax_headers = 10/' \
    "$T/moat.toml" > "$T/small.toml"
sed -i 's/^\[edge\]$/[edge]\nhttp = []/' "$T/small.toml"
check "small-limits config is valid" "$MOAT" config check "$T/small.toml" >/dev/null
moat_start serve --config "$T/small.toml"
SMALL_PID=$MOAT_PID
small() { raw tls "$HTTPS_PORT" | statuses; }
expect_eq "limits: 1500-byte header accepted" \
    "$(printf "GET / HTTP/1.1\r\n${H}X-Big: %s\r\nConnection: close\r\n\r\n" "$(pad 1500)" | small)" 200
expect_eq "limits: 3000-byte header -> 431" \
    "$(printf "GET / HTTP/1.1\r\n${H}X-Big: %s\r\n\r\n" "$(pad 3000)" | small)" 431
expect_eq "limits: 400-byte target accepted (404)" \
    "$(printf "GET /%s HTTP/1.1\r\n${H}Connection: close\r\n\r\n" "$(pad 400)" | small)" 404
expect_eq "limits: 600-byte target -> 414" "$(printf "GET /%s HTTP/1.1\r\n${H}\r\n" "$(pad 600)" | small)" 414
expect_eq "limits: 11 header fields -> 431" \
    "$(for i in $(seq 11); do printf 'X-F%d: v\r\n' "$i"; done | { printf "GET / HTTP/1.1\r\n${H}"; cat; printf '\r\n'; } | small)" 431
expect_eq "limits: 9 header fields accepted" \
    "$(for i in $(seq 8); do printf 'X-F%d: v\r\n' "$i"; done | { printf "GET / HTTP/1.1\r\n${H}"; cat; printf '\r\n'; } | small)" 200
expect_eq "limits: curl 3000-byte header -> 431" \
    "$(CA="$T/data2/ca/root.crt" code --http1.1 --resolve "a.moat.test:$HTTPS_PORT:127.0.0.1" -H "X-Big: $(pad 3000)" "https://a.moat.test:$HTTPS_PORT/")" 431

# ---- a second moat on an address in use refuses to start (no silent SO_REUSEPORT sharing) ----
sed -e "s|^data_dir = .*|data_dir = \"$T/data3\"|" "$T/moat.toml" > "$T/dup.toml"
set +e
timeout 20 "$MOAT" serve --config "$T/dup.toml" >"$T/dup.log" 2>&1
rc=$?
set -e
expect_match "second moat on the same port exits with an error" "$rc" '^[12]$'
expect_match "second moat names the address in use" "$(cat "$T/dup.log")" "127.0.0.1:$MAIN_PORT: Address already in use"

# ---- bad input never crashed anything ----
for p in "$MAIN_PID" "$SMALL_PID"; do check "moat $p still running" kill -0 "$p"; done
expect_eq "main server still serves" "$(code "https://127.0.0.1:$MAIN_PORT/")" 200
expect_eq "small-limits server still serves" "$(CA="$T/data2/ca/root.crt" code "https://127.0.0.1:$HTTPS_PORT/")" 200
finish
