#!/usr/bin/env bash
# Flexible checksums, conditional writes and UploadPartCopy with aws-cli against
# `moat serve --demo`: a checksum sent by the client (as an aws-chunked trailer, which botocore
# uses over HTTPS, or as a header) is stored with the version and returned by HeadObject /
# GetObject with x-amz-checksum-mode: ENABLED; If-Match on PutObject (412 on a stale ETag, 404
# on a missing key); If-None-Match: * on PutObject and CompleteMultipartUpload; UploadPartCopy
# of a whole object and of a byte range, checked by SHA-256.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"

s3_demo_config
s3_demo_up
quiet() { "$@" > /dev/null; }
# b64 ALGO FILE: the base64 checksum S3 computes over FILE (crc32 big-endian, sha1, sha256).
b64() {
    python3 - "$1" "$2" <<'PY'
import base64, hashlib, sys, zlib
data = open(sys.argv[2], "rb").read()
if sys.argv[1] == "crc32":
    raw = zlib.crc32(data).to_bytes(4, "big")
else:
    raw = hashlib.new(sys.argv[1], data).digest()
print(base64.b64encode(raw).decode())
PY
}
head_q() {  # head_q KEY QUERY [ARGS...]
    local key=$1 q=$2
    shift 2
    s3 s3api head-object --bucket content --key "$key" --query "$q" --output text "$@"
}

# ---- checksums: trailer (aws-cli's default over HTTPS) and header, stored and returned ----
head -c 100000 /dev/urandom > "$T/a.bin"
OUT=$(s3 s3api put-object --bucket content --key testing/ck/crc32 --body "$T/a.bin" \
    --checksum-algorithm CRC32 --query ChecksumCRC32 --output text)
expect_eq "PutObject echoes the CRC32" "$OUT" "$(b64 crc32 "$T/a.bin")"
expect_eq "HeadObject returns the stored CRC32 with checksum mode" \
    "$(head_q testing/ck/crc32 ChecksumCRC32 --checksum-mode ENABLED)" "$(b64 crc32 "$T/a.bin")"
expect_eq "no checksum without checksum mode" "$(head_q testing/ck/crc32 ChecksumCRC32)" "None"
OUT=$(s3 s3api get-object --bucket content --key testing/ck/crc32 --checksum-mode ENABLED \
    "$T/a.out" --query ChecksumCRC32 --output text)
expect_eq "GetObject returns the stored CRC32" "$OUT" "$(b64 crc32 "$T/a.bin")"
check "GetObject body intact (aws-cli validated the CRC32 too)" cmp "$T/a.bin" "$T/a.out"

for algo in SHA256 SHA1; do
    lower=$(tr 'A-Z' 'a-z' <<<"$algo")
    check "put with $algo trailer" quiet s3 s3api put-object --bucket content \
        --key "testing/ck/$lower" --body "$T/a.bin" --checksum-algorithm "$algo"
    expect_eq "$algo stored" "$(head_q "testing/ck/$lower" "Checksum$algo" --checksum-mode ENABLED)" \
        "$(b64 "$lower" "$T/a.bin")"
done

# A value given up front travels as an x-amz-checksum-* header instead of a trailer.
check "put with a CRC32 header" quiet s3 s3api put-object --bucket content --key testing/ck/header \
    --body "$T/a.bin" --checksum-crc32 "$(b64 crc32 "$T/a.bin")"
expect_eq "header CRC32 stored" "$(head_q testing/ck/header ChecksumCRC32 --checksum-mode ENABLED)" \
    "$(b64 crc32 "$T/a.bin")"
OUT=$(s3 s3api put-object --bucket content --key testing/ck/bad --body "$T/a.bin" \
    --checksum-crc32 AAAAAA== 2>&1 || true)
expect_match "wrong CRC32 header is BadDigest" "$OUT" "BadDigest"
OUT=$(s3 s3api head-object --bucket content --key testing/ck/bad 2>&1 || true)
expect_match "nothing stored after BadDigest" "$OUT" "404|Not Found"

# A copy shares the bytes, so it keeps their checksum, with the metadata replaced too.
check "copy with REPLACE" quiet s3 s3api copy-object --bucket content --key testing/ck/copy \
    --copy-source content/testing/ck/crc32 --metadata-directive REPLACE --content-type text/x-test
expect_eq "the copy keeps the checksum" \
    "$(head_q testing/ck/copy ChecksumCRC32 --checksum-mode ENABLED)" "$(b64 crc32 "$T/a.bin")"

# ---- If-Match / If-None-Match on PutObject (store.md §1.5) ----
echo one > "$T/one.txt"
echo two > "$T/two.txt"
E1=$(s3 s3api put-object --bucket content --key testing/lease --body "$T/one.txt" --query ETag --output text)
E2=$(s3 s3api put-object --bucket content --key testing/lease --body "$T/two.txt" --if-match "$E1" \
    --query ETag --output text)
expect_eq "If-Match on the current ETag writes" "$(s3 s3 cp s3://content/testing/lease -)" two
OUT=$(s3 s3api put-object --bucket content --key testing/lease --body "$T/one.txt" --if-match "$E1" 2>&1 || true)
expect_match "stale If-Match is PreconditionFailed" "$OUT" "PreconditionFailed"
expect_eq "stale If-Match wrote nothing" "$(head_q testing/lease ETag)" "$E2"
OUT=$(s3 s3api put-object --bucket content --key testing/no-such-lease --body "$T/one.txt" --if-match "$E1" 2>&1 || true)
expect_match "If-Match on a missing key is NoSuchKey" "$OUT" "NoSuchKey"
OUT=$(s3 s3api put-object --bucket content --key testing/lease --body "$T/one.txt" --if-none-match '*' 2>&1 || true)
expect_match "If-None-Match: * on an existing key is PreconditionFailed" "$OUT" "PreconditionFailed"
check "If-None-Match: * on a new key writes" quiet s3 s3api put-object --bucket content \
    --key testing/fresh --body "$T/one.txt" --if-none-match '*'
# The status codes themselves (aws-cli prints only the code name): curl with a presigned PUT
# cannot carry If-Match (not signed), so use boto3 and read the HTTP status.
STATUSES=$(python3 - "$EP" "$AK" "$SK" "$CA" "$E1" <<'PY'
import sys, boto3, botocore
ep, ak, sk, ca, stale = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", verify=ca,
                  config=botocore.config.Config(s3={"addressing_style": "path"}))
out = []
for key in ("testing/lease", "testing/no-such-lease"):
    try:
        s3.put_object(Bucket="content", Key=key, Body=b"x", IfMatch=stale)
        out.append("200")
    except botocore.exceptions.ClientError as e:
        out.append(str(e.response["ResponseMetadata"]["HTTPStatusCode"]))
print(" ".join(out))
PY
)
expect_eq "If-Match statuses: stale 412, missing 404" "$STATUSES" "412 404"

# ---- UploadPartCopy: a whole object and a byte range as parts ----
head -c $((6 << 20)) /dev/urandom > "$T/src.bin"
check "upload the copy source" s3 s3 cp "$T/src.bin" s3://content/testing/src.bin
UP=$(s3 s3api create-multipart-upload --bucket content --key testing/joined.bin --query UploadId --output text)
P1=$(s3 s3api upload-part-copy --bucket content --key testing/joined.bin --upload-id "$UP" \
    --part-number 1 --copy-source content/testing/src.bin --query CopyPartResult.ETag --output text)
expect_eq "whole-object part ETag is the source's MD5" "$P1" "\"$(md5sum < "$T/src.bin" | cut -d' ' -f1)\""
P2=$(s3 s3api upload-part-copy --bucket content --key testing/joined.bin --upload-id "$UP" \
    --part-number 2 --copy-source content/testing/src.bin --copy-source-range bytes=1000-1049575 \
    --query CopyPartResult.ETag --output text)
python3 -c 'import sys; open(sys.argv[2], "wb").write(open(sys.argv[1], "rb").read()[1000:1049576])' \
    "$T/src.bin" "$T/range.bin"
expect_eq "ranged part ETag is the range's MD5" "$P2" "\"$(md5sum < "$T/range.bin" | cut -d' ' -f1)\""
expect_eq "ListParts sees both parts" \
    "$(s3 s3api list-parts --bucket content --key testing/joined.bin --upload-id "$UP" --query 'Parts[].Size' --output text)" \
    "$((6 << 20))	1048576"
OUT=$(s3 s3api upload-part-copy --bucket content --key testing/joined.bin --upload-id "$UP" \
    --part-number 3 --copy-source content/testing/src.bin --copy-source-range bytes=0-$((7 << 20)) 2>&1 || true)
expect_match "a range past the source's end is refused" "$OUT" "InvalidArgument|InvalidRange"
OUT=$(s3 s3api upload-part-copy --bucket content --key testing/joined.bin --upload-id "$UP" \
    --part-number 3 --copy-source content/testing/no-such-src 2>&1 || true)
expect_match "a missing source is NoSuchKey" "$OUT" "NoSuchKey"
cat > "$T/parts.json" <<JSON
{"Parts": [{"PartNumber": 1, "ETag": $P1}, {"PartNumber": 2, "ETag": $P2}]}
JSON
OUT=$(s3 s3api complete-multipart-upload --bucket content --key testing/lease --upload-id "$UP" \
    --multipart-upload "file://$T/parts.json" 2>&1 || true)
expect_match "Complete under another key is NoSuchUpload" "$OUT" "NoSuchUpload"
check "complete the copied parts" quiet s3 s3api complete-multipart-upload --bucket content \
    --key testing/joined.bin --upload-id "$UP" --multipart-upload "file://$T/parts.json"
check "download the joined object" s3 s3 cp s3://content/testing/joined.bin "$T/joined.out"
expect_eq "joined = source + range (SHA-256)" "$(sha256sum < "$T/joined.out")" \
    "$(cat "$T/src.bin" "$T/range.bin" | sha256sum)"
expect_match "joined ETag has 2 parts" "$(head_q testing/joined.bin ETag)" '-2"$'

# CompleteMultipartUpload with If-None-Match: * onto an existing key: 412, the upload stays.
UP=$(s3 s3api create-multipart-upload --bucket content --key testing/joined.bin --query UploadId --output text)
P1=$(s3 s3api upload-part --bucket content --key testing/joined.bin --upload-id "$UP" --part-number 1 \
    --body "$T/one.txt" --query ETag --output text)
echo "{\"Parts\": [{\"PartNumber\": 1, \"ETag\": $P1}]}" > "$T/parts.json"
OUT=$(s3 s3api complete-multipart-upload --bucket content --key testing/joined.bin --upload-id "$UP" \
    --multipart-upload "file://$T/parts.json" --if-none-match '*' 2>&1 || true)
expect_match "Complete with If-None-Match: * on an existing key" "$OUT" "PreconditionFailed"
check "the upload survives a failed condition" quiet s3 s3api list-parts --bucket content \
    --key testing/joined.bin --upload-id "$UP"
check "abort it" s3 s3api abort-multipart-upload --bucket content --key testing/joined.bin --upload-id "$UP"
rm -f "$T"/*.bin "$T"/*.out

if kill -0 "$MOAT_PID"; then pass "server still running"; else fail "server died"; fi
finish
