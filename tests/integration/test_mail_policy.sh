#!/usr/bin/env bash
# MTA-STS policy sites: [mail."<domain>"] validation errors, the policy served at
# https://mta-sts.<domain>/.well-known/mta-sts.txt exactly as RFC 8461 wants (200 text/plain,
# 404 elsewhere, no redirect, no plain HTTP, a certificate naming the policy host), the
# persisted TXT id (bumped when and only when the policy changes, across SIGHUP reloads),
# `moat dns` and `moat dns --check` against unbound (stale id), then in a private network +
# mount namespace: postfix-mta-sts-resolver (a real MTA-STS client) fetching moat's policy on
# :443 through unbound on :53, and the demo's example.test policy.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
HTTP_PORT=$(free_port)
DNS_PORT=$(free_port)
export CA="$T/data/ca/root.crt"
make_site "$T/site" prod

# ---- config validation: errors name the key and the RFC rule ----
cat > "$T/bad.toml" <<EOF
data_dir = "$T/bad-data"
[sites."site.moat.test"]
root = "$T/site"
[mail."bad.example"]
mode = "Enforce"
mx = ["mail.*.bad.example", "ok.bad.example:25"]
max_age = 31557601
tlsrpt = ["http://r.bad.example/x"]
[mail."nomx.example"]
mode = "enforce"
EOF
out=$("$MOAT" config check "$T/bad.toml" 2>&1) && rc=0 || rc=$?
expect_eq "bad mail config: exit 2" "$rc" "2"
expect_match "mode error names key and rule" "$out" 'mail\."bad\.example"\.mode: "Enforce" is not one of enforce, testing, none \(RFC 8461 §3\.2'
expect_match "wildcard mx error" "$out" 'mail\."bad\.example"\.mx\[0\]: "mail\.\*\.bad\.example" a wildcard is allowed only as the whole left-most label'
expect_match "mx port error" "$out" 'mx\[1\]: "ok\.bad\.example:25" must not carry a port'
expect_match "max_age error" "$out" 'max_age: 31557601 is outside 0\.\.31557600 seconds \(RFC 8461 §3\.2'
expect_match "tlsrpt error" "$out" 'tlsrpt\[0\]: "http://r\.bad\.example/x" must start with mailto: or https://'
expect_match "mx required" "$out" 'mail\."nomx\.example"\.mx: is required unless mode = "none"'

# ---- a good config: one site and two policy domains ----
write_config() {  # write_config MODE
    cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"
[edge]
https = ["127.0.0.1:$HTTPS_PORT", "[::1]:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
metrics = ""
workers = 2
[sites."site.moat.test"]
root = "$T/site"
[mail."example.test"]
mode = "$1"
mx = ["mx.example.test", "*.mx.example.test"]
max_age = 1209600
tlsrpt = ["mailto:tlsrpt@example.test", "https://tlsrpt.example.test/v1"]
[mail."gone.test"]
mode = "none"
max_age = 86400
EOF
}
write_config enforce
out=$("$MOAT" config check "$T/moat.toml" 2>&1) && rc=0 || rc=$?
expect_eq "good mail config: exit 0" "$rc" "0"
moat_start serve --config "$T/moat.toml"

pol() { mcurl --resolve "mta-sts.$1:$HTTPS_PORT:127.0.0.1" "https://mta-sts.$1:$HTTPS_PORT$2" "${@:3}"; }
expect_eq "policy body" "$(pol example.test /.well-known/mta-sts.txt)" \
"version: STSv1
mode: enforce
mx: mx.example.test
mx: *.mx.example.test
max_age: 1209600"
meta=$(pol example.test /.well-known/mta-sts.txt -o /dev/null -w '%{http_code}|%{content_type}|%{redirect_url}|%{ssl_verify_result}')
expect_eq "200 text/plain, verified cert, no redirect" "$meta" "200|text/plain; charset=utf-8||0"
expect_eq "policy ends with exactly one LF" "$(pol example.test /.well-known/mta-sts.txt | tail -c 2 | od -An -c | tr -d ' ')" '0\n'
expect_eq "mode none policy" "$(pol gone.test /.well-known/mta-sts.txt)" "version: STSv1
mode: none
max_age: 86400"
for p in / /mta-sts.txt /.well-known/mta-sts.txt/ /.well-known/ /index.html; do
    expect_eq "404 for $p" "$(pol example.test "$p" -o /dev/null -w '%{http_code}|%{redirect_url}')" "404|"
done
expect_eq "HEAD is 200" "$(pol example.test /.well-known/mta-sts.txt -I -o /dev/null -w '%{http_code}')" "200"
expect_eq "POST is 405" "$(pol example.test /.well-known/mta-sts.txt -X POST -o /dev/null -w '%{http_code}')" "405"
plain=$(curl -sS --max-time 5 --resolve "mta-sts.example.test:$HTTP_PORT:127.0.0.1" -o /dev/null \
    -w '%{http_code}|%{redirect_url}' "http://mta-sts.example.test:$HTTP_PORT/.well-known/mta-sts.txt")
expect_eq "plain HTTP: 403, no redirect" "$plain" "403|"
san=$(echo | openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername mta-sts.example.test \
    -CAfile "$CA" -verify_return_error 2>/dev/null | openssl x509 -noout -ext subjectAltName 2>/dev/null)
expect_match "certificate names mta-sts.example.test" "$san" "DNS:mta-sts\.example\.test"
expect_eq "the site still works" "$(mcurl --resolve "site.moat.test:$HTTPS_PORT:127.0.0.1" -o /dev/null -w '%{http_code}' "https://site.moat.test:$HTTPS_PORT/")" "200"

# ---- the persisted id ----
id1=$(awk '$1=="id"{print $2}' "$T/data/mail/example.test.sts")
expect_match "id is 1-32 letters/digits" "$id1" '^[A-Za-z0-9]{1,32}$'
dns=$("$MOAT" dns example.test --config "$T/moat.toml")
expect_match "dns: _mta-sts TXT with the id" "$dns" "_mta-sts\.example\.test\. 300 IN TXT \"v=STSv1; id=$id1\""
expect_match "dns: TLS-RPT TXT" "$dns" '_smtp\._tls\.example\.test\. 3600 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example\.test,https://tlsrpt\.example\.test/v1"'
expect_match "dns: policy host address placeholder" "$dns" 'mta-sts\.example\.test\. 3600 IN A <public IPv4'
expect_match "dns: CAA note for the internal CA" "$dns" "note: the certificate of mta-sts\.example\.test comes from moat's internal CA"
dns2=$("$MOAT" dns example.test --config "$T/moat.toml" --address 192.0.2.7 --address 2001:db8::7)
expect_match "dns: given addresses" "$dns2" 'mta-sts\.example\.test\. 3600 IN AAAA 2001:db8::7'
site_dns=$("$MOAT" dns site.moat.test --config "$T/moat.toml" --address 192.0.2.7)
expect_match "dns for an ordinary site" "$site_dns" 'site\.moat\.test\. 3600 IN A 192\.0\.2\.7'
"$MOAT" dns nowhere.test --config "$T/moat.toml" >/dev/null 2>&1 && rc=0 || rc=$?
expect_eq "dns: unknown name exits 2" "$rc" "2"

check "reload without change handled" hup
expect_eq "reload without change keeps the id" "$(awk '$1=="id"{print $2}' "$T/data/mail/example.test.sts")" "$id1"
sleep 1  # the id carries a timestamp in seconds
write_config testing
check "reload with the changed policy handled" hup
expect_match "reload serves the new policy" "$(pol example.test /.well-known/mta-sts.txt)" "mode: testing"
id2=$(awk '$1=="id"{print $2}' "$T/data/mail/example.test.sts")
expect_no_match "changed policy bumps the id" "$id2" "^$id1\$"
expect_match "the bump is logged with the record to publish" "$(cat "$T/moat.log")" "mta-sts policy changed domain=example.test id=$id2 previous=$id1"

# ---- moat dns --check against unbound (local-data) ----
start_unbound() {  # start_unbound ID
    cat > "$T/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$DNS_PORT
    port: $DNS_PORT
    access-control: 127.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: "$T"
    pidfile: ""
    use-syslog: no
    logfile: ""
    do-daemonize: no
    do-ip6: no
    local-zone: "." refuse
    local-zone: "example.test." static
    local-data: '_mta-sts.example.test. 60 IN TXT "v=STSv1; id=$1"'
    local-data: '_smtp._tls.example.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.test,https://tlsrpt.example.test/v1"'
    local-data: "mta-sts.example.test. 60 IN A 192.0.2.7"
remote-control:
    control-enable: no
EOF
    unbound -d -c "$T/unbound.conf" > "$T/unbound.log" 2>&1 &
    UNBOUND_PID=$!
    PIDS+=("$UNBOUND_PID")
    for _ in $(seq 100); do dig @127.0.0.1 -p "$DNS_PORT" +time=1 +tries=1 +short TXT _mta-sts.example.test 2>/dev/null | grep -q STSv1 && break; sleep 0.1; done
}
start_unbound "$id1"
chk=$("$MOAT" dns example.test --config "$T/moat.toml" --address 192.0.2.7 --check --resolver "127.0.0.1:$DNS_PORT" 2>"$T/dns.err") && rc=0 || rc=$?
expect_eq "dns --check with a stale id: exit 1" "$rc" "1"
expect_match "dns --check: STALE" "$chk" "STALE +_mta-sts\.example\.test TXT: published \"v=STSv1; id=$id1\""
expect_match "dns --check warns on stderr" "$(cat "$T/dns.err")" "stale id: update it to \"v=STSv1; id=$id2\""
expect_match "dns --check: TLS-RPT ok" "$chk" "ok +_smtp\._tls\.example\.test TXT"
expect_match "dns --check: A ok" "$chk" "ok +mta-sts\.example\.test A: 192\.0\.2\.7"
kill -TERM "$UNBOUND_PID"; wait "$UNBOUND_PID" 2>/dev/null || true
start_unbound "$id2"
chk=$("$MOAT" dns example.test --config "$T/moat.toml" --address 192.0.2.7 --check --resolver "127.0.0.1:$DNS_PORT" 2>&1) && rc=0 || rc=$?
expect_eq "dns --check with the current id: exit 0" "$rc" "0"
kill -TERM "$UNBOUND_PID"; wait "$UNBOUND_PID" 2>/dev/null || true

# ---- in a private network + mount namespace: the real MTA-STS client and the demo ----
# postfix-mta-sts-resolver reads /etc/resolv.conf (no port) and fetches from port 443 only,
# so moat runs on 127.0.0.1:443 and unbound on :53 there (test-peers.md §4).
if ! command -v mta-sts-query >/dev/null || ! unshare --mount --net true 2>/dev/null; then
    echo "SKIP: mta-sts-query or unshare not available"
    finish
    exit 0
fi
N="$T/ns"; mkdir -p "$N"
printf 'nameserver 127.0.0.1\n' > "$N/resolv.conf"
printf '127.0.0.1 localhost\n' > "$N/hosts"
cat > "$N/moat.toml" <<EOF
data_dir = "$N/data"
[edge]
https = ["127.0.0.1:443"]
http = []
metrics = ""
workers = 1
[sites."site.moat.test"]
root = "$T/site"
[mail."example.test"]
mode = "enforce"
mx = ["mx.example.test"]
max_age = 86400
[mail."testing.test"]
mode = "testing"
mx = ["*.testing.test"]
max_age = 604800
EOF
cat > "$N/in-ns.sh" <<'NSEOF'
#!/bin/bash
set -u
MOAT=$1; N=$2
unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy
ip link set lo up
mount --bind "$N/resolv.conf" /etc/resolv.conf
mount --bind "$N/hosts" /etc/hosts
"$MOAT" serve --config "$N/moat.toml" > "$N/moat.log" 2>&1 & MP=$!
for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/443) 2>/dev/null && break; sleep 0.1; done
ID=$(awk '$1=="id"{print $2}' "$N/data/mail/example.test.sts")
TID=$(awk '$1=="id"{print $2}' "$N/data/mail/testing.test.sts")
cat > "$N/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@53
    access-control: 127.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: "$N"
    pidfile: ""
    use-syslog: no
    logfile: ""
    do-daemonize: no
    do-ip6: no
    local-zone: "." refuse
    local-zone: "example.test." static
    local-data: "example.test. 60 IN MX 10 mx.example.test."
    local-data: "mx.example.test. 60 IN A 127.0.0.1"
    local-data: "mta-sts.example.test. 60 IN A 127.0.0.1"
    local-data: '_mta-sts.example.test. 60 IN TXT "v=STSv1; id=$ID"'
    local-zone: "testing.test." static
    local-data: "mta-sts.testing.test. 60 IN A 127.0.0.1"
    local-data: '_mta-sts.testing.test. 60 IN TXT "v=STSv1; id=$TID"'
    local-zone: "nocert.test." static
    local-data: "mta-sts.nocert.test. 60 IN A 127.0.0.1"
    local-data: '_mta-sts.nocert.test. 60 IN TXT "v=STSv1; id=1"'
    local-zone: "none.test." static
remote-control:
    control-enable: no
EOF
unbound -d -c "$N/unbound.conf" > "$N/unbound.log" 2>&1 & UP=$!
for _ in $(seq 100); do dig +time=1 +tries=1 +short TXT _mta-sts.example.test 2>/dev/null | grep -q STSv1 && break; sleep 0.1; done
CAF="$N/data/ca/root.crt"
echo "ID=$ID"
echo "== example.test"; SSL_CERT_FILE=$CAF timeout 20 mta-sts-query example.test 2>&1
echo "== testing.test"; SSL_CERT_FILE=$CAF timeout 20 mta-sts-query testing.test 2>&1
echo "== known id"; SSL_CERT_FILE=$CAF timeout 20 mta-sts-query example.test "$ID" 2>&1
echo "== nocert.test"; SSL_CERT_FILE=$CAF timeout 20 mta-sts-query nocert.test 2>&1
echo "== none.test"; SSL_CERT_FILE=$CAF timeout 20 mta-sts-query none.test 2>&1
echo "== untrusted"; env -u SSL_CERT_FILE timeout 20 mta-sts-query example.test 2>&1
kill -TERM $MP; wait $MP 2>/dev/null

# The demo: its moat.toml hosts the policy of example.test on :8443.
D="$N/demo"
"$MOAT" serve --demo --data "$D" > "$N/demo.log" 2>&1 & DP=$!
# Its port opens before the demo's first releases are made; it answers once the banner is out.
for _ in $(seq 600); do grep -q 'https://mta-sts.example.test:8443/' "$N/demo.log" 2>/dev/null && break; sleep 0.1; done
echo "== demo policy"
curl -sS --max-time 30 --cacert "$D/ca/root.crt" --resolve mta-sts.example.test:8443:127.0.0.1 \
    -w '|%{http_code}|%{content_type}|%{ssl_verify_result}\n' \
    https://mta-sts.example.test:8443/.well-known/mta-sts.txt
echo "== demo dns"
(cd "$N" && "$MOAT" dns example.test --config "$D/moat.toml")
echo "DEMO_ID=$(awk '$1=="id"{print $2}' "$D/mail/example.test.sts")"
echo "== demo banner"; grep -o 'https://mta-sts.example.test:8443/[^ ]*' "$N/demo.log"
kill -TERM $DP; wait $DP 2>/dev/null
kill -TERM $UP; wait $UP 2>/dev/null
NSEOF
ns_out=$(timeout 400 unshare --mount --net -- bash "$N/in-ns.sh" "$MOAT" "$N" 2>&1) || true
echo "$ns_out" > "$T/ns.out"
nsid=$(printf '%s\n' "$ns_out" | sed -n 's/^ID=//p')
section() { printf '%s\n' "$ns_out" | awk -v s="== $1" '$0==s{on=1;next} /^== /{on=0} on'; }
expect_match "mta-sts-query accepts moat's policy" "$(section example.test)" \
    "STSFetchResult.VALID: 1>, \('$nsid', \{'mx': \['mx.example.test'\], 'version': 'STSv1', 'mode': 'enforce', 'max_age': 86400\}\)"
expect_match "mta-sts-query accepts the testing policy" "$(section testing.test)" \
    "STSFetchResult.VALID: 1>, .*'mode': 'testing'"
expect_match "same id: NOT_CHANGED" "$(section 'known id')" "STSFetchResult.NOT_CHANGED"
expect_match "policy host without a certificate: FETCH_ERROR" "$(section nocert.test)" "STSFetchResult.FETCH_ERROR"
expect_match "no record: NONE" "$(section none.test)" "STSFetchResult.NONE"
expect_match "untrusted CA: FETCH_ERROR" "$(section untrusted)" "STSFetchResult.FETCH_ERROR"
expect_match "demo serves the example.test policy" "$(section 'demo policy')" \
    "^version: STSv1$"
expect_match "demo policy: 200 text/plain, verified" "$(section 'demo policy')" '\|200\|text/plain; charset=utf-8\|0$'
demo_id=$(printf '%s\n' "$ns_out" | sed -n 's/^DEMO_ID=//p')
expect_match "demo: moat dns example.test prints the TXT" "$(section 'demo dns')" \
    "_mta-sts\.example\.test\. 300 IN TXT \"v=STSv1; id=$demo_id\""
expect_match "demo banner names the policy URL" "$(section 'demo banner')" "mta-sts\.txt"
[ "$FAILS" -gt 0 ] && echo "$ns_out"
finish
