#!/usr/bin/env bash
# Release operations against a real server and real clients (curl, aws-cli, python3's sqlite3,
# the moat CLI):
# 1. retention against lifecycle expiry: with `keep = 2` and a 1-second lifecycle day, the
#    object versions of kept releases survive their noncurrent expiry (holds), those only
#    pruned releases named expire, pruned ids leave `moat releases`, a held version cannot be
#    deleted by version id;
# 2. invalidation answers an id and Completed, a path without '/' is refused;
# 3. a site whose header policy grades below its min_grade refuses a deploy, and serves nothing;
# 4. a deploy killed mid-upload changes nothing visitors see, and its re-run uploads only what
#    is still missing;
# 5. backup (by an admin bootstrapped offline, with TOTP) and offline restore into a new data
#    folder: objects, version ids, releases and pages byte-exact;
# 6. the audit log: an edited record (server running), a deleted middle record and a deleted
#    last record (server stopped; the head file catches the last one) each fail verify, named.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/release_lib.sh"

# A lifecycle "day" of 1 s, applied every second; two releases kept per environment; a second
# store-served site without a Content-Security-Policy, which grades below its min_grade.
release_config '[store]
day_seconds = 1
lifecycle_interval = "1s"
[sites."weak.localhost"]
store = true
[sites."weak.localhost".headers]
content_security_policy = ""
min_grade = "A+"'
toml_add release 'keep = 2'
release_up

# rel_id DEPLOY_OUTPUT: the release id `moat deploy` printed ("release r3 of ... is live").
rel_id() { sed -nE 's/^release (r[0-9]+) of .*/\1/p' <<<"$1"; }
# manifest R: saves release R's manifest (admin API) as $T/manifest-R.json.
manifest() { admin_get demo-deployer "/v1/sites/localhost/releases/$1" > "$T/manifest-$1.json"; }
# version_of R PATH: the content version release R serves for PATH.
version_of() {
    python3 - "$T/manifest-$1.json" "$2" <<'PY'
import json, sys
for e in json.load(open(sys.argv[1]))["manifest"]["entries"]:
    if e["path"] == sys.argv[2]:
        print(e["version_id"])
PY
}
# release_ids: the ids `moat releases localhost` lists (its release table, not the history).
release_ids() {
    m demo-deployer releases localhost --json |
        python3 -c 'import json, sys; print(" ".join(sorted(r["id"] for r in json.load(sys.stdin)["releases"])))'
}
# versions_vs KEPT... -- PRUNED...: compares the content bucket's versions with the saved
# manifests: "kept=N kept_missing=N pruned_only=N pruned_present=N", where pruned_only counts
# the versions pruned releases named and no kept release does.
versions_vs() {
    s3api list-object-versions --bucket content --output json > "$T/versions.json"
    python3 - "$T" "$@" <<'PY'
import json, sys
t, args = sys.argv[1], sys.argv[2:]
kept, pruned = args[:args.index("--")], args[args.index("--") + 1:]
def refs(r):
    entries = json.load(open("%s/manifest-%s.json" % (t, r)))["manifest"]["entries"]
    return {(e["key"], e["version_id"]) for e in entries if e["bucket"] == "content"}
present = {(v["Key"], v["VersionId"]) for v in json.load(open(t + "/versions.json")).get("Versions", [])}
k = set().union(*(refs(r) for r in kept))
p = set().union(*(refs(r) for r in pruned)) - k
print("kept=%d kept_missing=%d pruned_only=%d pruned_present=%d" % (len(k), len(k - present), len(p), len(p & present)))
PY
}

# ==== 1. retention against lifecycle expiry ====
# The demo key has write on the whole content bucket, so it may set the bucket's lifecycle:
# noncurrent versions expire after 1 day (= 1 s here) instead of the default 7.
s3api put-bucket-lifecycle-configuration --bucket content --lifecycle-configuration \
    '{"Rules":[{"ID":"noncurrent-1d","Status":"Enabled","Filter":{"Prefix":""},"NoncurrentVersionExpiration":{"NoncurrentDays":1}}]}' &&
    rc=0 || rc=$?
expect_eq "the demo S3 key sets the content bucket's lifecycle" "$rc" 0
days=$(s3api get-bucket-lifecycle-configuration --bucket content \
    --query 'Rules[0].NoncurrentVersionExpiration.NoncurrentDays' --output text)
expect_eq "content's noncurrent versions expire after 1 day" "$days" 1

expect_eq "the demo's first releases: r1 (production) and r2 (testing)" "$(release_ids)" "r1 r2"
manifest r1
manifest r2
S="$T/site"
cp -r "$D/demo/testing" "$S"
for n in 3 4 5 6; do
    echo "x r$n" > "$S/x.txt"
    out=$(m demo-deployer deploy "$S" --site localhost 2>&1) && rc=0 || rc=$?
    expect_eq "deploy of x.txt version $n makes r$n" "$rc $(rel_id "$out")" "0 r$n"
    manifest "r$n"
    if [ "$n" = 4 ]; then
        out=$(m demo-deployer promote localhost 2>&1) && rc=0 || rc=$?
        expect_eq "promotion of r4 waits for an approval" "$rc" 3
        out=$(m demo-approver approve localhost r4 --otp "$(otp demo-approver)" 2>&1) && rc=0 || rc=$?
        expect_eq "r4 approved" "$rc" 0
        expect_eq "production serves r4" "$(prod /x.txt)" "x r4"
    fi
done
expect_eq "testing serves r6" "$(testing /x.txt)" "x r6"
# keep = 2: testing went r1 r2 r3 r4 r5 r6 (keeps r6 r5), production r1 r4 (keeps both).
expect_eq "moat releases lists the kept releases only" "$(release_ids)" "r1 r4 r5 r6"
out=$(m demo-deployer releases localhost 2>&1) || true
table=$(sed '/^$/,$d' <<<"$out")
expect_no_match "the release table no longer shows r2 or r3" "$table" "^r[23] "
expect_match "the release table shows r4 on production" "$table" "^r4 .*production"

v3=$(version_of r3 x.txt)
v4=$(version_of r4 x.txt)
check "r3 and r4 name different versions of x.txt" test -n "$v3" -a -n "$v4" -a "$v3" != "$v4"

# A held version cannot be deleted by version id; an unheld one can (same key rights).
out=$(s3api delete-object --bucket content --key testing/localhost/x.txt --version-id "$v4" 2>&1) &&
    rc=0 || rc=$?
check "DeleteObject of the x.txt version r4 holds is refused" test "$rc" -ne 0
expect_match "with AccessDenied" "$out" "AccessDenied"
echo "scratch" > "$T/scratch.txt"
vs=$(s3api put-object --bucket content --key scratch/y.txt --body "$T/scratch.txt" \
    --query VersionId --output text)
out=$(s3api delete-object --bucket content --key scratch/y.txt --version-id "$vs" 2>&1) &&
    rc=0 || rc=$?
expect_eq "DeleteObject of a version no release holds succeeds" "$rc" 0

# The lifecycle job runs every second. r3's x.txt is noncurrent since r4 was made and unheld
# since r5 pruned r3: a day (1 s) later it goes. r4's is noncurrent since r5, r1's pages since
# r2: as old, but held by kept releases.
res=""
for _ in $(seq 10); do
    sleep 2
    res=$(versions_vs r1 r4 r5 r6 -- r2 r3)
    grep -q "pruned_present=0" <<<"$res" && break
done
echo "versions: $res"
expect_match "versions named only by pruned releases expired" "$res" "pruned_only=[1-9][0-9]* pruned_present=0$"
expect_match "every version a kept release names still exists" "$res" "^kept=[1-9][0-9]* kept_missing=0 "
check "among them r4's x.txt, whose deletion was refused" grep -q "\"$v4\"" "$T/versions.json"
check "r3's x.txt is gone" test -z "$(grep "\"$v3\"" "$T/versions.json")"

# Rollback of testing to the oldest release it still keeps serves its bytes again.
out=$(m demo-deployer rollback localhost --env testing --to r4 2>&1) && rc=0 || rc=$?
expect_eq "rollback of testing to r4" "$rc" 0
expect_eq "testing serves r4's x.txt again" "$(testing /x.txt)" "x r4"
# The rollback is testing's newest move: it now keeps r4 and r6, so r5 goes.
expect_eq "r5 pruned after the rollback" "$(release_ids)" "r1 r4 r6"
out=$(m demo-deployer rollback localhost --env testing --to r3 2>&1) && rc=0 || rc=$?
check "rollback to pruned r3 fails" test "$rc" -ne 0
expect_match "and names it" "$out" "r3"

# ==== 2. invalidation ====
out=$(m demo-deployer invalidate localhost '/docs/*' 2>&1) && rc=0 || rc=$?
expect_eq "invalidate exit code" "$rc" 0
expect_match "invalidate answers an id and Completed" "$out" \
    '^invalidation I[0-9]+ of localhost on testing: Completed \(/docs/\*\)$'
# It rebuilt testing from its S3 prefix, which the rollback left mirroring r4: nothing new.
expect_eq "testing still serves r4 after the invalidation" "$(testing /x.txt)" "x r4"
expect_eq "and no release was made" "$(release_ids)" "r1 r4 r6"
out=$(m demo-deployer invalidate localhost 'docs' 2>&1) && rc=0 || rc=$?
check "a path without a leading / is refused" test "$rc" -ne 0
expect_match "and named" "$out" "InvalidPaths.*\"docs\""

# ==== 3. a header policy below min_grade refuses a deploy ====
W="$T/weak"
mkdir -p "$W"
echo "weak page" > "$W/index.html"
out=$(m demo-deployer deploy "$W" --site weak.localhost 2>&1) && rc=0 || rc=$?
check "deploy to a site below its min_grade fails" test "$rc" -ne 0
expect_match "with the grade and the minimum" "$out" \
    "PolicyFailed.*min_grade.*grades [A-F][+-]? .*below the minimum A\+"
code=$(mcurl -o /dev/null -w '%{http_code}' --resolve "test.weak.localhost:$HTTPS_PORT:127.0.0.1" \
    "https://test.weak.localhost:$HTTPS_PORT/index.html")
expect_eq "its testing serves nothing" "$code" 404
code=$(mcurl -o /dev/null -w '%{http_code}' --resolve "weak.localhost:$HTTPS_PORT:127.0.0.1" \
    "https://weak.localhost:$HTTPS_PORT/index.html")
expect_eq "its production serves nothing" "$code" 404
out=$(m demo-deployer releases weak.localhost 2>&1) || true
# Nor did the bucket-level S3 write of part 1 (the lifecycle) make it an empty release.
expect_match "it has no release" "$out" "no releases yet"
# An S3 upload publishes to testing like a deploy: the same policy refuses it.
echo "weak via s3" > "$T/weak-s3.html"
# refusals: how often the server logged refusing to publish weak.localhost's S3 writes (the
# bucket-level write of part 1 may have been one already).
refusals() { grep -c 'release from s3 writes failed site=weak\.localhost env=testing' "$T/moat.log" || true; }
refused_before=$(refusals)
s3 s3 cp "$T/weak-s3.html" s3://content/testing/weak.localhost/s3.html
# Wait until the server has tried to publish the upload (its refusal is logged) instead of a
# guessed delay: without that, a 404 could only mean "not yet".
for _ in $(seq 200); do
    [ "$(refusals)" -gt "$refused_before" ] && break
    sleep 0.1
done
check "the server refused to publish the S3 upload (logged)" test "$(refusals)" -gt "$refused_before"
code=$(mcurl -o /dev/null -w '%{http_code}' --resolve "test.weak.localhost:$HTTPS_PORT:127.0.0.1" \
    "https://test.weak.localhost:$HTTPS_PORT/s3.html")
expect_eq "an S3 upload to a site below its min_grade is not served" "$code" 404
out=$(m demo-deployer releases weak.localhost 2>&1) || true
expect_match "and makes no release" "$out" "no releases yet"

# ==== 4. an interrupted deploy resumes and never shows half a release ====
I="$T/interrupted"
cp -r "$S" "$I"
head -c 40000000 /dev/urandom > "$I/big.bin"
for i in 1 2 3 4 5; do head -c 3000 /dev/urandom | base64 > "$I/s$i.txt"; done
echo "x interrupted" > "$I/x.txt"
echo "<!doctype html><title>new</title><p>new index" > "$I/index.html"
NEW=8   # contents the store lacks: big.bin, s1..s5.txt, x.txt, index.html
before_x=$(testing /x.txt)
before_index=$(testing /index.html)
before_ids=$(release_ids)
# Uploads go in path order, four at a time: big.bin first, then the small files, each printed
# when done ("uploaded PATH ..."). Killed at the first such line, big.bin is still on its way:
# it ends about 0.2 s after the small ones here, so the CLI's progress is read from a pipe as it
# comes and killed at once (a polling loop's delay could let big.bin finish on a loaded machine).
mkfifo "$T/int.pipe"
"$MOAT" deploy "$I" --site localhost --credentials "$CREDS" --profile demo-deployer \
    >"$T/int.out" 2>"$T/int.pipe" &
DPID=$!
PIDS+=("$DPID")
killed=no
while IFS= read -r -t 60 line; do
    printf '%s\n' "$line" >>"$T/int.err"
    if [ "$killed" = no ] && [[ $line == uploaded\ * ]]; then
        kill -KILL "$DPID" 2>/dev/null || true
        killed=yes  # then read on to the end: what it printed before dying stays in the pipe
    fi
done <"$T/int.pipe"
kill -KILL "$DPID" 2>/dev/null || true
wait "$DPID" 2>/dev/null || true
touch "$T/int.err"
first=$(cat "$T/int.err")
printed=$(grep -c '^uploaded ' <<<"$first" || true)
expect_match "the CLI was killed after an upload finished" "$first" "^uploaded "
expect_no_match "...while big.bin was still uploading" "$first" "^uploaded big\.bin"
expect_eq "the killed deploy printed no release" "$(cat "$T/int.out")" ""
sleep 0.5
expect_eq "testing still serves the previous x.txt" "$(testing /x.txt)" "$before_x"
expect_eq "testing still serves the previous index.html" "$(testing /index.html)" "$before_index"
code=$(mcurl -o /dev/null -w '%{http_code}' --resolve "test.localhost:$HTTPS_PORT:127.0.0.1" \
    "https://test.localhost:$HTTPS_PORT/s1.txt")
expect_eq "an uploaded file of the killed deploy is not served" "$code" 404
expect_eq "no release was made" "$(release_ids)" "$before_ids"
out=$(m demo-deployer deploy "$I" --site localhost 2>&1) && rc=0 || rc=$?
expect_eq "the re-run deploy succeeds" "$rc" 0
n=$(sed -nE 's/^[0-9]+ files: uploaded ([0-9]+) .*/\1/p' <<<"$out")
echo "first attempt: $printed of $NEW uploads reported before the kill; re-run uploaded ${n:-?}"
check "the re-run uploads fewer files than the first attempt needed ($NEW)" \
    test -n "$n" -a "${n:-99}" -lt "$NEW"
check "...at most those not reported done ($((NEW - printed))), and big.bin" \
    test -n "$n" -a "${n:-99}" -le $((NEW - printed)) -a "${n:-0}" -ge 1
expect_eq "testing serves the new x.txt" "$(testing /x.txt)" "x interrupted"
got=$(testing /big.bin | sha256sum | cut -d' ' -f1)
expect_eq "testing serves big.bin byte-exact" "$got" "$(sha256sum < "$I/big.bin" | cut -d' ' -f1)"

# ==== 5. backup and restore, byte-exact ====
# An admin bootstrapped offline on the running server's data folder.
out=$("$MOAT" principals add ops --role admin --data-dir "$D" 2>&1) && rc=0 || rc=$?
expect_eq "principals add exit code" "$rc" 0
OPS_TOKEN=$(awk '$1 == "token" {print $2}' <<<"$out")
OPS_SECRET=$(awk '$1 == "totp_secret" {print $2}' <<<"$out")
expect_match "it prints a token" "$OPS_TOKEN" '^moat_[A-Za-z0-9_-]{43}$'
expect_match "and a TOTP secret" "$OPS_SECRET" '^[A-Z2-7]{16,}$'
who=$(mcurl -H "Authorization: Bearer $OPS_TOKEN" "https://localhost:$ADMIN_PORT/v1/whoami")
expect_match "the running server knows the new admin" "$who" '"role": *"admin"'

# list_versions: every version and delete marker of the content bucket (key, id, ETag, ...).
list_versions() {
    s3api list-object-versions --bucket content --output json --query \
        '{v: Versions[].[Key, VersionId, ETag, Size, IsLatest], d: DeleteMarkers[].[Key, VersionId, IsLatest]}'
}
# snapshot DIR: what the comparison needs, through the clients.
snapshot() {
    mkdir -p "$1"
    s3 s3 sync s3://content "$1/content"
    list_versions > "$1/versions.json"
    m demo-deployer releases localhost > "$1/releases.txt"
    for p in / /x.txt /index.html /docs/ /big.bin; do
        printf '%s production %s\n' "$p" "$(prod "$p" | sha256sum)"
        printf '%s testing %s\n' "$p" "$(testing "$p" | sha256sum)"
    done > "$1/pages.txt"
}
# The store at rest: the lifecycle job (a 1-s day, every second) has expired what the last
# deploy's pruning released once the version list stays the same for longer than a day and an
# interval. A fixed delay is not enough when the job runs late on a loaded machine.
prev=$(list_versions)
for _ in $(seq 20); do
    sleep 3
    cur=$(list_versions)
    [ "$cur" = "$prev" ] && break
    prev=$cur
done
snapshot "$T/a"
out=$(cd "$T" && timeout 120 "$MOAT" backup "$T/backup" --url "https://localhost:$ADMIN_PORT" \
    --token "$OPS_TOKEN" --ca "$CA" --otp "$(totp "$OPS_SECRET")" 2>&1) && rc=0 || rc=$?
expect_eq "moat backup exit code" "$rc" 0
expect_match "moat backup reports what it wrote" "$out" "^backup written to $T/backup .*[1-9][0-9]* objects"
mkdir -p "$T/a2"
list_versions > "$T/a2/versions.json"
check "the store did not change while the backup was taken" cmp -s "$T/a/versions.json" "$T/a2/versions.json"

# ==== 6a. an edited record, while the server runs ====
out=$(m demo-deployer audit-log verify 2>&1) && rc=0 || rc=$?
expect_eq "audit log verifies before tampering" "$rc" 0
expect_match "and says so" "$out" "audit log intact: [1-9][0-9]* records"
# audit_sql DB SQL: runs SQL on an audit database with python3's sqlite3; prints rows.
audit_sql() {
    python3 - "$1" "$2" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for row in c.execute(sys.argv[2]):
    print(*row)
c.commit()
c.close()
PY
}
expect_match "records table found" "$(audit_sql "$D/store/audit.db" "SELECT sql FROM sqlite_master WHERE name = 'records'")" "seq +INTEGER PRIMARY KEY"
audit_sql "$D/store/audit.db" "UPDATE records SET target = target || '-edited' WHERE seq = 5"
out=$(m demo-deployer audit-log verify 2>&1) && rc=0 || rc=$?
expect_eq "verify after an edit exits 1" "$rc" 1
expect_match "and names the edited record" "$out" "problem: record 5: hash does not match its content \(edited\)"
expect_eq "and only that one" "$(grep -c '^problem:' <<<"$out")" 1
expect_match "and says DAMAGED" "$out" "audit log DAMAGED"
moat_stop

# ==== 5 (cont.): restore into a new data folder, start there, compare ====
# move_to DIR: a config for DIR like $D's with new ports; the CA and the demo credentials
# copied along; the helpers then point at DIR.
move_to() {
    local new=$1 old_https=$HTTPS_PORT old_http=$HTTP_PORT old_s3=$S3_PORT old_admin=$ADMIN_PORT
    HTTPS_PORT=$(free_port)
    HTTP_PORT=$(free_port)
    S3_PORT=$(free_port)
    ADMIN_PORT=$(free_port)
    sed -e "s/:$old_https\"/:$HTTPS_PORT\"/" -e "s/:$old_http\"/:$HTTP_PORT\"/" \
        -e "s/:$old_s3\"/:$S3_PORT\"/" -e "s/:$old_admin\"/:$ADMIN_PORT\"/" \
        "$D/moat.toml" > "$new/moat.toml"
    cp -r "$D/ca" "$new/ca"
    sed "s/localhost:$old_admin\$/localhost:$ADMIN_PORT/" "$D/demo-principals" > "$new/demo-principals"
    cp "$D/demo-s3-credentials" "$new/"
    D=$new
    CA="$D/ca/root.crt"
    CREDS="$D/demo-principals"
    EP="https://localhost:$S3_PORT"
    export AWS_SHARED_CREDENTIALS_FILE="$D/demo-s3-credentials"
}
start_on() {
    moat_start serve --config "$D/moat.toml"
    wait_port "$ADMIN_PORT"
    wait_port "$S3_PORT"
}
D2="$T/data2"
mkdir -p "$D2"
out=$("$MOAT" restore "$T/backup" --data-dir "$D2" 2>&1) && rc=0 || rc=$?
expect_eq "moat restore exit code" "$rc" 0
expect_match "moat restore reports what it restored" "$out" "^restored into $D2/store: [1-9][0-9]* objects"
out=$("$MOAT" restore "$T/backup" --data-dir "$D2" 2>&1) && rc=0 || rc=$?
check "restore never overwrites a store" test "$rc" -ne 0
expect_match "and says why" "$out" "exists"
move_to "$D2"
start_on
snapshot "$T/b"
check "content/ objects byte-exact (aws s3 sync of both, diff -r)" diff -r "$T/a/content" "$T/b/content"
check "content/ version ids, ETags and sizes equal" cmp -s "$T/a/versions.json" "$T/b/versions.json"
check "big.bin among them" test -s "$T/b/content/testing/localhost/big.bin"
check "moat releases output equal" cmp -s "$T/a/releases.txt" "$T/b/releases.txt"
check "production and testing pages equal" cmp -s "$T/a/pages.txt" "$T/b/pages.txt"
expect_eq "testing serves the deployed x.txt after restore" "$(testing /x.txt)" "x interrupted"
out=$(m demo-deployer audit-log verify 2>&1) && rc=0 || rc=$?
expect_eq "audit log verifies on the restored server" "$rc" 0
records=$(sed -nE 's/^audit log intact: ([0-9]+) records$/\1/p' <<<"$out")
check "the restored log holds records" test "${records:-0}" -gt 10

# ==== 6b. a deleted middle record, server stopped ====
moat_stop
mid=$((records / 2))
audit_sql "$D2/store/audit.db" "DELETE FROM records WHERE seq = $mid"
start_on
out=$(m demo-deployer audit-log verify 2>&1) && rc=0 || rc=$?
expect_eq "verify after deleting record $mid exits 1" "$rc" 1
expect_match "and names the deleted record" "$out" "problem: record $((mid + 1)): records $mid\.\.$mid are missing \(deleted\)"
moat_stop

# ==== 6c. a deleted last record, on another restore of the backup ====
D3="$T/data3"
mkdir -p "$D3"
out=$("$MOAT" restore "$T/backup" --data-dir "$D3" 2>&1) && rc=0 || rc=$?
expect_eq "a second restore of the backup" "$rc" 0
move_to "$D3"
last=$(audit_sql "$D3/store/audit.db" "SELECT max(seq) FROM records")
expect_eq "the backup's log ends at the record the restored server counted" "$last" "$records"
audit_sql "$D3/store/audit.db" "DELETE FROM records WHERE seq = $last"
start_on
out=$(m demo-deployer audit-log verify 2>&1) && rc=0 || rc=$?
expect_eq "verify after deleting the last record exits 1" "$rc" 1
expect_match "the head file names the removed record" "$out" \
    "head file names record $last but the log ends at record $((last - 1)) \(records removed from the end\)"

finish
