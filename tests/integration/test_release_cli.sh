#!/usr/bin/env bash
# The release commands against a real server, with bad input: a folder that cannot be
# published (symlink, FIFO, empty) is refused before any request; unknown sites and releases
# are exit 2 with the API's error code; a wrong token, an untrusted certificate and plain
# http:// fail; a TOTP command without a code is refused without sending anything. Then one
# good deploy, and a re-run that uploads nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/release_lib.sh"

release_config
release_up
check "demo credentials file written" test -s "$CREDS"
export MOAT_CREDENTIALS="$CREDS"
DEP=(--profile demo-deployer)
SITE=localhost
URL="https://localhost:$ADMIN_PORT"
TOKEN=$(awk -F' *= *' '$1 == "token" {print $2; exit}' "$CREDS")

# moatc ARGS...: the CLI bounded in time, with no controlling terminal (so nothing prompts);
# sets RC and OUT (stdout and stderr together).
moatc() {
    set +e
    OUT=$(timeout 60 setsid -w "$MOAT" "$@" </dev/null 2>&1)
    RC=$?
    set -e
}

# last_seq: the newest audit record's seq. deploy_records_after SEQ: later records of deploy
# calls (the listing calls themselves may be audited too; they are not deploy calls).
last_seq() {
    moatc audit-log show --limit 1000 --json "${DEP[@]}"
    python3 -c 'import json,sys; r=json.load(sys.stdin)["records"]; print(r[-1]["seq"] if r else 0)' <<<"$OUT"
}
deploy_records_after() {
    moatc audit-log show --after "$1" --limit 1000 --json "${DEP[@]}"
    python3 -c '
import json, sys
recs = json.load(sys.stdin)["records"]
print(sum(1 for r in recs if any(w in (r["action"] + " " + r["target"]).lower()
                                 for w in ("deploy", "missing", "upload", "files"))))' <<<"$OUT"
}

# --- folders that cannot be published: exit 2, the path named, nothing sent ---------------
before=$(last_seq)
mkdir -p "$T/sym/docs" && echo hi > "$T/sym/index.html" && ln -s /etc/passwd "$T/sym/docs/passwd"
moatc deploy "$T/sym" --site "$SITE" "${DEP[@]}"
expect_eq "symlink folder: exit 2" "$RC" 2
expect_match "symlink folder: names the path" "$OUT" 'docs/passwd: symbolic link'
mkdir -p "$T/fifo" && echo hi > "$T/fifo/index.html" && mkfifo "$T/fifo/pipe"
moatc deploy "$T/fifo" --site "$SITE" "${DEP[@]}"
expect_eq "fifo: exit 2" "$RC" 2
expect_match "fifo: names the path" "$OUT" 'pipe: special file \(a FIFO\)'
mkdir -p "$T/empty/sub"
moatc deploy "$T/empty" --site "$SITE" "${DEP[@]}"
expect_eq "empty folder: exit 2" "$RC" 2
expect_match "empty folder: said so" "$OUT" 'no files to publish'
moatc deploy "$T/does-not-exist" --site "$SITE" "${DEP[@]}"
expect_eq "missing folder: exit 2" "$RC" 2
expect_eq "refused folders made no API call" "$(deploy_records_after "$before")" 0

# --- unknown names: exit 2 with the API's code ------------------------------------------
mkdir -p "$T/site" && make_site "$T/site" cli
moatc deploy "$T/site" --site nope.example "${DEP[@]}"
expect_eq "unknown site: exit 2" "$RC" 2
expect_match "unknown site: NoSuchSite" "$OUT" 'NoSuchSite'
moatc releases nope.example "${DEP[@]}"
expect_eq "releases of unknown site: exit 2" "$RC" 2
moatc diff "$SITE" r1 r999999 "${DEP[@]}"
expect_eq "diff with unknown release: exit 2" "$RC" 2
expect_match "unknown release: NoSuchRelease" "$OUT" 'NoSuchRelease|NoRelease'
moatc promote "$SITE" --release r999999 "${DEP[@]}"
expect_eq "promote unknown release: exit 2" "$RC" 2

# --- connection and credentials ---------------------------------------------------------
moatc releases "$SITE" "${DEP[@]}" --token moat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
expect_eq "wrong token: exit 1" "$RC" 1
expect_match "wrong token: 401" "$OUT" 'Unauthorized|401'
moatc releases "$SITE" --credentials /dev/null --url "$URL" --token "$TOKEN"
expect_eq "untrusted certificate: exit 1" "$RC" 1
expect_match "untrusted certificate: said so" "$OUT" '[Cc]ertificate|SSL'
moatc releases "$SITE" --credentials /dev/null --url "http://localhost:$ADMIN_PORT" --token "$TOKEN"
expect_eq "plain http refused: exit 2" "$RC" 2
moatc releases "$SITE" --credentials /dev/null --url "$URL"
expect_eq "no token: exit 2" "$RC" 2
moatc releases "$SITE" --profile no-such-profile
expect_eq "unknown profile: exit 2" "$RC" 2
moatc approve "$SITE" r1 --credentials /dev/null --url "$URL" --token "$TOKEN" --ca "$CA"
expect_eq "approve without a code and no terminal: exit 2" "$RC" 2
expect_match "approve without a code: says how" "$OUT" '--otp'
moatc approve "$SITE" r1 --otp 12x456 --profile demo-approver
expect_eq "malformed --otp: exit 2" "$RC" 2
moatc backup relative/dir "${DEP[@]}"
expect_eq "backup to a relative path: exit 2" "$RC" 2

# --- a good deploy, then a re-run that uploads nothing --------------------------------------
rm -f "$T/site/.env"  # what the server thinks of dot files is not this test's business
moatc deploy "$T/site" --site "$SITE" --env testing "${DEP[@]}"
expect_eq "deploy: exit 0" "$RC" 0
expect_match "deploy: release is live" "$OUT" "release r[0-9]+ of $SITE is live on testing"
expect_match "deploy: uploaded every content" "$OUT" 'uploaded [1-9][0-9]* '
moatc deploy "$T/site" --site "$SITE" --env testing "${DEP[@]}"
expect_eq "re-deploy: exit 0" "$RC" 0
expect_match "re-deploy: nothing uploaded" "$OUT" 'uploaded 0 \(0 B\)'
moatc releases "$SITE" "${DEP[@]}"
expect_eq "releases: exit 0" "$RC" 0
expect_match "releases: table" "$OUT" '^ID +CREATED'

finish
