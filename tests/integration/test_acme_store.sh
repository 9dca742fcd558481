#!/usr/bin/env bash
# ACME state in the store. First a data folder from before the store (sealed account key,
# certificate files, ordered by a moat without a store) is imported into a store on the first
# start with one, without a new order. Then two moat processes with their own data folders
# share one fresh store folder ([store] dir), as a cluster would: the order lock is an object
# in the store's internal bucket `moat-acme` (conditional PUTs), so exactly one process orders;
# the other reads the certificate from the store and serves the same one. An S3 key without a
# grant on `moat-acme` gets AccessDenied there.
source "$(dirname "$0")/lib.sh"
source "$HERE/../acme/peers.sh"

peers_ca
knot_start "$(free_port)"
pebble_start "$(free_port)" "$(free_port)" "$(free_port)" "$(free_port)" 7776000
make_site "$T/site" prod
# Ports are picked just before use: another test may take a port picked seconds earlier.
PORT_C=$(free_port)

config() {  # config FILE DATA_DIR PORT [STORE_DIR] [MORE]
    cat > "$1" <<CONF
data_dir = "$2"

[edge]
https = ["127.0.0.1:$3"]
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
${4:+
[store]
dir = \"$4\"

[admin]
enabled = false}
${5:-}
CONF
}

# ---- 1: a folder from before the store is imported, not re-ordered ----
config "$T/m0.toml" "$T/m" "$PORT_C"
HTTPS_PORT=$PORT_C
moat_start serve --config "$T/m0.toml"
s1=$(wait_cert site.example.test 60) || { fail "folder-only moat got no certificate"; cat "$T/moat.log"; }
kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true
check "folder state has a sealed account key" test -s "$T/m/acme/account.key.sealed"
expect_eq "one order so far" "$(grep -c 'Issued certificate serial' "$T/pebble/pebble.log" || true)" 1
mv "$T/moat.log" "$T/m0.log"
config "$T/m.toml" "$T/m" "$PORT_C" "$T/store1"
moat_start serve --config "$T/m.toml"
expect_eq "with the store it serves the same certificate" "$(wait_cert site.example.test 20)" "$s1"
for _ in $(seq 120); do grep -q 'certificate imported into the store' "$T/moat.log" && break; sleep 0.25; done
mlog=$(cat "$T/moat.log")
expect_match "account key imported" "$mlog" 'acme account key imported into the store'
expect_match "certificate imported" "$mlog" 'certificate imported into the store name=site.example.test'
expect_no_match "no order" "$mlog" 'ordering certificate'
check "sealed account key removed from the folder" test ! -e "$T/m/acme/account.key.sealed"
check "seal key removed from the folder" test ! -e "$T/m/acme/seal.key"
check "certificate files stay as the local copy" test -s "$T/m/acme/certs/site.example.test/fullchain.pem"
kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true
expect_eq "still one order" "$(grep -c 'Issued certificate serial' "$T/pebble/pebble.log" || true)" 1

# ---- 2: two processes, one store, one order ----
PORT_A=$(free_port)
PORT_B=$(free_port)
S3_PORT=$(free_port)
config "$T/a.toml" "$T/a" "$PORT_A" "$T/store" "[s3]
listen = [\"127.0.0.1:$S3_PORT\"]
hosts = [\"localhost\"]"
config "$T/b.toml" "$T/b" "$PORT_B" "$T/store"

# Pebble stopped meanwhile: whichever takes the lock first holds it on its first request to
# the CA until the other has found it held (its first check, right after its listener opens);
# with pebble running, an order done before the other's first check would leave nothing to
# wait for. The pause stays well under moat's 10 s connect timeout.
kill -STOP "$PEBBLE_PID"
"$MOAT" serve --config "$T/a.toml" > "$T/a.log" 2>&1 &
PIDS+=($!)
"$MOAT" serve --config "$T/b.toml" > "$T/b.log" 2>&1 &
PIDS+=($!)
up=1
wait_port "$PORT_A" || { cat "$T/a.log"; up=0; }
wait_port "$PORT_B" || { cat "$T/b.log"; up=0; }
[ "$up" = 1 ] &&
    for _ in $(seq 50); do grep -q 'order deferred' "$T/a.log" "$T/b.log" && break; sleep 0.1; done
kill -CONT "$PEBBLE_PID"

HTTPS_PORT=$PORT_A
sa=$(wait_cert site.example.test 60) || { fail "A serves no certificate"; cat "$T/a.log"; }
HTTPS_PORT=$PORT_B
sb=$(wait_cert site.example.test 60) || { fail "B serves no certificate"; cat "$T/b.log"; }
expect_eq "both serve the same certificate" "$sb" "$sa"
logs=$(cat "$T/a.log" "$T/b.log")
expect_eq "exactly one process ordered" "$(grep -c 'ordering certificate' <<<"$logs" || true)" 1
expect_eq "pebble saw one more order" "$(grep -c 'Issued certificate serial' "$T/pebble/pebble.log" || true)" 2
expect_match "the other waited for the store's lock" "$logs" \
    'order deferred name=site.example.test reason=ACME lock moat-acme/locks/order (held by|taken by another process)'
expect_match "and swapped the certificate in" "$logs" 'certificates swapped in after ACME issuance'
# No sealed account key or seal key in the folders: the store holds the account key.
for d in a b; do
    if [ -e "$T/$d/acme/account.key.sealed" ] || [ -e "$T/$d/acme/seal.key" ]; then
        fail "$d: ACME secrets in the data folder"
    else
        pass "$d: no sealed account key in the data folder"
    fi
done
expect_eq "local copy of the key is 0600" "$(stat -c %a "$T/b/acme/certs/site.example.test/privkey.pem")" 600
if grep -rqs 'PRIVATE KEY' "$T/store"; then fail "a private key in clear in the store"; else pass "nothing in clear in the store folder"; fi

# ---- the internal bucket is not S3's ----
keys=$("$MOAT" keys create --config "$T/a.toml" --principal tester --grant content:rwl)
AK=$(awk '/^access_key_id/ {print $2}' <<<"$keys")
SK=$(awk '/^secret_access_key/ {print $2}' <<<"$keys")
s3get() {
    curl -sS --max-time 10 --cacert "$T/a/ca/root.crt" --aws-sigv4 "aws:amz:us-east-1:s3" \
        --user "$AK:$SK" --resolve "localhost:$S3_PORT:127.0.0.1" "https://localhost:$S3_PORT$1"
}
expect_match "GET of the account key: AccessDenied" "$(s3get /moat-acme/account.key)" '<Code>AccessDenied</Code>'
expect_match "listing moat-acme: AccessDenied" "$(s3get '/moat-acme?list-type=2')" '<Code>AccessDenied</Code>'
expect_match "the key works where it has a grant" "$(s3get '/content?list-type=2')" '<ListBucketResult'

finish
