#!/usr/bin/env bash
# Two moat processes sharing one data_dir (as a cluster shares a store): the ACME lease lock in
# <data_dir>/acme/order.lock lets only one of them order; the other notices the new files on
# its next check and swaps the same certificate into its own edge. dns-01 so that either
# process could have answered the challenge.
source "$(dirname "$0")/lib.sh"
source "$HERE/../acme/peers.sh"

peers_ca
knot_start "$(free_port)"
pebble_start "$(free_port)" "$(free_port)" "$(free_port)" "$(free_port)" 7776000
make_site "$T/site" prod
# Picked just before use: another test may take a port picked seconds earlier.
PORT_A=$(free_port)
PORT_B=$(free_port)

config() {  # config FILE PORT
    cat > "$1" <<EOF
data_dir = "$T/data"

[edge]
https = ["127.0.0.1:$2"]
http = []
metrics = ""
workers = 1
access_log = false

[sites."site.example.test"]
root = "$T/site"
tls = "acme"

[acme]
directory = "https://127.0.0.1:$PEBBLE_PORT/dir"
ca_bundle = "$T/ca/ca.pem"

[acme.dns]
server = "127.0.0.1:$KNOT_PORT"
tsig_name = "$TSIG_NAME"
tsig_secret = "$TSIG_SECRET"
propagation_timeout = "20s"
EOF
}
config "$T/a.toml" "$PORT_A"
config "$T/b.toml" "$PORT_B"

# Start both at once, with pebble stopped: whichever takes the lock first then holds it on its
# first request to the CA until the other has found it held (its first check, right after its
# listener opens). With pebble running, an order done before the other's first check (about a
# second) would leave nothing to wait for. The pause stays well under moat's 10 s connect
# timeout, so the holder's request survives it.
# The seal key is created by the first; B starts once it exists (two first starts would each
# write one).
kill -STOP "$PEBBLE_PID"
"$MOAT" serve --config "$T/a.toml" > "$T/a.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/data/acme/seal.key" ] && break; sleep 0.05; done
"$MOAT" serve --config "$T/b.toml" > "$T/b.log" 2>&1 &
PIDS+=($!)
wait_port "$PORT_A" && wait_port "$PORT_B" &&
    for _ in $(seq 50); do grep -q 'order deferred' "$T/a.log" "$T/b.log" && break; sleep 0.1; done
kill -CONT "$PEBBLE_PID"

HTTPS_PORT=$PORT_A
sa=$(wait_cert site.example.test 40) || { fail "A serves no certificate"; cat "$T/a.log"; }
HTTPS_PORT=$PORT_B
sb=$(wait_cert site.example.test 40) || { fail "B serves no certificate"; cat "$T/b.log"; }
expect_eq "both serve the same certificate" "$sb" "$sa"
orders=$(cat "$T/a.log" "$T/b.log" | grep -c 'ordering certificate' || true)
expect_eq "exactly one process ordered" "$orders" 1
expect_eq "pebble saw one order" "$(grep -c 'Issued certificate serial' "$T/pebble/pebble.log" || true)" 1
expect_match "the other waited for the lock" "$(cat "$T/a.log" "$T/b.log")" 'order deferred name=site.example.test reason=ACME lock .* held by'
expect_match "and swapped the new files in" "$(cat "$T/a.log" "$T/b.log")" 'certificates swapped in after ACME issuance'
finish
