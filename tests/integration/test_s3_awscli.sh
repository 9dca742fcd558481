#!/usr/bin/env bash
# The S3 API with aws-cli (s3 and s3api), curl and a presigned URL, against `moat serve --demo`
# and its demo deployer key: sync a 500-file site, change and delete some files, sync again and
# compare trees; versions and restoring an old one; a 100 MiB multipart upload checked by
# SHA-256; presigned GET; wrong secret; anonymous access; lifecycle configuration.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"

s3_demo_config '["localhost", "s3.moat.test"]'
s3_demo_up
quiet() { "$@" > /dev/null; }
ext_of() { echo html css js txt svg | cut -d' ' -f$(($1 % 5 + 1)); }

check "credentials file is private" test "$(stat -c %a "$D/demo-s3-credentials")" = 600
expect_match "ListBuckets" "$(s3 s3 ls)" "content"
expect_match "ListBuckets shows logs" "$(s3 s3 ls)" "logs"

# ---- sync a 500-file site, change 10, delete 5, sync again, compare ----
python3 - "$T/site" <<'PY'
import os, random, sys
root = sys.argv[1]
random.seed(7)
for i in range(500):
    d = os.path.join(root, f"dir{i % 20}", f"sub{i % 3}")
    os.makedirs(d, exist_ok=True)
    ext = ["html", "css", "js", "txt", "svg"][i % 5]
    name = f"page {i}.{ext}" if i % 50 == 0 else f"page-{i}.{ext}"
    with open(os.path.join(d, name), "wb") as f:
        f.write(os.urandom(random.randint(0, 4000)))
PY
S=s3://content/testing/site.test
check "sync 500 files up" s3 s3 sync "$T/site" "$S/"
expect_eq "500 objects listed" "$(s3 s3 ls --recursive "$S/" | wc -l)" 500
sleep 1  # aws s3 sync compares mtimes at one-second resolution
for i in 1 2 3 4 5 6 7 8 9 11; do
    printf 'changed %s\n' "$i" >> "$T/site/dir$((i % 20))/sub$((i % 3))/page-$i.$(ext_of $i)"
done
for i in 21 22 23 24 25; do rm "$T/site/dir$((i % 20))/sub$((i % 3))/page-$i.$(ext_of $i)"; done
check "sync changes with --delete" s3 s3 sync --delete "$T/site" "$S/"
expect_eq "495 objects after delete" "$(s3 s3 ls --recursive "$S/" | wc -l)" 495
check "sync down" s3 s3 sync "$S/" "$T/down"
check "trees are identical" diff -r "$T/site" "$T/down"
expect_match "Content-Type kept" "$(s3 s3api head-object --bucket content --key 'testing/site.test/dir0/sub0/page 0.html' --query ContentType --output text)" "text/html"

# ---- versions: list them and restore an old one by copying it over ----
check "versioning on" s3 s3api put-bucket-versioning --bucket content --versioning-configuration Status=Enabled
expect_eq "versioning status" "$(s3 s3api get-bucket-versioning --bucket content --query Status --output text)" Enabled
echo "version one" > "$T/v1.txt"
echo "version two" > "$T/v2.txt"
s3 s3 cp "$T/v1.txt" s3://content/testing/doc.txt
s3 s3 cp "$T/v2.txt" s3://content/testing/doc.txt
V1=$(s3 s3api list-object-versions --bucket content --prefix testing/doc.txt \
    --query 'Versions[?IsLatest==`false`].VersionId' --output text)
expect_eq "two versions listed" "$(s3 s3api list-object-versions --bucket content --prefix testing/doc.txt --query 'length(Versions)')" 2
check "restore the old version" quiet s3 s3api copy-object --bucket content --key testing/doc.txt \
    --copy-source "content/testing/doc.txt?versionId=$V1" --output text
expect_eq "old version restored" "$(s3 s3 cp s3://content/testing/doc.txt -)" "version one"
s3 s3 rm s3://content/testing/doc.txt
OUT=$(s3 s3api head-object --bucket content --key testing/doc.txt 2>&1 || true)
expect_match "deleted key is 404" "$OUT" "404|Not Found"
expect_eq "delete marker listed" "$(s3 s3api list-object-versions --bucket content --prefix testing/doc.txt --query 'length(DeleteMarkers)')" 1

# ---- 100 MiB multipart upload and download, checked by SHA-256 ----
head -c $((100 << 20)) /dev/urandom > "$T/big.bin"
START=$(date +%s%N)
check "multipart upload 100 MiB" s3 s3 cp "$T/big.bin" s3://content/testing/big.bin
MID=$(date +%s%N)
check "download 100 MiB" s3 s3 cp s3://content/testing/big.bin "$T/big.out"
END=$(date +%s%N)
echo "100 MiB: upload $(((MID - START) / 1000000)) ms, download $(((END - MID) / 1000000)) ms"
expect_eq "SHA-256 matches" "$(sha256sum < "$T/big.out")" "$(sha256sum < "$T/big.bin")"
expect_match "multipart ETag has the part count" "$(s3 s3api head-object --bucket content --key testing/big.bin --query ETag --output text)" '-13"?$'
rm -f "$T/big.bin" "$T/big.out"

# ---- presigned GET with curl; anonymous and wrong-secret requests ----
echo "presigned body" | s3 s3 cp - s3://content/testing/pre.txt
URL=$(s3 s3 presign s3://content/testing/pre.txt --expires-in 60)
expect_eq "presigned GET" "$(mcurl "$URL")" "presigned body"
# Virtual-host style: https://content.s3.moat.test/... (the certificate covers *.s3.moat.test).
AK=$(awk '/^aws_access_key_id/ {print $3}' "$D/demo-s3-credentials")
SK=$(awk '/^aws_secret_access_key/ {print $3}' "$D/demo-s3-credentials")
VURL=$(python3 - "https://s3.moat.test:$S3_PORT" "$AK" "$SK" <<'PY'
import sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],
                  aws_secret_access_key=sys.argv[3], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "virtual"}, signature_version="s3v4"))
print(s3.generate_presigned_url("get_object", Params={"Bucket": "content", "Key": "testing/pre.txt"},
                                ExpiresIn=60))
PY
)
expect_match "virtual-host URL" "$VURL" "^https://content\.s3\.moat\.test:"
expect_eq "virtual-host presigned GET" "$(mcurl --resolve "content.s3.moat.test:$S3_PORT:127.0.0.1" "$VURL")" "presigned body"
expect_match "tampered presigned URL" "$(mcurl "${URL/pre.txt/pre.txT}")" "SignatureDoesNotMatch"
OUT=$(mcurl -i "$EP/content/testing/pre.txt")
expect_match "anonymous GET is 403" "$OUT" "^HTTP/1.1 403"
expect_match "anonymous GET says AccessDenied" "$OUT" "<Code>AccessDenied</Code>"
expect_match "x-amz-request-id on errors" "$OUT" "x-amz-request-id: [0-9A-F]{16}"
sed 's/^aws_secret_access_key = .*/aws_secret_access_key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/' \
    "$D/demo-s3-credentials" > "$T/wrong-credentials"
OUT=$(AWS_SHARED_CREDENTIALS_FILE="$T/wrong-credentials" s3 s3 ls s3://content 2>&1 || true)
expect_match "wrong secret" "$OUT" "SignatureDoesNotMatch"
OUT=$(s3 s3 cp "$T/v1.txt" s3://logs/x.txt 2>&1 || true)
expect_match "no write grant on logs" "$OUT" "AccessDenied"

# ---- lifecycle configuration ----
cat > "$T/lc.json" <<'JSON'
{"Rules": [{"ID": "noncurrent", "Filter": {"Prefix": "testing/"}, "Status": "Enabled",
  "NoncurrentVersionExpiration": {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2},
  "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]}
JSON
check "put lifecycle" s3 s3api put-bucket-lifecycle-configuration --bucket content --lifecycle-configuration "file://$T/lc.json"
expect_eq "get lifecycle" "$(s3 s3api get-bucket-lifecycle-configuration --bucket content --query 'Rules[0].NoncurrentVersionExpiration.NoncurrentDays')" 7
check "delete lifecycle" s3 s3api delete-bucket-lifecycle --bucket content
OUT=$(s3 s3api get-bucket-lifecycle-configuration --bucket content 2>&1 || true)
expect_match "lifecycle gone" "$OUT" "NoSuchLifecycleConfiguration"
expect_eq "encryption is SSE-S3" "$(s3 s3api get-bucket-encryption --bucket content --query 'ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm' --output text)" AES256

if kill -0 "$MOAT_PID"; then pass "server still running"; else fail "server died"; fi
finish
