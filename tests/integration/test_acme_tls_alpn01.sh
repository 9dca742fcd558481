#!/usr/bin/env bash
# ACME tls-alpn-01 (RFC 8737) with Debian's pebble: no HTTP listener at all; pebble connects to
# moat's HTTPS port with ALPN "acme-tls/1" and gets the challenge certificate from the
# ServerContext's provider seam; then the issued certificate is served. Outside a pending
# challenge an acme-tls/1-only handshake gets no certificate. A mail domain's MTA-STS policy host
# (mta-sts.<domain>, tls = "acme") is ordered the same way.
source "$(dirname "$0")/lib.sh"
source "$HERE/../acme/peers.sh"

HTTPS_PORT=$(free_port)
peers_ca
knot_start "$(free_port)"
pebble_start "$(free_port)" "$(free_port)" "$(free_port)" "$HTTPS_PORT" 7776000
make_site "$T/site" prod

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"

[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = []
metrics = ""
workers = 2

[sites."site.example.test"]
root = "$T/site"
tls = "acme"

[mail."example.test"]
mode = "testing"
mx = ["mx.example.test"]
tls = "acme"

[acme]
directory = "https://127.0.0.1:$PEBBLE_PORT/dir"
ca_bundle = "$T/ca/ca.pem"
challenge = "tls-alpn-01"
EOF

moat_start serve --config "$T/moat.toml"
serial=$(wait_cert site.example.test 30) || { fail "no certificate issued"; cat "$T/moat.log"; }
expect_eq "https with pebble's root verifies" "$(pcurl site.example.test / -o /dev/null -w '%{http_code}')" 200
expect_match "log: tls-alpn-01 challenge" "$(cat "$T/moat.log")" 'challenge start name=site.example.test type=tls-alpn-01'
expect_match "pebble validated tls-alpn-01" "$(cat "$T/pebble/pebble.log")" 'set VALID by completed challenge'
expect_no_match "no http-01 used" "$(cat "$T/moat.log")" 'type=http-01'
# The MTA-STS policy host of a mail domain with tls = "acme" gets its own ACME certificate.
wait_cert mta-sts.example.test 30 >/dev/null || { fail "no certificate for mta-sts"; cat "$T/moat.log"; }
expect_match "mta-sts policy served over the ACME certificate" "$(pcurl mta-sts.example.test /.well-known/mta-sts.txt)" 'mode: testing'
out=$(timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername site.example.test -alpn acme-tls/1 </dev/null 2>&1 || true)
expect_match "no pending challenge: acme-tls/1 handshake refused" "$out" 'no application protocol|alert number 120'
expect_no_match "no pending challenge: no certificate for acme-tls/1" "$out" 'BEGIN CERTIFICATE'
finish
