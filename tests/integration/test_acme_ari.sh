#!/usr/bin/env bash
# ACME Renewal Information (RFC 9773) end to end. Debian's pebble 2.4 has no ARI, so a python
# stub (tests/acme/ari_stub.py) serves pebble's directory plus "renewalInfo" and answers
# GET renewal-info/<certID> with a window this test writes; everything else goes to pebble,
# which issues 30-second certificates (the lifetime rule renews at half of that, 15 s).
#   a. a window in the past renews a young certificate at once (sent with "replaces");
#   b. a window far in the future holds the renewal past the lifetime rule, until the
#      emergency limit (1/50 of the lifetime left);
#   c. the stub saw certID = base64url(AKI keyIdentifier) "." base64url(serial DER);
#   d. garbage from renewalInfo, then the stub down: moat logs it and renews by the lifetime.
source "$(dirname "$0")/lib.sh"
source "$HERE/../acme/peers.sh"

HTTP_PORT=$(free_port)
LIFE=30
peers_ca
knot_start "$(free_port)"
pebble_start "$(free_port)" "$(free_port)" "$HTTP_PORT" "$(free_port)" "$LIFE"
# Picked after the peers started, just before use: another test may take a port picked early.
HTTPS_PORT=$(free_port)
STUB_PORT=$(free_port)
make_site "$T/site" prod
CTRL=$T/ari
mkdir -p "$CTRL"

python3 "$HERE/../acme/ari_stub.py" "$STUB_PORT" "$T/ca/leaf.pem" "$T/ca/leaf.key" \
    "https://127.0.0.1:$PEBBLE_PORT/dir" "$T/ca/ca.pem" "$CTRL" 2>"$CTRL/stub.err" &
STUB_PID=$!
PIDS+=($STUB_PID)
wait_port "$STUB_PORT"
expect_match "stub directory = pebble's + renewalInfo" \
    "$(curl -sS --max-time 10 --cacert "$T/ca/ca.pem" "https://127.0.0.1:$STUB_PORT/dir")" \
    "\"newOrder\": \"https://127.0.0.1:$PEBBLE_PORT/.*\"renewalInfo\": \"https://127.0.0.1:$STUB_PORT/renewal-info/\""

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"

[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
metrics = ""
workers = 1

[sites."site.example.test"]
root = "$T/site"
tls = "acme"

[acme]
directory = "https://127.0.0.1:$STUB_PORT/dir"
ca_bundle = "$T/ca/ca.pem"
challenge = "http-01"
EOF
STATUS=$T/data/acme/certs/site.example.test/status.json

# window FILE FROM_SECONDS TO_SECONDS: a suggestedWindow relative to now.
window() {
    printf '{"suggestedWindow": {"start": "%s", "end": "%s"}, "explanationURL": "https://ca.test/why"}\n' \
        "$(date -u -d "@$(($(date +%s) + $2))" +%Y-%m-%dT%H:%M:%SZ)" \
        "$(date -u -d "@$(($(date +%s) + $3))" +%Y-%m-%dT%H:%M:%SZ)" > "$1"
}
b64url() { xxd -r -p | base64 -w0 | tr '+/' '-_' | tr -d '='; }
# cert_id: RFC 9773 §4.1 certID of the certificate moat serves, computed with openssl.
cert_id() {
    local pem aki serial
    pem=$(timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername site.example.test \
        </dev/null 2>/dev/null | openssl x509)
    aki=$(openssl x509 -noout -ext authorityKeyIdentifier <<<"$pem" | sed -n 2p | sed 's/keyid://; s/[: ]//g')
    serial=$(openssl x509 -noout -serial <<<"$pem" | cut -d= -f2)
    [ $((${#serial} % 2)) -eq 1 ] && serial=0$serial
    # DER INTEGER content octets: a leading 00 keeps a high first bit positive.
    [ $((16#${serial:0:2})) -ge 128 ] && serial=00$serial
    echo "$(b64url <<<"$aki").$(b64url <<<"$serial")"
}
status_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$STATUS" "$1"; }
# not_before: of the stored certificate (what moat serves, also while it is stopped).
not_before() {
    date -d "$(openssl x509 -in "$(dirname "$STATUS")/fullchain.pem" -noout -startdate | cut -d= -f2)" +%s
}
stop_moat() { kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true; }

# ---- first issuance, window far in the future ----
window "$CTRL/window.json" $((300 * 86400)) $((301 * 86400))
moat_start serve --config "$T/moat.toml"
s1=$(wait_cert site.example.test 30) || { fail "no first certificate"; cat "$T/moat.log"; }
id1=$(cert_id)
for _ in $(seq 120); do grep -qx "$id1" "$CTRL/requests.log" 2>/dev/null && break; sleep 0.25; done
echo "first serial=$s1 certID=$id1"
# c. the certID format, checked against openssl's view of the served certificate.
expect_match "c: certID is base64url(AKI).base64url(serial)" "$id1" '^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]+$'
expect_eq "c: the stub saw a GET for the served certificate's certID" "$(grep -cx "$id1" "$CTRL/requests.log")" 1
expect_eq "c: no malformed certID requested" "$(grep -cvE '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$CTRL/requests.log")" 0
stop_moat

# ---- a. the CA says: renew now (window in the past) while the certificate is young ----
window "$CTRL/window-$id1.json" -7200 -3600
: > "$T/moat.log"
t_restart=$(date +%s)
nb1=$(not_before)
moat_start serve --config "$T/moat.toml"
s2=$(wait_cert site.example.test 20 "$s1") || { fail "a: no renewal on a past ARI window"; cat "$T/moat.log"; }
t2=$(date +%s)
echo "a: renewed $((t2 - t_restart)) s after restart, first certificate $((t2 - nb1)) s old"
expect_match "a: renewed at once (within 10 s of the restart)" "$((t2 - t_restart))" '^[0-9]$|^10$'
[ $((t2 - nb1)) -lt $((LIFE / 2)) ] && pass "a: before the lifetime rule (half of ${LIFE}s) would have" ||
    fail "a: the certificate was $((t2 - nb1)) s old: the lifetime rule could explain the renewal"
expect_match "a: logged as a due renewal" "$(cat "$T/moat.log")" 'ordering certificate name=site.example.test .*reason=renewal due'
expect_eq "a: ARI polled again on the restart" "$(grep -cx "$id1" "$CTRL/requests.log")" 2
expect_eq "a: the new certificate verifies" "$(pcurl site.example.test / -o /dev/null -w '%{http_code}')" 200

# ---- b. window far in the future: no renewal at half the lifetime, only near the end ----
id2=$(cert_id)
nb2=$(not_before)
for _ in $(seq 120); do grep -qx "$id2" "$CTRL/requests.log" && break; sleep 0.25; done
expect_eq "c: the renewed certificate's certID polled" "$(grep -cx "$id2" "$CTRL/requests.log")" 1
for _ in $(seq 60); do [ "$(status_field ari 2>/dev/null)" = True ] && break; sleep 0.25; done
expect_eq "b: status says the renewal time comes from ARI" "$(status_field ari)" True
na2=$(status_field not_after)
renew2=$(status_field renew_at)
echo "b: not_after=$na2 renew_at=$renew2 (lifetime rule would say $((na2 - LIFE / 2)))"
[ "$renew2" -ge $((na2 - 1)) ] && pass "b: renew_at held at the emergency limit (1/50 of the lifetime left)" ||
    fail "b: renew_at=$renew2 not near not_after=$na2"
wait_s=$((nb2 + LIFE / 2 + 6 - $(date +%s)))
[ "$wait_s" -gt 0 ] && sleep "$wait_s"
expect_eq "b: still the same certificate $(($(date +%s) - nb2)) s into its ${LIFE} s life" "$(served_serial site.example.test)" "$s2"
s3=$(wait_cert site.example.test 20 "$s2") || { fail "b: no renewal before expiry"; cat "$T/moat.log"; }
age=$(($(date +%s) - nb2))
echo "b: renewed at age $age s"
[ "$age" -ge $((LIFE * 4 / 5)) ] && pass "b: renewed only near the end (age $age s of $LIFE)" ||
    fail "b: renewed at age $age s, before the emergency limit"
stop_moat

# ---- d. garbage from renewalInfo: logged, the lifetime rule decides ----
echo 'this is not json' > "$CTRL/window.json"
: > "$T/moat.log"
nb3=$(not_before)
moat_start serve --config "$T/moat.toml"
s4=$(wait_cert site.example.test 30 "$s3") || { fail "d: no renewal with garbage ARI"; cat "$T/moat.log"; }
age=$(($(date +%s) - nb3))
echo "d: garbage: renewed at age $age s"
expect_match "d: garbage logged" "$(cat "$T/moat.log")" 'renewalInfo failed name=site.example.test err=renewalInfo.*; renewing by the lifetime rule'
expect_match "d: garbage: renewed by the lifetime rule (about ${LIFE}/2 s)" "$age" '^([8-9]|1[0-9]|2[0-4])$'
nb4=$(not_before)
for _ in $(seq 60); do [ "$(status_field ari 2>/dev/null)" = False ] && [ "$(status_field not_after)" -gt $((nb4 + LIFE - 3)) ] && break; sleep 0.25; done
expect_eq "d: status says lifetime rule" "$(status_field ari)" False
expect_eq "d: renew_at = half the lifetime" "$(($(status_field not_after) - $(status_field renew_at) >= LIFE / 2 - 1))" 1

# ---- d. the stub down (moat keeps pebble's URLs from the directory it read) ----
kill "$STUB_PID"; wait "$STUB_PID" 2>/dev/null || true
s5=$(wait_cert site.example.test 30 "$s4") || { fail "d: no renewal"; cat "$T/moat.log"; }
nb5=$(not_before)
s6=$(wait_cert site.example.test 30 "$s5") || { fail "d: no renewal with the stub down"; cat "$T/moat.log"; }
age=$(($(date +%s) - nb5))
echo "d: stub down: renewed at age $age s"
expect_match "d: stub down logged" "$(cat "$T/moat.log")" "renewalInfo failed name=site.example.test err=.*127.0.0.1:$STUB_PORT.*(refused|connect)"
expect_match "d: stub down: renewed by the lifetime rule" "$age" '^([8-9]|1[0-9]|2[0-4])$'
expect_no_match "no order failed throughout" "$(cat "$T/moat.log")" 'certificate order failed'
finish
