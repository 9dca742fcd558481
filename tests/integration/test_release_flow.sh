# Releases end to end with two principals: deploy to testing, promotion waiting for a second
# person's approval (TOTP), self-approval and replayed codes refused, a changed release needing
# a new approval, promotion atomic under load, rollback, S3 uploads served on testing within
# 2 seconds, S3 users seeing production's objects, and the audit trail.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/release_lib.sh"

release_config
release_up

# ---- the demo's first releases ----
expect_match "production serves the seeded production release" "$(prod /)" "moat demo \(production\)"
expect_match "testing serves the seeded testing release" "$(testing /)" "moat demo \(testing\)"
out=$(m demo-deployer releases localhost 2>&1) || true
expect_match "moat releases lists the seeded releases" "$out" "r1"
expect_match "moat releases lists r2" "$out" "r2"

# ---- deploy a folder to testing ----
S="$T/site"
cp -r "$D/demo/testing" "$S"
rm "$S/js/app.js"
echo "new page v3" > "$S/new.html"
echo "a r3" > "$S/a.txt"
echo "b r3" > "$S/b.txt"
out=$(m demo-deployer deploy "$S" --site localhost 2>&1) && rc=0 || rc=$?
expect_eq "deploy exit code" "$rc" 0
expect_match "deploy prints the release and the testing URL" "$out" "r3.*testing|testing.*r3"
expect_match "deploy prints the URL" "$out" "https://test\.localhost"
expect_eq "testing serves the new file" "$(testing /new.html)" "new page v3"
code=$(mcurl -o /dev/null -w '%{http_code}' --resolve "test.localhost:$HTTPS_PORT:127.0.0.1" \
    "https://test.localhost:$HTTPS_PORT/js/app.js")
expect_eq "a file removed from the folder is gone from the release" "$code" 404
code=$(mcurl -o /dev/null -w '%{http_code}' "https://localhost:$HTTPS_PORT/new.html")
expect_eq "production does not change on deploy" "$code" 404
etag=$(mcurl -sD - -o /dev/null -H 'accept-encoding: br' --resolve "test.localhost:$HTTPS_PORT:127.0.0.1" \
    "https://test.localhost:$HTTPS_PORT/index.html" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-encoding"{print $2}')
expect_eq "compressed variants made with the release" "$etag" "br"

out=$(m demo-deployer deploy "$S" --site localhost 2>&1) || true
expect_match "the same folder again makes no new release" "$out" "r3"
echo "new page v4" > "$S/new.html"
out=$(m demo-deployer deploy "$S" --site localhost 2>&1) || true
expect_match "a one-file change makes r4" "$out" "r4"
expect_match "a one-file change uploads one file" "$out" "uploaded 1 "
expect_eq "testing serves r4" "$(testing /new.html)" "new page v4"

# ---- promotion needs a second person ----
out=$(m demo-deployer promote localhost 2>&1) && rc=0 || rc=$?
expect_eq "promote waits for approval (exit 3)" "$rc" 3
expect_match "promote says what to run" "$out" "moat approve localhost r4"
expect_eq "production unchanged while pending" \
    "$(mcurl -o /dev/null -w '%{http_code}' "https://localhost:$HTTPS_PORT/new.html")" 404
out=$(m demo-deployer approve localhost r4 --otp 123456 2>&1) && rc=0 || rc=$?
check "a deployer cannot approve" test "$rc" -ne 0
good=$(otp demo-approver)
bad=$(printf '%06d' $(( (10#$good + 1) % 1000000 )))
out=$(m demo-approver approve localhost r4 --otp "$bad" 2>&1) && rc=0 || rc=$?
check "a wrong TOTP code is refused" test "$rc" -ne 0
expect_match "the refusal names the code" "$out" "[Oo]tp|TOTP|code"
out=$(m demo-approver approve localhost r4 --otp "$good" 2>&1) && rc=0 || rc=$?
expect_eq "the approver's approval promotes" "$rc" 0
expect_eq "production serves r4" "$(prod /new.html)" "new page v4"
out=$(m demo-approver rollback localhost --env production --otp "$good" 2>&1) && rc=0 || rc=$?
check "a replayed TOTP code is refused" test "$rc" -ne 0
expect_eq "production still serves r4 after the refused rollback" "$(prod /new.html)" "new page v4"

# ---- S3 users see production's objects under content/production/<site>/ ----
for _ in $(seq 50); do
    s3 s3 cp s3://content/production/localhost/new.html "$T/p-new.html" 2>/dev/null && break
    sleep 0.1
done
expect_eq "content/production/localhost/ holds the promoted object" "$(cat "$T/p-new.html" 2>/dev/null)" "new page v4"

# ---- the requester cannot approve its own promotion ----
echo "a r5" > "$S/a.txt"
echo "b r5" > "$S/b.txt"
m demo-deployer deploy "$S" --site localhost >/dev/null 2>&1
out=$(m demo-approver promote localhost 2>&1) && rc=0 || rc=$?
expect_eq "an approver's own promotion also waits" "$rc" 3
out=$(m demo-approver approve localhost r5 --otp "$(otp demo-approver)" 2>&1) && rc=0 || rc=$?
check "self-approval is refused" test "$rc" -ne 0
expect_match "the refusal says why" "$out" "[Ss]elf|own|requester"

# ---- a changed release needs a new approval ----
m demo-deployer promote localhost >/dev/null 2>&1 || true   # r5, requested by the deployer
echo "a r6" > "$S/a.txt"
echo "b r6" > "$S/b.txt"
m demo-deployer deploy "$S" --site localhost >/dev/null 2>&1
out=$(m demo-deployer promote localhost 2>&1) || true
expect_match "r6 asks for its own approval" "$out" "r6"
out=$(m demo-approver approve localhost r5 --otp "$(otp demo-approver)" 2>&1) && rc=0 || rc=$?
check "approving the replaced r5 request does not promote" test "$rc" -ne 0
expect_eq "production still r4" "$(prod /a.txt)" "a r3"

# ---- promotion is atomic under load: no reader sees r6 and then r4 again, nor a mix ----
cat > "$T/load.py" <<'PY'
import http.client, os, ssl, sys, threading, time
port, ca, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
errors, counts = [], {"old": 0, "new": 0}
lock = threading.Lock()
# Progress for the test to wait on (instead of guessed delays): <out>.old once every reader
# has seen the old release, <out>.new once every reader has seen the new one.
saw_old, saw_new = set(), set()
def mark(seen, n, path):
    seen.add(n)
    if len(seen) == len(threads) and not os.path.exists(path):
        open(path, "w").close()
def reader(n):
    c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    seen_new = False
    while not os.path.exists(stop):
        # h1 keep-alive: two paths back to back; a release switch between them is allowed,
        # but each answer is one release's, and once new is seen, old never comes back.
        for path in ("/a.txt", "/b.txt"):
            c.request("GET", path)
            r = c.getresponse()
            body = r.read().decode().strip()
            tag = body.split()[-1] if r.status == 200 else "status%d" % r.status
            with lock:
                if tag == "r3":
                    counts["old"] += 1
                    if seen_new: errors.append("%d: %s old after new" % (n, path))
                    mark(saw_old, n, out + ".old")
                elif tag == "r6":
                    counts["new"] += 1
                    seen_new = True
                    mark(saw_new, n, out + ".new")
                else:
                    errors.append("%d: %s unexpected %r" % (n, path, body))
threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
with open(out, "w") as f:
    f.write("old=%d new=%d errors=%d\n" % (counts["old"], counts["new"], len(errors)))
    for e in errors[:10]: f.write(e + "\n")
PY
python3 "$T/load.py" "$HTTPS_PORT" "$CA" "$T/stop-load" "$T/load.out" &
LOAD=$!
for _ in $(seq 300); do [ -e "$T/load.out.old" ] && break; sleep 0.1; done
check "every reader saw the old release before the promotion" test -e "$T/load.out.old"
out=$(m demo-approver approve localhost r6 --otp "$(otp demo-approver)" 2>&1) && rc=0 || rc=$?
expect_eq "r6 approved and promoted" "$rc" 0
for _ in $(seq 300); do [ -e "$T/load.out.new" ] && break; sleep 0.1; done
sleep 0.5  # readers keep going a little: an old answer after new would show now
touch "$T/stop-load"
wait "$LOAD" || true
res=$(cat "$T/load.out")
echo "load: $res"
expect_match "readers saw both releases and no mix or regression" "$(head -1 <<<"$res")" "^old=[1-9][0-9]* new=[1-9][0-9]* errors=0$"
expect_eq "production serves r6" "$(prod /a.txt)" "a r6"

# ---- rollback ----
out=$(m demo-approver rollback localhost --env production --otp "$(otp demo-approver)" 2>&1) && rc=0 || rc=$?
expect_eq "rollback of production" "$rc" 0
expect_eq "production back on r4" "$(prod /a.txt)" "a r3"
out=$(m demo-deployer rollback localhost --env testing --to r3 2>&1) && rc=0 || rc=$?
expect_eq "rollback of testing to r3" "$rc" 0
expect_eq "testing serves r3" "$(testing /new.html)" "new page v3"
out=$(m demo-deployer rollback localhost --env testing --to r99 2>&1) && rc=0 || rc=$?
check "rollback to a release that does not exist fails" test "$rc" -ne 0
expect_match "and names it" "$out" "r99"
out=$(m demo-deployer releases nosuch.example 2>&1) && rc=0 || rc=$?
check "an unknown site fails" test "$rc" -ne 0
out=$(m demo-deployer diff localhost r3 r4 2>&1) || true
expect_match "diff shows the changed file" "$out" "new\.html"

# ---- S3 uploads under content/testing/<site>/ are served on testing within 2 seconds ----
echo "uploaded by s3" > "$T/s3.html"
s3 s3 cp "$T/s3.html" s3://content/testing/localhost/s3.html
# Timed from the end of the upload: aws-cli's own start (a second or more on a loaded machine)
# is not the server's latency. The poll runs longer than the bound, so a late page is measured.
start=$(date +%s.%N)
got=""
for _ in $(seq 200); do
    got=$(testing /s3.html 2>/dev/null || true)
    [ "$got" = "uploaded by s3" ] && break
    sleep 0.05
done
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "s3 upload served on testing after ${took}s"
expect_eq "S3 upload served on testing" "$got" "uploaded by s3"
check "within 2 seconds" python3 -c "import sys; sys.exit(0 if $took < 2.0 else 1)"
code=$(mcurl -o /dev/null -w '%{http_code}' "https://localhost:$HTTPS_PORT/s3.html")
expect_eq "an S3 upload never reaches production by itself" "$code" 404

# ---- audit trail ----
out=$(m demo-deployer audit-log show --limit 1000 2>&1) || true
expect_match "audit log records deploys" "$out" "deploy"
expect_match "audit log records approvals" "$out" "approve"
expect_match "audit log records S3 writes" "$out" "s3:PutObject"
out=$(m demo-deployer audit-log verify 2>&1) && rc=0 || rc=$?
expect_eq "audit log verifies" "$rc" 0

finish
