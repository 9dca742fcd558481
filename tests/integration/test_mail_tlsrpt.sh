#!/usr/bin/env bash
# The TLS-RPT receiver (RFC 8460 §5.3) on [mail] tlsrpt_listen: real-shaped reports (the RFC
# sample with mx-host as a string, Google-style arrays, Microsoft-style zoneless dates) POSTed
# as application/tlsrpt+gzip and +json are stored once per report-id and summarised by
# `moat mail reports`; a gzip bomb, malformed JSON, an oversized body, a wrong content type,
# a report for someone else's domain and GET are refused with 4xx and change nothing.
# Without a store they are files under <data_dir>/tlsrpt/ (part 1); with one ([s3] here, part 2)
# they are objects in the `logs` bucket under TLSRPT/<domain>/<day>/, read back with aws-cli
# (demo key) and summarised by `moat mail reports` beside the running server. Part 3: a report
# kept in the folder while the server ran without its store moves into the bucket when it
# starts with one, once. A reload moves the receiver to another port (and refuses one that
# cannot be bound, keeping the old listener).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"

# ---- part 1: no store, reports in the data folder -------------------------------------------

HTTPS_PORT=$(free_port)
RPT_PORT=$(free_port)
export CA="$T/fdata/ca/root.crt"
DATA="$(cd "$(dirname "$0")/../data/mail/tlsrpt" && pwd)"
make_site "$T/site" prod

cat > "$T/moat.toml" <<EOF
data_dir = "$T/fdata"
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = []
metrics = ""
workers = 1
[sites."site.moat.test"]
root = "$T/site"
[mail]
tlsrpt_listen = ["127.0.0.1:$RPT_PORT"]
tlsrpt_max_body = 65536
tlsrpt_max_inflated = 1048576
[mail."company-y.example"]
mode = "testing"
mx = ["*.mail.company-y.example"]
tlsrpt = ["https://mta-sts.company-y.example/tlsrpt"]
EOF
moat_start serve --config "$T/moat.toml"
wait_port "$RPT_PORT" || { cat "$T/moat.log"; exit 1; }

URL="https://mta-sts.company-y.example:$RPT_PORT/tlsrpt"
post() {  # post CONTENT_TYPE FILE -> "status"
    mcurl --resolve "mta-sts.company-y.example:$RPT_PORT:127.0.0.1" -o "$T/resp" -w '%{http_code}' \
        -H "Content-Type: $1" --data-binary "@$2" "$URL"
}
stored() { find "$T/fdata/tlsrpt" -type f -name '*.json' 2>/dev/null | wc -l | tr -d ' '; }

gzip -c "$DATA/rfc8460.json" > "$T/rfc.json.gz"
gzip -c "$DATA/google.json" > "$T/google.json.gz"
expect_eq "RFC sample as gzip: 201" "$(post application/tlsrpt+gzip "$T/rfc.json.gz")" "201"
expect_eq "the same report again (json): 200 duplicate" "$(post application/tlsrpt+json "$DATA/rfc8460.json")" "200"
expect_eq "Google-style gzip: 201" "$(post application/tlsrpt+gzip "$T/google.json.gz")" "201"
expect_eq "Microsoft-style json: 201" "$(post 'application/tlsrpt+json; charset=utf-8' "$DATA/microsoft.json")" "201"
expect_eq "three reports stored" "$(stored)" "3"

# Refusals: nothing changes.
head -c 20000000 /dev/zero | gzip -c > "$T/bomb.gz"     # ~20 KB on the wire, 20 MB inflated
expect_eq "gzip bomb: 413" "$(post application/tlsrpt+gzip "$T/bomb.gz")" "413"
printf '{"organization-name": "x", "report-id": ' > "$T/broken.json"
expect_eq "malformed JSON: 400" "$(post application/tlsrpt+json "$T/broken.json")" "400"
head -c 200000 /dev/zero | tr '\0' ' ' > "$T/big.json"
expect_eq "oversized body: 413" "$(post application/tlsrpt+json "$T/big.json")" "413"
expect_eq "wrong content type: 415" "$(post text/html "$DATA/google.json")" "415"
expect_eq "policies not an array: 400" "$(post application/tlsrpt+json "$DATA/policies_object.json")" "400"
sed 's/company-y\.example/elsewhere.example/g; s/2026-11-27T00:00:00Z_/other_/' "$DATA/google.json" > "$T/other.json"
expect_eq "someone else's domain: 403" "$(post application/tlsrpt+json "$T/other.json")" "403"
head -c 40 "$T/google.json.gz" > "$T/trunc.gz"
expect_eq "truncated gzip: 400" "$(post application/tlsrpt+gzip "$T/trunc.gz")" "400"
get=$(mcurl --resolve "mta-sts.company-y.example:$RPT_PORT:127.0.0.1" -o /dev/null -w '%{http_code}' "$URL")
expect_eq "GET: 405" "$get" "405"
expect_eq "refusals stored nothing" "$(stored)" "3"
# A reload (SIGHUP) that adds that domain makes the receiver take its reports.
cat >> "$T/moat.toml" <<EOF
[mail."elsewhere.example"]
mode = "testing"
mx = ["*.mail.elsewhere.example"]
tlsrpt = ["https://mta-sts.elsewhere.example/tlsrpt"]
EOF
kill -HUP "$MOAT_PID"
got=""
for _ in $(seq 200); do
    got=$(post application/tlsrpt+json "$T/other.json")
    [ "$got" = 201 ] && break
    sleep 0.1
done
expect_eq "after a reload adding it: 201" "$got" "201"
expect_eq "and stored it" "$(stored)" "4"

# A reload that moves the receiver to another port: the new listener serves, the old one closes.
RPT_PORT2=$(free_port)
sed -i "s/\"127.0.0.1:$RPT_PORT\"/\"127.0.0.1:$RPT_PORT2\"/" "$T/moat.toml"
kill -HUP "$MOAT_PID"
check "reload to a new port: it opens" wait_port "$RPT_PORT2" 30
OLD_RPT_PORT=$RPT_PORT
RPT_PORT=$RPT_PORT2
URL="https://mta-sts.company-y.example:$RPT_PORT/tlsrpt"
expect_eq "reload to a new port: reports answered there (duplicate)" "$(post application/tlsrpt+json "$T/other.json")" "200"
closed=no
for _ in $(seq 200); do
    (exec 3<>/dev/tcp/127.0.0.1/"$OLD_RPT_PORT") 2>/dev/null || { closed=yes; break; }
    sleep 0.1
done
expect_eq "reload to a new port: the old port closed" "$closed" "yes"
# An address that cannot be bound (TEST-NET, not on this host) refuses the reload.
sed -i "s/\"127.0.0.1:$RPT_PORT2\"/\"192.0.2.1:$RPT_PORT2\"/" "$T/moat.toml"
kill -HUP "$MOAT_PID"
refused=""
for _ in $(seq 200); do
    refused=$(grep "reload refused: tlsrpt listener: listen 192.0.2.1:$RPT_PORT2" "$T/moat.log" || true)
    [ -n "$refused" ] && break
    sleep 0.1
done
expect_match "unbindable address: reload refused, naming it" "$refused" "reload refused: tlsrpt listener: listen 192\.0\.2\.1"
expect_eq "unbindable address: the old listener still serves" "$(post application/tlsrpt+json "$T/other.json")" "200"
sed -i "s/\"192.0.2.1:$RPT_PORT2\"/\"127.0.0.1:$RPT_PORT2\"/" "$T/moat.toml"

# HTTP/1.1 only on this listener (ALPN), even when the client offers h2.
alpn=$(mcurl --http2 --resolve "mta-sts.company-y.example:$RPT_PORT:127.0.0.1" -o /dev/null \
    -w '%{http_version}' -H 'Content-Type: application/tlsrpt+json' --data-binary "@$DATA/google.json" "$URL")
expect_eq "ALPN picks HTTP/1.1" "$alpn" "1.1"

sum=$("$MOAT" mail reports company-y.example --config "$T/moat.toml")
expect_match "summary totals" "$sum" "3 report\(s\), 5375 successful and 305 failed session"
expect_match "summary by organisation" "$sum" "Google Inc\. +reports +1 +ok +42"
expect_match "summary by failure type" "$sum" "certificate-expired +100"
expect_match "summary by MX" "$sum" "mx2\.mail\.company-y\.example +200"
expect_match "summary by day" "$sum" "2016-04-01 +reports +1 +ok +5326 +failed +303"
json=$("$MOAT" mail reports company-y.example --config "$T/moat.toml" --json)
expect_eq "json summary parses" "$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["failure"])')" "305"
kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true

# ---- part 2: with a store, reports in logs/TLSRPT/<domain>/ ---------------------------------
RPT_PORT=$(free_port)
s3_demo_config "" "" "[mail]
tlsrpt_listen = [\"127.0.0.1:$RPT_PORT\"]
[mail.\"company-y.example\"]
mode = \"testing\"
mx = [\"*.mail.company-y.example\"]
tlsrpt = [\"https://mta-sts.company-y.example/tlsrpt\"]
[mail.\"company-z.example\"]
mode = \"testing\"
mx = [\"mx.company-z.example\"]
tlsrpt = [\"https://mta-sts.company-z.example/tlsrpt\"]"
s3_demo_up
unset AWS_CA_BUNDLE
wait_port "$RPT_PORT" || { cat "$T/moat.log"; exit 1; }
URL="https://mta-sts.company-y.example:$RPT_PORT/tlsrpt"

# One report covering both domains (RFC 8460 §4: one report per sender and day may carry
# several policies) is kept under each.
python3 - "$DATA/google.json" > "$T/both.json" <<'PY'
import copy, json, sys
r = json.load(open(sys.argv[1]))
r["report-id"] = "both-domains-1"
z = copy.deepcopy(r["policies"][0])
z["policy"]["policy-domain"] = "company-z.example"
z["summary"]["total-successful-session-count"] = 9
r["policies"].append(z)
print(json.dumps(r))
PY

expect_eq "store: RFC sample as gzip: 201" "$(post application/tlsrpt+gzip "$T/rfc.json.gz")" "201"
expect_eq "store: the same report again: 200 duplicate" "$(post application/tlsrpt+json "$DATA/rfc8460.json")" "200"
expect_eq "store: Google-style gzip: 201" "$(post application/tlsrpt+gzip "$T/google.json.gz")" "201"
expect_eq "store: Microsoft-style json: 201" "$(post application/tlsrpt+json "$DATA/microsoft.json")" "201"
expect_eq "store: two-domain report: 201" "$(post application/tlsrpt+json "$T/both.json")" "201"
expect_eq "store: malformed JSON still 400" "$(post application/tlsrpt+json "$T/broken.json")" "400"

keys=$(s3 s3api list-objects-v2 --bucket logs --prefix TLSRPT/ --query 'Contents[].Key' --output text | tr '\t' '\n' | sort)
expect_eq "store: four reports for company-y, one for company-z" \
    "$(grep -c '^TLSRPT/company-y\.example/' <<<"$keys") $(grep -c '^TLSRPT/company-z\.example/' <<<"$keys")" "4 1"
expect_eq "store: keys are TLSRPT/<domain>/<day>/<hash>.json" \
    "$(grep -Evc '^TLSRPT/company-[yz]\.example/[0-9]{4}-[0-9]{2}-[0-9]{2}/[0-9a-f]{32}\.json$' <<<"$keys" || true)" "0"
expect_eq "store: the RFC sample filed under its start day" \
    "$(grep -c '^TLSRPT/company-y\.example/2016-04-01/' <<<"$keys")" "1"
first=$(grep '^TLSRPT/company-y\.example/2016-04-01/' <<<"$keys")
expect_eq "store: content type" \
    "$(s3 s3api head-object --bucket logs --key "$first" --query ContentType --output text)" "application/tlsrpt+json"
check "store: download a report" s3 s3 cp "s3://logs/$first" "$T/got.json"
expect_eq "store: the report as sent (gunzipped)" "$(cmp -s "$T/got.json" "$DATA/rfc8460.json" && echo same)" "same"
expect_eq "store: the duplicate made no second version" \
    "$(s3 s3api list-object-versions --bucket logs --prefix "$first" --query 'length(Versions)' --output text)" "1"
expect_eq "store: nothing in the data folder" "$(find "$D/tlsrpt" -type f 2>/dev/null | wc -l | tr -d ' ')" "0"

# `moat mail reports` opens the store beside the running server (shared lock, SQLite WAL).
sum=$("$MOAT" mail reports company-y.example --config "$D/moat.toml")
expect_match "store: summary totals" "$sum" "4 report\(s\), 5417 successful and 305 failed session"
expect_match "store: summary by MX" "$sum" "mx2\.mail\.company-y\.example +200"
expect_match "store: summary by organisation" "$sum" "Google Inc\. +reports +2 +ok +84"
sumz=$("$MOAT" mail reports company-z.example --config "$D/moat.toml" --json)
expect_eq "store: company-z counts only its own policy" \
    "$(printf '%s' "$sumz" | python3 -c 'import json,sys; t=json.load(sys.stdin)["total"]; print(t["reports"], t["success"])')" "1 9"
# --dir still reads a folder: part 1's.
sumdir=$("$MOAT" mail reports company-y.example --dir "$T/fdata/tlsrpt")
expect_match "--dir reads the folder" "$sumdir" "3 report\(s\), 5375 successful"

# ---- part 3: the same data folder without the store, then with it again ---------------------
kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true
STORE_HTTPS_PORT=$HTTPS_PORT
HTTPS_PORT=$(free_port)
RPT_PORT=$(free_port)
cat > "$T/nostore.toml" <<EOF
data_dir = "$D"
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = []
metrics = ""
workers = 1
[sites."site.moat.test"]
root = "$T/site"
[mail]
tlsrpt_listen = ["127.0.0.1:$RPT_PORT"]
[mail."company-y.example"]
mode = "testing"
mx = ["*.mail.company-y.example"]
tlsrpt = ["https://mta-sts.company-y.example/tlsrpt"]
EOF
moat_start serve --config "$T/nostore.toml"
wait_port "$RPT_PORT" || { cat "$T/moat.log"; exit 1; }
URL="https://mta-sts.company-y.example:$RPT_PORT/tlsrpt"
sed 's/"report-id":"[^"]*"/"report-id":"before-the-store-1"/' "$DATA/google.json" > "$T/early.json"
expect_eq "no store: report 201" "$(post application/tlsrpt+json "$T/early.json")" "201"
early=$(find "$D/tlsrpt" -type f -name '*.json')
expect_eq "no store: one file in the data folder" "$(grep -c . <<<"$early")" "1"
kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true

# <day>_<hash>.json in the folder is TLSRPT/<domain>/<day>/<hash>.json in the bucket.
name=$(basename "$early" .json)
early_key="TLSRPT/company-y.example/${name%%_*}/${name#*_}.json"
HTTPS_PORT=$STORE_HTTPS_PORT
s3_demo_up
unset AWS_CA_BUNDLE
# The move runs while the server starts, after its listeners opened: wait for its log line.
for _ in $(seq 200); do grep -q 'tls-rpt move: .* moved=' "$T/moat.log" && break; sleep 0.1; done
check "with the store: the folder report is an object" s3 s3 cp "s3://logs/$early_key" "$T/early-got.json"
expect_eq "with the store: the object is the report as received" \
    "$(cmp -s "$T/early-got.json" "$T/early.json" && echo same)" "same"
expect_eq "with the store: the folder file is gone" "$(find "$D/tlsrpt" -type f | wc -l | tr -d ' ')" "0"
expect_match "the move is logged" "$(cat "$T/moat.log")" "tls-rpt move: .* moved=1 duplicates=0 left=0 failed=0"
kill -TERM "$MOAT_PID"; wait "$MOAT_PID" 2>/dev/null || true
s3_demo_up
expect_eq "a second start moves nothing twice: one version" \
    "$(s3 s3api list-object-versions --bucket logs --prefix "$early_key" --query 'length(Versions)' --output text)" "1"
sum=$("$MOAT" mail reports company-y.example --config "$D/moat.toml")
expect_match "the summary counts it with the others" "$sum" "5 report\(s\)"
finish
