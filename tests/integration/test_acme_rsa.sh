#!/usr/bin/env bash
# acme.key_type = ["ecdsa-p256", "rsa2048"] end to end with Debian's pebble: moat orders an
# ECDSA P-256 and an RSA-2048 certificate for the same names, stores both (keys 0600), serves
# ECDSA to a default client and RSA to one that offers only RSA signatures (TLS 1.3) or only
# ECDHE-RSA suites (TLS 1.2), and `moat certs` lists both. A tls = "files" site with cert_rsa /
# key_rsa serves its RSA pair the same way, and a tls = "internal" site with the same key_type
# gets an RSA-2048 leaf from the internal CA beside its ECDSA one. After a restart both load
# from disk without a new order.
source "$(dirname "$0")/lib.sh"
source "$HERE/../acme/peers.sh"

HTTP_PORT=$(free_port)
peers_ca
knot_start "$(free_port)"
pebble_start "$(free_port)" "$(free_port)" "$HTTP_PORT" "$(free_port)" 7776000
# Picked after the peers started, just before use: another test may take a port picked early.
HTTPS_PORT=$(free_port)
make_site "$T/site" prod
# A site with static files: an ECDSA pair and, through cert_rsa/key_rsa, an RSA one.
for kt in ec rsa; do
    case $kt in ec) opt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;; rsa) opt=(-newkey rsa:2048) ;; esac
    openssl req -x509 "${opt[@]}" -nodes -days 2 -subj "/CN=files.example.test" \
        -addext "subjectAltName=DNS:files.example.test" -keyout "$T/files-$kt.key" -out "$T/files-$kt.pem" 2>/dev/null
done

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"
log_level = "info"

[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
workers = 2

[sites."site.example.test"]
tls = "acme"
aliases = ["test.site.example.test"]
root = "$T/site"

[sites."files.example.test"]
tls = "files"
cert = "$T/files-ec.pem"
key = "$T/files-ec.key"
cert_rsa = "$T/files-rsa.pem"
key_rsa = "$T/files-rsa.key"
root = "$T/site"

[sites."internal.example.test"]
tls = "internal"
key_type = ["ecdsa-p256", "rsa2048"]
root = "$T/site"

[sites."ec.example.test"]
tls = "internal"
root = "$T/site"

[acme]
directory = "https://127.0.0.1:$PEBBLE_PORT/dir"
contact = "admin@example.test"
ca_bundle = "$T/ca/ca.pem"
challenge = "http-01"
key_type = ["ecdsa-p256", "rsa2048"]
EOF

out=$("$MOAT" config check "$T/moat.toml" 2>&1)
if grep -q 'not served' <<<"$out"; then fail "config check still warns about rsa2048"; else pass "rsa2048 accepted without warning"; fi

# leaf HOST [s_client options...]: the text of the certificate moat presents.
leaf() {
    local host=$1
    shift
    timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername "$host" "$@" </dev/null 2>/dev/null |
        openssl x509 -noout -text 2>/dev/null
}
# wait_rsa SECONDS: until an RSA-only client is served an RSA certificate.
wait_rsa() {
    local i
    for i in $(seq $(($1 * 4))); do
        if leaf site.example.test -sigalgs 'RSA-PSS+SHA256:RSA+SHA256' | grep -q 'rsaEncryption'; then return 0; fi
        sleep 0.25
    done
    return 1
}

moat_start serve --config "$T/moat.toml"
wait_cert site.example.test 30 >/dev/null || { fail "no certificate issued"; cat "$T/moat.log"; }
wait_rsa 30 || { fail "no RSA certificate served"; cat "$T/moat.log"; }

D=$T/data/acme/certs/site.example.test
for f in fullchain.pem privkey.pem fullchain-rsa.pem privkey-rsa.pem status.json status-rsa.json; do
    if [ -f "$D/$f" ]; then pass "stored $f"; else fail "missing $f"; fi
done
expect_eq "privkey-rsa.pem is 0600" "$(stat -c %a "$D/privkey-rsa.pem")" 600
expect_match "stored RSA key is 2048 bits" "$(openssl pkey -in "$D/privkey-rsa.pem" -noout -text 2>/dev/null | head -1)" '2048 bit'
expect_match "stored RSA chain covers the alias" "$(openssl x509 -in "$D/fullchain-rsa.pem" -noout -ext subjectAltName)" 'test\.site\.example\.test'
expect_match "log: RSA order" "$(cat "$T/moat.log")" 'ordering certificate name=site.example.test key=rsa2048'
if grep -q 'PRIVATE KEY' "$T/moat.log"; then fail "key material in the log"; else pass "no key material in the log"; fi

# ---- who gets which certificate ----
dflt=$(leaf site.example.test)
expect_match "default client: ECDSA P-256" "$dflt" 'id-ecPublicKey'
expect_match "default client: P-256 curve" "$dflt" 'prime256v1|P-256'
expect_match "default client: issued by pebble" "$dflt" 'Pebble Intermediate CA'
rsa13=$(leaf site.example.test -tls1_3 -sigalgs 'RSA-PSS+SHA256:RSA+SHA256')
expect_match "TLS 1.3 RSA-only sigalgs: RSA" "$rsa13" 'rsaEncryption'
expect_match "TLS 1.3 RSA-only sigalgs: 2048 bits" "$rsa13" 'Public-Key: \(2048 bit\)'
rsa12=$(leaf site.example.test -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)
expect_match "TLS 1.2 ECDHE-RSA suite: RSA" "$rsa12" 'rsaEncryption'
ec12=$(leaf site.example.test -tls1_2)
expect_match "TLS 1.2 default: ECDSA" "$ec12" 'id-ecPublicKey'
expect_match "alias, RSA-only client: RSA" "$(leaf test.site.example.test -sigalgs RSA-PSS+SHA256)" 'rsaEncryption'
suite=$(timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername site.example.test -tls1_2 \
    -cipher 'ECDHE-RSA-CHACHA20-POLY1305' </dev/null 2>/dev/null | grep -E '^ *Cipher *:')
expect_match "TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305 negotiated" "$suite" 'ECDHE-RSA-CHACHA20-POLY1305'
if timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername site.example.test -tls1_2 \
    -cipher 'AES128-GCM-SHA256' </dev/null >/dev/null 2>&1; then
    fail "static RSA key exchange accepted"
else
    pass "static RSA key exchange still refused"
fi
expect_eq "https with pebble's root verifies" "$(pcurl site.example.test / -o /dev/null -w '%{http_code}')" 200
expect_eq "RSA-only curl verifies too" \
    "$(pcurl site.example.test / --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 -o /dev/null -w '%{http_code}')" 200

expect_match "static files: default client gets ECDSA" "$(leaf files.example.test)" 'id-ecPublicKey'
expect_match "static files: RSA-only client gets cert_rsa" "$(leaf files.example.test -sigalgs RSA-PSS+SHA256)" 'rsaEncryption'

int_ec=$(leaf internal.example.test)
expect_match "internal CA: default client gets ECDSA" "$int_ec" 'id-ecPublicKey'
int_rsa=$(leaf internal.example.test -tls1_3 -sigalgs 'RSA-PSS+SHA256:RSA+SHA256')
expect_match "internal CA: RSA-only client gets RSA" "$int_rsa" 'rsaEncryption'
expect_match "internal CA: RSA leaf is 2048 bits" "$int_rsa" 'Public-Key: \(2048 bit\)'
expect_match "internal CA: RSA leaf from the internal CA" "$int_rsa" 'Issuer: CN *= *moat internal CA'
expect_match "internal CA, TLS 1.2 ECDHE-RSA suite: RSA" \
    "$(leaf internal.example.test -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)" 'rsaEncryption'
check "internal RSA leaf verifies with the internal root" \
    bash -c "timeout 10 openssl s_client -connect 127.0.0.1:$HTTPS_PORT -servername internal.example.test \
        -sigalgs RSA-PSS+SHA256 -CAfile '$T/data/ca/root.crt' -verify_return_error </dev/null 2>&1 |
        grep -q 'Verify return code: 0'"
if timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername ec.example.test \
    -tls1_3 -sigalgs RSA-PSS+SHA256 </dev/null >/dev/null 2>&1; then
    fail "internal site without rsa2048 served an RSA-only client"
else
    pass "internal site without rsa2048 has no RSA leaf"
fi

# ---- moat certs lists both ----
out=$("$MOAT" certs --config "$T/moat.toml")
echo "$out"
expect_match "moat certs: ECDSA row" "$out" '^site\.example\.test +valid +Pebble Intermediate CA'
expect_match "moat certs: RSA row" "$out" 'site\.example\.test \(rsa2048\) +valid +Pebble Intermediate CA'

# ---- restart: both loaded from disk, no new order ----
orders_before=$(grep -c 'ordering certificate' "$T/moat.log")
# status inodes: `ino1 ino2` of status.json and status-rsa.json (a check writes a new file and
# renames it over the old one after deciding whether to order).
status_inodes() { stat -c %i "$D/status.json" "$D/status-rsa.json" | tr '\n' ' '; }
inodes=$(status_inodes)
kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true
moat_start serve --config "$T/moat.toml"
expect_match "after restart RSA is served at once" "$(leaf site.example.test -sigalgs RSA-PSS+SHA256)" 'rsaEncryption'
expect_match "after restart ECDSA by default" "$(leaf site.example.test)" 'id-ecPublicKey'
# Both certificates' first checks after the restart are done once both files are new.
both_new() {
    local now
    now=$(status_inodes)
    [ "${now%% *}" != "${inodes%% *}" ] && [ "$(cut -d' ' -f2 <<<"$now")" != "$(cut -d' ' -f2 <<<"$inodes")" ]
}
for _ in $(seq 120); do both_new && break; sleep 0.25; done
check "the first checks after the restart ran" both_new
expect_eq "no new order after restart" "$(grep -c 'ordering certificate' "$T/moat.log")" "$orders_before"
finish
