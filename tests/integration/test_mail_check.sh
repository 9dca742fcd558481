#!/usr/bin/env bash
# `moat check mail` against real parts on loopback: unbound (local-data zones written here) as
# the resolver, moat serving good policies, postfix as the MX with STARTTLS, and small python
# stubs for the failure modes (wrong content type, redirect, certificate without the mta-sts
# name, MX outside the patterns, bad max_age, BOM, blank lines, no STARTTLS, an expired MX
# certificate, duplicate TXT records, an id not bumped, a stale id), TLS-RPT rua endpoints
# (moat's own receiver, a closed port, a mail domain without MX) and DANE from a knot-signed zone
# (TLSA behind CNAMEs). Each fixture must give its expected result id and status, and the exit
# code must follow the worst result.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
STUB_PORT=$(free_port)
DNS_PORT=$(free_port)
SMTP_PORT=$(free_port)
KNOT_PORT=$(free_port)
PLAIN_SMTP=$(free_port)
EXPIRED_SMTP=$(free_port)
RPT_PORT=$(free_port)
CLOSED_PORT=$(free_port)
DATA_DIR="$(cd "$(dirname "$0")/../data/mail" && pwd)"
mkdir -p "$T/pki" "$T/policies" "$T/state"
make_site "$T/site" prod

# ---- a test CA, a leaf for the stubs and postfix, a wrong one, and an expired one ----
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec_key "$T/pki/ca.key"
openssl req -x509 -new -key "$T/pki/ca.key" -subj "/CN=moat mail test CA" -days 2 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -out "$T/pki/ca.crt" 2>/dev/null
leaf() {  # leaf NAME SAN [openssl ca date args]
    ec_key "$T/pki/$1.key"
    openssl req -new -key "$T/pki/$1.key" -subj "/CN=$1" -out "$T/pki/$1.csr" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n' "$2" > "$T/pki/$1.ext"
    if [ $# -gt 2 ]; then
        mkdir -p "$T/pki/db"; : > "$T/pki/db/index.txt"; echo 1000 > "$T/pki/db/serial"
        cat > "$T/pki/ca.cnf" <<EOF
[ ca ]
default_ca = d
[ d ]
database = $T/pki/db/index.txt
new_certs_dir = $T/pki/db
serial = $T/pki/db/serial
default_md = sha256
policy = p
[ p ]
commonName = supplied
EOF
        openssl ca -batch -config "$T/pki/ca.cnf" -cert "$T/pki/ca.crt" -keyfile "$T/pki/ca.key" \
            -in "$T/pki/$1.csr" -out "$T/pki/$1.crt" -extfile "$T/pki/$1.ext" -notext "${@:3}" 2>/dev/null
    else
        openssl x509 -req -in "$T/pki/$1.csr" -CA "$T/pki/ca.crt" -CAkey "$T/pki/ca.key" \
            -CAcreateserial -days 2 -sha256 -extfile "$T/pki/$1.ext" -out "$T/pki/$1.crt" 2>/dev/null
    fi
}
leaf stub "DNS:*.ctype.test,DNS:*.redirect.test,DNS:*.mxout.test,DNS:*.badage.test,DNS:*.bom.test,DNS:*.blank.test,DNS:*.nostarttls.test,DNS:*.expiredmx.test,DNS:*.notbumped.test,DNS:*.duptxt.test,DNS:mx.good.test,DNS:mx.stale.test,DNS:mx.dane.test,DNS:mx.bad.dane.test,DNS:mxorig.dane.test,DNS:*.badrpt.test"
leaf wrong "DNS:wrongcert.test,DNS:www.wrongcert.test"
leaf expired "DNS:mx.expiredmx.test" -startdate 20200101000000Z -enddate 20200201000000Z
openssl x509 -in "$T/pki/expired.crt" -noout -enddate | grep -q 2020 || fail "expired fixture cert"

# ---- moat: the good policies (and one whose DNS id is stale) ----
cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = []
metrics = ""
workers = 1
[sites."site.moat.test"]
root = "$T/site"
[mail]
tlsrpt_listen = ["127.0.0.1:$RPT_PORT"]
[mail."good.test"]
mode = "enforce"
mx = ["mx.good.test"]
max_age = 1209600
tlsrpt = ["mailto:tlsrpt@good.test"]
[mail."stale.test"]
mode = "enforce"
mx = ["mx.stale.test"]
max_age = 1209600
tlsrpt = ["mailto:tlsrpt@stale.test"]
EOF
moat_start serve --config "$T/moat.toml"
cat "$T/data/ca/root.crt" "$T/pki/ca.crt" > "$T/roots.pem"
GOOD_ID=$(awk '$1=="id"{print $2}' "$T/data/mail/good.test.sts")

# ---- stubs ----
printf 'version: STSv1\nmode: enforce\nmx: mx.ctype.test\nmax_age: 604800\n' > "$T/policies/ctype.test.txt"
printf 'version: STSv1\nmode: enforce\nmx: mx.mxout.test\nmax_age: 604800\n' > "$T/policies/mxout.test.txt"
printf 'version: STSv1\nmode: enforce\nmx: mx.badage.test\nmax_age: 31557601\n' > "$T/policies/badage.test.txt"
printf '\xef\xbb\xbfversion: STSv1\nmode: enforce\nmx: mx.bom.test\nmax_age: 604800\n' > "$T/policies/bom.test.txt"
printf 'version: STSv1\n\nmode: testing\nmx: mx.blank.test\nmax_age: 604800\n\n' > "$T/policies/blank.test.txt"
printf 'version: STSv1\nmode: enforce\nmx: mx.notbumped.test\nmax_age: 604800\n' > "$T/policies/notbumped.test.txt"
python3 "$DATA_DIR/stub_https.py" "$STUB_PORT" "$T/pki/stub.crt" "$T/pki/stub.key" \
    "$T/pki/wrong.crt" "$T/pki/wrong.key" "$T/policies" > "$T/stub_https.log" 2>&1 &
PIDS+=($!)
python3 "$DATA_DIR/stub_smtp.py" "$PLAIN_SMTP" "$EXPIRED_SMTP" "$T/pki/expired.crt" \
    "$T/pki/expired.key" > "$T/stub_smtp.log" 2>&1 &
PIDS+=($!)

# ---- postfix: the good MX with STARTTLS (test-peers.md §5) ----
P="$T/pf"; mkdir -p "$P/etc" "$P/spool" "$P/data" "$P/mail"
chmod 755 "$T" "$P"  # mktemp -d is 0700; postfix's own user must reach its data folder
chown 65534:65534 "$P/mail"; chown postfix "$P/data"
cat "$T/pki/stub.crt" "$T/pki/ca.crt" > "$T/pki/stub-chain.crt"
cp /etc/postfix/master.cf "$P/etc/master.cf"
cat > "$P/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.good.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = /dev/stdout
smtpd_tls_cert_file = $T/pki/stub-chain.crt
smtpd_tls_key_file = $T/pki/stub.key
smtpd_tls_security_level = may
default_transport = error:no outbound mail in tests
relay_transport = error:no outbound mail in tests
EOF
postconf -c "$P/etc" -F '*/*/chroot = n'
postconf -c "$P/etc" -M "$SMTP_PORT/inet=$SMTP_PORT inet n - n - - smtpd"
postconf -c "$P/etc" -MX smtp/inet
postfix -c "$P/etc" start-fg > "$P/postfix.log" 2>&1 &
PF_PID=$!
PIDS+=("$PF_PID")
# Stop postfix and wait for its master to go before lib.sh removes $T (it writes pid files).
stop_postfix() {
    postfix -c "$P/etc" stop >/dev/null 2>&1 || true
    for _ in $(seq 50); do kill -0 "$PF_PID" 2>/dev/null || break; sleep 0.1; done
}
trap 'stop_postfix; cleanup' EXIT

# ---- unbound: every fixture zone ----
zone() {  # zone DOMAIN POLICY_IP MX_HOST [TXT records...]
    local d=$1
    echo "    local-zone: \"$d.\" static"
    echo "    local-data: \"mta-sts.$d. 60 IN A 127.0.0.1\""
    echo "    local-data: \"$d. 60 IN MX 10 $3.\""
    echo "    local-data: \"$3. 60 IN A 127.0.0.1\""
    shift 3
    for t in "$@"; do echo "    local-data: '$t'"; done
}
{
cat <<EOF
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
EOF
zone good.test 127.0.0.1 mx.good.test "_mta-sts.good.test. 60 IN TXT \"v=STSv1; id=$GOOD_ID\"" \
    '_smtp._tls.good.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@good.test"'
zone stale.test 127.0.0.1 mx.stale.test '_mta-sts.stale.test. 60 IN TXT "v=STSv1; id=20200101000000old"' \
    '_smtp._tls.stale.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@stale.test"'
for d in ctype redirect wrongcert badage bom blank nostarttls expiredmx notbumped; do
    zone $d.test 127.0.0.1 mx.$d.test "_mta-sts.$d.test. 60 IN TXT \"v=STSv1; id=1\"" \
        "_smtp._tls.$d.test. 60 IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@$d.test\""
done
zone mxout.test 127.0.0.1 other.mxout.test '_mta-sts.mxout.test. 60 IN TXT "v=STSv1; id=1"'
zone duptxt.test 127.0.0.1 mx.duptxt.test '_mta-sts.duptxt.test. 60 IN TXT "v=STSv1; id=1"' \
    '_mta-sts.duptxt.test. 60 IN TXT "v=STSv1; id=2"'
# rua endpoints: moat's own TLS-RPT receiver (its certificate names mta-sts.good.test), the same
# name on a closed port, and a mail domain with neither MX nor address.
zone rptok.test 127.0.0.1 mx.rptok.test \
    "_smtp._tls.rptok.test. 60 IN TXT \"v=TLSRPTv1; rua=https://mta-sts.good.test:$RPT_PORT/tlsrpt,mailto:tlsrpt@good.test\""
zone rptdead.test 127.0.0.1 mx.rptdead.test \
    "_smtp._tls.rptdead.test. 60 IN TXT \"v=TLSRPTv1; rua=https://mta-sts.good.test:$CLOSED_PORT/tlsrpt,mailto:tlsrpt@nomx.test\""
echo "    local-zone: \"nomx.test.\" static"
zone badrpt.test 127.0.0.1 mx.badrpt.test '_smtp._tls.badrpt.test. 60 IN TXT "v=TLSRPTv1; rua=http://r.badrpt.test/x"'
echo "    local-zone: \"nothing.test.\" static"
echo "remote-control:"
echo "    control-enable: no"
} > "$T/unbound.conf"
unbound -d -c "$T/unbound.conf" > "$T/unbound.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do dig @127.0.0.1 -p "$DNS_PORT" +time=1 +tries=1 +short MX good.test 2>/dev/null | grep -q mx && break; sleep 0.1; done
wait_port "$STUB_PORT"; wait_port "$SMTP_PORT"; wait_port "$EXPIRED_SMTP"

# check DOMAIN HTTPS_PORT SMTP_PORT [extra args]: runs the checker, sets OUT (JSON) and RC.
# No fixture fails by silence (closed ports refuse at once), so the per-step timeout only needs
# to be long enough for a loaded machine (postfix forks an smtpd per connection).
run_check() {
    local d=$1 hp=$2 sp=$3
    shift 3
    local start=$(date +%s%N)
    OUT=$("$MOAT" check mail "$d" --json --resolver "${RESOLVER:-127.0.0.1:$DNS_PORT}" --ca-file "$T/roots.pem" \
        --https-port "$hp" --smtp-port "$sp" --timeout 10000 "$@" 2>"$T/check.err") && RC=0 || RC=$?
    MS=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "$OUT" > "$T/check-$d.json"
}
# has ID STATUS REGEX: a result with this id and status whose message matches.
has() {
    printf '%s' "$OUT" | python3 -c '
import json, re, sys
r = json.load(sys.stdin)
sys.exit(0 if any(x["id"] == sys.argv[1] and x["status"] == sys.argv[2] and re.search(sys.argv[3], x["message"]) for x in r["results"]) else 1)' "$@"
}
expect() {  # expect NAME ID STATUS REGEX
    local name=$1; shift
    if has "$@"; then pass "$name"; else fail "$name: no $1 $2 /$3/ in $(printf '%s' "$OUT" | head -c 3000)"; fi
}

# ---- the good domain: moat's policy, postfix MX, TLS-RPT ----
run_check good.test "$HTTPS_PORT" "$SMTP_PORT" --state "$T/data/mail"
expect_eq "good.test: exit 0" "$RC" "0"
expect "good: S4 valid record" S4 PASS "id=$GOOD_ID"
expect "good: H2 certificate" H2 PASS "certificate valid for mta-sts.good.test"
expect "good: H4 text/plain" H4 PASS "text/plain"
expect "good: P5 enforce" P5 PASS "enforce"
expect "good: M2 MX matches" M2 PASS "mx.good.test matches"
expect "good: M3 STARTTLS with postfix" M3 PASS "STARTTLS, TLSv1\.[23]"
expect "good: M4 id is moat's" M4 PASS "moat generated"
expect "good: R2 TLS-RPT" R2 PASS "rua=mailto:tlsrpt@good.test"
echo "good.test check took ${MS} ms"
table=$("$MOAT" check mail good.test --resolver "127.0.0.1:$DNS_PORT" --ca-file "$T/roots.pem" \
    --https-port "$HTTPS_PORT" --smtp-port "$SMTP_PORT" --timeout 10000 2>&1) || true
expect_match "table output has the overall line" "$table" "PASS, [0-9]+ INFO, 0 WARN, 0 FAIL: overall"

# ---- failure fixtures ----
run_check stale.test "$HTTPS_PORT" "$SMTP_PORT" --state "$T/data/mail"
expect "stale id: M4 FAIL" M4 FAIL "moat serves the policy with id .* DNS publishes 20200101000000old"
expect_eq "stale id: exit 1" "$RC" "1"
run_check ctype.test "$STUB_PORT" "$SMTP_PORT"
expect "wrong content type: H4 FAIL" H4 FAIL 'Content-Type is "text/html"'
run_check redirect.test "$STUB_PORT" "$SMTP_PORT"
expect "redirect: H3 FAIL" H3 FAIL "answered 301 to https://www\.redirect\.test"
run_check wrongcert.test "$STUB_PORT" "$SMTP_PORT"
expect "certificate without the mta-sts name: H2 FAIL" H2 FAIL "does not name mta-sts\.wrongcert\.test"
run_check mxout.test "$STUB_PORT" "$SMTP_PORT"
expect "MX outside the patterns: M2 FAIL" M2 FAIL "MX other\.mxout\.test matches no mx pattern"
expect "unused pattern: M2 WARN" M2 WARN "mx\.mxout\.test\" matches no MX record"
expect "no TLS-RPT with MTA-STS: R1 WARN" R1 WARN "no TLS-RPT record"
run_check badage.test "$STUB_PORT" "$SMTP_PORT"
expect "bad max_age: P6 FAIL" P6 FAIL "31557601"
run_check bom.test "$STUB_PORT" "$SMTP_PORT"
expect "byte-order mark: P1 FAIL" P1 FAIL "byte-order mark"
run_check blank.test "$STUB_PORT" "$SMTP_PORT"
expect "blank lines: P2 WARN" P2 WARN "blank line"
expect "testing mode: P5 WARN" P5 WARN "testing"
run_check nostarttls.test "$STUB_PORT" "$PLAIN_SMTP"
expect "STARTTLS missing: M3 FAIL" M3 FAIL "STARTTLS is not offered"
run_check expiredmx.test "$STUB_PORT" "$EXPIRED_SMTP"
expect "expired MX certificate: M3 FAIL" M3 FAIL "certificate expired"
run_check duptxt.test "$STUB_PORT" "$SMTP_PORT"
expect "duplicate TXT records: S2 FAIL" S2 FAIL "2 records begin with v=STSv1"
run_check badrpt.test "$STUB_PORT" "$SMTP_PORT"
expect "bad rua scheme: R2 FAIL" R2 FAIL "must start with mailto: or https://"
expect "no MTA-STS: S1 INFO" S1 INFO "has no MTA-STS"
expect "policy served without a TXT record: S1 FAIL" S1 FAIL "serves a policy but _mta-sts\.badrpt\.test has no valid"
run_check nothing.test "$STUB_PORT" "$SMTP_PORT"
expect "nothing: implicit MX" M1 INFO "no MX record"
wait_port "$RPT_PORT"
run_check rptok.test "$STUB_PORT" "$SMTP_PORT"
expect "rua at moat's receiver: R3 PASS" R3 PASS \
    "https://mta-sts\.good\.test:$RPT_PORT/tlsrpt: reachable at 127\.0\.0\.1:$RPT_PORT: TLSv1\.[23], certificate valid for mta-sts\.good\.test, GET answered HTTP 405"
expect "mailto rua with MX: R3 PASS" R3 PASS "mailto:tlsrpt@good\.test: good\.test receives mail \(MX mx\.good\.test\)"
run_check rptdead.test "$STUB_PORT" "$SMTP_PORT"
expect "rua on a closed port: R3 FAIL" R3 FAIL "https://mta-sts\.good\.test:$CLOSED_PORT/tlsrpt: not reachable, reports sent there are lost: 127\.0\.0\.1:$CLOSED_PORT"
expect "mailto rua without MX: R3 FAIL" R3 FAIL "nomx\.test has no MX and no A or AAAA record"
if has R3 PASS .; then fail "rptdead: an R3 PASS"; else pass "rptdead: no R3 PASS"; fi

# id not bumped: the first check remembers (id, policy hash); the policy changes, the id not.
run_check notbumped.test "$STUB_PORT" "$SMTP_PORT" --state "$T/state"
expect_no_match "first check: no M4 failure" "$(printf '%s' "$OUT" | grep -c '"M4"' || true)" "^[1-9]"
printf 'version: STSv1\nmode: testing\nmx: mx.notbumped.test\nmax_age: 604800\n' > "$T/policies/notbumped.test.txt"
run_check notbumped.test "$STUB_PORT" "$SMTP_PORT" --state "$T/state"
expect "id not bumped: M4 FAIL" M4 FAIL "the policy changed since the last check but the id 1 did not"
expect_eq "id not bumped: exit 1" "$RC" "1"

# ---- DANE: a DNSSEC-signed zone from knot, TLSA records, libunbound validating ----
K="$T/knot"; mkdir -p "$K/run" "$K/db" "$K/zones"
cat > "$K/knot.conf" <<EOF
server:
    rundir: $K/run
    listen: 127.0.0.1@$KNOT_PORT
log:
  - target: stderr
    any: info
database:
    storage: $K/db
policy:
  - id: ecdsa
    algorithm: ecdsap256sha256
    nsec3: off
template:
  - id: default
    storage: $K/zones
    dnssec-signing: on
    dnssec-policy: ecdsa
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
zone:
  - domain: dane.test
EOF
EE=$(openssl x509 -in "$T/pki/stub.crt" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)
TA=$(openssl x509 -in "$T/pki/ca.crt" -outform der | sha256sum | cut -d' ' -f1)
cat > "$K/zones/dane.test.zone" <<EOF
\$ORIGIN dane.test.
\$TTL 60
@ SOA ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 60
@ NS ns.dane.test.
ns A 127.0.0.1
@ MX 10 mx.dane.test.
mx A 127.0.0.1
_25._tcp.mx TLSA 3 1 1 $EE
_25._tcp.mx TLSA 2 0 1 $TA
alias MX 10 mxalias.dane.test.
mxalias CNAME mx.dane.test.
orig MX 10 mxorig.dane.test.
mxorig CNAME host.dane.test.
host A 127.0.0.1
_25._tcp.mxorig TLSA 2 0 1 $TA
noname MX 10 mx.noname.dane.test.
mx.noname A 127.0.0.1
_25._tcp.mx.noname TLSA 2 0 1 $TA
bad MX 10 mx.bad.dane.test.
mx.bad A 127.0.0.1
_25._tcp.mx.bad TLSA 3 1 1 0000000000000000000000000000000000000000000000000000000000000000
EOF
knotd -c "$K/knot.conf" > "$K/knotd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do kdig @127.0.0.1 -p "$KNOT_PORT" +short DNSKEY dane.test 2>/dev/null | grep -q '^257' && break; sleep 0.1; done
kdig @127.0.0.1 -p "$KNOT_PORT" +short DNSKEY dane.test | awk '$1==257{print "dane.test. IN DNSKEY " $0}' > "$K/anchor"
RESOLVER="127.0.0.1:$KNOT_PORT" run_check dane.test "$STUB_PORT" "$SMTP_PORT" --trust-anchor "$K/anchor"
expect "DANE: D1 MX signed" D1 PASS "DNSSEC-signed and valid"
expect "DANE: D2 TLSA matches the chain" D2 PASS "_25\._tcp\.mx\.dane\.test: a TLSA record matches"
expect "DANE without TLS-RPT: R1 WARN" R1 WARN "no TLS-RPT record"
if has D2 WARN "rollover"; then fail "DANE: EE+TA pair flagged as no rollover"; else pass "DANE: EE+TA pair has a rollover"; fi
RESOLVER="127.0.0.1:$KNOT_PORT" run_check bad.dane.test "$STUB_PORT" "$SMTP_PORT" --trust-anchor "$K/anchor"
expect "DANE: wrong TLSA: D2 FAIL" D2 FAIL "no TLSA record matches the certificate chain \(tlsa-invalid\)"
expect "DANE: single EE record: D2 WARN" D2 WARN "rollover"
# TLSA behind a DNSSEC-secure CNAME (RFC 7671 §7, RFC 7672 §2.2.2): at the target first...
RESOLVER="127.0.0.1:$KNOT_PORT" run_check alias.dane.test "$STUB_PORT" "$SMTP_PORT" --trust-anchor "$K/anchor"
expect "DANE via CNAME: TLSA at the target" D2 PASS \
    "^_25\._tcp\.mx\.dane\.test \(the CNAME target of MX mxalias\.dane\.test\): a TLSA record matches"
# ...and at the MX name when the target has none; DANE-TA then accepts either name.
RESOLVER="127.0.0.1:$KNOT_PORT" run_check orig.dane.test "$STUB_PORT" "$SMTP_PORT" --trust-anchor "$K/anchor"
expect "DANE via CNAME: TLSA only at the MX name" D2 PASS \
    "^_25\._tcp\.mxorig\.dane\.test \(the MX name; none at its CNAME target host\.dane\.test\): a TLSA record matches the certificate chain \(DANE-TA"
# DANE-TA whose chain matches but whose leaf names neither reference identifier.
RESOLVER="127.0.0.1:$KNOT_PORT" run_check noname.dane.test "$STUB_PORT" "$SMTP_PORT" --trust-anchor "$K/anchor"
expect "DANE-TA, wrong name: D2 FAIL" D2 FAIL "_25\._tcp\.mx\.noname\.dane\.test: a DANE-TA record matches the chain but the certificate names none of mx\.noname\.dane\.test"
RESOLVER="127.0.0.1:$KNOT_PORT" run_check dane.test "$STUB_PORT" "$SMTP_PORT"
expect "TLSA without validation: D2 WARN" D2 WARN "not DNSSEC-validated"

# Bad options are usage errors, never a hang.
"$MOAT" check mail "bad domain" >/dev/null 2>&1 && rc=0 || rc=$?
expect_eq "bad domain: exit 2" "$rc" "2"
# A resolver that never answers: every step is bounded.
SILENT=$(free_port)
python3 -c "import socket,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', $SILENT)); time.sleep(60)" &
PIDS+=($!)
start=$(date +%s)
"$MOAT" check mail good.test --resolver "127.0.0.1:$SILENT" --timeout 500 >/dev/null 2>&1 && rc=0 || rc=$?
took=$(( $(date +%s) - start ))
expect_eq "silent resolver: FAIL exit" "$rc" "1"
if [ "$took" -lt 30 ]; then pass "silent resolver: bounded (${took}s)"; else fail "silent resolver took ${took}s"; fi
finish
