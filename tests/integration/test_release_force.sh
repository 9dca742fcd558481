# The header policy's admin override (docs/admin-api.md "Forcing past the header policy"): a
# site whose policy grades below its min_grade refuses a deployer's deploy, with --force or
# without; an admin's --force deploy (with a TOTP code) goes through and the audit log records
# it as forced, with the refusal it overrode; promotion likewise.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/release_lib.sh"

# A second store-served site without a Content-Security-Policy, which grades below A+.
release_config '[sites."weak.localhost"]
store = true
approvals = 0
[sites."weak.localhost".headers]
content_security_policy = ""
min_grade = "A+"'
release_up

weak() {  # weak ENV PATH: status and body of a page of weak.localhost
    local host=weak.localhost
    [ "$1" = testing ] && host=test.weak.localhost
    mcurl -w ' %{http_code}' --resolve "$host:$HTTPS_PORT:127.0.0.1" "https://$host:$HTTPS_PORT$2" |
        tr -d '\n'
}
W="$T/weak"
mkdir -p "$W"
echo "weak page" > "$W/index.html"

# ---- a deployer: refused, and --force is not theirs ----
out=$(m demo-deployer deploy "$W" --site weak.localhost 2>&1) && rc=0 || rc=$?
check "a deploy below min_grade is refused" test "$rc" -ne 0
expect_match "with the grade" "$out" "PolicyFailed.*below the minimum A\+"
out=$(m demo-deployer deploy "$W" --site weak.localhost --force --otp 123456 2>&1) && rc=0 || rc=$?
check "a deployer's --force is refused" test "$rc" -ne 0
expect_match "because forcing is an admin's" "$out" "admin"
# The API itself refuses it too (the CLI's early check aside).
token=$(token_of demo-deployer)
sha=$(sha256sum < "$W/index.html" | cut -d' ' -f1)
body="{\"force\":true,\"files\":[{\"path\":\"index.html\",\"sha256\":\"$sha\"}]}"
ans=$(mcurl -w ' %{http_code}' -H "Authorization: Bearer $token" -H 'X-Moat-OTP: 123456' \
    -H 'Content-Type: application/json' -d "$body" \
    "https://localhost:$ADMIN_PORT/v1/sites/weak.localhost/envs/testing/deploy" | tr -d '\n')
expect_match "the API answers a deployer's force 403 AccessDenied" "$ans" "AccessDenied.* 403$"
expect_match "weak testing serves nothing" "$(weak testing /index.html)" " 404$"

# ---- an admin (bootstrapped offline), with a code ----
out=$("$MOAT" principals add root --role admin --data-dir "$D" 2>&1) && rc=0 || rc=$?
expect_eq "principals add exit code" "$rc" 0
ROOT_TOKEN=$(awk '$1 == "token" {print $2}' <<<"$out")
ROOT_SECRET=$(awk '$1 == "totp_secret" {print $2}' <<<"$out")
expect_match "it prints a token" "$ROOT_TOKEN" '^moat_'
# A profile beside the demo ones, so release_lib's otp helper gives it fresh codes.
cp "$CREDS" "$T/creds"
CREDS="$T/creds"
printf '\n[root]\nurl = https://localhost:%s\nca = %s\ntoken = %s\ntotp_secret = %s\n' \
    "$ADMIN_PORT" "$CA" "$ROOT_TOKEN" "$ROOT_SECRET" >> "$CREDS"

out=$(m root deploy "$W" --site weak.localhost 2>&1) && rc=0 || rc=$?
check "an admin without --force is refused as well" test "$rc" -ne 0
expect_match "by the policy" "$out" "PolicyFailed"
out=$(m root deploy "$W" --site weak.localhost --force --otp "$(otp root)" 2>&1) && rc=0 || rc=$?
expect_eq "an admin's --force deploy exit code" "$rc" 0
expect_match "it made a release" "$out" "release r1 of weak.localhost is live on testing"
expect_eq "weak testing serves the forced release" "$(weak testing /index.html)" "weak page 200"

out=$(m demo-deployer promote weak.localhost 2>&1) && rc=0 || rc=$?
check "a deployer's promotion is refused by the policy" test "$rc" -ne 0
expect_match "PolicyFailed" "$out" "PolicyFailed"
expect_match "weak production serves nothing" "$(weak production /index.html)" " 404$"
out=$(m root promote weak.localhost --force --otp "$(otp root)" 2>&1) && rc=0 || rc=$?
expect_eq "an admin's --force promote exit code" "$rc" 0
expect_eq "weak production serves it" "$(weak production /index.html)" "weak page 200"

# ---- the audit log says who forced what, past which refusal ----
m demo-deployer audit-log show --json > "$T/audit.json" 2>&1 || true
check_log() {  # check_log NAME CONDITION: some record r (detail d) meets the Python condition
    if python3 - "$T/audit.json" "$2" <<'PY'; then pass "$1"; else fail "$1: not in $(cat "$T/audit.json")"; fi
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
sys.exit(0 if any(eval(sys.argv[2], {}, {"r": r, "d": r["detail"]}) for r in recs) else 1)
PY
}
check_log "the forced deploy is recorded as forced, with the policy it overrode" \
    'r["principal"] == "root" and r["action"] == "deploy" and r["outcome"] == "ok" and d.get("forced") is True and "below the minimum A+" in d.get("policy", "")'
check_log "the forced promotion too" \
    'r["principal"] == "root" and r["action"] == "promote" and r["outcome"] == "ok" and d.get("forced") is True'
check_log "the deployer's refused force is recorded" \
    'r["principal"] == "demo-deployer" and r["action"] == "deploy" and r["outcome"] == "denied" and d.get("force") is True'
out=$(m demo-deployer audit-log verify 2>&1) && rc=0 || rc=$?
expect_eq "the audit log verifies" "$rc" 0

finish
