#!/usr/bin/env bash
# Renewal forced by short-lived certificates: pebble issues 30-second certificates
# (certificateValidityPeriod), moat renews when half the lifetime is left (lifetimes of 10 days
# or less) and swaps the new certificate into the running edge: new handshakes get the new
# serial while a download that started on the old certificate finishes intact.
source "$(dirname "$0")/lib.sh"
source "$HERE/../acme/peers.sh"

HTTP_PORT=$(free_port)
peers_ca
knot_start "$(free_port)"
pebble_start "$(free_port)" "$(free_port)" "$HTTP_PORT" "$(free_port)" 30
# Picked after the peers started, just before use: another test may take a port picked early.
HTTPS_PORT=$(free_port)
make_site "$T/site" prod
grep -q 'Using certificate validity period of 30 seconds' "$T/pebble/pebble.log" &&
    pass "pebble 2.4 honours certificateValidityPeriod" || fail "pebble validity setting not applied"

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"

[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
metrics = ""
workers = 2

[sites."site.example.test"]
root = "$T/site"
tls = "acme"

[acme]
directory = "https://127.0.0.1:$PEBBLE_PORT/dir"
ca_bundle = "$T/ca/ca.pem"
challenge = "http-01"
EOF

moat_start serve --config "$T/moat.toml"
first=$(wait_cert site.example.test 30) || { fail "no first certificate"; cat "$T/moat.log"; }
t_issued=$(date +%s)
na=$(timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername site.example.test </dev/null 2>/dev/null |
    openssl x509 -noout -enddate | cut -d= -f2)
echo "first serial=$first notAfter=$na"

# A slow download (3 MB at 200 kB/s, ~15 s) on the first certificate, across the renewal.
pcurl site.example.test /big.bin --limit-rate 200k --max-time 40 -o "$T/big.out" -w '%{http_code}' > "$T/big.code" 2>"$T/big.err" &
DL=$!
second=$(wait_cert site.example.test 40 "$first") || { fail "no renewal"; cat "$T/moat.log"; }
t_renewed=$(date +%s)
echo "renewed after $((t_renewed - t_issued)) s: serial=$second"
expect_match "renewed at about half the lifetime (15 s, seen from a loaded machine)" "$((t_renewed - t_issued))" '^([5-9]|1[0-9]|2[0-9])$'
expect_eq "new handshakes verify with the new certificate" "$(pcurl site.example.test / -o /dev/null -w '%{http_code}')" 200
wait "$DL" || true
expect_eq "download begun before the swap completed" "$(cat "$T/big.code")" 200
expect_eq "download intact" "$(cmp -s "$T/big.out" "$T/site/big.bin" && echo same)" same
expect_match "log: swapped in" "$(cat "$T/moat.log")" 'certificates swapped in after ACME issuance'
expect_match "log: renewal reason" "$(cat "$T/moat.log")" 'reason=renewal due'
finish
