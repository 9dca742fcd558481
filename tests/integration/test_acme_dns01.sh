#!/usr/bin/env bash
# ACME dns-01 with RFC 2136 + TSIG against knot (the default challenge when DNS update
# credentials are configured): moat adds the single _acme-challenge TXT record by a signed
# DNS UPDATE, waits until knot answers it, pebble validates through the same knot, and the
# record is deleted afterwards (only that record: a TXT placed beside it survives). Also: a
# wrong TSIG secret is refused at the server and reported clearly, without the secret.
source "$(dirname "$0")/lib.sh"
source "$HERE/../acme/peers.sh"

peers_ca
knot_start "$(free_port)"
pebble_start "$(free_port)" "$(free_port)" "$(free_port)" "$(free_port)" 7776000
# Picked after the peers started, just before use: another test may take a port picked early.
HTTPS_PORT=$(free_port)
make_site "$T/site" prod
make_site "$T/site-test" testing

# A record beside ours at the same name: moat must delete its own value only.
printf 'server 127.0.0.1 %s\nzone example.test.\nupdate add _acme-challenge.site.example.test. 60 IN TXT "keep-me"\nsend\n' "$KNOT_PORT" |
    knsupdate -y "hmac-sha256:$TSIG_NAME:$TSIG_SECRET" || fail "seeding a TXT record"
printf '%s\n' "$TSIG_SECRET" > "$T/tsig.secret"
chmod 600 "$T/tsig.secret"

config() {  # config SECRET_LINE
    cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"

[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = []
metrics = ""
workers = 2

[sites."site.example.test"]
tls = "acme"
[sites."site.example.test".environments.production]
root = "$T/site"
[sites."site.example.test".environments.testing]
root = "$T/site-test"

[acme]
directory = "https://127.0.0.1:$PEBBLE_PORT/dir"
ca_bundle = "$T/ca/ca.pem"

[acme.dns]
server = "127.0.0.1:$KNOT_PORT"
zone = "example.test"
tsig_name = "$TSIG_NAME"
tsig_algorithm = "hmac-sha256"
$1
propagation_timeout = "20s"
EOF
}

# ---- a wrong key first: refused by knot, a clear error, no certificate, no secret in the log ----
config 'tsig_secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="'
moat_start serve --config "$T/moat.toml"
for _ in $(seq 240); do grep -q 'certificate order failed' "$T/moat.log" && break; sleep 0.25; done
expect_match "wrong TSIG key: clear error" "$(cat "$T/moat.log")" 'certificate order failed name=site.example.test.*DNS UPDATE add _acme-challenge.site.example.test TXT: (NOTAUTH|REFUSED)|TSIG'
expect_no_match "secret not logged" "$(cat "$T/moat.log")" 'AAAAAAAAAAAAAAAAAAAA'
kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true
# forget the backoff (this process's and the shared one)
rm -f "$T/data/acme/certs/site.example.test/status.json" "$T/data/acme/certs/site.example.test/backoff.json"

# ---- the right key, from a file ----
config "tsig_secret_file = \"$T/tsig.secret\""
: > "$T/moat.log"
t0=$(date +%s.%N)
moat_start serve --config "$T/moat.toml"
serial=$(wait_cert site.example.test 45) || { fail "no certificate issued"; cat "$T/moat.log"; }
echo "dns-01 issuance for 2 names took $(echo "$(date +%s.%N) - $t0" | bc) s"
expect_eq "https with pebble's root verifies" "$(pcurl site.example.test / -o /dev/null -w '%{http_code}')" 200
expect_eq "testing host verifies" "$(pcurl test.site.example.test / -o /dev/null -w '%{http_code}')" 200
expect_match "dns-01 chosen by default" "$(cat "$T/moat.log")" 'challenge start name=site.example.test type=dns-01'
expect_match "knot applied signed updates" "$(cat "$T/knot/knotd.log")" 'DDNS, finished'
expect_match "pebble validated dns-01" "$(cat "$T/pebble/pebble.log")" 'set VALID by completed challenge'
txt=$(kdig @127.0.0.1 -p "$KNOT_PORT" +short TXT _acme-challenge.site.example.test)
expect_eq "our TXT removed, the neighbour kept" "$txt" '"keep-me"'
expect_eq "testing host's TXT removed" "$(kdig @127.0.0.1 -p "$KNOT_PORT" +short TXT _acme-challenge.test.site.example.test)" ""
expect_no_match "secret not logged" "$(cat "$T/moat.log")" "$TSIG_SECRET"
finish
