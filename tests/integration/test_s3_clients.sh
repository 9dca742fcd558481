#!/usr/bin/env bash
# The S3 API with rclone (provider Other, path style, ListObjects v1), s3cmd (ListObjects v1,
# DeleteObjects, Content-MD5) and boto3 (ListObjectsV2 paging, conditional GET, ranges, a
# skewed clock), against `moat serve --demo` and its demo deployer key.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"

s3_demo_config
s3_demo_up

make_site "$T/site" prod
for i in $(seq 40); do printf 'page %s\n' "$i" > "$T/site/docs/p$i.html"; done
head -c $((12 << 20)) /dev/urandom > "$T/mp.bin"  # 3 parts of 5 MiB for both clients

# ---- rclone ----
cat > "$T/rclone.conf" <<CONF
[moat]
type = s3
provider = Other
access_key_id = $AK
secret_access_key = $SK
endpoint = $EP
region = us-east-1
force_path_style = true
CONF
# AWS_CA_BUNDLE (set on some machines) makes rclone's AWS SDK refuse its own --ca-cert.
rc() { env -u AWS_CA_BUNDLE timeout 120 rclone --config "$T/rclone.conf" --ca-cert "$CA" -q "$@"; }
check "rclone sync" rc sync "$T/site" moat:content/testing/rclone.test
check "rclone check" rc check "$T/site" moat:content/testing/rclone.test
printf 'changed\n' >> "$T/site/docs/p1.html"
rm "$T/site/docs/p2.html"
check "rclone sync changes" rc sync "$T/site" moat:content/testing/rclone.test
check "rclone check after changes" rc check "$T/site" moat:content/testing/rclone.test
check "rclone multipart (5 MiB chunks)" rc copy --s3-upload-cutoff 5M --s3-chunk-size 5M "$T/mp.bin" moat:content/testing/rclone.test/mp/
expect_eq "rclone multipart reads back" "$(rc cat moat:content/testing/rclone.test/mp/mp.bin | sha256sum)" "$(sha256sum < "$T/mp.bin")"
expect_match "rclone multipart ETag" "$(rc lsjson --hash moat:content/testing/rclone.test/mp/mp.bin)" "mp.bin"
expect_match "rclone sees old versions" "$(rc ls --s3-versions moat:content/testing/rclone.test/docs)" "p1-v[0-9-]+\.html"
check "rclone sync down" rc sync moat:content/testing/rclone.test "$T/rclone-down"
rm -rf "$T/rclone-down/mp"
check "rclone tree matches" diff -r "$T/site" "$T/rclone-down"

# ---- s3cmd ----
cat > "$T/s3cfg" <<CONF
[default]
access_key = $AK
secret_key = $SK
host_base = localhost:$S3_PORT
host_bucket = localhost:$S3_PORT
use_https = True
ca_certs_file = $CA
check_ssl_certificate = True
signature_v2 = False
bucket_location = us-east-1
multipart_chunk_size_mb = 5
CONF
sc() { timeout 120 s3cmd -c "$T/s3cfg" --no-progress "$@"; }
check "s3cmd sync" sc -q sync "$T/site/" s3://content/testing/s3cmd.test/
expect_eq "s3cmd ls counts" "$(sc ls -r s3://content/testing/s3cmd.test/ | wc -l)" "$(find "$T/site" -type f | wc -l)"
rm "$T/site/docs/p3.html" "$T/site/docs/p4.html"
check "s3cmd sync --delete-removed (DeleteObjects)" sc -q sync --delete-removed "$T/site/" s3://content/testing/s3cmd.test/
expect_eq "s3cmd deleted two" "$(sc ls -r s3://content/testing/s3cmd.test/ | wc -l)" "$(find "$T/site" -type f | wc -l)"
check "s3cmd get" sc -q get s3://content/testing/s3cmd.test/index.html "$T/s3cmd-index.html"
check "s3cmd get matches" cmp "$T/site/index.html" "$T/s3cmd-index.html"
check "s3cmd multipart put" sc -q put "$T/mp.bin" s3://content/testing/s3cmd.test/mp.bin
check "s3cmd multipart get" sc -q get s3://content/testing/s3cmd.test/mp.bin "$T/s3cmd-mp.bin"
check "s3cmd multipart matches" cmp "$T/mp.bin" "$T/s3cmd-mp.bin"
expect_match "s3cmd info" "$(sc info s3://content/testing/s3cmd.test/index.html 2>&1)" "MD5 sum"
check "s3cmd del -r" sc -q del -r s3://content/testing/s3cmd.test/docs/
expect_eq "s3cmd del -r removed them" "$(sc ls -r s3://content/testing/s3cmd.test/docs/ | wc -l)" 0

# ---- boto3 ----
cat > "$T/boto.py" <<'PY'
import datetime, hashlib, sys
from unittest import mock
import boto3, botocore.auth
from botocore.config import Config
from botocore.exceptions import ClientError

ep, ca, ak, sk = sys.argv[1:5]
cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
             signature_version="s3v4")
s3 = boto3.client("s3", endpoint_url=ep, verify=ca, aws_access_key_id=ak,
                  aws_secret_access_key=sk, region_name="us-east-1", config=cfg)
fails = 0
def ok(name, cond):
    global fails
    print(("ok: " if cond else "FAIL: ") + name)
    fails += 0 if cond else 1
def code(fn):
    try:
        fn()
        return "no error"
    except ClientError as e:
        return e.response["Error"]["Code"]

body = b"0123456789" * 1000
r = s3.put_object(Bucket="content", Key="testing/boto/a b+c.txt", Body=body,
                  ContentType="text/plain", Metadata={"who": "boto"})
ok("put ETag is MD5", r["ETag"] == '"%s"' % hashlib.md5(body).hexdigest())
g = s3.get_object(Bucket="content", Key="testing/boto/a b+c.txt")
ok("get body", g["Body"].read() == body)
ok("get metadata", g["Metadata"] == {"who": "boto"} and g["ContentType"] == "text/plain")
g = s3.get_object(Bucket="content", Key="testing/boto/a b+c.txt", Range="bytes=10-19")
ok("range", g["Body"].read() == body[10:20] and g["ContentRange"] == "bytes 10-19/10000")
ok("if-none-match 304", code(lambda: s3.get_object(Bucket="content", Key="testing/boto/a b+c.txt",
                                                  IfNoneMatch=r["ETag"])) in ("304", "NotModified"))
ok("if-match 412", code(lambda: s3.get_object(Bucket="content", Key="testing/boto/a b+c.txt",
                                             IfMatch='"nope"')) in ("412", "PreconditionFailed"))
ok("no such key", code(lambda: s3.get_object(Bucket="content", Key="testing/boto/none")) == "NoSuchKey")
ok("no such bucket", code(lambda: s3.list_objects_v2(Bucket="nobucket")) in ("NoSuchBucket", "AccessDenied"))
for i in range(25):
    s3.put_object(Bucket="content", Key=f"testing/boto/page/{i:03d}", Body=b"x")
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="content", Prefix="testing/boto/page/",
                                                         PaginationConfig={"PageSize": 7}):
    keys += [o["Key"] for o in page.get("Contents", [])]
ok("ListObjectsV2 pages", keys == [f"testing/boto/page/{i:03d}" for i in range(25)])
v1 = s3.list_objects(Bucket="content", Prefix="testing/boto/", Delimiter="/")
ok("ListObjects v1 delimiter", [p["Prefix"] for p in v1.get("CommonPrefixes", [])] == ["testing/boto/page/"])
d = s3.delete_objects(Bucket="content", Delete={"Objects": [{"Key": f"testing/boto/page/{i:03d}"} for i in range(10)]})
ok("DeleteObjects", len(d.get("Deleted", [])) == 10)
mp = s3.create_multipart_upload(Bucket="content", Key="testing/boto/mp")
ok("ListMultipartUploads", any(u["UploadId"] == mp["UploadId"]
   for u in s3.list_multipart_uploads(Bucket="content").get("Uploads", [])))
s3.abort_multipart_upload(Bucket="content", Key="testing/boto/mp", UploadId=mp["UploadId"])
ok("aborted upload is gone", code(lambda: s3.list_parts(Bucket="content", Key="testing/boto/mp",
                                                        UploadId=mp["UploadId"])) == "NoSuchUpload")
ok("copy onto itself without REPLACE", code(lambda: s3.copy_object(
    Bucket="content", Key="testing/boto/a b+c.txt",
    CopySource={"Bucket": "content", "Key": "testing/boto/a b+c.txt"})) == "InvalidRequest")
s3.copy_object(Bucket="content", Key="testing/boto/a b+c.txt", MetadataDirective="REPLACE",
               ContentType="text/x-new", CopySource={"Bucket": "content", "Key": "testing/boto/a b+c.txt"})
ok("copy REPLACE", s3.head_object(Bucket="content", Key="testing/boto/a b+c.txt")["ContentType"] == "text/x-new")

# A client clock one hour behind: 403 RequestTimeTooSkewed (SigV4 allows 15 minutes).
late = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
if hasattr(botocore.auth, "get_current_datetime"):  # botocore >= 1.34
    skew = mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: late)
else:  # Debian 12's botocore 1.29 signs with datetime.datetime.utcnow()
    class Late(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return late
    skew = mock.patch.object(botocore.auth.datetime, "datetime", Late)
with skew:
    ok("skewed clock", code(lambda: s3.list_objects_v2(Bucket="content")) == "RequestTimeTooSkewed")
ok("server still answers", s3.head_bucket(Bucket="content")["ResponseMetadata"]["HTTPStatusCode"] == 200)
sys.exit(1 if fails else 0)
PY
check "boto3 checks" timeout 120 python3 "$T/boto.py" "$EP" "$CA" "$AK" "$SK"

if kill -0 "$MOAT_PID"; then pass "server still running"; else fail "server died"; fi
finish
