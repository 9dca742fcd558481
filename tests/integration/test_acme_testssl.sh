#!/usr/bin/env bash
# testssl.sh (Debian 3.0.8) against a site whose certificate moat obtained from pebble over
# ACME: protocols, cipher lists, forward secrecy, server defaults (the ACME chain) and headers,
# with pebble's root as the extra CA. Nothing may rate above LOW (WARN only for the scanner's
# own engine_problem). The vulnerability checks (-U) are left to test runs with time to spare:
# on a loaded 2-core machine they pushed the scan past two minutes.
source "$(dirname "$0")/lib.sh"
source "$HERE/../acme/peers.sh"
command -v testssl >/dev/null || { echo "testssl not installed: skipped"; exit 0; }

HTTP_PORT=$(free_port)
peers_ca
knot_start "$(free_port)"
pebble_start "$(free_port)" "$(free_port)" "$HTTP_PORT" "$(free_port)" 7776000
# Picked after the peers started, just before use: another test may take a port picked early.
HTTPS_PORT=$(free_port)
make_site "$T/site" prod

cat > "$T/moat.toml" <<EOF
data_dir = "$T/data"
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
metrics = ""
workers = 2
[sites."site.example.test"]
root = "$T/site"
tls = "acme"
[acme]
directory = "https://127.0.0.1:$PEBBLE_PORT/dir"
ca_bundle = "$T/ca/ca.pem"
challenge = "http-01"
EOF
moat_start serve --config "$T/moat.toml"
wait_cert site.example.test 30 >/dev/null || { fail "no certificate issued"; cat "$T/moat.log"; finish; }

# The openssl testssl runs: an `s_client -sess_out` (its session-resumption step) keeps stdin
# open for a second, so a TLS 1.3 NewSessionTicket sent after the handshake reaches it (see the
# race described below); every other call is openssl as it is.
OPENSSL_BIN=$(command -v openssl)
cat > "$T/openssl-for-testssl" <<EOF
#!/bin/sh
case " \$* " in
*" -sess_out "*) sleep 1 | exec "$OPENSSL_BIN" "\$@" ;;
esac
exec "$OPENSSL_BIN" "\$@"
EOF
chmod 755 "$T/openssl-for-testssl"

# run_testssl: one scan into $T/tls.json; prints every finding above LOW (WARN included).
run_testssl() {
    local t0; t0=$(date +%s)
    rm -f "$T/tls.json"
    timeout 300 testssl --openssl "$T/openssl-for-testssl" --quiet --color 0 --warnings off \
        --nodns none --ip 127.0.0.1 --add-ca "$T/pebble/root.pem" --jsonfile "$T/tls.json" \
        -p -s -f -S -h "https://site.example.test:$HTTPS_PORT/" > "$T/testssl.out" 2>&1 || true
    echo "testssl took $(( $(date +%s) - t0 )) s" >&2
    [ -s "$T/tls.json" ] || { echo "testssl wrote no JSON"; tail -20 "$T/testssl.out" >&2; return; }
    python3 - "$T/tls.json" <<'PY'
import json, sys
allowed_warn = {"engine_problem"}
for f in json.load(open(sys.argv[1])):
    sev = f.get("severity", "")
    if sev in ("MEDIUM", "HIGH", "CRITICAL") or (sev == "WARN" and f.get("id") not in allowed_warn):
        print(f'{f.get("id")} {sev}: {f.get("finding")}')
PY
}
bad=$(run_testssl)
# "sessionresumption_ticket WARN: check failed because of connect problem" is a race in the
# scanner, not moat. testssl runs `openssl s_client -sess_out F </dev/null` and then
# `s_client -sess_in F`. Over TLS 1.3 the server can send its NewSessionTicket only after the
# client's Finished (RFC 8446 §4.6.1: the ticket's PSK derives from resumption_master_secret),
# while s_client, its handshake done, sees EOF on stdin and quits; when the ticket has not
# arrived by then, s_client never writes F, the -sess_in run fails to read it (exit 1, no
# certificate printed) and testssl calls that a connect problem. Measured on this 2-core machine
# under load: 14 of 40 `-tls1_3 -sess_out` runs against moat left F empty and every failed
# -sess_in was one of those (all 26 others resumed: "Reused"); `openssl s_server` with the same
# certificate left F empty in 18 of 60; with stdin held open 0.5 s no run against moat lost the
# ticket; over TLS 1.2 (ticket inside the handshake) 0 of 40. testssl takes TLS 1.3 for this
# step only when its own earlier probe happened to catch a TLS 1.3 ticket, hence "rarely".
# Under load three scans in a row lost it, so the scans use the openssl wrapper above, which
# holds stdin open for that step; a scan whose only findings are such WARNs is still repeated
# (up to twice); a real finding shows every time.
for _ in 1 2; do
    [ -n "$bad" ] && ! grep -qv 'connect problem' <<<"$bad" || break
    echo "testssl lost a race in its session-resumption step ($bad); scanning again"
    bad=$(run_testssl)
done
expect_eq "testssl: nothing above LOW" "$bad" ""
ids=$(python3 -c 'import json,sys; print(" ".join(f["id"]+"="+f["finding"].replace(" ","_") for f in json.load(open(sys.argv[1])) if f["id"] in ("TLS1","TLS1_1","TLS1_3","cert_chain_of_trust","cert_trust")))' "$T/tls.json")
echo "$ids"
expect_match "TLS 1.0 not offered" "$ids" 'TLS1=not_offered'
expect_match "TLS 1.3 offered" "$ids" 'TLS1_3=offered'
expect_match "ACME chain trusted via pebble's root" "$ids" 'cert_chain_of_trust=passed'
finish
