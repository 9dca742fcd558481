#!/usr/bin/env bash
# Lifecycle rules set over the S3 API with aws-cli and applied by the store's background job,
# with a lifecycle "day" shortened to 2 seconds ([store] day_seconds): noncurrent versions under
# the rule's prefix disappear on time, current versions and keys outside the prefix stay, and
# an Expiration rule hides current versions behind a delete marker.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"

s3_demo_config "" "" $'[store]\nday_seconds = 2\nlifecycle_interval = "1s"'
s3_demo_up
versions() {  # versions KEY: how many versions (not markers) the key has
    s3 s3api list-object-versions --bucket content --prefix "$1" --query 'length(Versions || `[]`)'
}

check "versioning on" s3 s3api put-bucket-versioning --bucket content --versioning-configuration Status=Enabled
# content's default rule (noncurrent versions go after 7 "days", 14 s here) would race with the
# uploads below on a slow machine and take versions the checks count: the test's rules only.
check "default rules removed" s3 s3api delete-bucket-lifecycle --bucket content
for v in 1 2 3; do
    echo "nc $v" | s3 s3 cp - s3://content/testing/nc/a.txt --only-show-errors
    echo "keep $v" | s3 s3 cp - s3://content/other/b.txt --only-show-errors
done
echo "expiring" | s3 s3 cp - s3://content/testing/exp/c.txt --only-show-errors
expect_eq "three versions before" "$(versions testing/nc/a.txt)" 3

cat > "$T/lc.json" <<'JSON'
{"Rules": [
  {"ID": "noncurrent", "Filter": {"Prefix": "testing/nc/"}, "Status": "Enabled",
   "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
  {"ID": "expire", "Filter": {"Prefix": "testing/exp/"}, "Status": "Enabled",
   "Expiration": {"Days": 1}}]}
JSON
check "put lifecycle" s3 s3api put-bucket-lifecycle-configuration --bucket content --lifecycle-configuration "file://$T/lc.json"

# A "day" is 2 s and the job runs every second: give it up to 30 s.
for _ in $(seq 30); do
    [ "$(versions testing/nc/a.txt)" = 1 ] && break
    sleep 1
done
expect_eq "noncurrent versions expired" "$(versions testing/nc/a.txt)" 1
expect_eq "current version kept" "$(s3 s3 cp s3://content/testing/nc/a.txt -)" "nc 3"
expect_eq "keys outside the prefix keep their versions" "$(versions other/b.txt)" 3
for _ in $(seq 20); do
    s3 s3api head-object --bucket content --key testing/exp/c.txt > /dev/null 2>&1 || break
    sleep 1
done
OUT=$(s3 s3api head-object --bucket content --key testing/exp/c.txt 2>&1 || true)
expect_match "expired current version is hidden" "$OUT" "404|Not Found"
expect_match "behind a delete marker" "$(s3 s3api list-object-versions --bucket content --prefix testing/exp/ --query 'DeleteMarkers[0].IsLatest')" "true"

if kill -0 "$MOAT_PID"; then pass "server still running"; else fail "server died"; fi
finish
