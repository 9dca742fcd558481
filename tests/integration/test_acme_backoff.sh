#!/usr/bin/env bash
# Two moat processes sharing one data folder (so one ACME account and one order lock) against a
# CA that refuses every order (429 with Retry-After: 3600, after 4 s): the first failed order's
# backoff holds for both (backoff.json, written before the order lock is released), so the CA
# sees one process's retries, not one set per process. B starts while A's order is still
# waiting for the CA, so it cannot learn of the failure from A's status.json at its start; it
# finds the lock held, looks again 10 s later and finds the shared backoff.
source "$(dirname "$0")/lib.sh"
source "$HERE/../acme/peers.sh"

peers_ca
make_site "$T/site" prod
STUB_PORT=$(free_port)
python3 "$HERE/../acme/ratelimit_stub.py" "$STUB_PORT" "$T/ca/leaf.pem" "$T/ca/leaf.key" 4 \
    "$T/orders" &
PIDS+=($!)
wait_port "$STUB_PORT"
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
directory = "https://127.0.0.1:$STUB_PORT/dir"
ca_bundle = "$T/ca/ca.pem"
challenge = "tls-alpn-01"
EOF
}
config "$T/a.toml" "$PORT_A"
config "$T/b.toml" "$PORT_B"

"$MOAT" serve --config "$T/a.toml" > "$T/a.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do grep -q 'ordering certificate' "$T/a.log" && break; sleep 0.05; done
"$MOAT" serve --config "$T/b.toml" > "$T/b.log" 2>&1 &
PIDS+=($!)
wait_port "$PORT_B" || { cat "$T/b.log"; exit 1; }

deferral="order deferred name=site.example.test reason=another process's order failed"
for _ in $(seq 400); do grep -qF "$deferral" "$T/b.log" && break; sleep 0.1; done
expect_match "A's order was refused by the CA" "$(grep 'certificate order failed' "$T/a.log")" \
    'failures=1 retry_in=3600s serving=nothing.*rateLimited'
expect_match "B first found the order lock held" "$(cat "$T/b.log")" \
    'order deferred name=site.example.test reason=ACME lock .* held by'
expect_match "then deferred to the shared backoff" "$(cat "$T/b.log")" \
    "another process's order failed retry_in=35[0-9][0-9]s"
expect_eq "B sent no order" "$(grep -c 'certificate order failed' "$T/b.log")" 0
expect_eq "the CA saw one order" "$(cat "$T/orders")" 1
check "the backoff is in the shared folder (backoff.json)" \
    grep -q '"failures":1' "$T/data/acme/certs/site.example.test/backoff.json"
expect_match "moat certs: failing, 1 failure" "$("$MOAT" certs --config "$T/b.toml")" \
    'failing.*\(1 failures\)'
finish
