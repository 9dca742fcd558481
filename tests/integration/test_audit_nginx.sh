#!/usr/bin/env bash
# `moat audit` against nginx configured badly on loopback: one server with TLS 1.0/1.1, CBC
# suites, RSA key exchange and an RSA-1024 certificate, no HSTS and an 'unsafe-inline' CSP; one
# with an expired certificate; one with 1024-bit DHE, a NULL suite and a short HSTS. Each weakness must show with the grade the rules give
# (docs/audit.md), and the protocols and suites found must agree with testssl.sh on the same
# servers (testssl.sh restricted to -p -E, run in the background while moat's checks run).
source "$(dirname "$0")/lib.sh"

for tool in nginx testssl openssl python3; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 0; }
done

WEAK=$(free_port)
EXPIRED=$(free_port)
LEGACY=$(free_port)
HTTP=$(free_port)
mkdir -p "$T/pki" "$T/ca" "$T/tmp"

# ---- PKI: an RSA CA, an RSA-1024 leaf, an expired RSA-2048 leaf ----
P=$T/pki
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/ca.key" -subj "/CN=moat audit test CA" \
    -days 3 -sha256 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" -out "$P/ca.crt" 2>/dev/null
openssl req -newkey rsa:1024 -nodes -keyout "$P/weak.key" -subj /CN=weak.moat.test \
    -out "$P/weak.csr" 2>/dev/null
printf 'subjectAltName=DNS:weak.moat.test\nextendedKeyUsage=serverAuth\n' >"$P/weak.ext"
openssl x509 -req -in "$P/weak.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
    -sha256 -extfile "$P/weak.ext" -out "$P/weak.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$P/legacy.key" -subj /CN=legacy.moat.test \
    -out "$P/legacy.csr" 2>/dev/null
printf 'subjectAltName=DNS:legacy.moat.test\nextendedKeyUsage=serverAuth\n' >"$P/legacy.ext"
openssl x509 -req -in "$P/legacy.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
    -sha256 -extfile "$P/legacy.ext" -out "$P/legacy.crt" 2>/dev/null
openssl dhparam -out "$P/dh1024.pem" 1024 2>/dev/null
# `openssl x509 -days` refuses a past date; `openssl ca` takes explicit start and end dates.
openssl req -newkey rsa:2048 -nodes -keyout "$P/expired.key" -subj /CN=expired.moat.test \
    -out "$P/expired.csr" 2>/dev/null
touch "$T/ca/index.txt"
echo 01 >"$T/ca/serial"
cat >"$P/ca.cnf" <<EOF
[ca]
default_ca = d
[d]
database = $T/ca/index.txt
serial = $T/ca/serial
new_certs_dir = $T/ca
default_md = sha256
policy = p
[p]
commonName = supplied
[ext]
subjectAltName = DNS:expired.moat.test
extendedKeyUsage = serverAuth
EOF
openssl ca -batch -config "$P/ca.cnf" -cert "$P/ca.crt" -keyfile "$P/ca.key" -in "$P/expired.csr" \
    -out "$P/expired.crt" -startdate 20200101000000Z -enddate 20200301000000Z -extensions ext \
    >/dev/null 2>&1

# ---- nginx: the two bad servers and a port-80 stand-in that redirects everything ----
cat >"$T/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $T/nginx.pid;
error_log $T/nginx-error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $T/tmp/body;
    proxy_temp_path $T/tmp/proxy;
    fastcgi_temp_path $T/tmp/fastcgi;
    uwsgi_temp_path $T/tmp/uwsgi;
    scgi_temp_path $T/tmp/scgi;
    server {
        listen 127.0.0.1:$WEAK ssl;
        server_name weak.moat.test;
        ssl_certificate $P/weak.crt;
        ssl_certificate_key $P/weak.key;
        # Debian's OpenSSL 3 needs security level 0 for TLS 1.0/1.1 and RSA-1024.
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
        ssl_ciphers 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:AES256-SHA:@SECLEVEL=0';
        ssl_prefer_server_ciphers on;
        add_header Content-Security-Policy "default-src 'self'; script-src 'self' 'unsafe-inline'" always;
        add_header X-Content-Type-Options nosniff always;
        add_header Set-Cookie "SID=1; Path=/" always;
        location / { return 200 "weak\n"; }
    }
    server {
        listen 127.0.0.1:$EXPIRED ssl;
        server_name expired.moat.test;
        ssl_certificate $P/expired.crt;
        ssl_certificate_key $P/expired.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384';
        add_header Strict-Transport-Security "max-age=63072000" always;
        location / { return 200 "expired\n"; }
    }
    server {
        listen 127.0.0.1:$LEGACY ssl;
        server_name legacy.moat.test;
        ssl_certificate $P/legacy.crt;
        ssl_certificate_key $P/legacy.key;
        ssl_protocols TLSv1.2;
        ssl_ciphers 'DHE-RSA-AES128-GCM-SHA256:NULL-SHA256:@SECLEVEL=0';
        ssl_dhparam $P/dh1024.pem;
        ssl_prefer_server_ciphers on;
        add_header Strict-Transport-Security "max-age=600" always;
        location / { return 200 "legacy\n"; }
    }
    server {
        listen 127.0.0.1:$HTTP;
        return 301 https://weak.moat.test:$WEAK\$request_uri;
    }
}
EOF
nginx -c "$T/nginx.conf" -p "$T" >"$T/nginx.out" 2>&1 &
PIDS+=($!)
wait_port "$WEAK" && wait_port "$EXPIRED" && wait_port "$LEGACY" && wait_port "$HTTP" || { cat "$T/nginx.out" "$T/nginx-error.log"; exit 1; }

# testssl.sh in the background (about 40 s each on this machine), bounded.
ts() {  # ts NAME PORT
    timeout 170 testssl --quiet --color 0 --warnings off --nodns none --ip 127.0.0.1 -p -E \
        --jsonfile "$T/testssl-$1.json" "https://$1.moat.test:$2/" >"$T/testssl-$1.out" 2>&1 || true
}
ts weak "$WEAK" &
TS1=$!
ts expired "$EXPIRED" &
TS2=$!

audit() {  # audit NAME PORT ARGS...: JSON of moat audit in $T/NAME.json, exit code in RC
    local name=$1 port=$2
    shift 2
    set +e
    "$MOAT" audit "https://$name.moat.test:$port" --resolve "$name.moat.test:127.0.0.1" \
        --ca "$P/ca.crt" --http-port "$HTTP" --timeout 5 --json "$@" >"$T/$name.json" 2>"$T/$name.err"
    RC=$?
    set -e
}
# jq-like access with python: q FILE EXPR (EXPR uses `d` for the document).
q() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ---- the weak server ----
start=$(date +%s.%N)
audit weak "$WEAK"
took=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
echo "moat audit of the weak server took ${took}s"
expect_eq "weak: exit 0 without --min-grade" "$RC" "0"
J=$T/weak.json
expect_eq "weak: offered protocols" "$(q "$J" "' '.join(d['tls']['offered'])")" "TLSv1 TLSv1.1 TLSv1.2"
expect_eq "weak: TLS 1.0 suites in server order" \
    "$(q "$J" "' '.join(s['name'] for s in d['tls']['protocols'][0]['suites'])")" \
    "ECDHE-RSA-AES128-SHA AES256-SHA"
expect_eq "weak: TLS 1.2 suites in server order" \
    "$(q "$J" "' '.join(s['name'] for s in d['tls']['protocols'][2]['suites'])")" \
    "ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES128-SHA AES256-SHA"
expect_eq "weak: server order detected" "$(q "$J" "d['tls']['protocols'][2]['server_order']")" "True"
expect_eq "weak: CBC suites flagged" \
    "$(q "$J" "sum(s['cbc'] for p in d['tls']['protocols'] for s in p['suites'])")" "6"
expect_eq "weak: RSA key exchange is not forward secret" \
    "$(q "$J" "[s['forward_secret'] for s in d['tls']['protocols'][2]['suites'] if s['name']=='AES256-SHA'][0]")" "False"
expect_eq "weak: certificate RSA 1024" \
    "$(q "$J" "d['tls']['certificate']['key_type'] + ' ' + str(d['tls']['certificate']['key_bits'])")" "RSA 1024"
expect_eq "weak: trusted with --ca" "$(q "$J" "d['tls']['certificate']['trusted']")" "True"
# Scores: protocol (100+90)/2 = 95, key exchange RSA-1024 = 80, cipher (256->100 + 128->80)/2 = 90;
# 0.3*95 + 0.3*80 + 0.4*90 = 88 -> A, capped at B by TLS 1.0, TLS 1.1 and the 1024-bit key.
expect_eq "weak: category scores" \
    "$(q "$J" "'%d %d %d %d' % (d['tls']['grade']['protocol_score'], d['tls']['grade']['key_exchange_score'], d['tls']['grade']['cipher_score'], d['tls']['grade']['score'])")" \
    "95 80 90 88"
expect_eq "weak: caps" "$(q "$J" "' '.join(sorted(c['id'] for c in d['tls']['grade']['caps']))")" \
    "tls10 tls11 weak-key"
expect_eq "weak: TLS grade B" "$(q "$J" "d['tls']['grade']['grade']")" "B"
expect_match "weak: no TLS 1.3 warning" "$(q "$J" "d['tls']['grade']['warnings']")" "TLS 1.3 not offered"
expect_eq "weak: no HSTS" "$(q "$J" "d['http']['hsts']")" "None"
expect_match "weak: HSTS missing on the securityheaders card" \
    "$(q "$J" "d['http']['securityheaders']['missing']")" "Strict-Transport-Security"
expect_eq "weak: unsafe-inline found in the CSP" "$(q "$J" "d['http']['csp']['unsafe_inline']")" "True"
expect_eq "weak: CSP -20, HSTS -20, XFO -20 on the Observatory card" \
    "$(q "$J" "' '.join(str(t['points']) for t in d['http']['observatory']['tests'] if t['test'] in ('content-security-policy','strict-transport-security','x-frame-options'))")" \
    "-20 -20 -20"
# Cookie SID without Secure/HttpOnly: -40 (session cookie without Secure), 100-100 -> 0.
expect_match "weak: cookie flags" "$(q "$J" "d['http']['cookies'][0]['problems']")" "no Secure flag"
expect_eq "weak: observatory score" "$(q "$J" "d['http']['observatory']['score']")" "0"
expect_eq "weak: securityheaders E (four of six missing)" \
    "$(q "$J" "d['http']['securityheaders']['grade']")" "E"
expect_match "weak: Server leak" "$(q "$J" "d['http']['leaks']")" "nginx"
expect_eq "weak: port 80 redirects everything" \
    "$(q "$J" "d['transport']['http_port']['summary']")" "redirect everything"
expect_eq "weak: no h2" "$(q "$J" "d['transport']['http2']")" "False"
expect_eq "weak: overall F" "$(q "$J" "d['grade']")" "F"
audit weak "$WEAK" --min-grade B
expect_eq "weak: --min-grade B fails (exit 1)" "$RC" "1"
expect_match "weak: --min-grade names the grade" "$(cat "$T/weak.err")" "below --min-grade B"

# Text card: the same findings, readable.
out=$("$MOAT" audit "https://weak.moat.test:$WEAK" --resolve "weak.moat.test:127.0.0.1" \
    --ca "$P/ca.crt" --http-port "$HTTP" --timeout 5)
expect_match "weak text: grade B line" "$out" "== TLS  grade B "
expect_match "weak text: cap reason" "$out" "cap B: TLS 1.0 offered"
expect_match "weak text: weak key" "$out" "cap B: certificate RSA key under 2048 bits"
expect_match "weak text: unsafe-inline" "$out" "'unsafe-inline' in script sources"

# ---- the expired server ----
audit expired "$EXPIRED"
J=$T/expired.json
expect_eq "expired: offered protocols" "$(q "$J" "' '.join(d['tls']['offered'])")" "TLSv1.2 TLSv1.3"
expect_eq "expired: certificate expired" "$(q "$J" "d['tls']['certificate']['expired']")" "True"
expect_match "expired: negative days left" "$(q "$J" "d['tls']['certificate']['days_left']")" "^-[0-9]+$"
expect_eq "expired: grade T" "$(q "$J" "d['tls']['grade']['grade']")" "T"
expect_eq "expired: A+ if trusted (TLS 1.2+1.3, AEAD, FS, HSTS)" \
    "$(q "$J" "d['tls']['grade']['grade_if_trusted']")" "A+"
expect_match "expired: trust cap reason" "$(q "$J" "d['tls']['grade']['caps']")" "certificate expired"

# ---- DHE with 1024-bit parameters and a NULL suite (TLS 1.2 only) ----
# (Debian's OpenSSL 3 has no 3DES or RC4 suites at all, on either side: the SWEET32 and RC4 caps
# are covered by the unit tests only.)
audit legacy "$LEGACY"
J=$T/legacy.json
expect_eq "legacy: suites" "$(q "$J" "' '.join(s['name'] for s in d['tls']['protocols'][2]['suites'])")" \
    "DHE-RSA-AES128-GCM-SHA256 NULL-SHA256"
expect_eq "legacy: DH group seen" "$(q "$J" "d['tls']['protocols'][2]['suites'][0]['kx_group']")" "DH 1024"
expect_eq "legacy: NULL suite flagged" \
    "$(q "$J" "'%s %d' % (d['tls']['protocols'][2]['suites'][1]['null'], d['tls']['protocols'][2]['suites'][1]['bits'])")" \
    "True 0"
# protocol 100; key exchange min(RSA-2048 90, DH-1024 80) = 80; cipher (80 + 0) / 2 = 40
# -> 30 + 24 + 16 = 70 (B), capped at F by the NULL suite and at B by the 1024-bit DH group.
expect_eq "legacy: category scores" \
    "$(q "$J" "'%d %d %d %d' % (d['tls']['grade']['protocol_score'], d['tls']['grade']['key_exchange_score'], d['tls']['grade']['cipher_score'], d['tls']['grade']['score'])")" \
    "100 80 40 70"
expect_eq "legacy: caps" "$(q "$J" "' '.join(sorted(c['id'] for c in d['tls']['grade']['caps']))")" \
    "null weak-dh"
expect_eq "legacy: TLS grade F" "$(q "$J" "d['tls']['grade']['grade']")" "F"
expect_match "legacy: short HSTS warning" "$(q "$J" "d['tls']['grade']['warnings']")" "HSTS max-age under 180 days"
expect_eq "legacy: Observatory HSTS -10" \
    "$(q "$J" "[t['points'] for t in d['http']['observatory']['tests'] if t['test']=='strict-transport-security'][0]")" "-10"

# ---- agreement with testssl.sh ----
wait "$TS1" "$TS2" || true
compare() {  # compare NAME: protocols and suites per protocol, moat vs testssl
    local name=$1
    python3 - "$T/$name.json" "$T/testssl-$name.json" <<'PY'
import json, sys
moat = json.load(open(sys.argv[1]))
ts = json.load(open(sys.argv[2]))
ids = {"TLS1": "TLSv1", "TLS1_1": "TLSv1.1", "TLS1_2": "TLSv1.2", "TLS1_3": "TLSv1.3"}
ts_protos = sorted(ids[e["id"]] for e in ts if e["id"] in ids and e["finding"].startswith("offered"))
ts_suites = {}
for e in ts:
    if e["id"].startswith("cipher-tls"):
        f = e["finding"].split()
        proto = {"1": "TLSv1", "1.1": "TLSv1.1", "1.2": "TLSv1.2", "1.3": "TLSv1.3"}[f[1]]
        ts_suites.setdefault(proto, set()).add(f[3])
m_protos = sorted(moat["tls"]["offered"])
m_suites = {p["protocol"]: {s["name"] for s in p["suites"]} for p in moat["tls"]["protocols"] if p["offered"]}
ok = ts_protos == m_protos and ts_suites == m_suites
print("testssl", ts_protos, {k: sorted(v) for k, v in ts_suites.items()})
print("moat   ", m_protos, {k: sorted(v) for k, v in m_suites.items()})
sys.exit(0 if ok and ts_protos else 1)
PY
}
for name in weak expired; do
    if [ -s "$T/testssl-$name.json" ]; then
        check "$name: protocols and suites agree with testssl.sh" compare "$name"
    else
        fail "$name: testssl.sh produced no JSON"; cat "$T/testssl-$name.out"
    fi
done
finish
