#!/usr/bin/env bash
# `moat audit` against moat itself (serve --root, and a config like the demo's): A+ on the TLS
# and both header cards; `moat config check` prints the same header grade offline and enforces
# headers.min_grade; bad input (nothing listening, garbage, a silent server, a TLS alert, an
# unknown host) gives a clear error within the timeout, never a hang.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
HTTP_PORT=$(free_port)
make_site "$T/site" prod
q() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
run() {  # run ARGS...: moat's stdout in OUT, stderr in ERR, exit code in RC, seconds in SECS
    local start
    start=$(date +%s.%N)
    set +e
    OUT=$(timeout 60 "$MOAT" "$@" 2>"$T/err")
    RC=$?
    set -e
    ERR=$(cat "$T/err")
    SECS=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
}

# ---- moat serve --root: every default ----
moat_start serve --root "$T/site" --listen "127.0.0.1:$HTTPS_PORT" --listen "[::1]:$HTTPS_PORT" \
    --data "$T/data"
CA=$T/data/ca/root.crt
run audit "https://localhost:$HTTPS_PORT" --ca "$CA" --http-port "$HTTP_PORT" --json --min-grade A+
echo "audit of serve --root took ${SECS}s"
J=$T/root.json
printf '%s\n' "$OUT" >"$J"
expect_eq "root: exit 0 with --min-grade A+" "$RC" "0"
expect_eq "root: TLS A+" "$(q "$J" "d['tls']['grade']['grade']")" "A+"
expect_eq "root: scores 100/100/90 -> 96" \
    "$(q "$J" "'%d %d %d %d' % (d['tls']['grade']['protocol_score'], d['tls']['grade']['key_exchange_score'], d['tls']['grade']['cipher_score'], d['tls']['grade']['score'])")" \
    "100 100 90 96"
expect_eq "root: no caps, no warnings" \
    "$(q "$J" "len(d['tls']['grade']['caps']) + len(d['tls']['grade']['warnings'])")" "0"
expect_eq "root: TLS 1.2 and 1.3 only" "$(q "$J" "' '.join(d['tls']['offered'])")" "TLSv1.2 TLSv1.3"
expect_match "root: TLS 1.0 refused" "$(q "$J" "d['tls']['protocols'][0]['refusal']")" "protocol version"
expect_eq "root: all suites AEAD + FS" \
    "$(q "$J" "all(s['aead'] and s['forward_secret'] for p in d['tls']['protocols'] for s in p['suites'])")" "True"
expect_eq "root: server order enforced (TLS 1.2)" "$(q "$J" "d['tls']['protocols'][2]['server_order']")" "True"
expect_match "root: X25519 offered" "$(q "$J" "d['tls']['groups']")" "X25519"
expect_eq "root: secure renegotiation" "$(q "$J" "d['tls']['secure_renegotiation']")" "True"
expect_eq "root: resumption" "$(q "$J" "d['tls']['resumption']")" "True"
expect_eq "root: ECDSA P-256 certificate, trusted, name matches" \
    "$(q "$J" "'%s %d %s %s' % (d['tls']['certificate']['key_type'], d['tls']['certificate']['key_bits'], d['tls']['certificate']['trusted'], d['tls']['certificate']['name_match'])")" \
    "EC 256 True True"
expect_eq "root: securityheaders A+" "$(q "$J" "d['http']['securityheaders']['grade']")" "A+"
expect_eq "root: observatory 130 A+" \
    "$(q "$J" "'%d %s' % (d['http']['observatory']['score'], d['http']['observatory']['grade'])")" "130 A+"
expect_eq "root: no leaks, no deprecated headers" \
    "$(q "$J" "len(d['http']['leaks']) + len(d['http']['deprecated'])")" "0"
expect_eq "root: HTTP/2 via ALPN" "$(q "$J" "d['transport']['http2']")" "True"
expect_eq "root: port 80 refused (nothing listening)" "$(q "$J" "d['transport']['http_port']['summary']")" "refuse"
expect_eq "root: overall A+" "$(q "$J" "d['grade']")" "A+"

# Over IPv6 with --resolve: SNI localhost, connected to ::1.
run audit "https://localhost:$HTTPS_PORT" --resolve "localhost:[::1]" --ca "$CA" \
    --http-port "$HTTP_PORT" --json
J6=$T/v6.json
printf '%s\n' "$OUT" >"$J6"
expect_eq "root v6: probed at ::1" "$(q "$J6" "d['target']['address']")" "[::1]:$HTTPS_PORT"
expect_eq "root v6: reachable over IPv6" "$(q "$J6" "d['transport']['ipv6']['reachable']")" "True"
expect_eq "root v6: grade" "$(q "$J6" "d['tls']['grade']['grade']")" "A+"
# By address, no SNI: the default certificate names localhost, not ::1 -> M (name mismatch).
run audit "https://[::1]:$HTTPS_PORT" --ca "$CA" --http-port "$HTTP_PORT" --json
printf '%s\n' "$OUT" >"$J6"
expect_eq "root by IP: grade M" "$(q "$J6" "d['tls']['grade']['grade']")" "M"
expect_match "root by IP: name-mismatch cap" "$(q "$J6" "d['tls']['grade']['caps']")" "name-mismatch"
expect_eq "root by IP: A+ if trusted" "$(q "$J6" "d['tls']['grade']['grade_if_trusted']")" "A+"
kill -TERM "$MOAT_PID"
wait "$MOAT_PID" 2>/dev/null || true

# ---- a config like the demo's: redirect-home on the HTTP port ----
HTTPS_PORT=$(free_port)
HTTP_PORT=$(free_port)
cat >"$T/moat.toml" <<EOF
data_dir = "$T/data2"

[edge]
https = ["127.0.0.1:$HTTPS_PORT", "[::1]:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT", "[::1]:$HTTP_PORT"]
metrics = ""

[sites."localhost"]
aliases = ["127.0.0.1", "[::1]", "www.localhost"]
http = "redirect-home"

[sites."localhost".headers]
min_grade = "A+"

[sites."localhost".environments.production]
root = "$T/site"
EOF
run config check "$T/moat.toml"
expect_eq "demo config: check exit 0" "$RC" "0"
expect_match "demo config: offline header grade" "$OUT" \
    'site localhost: header grade A\+ \(securityheaders A\+, observatory 130 A\+\)'
moat_start serve --config "$T/moat.toml"
run audit "https://localhost:$HTTPS_PORT" --ca "$T/data2/ca/root.crt" --http-port "$HTTP_PORT" --min-grade A+
expect_eq "demo: exit 0 with --min-grade A+" "$RC" "0"
expect_match "demo: TLS A+" "$OUT" "== TLS  grade A\+ "
expect_match "demo: headers A+ on both cards" "$OUT" "grade A\+  \(securityheaders A\+, observatory 130 / A\+\)"
expect_match "demo: port 80 redirects the home page only" "$OUT" "port 80: redirect home only"
expect_match "demo: overall" "$OUT" "Overall grade: A\+"
expect_match "demo: MTA-STS pointer" "$OUT" "moat check mail localhost"

# ---- config check: a weak policy under its minimum is refused, naming the key ----
cat >"$T/weak.toml" <<EOF
[edge]
https = ["127.0.0.1:8443"]
http = []
[sites."a.example.com"]
root = "$T/site"
[sites."a.example.com".headers]
content_security_policy = "default-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
min_grade = "A"
[sites."b.example.com"]
root = "$T/site"
[sites."b.example.com".headers]
min_grade = "Z"
EOF
run config check "$T/weak.toml"
expect_eq "weak config: exit 2" "$RC" "2"
expect_match "weak config: bad grade named" "$OUT" 'sites\."b\.example\.com"\.headers\.min_grade: "Z" is not a grade'
cat >"$T/weak.toml" <<EOF
[edge]
https = ["127.0.0.1:8443"]
http = []
[sites."a.example.com"]
root = "$T/site"
[sites."a.example.com".headers]
content_security_policy = "default-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
min_grade = "A"
EOF
run config check "$T/weak.toml"
expect_eq "weak config: below minimum exit 2" "$RC" "2"
expect_match "weak config: grade printed" "$OUT" "site a.example.com: header grade B\+"
expect_match "weak config: refusal names the key and reason" "$OUT" \
    "sites\.\"a\.example\.com\"\.headers\.min_grade: the header policy grades B\+ .*below the minimum A: .*unsafe-inline"

# ---- bad input: each a clear error within the timeout ----
DEAD=$(free_port)
run audit "https://localhost:$DEAD" --timeout 2
expect_eq "refused: exit 1" "$RC" "1"
expect_match "refused: says so" "$OUT" "TLS: FAILED: connect 127.0.0.1:$DEAD: Connection refused"

# A server that accepts and never answers; one that answers garbage.
SILENT=$(free_port)
GARBAGE=$(free_port)
python3 - "$SILENT" "$GARBAGE" >"$T/py.log" 2>&1 <<'PY' &
import socket, sys, threading, time
def serve(port, reply):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(16)
    keep = []
    while True:
        c, _ = s.accept(); keep.append(c)
        if reply:
            try: c.recv(4096); c.sendall(reply); c.close()
            except OSError: pass
threading.Thread(target=serve, args=(int(sys.argv[1]), None), daemon=True).start()
threading.Thread(target=serve, args=(int(sys.argv[2]), b"220 smtp.example ESMTP not TLS at all\r\n" * 20), daemon=True).start()
time.sleep(300)
PY
PIDS+=($!)
wait_port "$SILENT"
wait_port "$GARBAGE"
run audit "https://localhost:$SILENT" --timeout 2
expect_eq "silent: exit 1" "$RC" "1"
expect_match "silent: handshake timed out" "$OUT" "TLS: FAILED: TLS handshake timed out"
check "silent: within the timeout (+1 s)" python3 -c "import sys; sys.exit(0 if $SECS < 3.5 else 1)"
echo "silent server: ${SECS}s"
run audit "https://localhost:$GARBAGE" --timeout 2
expect_eq "garbage: exit 1" "$RC" "1"
expect_match "garbage: not TLS" "$OUT" "does not speak TLS"

# A TLS server that alerts every handshake: PSK-only suites, which the probe never offers.
ALERT=$(free_port)
openssl s_server -accept "$ALERT" -naccept 100 -nocert -psk 0102030405 -tls1_2 -cipher PSK \
    -quiet </dev/null >"$T/s_server.log" 2>&1 &
PIDS+=($!)
wait_port "$ALERT"
run audit "https://localhost:$ALERT" --timeout 2
expect_eq "alert: exit 1" "$RC" "1"
expect_match "alert: names the refusal" "$OUT" "no TLS version accepted: .*(handshake failure|alert)"

run audit "https://no-such-host.invalid" --timeout 2
expect_eq "unknown host: exit 1" "$RC" "1"
expect_match "unknown host: cannot resolve" "$OUT" "cannot resolve no-such-host.invalid"

run audit "http://localhost:1"
expect_eq "http url: usage error" "$RC" "2"
expect_match "http url: hint" "$ERR" "use https://localhost:1"
run audit "https://localhost:99999"
expect_eq "bad port: exit 2" "$RC" "2"
run audit "https://localhost:$HTTPS_PORT" --resolve "other.test:127.0.0.1"
expect_eq "resolve for another host: exit 2" "$RC" "2"
run audit "https://localhost:$HTTPS_PORT" --min-grade Q
expect_eq "bad --min-grade: exit 2" "$RC" "2"
finish
