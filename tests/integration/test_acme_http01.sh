#!/usr/bin/env bash
# ACME http-01 end to end with Debian's pebble: moat orders a certificate for a site (canonical
# and testing host) on start, answers the challenge on its HTTP port, serves the issued chain
# (verified by curl against pebble's root), keeps the account key sealed, lists it in
# `moat certs`, exports the expiry gauge, and after a restart loads it from disk instead of
# ordering again.
source "$(dirname "$0")/lib.sh"
source "$HERE/../acme/peers.sh"

HTTP_PORT=$(free_port)
peers_ca
knot_start "$(free_port)"
pebble_start "$(free_port)" "$(free_port)" "$HTTP_PORT" "$(free_port)" 7776000
# Picked after the peers started, just before use: another test may take a port picked early.
HTTPS_PORT=$(free_port)
METRICS_PORT=$(free_port)
make_site "$T/site" prod
make_site "$T/site-test" testing

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"
log_level = "info"

[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
metrics = "127.0.0.1:$METRICS_PORT"
workers = 2

[sites."site.example.test"]
tls = "acme"
[sites."site.example.test".environments.production]
root = "$T/site"
[sites."site.example.test".environments.testing]
root = "$T/site-test"

[acme]
directory = "https://127.0.0.1:$PEBBLE_PORT/dir"
contact = "admin@example.test"
ca_bundle = "$T/ca/ca.pem"
challenge = "http-01"
EOF

t0=$(date +%s.%N)
moat_start serve --config "$T/moat.toml"
serial=$(wait_cert site.example.test 30) || { fail "no certificate issued"; cat "$T/moat.log"; }
t1=$(date +%s.%N)
echo "issued serial=$serial in $(echo "$t1 - $t0" | bc) s"

expect_eq "https with pebble's root verifies" "$(pcurl site.example.test / -o /dev/null -w '%{http_code}')" 200
expect_match "production content" "$(pcurl site.example.test /)" 'prod home'
expect_match "testing host shares the certificate" "$(pcurl test.site.example.test /)" 'testing home'
leaf=$(timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername site.example.test </dev/null 2>/dev/null |
    openssl x509 -noout -issuer -text)
expect_match "issued by pebble" "$leaf" 'Pebble Intermediate CA'
expect_match "ECDSA P-256 leaf" "$leaf" 'prime256v1|P-256'
expect_match "log: http-01 challenge" "$(cat "$T/moat.log")" 'challenge start name=site.example.test type=http-01'
expect_match "pebble validated http-01" "$(cat "$T/pebble/pebble.log")" 'set VALID by completed challenge'

# ---- state on disk: modes, the sealed account key, no secrets in the log ----
expect_eq "privkey.pem is 0600" "$(stat -c %a "$T/data/acme/certs/site.example.test/privkey.pem")" 600
expect_eq "seal.key is 0600" "$(stat -c %a "$T/data/acme/seal.key")" 600
expect_eq "account key sealed 0600" "$(stat -c %a "$T/data/acme/account.key.sealed")" 600
if grep -q 'PRIVATE KEY' "$T/data/acme/account.key.sealed"; then fail "account key stored in clear"; else pass "account key not in clear"; fi
if grep -q 'PRIVATE KEY' "$T/moat.log"; then fail "key material in the log"; else pass "no key material in the log"; fi

# ---- the http-01 path answers only pending tokens; the HTTP policy still holds elsewhere ----
expect_eq "unknown token: 404" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: site.example.test' "http://127.0.0.1:$HTTP_PORT/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0")" 404
expect_eq "port 80 / still redirects" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: site.example.test' "http://127.0.0.1:$HTTP_PORT/")" 301

# ---- moat certs and metrics ----
out=$("$MOAT" certs --config "$T/moat.toml")
echo "$out"
expect_match "moat certs: name, status, issuer" "$out" 'site\.example\.test +valid +Pebble Intermediate CA'
expect_match "moat certs: testing host listed" "$out" 'also: test\.site\.example\.test'
m=$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics")
expect_match "expiry gauge" "$m" 'moat_acme_certificate_expiry_days\{name="site.example.test"\} (89|90)'
expect_match "failure gauge 0" "$m" 'moat_acme_certificate_failures\{name="site.example.test"\} 0'

# ---- restart: loaded from disk, no new order ----
orders_before=$(grep -c 'ordering certificate' "$T/moat.log")
STATUS=$T/data/acme/certs/site.example.test/status.json
status_ino=$(stat -c %i "$STATUS")
kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true
moat_start serve --config "$T/moat.toml"
expect_eq "after restart the same certificate is served at once" "$(served_serial site.example.test)" "$serial"
# Each check rewrites status.json (a new file renamed over it) after deciding whether to order:
# a new inode means the first check after the restart is done.
for _ in $(seq 120); do [ "$(stat -c %i "$STATUS")" != "$status_ino" ] && break; sleep 0.25; done
check "the first check after the restart ran" test "$(stat -c %i "$STATUS")" != "$status_ino"
expect_eq "no new order after restart" "$(grep -c 'ordering certificate' "$T/moat.log")" "$orders_before"
finish
