#!/usr/bin/env bash
# Lifecycle rules set over the S3 API with aws-cli and applied by the store's background job,
# with a lifecycle "day" shortened to 2 seconds ([store] day_seconds): noncurrent versions under
# the rule's prefix disappear on time, current versions and keys outside the prefix stay, and
# an Expiration rule hides current versions behind a delete marker.
source "$(dirname "$0")/lib.sh"

HTTPS_PORT=$(free_port)
HTTP_PORT=$(free_port)
S3_PORT=$(free_port)
D="$T/data"
mkdir -p "$D"
cat > "$D/moat.toml" <<TOML
data_dir = "."
[edge]
https = ["127.0.0.1:$HTTPS_PORT"]
http = ["127.0.0.1:$HTTP_PORT"]
metrics = ""
workers = 1
[store]
day_seconds = 2
lifecycle_interval = "1s"
[s3]
listen = ["127.0.0.1:$S3_PORT"]
hosts = ["localhost"]
[sites."localhost"]
root = "demo/production"
TOML
moat_start serve --demo --data "$D"
wait_port "$S3_PORT"
for _ in $(seq 50); do [ -s "$D/demo-s3-credentials" ] && break; sleep 0.1; done
export CA="$D/ca/root.crt"
EP="https://localhost:$S3_PORT"
export AWS_SHARED_CREDENTIALS_FILE="$D/demo-s3-credentials" AWS_PROFILE=moat-demo
export AWS_CONFIG_FILE="$T/aws-config"
printf '[profile moat-demo]\nregion = us-east-1\ns3 =\n    addressing_style = path\n' > "$AWS_CONFIG_FILE"
s3() { timeout 60 aws --endpoint-url "$EP" --ca-bundle "$CA" "$@"; }
versions() {  # versions KEY: how many versions (not markers) the key has
    s3 s3api list-object-versions --bucket content --prefix "$1" --query 'length(Versions || `[]`)'
}

check "versioning on" s3 s3api put-bucket-versioning --bucket content --versioning-configuration Status=Enabled
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
