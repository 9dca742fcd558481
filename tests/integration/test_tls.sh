#!/usr/bin/env bash
# TLS behaviour of the HTTPS listener, seen by real clients (openssl s_client, curl):
# protocol versions, TLS 1.2 cipher policy, SNI and IP certificates, ALPN, session resumption,
# renegotiation, compression, and a SIGHUP reload that swaps certificate files without dropping
# a transfer in flight.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
HTTP_PORT=$(free_port)
export CA="$T/data/ca/root.crt"
mkdir -p "$T/pki"
make_site "$T/site" prod

# ---- test PKI for tls = "files": an ECDSA P-256 CA and two leaves for the same host ----
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec_key "$T/pki/ca.key"
openssl req -x509 -new -key "$T/pki/ca.key" -subj "/CN=moat test files CA" -days 2 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -out "$T/pki/ca.crt" 2>/dev/null
leaf() {  # leaf NAME CN: files.moat.test certificate signed by the test CA
    ec_key "$T/pki/$1.key"
    openssl req -new -key "$T/pki/$1.key" -subj "/CN=$2" -out "$T/pki/$1.csr" 2>/dev/null
    printf 'subjectAltName=DNS:files.moat.test\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' \
        > "$T/pki/$1.ext"
    openssl x509 -req -in "$T/pki/$1.csr" -CA "$T/pki/ca.crt" -CAkey "$T/pki/ca.key" \
        -CAcreateserial -days 2 -sha256 -extfile "$T/pki/$1.ext" -out "$T/pki/$1.crt" 2>/dev/null
}
leaf certA "files cert A"
leaf certB "files cert B"
cp "$T/pki/certA.crt" "$T/pki/live.crt"
cp "$T/pki/certA.key" "$T/pki/live.key"

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"
log_level = "debug"

[edge]
https = ["127.0.0.1:$HTTPS_PORT", "[::1]:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
metrics = ""
workers = 2

[sites."a.moat.test"]
root = "$T/site"

[sites."b.moat.test"]
root = "$T/site"
aliases = ["www.b.moat.test"]

[sites."127.0.0.1"]
root = "$T/site"

[sites."files.moat.test"]
root = "$T/site"
tls = "files"
cert = "$T/pki/live.crt"
key = "$T/pki/live.key"
EOF

moat_start serve --config "$T/moat.toml"

# sc ARGS...: one s_client handshake against 127.0.0.1, no input, bounded in time.
# Binary application data (an h2 SETTINGS frame) is dropped: bash cannot hold NUL bytes.
sc() { { timeout 30 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" "$@" </dev/null 2>&1 || true; } | tr -d '\0'; }
# The "New, TLSv1.x, Cipher is X" line, or the failure.
session_line() { grep -E '^(New|Reused),' <<<"$1" | head -1; }
negotiated() { session_line "$(sc "$@")"; }
# served_cert ARGS...: the PEM of the certificate the server sent.
served_cert() { sc "$@" | sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p'; }
san_of() { served_cert "$@" | openssl x509 -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' '; }
fp_of() { openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }

# ---- protocol versions ----
out=$(sc -servername a.moat.test -tls1 -cipher 'DEFAULT:@SECLEVEL=0')
expect_match "TLS 1.0 refused with protocol_version alert" "$out" 'alert protocol version'
expect_match "TLS 1.0: no session" "$(session_line "$out")" 'Cipher is \(NONE\)'
out=$(sc -servername a.moat.test -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
expect_match "TLS 1.1 refused with protocol_version alert" "$out" 'alert protocol version'
expect_match "TLS 1.1: no session" "$(session_line "$out")" 'Cipher is \(NONE\)'
expect_eq "TLS 1.3 works" "$(negotiated -servername a.moat.test -tls1_3)" \
    "New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256"
for s in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
    expect_eq "TLS 1.3 suite $s" "$(negotiated -servername a.moat.test -tls1_3 -ciphersuites "$s")" \
        "New, TLSv1.3, Cipher is $s"
done
expect_eq "TLS 1.3 refuses TLS_AES_128_CCM_SHA256" \
    "$(negotiated -servername a.moat.test -tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256)" \
    "New, (NONE), Cipher is (NONE)"
expect_eq "TLS 1.2 works, server prefers AES128-GCM" "$(negotiated -servername a.moat.test -tls1_2)" \
    "New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"
expect_eq "TLS 1.2 prefers ChaCha20 when the client does" \
    "$(negotiated -servername a.moat.test -tls1_2 -cipher 'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256')" \
    "New, TLSv1.2, Cipher is ECDHE-ECDSA-CHACHA20-POLY1305"

# ---- TLS 1.2 cipher policy: only ECDHE + AEAD ----
for c in ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA384 AES128-GCM-SHA256 AES256-SHA \
    DHE-RSA-AES128-GCM-SHA256 DHE-RSA-CHACHA20-POLY1305 ECDHE-ECDSA-AES128-CCM; do
    out=$(sc -servername a.moat.test -tls1_2 -cipher "$c:@SECLEVEL=0")
    expect_match "TLS 1.2 refuses $c" "$(session_line "$out")" 'Cipher is \(NONE\)'
done
# Every TLS 1.2 suite this OpenSSL knows, one at a time: exactly the ECDHE-ECDSA AEAD ones
# succeed (the certificates are ECDSA, so the ECDHE-RSA AEAD suites cannot be chosen).
accepted=()
for c in $(openssl ciphers -tls1_2 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | tr ':' ' '); do
    case $c in TLS_*) continue ;; esac  # TLS 1.3 suites, not set by -cipher
    line=$(negotiated -servername a.moat.test -tls1_2 -cipher "$c:@SECLEVEL=0")
    [[ $line == "New, TLSv1.2, Cipher is $c" ]] && accepted+=("$c")
done
echo "TLS 1.2 suites accepted: ${accepted[*]}"
expect_eq "TLS 1.2 accepts only ECDHE+AEAD" "$(printf '%s\n' "${accepted[@]}" | sort | tr '\n' ' ')" \
    "ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305 "
expect_eq "TLS 1.2 with an RSA-kx-only client fails" \
    "$(negotiated -servername a.moat.test -tls1_2 -cipher 'kRSA:@SECLEVEL=0')" "New, (NONE), Cipher is (NONE)"
expect_eq "TLS 1.2 with a DHE-only client fails" \
    "$(negotiated -servername a.moat.test -tls1_2 -cipher 'kDHE:@SECLEVEL=0')" "New, (NONE), Cipher is (NONE)"
expect_eq "TLS 1.2 with a CBC-only client fails" \
    "$(negotiated -servername a.moat.test -tls1_2 -cipher 'ECDHE:!AESGCM:!CHACHA20:!AESCCM:@SECLEVEL=0')" \
    "New, (NONE), Cipher is (NONE)"
out=$(sc -servername a.moat.test -tls1_2 -curves P-256)
expect_match "TLS 1.2 key exchange P-256" "$out" 'Server Temp Key: ECDH, prime256v1'
expect_eq "FFDHE-only groups refused" "$(negotiated -servername a.moat.test -tls1_3 -groups ffdhe2048)" \
    "New, (NONE), Cipher is (NONE)"

# ---- SNI ----
expect_eq "SNI a.moat.test gets its certificate" "$(san_of -servername a.moat.test)" "DNS:a.moat.test"
expect_eq "SNI b.moat.test gets its certificate (with alias)" "$(san_of -servername b.moat.test)" \
    "DNS:b.moat.test,DNS:www.b.moat.test"
expect_eq "SNI www.b.moat.test gets b's certificate" "$(san_of -servername www.b.moat.test)" \
    "DNS:b.moat.test,DNS:www.b.moat.test"
expect_eq "SNI is case-insensitive" "$(san_of -servername A.MOAT.Test)" "DNS:a.moat.test"
expect_eq "SNI files.moat.test gets the file certificate" \
    "$(served_cert -servername files.moat.test | fp_of)" "$(fp_of <"$T/pki/certA.crt")"
out=$(sc -servername zz.moat.test)
expect_match "unknown SNI: unrecognized_name alert" "$out" 'unrecognized name.*alert number 112'
expect_match "unknown SNI: no session" "$(session_line "$out")" 'Cipher is \(NONE\)'
out=$(timeout 10 openssl s_client -connect "[::1]:$HTTPS_PORT" -noservername </dev/null 2>&1 || true)
expect_match "no SNI on [::1] (no IP certificate) refused" "$out" 'unrecognized name.*alert number 112'
expect_eq "no SNI on 127.0.0.1 gets the IP certificate" "$(san_of -noservername)" "IPAddress:127.0.0.1"
expect_eq "curl https://127.0.0.1 verifies the IP certificate" \
    "$(mcurl -o /dev/null -w '%{http_code}' "https://127.0.0.1:$HTTPS_PORT/")" 200
for h in a.moat.test b.moat.test; do
    expect_eq "curl verifies $h" "$(mcurl -o /dev/null -w '%{http_code}' \
        --resolve "$h:$HTTPS_PORT:127.0.0.1" "https://$h:$HTTPS_PORT/")" 200
done
# Chain check by openssl itself against the internal CA root.
expect_match "certificate verifies against the internal CA" \
    "$(sc -servername a.moat.test -CAfile "$CA" -verify_return_error -verify_hostname a.moat.test)" \
    'Verify return code: 0 \(ok\)'

# ---- ALPN ----
expect_match "ALPN h2" "$(sc -servername a.moat.test -alpn h2)" 'ALPN protocol: h2$'
expect_match "ALPN http/1.1" "$(sc -servername a.moat.test -alpn http/1.1)" 'ALPN protocol: http/1.1$'
expect_match "ALPN prefers h2 over the client's order" \
    "$(sc -servername a.moat.test -alpn http/1.1,h2)" 'ALPN protocol: h2$'
out=$(sc -servername a.moat.test -alpn foo)
expect_match "ALPN foo only: no_application_protocol alert" "$out" 'alert no application protocol'
expect_match "ALPN foo only: no session" "$(session_line "$out")" 'Cipher is \(NONE\)'
expect_match "ALPN foo,http/1.1 picks http/1.1" "$(sc -servername a.moat.test -alpn foo,http/1.1)" \
    'ALPN protocol: http/1.1$'
expect_match "no ALPN: handshake works" "$(sc -servername a.moat.test)" 'No ALPN negotiated'

# ---- session resumption (stateless tickets), TLS 1.2 and 1.3 ----
for v in tls1_2 tls1_3; do
    rm -f "$T/sess"
    # Stay connected until the session is written: TLS 1.3 tickets arrive after the handshake,
    # and s_client quits at the end of its input without reading them (bounded, ~20 s).
    (for _ in $(seq 200); do [ -s "$T/sess" ] && break; sleep 0.1; done) |
        timeout 30 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername a.moat.test \
            -"$v" -sess_out "$T/sess" >/dev/null 2>&1 || true
    check "$v: a ticket was saved" test -s "$T/sess"
    expect_match "$v: resumed" "$(negotiated -servername a.moat.test -"$v" -sess_in "$T/sess")" '^Reused,'
    # A ticket of a.moat.test must not resume on another site.
    expect_match "$v: ticket not resumed on b.moat.test" \
        "$(negotiated -servername b.moat.test -"$v" -sess_in "$T/sess")" '^New, TLSv1'
done

# ---- no renegotiation, no compression ----
# s_client reads its input only once the handshake is done; the input stays open until the
# server has answered the renegotiation (bounded, ~20 s), which ends s_client.
rm -f "$T/reneg.out"
{
    printf 'R\n'
    for _ in $(seq 200); do grep -q 'no renegotiation' "$T/reneg.out" 2>/dev/null && break; sleep 0.1; done
} | timeout 40 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername a.moat.test -tls1_2 \
    >"$T/reneg.out" 2>&1 || true
out=$(cat "$T/reneg.out")
expect_match "renegotiation was attempted" "$out" 'RENEGOTIATING'
expect_match "renegotiation refused (no_renegotiation)" "$out" 'no renegotiation'
out=$(sc -servername a.moat.test -tls1_2 -comp)
expect_match "no TLS compression" "$out" 'Compression: NONE'
expect_eq "python ssl: no compression, TLS 1.3" "$(timeout 30 python3 - "$HTTPS_PORT" "$CA" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="a.moat.test") as s:
        print(s.compression(), s.version())
PY
)" "None TLSv1.3"

# ---- reload swaps certificate files without dropping a transfer in flight ----
fpA=$(fp_of <"$T/pki/certA.crt")
fpB=$(fp_of <"$T/pki/certB.crt")
expect_eq "files site serves cert A before reload" "$(served_cert -servername files.moat.test | fp_of)" "$fpA"
# wait_cert FP: polls (up to ~30 s) until files.moat.test serves FP; prints what it served last.
wait_cert() {
    local got=""
    for _ in $(seq 300); do
        got=$(served_cert -servername files.moat.test | fp_of)
        [ "$got" = "$1" ] && break
        sleep 0.1
    done
    printf '%s' "$got"
}
want_sum=$(sha256sum "$T/site/big.bin" | cut -d' ' -f1)
size=$(stat -c %s "$T/site/big.bin")
for proto in --http1.1 --http2; do
    rm -f "$T/slow.bin"
    cp "$T/pki/certA.crt" "$T/pki/live.crt"; cp "$T/pki/certA.key" "$T/pki/live.key"
    hup
    expect_eq "$proto: cert A served before the transfer" "$(wait_cert "$fpA")" "$fpA"
    # 3 MB at 500 KB/s (curl takes the first ~1.7 MB at once, the rest over ~3 s), held
    # (SIGSTOP) from its first bytes until cert B is served: the transfer spans the reload
    # however slow the machine is.
    curl -sS --max-time 90 --cacert "$T/pki/ca.crt" "$proto" --limit-rate 500K \
        --resolve "files.moat.test:$HTTPS_PORT:127.0.0.1" -o "$T/slow.bin" \
        -w '%{http_code} %{num_connects}' "https://files.moat.test:$HTTPS_PORT/big.bin" \
        >"$T/slow.out" 2>&1 &
    slow=$!
    for _ in $(seq 300); do [ -s "$T/slow.bin" ] && break; sleep 0.1; done
    kill -STOP "$slow" 2>/dev/null || true
    got=$(stat -c %s "$T/slow.bin" 2>/dev/null || echo 0)
    check "$proto: transfer under way before the reload ($got of $size bytes)" \
        test "$got" -gt 0 -a "$got" -lt "$size"
    cp "$T/pki/certB.crt" "$T/pki/live.crt"; cp "$T/pki/certB.key" "$T/pki/live.key"
    hup
    expect_eq "$proto: new handshakes get cert B after SIGHUP" "$(wait_cert "$fpB")" "$fpB"
    check "$proto: slow transfer still running after the reload" kill -0 "$slow"
    kill -CONT "$slow" 2>/dev/null || true
    wait "$slow" || true
    expect_eq "$proto: transfer across the reload completed" "$(cat "$T/slow.out")" "200 1"
    expect_eq "$proto: transfer across the reload intact" "$(sha256sum "$T/slow.bin" | cut -d' ' -f1)" "$want_sum"
done
expect_match "reload logged" "$(cat "$T/moat.log")" 'reloaded config'
# A reload with a certificate that does not cover the host is refused; B keeps serving.
printf 'subjectAltName=DNS:other.moat.test\n' > "$T/pki/bad.ext"
openssl x509 -req -in "$T/pki/certA.csr" -CA "$T/pki/ca.crt" -CAkey "$T/pki/ca.key" -days 2 \
    -extfile "$T/pki/bad.ext" -out "$T/pki/live.crt" 2>/dev/null
cp "$T/pki/certA.key" "$T/pki/live.key"
hup
expect_eq "bad reload keeps the old certificate" "$(served_cert -servername files.moat.test | fp_of)" "$fpB"
expect_match "bad reload refused in the log" "$(grep -E 'reloaded config|reload refused' "$T/moat.log" | tail -1)" \
    'reload refused'

# ---- still alive and serving ----
check "moat still running" kill -0 "$MOAT_PID"
expect_eq "still serves" "$(mcurl -o /dev/null -w '%{http_code}' "https://127.0.0.1:$HTTPS_PORT/")" 200
finish
