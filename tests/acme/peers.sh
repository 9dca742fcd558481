# Shared by tests/integration/test_acme_*.sh (sourced after lib.sh): a private CA for pebble's
# API, knot serving example.test with RFC 2136 under TSIG, and pebble (Debian 2.4.0) resolving
# through that knot, as Debian packages them. Everything runs on
# loopback, in the foreground, and is stopped through lib.sh's PIDS on exit.

TSIG_NAME=acme-key
TSIG_SECRET='ZB626da+RvWcD/AZ7CEgW0e1IWdABn/4Kw2uPoWoAdM='

# Private CA + a leaf for localhost/127.0.0.1: pebble's ACME API is HTTPS only.
peers_ca() {
    mkdir -p "$T/ca"
    (cd "$T/ca" &&
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=moat acme test CA" -keyout ca.key -out ca.pem \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null &&
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
            -keyout leaf.key -out leaf.csr 2>/dev/null &&
        printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' > leaf.ext &&
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile leaf.ext -out leaf.pem 2>/dev/null)
}

# knot_start PORT: example.test with A records for the test names (no AAAA: pebble would dial
# ::1 first), TXT updates allowed under TSIG for the _acme-challenge names.
knot_start() {
    KNOT_PORT=$1
    local k=$T/knot
    mkdir -p "$k/run" "$k/db" "$k/zones"
    cat > "$k/knot.conf" <<KEOF
server:
    rundir: $k/run
    listen: 127.0.0.1@$KNOT_PORT
log:
  - target: stderr
    any: info
database:
    storage: $k/db
key:
  - id: $TSIG_NAME
    algorithm: hmac-sha256
    secret: $TSIG_SECRET
acl:
  - id: acme-update
    address: [ 127.0.0.0/8 ]
    key: $TSIG_NAME
    action: update
    update-type: [ TXT ]
    update-owner: name
    update-owner-match: equal
    update-owner-name: [ _acme-challenge.site.example.test., _acme-challenge.test.site.example.test., _acme-challenge.other.example.test. ]
template:
  - id: default
    storage: $k/zones
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
zone:
  - domain: example.test
    file: example.test.zone
    acl: acme-update
KEOF
    cat > "$k/zones/example.test.zone" <<'ZEOF'
$ORIGIN example.test.
$TTL 60
@          SOA   ns.example.test. hostmaster.example.test. 1 3600 600 86400 60
@          NS    ns.example.test.
ns         A     127.0.0.1
@          A     127.0.0.1
site       A     127.0.0.1
test.site  A     127.0.0.1
other      A     127.0.0.1
mta-sts    A     127.0.0.1
ZEOF
    knotd -c "$k/knot.conf" > "$k/knotd.log" 2>&1 &
    PIDS+=($!)
    # A bound for a loaded machine: the loop ends as soon as the zone is loaded.
    local i
    for i in $(seq 300); do
        knotc -c "$k/knot.conf" zone-status example.test 2>/dev/null | grep -q 'serial: [0-9]' && return 0
        sleep 0.1
    done
    echo "knot did not start:"; cat "$k/knotd.log"; return 1
}

# pebble_start API_PORT MGMT_PORT HTTP_PORT TLS_PORT VALIDITY_SECONDS
pebble_start() {
    PEBBLE_PORT=$1
    PEBBLE_MGMT=$2
    mkdir -p "$T/pebble"
    cat > "$T/pebble/pebble.json" <<PEOF
{"pebble": {"listenAddress": "127.0.0.1:$1", "managementListenAddress": "127.0.0.1:$2",
  "certificate": "$T/ca/leaf.pem", "privateKey": "$T/ca/leaf.key",
  "httpPort": $3, "tlsPort": $4, "ocspResponderURL": "http://127.0.0.1:1/ocsp",
  "externalAccountBindingRequired": false, "certificateValidityPeriod": $5}}
PEOF
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=${PEBBLE_NONCEREJECT:-0} PEBBLE_AUTHZREUSE=0 \
        pebble -config "$T/pebble/pebble.json" -dnsserver "127.0.0.1:$KNOT_PORT" -strict=false \
        > "$T/pebble/pebble.log" 2>&1 &
    PEBBLE_PID=$!
    PIDS+=($PEBBLE_PID)
    # Both listeners: pebble serves the management port separately from the API, so the API
    # answering does not prove the roots can be fetched yet.
    local i
    for i in $(seq 300); do
        curl -sf --max-time 10 --cacert "$T/ca/ca.pem" "https://127.0.0.1:$1/dir" >/dev/null &&
            curl -sf --max-time 10 --cacert "$T/ca/ca.pem" "https://127.0.0.1:$2/roots/0" \
                > "$T/pebble/root.pem" && return 0
        sleep 0.1
    done
    echo "pebble did not start:"; cat "$T/pebble/pebble.log"; return 1
}

# served_serial HOST: the serial of the certificate moat presents for HOST (empty if none).
served_serial() {
    timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername "$1" </dev/null 2>/dev/null |
        openssl x509 -noout -serial 2>/dev/null | cut -d= -f2
}

# wait_cert HOST SECONDS [NOT_SERIAL]: until HOST is served a certificate (other than NOT_SERIAL).
wait_cert() {
    local host=$1 secs=$2 old=${3:-} i s
    for i in $(seq $((secs * 4))); do
        s=$(served_serial "$host")
        if [ -n "$s" ] && [ "$s" != "$old" ]; then echo "$s"; return 0; fi
        sleep 0.25
    done
    return 1
}

# pcurl HOST PATH: curl to moat's HTTPS port with the name resolved to loopback, trusting only
# pebble's root (the chain must be complete: leaf + intermediate).
pcurl() {
    curl -sS --max-time 10 --cacert "$T/pebble/root.pem" \
        --resolve "$1:$HTTPS_PORT:127.0.0.1" "https://$1:$HTTPS_PORT$2" "${@:3}"
}

# certs_failing [CONFIG]: `moat certs` once it lists a failure (status.json is written one step
# after the failure is logged), or its last answer after 10 s.
certs_failing() {
    local out
    for _ in $(seq 40); do
        out=$("$MOAT" certs --config "${1:-$T/moat.toml}")
        grep -q 'failing' <<<"$out" && break
        sleep 0.25
    done
    printf '%s\n' "$out"
}
